//! Organisations and users.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Country;
use pavilion_domain::accounts::{OrganisationKind, OrganisationScope, Role};
use pavilion_domain::text::{Email, Name};
use serde::Serialize;
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

row_struct! {
    struct OrganisationRow {
        id: String,
        kind: String,
        name: String,
        country: String,
        version: i64,
        created_at: String,
        updated_at: String,
    }
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

row_struct! {
    struct UserRow {
        id: String,
        email: String,
        display_name: String,
        role: String,
        organisation_id: Option<String>,
        created_at: String,
    }
}

row_struct! {
    /// A user's row with the password hash, for signing in.
    struct CredentialsRow {
        id: String,
        email: String,
        display_name: String,
        role: String,
        organisation_id: Option<String>,
        created_at: String,
        password_hash: String,
    }
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
    tx: &mut Conn,
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
    sql::query(
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
    .execute(tx)
    .await?;
    audit::record(
        tx,
        ctx,
        Change::created(
            "organisation.create",
            "organisation",
            org.id.to_string(),
            &org,
        ),
    )
    .await?;
    Ok(org)
}

pub(crate) async fn organisation_in(conn: &mut Conn, id: Uuid) -> StoreResult<Organisation> {
    let sql = format!("SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE id = $1");
    let row: Option<OrganisationRow> = sql::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
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
        self.write((ctx.clone(), new.clone()), |tx, (ctx, new)| {
            Box::pin(insert_organisation(tx, ctx, new))
        })
        .await
    }

    pub async fn organisation(&self, id: Uuid) -> StoreResult<Organisation> {
        organisation_in(&mut self.reader().await?, id).await
    }

    /// The names of these organisations (unknown ids are left out).
    pub async fn organisation_names(
        &self,
        ids: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<Uuid, String>> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        let mut reader = self.reader().await?;
        for chunk in ids.chunks(500) {
            let list = crate::values::placeholders(1, chunk.len());
            let sql = format!("SELECT id, name FROM organisations WHERE id IN ({list})");
            let mut query = sql::query_as::<(String, String)>(&sql);
            for id in chunk {
                query = query.bind(id.to_string());
            }
            for (id, name) in query.fetch_all(&mut reader).await? {
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
        let rows: Vec<OrganisationRow> = sql::query_as(&sql)
            .bind(kind.map(|k| k.as_str()))
            .bind(country.map(|c| c.code().to_owned()))
            .bind(after.map(|u| u.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&mut self.reader().await?)
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
        let state = (
            ctx.clone(),
            self.backend(),
            id,
            expected_version,
            changes.clone(),
        );
        self.write(
            state,
            |tx, (ctx, backend, id, expected_version, changes)| {
                Box::pin(update_organisation_in(
                    tx,
                    ctx,
                    *backend,
                    *id,
                    *expected_version,
                    changes,
                ))
            },
        )
        .await
    }

    /// Creates a user (and, for a founder, their organisation) in one transaction.
    pub async fn create_user(&self, ctx: &AuditContext, new: &NewUser) -> StoreResult<Account> {
        self.write((ctx.clone(), new.clone()), |tx, (ctx, new)| {
            Box::pin(create_user_in(tx, ctx, new))
        })
        .await
    }

    pub async fn account(&self, user_id: Uuid) -> StoreResult<Account> {
        let mut reader = self.reader().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = sql::query_as(&sql)
            .bind(user_id.to_string())
            .fetch_optional(&mut reader)
            .await?;
        let user: User = row
            .ok_or(StoreError::NotFound { entity: "user" })?
            .try_into()?;
        let organisation = match user.organisation_id {
            Some(id) => Some(organisation_in(&mut reader, id).await?),
            None => None,
        };
        Ok(Account { user, organisation })
    }

    /// The user with this e-mail and their password hash, for signing in.
    pub async fn find_credentials(&self, email: &Email) -> StoreResult<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        let row: Option<CredentialsRow> = sql::query_as(&sql)
            .bind(email.as_str())
            .fetch_optional(&mut self.reader().await?)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let user = UserRow {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            organisation_id: r.organisation_id,
            created_at: r.created_at,
        };
        Ok(Some((user.try_into()?, r.password_hash)))
    }
}

/// Applies profile changes (see [`Store::update_organisation`]).
async fn update_organisation_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: crate::Backend,
    id: Uuid,
    expected_version: Option<i64>,
    changes: &OrganisationChanges,
) -> StoreResult<Organisation> {
    let before = organisation_in(tx, id).await?;
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
    let updated = sql::query(
        "UPDATE organisations SET name = $1, country = $2, version = $3, updated_at = $4 \
         WHERE id = $5 AND version = $6",
    )
    .bind(after.name.as_str())
    .bind(after.country.code())
    .bind(after.version)
    .bind(after.updated_at.to_stored())
    .bind(id.to_string())
    .bind(before.version)
    .execute(tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::VersionMismatch {
            entity: "organisation",
            current: before.version + 1,
        });
    }
    if before.kind == OrganisationKind::Seller && after.country != before.country {
        // The seller's approvals now count for the pavilions of its new country (in code order,
        // one lock order between writers).
        let mut countries = [before.country, after.country];
        countries.sort_by_key(|c| c.code());
        for country in countries {
            crate::pavilions::recount_approved(tx, backend, country).await?;
        }
    }
    audit::record(
        tx,
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
    Ok(after)
}

/// Creates a user, and a founder's organisation (see [`Store::create_user`]).
async fn create_user_in(tx: &mut Conn, ctx: &AuditContext, new: &NewUser) -> StoreResult<Account> {
    let organisation = match &new.membership {
        Membership::None => None,
        Membership::Existing(id) => Some(organisation_in(tx, *id).await?),
        Membership::Found(org) => Some(insert_organisation(tx, ctx, org).await?),
    };
    let user = User {
        id: Uuid::now_v7(),
        email: new.email.clone(),
        display_name: new.display_name.clone(),
        role: new.role,
        organisation_id: organisation.as_ref().map(|o| o.id),
        created_at: Timestamp::now(),
    };
    sql::query(
        "INSERT INTO users (id, email, password_hash, display_name, role, organisation_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user.id.to_string())
    .bind(user.email.as_str())
    .bind(&new.password_hash)
    .bind(user.display_name.as_str())
    .bind(user.role.as_str())
    .bind(user.organisation_id.map(|u| u.to_string()))
    .bind(user.created_at.to_stored())
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("email"))?;
    let ctx = AuditContext {
        actor_user_id: ctx.actor_user_id.or(Some(user.id)),
        ..ctx.clone()
    };
    audit::record(
        tx,
        &ctx,
        Change::created("user.create", "user", user.id.to_string(), &user),
    )
    .await?;
    Ok(Account { user, organisation })
}
