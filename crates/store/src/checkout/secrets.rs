//! Secrets made once and shared by every process through the database.

use crate::sql;
use crate::{Store, StoreResult, Timestamp};

impl Store {
    /// The secret called `name`, made from `fresh` the first time it is asked for (the first
    /// process to ask wins; every process then reads the same value).
    pub async fn server_secret(&self, name: &str, fresh: String) -> StoreResult<String> {
        self.write((name.to_owned(), fresh), |tx, (name, fresh)| {
            Box::pin(async move {
                sql::query(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(fresh)
                .bind(Timestamp::now().to_stored())
                .execute(tx)
                .await?;
                let (value,): (String,) =
                    sql::query_as("SELECT value FROM server_secrets WHERE name = $1")
                        .bind(name)
                        .fetch_one(tx)
                        .await?;
                Ok(value)
            })
        })
        .await
    }
}
