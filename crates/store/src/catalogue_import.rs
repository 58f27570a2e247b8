//! Bulk import of products: all or nothing, in one write transaction, fast enough for a million
//! rows. Products, departures and variant stock go in with multi-row INSERTs (the same SQL text
//! for every full batch, so each backend prepares it once); the bodies are serialised on another
//! thread while the database writes the previous batch. One audit entry and one
//! `products.imported` outbox entry cover the whole import: its ids are UUIDv7 generated in
//! increasing order, so they form one contiguous range the search indexer streams.

use crate::audit::{self, AuditContext, Change};
use crate::catalogue::{ProductToIndex, publish_import};
use crate::values::date_text;
use crate::{Backend, Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::catalogue::ProductDraft;
use pavilion_domain::catalogue::csv::ImportRow;
use pavilion_domain::fx::{FileErrors, RowError};
use serde::Serialize;
use sqlx::{Any, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// Products per INSERT: 8 parameters each, well under SQLite's 32,766 (and PostgreSQL's 65,535)
/// bound parameters.
const PRODUCT_BATCH: usize = 2000;
/// Departure or variant rows per INSERT (3 parameters each).
const CHILD_BATCH: usize = 5000;
// Checked when compiling: SQLite's limit is the lower of the two backends'.
const _: () = assert!(PRODUCT_BATCH * 8 <= 32_766 && CHILD_BATCH * 3 <= 32_766);
/// Values per `IN (…)` list when checking sellers and categories.
const LOOKUP_BATCH: usize = 1000;
/// Batches serialised ahead of the database.
const PIPELINE_DEPTH: usize = 4;

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub imported: u64,
    /// The first and last new product ids (every id of the import lies between them).
    pub first_id: Option<Uuid>,
    pub last_id: Option<Uuid>,
    /// The outbox position of the import's `products.imported` entry.
    #[serde(skip)]
    pub outbox_seq: Option<i64>,
}

/// Hears each batch of an import's products as the search index needs them, while the batch is
/// written (see [`Store::import_products_observed`]).
pub type ImportObserver = Box<dyn FnMut(Vec<ProductToIndex>) + Send>;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows naming sellers or categories that do not exist; nothing was written.
    #[error("{0}")]
    Rows(FileErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One product ready for binding: the columns of `products`, plus its child rows.
struct Prepared {
    id: String,
    seller: String,
    kind: &'static str,
    origin: &'static str,
    hs: String,
    body: String,
    stock: Option<i64>,
    category: Option<String>,
    departures: Vec<(String, i64)>,
    variants: Vec<(String, Option<i64>)>,
}

/// Moves what has columns of its own out of the draft and serialises the rest exactly as
/// `catalogue::body` does (stock, departures, category and variant stock stripped); the draft
/// is left stripped.
fn prepare(id: Uuid, seller: Uuid, draft: &mut ProductDraft) -> StoreResult<Prepared> {
    let stock = draft.stock.take().map(i64::from);
    let category = draft.category.take();
    let departures = std::mem::take(&mut draft.departures)
        .into_iter()
        .map(|d| (date_text(d.date), i64::from(d.seats)))
        .collect();
    let variants = draft
        .variants
        .iter_mut()
        .map(|v| (v.sku.clone(), v.stock.take().map(i64::from)))
        .collect();
    let body = serde_json::to_string(&*draft).map_err(|e| StoreError::corrupt("products", e))?;
    Ok(Prepared {
        id: id.to_string(),
        seller: seller.to_string(),
        kind: draft.kind.as_str(),
        origin: draft.origin.code(),
        hs: draft.hs.digits().to_owned(),
        body,
        stock,
        category,
        departures,
        variants,
    })
}

/// `n` ids in strictly increasing order, so the import is one contiguous id range.
fn increasing_ids(n: usize) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    // now_v7 is monotonic within a process; sorting keeps the promise even if a clock steps back.
    ids.sort_unstable();
    ids.dedup();
    while ids.len() < n {
        // Only after a duplicate, which v7's random bits make practically impossible.
        ids.push(Uuid::now_v7());
        ids.sort_unstable();
        ids.dedup();
    }
    ids
}

/// `(…),(…)` for `rows` rows of `per_row` parameters followed by the `fixed` SQL values.
///
/// SQLite gets anonymous `?` parameters: sqlx looks up the name of every numbered (`$n`)
/// parameter, and SQLite finds a name by scanning all of them, which makes binding a statement
/// of thousands of `$n` parameters quadratic. PostgreSQL only knows `$n`.
fn values_list(backend: Backend, rows: usize, per_row: usize, fixed: &str) -> String {
    let mut sql = String::with_capacity(rows * (per_row * 7 + fixed.len() + 4));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..per_row {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
        }
        sql.push_str(fixed);
        sql.push(')');
    }
    sql
}

