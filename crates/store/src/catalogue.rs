//! Products. Each change is published on the outbox (`product.changed`) in its transaction, so
//! every process's search index can follow the catalogue without missing a change.

use crate::audit::{self, AuditContext, Change};
use crate::product_body::product_body;
use crate::sql::{self, Conn, row_struct};
use crate::values::{date_text, parse_date, placeholders, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp, events};
use pavilion_domain::catalogue::{Departure, Localized, ProductDraft, ProductKind, Variant};
use pavilion_domain::{Country, HsCode, Money};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartureSeats {
    #[serde(flatten)]
    pub departure: Departure,
    pub seats_left: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub id: Uuid,
    pub seller_id: Uuid,
    #[serde(flatten)]
    pub draft: ProductDraft,
    pub departure_seats: Vec<DepartureSeats>,
    /// Its images in display order, without their bytes (served by the images API).
    pub images: Vec<crate::product_images::ImageRef>,
    pub archived: bool,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

row_struct! {
    struct ProductRow {
        id: String,
        seller_id: String,
        body: String,
        stock: Option<i64>,
        category: Option<String>,
        archived_at: Option<String>,
        version: i64,
        created_at: String,
        updated_at: String,
        /// 1 when the product has images: the images query is skipped for the many that have none.
        has_images: i64,
    }
}

const T: &str = "products";
const COLUMNS: &str = "id, seller_id, body, stock, category, archived_at, version, created_at, updated_at, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = products.id) \
     THEN 1 ELSE 0 END AS BIGINT) AS has_images";

/// The bounds of a page of products in id order: ids after `after` (from the first one when
/// `None`) up to `up_to` inclusive (to the last one when `None`).
///
/// The SQL always compares `id` with a value, the empty string standing for "from the first id"
/// (every id is greater): a `($1 IS NULL OR id > $1)` condition is not used as a range of the
/// primary key by SQLite (nor by a generic PostgreSQL plan), so each page scanned the products
/// before it and reading the catalogue page by page was quadratic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdBounds {
    pub after: Option<Uuid>,
    pub up_to: Option<Uuid>,
}

impl IdBounds {
    /// Ids after `after` (every id when `None`).
    pub fn after(after: Option<Uuid>) -> Self {
        IdBounds { after, up_to: None }
    }

    /// Ids from `first` to `last`, both included.
    pub fn between(first: Uuid, last: Uuid) -> Self {
        IdBounds {
            // Ids are compared as text, which orders UUIDs as their numbers do.
            after: first.as_u128().checked_sub(1).map(Uuid::from_u128),
            up_to: Some(last),
        }
    }

    /// The same bounds, continuing after `id` (the last id of a page).
    pub fn continuing_after(self, id: Uuid) -> Self {
        IdBounds {
            after: Some(id),
            ..self
        }
    }

    /// The query of a page of `columns` within these bounds (of one seller's products, the
    /// seller being `$1`, when `by_seller`), in id order: the bounds' values follow, then the
    /// page size.
    fn page_sql(&self, columns: &str, by_seller: bool) -> String {
        let (seller, first) = if by_seller {
            ("seller_id = $1 AND ", 2)
        } else {
            ("", 1)
        };
        format!(
            "SELECT {columns} FROM products WHERE {seller}{} ORDER BY id LIMIT ${}",
            self.condition(first),
            self.next(first)
        )
    }

    /// `id > $first` (and `id <= $first+1` with an upper bound).
    fn condition(&self, first: usize) -> String {
        match self.up_to {
            Some(_) => format!("id > ${first} AND id <= ${}", first + 1),
            None => format!("id > ${first}"),
        }
    }

    /// The placeholder number after those of [`condition`](Self::condition).
    fn next(&self, first: usize) -> usize {
        first + self.values().len()
    }

    /// The values of the condition's placeholders, in order.
    fn values(&self) -> Vec<String> {
        let mut values = vec![self.after.map(|u| u.to_string()).unwrap_or_default()];
        values.extend(self.up_to.map(|u| u.to_string()));
        values
    }
}

