//! Product images, bytes and all, in the database: several server processes share it and each
//! must serve every image, so a local disk will not do.
//!
//! Each change bumps the product's version and publishes `product.changed`, like any other edit
//! of the product, so its ETag moves and search and catalogue consumers see it. The limit of
//! images per product is held by the schema (a unique slot from 0 to 11 per image); the product's
//! row is updated first in every write, which serialises writers of one product on PostgreSQL
//! (a row lock) as `BEGIN IMMEDIATE` does on SQLite.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::uuid;
use crate::{Store, StoreError, StoreResult, Timestamp, events};
use pavilion_domain::catalogue::image::{ImageInfo, MAX_IMAGES_PER_PRODUCT};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

const T: &str = "product_images";
const COLUMNS: &str =
    "id, product_id, position, content_type, width, height, byte_size, sha256, alt, created_at";

/// An image's description, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    pub id: Uuid,
    /// Display order, from 0 (the product's main image).
    pub position: u32,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub byte_size: u64,
    /// SHA-256 of the bytes, in lowercase hex.
    pub sha256: String,
    pub alt: Option<String>,
    pub created_at: Timestamp,
}

/// An image checked by the domain (`image::inspect`), ready to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewImage<'a> {
    pub info: ImageInfo,
    /// SHA-256 of `bytes`, in lowercase hex.
    pub sha256: &'a str,
    pub alt: Option<&'a str>,
    pub bytes: &'a [u8],
}

row_struct! {
    struct ImageRow {
        id: String,
        product_id: String,
        position: i64,
        content_type: String,
        width: i64,
        height: i64,
        byte_size: i64,
        sha256: String,
        alt: Option<String>,
        created_at: String,
    }
}

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

impl TryFrom<ImageRow> for ImageRef {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> StoreResult<Self> {
        Ok(ImageRef {
            id: uuid(T, &r.id)?,
            position: u32::try_from(r.position).map_err(bad)?,
            content_type: r.content_type,
            width: u32::try_from(r.width).map_err(bad)?,
            height: u32::try_from(r.height).map_err(bad)?,
            byte_size: u64::try_from(r.byte_size).map_err(bad)?,
            sha256: r.sha256,
            alt: r.alt,
            created_at: Timestamp::from_stored(&r.created_at).map_err(bad)?,
        })
    }
}

/// The images of each of `product_ids` in display order (for hydrating products in one query).
pub(crate) async fn images_of(
    conn: &mut Conn,
    product_ids: &[String],
) -> StoreResult<HashMap<String, Vec<ImageRef>>> {
    let mut out: HashMap<String, Vec<ImageRef>> = HashMap::new();
    if product_ids.is_empty() {
        return Ok(out);
    }
    let list = crate::values::placeholders(1, product_ids.len());
    let sql = format!(
        "SELECT {COLUMNS} FROM product_images WHERE product_id IN ({list}) \
         ORDER BY product_id, position"
    );
    let mut q = sql::query_as::<ImageRow>(&sql);
    for id in product_ids {
        q = q.bind(id);
    }
    for row in q.fetch_all(conn).await? {
        let product_id = row.product_id.clone();
        out.entry(product_id)
            .or_default()
            .push(ImageRef::try_from(row)?);
    }
    Ok(out)
}

/// Counts the change as an edit of the product: bumps its version (taking its row lock on
/// PostgreSQL) and returns the new version and whether it is archived; `NotFound` if it is not.
async fn touch_product(tx: &mut Conn, id: Uuid) -> StoreResult<(i64, bool)> {
    let row: Option<(i64, Option<String>)> = sql::query_as(
        "UPDATE products SET version = version + 1, updated_at = $1 WHERE id = $2 \
         RETURNING version, archived_at",
    )
    .bind(Timestamp::now().to_stored())
    .bind(id.to_string())
    .fetch_optional(tx)
    .await?;
    let (version, archived_at) = row.ok_or(StoreError::NotFound { entity: "product" })?;
    Ok((version, archived_at.is_some()))
}

async fn publish_change(
    tx: &mut Conn,
    product_id: Uuid,
    (version, archived): (i64, bool),
) -> StoreResult<()> {
    let payload =
        serde_json::json!({"product_id": product_id, "version": version, "archived": archived});
    events::publish(
        tx,
        "product.changed",
        "product",
        &product_id.to_string(),
        &payload,
    )
    .await
}

async fn image_in(conn: &mut Conn, product_id: Uuid, image_id: Uuid) -> StoreResult<ImageRef> {
    let sql = format!("SELECT {COLUMNS} FROM product_images WHERE id = $1 AND product_id = $2");
    let row: Option<ImageRow> = sql::query_as(&sql)
        .bind(image_id.to_string())
        .bind(product_id.to_string())
        .fetch_optional(conn)
        .await?;
    row.ok_or(StoreError::NotFound { entity: "image" })?
        .try_into()
}

fn limit_reached() -> StoreError {
    StoreError::InvalidState {
        detail: format!(
            "a product has at most {MAX_IMAGES_PER_PRODUCT} images; delete one before adding another"
        ),
    }
}

impl Store {
    /// Adds an image after the product's last one; refused once the product has the most
    /// images allowed.
    pub async fn add_product_image(
        &self,
        ctx: &AuditContext,
        product_id: Uuid,
        image: &NewImage<'_>,
    ) -> StoreResult<ImageRef> {
        let state = (ctx.clone(), product_id, OwnedImage::from(image));
        self.write(state, |tx, (ctx, product_id, image)| {
            Box::pin(add_image_in(tx, ctx, *product_id, image))
        })
        .await
    }

