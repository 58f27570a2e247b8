//! Probes and metrics. Public: they reveal nothing but liveness and counters.

use crate::problem::{ApiError, ProblemKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    description = "Permission: public.",
    responses((status = 200, description = "The server is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    description = "Permission: public.",
    responses(
        (status = 200, description = "Ready to serve", body = String),
        (status = 503, description = "The database does not answer", body = crate::problem::Problem)))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        let mut err = ApiError::new(ProblemKind::Unavailable, "the database does not answer");
        err.retry_after = Some(1);
        err
    })?;
    Ok("ready")
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    description = "Permission: public (restrict at the proxy if needed).",
    responses((status = 200, description = "Prometheus text format", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
