//! Exchange rates: importing published files, and the rate a conversion on a day uses.

use crate::auth::{Admin, Caller};
use crate::extract::{ApiQuery, CsvBody, file_problem};
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::state::AppState;
use axum::extract::State;
use pavilion_domain::Currency;
use pavilion_domain::fx::{parse_ecb_csv, parse_rates_csv};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

/// How old a rate may be for a conversion: covers weekends and holidays of daily publishers.
pub const MAX_RATE_AGE_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateFormat {
    /// The European Central Bank's reference-rate CSV.
    Ecb,
    /// `date,base,quote,rate[,source]`.
    Simple,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    #[param(value_type = String)]
    pub format: RateFormat,
    /// Publisher named on simple-format rates that do not name one.
    pub source: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportSummary {
    pub imported: usize,
    pub skipped_columns: Vec<String>,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
}

/// Import a rate file (CSV body); all rows or none.
#[utoipa::path(post, path = "/fx-rates", tag = "fx", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ImportSummary), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 415, body = Problem), (status = 422, description = "Bad lines, each listed in `errors`", body = Problem)))]
pub async fn import_rates(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    CsvBody(text): CsvBody,
) -> ApiResult<axum::Json<ImportSummary>> {
    let parsed = match q.format {
        RateFormat::Ecb => parse_ecb_csv(&text),
        RateFormat::Simple => parse_rates_csv(&text, q.source.as_deref().unwrap_or("imported")),
    }
    .map_err(file_problem)?;
    let imported = state
        .store
        .import_rates(&admin.audit(), &parsed.rates, |_| {})
        .await?;
    state.forget_rates();
    Ok(axum::Json(ImportSummary {
        imported,
        skipped_columns: parsed.skipped_columns,
        first_date: parsed.rates.iter().map(|r| r.date).min(),
        last_date: parsed.rates.iter().map(|r| r.date).max(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RateQuery {
    #[param(value_type = String, example = "USD")]
    pub from: Currency,
    #[param(value_type = String, example = "CNY")]
    pub to: Currency,
    /// The day of the conversion (default today, UTC).
    pub date: Option<Date>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateView {
    #[schema(value_type = String)]
    pub from: Currency,
    #[schema(value_type = String)]
    pub to: Currency,
    /// How many `to` units one `from` unit buys, exact.
    pub rate: String,
    /// The published rates used and their date.
    pub source: String,
}

/// The rate a conversion on a day uses: the latest published on or up to 7 days before it,
/// direct, inverted or crossed through a common base.
#[utoipa::path(get, path = "/fx-rates/rate", tag = "fx", params(RateQuery),
    description = "Permission: any signed-in user.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = RateView), (status = 401, body = Problem),
        (status = 404, description = "No rate for the pair near that day", body = Problem),
        (status = 422, body = Problem)))]
pub async fn rate(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<RateQuery>,
) -> ApiResult<axum::Json<RateView>> {
    let on = q.date.unwrap_or_else(crate::routes::programmes::today);
    let rate = state
        .store
        .exchange_rate(q.from, q.to, on, MAX_RATE_AGE_DAYS)
        .await?
        .map_err(|e| ApiError::new(ProblemKind::NotFound, e.to_string()).with_field("to"))?;
    Ok(axum::Json(RateView {
        from: rate.base(),
        to: rate.quote(),
        rate: rate.rate().normalize().to_string(),
        source: rate.source().unwrap_or_default().to_owned(),
    }))
}
