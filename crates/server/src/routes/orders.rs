//! Orders: checkout of a priced cart, charged exactly as the buyer's quote said.
//!
//! Placing an order reserves its stock and seats and counts a cross-border buyer's yearly amount
//! in the database (see the store's `checkout::orders`). The request carries an
//! `Idempotency-Key`: a retry gets the first answer, a different request with the key 422.

use crate::auth::Caller;
use crate::checkout::holder::{CartToken, Holder, OrderToken};
use crate::checkout::keys::{Keys, same};
use crate::checkout::pricing::{self, PricedLine};
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::carts::{CartQuote, held_cart, store_quote};
use crate::routes::programmes::today;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_domain::accounts::Role;
use pavilion_domain::checkout::{NationalId, OrderStatus};
use pavilion_domain::landed_cost::Quote;
use pavilion_domain::text::{Email, Name};
use pavilion_domain::{Country, Money};
use pavilion_store::Timestamp;
use pavilion_store::checkout::idempotency::{IdempotencyClaim, Replay};
use pavilion_store::checkout::orders::{NewOrder, NewOrderLine, Order, PersonCharge, Placed};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipTo {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[schema(value_type = String, example = "CN")]
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    pub name: String,
    pub email: String,
    /// Required where the regime counts a person's yearly purchases (China's cross-border retail
    /// import: the Resident Identity Card number). Kept only as a keyed hash and its last 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    pub ship_to: ShipTo,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    pub cart_id: Uuid,
    /// The quote the buyer saw (the cart's `quote.id`); required when the cart has goods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<Uuid>,
    pub buyer: Buyer,
}

/// An order as its buyer, its sellers (their lines only) and administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub order: Order,
    /// Only for the buyer: send it as `X-Order-Token` to reach the order without signing in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_token: Option<String>,
}

/// Who is looking at an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Buyer,
    Seller(Uuid),
    Admin,
}

/// The order, if the caller may see it: its buyer (signed in, or with its token), a seller with
/// goods in it (who sees only those lines), or an administrator.
pub async fn reach_order(
    state: &AppState,
    id: Uuid,
    holder: &Holder<OrderToken>,
) -> ApiResult<(Order, Viewer)> {
    let (caller, token) = (holder.caller.as_ref(), holder.token.as_deref());
    let mut order = state.store.order(id).await?;
    if token.is_some_and(|t| same(&Keys::token_hash(t), &order.token_hash)) {
        return Ok((order, Viewer::Buyer));
    }
    let Some(caller) = caller else {
        return Err(ApiError::forbidden("this order is someone else's"));
    };
    if order.buyer_user_id == Some(caller.user_id()) {
        return Ok((order, Viewer::Buyer));
    }
    if caller.actor().is_admin() {
        return Ok((order, Viewer::Admin));
    }
    if caller.account.user.role == Role::Seller
        && let Some(org) = &caller.account.organisation
        && order.sellers().any(|s| s == org.id)
    {
        order.lines.retain(|l| l.seller_id == org.id);
        return Ok((order, Viewer::Seller(org.id)));
    }
    Err(ApiError::forbidden("this order is someone else's"))
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> ApiResult<String> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "send an Idempotency-Key header (e.g. a UUID) so that a retry cannot order twice",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters",
        ));
    }
    Ok(key.to_owned())
}

