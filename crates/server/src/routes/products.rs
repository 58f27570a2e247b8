//! The catalogue: sellers' products.

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::json::ApiJson;
use crate::pagination::{Page, page_limit};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::categories::field_problems;
use crate::routes::programmes::today;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_domain::accounts::Role;
use pavilion_domain::catalogue::{ProductDraft, validate};
use pavilion_store::catalogue::Product;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

fn with_etag(status: StatusCode, product: Product) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", product.version)).ok();
    let mut response = (status, axum::Json(product)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn checked(draft: &ProductDraft) -> ApiResult<()> {
    validate(draft, today()).map_err(|errors| field_problems("product", errors))
}

/// The seller organisation the caller acts for, or 403.
fn seller_of(caller: &Caller) -> ApiResult<Uuid> {
    match (caller.account.user.role, &caller.account.organisation) {
        (Role::Seller, Some(org)) => Ok(org.id),
        (role, _) => Err(ApiError::forbidden(format!(
            "products are listed by sellers; you are {role}"
        ))),
    }
}

pub(crate) async fn own_product(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Product> {
    let product = state.store.product(id).await?;
    let allowed =
        caller.actor().is_admin()
            || caller.account.organisation.as_ref().is_some_and(|o| {
                o.id == product.seller_id && caller.account.user.role == Role::Seller
            });
    if !allowed {
        return Err(ApiError::forbidden(
            "only the seller of this product or an administrator may change it",
        ));
    }
    Ok(product)
}

/// List a product.
#[utoipa::path(post, path = "/products", tag = "catalogue",
    request_body(content = Object, description = "ProductDraft: kind, original_locale, titles, descriptions, hs, category (slug), origin, unit, weight_kg_per_unit, volume_l_per_unit, cold_chain, shelf_life_days, retail_price, wholesale {moq, tiers}, stock, departures, variants [{sku, attributes, retail_price, stock, weight_kg_per_unit}]"),
    description = "Permission: sellers (the product is their organisation's).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = Object, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, description = "Every problem, each naming its field", body = Problem)))]
pub async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(draft): ApiJson<ProductDraft>,
) -> ApiResult<Response> {
    let seller = seller_of(&caller)?;
    checked(&draft)?;
    let product = state
        .store
        .create_product(&caller.audit(), seller, &draft)
        .await?;
    Ok(with_etag(StatusCode::CREATED, product))
}

/// One product.
#[utoipa::path(get, path = "/products/{id}", tag = "catalogue", params(("id" = Uuid, Path)),
    description = "Permission: public.",
    responses((status = 200, body = Object, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    Ok(with_etag(StatusCode::OK, state.store.product(id).await?))
}

/// Replace a product's description; send `If-Match` with its ETag to refuse (412) a stale edit.
#[utoipa::path(put, path = "/products/{id}", tag = "catalogue", params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = Object, description = "ProductDraft"),
    description = "Permission: the product's seller and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(draft): ApiJson<ProductDraft>,
) -> ApiResult<Response> {
    let expected = crate::routes::organisations::expected_version(&headers)?;
    own_product(&state, &caller, id).await?;
    checked(&draft)?;
    let product = state
        .store
        .update_product(&caller.audit(), id, expected, &draft)
        .await?;
    Ok(with_etag(StatusCode::OK, product))
}

/// Take a product off sale.
#[utoipa::path(delete, path = "/products/{id}", tag = "catalogue", params(("id" = Uuid, Path)),
    description = "Permission: the product's seller and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn archive_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    own_product(&state, &caller, id).await?;
    state.store.archive_product(&caller.audit(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    /// Items per page, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<Uuid>,
}

/// A seller's products, oldest first.
#[utoipa::path(get, path = "/organisations/{id}/products", tag = "catalogue", params(("id" = Uuid, Path), ProductsQuery),
    description = "Permission: public.",
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn seller_products(
    State(state): State<AppState>,
    ApiPath(seller_id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ProductsQuery>,
) -> ApiResult<axum::Json<Page<Product>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .products_of(seller_id, q.cursor, limit + 1)
        .await?;
    Ok(axum::Json(Page::from_rows(rows, limit, |p| p.id, |p| p)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OfferQuery {
    #[param(value_type = String, example = "CN")]
    pub destination: pavilion_domain::Country,
    /// Default today (UTC).
    pub date: Option<time::Date>,
}

/// May this product be offered to buyers in `destination` on that day? A product is offered
/// only where a market-access rule allows its HS line from its origin; otherwise the answer says
/// why not.
#[utoipa::path(get, path = "/products/{id}/offer", tag = "catalogue", params(("id" = Uuid, Path), OfferQuery),
    description = "Permission: public.",
    responses((status = 200, body = crate::routes::market_access::CheckView), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn offer(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<OfferQuery>,
) -> ApiResult<axum::Json<crate::routes::market_access::CheckView>> {
    let product = state.store.product(id).await?;
    let (origin, hs) = (product.draft.origin, product.draft.hs);
    let mut view =
        crate::routes::market_access::decide_view(&state, origin, q.destination, &hs, q.date)
            .await?;
    if product.archived && view.allowed {
        view.allowed = false;
        view.status = "archived".into();
        view.reason = Some("the seller has taken this product off sale".into());
    }
    Ok(axum::Json(view))
}