/// What the search index needs of a product: its columns and the searchable part of its body,
/// read without its variants, departures or images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductToIndex {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub kind: ProductKind,
    pub origin: Country,
    pub hs: HsCode,
    pub category: Option<String>,
    pub titles: Localized,
    pub descriptions: Localized,
    pub retail_price: Option<Money>,
    /// The product has wholesale terms.
    pub wholesale: bool,
    pub archived: bool,
    pub created_at: Timestamp,
}

impl ProductToIndex {
    /// What the index needs of a product read whole.
    pub fn of(product: &Product) -> Self {
        let mut p = Self::from_draft(
            product.id,
            product.seller_id,
            &product.draft,
            product.created_at,
        );
        p.archived = product.archived;
        p
    }

    /// [`from_draft`](Self::from_draft), taking the texts out of the draft.
    pub fn from_draft_owned(
        id: Uuid,
        seller_id: Uuid,
        draft: ProductDraft,
        created_at: Timestamp,
    ) -> Self {
        ProductToIndex {
            id,
            seller_id,
            kind: draft.kind,
            origin: draft.origin,
            hs: draft.hs,
            category: draft.category,
            titles: draft.titles,
            descriptions: draft.descriptions,
            retail_price: draft.retail_price,
            wholesale: draft.wholesale.is_some(),
            archived: false,
            created_at,
        }
    }

    /// What the index needs of a product about to be written from `draft` (not archived).
    pub fn from_draft(
        id: Uuid,
        seller_id: Uuid,
        draft: &ProductDraft,
        created_at: Timestamp,
    ) -> Self {
        ProductToIndex {
            id,
            seller_id,
            kind: draft.kind,
            origin: draft.origin,
            hs: draft.hs,
            category: draft.category.clone(),
            titles: draft.titles.clone(),
            descriptions: draft.descriptions.clone(),
            retail_price: draft.retail_price,
            wholesale: draft.wholesale.is_some(),
            archived: false,
            created_at,
        }
    }
}

const INDEX_COLUMNS: &str = "id, seller_id, body, category, archived_at, created_at";

row_struct! {
    struct IndexRow {
        id: String,
        seller_id: String,
        body: String,
        category: Option<String>,
        archived_at: Option<String>,
        created_at: String,
    }
}

/// The part of a product's `body` the index reads (the fields keep `ProductDraft`'s names; the
/// rest of the body is skipped unparsed).
#[derive(Deserialize)]
struct IndexedBody {
    kind: ProductKind,
    titles: Localized,
    #[serde(default)]
    descriptions: Localized,
    hs: HsCode,
    origin: Country,
    retail_price: Option<Money>,
    wholesale: Option<serde::de::IgnoredAny>,
}

impl IndexRow {
    fn into_product(self) -> StoreResult<ProductToIndex> {
        let body: IndexedBody = serde_json::from_str(&self.body).map_err(bad)?;
        Ok(ProductToIndex {
            id: uuid(T, &self.id)?,
            seller_id: uuid(T, &self.seller_id)?,
            kind: body.kind,
            origin: body.origin,
            hs: body.hs,
            category: self.category,
            titles: body.titles,
            descriptions: body.descriptions,
            retail_price: body.retail_price,
            wholesale: body.wholesale.is_some(),
            archived: self.archived_at.is_some(),
            created_at: Timestamp::from_stored(&self.created_at).map_err(bad)?,
        })
    }
}

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

