//! Cookie sessions kept in the database through `tower-sessions`, so that a session made by one
//! server process is honoured by every other sharing the database.

use crate::sql;
use crate::{Store, StoreResult};
use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

#[derive(Debug, Clone)]
pub struct DatabaseSessionStore {
    store: Store,
}

impl DatabaseSessionStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// A session's row: id, data, expiry (Unix seconds).
type SessionRow = (String, String, i64);

impl DatabaseSessionStore {
    /// Runs `statement` (binding the row's three values) as a write; how many rows it changed.
    async fn write_row(&self, statement: &'static str, row: SessionRow) -> StoreResult<u64> {
        self.store
            .write(row, move |tx, (id, data, expires_at)| {
                Box::pin(async move {
                    let done = sql::query(statement)
                        .bind(id)
                        .bind(data)
                        .bind(*expires_at)
                        .execute(tx)
                        .await?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }

    /// Runs the `DELETE` `statement` with one bound value.
    async fn delete_where(&self, statement: &'static str, value: sql::Arg) -> StoreResult<()> {
        self.store
            .write(value, move |tx, value| {
                Box::pin(async move {
                    sql::query(statement)
                        .bind(value.clone())
                        .execute(tx)
                        .await?;
                    Ok(())
                })
            })
            .await
    }
}

#[async_trait]
impl SessionStore for DatabaseSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are random 128-bit values; a collision is astronomically rare but must not let one
        // visitor inherit another's session, hence DO NOTHING and a fresh id.
        loop {
            let row = (
                record.id.to_string(),
                encode(record)?,
                record.expiry_date.unix_timestamp(),
            );
            let inserted = self
                .write_row(
                    "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO NOTHING",
                    row,
                )
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = (
            record.id.to_string(),
            encode(record)?,
            record.expiry_date.unix_timestamp(),
        );
        self.write_row(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
            row,
        )
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut reader = self.store.reader().await.map_err(backend)?;
        let row: Option<(String, i64)> = sql::query_as(
            "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id.to_string())
        .bind(OffsetDateTime::now_utc().unix_timestamp())
        .fetch_optional(&mut reader)
        .await
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.delete_where("DELETE FROM sessions WHERE id = $1", id.to_string().into())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DatabaseSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.delete_where(
            "DELETE FROM sessions WHERE expires_at <= $1",
            OffsetDateTime::now_utc().unix_timestamp().into(),
        )
        .await
        .map_err(backend)
    }
}
