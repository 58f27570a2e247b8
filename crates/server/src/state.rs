use crate::catalogue_index::Indexer;
use crate::config::Config;
use crate::rules::Rules;
use metrics_exporter_prometheus::PrometheusHandle;
use pavilion_domain::Currency;
use pavilion_domain::fx::FxError;
use pavilion_domain::money::ExchangeRate;
use pavilion_store::quotes::QuoteWriter;
use pavilion_store::{Store, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::Date;

/// How long a looked-up exchange rate is reused before asking the store again.
const RATE_CACHE_TTL: Duration = Duration::from_secs(60);

type RateKey = (Currency, Currency, Date);
/// When a rate was looked up, and what the store answered (a missing rate is cached too).
type CachedRate = (Instant, Result<ExchangeRate, FxError>);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub rules: Arc<Rules>,
    /// Stores quotes in batches (one commit for all quotes waiting).
    pub quotes: QuoteWriter,
    /// This process's search index of the catalogue.
    pub catalogue: Arc<Indexer>,
    rates: Arc<Mutex<HashMap<RateKey, CachedRate>>>,
    keys: Arc<tokio::sync::OnceCell<crate::checkout::keys::Keys>>,
}

impl AppState {
    pub fn new(
        store: Store,
        config: Config,
        metrics: PrometheusHandle,
        rules: Rules,
        catalogue: Indexer,
    ) -> Self {
        Self {
            store: store.clone(),
            config: Arc::new(config),
            metrics,
            rules: Arc::new(rules),
            quotes: QuoteWriter::spawn(store.clone()),
            catalogue: Arc::new(catalogue),
            rates: Arc::default(),
            keys: Arc::default(),
        }
    }

    /// The rate for a conversion on `on`, from a short-lived cache in front of the store: quotes
    /// ask for the same few pairs over and over.
    pub async fn fx_rate(
        &self,
        from: Currency,
        to: Currency,
        on: Date,
        max_age_days: i64,
    ) -> StoreResult<Result<ExchangeRate, FxError>> {
        let key = (from, to, on);
        if let Ok(cache) = self.rates.lock()
            && let Some((at, rate)) = cache.get(&key)
            && at.elapsed() < RATE_CACHE_TTL
        {
            return Ok(rate.clone());
        }
        let rate = self.store.exchange_rate(from, to, on, max_age_days).await?;
        if let Ok(mut cache) = self.rates.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), rate.clone()));
        }
        Ok(rate)
    }

    /// The platform's keys (made on first use, shared by every process through the store).
    pub async fn keys(&self) -> StoreResult<&crate::checkout::keys::Keys> {
        self.keys
            .get_or_try_init(|| crate::checkout::keys::Keys::load(&self.store))
            .await
    }

    /// Forgets cached rates (after an import in this process).
    pub fn forget_rates(&self) {
        if let Ok(mut cache) = self.rates.lock() {
            cache.clear();
        }
    }
}
