//! Stored quotes and imported rule packs. The store keeps them as JSON documents: the engine in
//! the domain crate owns their shape.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn};
use crate::values::{placeholders, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredQuote {
    pub id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub created_by: Option<Uuid>,
    /// The input as completed with the rates used, as JSON text.
    pub input: String,
    /// The quote as JSON text (an object).
    pub output: String,
}

impl StoredQuote {
    pub fn new(
        created_by: Option<Uuid>,
        expires_at: Timestamp,
        input: String,
        output: String,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            created_at: Timestamp::now(),
            expires_at,
            created_by,
            input,
            output,
        }
    }
}

/// Writes quotes in groups: each request hands its quote to one writer task, which stores all
/// the quotes waiting at that moment in one transaction. Under load this turns one commit per
/// quote into one per batch; alone, a quote waits for nothing but its own commit.
#[derive(Clone)]
pub struct QuoteWriter {
    queue: tokio::sync::mpsc::Sender<(StoredQuote, Reply)>,
}

/// Hands a quote back to its request once stored (moved, not copied: quotes are large).
type Reply = tokio::sync::oneshot::Sender<Result<StoredQuote, String>>;

impl QuoteWriter {
    const MAX_BATCH: usize = 256;

    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(store: Store) -> Self {
        let (queue, mut waiting) = tokio::sync::mpsc::channel::<(StoredQuote, Reply)>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(Self::MAX_BATCH);
            while waiting.recv_many(&mut batch, Self::MAX_BATCH).await > 0 {
                let (quotes, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                match store.save_quotes(quotes).await {
                    Ok(saved) => {
                        for (quote, reply) in saved.into_iter().zip(replies) {
                            let _ = reply.send(Ok(quote));
                        }
                    }
                    Err(e) => {
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Self { queue }
    }

    /// Stores the quote, in whatever batch is next.
    pub async fn save(&self, quote: StoredQuote) -> StoreResult<StoredQuote> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let closed = || StoreError::Unavailable("the quote writer has stopped".into());
        self.queue
            .send((quote, reply))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?.map_err(|e| {
            tracing::error!(error = %e, "storing a batch of quotes failed");
            StoreError::Unavailable(e)
        })
    }
}

/// A rule pack's files (file name → text) as an administrator imported them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedPack {
    pub pack: String,
    pub files: BTreeMap<String, String>,
    pub version: i64,
    pub imported_at: Timestamp,
}

impl Store {
    /// Stores one quote (see [`QuoteWriter`] for many at once).
    pub async fn save_quote(
        &self,
        created_by: Option<Uuid>,
        expires_at: Timestamp,
        input: String,
        output: String,
    ) -> StoreResult<StoredQuote> {
        let quote = StoredQuote::new(created_by, expires_at, input, output);
        let mut saved = self.save_quotes(vec![quote]).await?;
        saved
            .pop()
            .ok_or_else(|| StoreError::Unavailable("the quote vanished".into()))
    }

    /// Stores quotes in one transaction and hands them back. On SQLite they join the group
    /// commit of every other write (one fsync shared by all waiting); on PostgreSQL the commit
    /// does not wait for the WAL flush — a quote lost in a machine crash is simply asked for again.
    pub async fn save_quotes(&self, quotes: Vec<StoredQuote>) -> StoreResult<Vec<StoredQuote>> {
        // Compressed here, in the caller's task, not on the one writer.
        let packed: Vec<Vec<u8>> = quotes.iter().map(pack_quote).collect();
        if self.backend() == crate::Backend::Sqlite {
            // Shared with the job, and the caller's alone again once the writer answered.
            let quotes = std::sync::Arc::new(quotes);
            self.write((quotes.clone(), packed), |tx, (quotes, packed)| {
                Box::pin(insert_quotes(tx, quotes, packed))
            })
            .await?;
            return Ok(std::sync::Arc::try_unwrap(quotes).unwrap_or_else(|q| (*q).clone()));
        }
        let mut tx = self.begin_ephemeral().await?;
        insert_quotes(&mut tx, &quotes, &packed).await?;
        tx.commit().await?;
        Ok(quotes)
    }

    pub async fn quote(&self, id: Uuid) -> StoreResult<StoredQuote> {
        type QuoteRow = (
            String,
            String,
            String,
            Option<String>,
            String,
            String,
            Option<Vec<u8>>,
        );
        let row: Option<QuoteRow> = sql::query_as(
            "SELECT id, created_at, expires_at, created_by, input, output, output_lz4 FROM quotes WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut self.reader().await?)
        .await?;
        let (id, created_at, expires_at, created_by, input, output, packed) =
            row.ok_or(StoreError::NotFound { entity: "quote" })?;
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt("quotes", e);
        let output = match packed {
            Some(packed) => lz4_flex::decompress_size_prepended(&packed)
                .map_err(|e| bad(&e))
                .and_then(|bytes| String::from_utf8(bytes).map_err(|e| bad(&e)))?,
            None => output,
        };
        Ok(StoredQuote {
            id: uuid("quotes", &id)?,
            created_at: Timestamp::from_stored(&created_at).map_err(|e| bad(&e))?,
            expires_at: Timestamp::from_stored(&expires_at).map_err(|e| bad(&e))?,
            created_by: created_by.map(|u| uuid("quotes", &u)).transpose()?,
            input,
            output,
        })
    }

    /// Replaces a rule pack's imported files (already validated by the caller) and bumps its version.
    pub async fn import_rule_pack(
        &self,
        ctx: &AuditContext,
        pack: &str,
        files: &BTreeMap<String, String>,
    ) -> StoreResult<ImportedPack> {
        let state = (ctx.clone(), pack.to_owned(), files.clone());
        self.write(state, |tx, (ctx, pack, files)| {
            Box::pin(import_rule_pack_in(tx, ctx, pack, files))
        })
        .await
    }

    /// Every imported pack, and the highest version (0 when none): servers compare it to reload.
    pub async fn imported_rule_packs(&self) -> StoreResult<(i64, Vec<ImportedPack>)> {
        let rows: Vec<(String, String, i64, String)> =
            sql::query_as("SELECT pack, files, version, imported_at FROM rule_packs ORDER BY pack")
                .fetch_all(&mut self.reader().await?)
                .await?;
        let mut max = 0;
        let packs = rows
            .into_iter()
            .map(|(pack, files, version, at)| {
                max = max.max(version);
                Ok(ImportedPack {
                    pack,
                    files: serde_json::from_str(&files)
                        .map_err(|e| StoreError::corrupt("rule_packs", e))?,
                    version,
                    imported_at: Timestamp::from_stored(&at)
                        .map_err(|e| StoreError::corrupt("rule_packs", e))?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((max, packs))
    }

    /// The highest imported rule-pack version, cheap enough to poll.
    pub async fn rule_packs_version(&self) -> StoreResult<i64> {
        let (v,): (i64,) = sql::query_as("SELECT COALESCE(MAX(version), 0) FROM rule_packs")
            .fetch_one(&mut self.reader().await?)
            .await?;
        Ok(v)
    }
}

/// A quote's output as stored: compressed, its length first.
pub(crate) fn pack_quote(quote: &StoredQuote) -> Vec<u8> {
    lz4_flex::compress_prepend_size(quote.output.as_bytes())
}

pub(crate) async fn insert_quotes(
    tx: &mut Conn,
    quotes: &[StoredQuote],
    packed: &[Vec<u8>],
) -> StoreResult<()> {
    const COLUMNS: usize = 7;
    const ROWS_PER_STATEMENT: usize = 64;
    for (chunk, packed) in quotes
        .chunks(ROWS_PER_STATEMENT)
        .zip(packed.chunks(ROWS_PER_STATEMENT))
    {
        let mut sql = String::from(
            "INSERT INTO quotes (id, created_at, expires_at, created_by, input, output, output_lz4) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("({})", placeholders(i * COLUMNS + 1, COLUMNS)));
        }
        let mut query = sql::query(&sql);
        for (q, packed) in chunk.iter().zip(packed) {
            query = query
                .bind(q.id.to_string())
                .bind(q.created_at.to_stored())
                .bind(q.expires_at.to_stored())
                .bind(q.created_by.map(|u| u.to_string()))
                .bind(q.input.as_str())
                .bind("")
                .bind(packed.clone());
        }
        query.execute(tx).await?;
    }
    Ok(())
}

/// Replaces a rule pack's files (see [`Store::import_rule_pack`]).
async fn import_rule_pack_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    pack: &str,
    files: &BTreeMap<String, String>,
) -> StoreResult<ImportedPack> {
    let (version,): (i64,) = sql::query_as("SELECT COALESCE(MAX(version), 0) + 1 FROM rule_packs")
        .fetch_one(tx)
        .await?;
    let imported = ImportedPack {
        pack: pack.to_owned(),
        files: files.clone(),
        version,
        imported_at: Timestamp::now(),
    };
    sql::query(
        "INSERT INTO rule_packs (pack, files, version, imported_at, imported_by) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (pack) DO UPDATE SET files = excluded.files, version = excluded.version, \
         imported_at = excluded.imported_at, imported_by = excluded.imported_by",
    )
    .bind(pack)
    .bind(serde_json::to_string(files).map_err(|e| StoreError::corrupt("rule_packs", e))?)
    .bind(version)
    .bind(imported.imported_at.to_stored())
    .bind(ctx.actor_user_id.map(|u| u.to_string()))
    .execute(tx)
    .await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "rule_pack.import",
            entity_type: "rule_pack",
            entity_id: pack.to_owned(),
            before: None,
            after: Some(
                &serde_json::json!({"version": version, "files": files.keys().collect::<Vec<_>>()}),
            ),
        },
    )
    .await?;
    Ok(imported)
}