/// `now` is a timestamp this module made (digits, `-`, `:`, `.`, `T`, `Z`), so it may be
/// written into the SQL as a literal: every row of the import shares it.
fn products_sql(backend: Backend, rows: usize, now: &str) -> String {
    format!(
        "INSERT INTO products (id, seller_id, kind, origin, hs, body, stock, category, version, created_at, updated_at) VALUES {}",
        values_list(backend, rows, 8, &format!(",1,'{now}','{now}'"))
    )
}

fn departures_sql(backend: Backend, rows: usize) -> String {
    format!(
        "INSERT INTO departures (product_id, date, seats, seats_sold) VALUES {}",
        values_list(backend, rows, 3, ",0")
    )
}

fn variants_sql(backend: Backend, rows: usize) -> String {
    format!(
        "INSERT INTO product_variants (product_id, sku, stock) VALUES {}",
        values_list(backend, rows, 3, "")
    )
}

/// The SQL of each batch size, built once.
struct Statements {
    backend: Backend,
    now: String,
    cache: HashMap<(u8, usize), String>,
}

impl Statements {
    fn get(&mut self, table: u8, rows: usize) -> String {
        let (backend, now) = (self.backend, &self.now);
        self.cache
            .entry((table, rows))
            .or_insert_with(|| match table {
                0 => products_sql(backend, rows, now),
                1 => departures_sql(backend, rows),
                _ => variants_sql(backend, rows),
            })
            .clone()
    }
}

/// Database refusals during the writes, in the terms of the file.
fn refused(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Rule {
            field: "seller_id",
            detail: "a seller or category the file names was removed during the import; nothing was imported".into(),
        },
        sqlx::Error::Database(db) if db.is_check_violation() => StoreError::Rule {
            field: "row",
            detail: format!("the database refused a row ({}); nothing was imported", db.message()),
        },
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Rule {
            field: "row",
            detail: format!("a product, SKU or departure is repeated ({}); nothing was imported", db.message()),
        },
        _ => StoreError::Database(e),
    }
}

/// Which of `keys` exist, asking the database in a few `IN (…)` lists; `sql` holds `{}` where the
/// list goes and returns the key first.
async fn existing(
    tx: &mut Transaction<'static, Any>,
    sql: &str,
    keys: &BTreeSet<String>,
) -> StoreResult<HashMap<String, String>> {
    let keys: Vec<&String> = keys.iter().collect();
    let mut found = HashMap::new();
    for chunk in keys.chunks(LOOKUP_BATCH) {
        let list = crate::values::placeholders(1, chunk.len());
        let mut q =
            sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.replace("{}", &list)));
        for k in chunk {
            q = q.bind((*k).clone());
        }
        found.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(found)
}