/// Products from their rows, with the seats of travel packages and the stock of variants read
/// in one query each for the whole batch (and not at all when no product in it needs them).
async fn hydrate_many(conn: &mut Conn, rows: Vec<ProductRow>) -> StoreResult<Vec<Product>> {
    let mut drafts = Vec::with_capacity(rows.len());
    let (mut with_departures, mut with_variants) = (Vec::new(), Vec::new());
    for r in &rows {
        let mut draft: ProductDraft = serde_json::from_str(&r.body).map_err(bad)?;
        draft.stock = r.stock.map(|s| u32::try_from(s).map_err(bad)).transpose()?;
        draft.category = r.category.clone();
        if draft.kind == ProductKind::TravelPackage {
            with_departures.push(r.id.clone());
        }
        if !draft.variants.is_empty() {
            with_variants.push(r.id.clone());
        }
        drafts.push(draft);
    }
    let mut departures: HashMap<String, Vec<(String, i64, i64)>> = HashMap::new();
    if !with_departures.is_empty() {
        let sql = format!(
            "SELECT product_id, date, seats, seats_sold FROM departures WHERE product_id IN ({}) \
             ORDER BY product_id, date",
            placeholders(1, with_departures.len())
        );
        let mut q = sql::query_as::<(String, String, i64, i64)>(&sql);
        for id in with_departures {
            q = q.bind(id);
        }
        for (id, date, seats, sold) in q.fetch_all(conn).await? {
            departures.entry(id).or_default().push((date, seats, sold));
        }
    }
    let mut stocks: HashMap<(String, String), Option<i64>> = HashMap::new();
    if !with_variants.is_empty() {
        let sql = format!(
            "SELECT product_id, sku, stock FROM product_variants WHERE product_id IN ({})",
            placeholders(1, with_variants.len())
        );
        let mut q = sql::query_as::<(String, String, Option<i64>)>(&sql);
        for id in with_variants {
            q = q.bind(id);
        }
        for (id, sku, stock) in q.fetch_all(conn).await? {
            stocks.insert((id, sku), stock);
        }
    }
    let with_images: Vec<String> = rows
        .iter()
        .filter(|r| r.has_images != 0)
        .map(|r| r.id.clone())
        .collect();
    let mut images = crate::product_images::images_of(conn, &with_images).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (r, mut draft) in rows.into_iter().zip(drafts) {
        for v in &mut draft.variants {
            v.stock = stocks
                .remove(&(r.id.clone(), v.sku.clone()))
                .flatten()
                .map(|s| u32::try_from(s).map_err(bad))
                .transpose()?;
        }
        let mut departure_seats = Vec::new();
        for (date, seats, sold) in departures.remove(&r.id).unwrap_or_default() {
            let departure = Departure {
                date: parse_date(T, &date)?,
                seats: u32::try_from(seats).map_err(bad)?,
            };
            draft.departures.push(departure);
            departure_seats.push(DepartureSeats {
                departure,
                seats_left: u32::try_from(seats - sold).map_err(bad)?,
            });
        }
        out.push(Product {
            id: uuid(T, &r.id)?,
            seller_id: uuid(T, &r.seller_id)?,
            draft,
            departure_seats,
            images: images.remove(&r.id).unwrap_or_default(),
            archived: r.archived_at.is_some(),
            version: r.version,
            created_at: Timestamp::from_stored(&r.created_at).map_err(bad)?,
            updated_at: Timestamp::from_stored(&r.updated_at).map_err(bad)?,
        });
    }
    Ok(out)
}

async fn hydrate(conn: &mut Conn, r: ProductRow) -> StoreResult<Product> {
    let mut products = hydrate_many(conn, vec![r]).await?;
    products.pop().ok_or_else(|| bad("a product row vanished"))
}

pub(crate) async fn product_in(conn: &mut Conn, id: Uuid) -> StoreResult<Product> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {COLUMNS} FROM products WHERE id = $1"));
    let row: Option<ProductRow> = sql::query_as(&SQL)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    hydrate(conn, row.ok_or(StoreError::NotFound { entity: "product" })?).await
}

