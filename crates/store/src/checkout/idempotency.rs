//! Idempotency keys: a request sent again with the same key (by the same caller) gets the first
//! answer back instead of being done twice; the same key with another request is refused.
//!
//! The key is claimed in the transaction that does the work, before the work: a second request
//! with the key waits on the first one's row (PostgreSQL) or its write lock (SQLite), then finds
//! the answer the first one recorded.

use super::payments::Recorded;
use crate::sql::{self, Conn};
use crate::{StoreError, StoreResult, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Whose key it is: a user id, or a cart/order token for guests.
    pub scope: String,
    pub key: String,
    /// A digest of the request (method, path and body) the key was first used with.
    pub request_hash: String,
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub status: u16,
    pub body: String,
}

/// Claims the key; returns the recorded answer when the key was already used for this request.
pub(crate) async fn claim(tx: &mut Conn, claim: &IdempotencyClaim) -> StoreResult<Option<Replay>> {
    let inserted = sql::query(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status_code, response_body, created_at) \
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(claim.scope.clone())
    .bind(claim.key.clone())
    .bind(claim.request_hash.clone())
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let (hash, status, body): (String, i64, String) = sql::query_as(
        "SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(claim.scope.clone())
    .bind(claim.key.clone())
    .fetch_one(tx)
    .await?;
    if hash != claim.request_hash {
        return Err(StoreError::IdempotencyMismatch);
    }
    Ok(Some(Replay {
        status: u16::try_from(status).map_err(|e| StoreError::corrupt("idempotency_keys", e))?,
        body,
    }))
}

/// Records the answer to a claimed key, in the transaction that did the work.
pub(crate) async fn record(
    tx: &mut Conn,
    claim: &IdempotencyClaim,
    status: u16,
    body: &str,
) -> StoreResult<()> {
    sql::query(
        "UPDATE idempotency_keys SET status_code = $1, response_body = $2 WHERE scope = $3 AND idem_key = $4",
    )
    .bind(i64::from(status))
    .bind(body.to_owned())
    .bind(claim.scope.clone())
    .bind(claim.key.clone())
    .execute(tx)
    .await?;
    Ok(())
}

/// Does `work` once per key, inside the caller's transaction: a key already used gets its
/// recorded answer back; otherwise `work` runs and its result, as `render` writes it, becomes
/// the key's answer. Without a key, `work` just runs.
pub(crate) async fn once<T>(
    tx: &mut Conn,
    key: Option<&IdempotencyClaim>,
    render: fn(&T) -> (u16, String),
    work: impl AsyncFnOnce(&mut Conn) -> StoreResult<T>,
) -> StoreResult<Recorded<T>> {
    if let Some(key) = key
        && let Some(replay) = claim(tx, key).await?
    {
        return Ok(Recorded::Replay(replay));
    }
    let value = work(tx).await?;
    if let Some(key) = key {
        let (status, body) = render(&value);
        record(tx, key, status, &body).await?;
    }
    Ok(Recorded::New(value))
}
