//! Sign-up, sign-in, sign-out and the caller's own account.

use crate::auth::{Caller, SESSION_USER_KEY, passwords};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::views::AccountView;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use pavilion_domain::Country;
use pavilion_domain::accounts::Role;
use pavilion_domain::text::{Email, Name, Password};
use pavilion_store::accounts::{Membership, NewOrganisation, NewUser};
use pavilion_store::audit::AuditContext;
use serde::Deserialize;
use std::net::SocketAddr;
use time::Duration;
use tower_sessions::Session;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    /// 10 to 256 characters.
    #[schema(value_type = String, format = Password)]
    pub password: Password,
    #[schema(value_type = String)]
    pub display_name: Name,
    /// `seller`, `buyer` or `consumer`; other roles are granted by an administrator.
    #[schema(value_type = String, example = "seller")]
    pub role: Role,
    /// Required for sellers and buyers (the exporter or business signing up); absent for consumers.
    pub organisation: Option<NewOrganisationRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisationRequest {
    #[schema(value_type = String)]
    pub name: Name,
    #[schema(value_type = String, example = "KH")]
    pub country: Country,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    #[schema(value_type = String, format = Password)]
    pub password: Password,
}

/// The membership a self-service role brings, or why the request is wrong.
fn membership_for_sign_up(
    role: Role,
    organisation: Option<NewOrganisationRequest>,
) -> ApiResult<Membership> {
    if !role.is_self_service() {
        return Err(ApiError::forbidden(format!(
            "the {role} role is granted by an administrator, not by signing up"
        ))
        .with_field("role"));
    }
    match (role.organisation_kind(), organisation) {
        (None, None) => Ok(Membership::None),
        (None, Some(_)) => Err(ApiError::invalid(
            "organisation",
            "consumers sign up without an organisation",
        )),
        (Some(_), None) => Err(ApiError::invalid(
            "organisation",
            format!("a {role} signs up with the organisation they act for (name and country)"),
        )),
        (Some(kind), Some(org)) => Ok(Membership::Found(NewOrganisation {
            kind,
            name: org.name,
            country: org.country,
        })),
    }
}

async fn start_session(session: &Session, user_id: uuid::Uuid) -> ApiResult<()> {
    // A new id on every sign-in defeats session fixation.
    session
        .cycle_id()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    session
        .insert(SESSION_USER_KEY, user_id)
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// Create an account (and, for sellers and buyers, their organisation), and sign in.
#[utoipa::path(post, path = "/auth/sign-up", tag = "accounts", request_body = SignUpRequest,
    description = "Permission: public.",
    responses(
        (status = 201, description = "Account created; a session cookie is set", body = AccountView),
        (status = 403, description = "The role cannot be taken by signing up", body = Problem),
        (status = 409, description = "The e-mail is already registered", body = Problem),
        (status = 422, description = "A field is invalid", body = Problem)))]
pub async fn sign_up(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignUpRequest>,
) -> ApiResult<(StatusCode, axum::Json<AccountView>)> {
    let membership = membership_for_sign_up(req.role, req.organisation)?;
    let password_hash = passwords::hash(req.password)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let ctx = AuditContext {
        actor_user_id: None,
        request_id: crate::auth::request_id_of(&headers),
    };
    let account = state
        .store
        .create_user(
            &ctx,
            &NewUser {
                email: req.email,
                password_hash,
                display_name: req.display_name,
                role: req.role,
                membership,
            },
        )
        .await?;
    start_session(&session, account.user.id).await?;
    Ok((StatusCode::CREATED, axum::Json(account.into())))
}

/// Sign in with e-mail and password; sets the session cookie.
///
/// Repeated failures for one e-mail address, or from one client, are refused for a while (429).
#[utoipa::path(post, path = "/auth/sign-in", tag = "accounts", request_body = SignInRequest,
    description = "Permission: public. Rate-limited per e-mail address and per client address.",
    responses(
        (status = 200, description = "Signed in; a session cookie is set", body = AccountView),
        (status = 401, description = "Wrong e-mail or password", body = Problem),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    ApiJson(req): ApiJson<SignInRequest>,
) -> ApiResult<axum::Json<AccountView>> {
    let limits = &state.config.sign_in;
    let window = Duration::minutes(limits.window_minutes);
    let client_ip = client.ip().to_string();
    let recent = state
        .store
        .recent_sign_in_failures(&req.email, &client_ip, window)
        .await?;
    if recent.for_email >= limits.max_failures_per_email
        || recent.from_client >= limits.max_failures_per_client
    {
        let mut err = ApiError::new(
            ProblemKind::TooManyRequests,
            format!(
                "too many failed sign-ins; try again in {} minutes",
                limits.window_minutes
            ),
        );
        err.retry_after = u64::try_from(window.whole_seconds()).ok();
        return Err(err);
    }
    let credentials = state.store.find_credentials(&req.email).await?;
    let (user, hash) = match credentials {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let verified = passwords::verify(req.password, hash).await;
    let Some(user) = user.filter(|_| verified) else {
        state
            .store
            .record_sign_in_failure(&req.email, &client_ip, window)
            .await?;
        return Err(ApiError::unauthenticated(
            "wrong e-mail address or password",
        ));
    };
    state.store.clear_sign_in_failures(&req.email).await?;
    start_session(&session, user.id).await?;
    let account = state.store.account(user.id).await?;
    Ok(axum::Json(account.into()))
}

/// End the current session.
#[utoipa::path(post, path = "/auth/sign-out", tag = "accounts",
    description = "Permission: any signed-in user.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = Problem)))]
pub async fn sign_out(_caller: Caller, session: Session) -> ApiResult<StatusCode> {
    session.flush().await.map_err(|e| ApiError::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account and organisation.
#[utoipa::path(get, path = "/me", tag = "accounts",
    description = "Permission: any signed-in user.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, body = AccountView),
        (status = 401, description = "Not signed in", body = Problem)))]
pub async fn me(caller: Caller) -> axum::Json<AccountView> {
    axum::Json(caller.account.into())
}
