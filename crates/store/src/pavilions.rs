//! Country pavilions: one country on one channel, recruiting until the launch threshold of
//! approved exporters is met, then live. The launch happens exactly once, in the transaction of
//! the approval (or the creation) that crossed the threshold, under a lock on the pavilion row.

use crate::audit::{self, AuditContext, Change};
use crate::events;
use crate::sql::{self, Conn, row_struct};
use crate::values::uuid;
use crate::{Backend, Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Country;
use pavilion_domain::programmes::pavilion::slug;
use pavilion_domain::programmes::{Channel, PavilionStatus};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pavilion {
    pub id: Uuid,
    pub country: Country,
    pub channel: Channel,
    pub slug: String,
    pub title: String,
    /// The pavilion's story by locale (e.g. `zh-CN`, `en`).
    pub story: BTreeMap<String, String>,
    pub threshold: u32,
    pub approved_exporters: u32,
    pub launched_at: Option<Timestamp>,
    pub featured_sellers: Vec<Uuid>,
    pub featured_products: Vec<Uuid>,
    pub version: i64,
}

impl Pavilion {
    pub fn status(&self) -> PavilionStatus {
        PavilionStatus::of(
            self.approved_exporters,
            self.threshold,
            self.launched_at.is_some(),
        )
    }
}

#[derive(Debug, Clone)]
pub struct NewPavilion {
    pub country: Country,
    pub channel: Channel,
    pub title: String,
    pub story: BTreeMap<String, String>,
    pub threshold: u32,
}

row_struct! {
    struct PavilionRow {
        id: String,
        country: String,
        channel: String,
        slug: String,
        title: String,
        story: String,
        threshold: i64,
        launched_at: Option<String>,
        version: i64,
        approved_exporters: i64,
    }
}

const T: &str = "pavilions";
const COLUMNS: &str =
    "id, country, channel, slug, title, story, threshold, launched_at, version, approved_exporters";

/// Sets each pavilion of country $1 to the number of its country's exporters approved for its
/// channel, under any programme.
const RECOUNT_APPROVED: &str = "UPDATE pavilions SET approved_exporters = (\
     SELECT COUNT(DISTINCT a.seller_id) FROM seller_applications a \
     JOIN application_channels c ON c.application_id = a.id \
     JOIN organisations o ON o.id = a.seller_id \
     WHERE a.status = 'approved' AND c.channel = pavilions.channel AND o.country = pavilions.country\
     ) WHERE country = $1";

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

async fn hydrate(conn: &mut Conn, row: PavilionRow) -> StoreResult<Pavilion> {
    let country: Country = row.country.parse().map_err(bad)?;
    let channel = Channel::parse(&row.channel).ok_or_else(|| bad(&row.channel))?;
    // Featured exporters and products in one statement (a pavilion page reads this each time).
    let featured: Vec<(String, String)> = sql::query_as(
        "SELECT 'seller', seller_id, position FROM pavilion_featured_sellers WHERE pavilion_id = $1 \
         UNION ALL \
         SELECT 'product', product_id, position FROM pavilion_featured_products WHERE pavilion_id = $1 \
         ORDER BY 1, 3",
    )
    .bind(&row.id)
    .fetch_all(conn)
    .await?;
    let of_kind = |kind: &str| {
        featured
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, id)| uuid(T, id))
            .collect::<StoreResult<Vec<_>>>()
    };
    Ok(Pavilion {
        id: uuid(T, &row.id)?,
        country,
        channel,
        slug: row.slug,
        title: row.title,
        story: serde_json::from_str(&row.story).map_err(bad)?,
        threshold: clamp(row.threshold),
        approved_exporters: clamp(row.approved_exporters),
        launched_at: row
            .launched_at
            .map(|t| Timestamp::from_stored(&t))
            .transpose()
            .map_err(bad)?,
        featured_sellers: of_kind("seller")?,
        featured_products: of_kind("product")?,
        version: row.version,
    })
}

