//! The category tree buyers browse and products are filed under.

use crate::auth::{Admin, Caller};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, FieldIssue, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::catalogue::CategoryDraft;
use pavilion_store::categories::Category;

/// Field problems of a draft as one 422.
pub fn field_problems(what: &str, errors: Vec<pavilion_domain::catalogue::FieldError>) -> ApiError {
    let issues: Vec<FieldIssue> = errors
        .into_iter()
        .map(|e| FieldIssue {
            line: None,
            field: e.field,
            message: e.message,
        })
        .collect();
    ApiError::issues(
        format!("the {what} has {} problem(s)", issues.len()),
        issues,
    )
}

/// Add a category under a parent (or at the root).
#[utoipa::path(post, path = "/categories", tag = "catalogue",
    request_body(content = Object, description = "CategoryDraft: slug, parent (slug, optional), names by locale (en required), position"),
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = Object), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "The slug is taken", body = Problem), (status = 422, body = Problem)))]
pub async fn create_category(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiJson(draft): ApiJson<CategoryDraft>,
) -> ApiResult<(StatusCode, axum::Json<Category>)> {
    draft
        .validate()
        .map_err(|errors| field_problems("category", errors))?;
    let category = state.store.create_category(&admin.audit(), &draft).await?;
    Ok((StatusCode::CREATED, axum::Json(category)))
}

/// The whole category tree, parents before their children, siblings in order.
#[utoipa::path(get, path = "/categories", tag = "catalogue",
    description = "Permission: public.",
    responses((status = 200, body = Object)))]
pub async fn list_categories(
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<Category>>> {
    Ok(axum::Json(state.store.category_tree().await?.categories))
}
