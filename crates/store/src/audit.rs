//! The audit log: who changed what, when, with the state before and after.
//!
//! Entries are written in the same transaction as the change they describe, so the log can
//! neither miss a change nor record one that was rolled back.

use crate::sql::{self, Conn, row_struct};
use crate::{StoreError, StoreResult, Timestamp};
use serde::Serialize;
use uuid::Uuid;

/// Who is acting and on behalf of which request; passed to every audited write.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub actor_user_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// One change to be recorded.
pub struct Change<'a> {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub before: Option<&'a (dyn erased::Json + Sync)>,
    pub after: Option<&'a (dyn erased::Json + Sync)>,
}

impl<'a> Change<'a> {
    /// The creation of an entity: nothing before, `after` as created.
    pub fn created(
        action: &'static str,
        entity_type: &'static str,
        entity_id: String,
        after: &'a (dyn erased::Json + Sync),
    ) -> Self {
        Change {
            action,
            entity_type,
            entity_id,
            before: None,
            after: Some(after),
        }
    }
}

/// Lets `Change` hold any serialisable snapshot without being generic.
pub mod erased {
    pub trait Json {
        fn to_json(&self) -> serde_json::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> serde_json::Result<String> {
            serde_json::to_string(self)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: Timestamp,
    pub actor_user_id: Option<Uuid>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

pub(crate) async fn record(
    tx: &mut Conn,
    ctx: &AuditContext,
    change: Change<'_>,
) -> StoreResult<()> {
    let to_json = |v: Option<&(dyn erased::Json + Sync)>| {
        v.map(|v| v.to_json())
            .transpose()
            .map_err(|e| StoreError::corrupt("audit_log", e))
    };
    sql::query(
        "INSERT INTO audit_log (id, at, actor_user_id, action, entity_type, entity_id, \
         before_json, after_json, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(Timestamp::now().to_stored())
    .bind(ctx.actor_user_id.map(|u| u.to_string()))
    .bind(change.action)
    .bind(change.entity_type)
    .bind(change.entity_id)
    .bind(to_json(change.before)?)
    .bind(to_json(change.after)?)
    .bind(ctx.request_id.clone())
    .execute(tx)
    .await?;
    Ok(())
}

row_struct! {
    struct AuditRow {
        id: String,
        at: String,
        actor_user_id: Option<String>,
        action: String,
        entity_type: String,
        entity_id: String,
        before_json: Option<String>,
        after_json: Option<String>,
        request_id: Option<String>,
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> StoreResult<Self> {
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt("audit_log", e);
        let json = |s: Option<String>| {
            s.map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|e| bad(&e))
        };
        Ok(AuditEntry {
            id: r.id.parse().map_err(|e| bad(&e))?,
            at: Timestamp::from_stored(&r.at).map_err(|e| bad(&e))?,
            actor_user_id: r
                .actor_user_id
                .map(|s| s.parse())
                .transpose()
                .map_err(|e| bad(&e))?,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            before: json(r.before_json)?,
            after: json(r.after_json)?,
            request_id: r.request_id,
        })
    }
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_user_id: Option<Uuid>,
}

impl crate::Store {
    /// Newest first; `before` is the id of the last entry of the previous page.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sql::query_as(
            "SELECT id, at, actor_user_id, action, entity_type, entity_id, before_json, after_json, \
             request_id FROM audit_log \
             WHERE ($1 IS NULL OR entity_type = $1) AND ($2 IS NULL OR entity_id = $2) \
               AND ($3 IS NULL OR actor_user_id = $3) AND ($4 IS NULL OR id < $4) \
             ORDER BY id DESC LIMIT $5",
        )
        .bind(filter.entity_type.clone())
        .bind(filter.entity_id.clone())
        .bind(filter.actor_user_id.map(|u| u.to_string()))
        .bind(before.map(|u| u.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&mut self.reader().await?)
        .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}
