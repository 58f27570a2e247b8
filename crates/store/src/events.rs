//! The outbox of domain events: facts other parts of the platform react to (a pavilion launched,
//! later a product changed for the search index). Written in the transaction that made the fact
//! true, so no event is lost or invented by a crash.

use crate::sql::{self, Conn, row_struct};
use crate::{StoreResult, Timestamp};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainEvent {
    pub id: Uuid,
    pub at: Timestamp,
    pub kind: String,
    pub subject_type: String,
    pub subject_id: String,
    pub payload: serde_json::Value,
}

/// A seller joined or left pavilions (approved, suspended, or a pavilion of theirs was
/// created): where their products are listed changes.
pub const SELLER_LISTING_CHANGED: &str = "seller.listing_changed";

pub(crate) async fn publish(
    tx: &mut Conn,
    kind: &str,
    subject_type: &str,
    subject_id: &str,
    payload: &serde_json::Value,
) -> StoreResult<()> {
    publish_at(tx, kind, subject_type, subject_id, payload)
        .await
        .map(|_| ())
}

/// [`publish`], returning the entry's outbox position.
pub(crate) async fn publish_at(
    tx: &mut Conn,
    kind: &str,
    subject_type: &str,
    subject_id: &str,
    payload: &serde_json::Value,
) -> StoreResult<i64> {
    sql::query(
        "INSERT INTO domain_events (id, at, kind, subject_type, subject_id, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(Timestamp::now().to_stored())
    .bind(kind.to_owned())
    .bind(subject_type.to_owned())
    .bind(subject_id.to_owned())
    .bind(payload.to_string())
    .execute(tx)
    .await?;
    let (seq,): (i64,) =
        sql::query_as("INSERT INTO outbox (kind, subject_id) VALUES ($1, $2) RETURNING seq")
            .bind(kind.to_owned())
            .bind(subject_id.to_owned())
            .fetch_one(tx)
            .await?;
    Ok(seq)
}

/// One entry of the outbox, in publication order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub kind: String,
    pub subject_id: String,
}

row_struct! {
    struct EventRow {
        id: String,
        at: String,
        kind: String,
        subject_type: String,
        subject_id: String,
        payload: String,
    }
}

impl crate::Store {
    /// Outbox entries of any of `kinds` after `seq`, oldest first.
    pub async fn outbox_after(
        &self,
        kinds: &[&str],
        seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let list = crate::values::placeholders(3, kinds.len());
        let sql = format!(
            "SELECT seq, kind, subject_id FROM outbox WHERE seq > $1 AND kind IN ({list}) ORDER BY seq LIMIT $2"
        );
        let mut query = sql::query_as::<(i64, String, String)>(&sql)
            .bind(seq)
            .bind(i64::from(limit));
        for kind in kinds {
            query = query.bind(*kind);
        }
        let rows = query.fetch_all(&mut self.reader().await?).await?;
        Ok(rows
            .into_iter()
            .map(|(seq, kind, subject_id)| OutboxEntry {
                seq,
                kind,
                subject_id,
            })
            .collect())
    }

    /// The newest outbox position (0 when empty).
    pub async fn outbox_head(&self) -> StoreResult<i64> {
        let (seq,): (i64,) = sql::query_as("SELECT COALESCE(MAX(seq), 0) FROM outbox")
            .fetch_one(&mut self.reader().await?)
            .await?;
        Ok(seq)
    }

    /// Events about one subject, oldest first.
    pub async fn events_about(
        &self,
        subject_type: &str,
        subject_id: &str,
    ) -> StoreResult<Vec<DomainEvent>> {
        let rows: Vec<EventRow> = sql::query_as(
            "SELECT id, at, kind, subject_type, subject_id, payload FROM domain_events \
             WHERE subject_type = $1 AND subject_id = $2 ORDER BY id",
        )
        .bind(subject_type)
        .bind(subject_id)
        .fetch_all(&mut self.reader().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                let bad =
                    |e: &dyn std::fmt::Display| crate::StoreError::corrupt("domain_events", e);
                Ok(DomainEvent {
                    id: r.id.parse().map_err(|e| bad(&e))?,
                    at: Timestamp::from_stored(&r.at).map_err(|e| bad(&e))?,
                    kind: r.kind,
                    subject_type: r.subject_type,
                    subject_id: r.subject_id,
                    payload: serde_json::from_str(&r.payload).map_err(|e| bad(&e))?,
                })
            })
            .collect()
    }
}
