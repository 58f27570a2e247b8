//! Country pavilions: recruiting until the launch threshold, then live.

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::Country;
use pavilion_domain::accounts::Role;
use pavilion_domain::programmes::{Channel, PavilionStatus};
use pavilion_domain::text::Name;
use pavilion_search::FacetField;
use pavilion_store::StoreError;
use pavilion_store::pavilions::{NewPavilion, Pavilion};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const MAX_STORY_CHARS: usize = 5000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePavilionRequest {
    #[schema(value_type = String, example = "KH")]
    pub country: Country,
    #[schema(value_type = String, example = "wholesale")]
    pub channel: Channel,
    #[schema(value_type = String)]
    pub title: Name,
    /// The pavilion's story by locale, e.g. `{"en": "…", "zh-CN": "…"}`.
    #[serde(default)]
    pub story: BTreeMap<String, String>,
    /// Approved exporters needed to launch (at least 1).
    pub threshold: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureRequest {
    pub seller_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureProductsRequest {
    pub product_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PavilionView {
    pub id: Uuid,
    /// Stable URL slug, e.g. `kh-wholesale`.
    pub slug: String,
    #[schema(value_type = String, example = "KH")]
    pub country: Country,
    #[schema(value_type = String, example = "wholesale")]
    pub channel: Channel,
    pub title: String,
    pub story: BTreeMap<String, String>,
    /// `recruiting` or `live`.
    pub status: String,
    pub approved_exporters: u32,
    pub threshold: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub launched_at: Option<pavilion_store::Timestamp>,
    pub featured_sellers: Vec<Uuid>,
    pub featured_products: Vec<Uuid>,
}

impl From<Pavilion> for PavilionView {
    fn from(p: Pavilion) -> Self {
        let status = match p.status() {
            PavilionStatus::Live => "live",
            PavilionStatus::Recruiting { .. } => "recruiting",
        };
        Self {
            id: p.id,
            slug: p.slug,
            country: p.country,
            channel: p.channel,
            title: p.title,
            story: p.story,
            status: status.to_owned(),
            approved_exporters: p.approved_exporters,
            threshold: p.threshold,
            launched_at: p.launched_at,
            featured_sellers: p.featured_sellers,
            featured_products: p.featured_products,
        }
    }
}

/// An administrator, or an agency officer of the country.
fn curates(caller: &Caller, country: Country) -> bool {
    match caller.account.user.role {
        Role::Admin => true,
        Role::AgencyOfficer => caller
            .account
            .organisation
            .as_ref()
            .is_some_and(|o| o.country == country),
        _ => false,
    }
}

fn valid_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or("");
    let region = parts.next();
    parts.next().is_none()
        && (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()))
}

/// Open a pavilion for a country on a channel.
#[utoipa::path(post, path = "/pavilions", tag = "pavilions", request_body = CreatePavilionRequest,
    description = "Permission: administrators and agency officers of the pavilion's country.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = PavilionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_pavilion(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreatePavilionRequest>,
) -> ApiResult<(StatusCode, axum::Json<PavilionView>)> {
    if !curates(&caller, req.country) {
        return Err(ApiError::forbidden(
            "pavilions are opened by administrators or the country's agency officers",
        ));
    }
    if req.threshold == 0 {
        return Err(ApiError::invalid(
            "threshold",
            "the launch threshold must be at least 1 approved exporter",
        ));
    }
    for (locale, text) in &req.story {
        if !valid_locale(locale) {
            return Err(ApiError::invalid(
                format!("story.{locale}"),
                "locales are tags like en, zh-CN, es, fr",
            ));
        }
        if text.chars().count() > MAX_STORY_CHARS {
            return Err(ApiError::invalid(
                format!("story.{locale}"),
                format!("at most {MAX_STORY_CHARS} characters"),
            ));
        }
    }
    let pavilion = state
        .store
        .create_pavilion(
            &caller.audit(),
            &NewPavilion {
                country: req.country,
                channel: req.channel,
                title: req.title.into(),
                story: req.story,
                threshold: req.threshold,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                ProblemKind::Conflict,
                "this country already has a pavilion on this channel",
            )
            .with_field("channel"),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, axum::Json(pavilion.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PavilionQuery {
    #[param(value_type = Option<String>)]
    pub country: Option<Country>,
}

/// Pavilions with their launch progress.
#[utoipa::path(get, path = "/pavilions", tag = "pavilions", params(PavilionQuery),
    description = "Permission: public.",
    responses((status = 200, body = Vec<PavilionView>)))]
pub async fn list_pavilions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PavilionQuery>,
) -> ApiResult<axum::Json<Vec<PavilionView>>> {
    let list = state.store.list_pavilions(q.country).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// One pavilion by its slug.
#[utoipa::path(get, path = "/pavilions/{slug}", tag = "pavilions", params(("slug" = String, Path)),
    description = "Permission: public.",
    responses((status = 200, body = PavilionView), (status = 404, body = Problem)))]