/// Every row naming a seller that is not a seller organisation, or a category not in the tree.
async fn check_references(
    tx: &mut Transaction<'static, Any>,
    rows: &[ImportRow],
) -> StoreResult<Vec<RowError>> {
    let sellers: BTreeSet<String> = rows.iter().map(|r| r.seller.to_string()).collect();
    let categories: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.draft.category.clone())
        .collect();
    let kinds = existing(
        tx,
        "SELECT id, kind FROM organisations WHERE id IN ({})",
        &sellers,
    )
    .await?;
    let known = existing(
        tx,
        "SELECT slug, slug FROM categories WHERE slug IN ({})",
        &categories,
    )
    .await?;
    let mut errors = Vec::new();
    for r in rows {
        match kinds.get(&r.seller.to_string()).map(String::as_str) {
            Some("seller") => {}
            Some(kind) => errors.push(RowError {
                line: r.line,
                field: "seller_id".into(),
                message: format!("organisation {} is {kind}, not a seller", r.seller),
            }),
            None => errors.push(RowError {
                line: r.line,
                field: "seller_id".into(),
                message: format!("there is no organisation {}", r.seller),
            }),
        }
        if let Some(slug) = &r.draft.category
            && !known.contains_key(slug)
        {
            errors.push(RowError {
                line: r.line,
                field: "category".into(),
                message: format!("there is no category {slug:?}"),
            });
        }
    }
    Ok(errors)
}

/// Writes one batch of products and their departures and variants.
async fn write_batch(
    tx: &mut Transaction<'static, Any>,
    statements: &mut Statements,
    batch: Vec<Prepared>,
) -> StoreResult<()> {
    let mut departures = Vec::new();
    let mut variants = Vec::new();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(statements.get(0, batch.len())));
    for p in batch {
        for (date, seats) in p.departures {
            departures.push((p.id.clone(), date, seats));
        }
        for (sku, stock) in p.variants {
            variants.push((p.id.clone(), sku, stock));
        }
        q = q
            .bind(p.id)
            .bind(p.seller)
            .bind(p.kind)
            .bind(p.origin)
            .bind(p.hs)
            .bind(p.body)
            .bind(p.stock)
            .bind(p.category);
    }
    q.execute(&mut **tx).await.map_err(refused)?;
    while !departures.is_empty() {
        let rest = departures.split_off(departures.len().min(CHILD_BATCH));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(statements.get(1, departures.len())));
        for (id, date, seats) in departures {
            q = q.bind(id).bind(date).bind(seats);
        }
        q.execute(&mut **tx).await.map_err(refused)?;
        departures = rest;
    }
    while !variants.is_empty() {
        let rest = variants.split_off(variants.len().min(CHILD_BATCH));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(statements.get(2, variants.len())));
        for (id, sku, stock) in variants {
            q = q.bind(id).bind(sku).bind(stock);
        }
        q.execute(&mut **tx).await.map_err(refused)?;
        variants = rest;
    }
    Ok(())
}

