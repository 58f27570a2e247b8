//! Organisations and users.

use crate::audit::{self, AuditContext, Change};
use crate::sql::Conn;
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Country;
use pavilion_domain::accounts::{OrganisationKind, OrganisationScope, Role};
use pavilion_domain::text::{Email, Name};
use serde::Serialize;
use sqlx::{Any, FromRow, Transaction};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: Uuid,
    pub kind: OrganisationKind,
    pub name: Name,
    pub country: Country,
    /// Bumped on every change; the API's ETag.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Organisation {
    pub fn scope(&self) -> OrganisationScope<Uuid> {
        OrganisationScope {
            id: self.id,
            kind: self.kind,
            country: self.country,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub kind: OrganisationKind,
    pub name: Name,
    pub country: Country,
}

/// A user as the rest of the platform sees it; the password hash never leaves this module
/// except through [`Store::find_credentials`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: Email,
    pub display_name: Name,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    pub created_at: Timestamp,
}

/// A user together with the organisation they act for: what a request is authorised against.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub organisation: Option<Organisation>,
}

/// Where a new user's organisation comes from.
#[derive(Debug, Clone)]
pub enum Membership {
    /// Consumers belong to no organisation.
    None,
    /// Join an organisation that exists (e.g. an officer added to an agency).
    Existing(Uuid),
    /// Found a new organisation with this user as its first member (e.g. an exporter signing up).
    Found(NewOrganisation),
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub password_hash: String,
    pub display_name: Name,
    pub role: Role,
    pub membership: Membership,
}

/// Profile changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganisationChanges {
    pub name: Option<Name>,
    pub country: Option<Country>,
}

#[derive(FromRow)]
struct OrganisationRow {
    id: String,
    kind: String,
    name: String,
    country: String,
    version: i64,
    created_at: String,
    updated_at: String,
}

const ORGANISATION_COLUMNS: &str = "id, kind, name, country, version, created_at, updated_at";

impl TryFrom<OrganisationRow> for Organisation {
    type Error = StoreError;
    fn try_from(r: OrganisationRow) -> StoreResult<Self> {
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt("organisations", e);
        Ok(Organisation {
            id: r.id.parse().map_err(|e| bad(&e))?,
            kind: r.kind.parse().map_err(|e| bad(&e))?,
            name: Name::parse(&r.name).map_err(|e| bad(&e))?,
            country: r.country.parse().map_err(|e| bad(&e))?,
            version: r.version,
            created_at: Timestamp::from_stored(&r.created_at).map_err(|e| bad(&e))?,
            updated_at: Timestamp::from_stored(&r.updated_at).map_err(|e| bad(&e))?,
        })
    }
}

#[derive(FromRow)]
struct UserRow {
    id: String,
    email: String,
    display_name: String,
    role: String,
    organisation_id: Option<String>,
    created_at: String,
}

const USER_COLUMNS: &str = "id, email, display_name, role, organisation_id, created_at";

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<Self> {
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt("users", e);
        Ok(User {
            id: r.id.parse().map_err(|e| bad(&e))?,
            email: Email::parse(&r.email).map_err(|e| bad(&e))?,
            display_name: Name::parse(&r.display_name).map_err(|e| bad(&e))?,
            role: r.role.parse().map_err(|e| bad(&e))?,
            organisation_id: r
                .organisation_id
                .map(|s| s.parse())
                .transpose()
                .map_err(|e| bad(&e))?,
            created_at: Timestamp::from_stored(&r.created_at).map_err(|e| bad(&e))?,
        })
    }
}

async fn insert_organisation(
    tx: &mut Transaction<'static, Any>,
    ctx: &AuditContext,
    new: &NewOrganisation,
) -> StoreResult<Organisation> {
    let now = Timestamp::now();
    let org = Organisation {
        id: Uuid::now_v7(),
        kind: new.kind,
        name: new.name.clone(),
        country: new.country,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO organisations (id, kind, name, country, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org.id.to_string())
    .bind(org.kind.as_str())
    .bind(org.name.as_str().to_owned())
    .bind(org.country.code().to_owned())
    .bind(org.version)
    .bind(now.to_stored())
    .bind(now.to_stored())
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut Conn::Sqlx(tx),
        ctx,
        Change {
            action: "organisation.create",
            entity_type: "organisation",
            entity_id: org.id.to_string(),
            before: None,
            after: Some(&org),
        },
    )
    .await?;
    Ok(org)
}

pub(crate) async fn organisation_in_tx(
    tx: &mut Transaction<'static, Any>,
    id: Uuid,
) -> StoreResult<Organisation> {
    organisation_in(&mut **tx, id).await
}

async fn organisation_in<'e, E>(executor: E, id: Uuid) -> StoreResult<Organisation>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!("SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE id = $1");
    let row: Option<OrganisationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(executor)
        .await?;
    row.ok_or(StoreError::NotFound {
        entity: "organisation",
    })?
    .try_into()
}