/// A digest of what was asked, to tell a retry from a different request under the same key.
pub fn request_hash(what: &str, body: &impl Serialize) -> ApiResult<String> {
    let json = serde_json::to_string(body).map_err(|e| ApiError::internal(&e))?;
    let digest = Sha256::digest(format!("{what}\n{json}").as_bytes());
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

fn minor(m: Money) -> ApiResult<i64> {
    m.to_minor().map_err(|e| ApiError::internal(&e))
}

/// The answer to a placed order: its view with the buyer's token.
fn placed_response(state_keys: &Keys, status: u16, body: &str) -> ApiResult<Response> {
    let mut value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ApiError::internal(&e))?;
    let id = value["id"]
        .as_str()
        .and_then(|s| s.parse::<Uuid>().ok())
        .ok_or_else(|| ApiError::internal(&"a recorded order answer without its id"))?;
    value["order_token"] = serde_json::Value::String(state_keys.order_token(id));
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::internal(&e))?;
    let mut response = (status, axum::Json(value)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/orders/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// 409 with the quote the buyer should see now.
fn stale_quote(detail: &str, fresh: &CartQuote) -> ApiResult<Response> {
    let problem = ApiError::new(ProblemKind::Conflict, detail)
        .with_field("quote_id")
        .problem();
    let mut body = serde_json::to_value(problem).map_err(|e| ApiError::internal(&e))?;
    body["fresh_quote"] = serde_json::to_value(fresh).map_err(|e| ApiError::internal(&e))?;
    let mut response = (StatusCode::CONFLICT, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    Ok(response)
}

fn check_buyer(buyer: &Buyer, destination: Country) -> ApiResult<()> {
    Name::parse(&buyer.name).map_err(|e| ApiError::invalid("buyer.name", e.to_string()))?;
    Email::parse(&buyer.email).map_err(|e| ApiError::invalid("buyer.email", e.to_string()))?;
    let s = &buyer.ship_to;
    for (field, text) in [
        ("buyer.ship_to.name", Some(&s.name)),
        ("buyer.ship_to.line1", Some(&s.line1)),
        ("buyer.ship_to.line2", s.line2.as_ref()),
        ("buyer.ship_to.city", Some(&s.city)),
        ("buyer.ship_to.region", s.region.as_ref()),
        ("buyer.ship_to.postcode", s.postcode.as_ref()),
        ("buyer.ship_to.phone", s.phone.as_ref()),
    ] {
        if let Some(text) = text {
            let len = text.trim().chars().count();
            if len == 0 || len > 200 || text.chars().any(char::is_control) {
                return Err(ApiError::invalid(
                    field,
                    "1 to 200 characters, no control characters",
                ));
            }
        }
    }
    if s.country != destination {
        return Err(ApiError::invalid(
            "buyer.ship_to.country",
            format!("the cart is priced for delivery to {destination}"),
        ));
    }
    Ok(())
}

/// What the buyer's quote counts against their yearly allowance, when the regime has one.
struct Person {
    hash: String,
    last4: String,
}

/// Quotes the goods now, for this buyer (with their yearly amount used, where it counts).
async fn quote_for_buyer(
    state: &AppState,
    cart: &pavilion_store::checkout::carts::Cart,
    goods: &[&PricedLine],
    national_id: Option<&str>,
) -> ApiResult<
    Option<(
        pavilion_domain::landed_cost::QuoteInput,
        Quote,
        Option<Person>,
    )>,
> {
    let today = today();
    let Some((input, quote)) = pricing::quote_goods(state, cart, goods, today, None).await? else {
        return Ok(None);
    };
    let Some(yearly) = &quote.yearly else {
        return Ok(Some((input, quote, None)));
    };
    let number = national_id.ok_or_else(|| {
        ApiError::invalid(
            "buyer.national_id",
            format!(
                "the {} regime counts each buyer's purchases per year: give the buyer's national ID",
                quote.regime.name
            ),
        )
    })?;
    let id = NationalId::parse(number)
        .map_err(|e| ApiError::invalid("buyer.national_id", e.to_string()))?;
    let keys = state.keys().await?;
    let person = Person {
        hash: keys.person_hash(&id),
        last4: id.last4().to_owned(),
    };
    let year = today.year();
    let used = state
        .store
        .person_year_used(&person.hash, year)
        .await?
        .unwrap_or(0);
    let used = Money::from_minor(used, yearly.limit.currency());
    let Some((input, quote)) = pricing::quote_goods(state, cart, goods, today, Some(used)).await?
    else {
        return Ok(None);
    };
    Ok(Some((input, quote, Some(person))))
}

/// Whether two quotes charge the same: regime and every total. Only those two fields of the
/// stored quote's JSON are read (the rest is skipped), and its totals are compared as text with
/// the fresh ones written the same way.
fn same_charges(stored_output: &str, fresh: &Quote) -> bool {
    #[derive(Deserialize)]
    struct Regime<'a> {
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
    }
    #[derive(Deserialize)]
    struct Charges<'a> {
        #[serde(borrow)]
        totals: &'a serde_json::value::RawValue,
        #[serde(borrow)]
        regime: Regime<'a>,
    }
    let Ok(stored) = serde_json::from_str::<Charges>(stored_output) else {
        return false;
    };
    let Ok(totals) = serde_json::to_string(&fresh.totals) else {
        return false;
    };
    stored.totals.get() == totals && stored.regime.name == fresh.regime.name.as_str()
}