/// Counts again the approved exporters of every pavilion of `country`, after a write that may
/// have changed them. Locks those pavilion rows first (PostgreSQL, in id order) so that the count,
/// a statement of its own, sees approvals committed by writers that held them.
pub(crate) async fn recount_approved(
    tx: &mut Conn,
    backend: Backend,
    country: Country,
) -> StoreResult<()> {
    if backend == Backend::Postgres {
        sql::query_as::<(String,)>(
            "SELECT id FROM pavilions WHERE country = $1 ORDER BY id FOR UPDATE",
        )
        .bind(country.code())
        .fetch_all(tx)
        .await?;
    }
    sql::query(RECOUNT_APPROVED)
        .bind(country.code())
        .execute(tx)
        .await?;
    Ok(())
}

/// Launches the pavilion of (country, channel) if it exists, is recruiting, and its approved
/// exporters have reached its threshold. Runs after [`recount_approved`] in the same
/// transaction, which locked the pavilion rows (PostgreSQL) and counted under the lock: two
/// approvals crossing the threshold together are counted one after the other, and exactly one of
/// them launches it.
pub(crate) async fn launch_if_due(
    tx: &mut Conn,
    backend: Backend,
    ctx: &AuditContext,
    country: Country,
    channel: Channel,
) -> StoreResult<Option<Pavilion>> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {} FROM pavilions WHERE country = $1 AND channel = $2{lock}",
        COLUMNS
    );
    let row: Option<PavilionRow> = sql::query_as(&sql)
        .bind(country.code())
        .bind(channel.as_str())
        .fetch_optional(tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    if row.launched_at.is_some() {
        return Ok(None);
    }
    let approved = clamp(row.approved_exporters);
    if approved < clamp(row.threshold) {
        return Ok(None);
    }
    let now = Timestamp::now();
    let launched = sql::query(
        "UPDATE pavilions SET launched_at = $1, version = version + 1, updated_at = $1 \
         WHERE id = $2 AND launched_at IS NULL",
    )
    .bind(now.to_stored())
    .bind(&row.id)
    .execute(tx)
    .await?;
    if launched.rows_affected() != 1 {
        return Ok(None);
    }
    let id = row.id.clone();
    let pavilion = hydrate(
        tx,
        PavilionRow {
            launched_at: Some(now.to_stored()),
            version: row.version + 1,
            ..row
        },
    )
    .await?;
    let payload = serde_json::json!({
        "slug": pavilion.slug, "country": country.code(), "channel": channel.as_str(),
        "approved_exporters": approved, "threshold": pavilion.threshold,
    });
    events::publish(tx, "pavilion.launched", "pavilion", &id, &payload).await?;
    audit::record(
        tx,
        ctx,
        Change::created("pavilion.launch", "pavilion", id, &payload),
    )
    .await?;
    Ok(Some(pavilion))
}

impl Store {
    pub async fn create_pavilion(
        &self,
        ctx: &AuditContext,
        new: &NewPavilion,
    ) -> StoreResult<Pavilion> {
        let state = (ctx.clone(), new.clone(), self.backend());
        self.write(state, |tx, (ctx, new, backend)| {
            Box::pin(create_pavilion_in(tx, *backend, ctx, new))
        })
        .await
    }

