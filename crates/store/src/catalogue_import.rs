//! Bulk import of products: all or nothing, in one write transaction, fast enough for a million
//! rows. The rows are read from the file while the database writes: another thread parses and
//! validates them and serialises their bodies a few batches ahead of the database, which checks
//! the sellers and categories they name and writes them with multi-row INSERTs (the same SQL text
//! for every full batch, so each backend prepares it once). Once a row is bad nothing more is
//! written, but the rest of the file is still read so that every bad row is reported, and the
//! transaction is rolled back. One audit entry and one `products.imported` outbox entry cover
//! the whole import: its ids increase, so they form one contiguous range the search indexer
//! streams.

use crate::audit::{self, AuditContext, Change};
use crate::catalogue::{ProductToIndex, publish_import};
use crate::product_body::product_body;
use crate::sql::{self, Conn};
use crate::values::date_text;
use crate::{Backend, Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::catalogue::ProductDraft;
use pavilion_domain::catalogue::csv::{ImportRow, RowResult};
use pavilion_domain::fx::{FileErrors, RowError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
/// written (see [`Store::import_rows`]).
pub type ImportObserver = Box<dyn FnMut(Vec<ProductToIndex>) + Send>;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Bad rows, and rows naming sellers or categories that do not exist, in the order of the
    /// file; nothing was written.
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

/// Moves what has columns of its own out of the draft and keeps the rest as every product's
/// body is kept; the draft is left without stock, departures, category and variant stock.
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
    let body = product_body(draft)?;
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

/// The ids of an import, strictly increasing so that the import is one contiguous id range: a
/// UUIDv7 made when the import starts, then each id one more than the last in its 74 random
/// bits (RFC 9562's monotonic random counter), so every id is a valid, unique version 7 UUID.
struct IdSequence {
    /// The timestamp and random bits of the next id, without the version and variant bits.
    next: u128,
}

const RAND_B_BITS: u32 = 62;
const RAND_A_BITS: u32 = 12;

impl IdSequence {
    fn new() -> Self {
        Self::starting_at(Uuid::now_v7())
    }

    fn starting_at(first: Uuid) -> Self {
        let u = first.as_u128();
        let rand_b = u & ((1 << RAND_B_BITS) - 1);
        let rand_a = (u >> 64) & ((1 << RAND_A_BITS) - 1);
        let millis = u >> 80;
        IdSequence {
            next: (millis << (RAND_A_BITS + RAND_B_BITS)) | (rand_a << RAND_B_BITS) | rand_b,
        }
    }

    fn next_id(&mut self) -> Uuid {
        let n = self.next;
        // A carry out of the random bits moves the timestamp on by a millisecond.
        self.next += 1;
        let rand_b = n & ((1 << RAND_B_BITS) - 1);
        let rand_a = (n >> RAND_B_BITS) & ((1 << RAND_A_BITS) - 1);
        let millis = n >> (RAND_A_BITS + RAND_B_BITS);
        Uuid::from_u128((millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
    }
}

/// `(…),(…)` for `rows` rows of `per_row` parameters followed by the `fixed` SQL values.
///
/// SQLite gets anonymous `?` parameters, bound in order: a numbered (`$n`) parameter is looked
/// up by name, and SQLite finds a name by scanning all of a statement's parameters, which makes
/// binding a statement of thousands of `$n` parameters quadratic. PostgreSQL only knows `$n`.
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
    cache: HashMap<(u8, usize), Arc<str>>,
}

impl Statements {
    fn get(&mut self, table: u8, rows: usize) -> Arc<str> {
        let (backend, now) = (self.backend, &self.now);
        self.cache
            .entry((table, rows))
            .or_insert_with(|| match table {
                0 => products_sql(backend, rows, now).into(),
                1 => departures_sql(backend, rows).into(),
                _ => variants_sql(backend, rows).into(),
            })
            .clone()
    }
}

/// Database refusals during the writes, in the terms of the file.
fn refused(e: StoreError) -> StoreError {
    if e.is_foreign_key_violation() {
        StoreError::Rule {
            field: "seller_id",
            detail: "a seller or category the file names was removed during the import; nothing was imported".into(),
        }
    } else if e.is_check_violation() {
        StoreError::Rule {
            field: "row",
            detail: format!("the database refused a row ({e}); nothing was imported"),
        }
    } else if e.is_unique_violation() {
        StoreError::Rule {
            field: "row",
            detail: format!("a product, SKU or departure is repeated ({e}); nothing was imported"),
        }
    } else {
        e
    }
}

/// Which of `keys` exist, asking the database in a few `IN (…)` lists; `sql` holds `{}` where the
/// list goes and returns the key first.
async fn existing(
    tx: &mut Conn,
    sql: &str,
    keys: &BTreeSet<String>,
) -> StoreResult<HashMap<String, String>> {
    let keys: Vec<&String> = keys.iter().collect();
    let mut found = HashMap::new();
    for chunk in keys.chunks(LOOKUP_BATCH) {
        let list = crate::values::placeholders(1, chunk.len());
        let text = sql.replace("{}", &list);
        let mut q = sql::query_as::<(String, String)>(&text);
        for k in chunk {
            q = q.bind(*k);
        }
        found.extend(q.fetch_all(tx).await?);
    }
    Ok(found)
}

/// The seller, category and line of a row read, for checking what it names.
struct Named {
    line: u64,
    seller: Uuid,
    category: Option<String>,
}

/// What the database said of the sellers and categories the rows named so far (a file names
/// few, so each is asked about once).
#[derive(Default)]
struct References {
    /// Organisation kinds by id; `None` for an id that is no organisation.
    kinds: HashMap<Uuid, Option<String>>,
    categories: HashMap<String, bool>,
}

impl References {
    /// Every row naming a seller that is not a seller organisation, or a category not in the
    /// tree.
    async fn check(&mut self, tx: &mut Conn, rows: &[Named]) -> StoreResult<Vec<RowError>> {
        let sellers: BTreeSet<Uuid> = rows
            .iter()
            .map(|r| r.seller)
            .filter(|s| !self.kinds.contains_key(s))
            .collect();
        let categories: BTreeSet<String> = rows
            .iter()
            .filter_map(|r| r.category.as_ref())
            .filter(|c| !self.categories.contains_key(*c))
            .cloned()
            .collect();
        if !sellers.is_empty() {
            let keys = sellers.iter().map(Uuid::to_string).collect();
            let mut found = existing(
                tx,
                "SELECT id, kind FROM organisations WHERE id IN ({})",
                &keys,
            )
            .await?;
            for s in sellers {
                let kind = found.remove(&s.to_string());
                self.kinds.insert(s, kind);
            }
        }
        if !categories.is_empty() {
            let found = existing(
                tx,
                "SELECT slug, slug FROM categories WHERE slug IN ({})",
                &categories,
            )
            .await?;
            for c in categories {
                let known = found.contains_key(&c);
                self.categories.insert(c, known);
            }
        }
        let mut errors = Vec::new();
        for r in rows {
            match self.kinds.get(&r.seller).and_then(Option::as_deref) {
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
            if let Some(slug) = &r.category
                && self.categories.get(slug) != Some(&true)
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
}

/// One batch of rows read from the file, as the database needs it.
#[derive(Default)]
struct Batch {
    /// What every row read names, for the checks.
    named: Vec<Named>,
    /// The rows ready to write, in order; none once the import has failed.
    rows: Vec<Prepared>,
    /// The first and last ids of `rows`.
    ids: Option<(Uuid, Uuid)>,
    /// Problems of the rows read.
    errors: Vec<RowError>,
}

/// Reads up to [`PRODUCT_BATCH`] rows and prepares the good ones (unless the import has
/// `failed`, when only what they name is kept); `None` at the end of the file.
fn read_batch(
    rows: &mut impl Iterator<Item = RowResult>,
    ids: &mut IdSequence,
    failed: &AtomicBool,
    observed: &mut Option<Vec<ProductToIndex>>,
    created_at: Timestamp,
) -> Option<StoreResult<Batch>> {
    let mut batch = Batch::default();
    let mut read = 0;
    for row in rows.by_ref().take(PRODUCT_BATCH) {
        read += 1;
        let mut row = match row {
            Ok(row) => row,
            Err(mut errors) => {
                failed.store(true, Ordering::Relaxed);
                batch.errors.append(&mut errors);
                continue;
            }
        };
        batch.named.push(Named {
            line: row.line,
            seller: row.seller,
            category: row.draft.category.clone(),
        });
        if failed.load(Ordering::Relaxed) {
            continue;
        }
        let id = ids.next_id();
        let prepared = match prepare(id, row.seller, &mut row.draft) {
            Ok(prepared) => prepared,
            Err(e) => return Some(Err(e)),
        };
        if let Some(observed) = observed.as_mut() {
            // What the index needs, moved out of the draft once serialised.
            row.draft.category = prepared.category.clone();
            observed.push(ProductToIndex::from_draft_owned(
                id, row.seller, row.draft, created_at,
            ));
        }
        batch.ids = Some((batch.ids.map_or(id, |(first, _)| first), id));
        batch.rows.push(prepared);
    }
    if failed.load(Ordering::Relaxed) {
        batch.rows.clear();
        batch.ids = None;
        if let Some(observed) = observed.as_mut() {
            observed.clear();
        }
    }
    (read > 0).then_some(Ok(batch))
}

/// Writes one batch of products and their departures and variants.
async fn write_batch(
    tx: &mut Conn,
    statements: &mut Statements,
    batch: Vec<Prepared>,
) -> StoreResult<()> {
    let mut departures = Vec::new();
    let mut variants = Vec::new();
    let text = statements.get(0, batch.len());
    let mut q = sql::query(&text);
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
    q.execute(tx).await.map_err(refused)?;
    while !departures.is_empty() {
        let rest = departures.split_off(departures.len().min(CHILD_BATCH));
        let text = statements.get(1, departures.len());
        let mut q = sql::query(&text);
        for (id, date, seats) in departures {
            q = q.bind(id).bind(date).bind(seats);
        }
        q.execute(tx).await.map_err(refused)?;
        departures = rest;
    }
    while !variants.is_empty() {
        let rest = variants.split_off(variants.len().min(CHILD_BATCH));
        let text = statements.get(2, variants.len());
        let mut q = sql::query(&text);
        for (id, sku, stock) in variants {
            q = q.bind(id).bind(sku).bind(stock);
        }
        q.execute(tx).await.map_err(refused)?;
        variants = rest;
    }
    Ok(())
}

impl Store {
    /// How many products there are, archived ones included.
    pub async fn product_count(&self) -> StoreResult<i64> {
        let (n,): (i64,) = sql::query_as("SELECT COUNT(*) FROM products")
            .fetch_one(&mut self.reader().await?)
            .await?;
        Ok(n)
    }

    /// Imports products already read (see
    /// `pavilion_domain::catalogue::csv::parse_products_csv`): [`import_rows`](Self::import_rows)
    /// without an observer.
    pub async fn import_products(
        &self,
        ctx: &AuditContext,
        rows: Vec<ImportRow>,
        progress: impl FnMut(usize) + Send,
    ) -> Result<ImportSummary, ImportError> {
        self.import_rows(ctx, rows.into_iter().map(Ok), progress, None)
            .await
    }

    /// Imports the rows of a product file (see `pavilion_domain::catalogue::csv::ProductRows`)
    /// in one transaction while they are read: either every row is written or none. Bad rows,
    /// and rows naming an organisation that is not a seller or a category that does not exist,
    /// are all reported by line. `progress` hears how many products each batch wrote.
    ///
    /// `observer` hears each batch of products, as the search index needs them, while the batch
    /// is written: a process that holds the search index (the command line) indexes the import
    /// as it goes. It runs on the thread that reads the rows, a few batches ahead of the
    /// database (a slow observer slows the import); what it hears is committed only if this
    /// returns `Ok`.
    pub async fn import_rows(
        &self,
        ctx: &AuditContext,
        rows: impl Iterator<Item = RowResult> + Send + 'static,
        mut progress: impl FnMut(usize) + Send,
        mut observer: Option<ImportObserver>,
    ) -> Result<ImportSummary, ImportError> {
        let mut conn = self.begin_import().await?;
        // Every product of the import is created at this instant (read back equal: to the µs).
        let created_at = Timestamp::now();
        let mut statements = Statements {
            backend: self.backend(),
            now: created_at.to_stored(),
            cache: HashMap::new(),
        };
        // Set by either side once a row is bad: from then on rows are only checked.
        let failed = Arc::new(AtomicBool::new(false));
        let (send, receive) = tokio::sync::mpsc::channel(PIPELINE_DEPTH);
        let reading = failed.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let mut rows = rows;
            let mut ids = IdSequence::new();
            let mut observed = observer.as_ref().map(|_| Vec::new());
            while let Some(batch) =
                read_batch(&mut rows, &mut ids, &reading, &mut observed, created_at)
            {
                if let (Some(observer), Some(observed)) = (observer.as_mut(), observed.as_mut())
                    && !observed.is_empty()
                {
                    observer(std::mem::take(observed));
                }
                let stop = batch.is_err();
                if send.blocking_send(batch).is_err() || stop {
                    return;
                }
            }
        });

        let writing = async move {
            let summary = write_all(
                &mut conn,
                receive,
                &failed,
                &mut statements,
                ctx,
                &mut progress,
            )
            .await;
            reader
                .await
                .map_err(|e| StoreError::Unavailable(format!("reading the import: {e}")))?;
            let summary = summary?;
            if summary.imported > 0 {
                conn.commit().await?;
            }
            Ok(summary)
        };
        if self.backend() == Backend::Sqlite
            && tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread
        {
            // SQLite's statements run on the thread that calls them, a few milliseconds per
            // batch: the import takes its thread out of the runtime's workers for its duration
            // rather than stall the requests that share a worker with it. (It then runs to its
            // end even if its caller goes away, as an HTTP client that disconnects: all of it
            // or, on a bad row, none.)
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(writing))
        } else {
            writing.await
        }
    }
}

/// The database side of an import: checks each batch's references and writes it, then (when
/// every row was good) records the import in the outbox and the audit log. The caller commits.
async fn write_all(
    conn: &mut Conn,
    mut receive: tokio::sync::mpsc::Receiver<StoreResult<Batch>>,
    failed: &AtomicBool,
    statements: &mut Statements,
    ctx: &AuditContext,
    progress: &mut (impl FnMut(usize) + Send),
) -> Result<ImportSummary, ImportError> {
    let mut references = References::default();
    let mut errors = Vec::new();
    let mut range: Option<(Uuid, Uuid)> = None;
    let mut count = 0usize;
    let mut sellers = BTreeSet::new();
    while let Some(batch) = receive.recv().await {
        let batch = batch?;
        errors.extend(batch.errors);
        let refused = references.check(conn, &batch.named).await?;
        if !refused.is_empty() {
            failed.store(true, Ordering::Relaxed);
            errors.extend(refused);
        }
        if !errors.is_empty() || batch.rows.is_empty() {
            continue;
        }
        if let Some((first, last)) = batch.ids {
            range = Some((range.map_or(first, |(f, _)| f), last));
        }
        sellers.extend(batch.named.iter().map(|n| n.seller));
        let n = batch.rows.len();
        write_batch(conn, statements, batch.rows).await?;
        count += n;
        progress(n);
    }
    if !errors.is_empty() {
        // Parse problems come before the reference checks of their batch.
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::Rows(FileErrors(errors)));
    }
    let Some((first, last)) = range else {
        return Ok(ImportSummary {
            imported: 0,
            first_id: None,
            last_id: None,
            outbox_seq: None,
        });
    };

    let seq = publish_import(conn, first, last, count as u64).await?;
    let summary = BTreeMap::from([
        ("imported", serde_json::json!(count)),
        ("first_id", serde_json::json!(first)),
        ("last_id", serde_json::json!(last)),
        ("sellers", serde_json::json!(sellers.len())),
    ]);
    audit::record(
        conn,
        ctx,
        Change::created(
            "product.import",
            "product_range",
            format!("{first}..{last}"),
            &summary,
        ),
    )
    .await?;
    Ok(ImportSummary {
        imported: count as u64,
        first_id: Some(first),
        last_id: Some(last),
        outbox_seq: Some(seq),
    })
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
    fn ids_increase_and_stay_version_7() {
        let mut seq = IdSequence::new();
        let ids: Vec<Uuid> = (0..10_000).map(|_| seq.next_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        // As text too: products are ordered by their id's text.
        assert!(ids.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        assert!(
            ids.iter()
                .all(|id| id.get_variant() == uuid::Variant::RFC4122)
        );
    }

    #[test]
    fn ids_carry_out_of_the_random_bits() {
        // The largest random bits of a millisecond: the next id is the next millisecond's first.
        let last = Uuid::from_u128(
            (5 << 80) | (0x7 << 76) | (0xfff << 64) | (0b10 << 62) | ((1 << 62) - 1),
        );
        let mut seq = IdSequence::starting_at(last);
        assert_eq!(seq.next_id(), last);
        let next = seq.next_id();
        assert!(next > last);
        assert_eq!(next.as_u128() >> 80, 6);
        assert_eq!(next.get_version_num(), 7);
        assert_eq!(next.get_variant(), uuid::Variant::RFC4122);
    }
}
