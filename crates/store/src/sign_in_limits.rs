//! Failed sign-ins, counted in the database so that throttling holds across server processes.

use crate::sql;
use crate::{Store, StoreResult, Timestamp};
use pavilion_domain::text::Email;
use time::Duration;

/// Recent failures against one address and from one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentFailures {
    pub for_email: u32,
    pub from_client: u32,
}

impl Store {
    pub async fn recent_sign_in_failures(
        &self,
        email: &Email,
        client_ip: &str,
        window: Duration,
    ) -> StoreResult<RecentFailures> {
        let now = Timestamp::now();
        let since = now.checked_sub(window).unwrap_or(now).to_stored();
        let (for_email, from_client): (i64, i64) = sql::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM sign_in_failures WHERE email = $1 AND at > $3), \
               (SELECT COUNT(*) FROM sign_in_failures WHERE client_ip = $2 AND at > $3)",
        )
        .bind(email.as_str().to_owned())
        .bind(client_ip.to_owned())
        .bind(since)
        .fetch_one(&mut self.reader().await?)
        .await?;
        let clamp = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(RecentFailures {
            for_email: clamp(for_email),
            from_client: clamp(from_client),
        })
    }

    /// Records a failure and forgets those older than `window`, which keeps the table small.
    pub async fn record_sign_in_failure(
        &self,
        email: &Email,
        client_ip: &str,
        window: Duration,
    ) -> StoreResult<()> {
        let now = Timestamp::now();
        let failure = (
            email.as_str().to_owned(),
            client_ip.to_owned(),
            now.to_stored(),
            now.checked_sub(window).unwrap_or(now).to_stored(),
        );
        self.write(failure, |tx, (email, client_ip, at, forgotten)| {
            Box::pin(async move {
                sql::query(
                    "INSERT INTO sign_in_failures (email, client_ip, at) VALUES ($1, $2, $3)",
                )
                .bind(email)
                .bind(client_ip)
                .bind(at)
                .execute(tx)
                .await?;
                sql::query("DELETE FROM sign_in_failures WHERE at <= $1")
                    .bind(forgotten)
                    .execute(tx)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// A successful sign-in forgives the address's earlier failures.
    pub async fn clear_sign_in_failures(&self, email: &Email) -> StoreResult<()> {
        self.write(email.as_str().to_owned(), |tx, email| {
            Box::pin(async move {
                sql::query("DELETE FROM sign_in_failures WHERE email = $1")
                    .bind(email)
                    .execute(tx)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