    /// For each seller, the pavilions (id and channel) where they are an approved exporter.
    pub async fn pavilions_of_sellers(
        &self,
        sellers: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, Vec<(Uuid, Channel)>>> {
        let mut out: HashMap<Uuid, Vec<(Uuid, Channel)>> = HashMap::new();
        let mut reader = self.reader().await?;
        // Bounded IN lists: a rebuild asks for thousands of sellers at once.
        for chunk in sellers.chunks(500) {
            let list = crate::values::placeholders(1, chunk.len());
            let sql = format!(
                "SELECT DISTINCT a.seller_id, p.id, p.channel FROM seller_applications a \
                 JOIN application_channels c ON c.application_id = a.id \
                 JOIN organisations o ON o.id = a.seller_id \
                 JOIN pavilions p ON p.country = o.country AND p.channel = c.channel \
                 WHERE a.status = 'approved' AND a.seller_id IN ({list})"
            );
            let mut query = sql::query_as::<(String, String, String)>(&sql);
            for seller in chunk {
                query = query.bind(seller.to_string());
            }
            for (seller, pavilion, channel) in query.fetch_all(&mut reader).await? {
                let channel = Channel::parse(&channel)
                    .ok_or_else(|| bad(format!("unknown channel {channel:?}")))?;
                out.entry(uuid(T, &seller)?)
                    .or_default()
                    .push((uuid(T, &pavilion)?, channel));
            }
        }
        Ok(out)
    }

    /// One pavilion, read without a transaction: its page reads it on every request.
    pub async fn pavilion(&self, slug: &str) -> StoreResult<Pavilion> {
        pavilion_in(&mut self.reader().await?, slug).await
    }

    pub async fn list_pavilions(&self, country: Option<Country>) -> StoreResult<Vec<Pavilion>> {
        let sql = format!(
            "SELECT {} FROM pavilions WHERE ($1 IS NULL OR country = $1) ORDER BY slug",
            COLUMNS
        );
        let mut snapshot = self.snapshot().await?;
        let rows: Vec<PavilionRow> = sql::query_as(&sql)
            .bind(country.map(|c| c.code()))
            .fetch_all(&mut snapshot)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(hydrate(&mut snapshot, row).await?);
        }
        Ok(out)
    }

    /// Replaces the featured exporters; each must be approved for this pavilion.
    pub async fn feature_sellers(
        &self,
        ctx: &AuditContext,
        slug: &str,
        sellers: &[Uuid],
    ) -> StoreResult<Pavilion> {
        self.replace_featured(ctx, slug, Featured::Sellers, sellers)
            .await
    }

    /// Replaces the featured products; each must be on sale, from the pavilion's country, and
    /// sold by an exporter approved for the pavilion.
    pub async fn feature_products(
        &self,
        ctx: &AuditContext,
        slug: &str,
        products: &[Uuid],
    ) -> StoreResult<Pavilion> {
        self.replace_featured(ctx, slug, Featured::Products, products)
            .await
    }

    async fn replace_featured(
        &self,
        ctx: &AuditContext,
        slug: &str,
        what: Featured,
        ids: &[Uuid],
    ) -> StoreResult<Pavilion> {
        let state = (ctx.clone(), slug.to_owned(), what, ids.to_vec());
        self.write(state, |tx, (ctx, slug, what, ids)| {
            Box::pin(replace_featured_in(tx, ctx, slug, *what, ids))
        })
        .await
    }
}

/// What a pavilion features, and who qualifies.
#[derive(Clone, Copy)]
enum Featured {
    Sellers,
    Products,
}

impl Featured {
    fn table(self) -> &'static str {
        match self {
            Featured::Sellers => "pavilion_featured_sellers",
            Featured::Products => "pavilion_featured_products",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Featured::Sellers => "seller_id",
            Featured::Products => "product_id",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Featured::Sellers => "seller_ids",
            Featured::Products => "product_ids",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Featured::Sellers => "pavilion.feature_sellers",
            Featured::Products => "pavilion.feature_products",
        }
    }

    fn not_eligible(self) -> &'static str {
        match self {
            Featured::Sellers => "is not an approved exporter of this pavilion",
            Featured::Products => "is not on sale from an approved exporter of this pavilion",
        }
    }

    /// Counts the rows that make $1 eligible for a pavilion of channel $2 and country $3.
    fn eligible_sql(self) -> &'static str {
        match self {
            Featured::Sellers => {
                "SELECT COUNT(*) FROM seller_applications a \
                 JOIN application_channels c ON c.application_id = a.id \
                 JOIN organisations o ON o.id = a.seller_id \
                 WHERE a.seller_id = $1 AND a.status = 'approved' AND c.channel = $2 AND o.country = $3"
            }
            Featured::Products => {
                "SELECT COUNT(*) FROM products p \
                 JOIN seller_applications a ON a.seller_id = p.seller_id AND a.status = 'approved' \
                 JOIN application_channels c ON c.application_id = a.id AND c.channel = $2 \
                 WHERE p.id = $1 AND p.origin = $3 AND p.archived_at IS NULL"
            }
        }
    }
}

