//! The API's representations of stored things. Kept apart from the store's types so that the
//! wire format is a deliberate contract.

use pavilion_store::Timestamp;
use pavilion_store::accounts::{Account, Organisation, User};
use pavilion_store::audit::AuditEntry;
use pavilion_store::tokens::ApiToken;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    /// `platform`, `agency`, `seller` or `business_buyer`.
    #[schema(value_type = String, example = "seller")]
    pub kind: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    #[schema(value_type = String, example = "KH")]
    pub country: String,
    /// Also sent as the ETag; send it back in `If-Match` to update safely.
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        Self {
            id: o.id,
            kind: o.kind.as_str().to_owned(),
            name: o.name.into(),
            country: o.country.code().to_owned(),
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// `admin`, `agency_officer`, `seller`, `buyer` or `consumer`.
    #[schema(value_type = String, example = "seller")]
    pub role: String,
    pub organisation_id: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email.into(),
            display_name: u.display_name.into(),
            role: u.role.as_str().to_owned(),
            organisation_id: u.organisation_id,
            created_at: u.created_at,
        }
    }
}

/// A user with the organisation they act for.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub user: UserView,
    pub organisation: Option<OrganisationView>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            user: a.user.into(),
            organisation: a.organisation.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor_user_id: Option<Uuid>,
    /// e.g. `organisation.update`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_user_id: e.actor_user_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            before: e.before,
            after: e.after,
            request_id: e.request_id,
        }
    }
}