    /// A product's images in display order; `NotFound` if there is no such product.
    pub async fn product_images(&self, product_id: Uuid) -> StoreResult<Vec<ImageRef>> {
        let mut snapshot = self.snapshot().await?;
        let exists: Option<(String,)> = sql::query_as("SELECT id FROM products WHERE id = $1")
            .bind(product_id.to_string())
            .fetch_optional(&mut snapshot)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { entity: "product" });
        }
        let id = product_id.to_string();
        let mut images = images_of(&mut snapshot, std::slice::from_ref(&id)).await?;
        Ok(images.remove(&id).unwrap_or_default())
    }

    /// One image's description.
    pub async fn product_image(&self, product_id: Uuid, image_id: Uuid) -> StoreResult<ImageRef> {
        image_in(&mut self.reader().await?, product_id, image_id).await
    }

    /// One image's bytes (read apart from its description so that a revalidation answered
    /// 304 never reads them).
    pub async fn product_image_bytes(
        &self,
        product_id: Uuid,
        image_id: Uuid,
    ) -> StoreResult<Vec<u8>> {
        let row: Option<(Vec<u8>,)> =
            sql::query_as("SELECT bytes FROM product_images WHERE id = $1 AND product_id = $2")
                .bind(image_id.to_string())
                .bind(product_id.to_string())
                .fetch_optional(&mut self.reader().await?)
                .await?;
        row.map(|(b,)| b)
            .ok_or(StoreError::NotFound { entity: "image" })
    }

    /// Removes an image; the others keep their positions.
    pub async fn delete_product_image(
        &self,
        ctx: &AuditContext,
        product_id: Uuid,
        image_id: Uuid,
    ) -> StoreResult<()> {
        self.write(
            (ctx.clone(), product_id, image_id),
            |tx, (ctx, product_id, image_id)| {
                Box::pin(delete_image_in(tx, ctx, *product_id, *image_id))
            },
        )
        .await
    }
}

/// A [`NewImage`] owned, to hand to the writer.
struct OwnedImage {
    info: ImageInfo,
    sha256: String,
    alt: Option<String>,
    bytes: Vec<u8>,
}

impl From<&NewImage<'_>> for OwnedImage {
    fn from(image: &NewImage<'_>) -> Self {
        OwnedImage {
            info: image.info,
            sha256: image.sha256.to_owned(),
            alt: image.alt.map(str::to_owned),
            bytes: image.bytes.to_vec(),
        }
    }
}

async fn add_image_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    product_id: Uuid,
    image: &OwnedImage,
) -> StoreResult<ImageRef> {
    let touched = touch_product(tx, product_id).await?;
    let taken: Vec<(i64,)> = sql::query_as(
        "SELECT position FROM product_images WHERE product_id = $1 ORDER BY position",
    )
    .bind(product_id.to_string())
    .fetch_all(tx)
    .await?;
    // The first free slot after the last image, so that new images go last; gaps left by
    // deletions are filled only once the end is reached.
    let after_last = taken.last().map_or(0, |(p,)| p + 1);
    let position = (after_last..i64::from(MAX_IMAGES_PER_PRODUCT))
        .chain(0..after_last)
        .find(|p| !taken.iter().any(|(t,)| t == p))
        .ok_or_else(limit_reached)?;
    let id = Uuid::now_v7();
    let info = image.info;
    sql::query(
        "INSERT INTO product_images (id, product_id, position, content_type, width, height, \
         byte_size, sha256, alt, bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.to_string())
    .bind(product_id.to_string())
    .bind(position)
    .bind(info.format.mime())
    .bind(i64::from(info.width))
    .bind(i64::from(info.height))
    .bind(i64::try_from(image.bytes.len()).map_err(bad)?)
    .bind(&image.sha256)
    .bind(image.alt.clone())
    .bind(image.bytes.clone())
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await
    .map_err(|e| {
        if e.is_unique_violation() {
            // Only a writer that bypassed the product's lock could take the slot first.
            StoreError::InvalidState {
                detail: "another image was added to this product at the same time; retry".into(),
            }
        } else if e.is_check_violation() {
            StoreError::Rule {
                field: "image",
                detail: "the image is outside the stored limits".into(),
            }
        } else {
            e
        }
    })?;
    let added = image_in(tx, product_id, id).await?;
    publish_change(tx, product_id, touched).await?;
    audit::record(
        tx,
        ctx,
        Change::created(
            "product.image.add",
            "product",
            product_id.to_string(),
            &added,
        ),
    )
    .await?;
    Ok(added)
}

async fn delete_image_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    product_id: Uuid,
    image_id: Uuid,
) -> StoreResult<()> {
    let touched = touch_product(tx, product_id).await?;
    let before = image_in(tx, product_id, image_id).await?;
    sql::query("DELETE FROM product_images WHERE id = $1")
        .bind(image_id.to_string())
        .execute(tx)
        .await?;
    publish_change(tx, product_id, touched).await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "product.image.delete",
            entity_type: "product",
            entity_id: product_id.to_string(),
            before: Some(&before),
            after: None,
        },
    )
    .await?;
    Ok(())
}
