//! Organisations: platform, agencies, sellers and business buyers.

use crate::auth::{Admin, Caller};
use crate::extract::{ApiPath, ApiQuery};
use crate::json::ApiJson;
use crate::pagination::Page;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::views::OrganisationView;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_domain::Country;
use pavilion_domain::accounts::{OrganisationKind, Role};
use pavilion_domain::text::Name;
use pavilion_store::accounts::{NewOrganisation, Organisation, OrganisationChanges};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisationRequest {
    #[schema(value_type = String, example = "agency")]
    pub kind: OrganisationKind,
    #[schema(value_type = String)]
    pub name: Name,
    #[schema(value_type = String, example = "KH")]
    pub country: Country,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganisationRequest {
    #[schema(value_type = Option<String>)]
    pub name: Option<Name>,
    /// Only an administrator may move an organisation to another country.
    #[schema(value_type = Option<String>, example = "KH")]
    pub country: Option<Country>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    #[param(value_type = Option<String>)]
    pub kind: Option<OrganisationKind>,
    #[param(value_type = Option<String>)]
    pub country: Option<Country>,
    /// Items per page, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<Uuid>,
}

/// The organisation with its version as ETag.
fn with_etag(status: StatusCode, org: Organisation) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", org.version)).ok();
    let mut response = (status, axum::Json(OrganisationView::from(org))).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The version an `If-Match` header demands; `None` when absent or `*`.
pub(crate) fn expected_version(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::invalid(
                "If-Match",
                "If-Match must be an ETag this API sent, e.g. \"3\"",
            )
        })
}

/// Create an organisation (an agency, say, before adding its officers).
#[utoipa::path(post, path = "/organisations", tag = "organisations",
    request_body = CreateOrganisationRequest,
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 201, body = OrganisationView, headers(("ETag" = String))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_organisation(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiJson(req): ApiJson<CreateOrganisationRequest>,
) -> ApiResult<Response> {
    let org = state
        .store
        .create_organisation(
            &admin.audit(),
            &NewOrganisation {
                kind: req.kind,
                name: req.name,
                country: req.country,
            },
        )
        .await?;
    Ok(with_etag(StatusCode::CREATED, org))
}

/// List organisations. Administrators see all; an agency officer sees the sellers of the
/// agency's country.
#[utoipa::path(get, path = "/organisations", tag = "organisations", params(OrganisationQuery),
    description = "Permission: administrators (all) and agency officers (their country's sellers).",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Page<OrganisationView>),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_organisations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<OrganisationQuery>,
) -> ApiResult<axum::Json<Page<OrganisationView>>> {
    let limit = crate::pagination::page_limit(q.limit)?;
    let (kind, country) = match (caller.account.user.role, &caller.account.organisation) {
        (Role::Admin, _) => (q.kind, q.country),
        (Role::AgencyOfficer, Some(agency)) => {
            if q.kind.is_some_and(|k| k != OrganisationKind::Seller)
                || q.country.is_some_and(|c| c != agency.country)
            {
                return Err(ApiError::forbidden(format!(
                    "agency officers list the sellers of their own country ({})",
                    agency.country.code()
                )));
            }
            (Some(OrganisationKind::Seller), Some(agency.country))
        }
        (role, _) => {
            return Err(ApiError::forbidden(format!(
                "listing organisations requires an administrator or an agency officer; you are {role}"
            )));
        }
    };
    let rows = state
        .store
        .list_organisations(kind, country, q.cursor, limit + 1)
        .await?;
    Ok(axum::Json(Page::from_rows(
        rows,
        limit,
        |o| o.id,
        Into::into,
    )))
}

async fn readable(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Organisation> {
    let org = state.store.organisation(id).await?;
    if !caller.actor().can_read_organisation(&org.scope()) {
        return Err(ApiError::forbidden("this organisation is not yours to see"));
    }
    Ok(org)
}

/// One organisation, with its version as ETag.
#[utoipa::path(get, path = "/organisations/{id}", tag = "organisations",
    description = "Permission: administrators; the organisation's members; agency officers for sellers of their country.",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = OrganisationView, headers(("ETag" = String))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_organisation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    Ok(with_etag(
        StatusCode::OK,
        readable(&state, &caller, id).await?,
    ))
}

/// Change an organisation's profile. Send `If-Match` with the ETag you read to refuse the change
/// (412) if someone else changed it meanwhile.
#[utoipa::path(patch, path = "/organisations/{id}", tag = "organisations",
    request_body = UpdateOrganisationRequest,
    description = "Permission: administrators and the organisation's own members; only administrators change the country.",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses(
        (status = 200, body = OrganisationView, headers(("ETag" = String))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_organisation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<UpdateOrganisationRequest>,
) -> ApiResult<Response> {
    let expected = expected_version(&headers)?;
    let org = readable(&state, &caller, id).await?;
    let actor = caller.actor();
    if !actor.can_update_organisation(&org.scope()) {
        return Err(ApiError::forbidden(
            "only the organisation's members or an administrator may change it",
        ));
    }
    if req.country.is_some_and(|c| c != org.country) && !actor.is_admin() {
        return Err(ApiError::forbidden(
            "only an administrator may change an organisation's country",
        )
        .with_field("country"));
    }
    let changes = OrganisationChanges {
        name: req.name,
        country: req.country,
    };
    let updated = state
        .store
        .update_organisation(&caller.audit(), id, expected, &changes)
        .await?;
    Ok(with_etag(StatusCode::OK, updated))
}
