//! Secrets made once and shared by every process through the database.

use crate::{Store, StoreResult, Timestamp};

impl Store {
    /// The secret called `name`, made from `fresh` the first time it is asked for (the first
    /// process to ask wins; every process then reads the same value).
    pub async fn server_secret(&self, name: &str, fresh: String) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(fresh)
        .bind(Timestamp::now().to_stored())
        .execute(self.pool())
        .await?;
        let (value,): (String,) =
            sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name.to_owned())
                .fetch_one(self.pool())
                .await?;
        Ok(value)
    }
}