async fn pavilion_in(conn: &mut Conn, slug: &str) -> StoreResult<Pavilion> {
    let sql = format!("SELECT {} FROM pavilions WHERE slug = $1", COLUMNS);
    let row: Option<PavilionRow> = sql::query_as(&sql)
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?;
    hydrate(
        conn,
        row.ok_or(StoreError::NotFound { entity: "pavilion" })?,
    )
    .await
}

async fn create_pavilion_in(
    tx: &mut Conn,
    backend: Backend,
    ctx: &AuditContext,
    new: &NewPavilion,
) -> StoreResult<Pavilion> {
    let id = Uuid::now_v7();
    let now = Timestamp::now().to_stored();
    let story = serde_json::to_string(&new.story).map_err(bad)?;
    sql::query(
        "INSERT INTO pavilions (id, country, channel, slug, title, story, threshold, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
    )
    .bind(id.to_string())
    .bind(new.country.code())
    .bind(new.channel.as_str())
    .bind(slug(new.country, new.channel))
    .bind(&new.title)
    .bind(story)
    .bind(i64::from(new.threshold))
    .bind(now)
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("channel"))?;
    audit::record(tx, ctx, Change::created("pavilion.create", "pavilion", id.to_string(), &serde_json::json!({"country": new.country.code(), "channel": new.channel.as_str(), "threshold": new.threshold})))
    .await?;
    // Exporters may already be approved: a pavilion created at or past its threshold opens now,
    // and their products are listed in it.
    recount_approved(tx, backend, new.country).await?;
    launch_if_due(tx, backend, ctx, new.country, new.channel).await?;
    let members: Vec<(String,)> = sql::query_as(
        "SELECT DISTINCT a.seller_id FROM seller_applications a \
         JOIN application_channels c ON c.application_id = a.id \
         JOIN organisations o ON o.id = a.seller_id \
         WHERE a.status = 'approved' AND c.channel = $1 AND o.country = $2",
    )
    .bind(new.channel.as_str())
    .bind(new.country.code())
    .fetch_all(tx)
    .await?;
    for (seller,) in members {
        events::publish(
            tx,
            events::SELLER_LISTING_CHANGED,
            "organisation",
            &seller,
            &serde_json::json!({"pavilion": id}),
        )
        .await?;
    }
    pavilion_in(tx, &slug(new.country, new.channel)).await
}

async fn replace_featured_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    slug: &str,
    what: Featured,
    ids: &[Uuid],
) -> StoreResult<Pavilion> {
    let before = pavilion_in(tx, slug).await?;
    for (i, id) in ids.iter().enumerate() {
        let (n,): (i64,) = sql::query_as(what.eligible_sql())
            .bind(id.to_string())
            .bind(before.channel.as_str())
            .bind(before.country.code())
            .fetch_one(tx)
            .await?;
        if n == 0 {
            return Err(StoreError::Rule {
                field: what.field(),
                detail: format!("{id} (item {i}) {}", what.not_eligible()),
            });
        }
    }
    let table = what.table();
    sql::query(&format!("DELETE FROM {table} WHERE pavilion_id = $1"))
        .bind(before.id.to_string())
        .execute(tx)
        .await?;
    let insert = format!(
        "INSERT INTO {table} (pavilion_id, {}, position) VALUES ($1, $2, $3)",
        what.column()
    );
    for (i, id) in ids.iter().enumerate() {
        sql::query(&insert)
            .bind(before.id.to_string())
            .bind(id.to_string())
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .execute(tx)
            .await
            .map_err(StoreError::unique_as(what.field()))?;
    }
    let after = pavilion_in(tx, slug).await?;
    let (before_ids, after_ids) = match what {
        Featured::Sellers => (&before.featured_sellers, &after.featured_sellers),
        Featured::Products => (&before.featured_products, &after.featured_products),
    };
    audit::record(
        tx,
        ctx,
        Change {
            action: what.action(),
            entity_type: "pavilion",
            entity_id: before.id.to_string(),
            before: Some(before_ids),
            after: Some(after_ids),
        },
    )
    .await?;
    Ok(after)
}