pub async fn get_pavilion(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<axum::Json<PavilionView>> {
    Ok(axum::Json(state.store.pavilion(&slug).await?.into()))
}

/// A pavilion's page: the pavilion and its live products, with facets.
#[derive(Debug, Serialize, ToSchema)]
pub struct PavilionListing {
    pub pavilion: PavilionView,
    /// `hits`, `total`, `facets` (category and kind, on the first page) and `next_offset`.
    #[schema(value_type = Object)]
    pub products: crate::routes::search::Found,
}

/// The live products of a pavilion: those of its approved exporters offered on its channel,
/// searchable and filtered like `/search` (the same parameters), with facet counts.
#[utoipa::path(get, path = "/pavilions/{slug}/products", tag = "pavilions",
    params(("slug" = String, Path), crate::routes::search::SearchQuery),
    description = "Permission: public.",
    responses((status = 200, body = PavilionListing), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn pavilion_products(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<crate::routes::search::SearchQuery>,
) -> ApiResult<axum::Json<PavilionListing>> {
    let pavilion = state.store.pavilion(&slug).await?;
    let mut request = crate::routes::search::search_request(&state, q).await?;
    request.filters.pavilion = Some(pavilion.id.to_string());
    // One country on one channel: only categories and kinds tell its products apart.
    request
        .facets
        .retain(|f| matches!(f, FacetField::Category | FacetField::Kind));
    let products = crate::routes::search::run(&state, request).await?;
    Ok(axum::Json(PavilionListing {
        pavilion: pavilion.into(),
        products,
    }))
}

/// Administrators and the country's agency officers curate a pavilion.
async fn check_curator(state: &AppState, caller: &Caller, slug: &str) -> ApiResult<()> {
    let pavilion = state.store.pavilion(slug).await?;
    if !curates(caller, pavilion.country) {
        return Err(ApiError::forbidden(
            "only the country's agency officers or administrators curate its pavilion",
        ));
    }
    Ok(())
}

fn listed_twice(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { field } => ApiError::invalid(field, "an id is listed twice"),
        other => other.into(),
    }
}

/// Choose the pavilion's featured exporters (approved exporters of the pavilion only).
#[utoipa::path(put, path = "/pavilions/{slug}/featured", tag = "pavilions", request_body = FeatureRequest,
    params(("slug" = String, Path)),
    description = "Permission: administrators and agency officers of the pavilion's country.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = PavilionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn feature(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<FeatureRequest>,
) -> ApiResult<axum::Json<PavilionView>> {
    check_curator(&state, &caller, &slug).await?;
    let pavilion = state
        .store
        .feature_sellers(&caller.audit(), &slug, &req.seller_ids)
        .await
        .map_err(listed_twice)?;
    Ok(axum::Json(pavilion.into()))
}

/// Choose the pavilion's featured products (on sale, from approved exporters of the pavilion).
#[utoipa::path(put, path = "/pavilions/{slug}/featured-products", tag = "pavilions", request_body = FeatureProductsRequest,
    params(("slug" = String, Path)),
    description = "Permission: administrators and agency officers of the pavilion's country.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = PavilionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn feature_products(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<FeatureProductsRequest>,
) -> ApiResult<axum::Json<PavilionView>> {
    check_curator(&state, &caller, &slug).await?;
    let pavilion = state
        .store
        .feature_products(&caller.audit(), &slug, &req.product_ids)
        .await
        .map_err(listed_twice)?;
    Ok(axum::Json(pavilion.into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn locales_look_like_language_tags() {
        for ok in ["en", "zh-CN", "es", "fr", "km"] {
            assert!(super::valid_locale(ok), "{ok}");
        }
        for bad in ["EN", "zh_cn", "zh-cn", "english", "", "en-US-x"] {
            assert!(!super::valid_locale(bad), "{bad}");
        }
    }
}
