//! Carts: what a consumer (signed in, or a guest holding the cart's token) means to buy, priced
//! for its destination and currency with the landed-cost engine every time it is read or changed.

use crate::auth::Caller;
use crate::checkout::holder::{CartToken, Holder};
use crate::checkout::keys::{Keys, new_cart_token, same};
use crate::checkout::pricing::{self, PricedLine};
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::programmes::today;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::catalogue::ProductKind;
use pavilion_domain::landed_cost::{Quote, QuoteInput};
use pavilion_domain::{Country, Currency, Money};
use pavilion_store::Timestamp;
use pavilion_store::catalogue::Product;
use pavilion_store::checkout::carts::{Cart, CartLine};
use pavilion_store::quotes::StoredQuote;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    #[schema(value_type = String, example = "CN")]
    pub destination: Country,
    #[schema(value_type = String, example = "CNY")]
    pub currency: Currency,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub product_id: Uuid,
    /// Required for a product with variants.
    pub variant_sku: Option<String>,
    /// Required for a travel package: the departure.
    #[schema(value_type = Option<String>, format = Date)]
    pub departure_date: Option<Date>,
    /// Units or seats; 0 removes the line.
    pub quantity: u32,
}

/// One line as the buyer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub product_id: Uuid,
    pub seller_id: Uuid,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub departure_date: Option<Date>,
    pub quantity: u32,
    #[schema(value_type = pavilion_domain::openapi::MoneySchema)]
    pub unit_price: Money,
    /// For seats: the price in the cart's currency (goods are priced by the quote).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<pavilion_domain::openapi::MoneySchema>)]
    pub seats_amount: Option<Money>,
}

/// The quote of the cart's goods, kept for checkout until it expires.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartQuote {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub expires_at: Timestamp,
    /// The landed-cost quote: regime, lines, totals, explanation (see `POST /quotes`). Its
    /// stored JSON text, sent as it is.
    #[schema(value_type = Object)]
    pub quote: Box<serde_json::value::RawValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub destination: Country,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub checked_out: bool,
    pub version: i64,
    pub lines: Vec<LineView>,
    /// Absent when the cart has no goods, or when they cannot be quoted (see `quote_problem`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<CartQuote>,
    /// Why the goods could not be quoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_problem: Option<Problem>,
    /// Everything the buyer pays: the goods' landed total and the seats.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<pavilion_domain::openapi::MoneySchema>)]
    pub total: Option<Money>,
    /// Only in the answer that creates a guest's cart: send it as `X-Cart-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The cart, if the caller holds it: its owner, or whoever sends its token.
pub async fn held_cart(state: &AppState, id: Uuid, holder: &Holder<CartToken>) -> ApiResult<Cart> {
    let cart = state.store.cart(id).await?;
    let by_token = holder
        .token
        .as_deref()
        .is_some_and(|t| same(&Keys::token_hash(t), &cart.token_hash));
    let by_owner = holder
        .caller
        .as_ref()
        .is_some_and(|c| cart.owner_user_id == Some(c.user_id()));
    if !(by_token || by_owner) {
        return Err(ApiError::forbidden("this cart is someone else's"));
    }
    Ok(cart)
}

/// A cart priced now: its lines, its seats' amounts, and the quote of its goods, not yet stored
/// (an error here is the cart's `quote_problem`, not the request's).
struct Priced {
    lines: Vec<PricedLine>,
    seat_amounts: Vec<Money>,
    quote: ApiResult<Option<(QuoteInput, Quote)>>,
}

/// Prices the cart (`known`: a product just read).
async fn price(state: &AppState, cart: &Cart, known: Option<Product>) -> ApiResult<Priced> {
    let lines = pricing::lines_of(state, cart, known).await?;
    let today = today();
    let (seats, goods): (Vec<&PricedLine>, Vec<&PricedLine>) =
        lines.iter().partition(|l| l.is_seat());
    let seat_amounts = pricing::seats_total(state, cart, &seats, today).await?;
    let quote = pricing::quote_goods(state, cart, &goods, today, None).await;
    Ok(Priced {
        lines,
        seat_amounts,
        quote,
    })
}

