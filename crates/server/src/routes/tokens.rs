//! The caller's own API tokens.

use crate::auth::{Caller, tokens};
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::views::TokenView;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::text::Name;
use pavilion_store::Timestamp;
use pavilion_store::tokens::NewApiToken;
use serde::{Deserialize, Serialize};
use time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. "ERP sync".
    #[schema(value_type = String)]
    pub name: Name,
    /// Days until it expires, 1 to 3650; absent means it lasts until revoked.
    pub expires_in_days: Option<u16>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The secret, shown this once: send it as `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub details: TokenView,
}

/// Create an API token acting as the caller.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = CreateTokenRequest,
    description = "Permission: any signed-in user; the token acts with the caller's role.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 201, body = CreatedToken),
        (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    let expires_at = match req.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Timestamp::now().checked_add(Duration::days(i64::from(days))),
        Some(days) => {
            return Err(ApiError::invalid(
                "expires_in_days",
                format!("expires_in_days must be 1 to 3650, not {days}"),
            ));
        }
    };
    let issued = tokens::issue().map_err(|e| ApiError::internal(&e))?;
    let token = state
        .store
        .create_api_token(
            &caller.audit(),
            &NewApiToken {
                user_id: caller.user_id(),
                name: req.name.into(),
                token_hash: issued.hash,
                prefix: issued.prefix,
                expires_at,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: issued.secret,
            details: token.into(),
        }),
    ))
}

/// The caller's tokens, newest first, including revoked and expired ones.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    description = "Permission: any signed-in user; only their own tokens.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<TokenView>>> {
    let tokens = state.store.list_api_tokens(caller.user_id()).await?;
    Ok(axum::Json(tokens.into_iter().map(Into::into).collect()))
}

/// Revoke one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    description = "Permission: any signed-in user; only their own tokens (another's answers 404).",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .store
        .revoke_api_token(&caller.audit(), caller.user_id(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
