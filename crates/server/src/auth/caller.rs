use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use pavilion_domain::accounts::{Actor, Role};
use pavilion_store::accounts::Account;
use pavilion_store::audit::AuditContext;
use std::marker::PhantomData;
use tower_sessions::Session;
use uuid::Uuid;

/// Session key under which the signed-in user's id is kept.
pub const SESSION_USER_KEY: &str = "user_id";

/// A permission a handler demands of its caller, stated in the handler's signature.
pub trait Permission: Send + Sync + 'static {
    /// Shown in 403 answers and the API reference.
    const DESCRIPTION: &'static str;
    fn allows(role: Role) -> bool;
}

/// Any signed-in user, whatever the role; resource rules are checked in the handler.
pub struct SignedIn;

impl Permission for SignedIn {
    const DESCRIPTION: &'static str = "any signed-in user";
    fn allows(_: Role) -> bool {
        true
    }
}

/// Platform administrators only.
pub struct Admin;

impl Permission for Admin {
    const DESCRIPTION: &'static str = "a platform administrator";
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
}

/// The authenticated caller of a request, by session cookie or bearer token, whose role `P`
/// allows the operation. Missing or bad credentials answer 401; the wrong role, 403.
pub struct Caller<P: Permission = SignedIn> {
    pub account: Account,
    /// Set when the request came with an API token rather than a session.
    pub token_id: Option<Uuid>,
    pub request_id: Option<String>,
    _permission: PhantomData<P>,
}

impl<P: Permission> Caller<P> {
    pub fn user_id(&self) -> Uuid {
        self.account.user.id
    }

    pub fn actor(&self) -> Actor<Uuid> {
        Actor {
            role: self.account.user.role,
            organisation: self.account.organisation.as_ref().map(|o| o.scope()),
        }
    }

    pub fn audit(&self) -> AuditContext {
        AuditContext {
            actor_user_id: Some(self.user_id()),
            request_id: self.request_id.clone(),
        }
    }
}

/// The id the request-id layer gave this request, for the audit log.
pub fn request_id_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl<P: Permission> FromRequestParts<AppState> for Caller<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (account, token_id) = match parts.headers.get(AUTHORIZATION) {
            Some(value) => {
                let secret = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token.trim())
                    .ok_or_else(|| {
                        ApiError::unauthenticated(
                            "the Authorization header must be `Bearer <token>`",
                        )
                        .with_field("Authorization")
                    })?;
                let hash = super::tokens::hash(secret);
                let (token_id, account) =
                    state.store.account_for_token(&hash).await?.ok_or_else(|| {
                        ApiError::unauthenticated("the API token is invalid, expired or revoked")
                            .with_field("Authorization")
                    })?;
                (account, Some(token_id))
            }
            None => {
                let session = Session::from_request_parts(parts, state)
                    .await
                    .map_err(|(_, msg)| ApiError::internal(&msg))?;
                let user_id: Option<Uuid> = session
                    .get(SESSION_USER_KEY)
                    .await
                    .map_err(|e| ApiError::internal(&e))?;
                let user_id = user_id.ok_or_else(|| {
                    ApiError::unauthenticated(
                        "sign in, or send an API token as `Authorization: Bearer …`",
                    )
                })?;
                let account = match state.store.account(user_id).await {
                    Ok(account) => account,
                    Err(pavilion_store::StoreError::NotFound { .. }) => {
                        return Err(ApiError::unauthenticated(
                            "the session's user no longer exists",
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                (account, None)
            }
        };
        if !P::allows(account.user.role) {
            return Err(ApiError::forbidden(format!(
                "this requires {}; you are signed in as {}",
                P::DESCRIPTION,
                account.user.role
            )));
        }
        Ok(Caller {
            account,
            token_id,
            request_id: request_id_of(&parts.headers),
            _permission: PhantomData,
        })
    }
}

/// `Option<Caller>`: `None` for an anonymous request; credentials that are present but bad are
/// still refused (401), so a typo in a token is not silently ignored.
impl<P: Permission> axum::extract::OptionalFromRequestParts<AppState> for Caller<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        if parts.headers.contains_key(AUTHORIZATION) {
            return <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map(Some);
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| ApiError::internal(&msg))?;
        let signed_in: Option<Uuid> = session
            .get(SESSION_USER_KEY)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        if signed_in.is_none() {
            return Ok(None);
        }
        <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
