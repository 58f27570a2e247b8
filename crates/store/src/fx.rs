//! Exchange rates by day.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::{currency, date_text, parse_date};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Currency;
use pavilion_domain::fx::{FxError, RateObservation, resolve};
use pavilion_domain::money::ExchangeRate;
use std::sync::Arc;
use time::Date;

/// Rows per INSERT statement: few round trips, well under every backend's parameter limit.
const BATCH: usize = 200;

row_struct! {
    struct RateRow {
        date: String,
        base: String,
        quote: String,
        rate: String,
        source: String,
    }
}

/// Hears how many rows each batch of an import wrote (from the thread that writes them).
pub type ImportProgress = Arc<dyn Fn(usize) + Send + Sync>;

impl Store {
    /// Stores every rate in one transaction (all or nothing), replacing a day's earlier rate for
    /// the same pair. `progress` is told how many rows are written after each batch.
    pub async fn import_rates(
        &self,
        ctx: &AuditContext,
        rates: &[RateObservation],
        progress: impl Fn(usize) + Send + Sync + 'static,
    ) -> StoreResult<usize> {
        let progress: ImportProgress = Arc::new(progress);
        self.write(
            (ctx.clone(), rates.to_vec(), progress),
            |tx, (ctx, rates, progress)| Box::pin(import_rates_in(tx, ctx, rates, progress)),
        )
        .await
    }

    /// Rates published from `on - max_age_days` to `on`.
    pub async fn rates_near(
        &self,
        on: Date,
        max_age_days: i64,
    ) -> StoreResult<Vec<RateObservation>> {
        let oldest = on - time::Duration::days(max_age_days);
        let rows: Vec<RateRow> = sql::query_as(
            "SELECT date, base, quote, rate, source FROM fx_rates WHERE date <= $1 AND date >= $2",
        )
        .bind(date_text(on))
        .bind(date_text(oldest))
        .fetch_all(&mut self.reader().await?)
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

async fn import_rates_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    rates: &[RateObservation],
    progress: &ImportProgress,
) -> StoreResult<usize> {
    let now = Timestamp::now().to_stored();
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
        let mut query = sql::query(&sql);
        for r in chunk {
            query = query
                .bind(date_text(r.date))
                .bind(r.base.code())
                .bind(r.quote.code())
                .bind(r.rate.to_string())
                .bind(&r.source)
                .bind(&now);
        }
        query.execute(tx).await?;
        progress(chunk.len());
    }
    let first = rates.iter().map(|r| r.date).min();
    let last = rates.iter().map(|r| r.date).max();
    audit::record(
        tx,
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
    Ok(rates.len())
}
