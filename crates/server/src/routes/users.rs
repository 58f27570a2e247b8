//! Users created by an administrator: agency officers, other administrators, or extra members
//! of an existing seller or buyer.

use crate::auth::{Admin, Caller, passwords};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::views::AccountView;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::accounts::Role;
use pavilion_domain::text::{Email, Name, Password};
use pavilion_store::accounts::{Membership, NewUser};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    #[schema(value_type = String, format = Password)]
    pub password: Password,
    #[schema(value_type = String)]
    pub display_name: Name,
    #[schema(value_type = String, example = "agency_officer")]
    pub role: Role,
    /// The organisation the user acts for; its kind must suit the role. Absent for consumers.
    pub organisation_id: Option<Uuid>,
}

/// Create a user in an existing organisation.
#[utoipa::path(post, path = "/users", tag = "accounts", request_body = CreateUserRequest,
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 201, body = AccountView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, axum::Json<AccountView>)> {
    let membership = match (req.role.organisation_kind(), req.organisation_id) {
        (None, None) => Membership::None,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "organisation_id",
                "consumers belong to no organisation",
            ));
        }
        (Some(kind), None) => {
            return Err(ApiError::invalid(
                "organisation_id",
                format!("a {} belongs to an organisation of kind {kind}", req.role),
            ));
        }
        (Some(kind), Some(id)) => {
            let org = state
                .store
                .organisation(id)
                .await
                .map_err(|e| ApiError::from(e).with_field("organisation_id"))?;
            if org.kind != kind {
                return Err(ApiError::invalid(
                    "organisation_id",
                    format!(
                        "a {} belongs to an organisation of kind {kind}, not {}",
                        req.role, org.kind
                    ),
                ));
            }
            Membership::Existing(id)
        }
    };
    let password_hash = passwords::hash(req.password)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let account = state
        .store
        .create_user(
            &admin.audit(),
            &NewUser {
                email: req.email,
                password_hash,
                display_name: req.display_name,
                role: req.role,
                membership,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(account.into())))
}
