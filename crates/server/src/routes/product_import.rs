//! The catalogue as CSV over HTTP: bulk import (all or nothing) and export, in the format of
//! `docs/catalogue-import.md`. Very large files belong on the command line
//! (`pavilion import products`), which has no request-size limit.

use crate::auth::Caller;
use crate::extract::{ApiQuery, CsvBody, file_problem};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::programmes::today;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pavilion_domain::accounts::Role;
use pavilion_domain::catalogue::csv::{ProductCsvWriter, ProductRows};
use pavilion_store::catalogue_import::ImportError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Whom the caller may import or export for: one seller organisation, or (administrators)
/// anyone.
fn scope(caller: &Caller) -> ApiResult<Option<Uuid>> {
    if caller.actor().is_admin() {
        return Ok(None);
    }
    match (caller.account.user.role, &caller.account.organisation) {
        (Role::Seller, Some(org)) => Ok(Some(org.id)),
        (role, _) => Err(ApiError::forbidden(format!(
            "products are imported by sellers and administrators; you are {role}"
        ))),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedProducts {
    pub imported: u64,
    /// The first and last new product ids: the import's ids are one increasing range.
    pub first_id: Option<Uuid>,
    pub last_id: Option<Uuid>,
}

/// Import products from CSV, one row per product (columns `seller_id,kind,original_locale,
/// title_zh-CN,…,variants`; see docs/catalogue-import.md). Every row is checked; a file with
/// any bad row is refused whole (422, every problem with its line and column) and nothing is
/// written.
#[utoipa::path(post, path = "/products/import", tag = "catalogue",
    request_body(content = String, content_type = "text/csv"),
    description = "Permission: sellers (for their own organisation: an empty seller_id means theirs, another organisation's is refused) and administrators (for any seller).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ImportedProducts), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "Every bad row, each with its line and column", body = Problem)))]
pub async fn import_products(
    State(state): State<AppState>,
    caller: Caller,
    CsvBody(text): CsvBody,
) -> ApiResult<axum::Json<ImportedProducts>> {
    let only_seller = scope(&caller)?;
    let rows = ProductRows::new(
        std::io::Cursor::new(text.into_bytes()),
        today(),
        only_seller,
    )
    .map_err(file_problem)?;
    let summary = state
        .store
        .import_rows(&caller.audit(), rows, |_| {}, None)
        .await
        .map_err(|e| match e {
            ImportError::Rows(errors) => file_problem(errors),
            ImportError::Store(e) => e.into(),
        })?;
    Ok(axum::Json(ImportedProducts {
        imported: summary.imported,
        first_id: summary.first_id,
        last_id: summary.last_id,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only this seller's products (administrators; a seller always gets its own).
    pub seller_id: Option<Uuid>,
}

const EXPORT_PAGE: u32 = 1000;

/// Export products as CSV in the import format (archived products are left out).
#[utoipa::path(get, path = "/products/export", tag = "catalogue", params(ExportQuery),
    description = "Permission: sellers (their own products) and administrators (every product, or one seller's with seller_id).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_products(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let seller = match (scope(&caller)?, q.seller_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden(
                "sellers export their own organisation's products only",
            ));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let io = |e: std::io::Error| ApiError::internal(&e);
    let mut writer = ProductCsvWriter::new(Vec::new()).map_err(io)?;
    let mut after = None;
    loop {
        let page = match seller {
            Some(s) => state.store.products_of(s, after, EXPORT_PAGE).await?,
            None => state.store.products_page(after, EXPORT_PAGE).await?,
        };
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for p in page.iter().filter(|p| !p.archived) {
            writer.write(p.seller_id, &p.draft).map_err(io)?;
        }
    }
    let body = writer.finish().map_err(io)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"products.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
