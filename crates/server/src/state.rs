use crate::config::Config;
use metrics_exporter_prometheus::PrometheusHandle;
use pavilion_store::Store;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
}
