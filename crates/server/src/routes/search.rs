//! Catalogue search: full text in Chinese, English, Spanish and French, with filters and facets.

use crate::extract::ApiQuery;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use pavilion_search::{
    Channel, FacetField, Filters, ProductKind, SearchRequest, SearchResults, Sort,
};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find (any of the four languages); empty browses.
    pub q: Option<String>,
    /// Language of the result titles: zh-CN, en, es or fr (default en).
    pub locale: Option<String>,
    /// Origin countries, comma-separated (e.g. `KH,RW`).
    pub origin: Option<String>,
    /// Only products market access allows into this country.
    pub destination: Option<String>,
    #[param(value_type = Option<String>, example = "retail")]
    pub channel: Option<Channel>,
    #[param(value_type = Option<String>, example = "goods")]
    pub kind: Option<ProductKind>,
    /// A category's slug: its products and those of its subcategories.
    pub category: Option<String>,
    /// Minimum and maximum price in US cents.
    pub price_min: Option<u64>,
    pub price_max: Option<u64>,
    /// `relevance` (default), `price_asc`, `price_desc` or `newest`.
    #[param(value_type = Option<String>)]
    pub sort: Option<Sort>,
    /// 1 to 100 (default 20).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Search the catalogue; the first page carries facets by origin, category, kind and channel.
#[utoipa::path(get, path = "/search", tag = "catalogue", params(SearchQuery),
    description = "Permission: public.",
    responses((status = 200, body = Object), (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<axum::Json<Found>> {
    let request = search_request(&state, q).await?;
    Ok(axum::Json(run(&state, request).await?))
}

/// The index's request for a query string's parameters.
pub async fn search_request(state: &AppState, q: SearchQuery) -> ApiResult<SearchRequest> {
    let locale = match q.locale.as_deref() {
        None => pavilion_search::Locale::En,
        Some(tag) => tag
            .parse()
            .map_err(|e: pavilion_search::Error| ApiError::invalid("locale", e.to_string()))?,
    };
    let category = match q.category {
        None => Vec::new(),
        Some(slug) => {
            let tree = state.store.category_tree().await?;
            let path: Vec<String> = tree.path(&slug).iter().map(|c| c.slug.clone()).collect();
            if path.is_empty() {
                return Err(ApiError::invalid(
                    "category",
                    format!("there is no category {slug:?}"),
                ));
            }
            path
        }
    };
    Ok(SearchRequest {
        text: q.q.unwrap_or_default(),
        locale,
        filters: Filters {
            origins: q
                .origin
                .map(|o| {
                    o.split(',')
                        .map(|c| c.trim().to_owned())
                        .filter(|c| !c.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            destination: q.destination,
            channels: q.channel.into_iter().collect(),
            kinds: q.kind.into_iter().collect(),
            category,
            price_min: q.price_min,
            price_max: q.price_max,
            ..Filters::default()
        },
        // Counting facets visits every match: only the first page, where filters are shown,
        // pays for it.
        facets: if q.offset.unwrap_or(0) == 0 {
            vec![
                FacetField::Origin,
                FacetField::Category,
                FacetField::Kind,
                FacetField::Channel,
            ]
        } else {
            Vec::new()
        },
        sort: q.sort.unwrap_or_default(),
        limit: q.limit.unwrap_or(20),
        offset: q.offset.unwrap_or(0),
    })
}

/// A search's answer, shared with the search cache.
#[derive(Debug)]
pub struct Found(pub std::sync::Arc<SearchResults>);

impl serde::Serialize for Found {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Runs a search on this process's index (or reuses a moment-old answer to the same search).
pub async fn run(state: &AppState, request: SearchRequest) -> ApiResult<Found> {
    state
        .catalogue
        .search(request)
        .await
        .map(Found)
        .map_err(|e| {
            if e.is_bad_input() {
                ApiError::invalid(e.field().unwrap_or("q").to_owned(), e.to_string())
            } else {
                ApiError::internal(&e)
            }
        })
}