async fn write_departures(tx: &mut Conn, id: Uuid, departures: &[Departure]) -> StoreResult<()> {
    for d in departures {
        // Seats already sold stay sold; the CHECK refuses cutting seats below them.
        sql::query(
            "INSERT INTO departures (product_id, date, seats, seats_sold) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (product_id, date) DO UPDATE SET seats = excluded.seats",
        )
        .bind(id.to_string())
        .bind(date_text(d.date))
        .bind(i64::from(d.seats))
        .execute(tx)
        .await
        .map_err(|e| {
            if e.is_check_violation() {
                StoreError::Rule {
                    field: "departures",
                    detail: format!(
                        "the departure of {} has sold more seats than {}",
                        d.date, d.seats
                    ),
                }
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// Keeps one stock row per variant: new SKUs are added, stock set, and SKUs no longer offered
/// removed.
async fn write_variants(tx: &mut Conn, id: Uuid, variants: &[Variant]) -> StoreResult<()> {
    sql::query("DELETE FROM product_variants WHERE product_id = $1")
        .bind(id.to_string())
        .execute(tx)
        .await?;
    for v in variants {
        sql::query("INSERT INTO product_variants (product_id, sku, stock) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(&v.sku)
            .bind(v.stock.map(i64::from))
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Refuses a category slug the tree does not have (the foreign key guards the race).
async fn check_category(tx: &mut Conn, draft: &ProductDraft) -> StoreResult<()> {
    let Some(slug) = &draft.category else {
        return Ok(());
    };
    let found: Option<(String,)> = sql::query_as("SELECT id FROM categories WHERE slug = $1")
        .bind(slug)
        .fetch_optional(tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::Rule {
            field: "category",
            detail: format!("there is no category {slug:?}"),
        }),
    }
}

/// The outbox entry of a bulk import: one entry for the whole range of new product ids (ids are
/// UUIDv7, so an import's ids are one contiguous range in id order), instead of one per product.
pub const PRODUCTS_IMPORTED: &str = "products.imported";

/// Publishes that the products with ids from `first` to `last` (inclusive) were imported;
/// returns the entry's outbox position.
pub(crate) async fn publish_import(
    tx: &mut Conn,
    first: Uuid,
    last: Uuid,
    count: u64,
) -> StoreResult<i64> {
    let payload = serde_json::json!({"first": first, "last": last, "count": count});
    events::publish_at(
        tx,
        PRODUCTS_IMPORTED,
        "product_range",
        &format!("{first}..{last}"),
        &payload,
    )
    .await
}

async fn publish_change(tx: &mut Conn, product: &Product) -> StoreResult<()> {
    let payload = serde_json::json!({"product_id": product.id, "version": product.version, "archived": product.archived});
    events::publish(
        tx,
        "product.changed",
        "product",
        &product.id.to_string(),
        &payload,
    )
    .await
}

impl Store {
    pub async fn create_product(
        &self,
        ctx: &AuditContext,
        seller_id: Uuid,
        draft: &ProductDraft,
    ) -> StoreResult<Product> {
        self.write(
            (ctx.clone(), seller_id, draft.clone()),
            |tx, (ctx, seller_id, draft)| Box::pin(create_product_in(tx, ctx, *seller_id, draft)),
        )
        .await
    }

    /// One product, read without a transaction: most products need a single statement (their
    /// variants, seats and images are read only when they have some), and a product page is
    /// the catalogue's most frequent read.
    pub async fn product(&self, id: Uuid) -> StoreResult<Product> {
        product_in(&mut self.reader().await?, id).await
    }

    /// Replaces a product's description, refusing if it changed since `expected_version`.
    pub async fn update_product(
        &self,
        ctx: &AuditContext,
        id: Uuid,
        expected_version: Option<i64>,
        draft: &ProductDraft,
    ) -> StoreResult<Product> {
        let state = (ctx.clone(), id, expected_version, draft.clone());
        self.write(state, |tx, (ctx, id, expected_version, draft)| {
            Box::pin(update_product_in(tx, ctx, *id, *expected_version, draft))
        })
        .await
    }

    /// Takes a product off sale (it stays for orders and statistics that name it).
    pub async fn archive_product(&self, ctx: &AuditContext, id: Uuid) -> StoreResult<Product> {
        self.write((ctx.clone(), id), |tx, (ctx, id)| {
            Box::pin(archive_product_in(tx, ctx, *id))
        })
        .await
    }

    /// Every product id in creation order, a page at a time (for rebuilding indexes).
    pub async fn product_ids_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Uuid>> {
        let bounds = IdBounds::after(after);
        let sql = bounds.page_sql("id", false);
        let mut q = sql::query_as::<(String,)>(&sql);
        for value in bounds.values() {
            q = q.bind(value);
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&mut self.reader().await?)
            .await?;
        rows.into_iter().map(|(id,)| uuid(T, &id)).collect()
    }

    /// Every product (archived ones too) in creation order, a page at a time: for rebuilding
    /// indexes and for exports. A page costs at most three queries.
    pub async fn products_page(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Product>> {
        self.products_in_range(after, None, limit).await
    }

    /// Products with ids after `after` and up to `up_to` (both optional), in id order.
    pub async fn products_in_range(
        &self,
        after: Option<Uuid>,
        up_to: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Product>> {
        let bounds = IdBounds { after, up_to };
        let sql = bounds.page_sql(COLUMNS, false);
        let mut conn = self.snapshot().await?;
        let mut q = sql::query_as::<ProductRow>(&sql);
        for value in bounds.values() {
            q = q.bind(value);
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&mut conn).await?;
        let out = hydrate_many(&mut conn, rows).await?;
        conn.commit().await?;
        Ok(out)
    }

    /// The products with these ids that exist, in id order.
    pub async fn products_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Product>> {
        let mut conn = self.snapshot().await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {COLUMNS} FROM products WHERE id IN ({}) ORDER BY id",
                placeholders(1, chunk.len())
            );
            let mut q = sql::query_as::<ProductRow>(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            let rows = q.fetch_all(&mut conn).await?;
            out.extend(hydrate_many(&mut conn, rows).await?);
        }
        conn.commit().await?;
        Ok(out)
    }

    /// A seller's products in creation order.
    pub async fn products_of(
        &self,
        seller_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Product>> {
        let bounds = IdBounds::after(after);
        let sql = bounds.page_sql(COLUMNS, true);
        let mut conn = self.snapshot().await?;
        let mut q = sql::query_as::<ProductRow>(&sql).bind(seller_id.to_string());
        for value in bounds.values() {
            q = q.bind(value);
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&mut conn).await?;
        let out = hydrate_many(&mut conn, rows).await?;
        conn.commit().await?;
        Ok(out)
    }

    /// What the search index needs of the products within `bounds` (archived ones too), in id
    /// order: one statement, no variants, departures or images.
    pub async fn products_to_index(
        &self,
        bounds: IdBounds,
        limit: u32,
    ) -> StoreResult<Vec<ProductToIndex>> {
        let sql = bounds.page_sql(INDEX_COLUMNS, false);
        let mut q = sql::query_as::<IndexRow>(&sql);
        for value in bounds.values() {
            q = q.bind(value);
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&mut self.reader().await?)
            .await?;
        rows.into_iter().map(IndexRow::into_product).collect()
    }

    /// [`products_to_index`](Self::products_to_index) for one seller's products after `after`.
    pub async fn seller_products_to_index(
        &self,
        seller_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ProductToIndex>> {
        let bounds = IdBounds::after(after);
        let sql = bounds.page_sql(INDEX_COLUMNS, true);
        let mut q = sql::query_as::<IndexRow>(&sql).bind(seller_id.to_string());
        for value in bounds.values() {
            q = q.bind(value);
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&mut self.reader().await?)
            .await?;
        rows.into_iter().map(IndexRow::into_product).collect()
    }

    /// [`products_to_index`](Self::products_to_index) for the products with these ids that
    /// exist, in id order.
    pub async fn products_to_index_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<ProductToIndex>> {
        let mut out = Vec::with_capacity(ids.len());
        let mut reader = self.reader().await?;
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {INDEX_COLUMNS} FROM products WHERE id IN ({}) ORDER BY id",
                placeholders(1, chunk.len())
            );
            let mut q = sql::query_as::<IndexRow>(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&mut reader).await? {
                out.push(row.into_product()?);
            }
        }
        Ok(out)
    }
}

/// After a product's row is written: its departures and variants, then the product as stored,
/// published on the outbox.
async fn finish_write(tx: &mut Conn, id: Uuid, draft: &ProductDraft) -> StoreResult<Product> {
    write_departures(tx, id, &draft.departures).await?;
    write_variants(tx, id, &draft.variants).await?;
    let product = product_in(tx, id).await?;
    publish_change(tx, &product).await?;
    Ok(product)
}

async fn create_product_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    seller_id: Uuid,
    draft: &ProductDraft,
) -> StoreResult<Product> {
    let id = Uuid::now_v7();
    let now = Timestamp::now().to_stored();
    check_category(tx, draft).await?;
    sql::query(
        "INSERT INTO products (id, seller_id, kind, origin, hs, body, stock, category, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
    )
    .bind(id.to_string())
    .bind(seller_id.to_string())
    .bind(draft.kind.as_str())
    .bind(draft.origin.code())
    .bind(draft.hs.digits())
    .bind(product_body(draft)?)
    .bind(draft.stock.map(i64::from))
    .bind(draft.category.clone())
    .bind(now)
    .execute(tx)
    .await?;
    let product = finish_write(tx, id, draft).await?;
    audit::record(
        tx,
        ctx,
        Change::created("product.create", "product", id.to_string(), &product),
    )
    .await?;
    Ok(product)
}

async fn update_product_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    id: Uuid,
    expected_version: Option<i64>,
    draft: &ProductDraft,
) -> StoreResult<Product> {
    let before = product_in(tx, id).await?;
    check_category(tx, draft).await?;
    let version = expected_version.unwrap_or(before.version);
    let updated = sql::query(
        "UPDATE products SET kind = $1, origin = $2, hs = $3, body = $4, stock = $5, category = $6, \
         version = version + 1, updated_at = $7 WHERE id = $8 AND version = $9",
    )
    .bind(draft.kind.as_str())
    .bind(draft.origin.code())
    .bind(draft.hs.digits())
    .bind(product_body(draft)?)
    .bind(draft.stock.map(i64::from))
    .bind(draft.category.clone())
    .bind(Timestamp::now().to_stored())
    .bind(id.to_string())
    .bind(version)
    .execute(tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::VersionMismatch {
            entity: "product",
            current: before.version,
        });
    }
    let after = finish_write(tx, id, draft).await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "product.update",
            entity_type: "product",
            entity_id: id.to_string(),
            before: Some(&before),
            after: Some(&after),
        },
    )
    .await?;
    Ok(after)
}

async fn archive_product_in(tx: &mut Conn, ctx: &AuditContext, id: Uuid) -> StoreResult<Product> {
    sql::query(
        "UPDATE products SET archived_at = COALESCE(archived_at, $1), version = version + 1 WHERE id = $2",
    )
    .bind(Timestamp::now().to_stored())
    .bind(id.to_string())
    .execute(tx)
    .await?;
    let product = product_in(tx, id).await?;
    publish_change(tx, &product).await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "product.archive",
            entity_type: "product",
            entity_id: id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    Ok(product)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend;
    use crate::testing::TestDatabase;

    /// Each page reads a range of an index: SQLite does not scan the products before it (it
    /// did with `($1 IS NULL OR id > $1)`, which made paging through the catalogue quadratic).
    #[tokio::test]
    async fn pages_are_index_ranges() {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let store = db.store().await;
        let id = Uuid::now_v7();
        for (bounds, by_seller, expected) in [
            (IdBounds::default(), false, "(id>?)"),
            (IdBounds::between(id, id), false, "(id>? AND id<?)"),
            (
                IdBounds::after(Some(id)),
                true,
                "products_seller (seller_id=? AND id>?)",
            ),
        ] {
            for columns in ["id", COLUMNS, INDEX_COLUMNS] {
                let sql = format!("EXPLAIN QUERY PLAN {}", bounds.page_sql(columns, by_seller));
                let mut q = sql::query_as::<(i64, i64, i64, String)>(&sql);
                if by_seller {
                    q = q.bind(Uuid::nil().to_string());
                }
                for value in bounds.values() {
                    q = q.bind(value);
                }
                let plan = q
                    .bind(10_i64)
                    .fetch_all(&mut store.reader().await.unwrap())
                    .await
                    .unwrap();
                let main = &plan
                    .iter()
                    .find(|(_, _, _, detail)| {
                        detail.contains("products") && !detail.contains("product_images")
                    })
                    .unwrap()
                    .3;
                assert!(main.starts_with("SEARCH products USING"), "{main}");
                assert!(main.ends_with(expected), "{main}");
            }
        }
    }
}
