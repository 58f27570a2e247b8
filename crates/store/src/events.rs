//! The outbox of domain events: facts other parts of the platform react to (a pavilion launched,
//! later a product changed for the search index). Written in the transaction that made the fact
//! true, so no event is lost or invented by a crash.

use crate::{StoreResult, Timestamp};
use serde::Serialize;
use sqlx::{Any, FromRow, Transaction};
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

pub(crate) async fn publish(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    subject_type: &str,
    subject_id: &str,
    payload: &serde_json::Value,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO domain_events (id, at, kind, subject_type, subject_id, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(Timestamp::now().to_stored())
    .bind(kind.to_owned())
    .bind(subject_type.to_owned())
    .bind(subject_id.to_owned())
    .bind(payload.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct EventRow {
    id: String,
    at: String,
    kind: String,
    subject_type: String,
    subject_id: String,
    payload: String,
}

impl crate::Store {
    /// Events about one subject, oldest first.
    pub async fn events_about(
        &self,
        subject_type: &str,
        subject_id: &str,
    ) -> StoreResult<Vec<DomainEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, at, kind, subject_type, subject_id, payload FROM domain_events \
             WHERE subject_type = $1 AND subject_id = $2 ORDER BY id",
        )
        .bind(subject_type.to_owned())
        .bind(subject_id.to_owned())
        .fetch_all(self.pool())
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
