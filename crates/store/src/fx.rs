//! Exchange rates by day.

use crate::audit::{self, AuditContext, Change};
use crate::sql::Conn;
use crate::values::{currency, date_text, parse_date};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Currency;
use pavilion_domain::fx::{FxError, RateObservation, resolve};
use pavilion_domain::money::ExchangeRate;
use sqlx::FromRow;
use time::Date;

/// Rows per INSERT statement: few round trips, well under every backend's parameter limit.
const BATCH: usize = 200;

#[derive(FromRow)]
struct RateRow {
    date: String,
    base: String,
    quote: String,
    rate: String,
    source: String,
}

impl Store {
    /// Stores every rate in one transaction (all or nothing), replacing a day's earlier rate for
    /// the same pair. `progress` is told how many rows are written after each batch.
    pub async fn import_rates(
        &self,
        ctx: &AuditContext,
        rates: &[RateObservation],
        mut progress: impl FnMut(usize),
    ) -> StoreResult<usize> {
        let now = Timestamp::now().to_stored();
        let mut tx = self.begin_write().await?;
        for chunk in rates.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO fx_rates (date, base, quote, rate, source, imported_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let p = i * 6;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                ));
            }
            sql.push_str(
                " ON CONFLICT (date, base, quote) DO UPDATE SET rate = excluded.rate, source = excluded.source, \
                 imported_at = excluded.imported_at",
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                query = query
                    .bind(date_text(r.date))
                    .bind(r.base.code())
                    .bind(r.quote.code())
                    .bind(r.rate.to_string())
                    .bind(r.source.clone())
                    .bind(now.clone());
            }
            query.execute(&mut *tx).await?;
            progress(chunk.len());
        }
        let first = rates.iter().map(|r| r.date).min();
        let last = rates.iter().map(|r| r.date).max();
        audit::record(
            &mut Conn::Sqlx(&mut tx),
            ctx,
            Change {
                action: "fx_rates.import",
                entity_type: "fx_rates",
                entity_id: first.map(date_text).unwrap_or_default(),
                before: None,
                after: Some(&serde_json::json!({
                    "rates": rates.len(), "from": first.map(date_text), "to": last.map(date_text)
                })),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(rates.len())
    }

    /// Rates published from `on - max_age_days` to `on`.
    pub async fn rates_near(
        &self,
        on: Date,
        max_age_days: i64,
    ) -> StoreResult<Vec<RateObservation>> {
        let oldest = on - time::Duration::days(max_age_days);
        let rows: Vec<RateRow> = sqlx::query_as(
            "SELECT date, base, quote, rate, source FROM fx_rates WHERE date <= $1 AND date >= $2",
        )
        .bind(date_text(on))
        .bind(date_text(oldest))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(RateObservation {
                    date: parse_date("fx_rates", &r.date)?,
                    base: currency("fx_rates", &r.base)?,
                    quote: currency("fx_rates", &r.quote)?,
                    rate: r
                        .rate
                        .parse()
                        .map_err(|e| StoreError::corrupt("fx_rates", e))?,
                    source: r.source,
                })
            })
            .collect()
    }

    /// The rate a conversion on `on` uses (see [`pavilion_domain::fx::resolve`]).
    pub async fn exchange_rate(
        &self,
        from: Currency,
        to: Currency,
        on: Date,
        max_age_days: i64,
    ) -> StoreResult<Result<ExchangeRate, FxError>> {
        let rates = self.rates_near(on, max_age_days).await?;
        Ok(resolve(&rates, from, to, on, max_age_days))
    }
}
