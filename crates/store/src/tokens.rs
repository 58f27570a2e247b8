//! Bearer API tokens. Only a hash of each token is stored: a database leak reveals no token.

use crate::accounts::Account;
use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::{Store, StoreError, StoreResult, Timestamp};
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The first characters of the token, so its owner can tell tokens apart.
    pub prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: Uuid,
    pub name: String,
    pub token_hash: String,
    pub prefix: String,
    pub expires_at: Option<Timestamp>,
}

row_struct! {
    struct TokenRow {
        id: String,
        user_id: String,
        name: String,
        prefix: String,
        created_at: String,
        expires_at: Option<String>,
        last_used_at: Option<String>,
        revoked_at: Option<String>,
    }
}

const TOKEN_COLUMNS: &str =
    "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at";

/// How stale `last_used_at` may get before a use refreshes it: one write a minute per token
/// instead of one per request.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> StoreResult<Self> {
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt("api_tokens", e);
        let ts = |s: Option<String>| {
            s.map(|s| Timestamp::from_stored(&s))
                .transpose()
                .map_err(|e| bad(&e))
        };
        Ok(ApiToken {
            id: r.id.parse().map_err(|e| bad(&e))?,
            user_id: r.user_id.parse().map_err(|e| bad(&e))?,
            name: r.name,
            prefix: r.prefix,
            created_at: Timestamp::from_stored(&r.created_at).map_err(|e| bad(&e))?,
            expires_at: ts(r.expires_at)?,
            last_used_at: ts(r.last_used_at)?,
            revoked_at: ts(r.revoked_at)?,
        })
    }
}

impl Store {
    pub async fn create_api_token(
        &self,
        ctx: &AuditContext,
        new: &NewApiToken,
    ) -> StoreResult<ApiToken> {
        let token = ApiToken {
            id: Uuid::now_v7(),
            user_id: new.user_id,
            name: new.name.clone(),
            prefix: new.prefix.clone(),
            created_at: Timestamp::now(),
            expires_at: new.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let state = (token, new.token_hash.clone(), ctx.clone());
        self.write(state, |tx, (token, token_hash, ctx)| {
            Box::pin(async move {
                sql::query(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(token.id.to_string())
                .bind(token.user_id.to_string())
                .bind(&token.name)
                .bind(token_hash)
                .bind(&token.prefix)
                .bind(token.created_at.to_stored())
                .bind(token.expires_at.map(Timestamp::to_stored))
                .execute(tx)
                .await
                .map_err(StoreError::unique_as("token"))?;
                audit::record(
                    tx,
                    ctx,
                    Change::created("api_token.create", "api_token", token.id.to_string(), token),
                )
                .await?;
                Ok(token.clone())
            })
        })
        .await
    }

    /// The user's tokens, newest first, revoked ones included (they show when they were revoked).
    pub async fn list_api_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC");
        let rows: Vec<TokenRow> = sql::query_as(&sql)
            .bind(user_id.to_string())
            .fetch_all(&mut self.reader().await?)
            .await?;
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    /// Revokes one of the user's tokens. Another user's token is reported as not found, so its
    /// existence is not revealed.
    pub async fn revoke_api_token(
        &self,
        ctx: &AuditContext,
        user_id: Uuid,
        token_id: Uuid,
    ) -> StoreResult<ApiToken> {
        let state = (user_id, token_id, ctx.clone());
        self.write(state, |tx, (user_id, token_id, ctx)| {
            Box::pin(revoke_in(tx, ctx, *user_id, *token_id))
        })
        .await
    }

    /// The account behind a live (unrevoked, unexpired) token with this hash.
    pub async fn account_for_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(Uuid, Account)>> {
        let now = Timestamp::now();
        let row: Option<(String, String, Option<String>)> = sql::query_as(
            "SELECT id, user_id, last_used_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token_hash)
        .bind(now.to_stored())
        .fetch_optional(&mut self.reader().await?)
        .await?;
        let Some((token_id, user_id, last_used)) = row else {
            return Ok(None);
        };
        let cutoff = now
            .checked_sub(LAST_USED_GRANULARITY)
            .unwrap_or(now)
            .to_stored();
        if last_used.is_none_or(|t| t < cutoff) {
            self.write(
                (now.to_stored(), token_id.clone()),
                |tx, (now, token_id)| {
                    Box::pin(async move {
                        sql::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                            .bind(now)
                            .bind(token_id)
                            .execute(tx)
                            .await?;
                        Ok(())
                    })
                },
            )
            .await?;
        }
        let bad = |e: uuid::Error| StoreError::corrupt("api_tokens", e);
        let account = self.account(user_id.parse().map_err(bad)?).await?;
        Ok(Some((token_id.parse().map_err(bad)?, account)))
    }
}

/// Revokes the user's token (once: a revoked token is answered as it is).
async fn revoke_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    user_id: Uuid,
    token_id: Uuid,
) -> StoreResult<ApiToken> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 AND user_id = $2");
    let row: Option<TokenRow> = sql::query_as(&sql)
        .bind(token_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(tx)
        .await?;
    let before: ApiToken = row
        .ok_or(StoreError::NotFound {
            entity: "api token",
        })?
        .try_into()?;
    if before.revoked_at.is_some() {
        return Ok(before);
    }
    let after = ApiToken {
        revoked_at: Some(Timestamp::now()),
        ..before.clone()
    };
    sql::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(after.revoked_at.map(Timestamp::to_stored))
        .bind(token_id.to_string())
        .execute(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "api_token.revoke",
            entity_type: "api_token",
            entity_id: token_id.to_string(),
            before: Some(&before),
            after: Some(&after),
        },
    )
    .await?;
    Ok(after)
}