/// Check out a cart: creates the order with the quote the buyer saw, its stock and seats reserved.
#[utoipa::path(post, path = "/orders", tag = "checkout", request_body = PlaceOrder,
    params(("Idempotency-Key" = String, Header, description = "Makes a retry safe: the same key and body get the same answer")),
    description = "Permission: the cart's owner, or a guest with its X-Cart-Token.",
    security(("session" = []), ("bearer" = []), ("cart_token" = [])),
    responses((status = 201, body = OrderView, headers(("Location" = String))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Stock, seats or the yearly limit ran out (`field` names the line), the cart is checked out, or the quote is stale (the answer carries `fresh_quote`)", body = Problem),
        (status = 422, description = "Bad buyer details or Idempotency-Key, or the key was used for another request", body = Problem)))]
pub async fn place_order(
    State(state): State<AppState>,
    holder: Holder<CartToken>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PlaceOrder>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let cart = held_cart(&state, req.cart_id, &holder).await?;
    let caller = holder.caller;
    let claim = IdempotencyClaim {
        scope: caller
            .as_ref()
            .map(|c| format!("user:{}", c.user_id()))
            .unwrap_or_else(|| format!("cart:{}", cart.token_hash)),
        key,
        request_hash: request_hash("POST /orders", &req)?,
    };
    let keys = state.keys().await?.clone();
    if let Some(Replay { status, body }) = state.store.idempotent_replay(&claim).await? {
        return placed_response(&keys, status, &body);
    }
    if cart.checked_out {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            "the cart is already checked out; start a new one",
        ));
    }
    check_buyer(&req.buyer, cart.destination)?;
    let lines = pricing::lines_of(&state, &cart, None).await?;
    if lines.is_empty() {
        return Err(ApiError::invalid("cart_id", "the cart is empty"));
    }
    let (seats, goods): (Vec<&PricedLine>, Vec<&PricedLine>) =
        lines.iter().partition(|l| l.is_seat());
    let seat_amounts = pricing::seats_total(&state, &cart, &seats, today()).await?;
    let quoted = quote_for_buyer(&state, &cart, &goods, req.buyer.national_id.as_deref()).await?;
    let mut person = None;
    let mut quote = None;
    if let Some((input, fresh, who)) = &quoted {
        let quote_id = req.quote_id.ok_or_else(|| {
            ApiError::invalid(
                "quote_id",
                "give the id of the quote the buyer saw (the cart's quote)",
            )
        })?;
        let stored = match state.store.quote(quote_id).await {
            Err(pavilion_store::StoreError::NotFound { .. }) => {
                return Err(ApiError::invalid("quote_id", "there is no such quote"));
            }
            other => other?,
        };
        let expired = stored.expires_at <= Timestamp::now();
        if expired || !same_charges(&stored.output, fresh) {
            let fresh_quote = store_quote(&state, caller.as_ref(), input, fresh).await?;
            let detail = if expired {
                "the quote has expired: here is the price now; order again with the fresh quote"
            } else {
                "the price has changed since the quote (stock, rates, rules or the buyer's yearly allowance): \
                 here is the price now; order again with the fresh quote"
            };
            return stale_quote(detail, &fresh_quote);
        }
        if let (Some(who), Some(yearly)) = (who, &fresh.yearly) {
            person = Some(PersonCharge {
                hash: who.hash.clone(),
                last4: who.last4.clone(),
                year: fresh.date.year(),
                currency: yearly.limit.currency(),
                amount_minor: minor(yearly.used_after)? - minor(yearly.used_before)?,
                limit_minor: minor(yearly.limit)?,
            });
        }
        quote = Some((quote_id, fresh));
    }
    // Lines in cart order, so that a refusal's `lines[i]` names the cart's line.
    let mut goods_lines = quote
        .as_ref()
        .map(|(_, q)| q.lines.iter())
        .into_iter()
        .flatten();
    let mut seat_amounts = seat_amounts.into_iter();
    let currency = cart.currency;
    let zero = Money::zero(currency);
    let mut new_lines = Vec::with_capacity(lines.len());
    let (mut goods_total, mut shipping, mut tax) = (zero, zero, zero);
    for l in &lines {
        let (amount, line_goods, line_tax) = if l.is_seat() {
            let amount = seat_amounts.next().unwrap_or(zero);
            (amount, amount, zero)
        } else {
            let q = goods_lines
                .next()
                .ok_or_else(|| ApiError::internal(&"the quote has fewer lines than the cart"))?;
            let add = |a: Money, b: Money| a.checked_add(b).map_err(|e| ApiError::internal(&e));
            // Only what the quote charges to the buyer (see its `charged_to_buyer`).
            let charged = quote
                .as_ref()
                .map(|(_, q)| q.charged_to_buyer)
                .ok_or_else(|| ApiError::internal(&"goods without a quote"))?;
            let pick = |yes: bool, m: Money| if yes { m } else { zero };
            let freight = pick(charged.freight, q.freight);
            let insurance = pick(charged.insurance, q.insurance);
            let line_tax = pick(charged.import_taxes, q.total_tax);
            shipping = add(add(shipping, freight)?, insurance)?;
            let amount = add(add(add(q.goods, freight)?, insurance)?, line_tax)?;
            (amount, q.goods, line_tax)
        };
        goods_total = goods_total
            .checked_add(line_goods)
            .map_err(|e| ApiError::internal(&e))?;
        tax = tax
            .checked_add(line_tax)
            .map_err(|e| ApiError::internal(&e))?;
        let unit = line_goods
            .amount()
            .checked_div(Decimal::from(l.line.quantity))
            .unwrap_or_default();
        new_lines.push(NewOrderLine {
            product_id: l.product.id,
            seller_id: l.product.seller_id,
            variant_sku: l.line.variant_sku.clone(),
            departure_date: l.line.departure_date,
            quantity: l.line.quantity,
            title: l.title(),
            hs: l.product.draft.hs.digits().to_owned(),
            unit_price_minor: minor(
                Money::round(unit, currency, pavilion_domain::money::RoundingRule::HalfUp)
                    .map_err(|e| ApiError::internal(&e))?,
            )?,
            amount_minor: minor(amount)?,
            tax_minor: minor(line_tax)?,
        });
    }
    let total_minor: i64 = new_lines.iter().map(|l| l.amount_minor).sum();
    let id = Uuid::now_v7();
    let new = NewOrder {
        id,
        cart_id: Some(cart.id),
        quote_id: quote.as_ref().map(|(id, _)| *id),
        buyer_user_id: caller.as_ref().map(|c| c.user_id()),
        token_hash: Keys::token_hash(&keys.order_token(id)),
        buyer_name: req.buyer.name.trim().to_owned(),
        buyer_email: req.buyer.email.trim().to_owned(),
        ship_to: serde_json::to_value(&req.buyer.ship_to).map_err(|e| ApiError::internal(&e))?,
        destination: cart.destination,
        currency,
        regime: quote
            .as_ref()
            .map(|(_, q)| q.regime.name.to_string())
            .unwrap_or_else(|| "travel".into()),
        goods_minor: minor(goods_total)?,
        shipping_minor: minor(shipping)?,
        tax_minor: minor(tax)?,
        total_minor,
        person,
        expires_at: Timestamp::now()
            .checked_add(time::Duration::minutes(state.config.unpaid_order_minutes))
            .unwrap_or_else(Timestamp::now),
        lines: new_lines,
    };
    match state.store.place_order(Some(claim), new).await? {
        Placed::New(order) => {
            let body = serde_json::to_string(&order).map_err(|e| ApiError::internal(&e))?;
            placed_response(&keys, 201, &body)
        }
        Placed::Replay(Replay { status, body }) => placed_response(&keys, status, &body),
    }
}