/// Prices the cart and stores the quote of its goods (`known`: a product just read).
pub async fn view(
    state: &AppState,
    cart: Cart,
    caller: Option<&Caller>,
    known: Option<Product>,
) -> ApiResult<CartView> {
    let priced = price(state, &cart, known).await?;
    let quote = match &priced.quote {
        Ok(Some((input, q))) => Some(store_quote(state, caller, input, q).await?),
        _ => None,
    };
    Ok(render(cart, priced, quote))
}

/// The cart as the buyer sees it, with its quote as stored.
fn render(cart: Cart, priced: Priced, quote: Option<CartQuote>) -> CartView {
    let Priced {
        lines,
        seat_amounts,
        quote: quoted,
    } = priced;
    let (goods_total, quote_problem) = match &quoted {
        Ok(Some((_, q))) => (Some(q.totals.landed), None),
        Ok(None) => (None, None),
        Err(problem) => (None, Some(problem.problem())),
    };
    let has_goods = lines.iter().any(|l| !l.is_seat());
    let mut total = if !has_goods || goods_total.is_some() {
        Some(goods_total.unwrap_or_else(|| Money::zero(cart.currency)))
    } else {
        None
    };
    for amount in &seat_amounts {
        total = total.and_then(|t| t.checked_add(*amount).ok());
    }
    let mut seat_amounts = seat_amounts.into_iter();
    let line_views = lines
        .iter()
        .map(|l| LineView {
            product_id: l.product.id,
            seller_id: l.product.seller_id,
            title: l.title(),
            variant_sku: l.line.variant_sku.clone(),
            departure_date: l.line.departure_date,
            quantity: l.line.quantity,
            unit_price: l.unit_price,
            seats_amount: if l.is_seat() {
                seat_amounts.next()
            } else {
                None
            },
        })
        .collect();
    CartView {
        id: cart.id,
        destination: cart.destination,
        currency: cart.currency,
        checked_out: cart.checked_out,
        version: cart.version,
        lines: line_views,
        quote,
        quote_problem,
        total: if lines.is_empty() { None } else { total },
        token: None,
    }
}

/// Stores the quote of a cart's goods, to be used at checkout until it expires.
pub async fn store_quote(
    state: &AppState,
    caller: Option<&Caller>,
    input: &QuoteInput,
    quote: &Quote,
) -> ApiResult<CartQuote> {
    let stored = state
        .quotes
        .save(new_quote(state, caller, input, quote)?)
        .await?;
    cart_quote(stored)
}

/// A quote to store, with the configured time to live.
fn new_quote(
    state: &AppState,
    caller: Option<&Caller>,
    input: &QuoteInput,
    quote: &Quote,
) -> ApiResult<StoredQuote> {
    let input = serde_json::to_string(input).map_err(|e| ApiError::internal(&e))?;
    let output = serde_json::to_string(quote).map_err(|e| ApiError::internal(&e))?;
    let expires_at = Timestamp::now()
        .checked_add(time::Duration::minutes(state.config.quote_ttl_minutes))
        .unwrap_or_else(Timestamp::now);
    Ok(StoredQuote::new(
        caller.map(|c| c.user_id()),
        expires_at,
        input,
        output,
    ))
}

fn cart_quote(stored: StoredQuote) -> ApiResult<CartQuote> {
    Ok(CartQuote {
        id: stored.id,
        expires_at: stored.expires_at,
        quote: serde_json::value::RawValue::from_string(stored.output)
            .map_err(|e| ApiError::internal(&e))?,
    })
}

/// Start a cart for a destination and currency.
#[utoipa::path(post, path = "/carts", tag = "checkout", request_body = NewCart,
    description = "Permission: public. A signed-in caller owns the cart; a guest gets its token (send it as X-Cart-Token).",
    responses((status = 201, body = CartView), (status = 422, body = Problem)))]
