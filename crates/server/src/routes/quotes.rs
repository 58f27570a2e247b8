//! Landed-cost quotes: every cost of crossing the border, each figure naming its rule, stored
//! with an expiry so that checkout charges exactly what the buyer saw.

use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::fx::MAX_RATE_AGE_DAYS;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_domain::Currency;
use pavilion_domain::fx::FxError;
use pavilion_domain::landed_cost::{Quote, QuoteError, QuoteInput, RuleBook, quote};
use pavilion_domain::money::ExchangeRate;
use pavilion_store::quotes::StoredQuote;
use pavilion_store::{StoreResult, Timestamp};
use serde::Serialize;
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

/// Rates a single quote may look up before giving up (a quote needs a handful at most).
const MAX_RATE_LOOKUPS: usize = 8;

/// What the quote endpoints answer: the stored quote's fields first, then the quote itself.
/// Documented here; sent as text spliced around the quote's stored JSON, which is serialised
/// once per quote (quotes are large, and this is a hot path).
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteResponse {
    pub id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// True once the quote may no longer be used at checkout.
    pub expired: bool,
    /// The quote's own fields (`regime`, `lines`, `totals`, `explanation`, `rules`, …) follow
    /// at the top level — see docs/landed-cost.md.
    #[serde(flatten)]
    #[schema(value_type = Quote)]
    pub quote: serde_json::Value,
}

/// The response body for a stored quote, as JSON text.
fn response(q: &StoredQuote) -> Response {
    #[derive(Serialize)]
    struct Head<'a> {
        id: Uuid,
        expires_at: &'a Timestamp,
        expired: bool,
    }
    let head = Head {
        id: q.id,
        expires_at: &q.expires_at,
        expired: q.expires_at <= Timestamp::now(),
    };
    let head = serde_json::to_string(&head).unwrap_or_default();
    let rest = q
        .output
        .trim_start()
        .strip_prefix('{')
        .unwrap_or("}")
        .trim_start();
    let mut body = String::with_capacity(head.len() + q.output.len());
    body.push_str(&head[..head.len() - 1]);
    if !rest.starts_with('}') {
        body.push(',');
    }
    body.push_str(rest);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn problem(err: &QuoteError) -> ApiError {
    ApiError::invalid(err.field().to_owned(), err.to_string())
}

/// Where a quote's missing exchange rates come from: the store, through the server's cache or not.
pub trait RateSource {
    fn rate(
        &self,
        from: Currency,
        to: Currency,
        on: Date,
    ) -> impl Future<Output = StoreResult<Result<ExchangeRate, FxError>>> + Send;
}

impl RateSource for AppState {
    fn rate(
        &self,
        from: Currency,
        to: Currency,
        on: Date,
    ) -> impl Future<Output = StoreResult<Result<ExchangeRate, FxError>>> + Send {
        self.fx_rate(from, to, on, MAX_RATE_AGE_DAYS)
    }
}

impl RateSource for pavilion_store::Store {
    fn rate(
        &self,
        from: Currency,
        to: Currency,
        on: Date,
    ) -> impl Future<Output = StoreResult<Result<ExchangeRate, FxError>>> + Send {
        self.exchange_rate(from, to, on, MAX_RATE_AGE_DAYS)
    }
}

/// Computes a quote, looking up every exchange rate the engine asks for that the input did not
/// bring (dated to the quote's day; a missing rate is an error naming the pair). Returns the input
/// as completed with the rates used, and the quote.
pub async fn compute(
    book: &RuleBook,
    mut input: QuoteInput,
    rates: &impl RateSource,
) -> ApiResult<(QuoteInput, Quote)> {
    for _ in 0..=MAX_RATE_LOOKUPS {
        match quote(book, &input) {
            Ok(q) => return Ok((input, q)),
            Err(QuoteError::MissingRate { from, to }) => {
                let found = rates.rate(from, to, input.date).await?;
                input
                    .rates
                    .push(found.map_err(|e| ApiError::invalid("currency", e.to_string()))?);
            }
            Err(e) => return Err(problem(&e)),
        }
    }
    Err(ApiError::invalid(
        "rates",
        "the quote needs more exchange rates than one quote may look up",
    ))
}

/// Quote the landed cost of an order and keep the quote for checkout.
#[utoipa::path(post, path = "/quotes", tag = "quotes",
    request_body(content = QuoteInput, description = "What to quote — see docs/landed-cost.md"),
    description = "Permission: public (carts of guests are quoted too).",
    responses(
        (status = 201, body = QuoteResponse),
        (status = 400, body = Problem),
        (status = 422, description = "Invalid input, no rule for a line, a refused regime, or a missing exchange rate; `field` names it", body = Problem)))]
pub async fn create_quote(
    State(state): State<AppState>,
    caller: Option<crate::auth::Caller>,
    ApiJson(input): ApiJson<QuoteInput>,
) -> ApiResult<Response> {
    let book = state.rules.current();
    let (input, quote) = compute(&book, input, &state).await?;
    let input = serde_json::to_string(&input).map_err(|e| ApiError::internal(&e))?;
    let output = serde_json::to_string(&quote).map_err(|e| ApiError::internal(&e))?;
    let ttl = time::Duration::minutes(state.config.quote_ttl_minutes);
    let expires_at = Timestamp::now()
        .checked_add(ttl)
        .unwrap_or_else(Timestamp::now);
    let quote = StoredQuote::new(caller.map(|c| c.user_id()), expires_at, input, output);
    let stored = state.quotes.save(quote).await?;
    let mut created = response(&stored);
    *created.status_mut() = StatusCode::CREATED;
    Ok(created)
}

/// A stored quote.
#[utoipa::path(get, path = "/quotes/{id}", tag = "quotes", params(("id" = Uuid, Path)),
    description = "Permission: public (quote ids are unguessable).",
    responses((status = 200, body = QuoteResponse), (status = 404, body = Problem)))]
pub async fn get_quote(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    Ok(response(&state.store.quote(id).await?))
}