impl Store {
    pub async fn create_organisation(
        &self,
        ctx: &AuditContext,
        new: &NewOrganisation,
    ) -> StoreResult<Organisation> {
        let mut tx = self.begin_write().await?;
        let org = insert_organisation(&mut tx, ctx, new).await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn organisation(&self, id: Uuid) -> StoreResult<Organisation> {
        organisation_in(self.pool(), id).await
    }

    /// The names of these organisations (unknown ids are left out).
    pub async fn organisation_names(
        &self,
        ids: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<Uuid, String>> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let list = crate::values::placeholders(1, chunk.len());
            let sql = format!("SELECT id, name FROM organisations WHERE id IN ({list})");
            let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.to_string());
            }
            for (id, name) in query.fetch_all(self.pool()).await? {
                out.insert(crate::values::uuid("organisations", &id)?, name);
            }
        }
        Ok(out)
    }

    /// Organisations in creation order, optionally of one kind and one country.
    pub async fn list_organisations(
        &self,
        kind: Option<OrganisationKind>,
        country: Option<Country>,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Organisation>> {
        let sql = format!(
            "SELECT {ORGANISATION_COLUMNS} FROM organisations \
             WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR country = $2) \
               AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
        );
        let rows: Vec<OrganisationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind.map(|k| k.as_str()))
            .bind(country.map(|c| c.code().to_owned()))
            .bind(after.map(|u| u.to_string()))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(Organisation::try_from).collect()
    }

    /// Applies profile changes, refusing them if the organisation is no longer at
    /// `expected_version` (when given), so concurrent editors cannot overwrite each other.
    pub async fn update_organisation(
        &self,
        ctx: &AuditContext,
        id: Uuid,
        expected_version: Option<i64>,
        changes: &OrganisationChanges,
    ) -> StoreResult<Organisation> {
        let mut tx = self.begin_write().await?;
        let before = organisation_in_tx(&mut tx, id).await?;
        if let Some(expected) = expected_version.filter(|v| *v != before.version) {
            tracing::debug!(
                expected,
                current = before.version,
                "stale organisation update"
            );
            return Err(StoreError::VersionMismatch {
                entity: "organisation",
                current: before.version,
            });
        }
        let after = Organisation {
            name: changes.name.clone().unwrap_or_else(|| before.name.clone()),
            country: changes.country.unwrap_or(before.country),
            version: before.version + 1,
            updated_at: Timestamp::now(),
            ..before.clone()
        };
        // The version condition makes the check hold against writers in other processes too.
        let updated = sqlx::query(
            "UPDATE organisations SET name = $1, country = $2, version = $3, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(after.name.as_str().to_owned())
        .bind(after.country.code().to_owned())
        .bind(after.version)
        .bind(after.updated_at.to_stored())
        .bind(id.to_string())
        .bind(before.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::VersionMismatch {
                entity: "organisation",
                current: before.version + 1,
            });
        }
        audit::record(
            &mut Conn::Sqlx(&mut tx),
            ctx,
            Change {
                action: "organisation.update",
                entity_type: "organisation",
                entity_id: id.to_string(),
                before: Some(&before),
                after: Some(&after),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Creates a user (and, for a founder, their organisation) in one transaction.
    pub async fn create_user(&self, ctx: &AuditContext, new: &NewUser) -> StoreResult<Account> {
        let mut tx = self.begin_write().await?;
        let organisation = match &new.membership {
            Membership::None => None,
            Membership::Existing(id) => Some(organisation_in_tx(&mut tx, *id).await?),
            Membership::Found(org) => Some(insert_organisation(&mut tx, ctx, org).await?),
        };
        let user = User {
            id: Uuid::now_v7(),
            email: new.email.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            organisation_id: organisation.as_ref().map(|o| o.id),
            created_at: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name, role, organisation_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_str().to_owned())
        .bind(new.password_hash.clone())
        .bind(user.display_name.as_str().to_owned())
        .bind(user.role.as_str())
        .bind(user.organisation_id.map(|u| u.to_string()))
        .bind(user.created_at.to_stored())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_unique("email"))?;
        let ctx = AuditContext {
            actor_user_id: ctx.actor_user_id.or(Some(user.id)),
            ..ctx.clone()
        };
        audit::record(
            &mut Conn::Sqlx(&mut tx),
            &ctx,
            Change {
                action: "user.create",
                entity_type: "user",
                entity_id: user.id.to_string(),
                before: None,
                after: Some(&user),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Account { user, organisation })
    }

    pub async fn account(&self, user_id: Uuid) -> StoreResult<Account> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        let user: User = row
            .ok_or(StoreError::NotFound { entity: "user" })?
            .try_into()?;
        self.with_organisation(user).await
    }

    pub(crate) async fn with_organisation(&self, user: User) -> StoreResult<Account> {
        let organisation = match user.organisation_id {
            Some(id) => Some(self.organisation(id).await?),
            None => None,
        };
        Ok(Account { user, organisation })
    }

    /// The user with this e-mail and their password hash, for signing in.
    pub async fn find_credentials(&self, email: &Email) -> StoreResult<Option<(User, String)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str().to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.user.try_into()?, r.password_hash)))
            .transpose()
    }
}