impl Store {
    /// How many products there are, archived ones included.
    pub async fn product_count(&self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM products")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    /// Imports products (already parsed and validated, see
    /// `pavilion_domain::catalogue::csv::parse_products_csv`) in one transaction: either every
    /// row is written or none. Rows naming an organisation that is not a seller or a category
    /// that does not exist are reported by line. `progress` hears how many products each batch
    /// wrote.
    pub async fn import_products(
        &self,
        ctx: &AuditContext,
        rows: Vec<ImportRow>,
        progress: impl FnMut(usize) + Send,
    ) -> Result<ImportSummary, ImportError> {
        self.import_products_observed(ctx, rows, progress, None)
            .await
    }

    /// [`import_products`](Self::import_products), handing each batch of products, as the search
    /// index needs them, to `observer` while the batch is written: a process that holds the
    /// search index (the command line) indexes the import as it goes. The observer runs on the
    /// thread that prepares the batches, a few batches ahead of the database (a slow observer
    /// slows the import); what it hears is committed only if this returns `Ok`.
    pub async fn import_products_observed(
        &self,
        ctx: &AuditContext,
        rows: Vec<ImportRow>,
        mut progress: impl FnMut(usize) + Send,
        mut observer: Option<ImportObserver>,
    ) -> Result<ImportSummary, ImportError> {
        if rows.is_empty() {
            return Ok(ImportSummary {
                imported: 0,
                first_id: None,
                last_id: None,
                outbox_seq: None,
            });
        }
        let mut tx = self.begin_write().await?;
        let errors = check_references(&mut tx, &rows).await?;
        if !errors.is_empty() {
            return Err(ImportError::Rows(FileErrors(errors)));
        }
        let count = rows.len();
        let sellers = rows.iter().map(|r| r.seller).collect::<BTreeSet<_>>().len();
        let ids = increasing_ids(count);
        let (first, last) = match (ids.first(), ids.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => return Err(StoreError::corrupt("products", "no ids for the import").into()),
        };

        // Every product of the import is created at this instant (read back equal: to the µs).
        let created_at = Timestamp::now();
        let now = created_at.to_stored();
        // Serialising bodies costs about as much as writing them: do it on another thread, a
        // few batches ahead of the database.
        let (send, mut receive) = tokio::sync::mpsc::channel(PIPELINE_DEPTH);
        let producer = tokio::task::spawn_blocking(move || {
            let mut rows = rows.into_iter().zip(ids);
            loop {
                let mut batch = Vec::with_capacity(PRODUCT_BATCH);
                let mut observed = Vec::new();
                for (mut row, id) in rows.by_ref().take(PRODUCT_BATCH) {
                    match prepare(id, row.seller, &mut row.draft) {
                        Ok(prepared) => {
                            if observer.is_some() {
                                // What the index needs, moved out of the draft once serialised.
                                row.draft.category = prepared.category.clone();
                                observed.push(ProductToIndex::from_draft_owned(
                                    id, row.seller, row.draft, created_at,
                                ));
                            }
                            batch.push(prepared);
                        }
                        Err(e) => {
                            let _ = send.blocking_send(Err(e));
                            return;
                        }
                    }
                }
                if let Some(observer) = observer.as_mut()
                    && !observed.is_empty()
                {
                    observer(observed);
                }
                if batch.is_empty() || send.blocking_send(Ok(batch)).is_err() {
                    return;
                }
            }
        });
        let mut statements = Statements {
            backend: self.backend(),
            now,
            cache: HashMap::new(),
        };
        while let Some(batch) = receive.recv().await {
            let batch = batch?;
            let n = batch.len();
            write_batch(&mut tx, &mut statements, batch).await?;
            progress(n);
        }
        producer
            .await
            .map_err(|e| StoreError::Unavailable(format!("preparing the import: {e}")))?;

        let seq = publish_import(&mut tx, first, last, count as u64).await?;
        let summary = BTreeMap::from([
            ("imported", serde_json::json!(count)),
            ("first_id", serde_json::json!(first)),
            ("last_id", serde_json::json!(last)),
            ("sellers", serde_json::json!(sellers)),
        ]);
        audit::record(
            &mut tx,
            ctx,
            Change {
                action: "product.import",
                entity_type: "product_range",
                entity_id: format!("{first}..{last}"),
                before: None,
                after: Some(&summary),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ImportSummary {
            imported: count as u64,
            first_id: Some(first),
            last_id: Some(last),
            outbox_seq: Some(seq),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_under_both_backends_parameter_limits() {
        assert!(
            products_sql(Backend::Postgres, 2, "2026-11-23T10:00:00Z").ends_with(
                "($1,$2,$3,$4,$5,$6,$7,$8,1,'2026-11-23T10:00:00Z','2026-11-23T10:00:00Z'),($9,$10,$11,$12,$13,$14,$15,$16,1,'2026-11-23T10:00:00Z','2026-11-23T10:00:00Z')"
            )
        );
        assert_eq!(
            variants_sql(Backend::Sqlite, 2),
            "INSERT INTO product_variants (product_id, sku, stock) VALUES (?,?,?),(?,?,?)"
        );
        assert_eq!(
            departures_sql(Backend::Postgres, 1),
            "INSERT INTO departures (product_id, date, seats, seats_sold) VALUES ($1,$2,$3,0)"
        );
    }

    #[test]
    fn ids_increase() {
        let ids = increasing_ids(10_000);
        assert_eq!(ids.len(), 10_000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