/// One order.
#[utoipa::path(get, path = "/orders/{id}", tag = "checkout", params(("id" = Uuid, Path)),
    description = "Permission: the buyer (signed in, or with the order's X-Order-Token), sellers with goods in it (their lines only), administrators.",
    security(("session" = []), ("bearer" = []), ("order_token" = [])),
    responses((status = 200, body = OrderView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_order(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<OrderView>> {
    let (order, _) = reach_order(&state, id, &holder).await?;
    Ok(axum::Json(OrderView {
        order,
        order_token: None,
    }))
}

/// The caller's own orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "checkout",
    description = "Permission: signed-in buyers (their own orders).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<OrderView>), (status = 401, body = Problem)))]
pub async fn my_orders(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<OrderView>>> {
    let orders = state.store.orders_of_buyer(caller.user_id(), 100).await?;
    Ok(axum::Json(
        orders
            .into_iter()
            .map(|order| OrderView {
                order,
                order_token: None,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: String,
}

/// Cancel an order before it ships: its stock, seats and yearly allowance go back.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "checkout", params(("id" = Uuid, Path)),
    request_body = CancelRequest,
    description = "Permission: the buyer (before shipment), sellers of all its goods and administrators. \
        A paid order is first refunded in full through its payment provider; an authorised payment is voided.",
    security(("session" = []), ("bearer" = []), ("order_token" = [])),
    responses((status = 200, body = OrderView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "The order has shipped or is already closed; the detail names its state", body = Problem),
        (status = 422, body = Problem)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<axum::Json<OrderView>> {
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    let caller = holder.caller;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason", "1 to 500 characters"));
    }
    if let Viewer::Seller(org) = viewer {
        let full = state.store.order(id).await?;
        if full.sellers().any(|s| s != org) {
            return Err(ApiError::forbidden(
                "the order has other sellers' goods: ask the buyer or an administrator",
            ));
        }
    }
    // A shipped or closed order: the 409 names its state.
    order
        .status
        .transition(OrderStatus::Cancelled)
        .map_err(|e| ApiError::new(ProblemKind::Conflict, e.to_string()))?;
    let actor = caller.as_ref().map(|c| c.user_id().to_string());
    if order.captured.is_positive() {
        // Paid and not shipped: everything is refunded through the provider, then cancelled.
        let cancelled =
            crate::routes::payments::refund_and_cancel(&state, id, reason, actor.as_deref())
                .await?;
        return Ok(axum::Json(OrderView {
            order: cancelled,
            order_token: None,
        }));
    }
    let cancelled = state
        .store
        .cancel_order(id, reason, actor.as_deref())
        .await?;
    crate::routes::payments::void_authorisations(&state, id).await;
    Ok(axum::Json(OrderView {
        order: cancelled,
        order_token: None,
    }))
}