pub async fn create_cart(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiJson(new): ApiJson<NewCart>,
) -> ApiResult<(StatusCode, axum::Json<CartView>)> {
    let (token, hash) = new_cart_token();
    let cart = state
        .store
        .create_cart(
            caller.as_ref().map(|c| c.user_id()),
            &hash,
            new.destination,
            new.currency,
        )
        .await?;
    let mut view = view(&state, cart, caller.as_ref(), None).await?;
    view.token = Some(token);
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The cart, priced now: a fresh landed-cost quote of its goods (kept for checkout) and its seats.
#[utoipa::path(get, path = "/carts/{id}", tag = "checkout", params(("id" = Uuid, Path)),
    description = "Permission: the cart's owner, or a guest with its X-Cart-Token.",
    security(("session" = []), ("bearer" = []), ("cart_token" = [])),
    responses((status = 200, body = CartView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_cart(
    State(state): State<AppState>,
    holder: Holder<CartToken>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<CartView>> {
    let cart = held_cart(&state, id, &holder).await?;
    Ok(axum::Json(
        view(&state, cart, holder.caller.as_ref(), None).await?,
    ))
}

/// Add, change or remove (quantity 0) a line; answers the cart priced anew.
#[utoipa::path(put, path = "/carts/{id}/lines", tag = "checkout", params(("id" = Uuid, Path)), request_body = LineRequest,
    description = "Permission: the cart's owner, or a guest with its X-Cart-Token.",
    security(("session" = []), ("bearer" = []), ("cart_token" = [])),
    responses((status = 200, body = CartView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "The cart is checked out", body = Problem),
        (status = 422, description = "The product cannot be bought here; `field` says why", body = Problem)))]
pub async fn set_line(
    State(state): State<AppState>,
    holder: Holder<CartToken>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<LineRequest>,
) -> ApiResult<axum::Json<CartView>> {
    let cart = held_cart(&state, id, &holder).await?;
    let caller = holder.caller;
    let line = CartLine {
        product_id: req.product_id,
        variant_sku: req.variant_sku,
        departure_date: req.departure_date,
        quantity: req.quantity,
    };
    if line.quantity > 9999 {
        return Err(ApiError::invalid("quantity", "at most 9999 per line"));
    }
    let mut known = None;
    if line.quantity > 0 {
        let product = match state.store.product(line.product_id).await {
            Err(pavilion_store::StoreError::NotFound { .. }) => {
                return Err(ApiError::invalid("product_id", "there is no such product"));
            }
            other => other?,
        };
        let index = cart
            .lines
            .iter()
            .position(|l| {
                l.product_id == line.product_id
                    && l.variant_sku == line.variant_sku
                    && l.departure_date == line.departure_date
            })
            .unwrap_or(cart.lines.len());
        let priced = pricing::resolve(index, &line, &product).map_err(unindexed)?;
        if product.draft.kind != ProductKind::TravelPackage {
            let d = &priced.product.draft;
            let access = crate::routes::market_access::decide_view(
                &state,
                d.origin,
                cart.destination,
                &d.hs,
                None,
            )
            .await?;
            if !access.allowed {
                return Err(ApiError::invalid(
                    "product_id",
                    access.reason.unwrap_or_else(|| {
                        format!("the product may not be sold into {}", cart.destination)
                    }),
                ));
            }
        }
        known = Some(priced.product);
    }
    // Priced and quoted as it will be, so that the line and its quote take one commit.
    let after = cart.with_line(&line);
    let priced = price(&state, &after, known).await?;
    let quote = match &priced.quote {
        Ok(Some((input, q))) => Some(new_quote(&state, caller.as_ref(), input, q)?),
        _ => None,
    };
    let (now, stored) = state
        .store
        .set_cart_line_quoted(&cart, &line, quote)
        .await?;
    if now.version != after.version {
        // Someone else changed the cart meanwhile: priced again as it is now.
        return Ok(axum::Json(view(&state, now, caller.as_ref(), None).await?));
    }
    let quote = stored.map(cart_quote).transpose()?;
    Ok(axum::Json(render(now, priced, quote)))
}

/// A line's problem, named by the request's own field rather than the cart's line index.
fn unindexed(err: ApiError) -> ApiError {
    let mut problem = err;
    if let Some(field) = problem.field.take() {
        problem.field = Some(
            field
                .split_once('.')
                .map_or(field.clone(), |(_, f)| f.to_owned()),
        );
    }
    problem
}
