//! Reading the audit log.

use crate::auth::{Admin, Caller};
use crate::extract::ApiQuery;
use crate::pagination::Page;
use crate::problem::{ApiResult, Problem};
use crate::routes::views::AuditEntryView;
use crate::state::AppState;
use axum::extract::State;
use pavilion_store::audit::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `organisation`, `user`, `api_token`.
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_user_id: Option<Uuid>,
    /// Items per page, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<Uuid>,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Page<AuditEntryView>),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: Caller<Admin>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<axum::Json<Page<AuditEntryView>>> {
    let limit = crate::pagination::page_limit(q.limit)?;
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        actor_user_id: q.actor_user_id,
    };
    let rows = state.store.list_audit(&filter, q.cursor, limit + 1).await?;
    Ok(axum::Json(Page::from_rows(
        rows,
        limit,
        |e| e.id,
        Into::into,
    )))
}
