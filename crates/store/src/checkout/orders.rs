//! Orders. Creating one reserves its stock and seats and counts it against the buyer's yearly
//! cross-border amount, all by conditional updates in one transaction: two processes racing for
//! the last unit cannot both win, and two orders cannot together pass a person's limit.
//! Cancelling or expiring an order gives everything back.

use super::idempotency::{self, IdempotencyClaim, Replay};
use crate::sql::{self, Conn, FromRow, row_struct};
use crate::values::{currency, date_text, money, parse_date, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::checkout::OrderStatus;
use pavilion_domain::{Country, Currency, Money};
use serde::Serialize;
use time::Date;
use uuid::Uuid;

const T: &str = "orders";

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    pub line_no: u32,
    pub product_id: Uuid,
    pub seller_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub departure_date: Option<Date>,
    pub quantity: u32,
    pub title: String,
    pub hs: String,
    pub unit_price: Money,
    /// What the buyer pays for the line: goods, its share of freight and insurance, its taxes.
    pub amount: Money,
    pub tax: Money,
    pub refunded: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: Uuid,
    pub cart_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub buyer_user_id: Option<Uuid>,
    #[serde(skip)]
    pub token_hash: String,
    pub buyer_name: String,
    pub buyer_email: String,
    pub ship_to: serde_json::Value,
    pub destination: Country,
    pub currency: Currency,
    pub status: OrderStatus,
    pub regime: String,
    pub goods: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub captured: Money,
    pub refunded: Money,
    /// The last four characters of the national ID the order counts against, if any.
    pub person_last4: Option<String>,
    pub lines: Vec<OrderLine>,
    pub expires_at: Timestamp,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Order {
    /// The sellers whose goods are in the order.
    pub fn sellers(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.lines.iter().map(|l| l.seller_id)
    }
}

#[derive(Debug, Clone)]
pub struct NewOrderLine {
    pub product_id: Uuid,
    pub seller_id: Uuid,
    pub variant_sku: Option<String>,
    pub departure_date: Option<Date>,
    pub quantity: u32,
    pub title: String,
    pub hs: String,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub tax_minor: i64,
}

/// What an order counts against a person's yearly cross-border amount.
#[derive(Debug, Clone)]
pub struct PersonCharge {
    /// A keyed hash of the national ID (never the number).
    pub hash: String,
    pub last4: String,
    pub year: i32,
    /// The regime's currency and limit, and the amount this order counts.
    pub currency: Currency,
    pub amount_minor: i64,
    pub limit_minor: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Chosen by the caller, which derives the order's token from it.
    pub id: Uuid,
    pub cart_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub buyer_user_id: Option<Uuid>,
    pub token_hash: String,
    pub buyer_name: String,
    pub buyer_email: String,
    pub ship_to: serde_json::Value,
    pub destination: Country,
    pub currency: Currency,
    pub regime: String,
    pub goods_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub person: Option<PersonCharge>,
    pub expires_at: Timestamp,
    pub lines: Vec<NewOrderLine>,
}

/// The outcome of an order request: a new order (with the answer recorded for its key), or
/// the answer recorded the first time the key was used.
#[derive(Debug)]
pub enum Placed {
    New(Box<Order>),
    Replay(Replay),
}

row_struct! {
    struct OrderRow {
        id: String,
        cart_id: Option<String>,
        quote_id: Option<String>,
        buyer_user_id: Option<String>,
        token_hash: String,
        buyer_name: String,
        buyer_email: String,
        ship_to: String,
        destination: String,
        currency: String,
        status: String,
        regime: String,
        goods_minor: i64,
        shipping_minor: i64,
        tax_minor: i64,
        total_minor: i64,
        captured_minor: i64,
        refunded_minor: i64,
        person_last4: Option<String>,
        expires_at: String,
        version: i64,
        created_at: String,
        updated_at: String,
    }
}

const COLUMNS: &str = "id, cart_id, quote_id, buyer_user_id, token_hash, buyer_name, buyer_email, ship_to, \
    destination, currency, status, regime, goods_minor, shipping_minor, tax_minor, total_minor, captured_minor, \
    refunded_minor, person_last4, expires_at, version, created_at, updated_at";

row_struct! {
    struct LineRow {
        line_no: i64,
        product_id: String,
        seller_id: String,
        variant_sku: String,
        departure_date: String,
        quantity: i64,
        title: String,
        hs: String,
        unit_price_minor: i64,
        amount_minor: i64,
        line_tax_minor: i64,
        line_refunded_minor: i64,
    }
}

/// An order with its lines in one statement: the order's columns repeat on each line, and the
/// lines' columns that share a name with the order's are renamed.
fn order_query() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let order = COLUMNS
            .split(", ")
            .map(|c| format!("o.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {order}, l.line_no, l.product_id, l.seller_id, l.variant_sku, l.departure_date, l.quantity, \
             l.title, l.hs, l.unit_price_minor, l.amount_minor, l.tax_minor AS line_tax_minor, \
             l.refunded_minor AS line_refunded_minor \
             FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id WHERE o.id = $1 ORDER BY l.line_no"
        )
    });
    &SQL
}

/// The order `id`, read in one statement (no transaction needed for a consistent view).
pub(crate) async fn read_order(conn: &mut Conn, id: Uuid) -> StoreResult<Order> {
    let rows = sql::query(order_query())
        .bind(id.to_string())
        .fetch_all(conn)
        .await?;
    let first = rows
        .first()
        .ok_or(StoreError::NotFound { entity: "order" })?;
    let order = OrderRow::from_row(first)?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.try_get::<Option<i64>>("line_no")?.is_some() {
            lines.push(LineRow::from_row(row)?);
        }
    }
    order_of_rows(order, lines)
}

pub(crate) async fn order_in(tx: &mut Conn, id: Uuid) -> StoreResult<Order> {
    read_order(tx, id).await
}

fn order_of_rows(r: OrderRow, lines: Vec<LineRow>) -> StoreResult<Order> {
    let m = |minor: i64| money(T, minor, &r.currency);
    Ok(Order {
        id: uuid(T, &r.id)?,
        cart_id: r.cart_id.as_deref().map(|c| uuid(T, c)).transpose()?,
        quote_id: r.quote_id.as_deref().map(|q| uuid(T, q)).transpose()?,
        buyer_user_id: r.buyer_user_id.as_deref().map(|u| uuid(T, u)).transpose()?,
        token_hash: r.token_hash.clone(),
        buyer_name: r.buyer_name.clone(),
        buyer_email: r.buyer_email.clone(),
        ship_to: serde_json::from_str(&r.ship_to).map_err(bad)?,
        destination: r.destination.parse().map_err(bad)?,
        currency: currency(T, &r.currency)?,
        status: OrderStatus::parse(&r.status).ok_or_else(|| bad(&r.status))?,
        regime: r.regime.clone(),
        goods: m(r.goods_minor)?,
        shipping: m(r.shipping_minor)?,
        tax: m(r.tax_minor)?,
        total: m(r.total_minor)?,
        captured: m(r.captured_minor)?,
        refunded: m(r.refunded_minor)?,
        person_last4: r.person_last4.clone(),
        lines: lines
            .into_iter()
            .map(|l| {
                Ok(OrderLine {
                    line_no: u32::try_from(l.line_no).map_err(bad)?,
                    product_id: uuid(T, &l.product_id)?,
                    seller_id: uuid(T, &l.seller_id)?,
                    variant_sku: (!l.variant_sku.is_empty()).then_some(l.variant_sku),
                    departure_date: if l.departure_date.is_empty() {
                        None
                    } else {
                        Some(parse_date(T, &l.departure_date)?)
                    },
                    quantity: u32::try_from(l.quantity).map_err(bad)?,
                    title: l.title,
                    hs: l.hs,
                    unit_price: m(l.unit_price_minor)?,
                    amount: m(l.amount_minor)?,
                    tax: m(l.line_tax_minor)?,
                    refunded: m(l.line_refunded_minor)?,
                })
            })
            .collect::<StoreResult<_>>()?,
        expires_at: Timestamp::from_stored(&r.expires_at).map_err(bad)?,
        version: r.version,
        created_at: Timestamp::from_stored(&r.created_at).map_err(bad)?,
        updated_at: Timestamp::from_stored(&r.updated_at).map_err(bad)?,
    })
}

/// Takes (or, with `give_back`, returns) a line's stock or seats. Taking is a conditional update:
/// it changes nothing and says so when not enough is left.
async fn move_stock(
    tx: &mut Conn,
    line_no: usize,
    product_id: Uuid,
    variant_sku: Option<&str>,
    departure_date: Option<Date>,
    quantity: u32,
    give_back: bool,
) -> StoreResult<()> {
    let q = i64::from(quantity);
    let (sql, binds): (&str, Vec<String>) = match (variant_sku, departure_date, give_back) {
        (Some(sku), _, false) => (
            "UPDATE product_variants SET stock = stock - $1 WHERE product_id = $2 AND sku = $3 AND stock >= $1",
            vec![product_id.to_string(), sku.to_owned()],
        ),
        (Some(sku), _, true) => (
            "UPDATE product_variants SET stock = stock + $1 WHERE product_id = $2 AND sku = $3 AND stock IS NOT NULL",
            vec![product_id.to_string(), sku.to_owned()],
        ),
        (None, Some(date), false) => (
            "UPDATE departures SET seats_sold = seats_sold + $1 WHERE product_id = $2 AND date = $3 AND seats_sold + $1 <= seats",
            vec![product_id.to_string(), date_text(date)],
        ),
        (None, Some(date), true) => (
            "UPDATE departures SET seats_sold = seats_sold - $1 WHERE product_id = $2 AND date = $3 AND seats_sold >= $1",
            vec![product_id.to_string(), date_text(date)],
        ),
        (None, None, false) => (
            "UPDATE products SET stock = stock - $1, version = version + 1 WHERE id = $2 AND stock >= $1 AND archived_at IS NULL",
            vec![product_id.to_string()],
        ),
        (None, None, true) => (
            "UPDATE products SET stock = stock + $1, version = version + 1 WHERE id = $2 AND stock IS NOT NULL",
            vec![product_id.to_string()],
        ),
    };
    let mut query = sql::query(sql).bind(q);
    for b in binds {
        query = query.bind(b);
    }
    let moved = query.execute(tx).await?.rows_affected();
    if moved != 1 && !give_back {
        let what = if departure_date.is_some() {
            "seats on that departure"
        } else {
            "units in stock"
        };
        return Err(StoreError::Exhausted {
            field: format!("lines[{line_no}].quantity"),
            detail: format!(
                "not enough {what} for {quantity}: someone else was quicker or the product is off sale"
            ),
        });
    }
    Ok(())
}

/// Counts `charge` against the person's year; refuses what would pass the limit.
async fn count_against_limit(tx: &mut Conn, charge: &PersonCharge) -> StoreResult<()> {
    // One statement: the person's first order of the year inserts the row, a later one adds to
    // it; either only within the limit (the insert's own check is the `WHERE` of the select).
    let counted = sql::query(
        "INSERT INTO person_limits (person_hash, year, currency, used_minor, limit_minor) \
         SELECT $1, $2, $3, $4, $5 WHERE $4 <= $5 \
         ON CONFLICT (person_hash, year) DO UPDATE SET used_minor = person_limits.used_minor + excluded.used_minor \
         WHERE person_limits.used_minor + excluded.used_minor <= person_limits.limit_minor",
    )
    .bind(charge.hash.clone())
    .bind(i64::from(charge.year))
    .bind(charge.currency.code())
    .bind(charge.amount_minor)
    .bind(charge.limit_minor)
    .execute(tx)
    .await?
    .rows_affected();
    if counted != 1 {
        let limit = Money::from_minor(charge.limit_minor, charge.currency);
        return Err(StoreError::Exhausted {
            field: "buyer.national_id".into(),
            detail: format!(
                "this order would take the buyer past the yearly cross-border limit of {limit} for {}",
                charge.year
            ),
        });
    }
    Ok(())
}

async fn record_event(
    tx: &mut Conn,
    order_id: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    note: &str,
    actor: Option<&str>,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO order_events (id, order_id, from_status, to_status, note, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(order_id.to_string())
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(note.to_owned())
    .bind(actor.map(str::to_owned))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    Ok(())
}

/// Places an order inside `tx` (the caller commits): claims the idempotency key, reserves every
/// line, counts the person's limit, writes the order and records it (as JSON) as the key's answer.
pub(crate) async fn place_in(
    tx: &mut Conn,
    claim: Option<&IdempotencyClaim>,
    new: &NewOrder,
) -> StoreResult<Placed> {
    if let Some(claim) = claim
        && let Some(replay) = idempotency::claim(tx, claim).await?
    {
        return Ok(Placed::Replay(replay));
    }
    if let Some(cart) = new.cart_id {
        let taken = sql::query(
            "UPDATE carts SET checked_out_at = $1, version = version + 1 WHERE id = $2 AND checked_out_at IS NULL",
        )
        .bind(Timestamp::now().to_stored())
        .bind(cart.to_string())
        .execute(tx)
        .await?
        .rows_affected();
        if taken != 1 {
            return Err(StoreError::InvalidState {
                detail: "the cart is already checked out".into(),
            });
        }
    }
    for (i, line) in new.lines.iter().enumerate() {
        move_stock(
            tx,
            i,
            line.product_id,
            line.variant_sku.as_deref(),
            line.departure_date,
            line.quantity,
            false,
        )
        .await?;
    }
    if let Some(person) = &new.person {
        count_against_limit(tx, person).await?;
    }
    let id = new.id;
    let now = Timestamp::now().to_stored();
    sql::query(
        "INSERT INTO orders (id, cart_id, quote_id, buyer_user_id, token_hash, buyer_name, buyer_email, ship_to, \
         destination, currency, status, regime, goods_minor, shipping_minor, tax_minor, total_minor, person_hash, \
         person_last4, limit_year, limit_minor, expires_at, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending_payment', $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 1, $21, $21)",
    )
    .bind(id.to_string())
    .bind(new.cart_id.map(|c| c.to_string()))
    .bind(new.quote_id.map(|q| q.to_string()))
    .bind(new.buyer_user_id.map(|u| u.to_string()))
    .bind(new.token_hash.clone())
    .bind(new.buyer_name.clone())
    .bind(new.buyer_email.clone())
    .bind(new.ship_to.to_string())
    .bind(new.destination.code())
    .bind(new.currency.code())
    .bind(new.regime.clone())
    .bind(new.goods_minor)
    .bind(new.shipping_minor)
    .bind(new.tax_minor)
    .bind(new.total_minor)
    .bind(new.person.as_ref().map(|p| p.hash.clone()))
    .bind(new.person.as_ref().map(|p| p.last4.clone()))
    .bind(new.person.as_ref().map(|p| i64::from(p.year)))
    .bind(new.person.as_ref().map(|p| p.amount_minor))
    .bind(new.expires_at.to_stored())
    .bind(now.clone())
    .execute(tx)
    .await?;
    for (i, l) in new.lines.iter().enumerate() {
        sql::query(
            "INSERT INTO order_lines (order_id, line_no, product_id, seller_id, variant_sku, departure_date, quantity, \
             title, hs, unit_price_minor, amount_minor, tax_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.to_string())
        .bind(i64::try_from(i + 1).map_err(bad)?)
        .bind(l.product_id.to_string())
        .bind(l.seller_id.to_string())
        .bind(l.variant_sku.clone().unwrap_or_default())
        .bind(l.departure_date.map(date_text).unwrap_or_default())
        .bind(i64::from(l.quantity))
        .bind(l.title.clone())
        .bind(l.hs.clone())
        .bind(l.unit_price_minor)
        .bind(l.amount_minor)
        .bind(l.tax_minor)
        .execute(tx)
        .await?;
    }
    record_event(
        tx,
        id,
        None,
        OrderStatus::PendingPayment,
        "order placed",
        None,
    )
    .await?;
    let order = placed_order(new, &now)?;
    if let Some(claim) = claim {
        let body = serde_json::to_string(&order).map_err(bad)?;
        idempotency::record(tx, claim, 201, &body).await?;
    }
    Ok(Placed::New(Box::new(order)))
}

/// The order just written from `new` at `now`, as [`order_in`] would read it back (timestamps
/// go through their stored form, so both agree to the digit).
fn placed_order(new: &NewOrder, now: &str) -> StoreResult<Order> {
    let m = |minor: i64| Money::from_minor(minor, new.currency);
    let stored = |text: &str| Timestamp::from_stored(text).map_err(bad);
    let created_at = stored(now)?;
    Ok(Order {
        id: new.id,
        cart_id: new.cart_id,
        quote_id: new.quote_id,
        buyer_user_id: new.buyer_user_id,
        token_hash: new.token_hash.clone(),
        buyer_name: new.buyer_name.clone(),
        buyer_email: new.buyer_email.clone(),
        ship_to: new.ship_to.clone(),
        destination: new.destination,
        currency: new.currency,
        status: OrderStatus::PendingPayment,
        regime: new.regime.clone(),
        goods: m(new.goods_minor),
        shipping: m(new.shipping_minor),
        tax: m(new.tax_minor),
        total: m(new.total_minor),
        captured: m(0),
        refunded: m(0),
        person_last4: new.person.as_ref().map(|p| p.last4.clone()),
        lines: new
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Ok(OrderLine {
                    line_no: u32::try_from(i + 1).map_err(bad)?,
                    product_id: l.product_id,
                    seller_id: l.seller_id,
                    variant_sku: l.variant_sku.clone().filter(|sku| !sku.is_empty()),
                    departure_date: l.departure_date,
                    quantity: l.quantity,
                    title: l.title.clone(),
                    hs: l.hs.clone(),
                    unit_price: m(l.unit_price_minor),
                    amount: m(l.amount_minor),
                    tax: m(l.tax_minor),
                    refunded: m(0),
                })
            })
            .collect::<StoreResult<_>>()?,
        expires_at: stored(&new.expires_at.to_stored())?,
        version: 1,
        created_at,
        updated_at: created_at,
    })
}

/// Gives back what an order holds: its stock and seats, and its count against the person's limit.
pub(crate) async fn release(tx: &mut Conn, order: &Order) -> StoreResult<()> {
    for (i, l) in order.lines.iter().enumerate() {
        move_stock(
            tx,
            i,
            l.product_id,
            l.variant_sku.as_deref(),
            l.departure_date,
            l.quantity,
            true,
        )
        .await?;
    }
    sql::query(
        "UPDATE person_limits SET used_minor = used_minor - \
           (SELECT COALESCE(o.limit_minor, 0) FROM orders o WHERE o.id = $1) \
         WHERE (person_hash, year) IN (SELECT o.person_hash, o.limit_year FROM orders o WHERE o.id = $1 AND o.person_hash IS NOT NULL)",
    )
    .bind(order.id.to_string())
    .execute(tx)
    .await?;
    Ok(())
}

/// Moves an order from one of `from` to `to` if it is still there (a conditional update, so a
/// concurrent change makes this one fail with the state it found).
pub(crate) async fn transition(
    tx: &mut Conn,
    order: &Order,
    to: OrderStatus,
    note: &str,
    actor: Option<&str>,
) -> StoreResult<()> {
    order
        .status
        .transition(to)
        .map_err(|e| StoreError::InvalidState {
            detail: e.to_string(),
        })?;
    transition_from(tx, order.id, order.status, to, note, actor).await
}

/// Moves the order `id` from `from` to `to` if it is still `from` (the caller knows the state it
/// expects without reading the order); otherwise says what the order is.
pub(crate) async fn transition_from(
    tx: &mut Conn,
    id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    note: &str,
    actor: Option<&str>,
) -> StoreResult<()> {
    let moved = sql::query(
        "UPDATE orders SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(to.as_str())
    .bind(Timestamp::now().to_stored())
    .bind(id.to_string())
    .bind(from.as_str())
    .execute(tx)
    .await?
    .rows_affected();
    if moved != 1 {
        let current = order_in(tx, id).await?.status;
        return Err(StoreError::InvalidState {
            detail: match current.transition(to) {
                Err(illegal) => illegal.to_string(),
                Ok(_) => format!("the order is {current}; it cannot become {to}"),
            },
        });
    }
    record_event(tx, id, Some(from), to, note, actor).await
}

impl Store {
    /// The answer recorded for an idempotency key, if it was used (with this request).
    pub async fn idempotent_replay(&self, claim: &IdempotencyClaim) -> StoreResult<Option<Replay>> {
        let row: Option<(String, i64, String)> = sql::query_as(
            "SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
        )
        .bind(claim.scope.clone())
        .bind(claim.key.clone())
        .fetch_optional(&mut self.reader().await?)
        .await?;
        match row {
            None => Ok(None),
            Some((hash, _, _)) if hash != claim.request_hash => {
                Err(StoreError::IdempotencyMismatch)
            }
            Some((_, status, body)) => Ok(Some(Replay {
                status: u16::try_from(status).map_err(bad)?,
                body,
            })),
        }
    }

    /// A buyer's orders, newest first.
    pub async fn orders_of_buyer(&self, user: Uuid, limit: u32) -> StoreResult<Vec<Order>> {
        let ids: Vec<(String,)> = sql::query_as(
            "SELECT id FROM orders WHERE buyer_user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user.to_string())
        .bind(i64::from(limit))
        .fetch_all(&mut self.reader().await?)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            out.push(self.order(uuid(T, &id)?).await?);
        }
        Ok(out)
    }

    /// Places an order (see [`place_in`]) in a durable write, committed with others waiting.
    pub async fn place_order(
        &self,
        claim: Option<IdempotencyClaim>,
        new: NewOrder,
    ) -> StoreResult<Placed> {
        self.write((claim, new), |tx, (claim, new)| {
            Box::pin(place_in(tx, claim.as_ref(), new))
        })
        .await
    }

    pub async fn order(&self, id: Uuid) -> StoreResult<Order> {
        read_order(&mut self.reader().await?, id).await
    }

    /// Cancels an order that has not shipped and gives its stock, seats and limit back. (A
    /// captured payment is refunded by the caller through the provider first.)
    pub async fn cancel_order(
        &self,
        id: Uuid,
        note: &str,
        actor: Option<&str>,
    ) -> StoreResult<Order> {
        let state = (id, note.to_owned(), actor.map(str::to_owned));
        self.write(state, |tx, (id, note, actor)| {
            Box::pin(async move {
                let order = order_in(tx, *id).await?;
                transition(tx, &order, OrderStatus::Cancelled, note, actor.as_deref()).await?;
                release(tx, &order).await?;
                order_in(tx, *id).await
            })
        })
        .await
    }

    /// Expires unpaid orders whose time is up, giving back what they held; returns how many.
    pub async fn expire_orders(&self, now: Timestamp, limit: u32) -> StoreResult<usize> {
        let due: Vec<(String,)> = sql::query_as(
            "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at < $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now.to_stored())
        .bind(i64::from(limit))
        .fetch_all(&mut self.reader().await?)
        .await?;
        let mut expired = 0;
        for (id,) in due {
            let done = self
                .write(uuid(T, &id)?, |tx, id| {
                    Box::pin(async move {
                        let order = order_in(tx, *id).await?;
                        // Paid meanwhile, or expired by another process: nothing to do.
                        if order.status != OrderStatus::PendingPayment {
                            return Ok(false);
                        }
                        transition(tx, &order, OrderStatus::Expired, "not paid in time", None)
                            .await?;
                        release(tx, &order).await?;
                        Ok(true)
                    })
                })
                .await?;
            expired += usize::from(done);
        }
        Ok(expired)
    }

    /// Units held by orders that still hold stock, and units left in stock (products sold by
    /// product-level stock): what a load test reconciles against the stock it started with.
    pub async fn stock_ledger(&self) -> StoreResult<(i64, i64)> {
        let (held,): (i64,) = sql::query_as(
            "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.status NOT IN ('cancelled', 'expired') AND l.variant_sku = '' AND l.departure_date = ''",
        )
        .fetch_one(&mut self.reader().await?)
        .await?;
        let (left,): (i64,) =
            sql::query_as("SELECT CAST(COALESCE(SUM(stock), 0) AS BIGINT) FROM products")
                .fetch_one(&mut self.reader().await?)
                .await?;
        Ok((held, left))
    }

    /// How many orders are in each state.
    pub async fn orders_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
        sql::query_as("SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status")
            .fetch_all(&mut self.reader().await?)
            .await
    }

    /// Orders whose payment was authorised but not captured by their deadline (oldest first).
    pub async fn uncaptured_past(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<(String,)> = sql::query_as(
            "SELECT id FROM orders WHERE status = 'authorised' AND expires_at < $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now.to_stored())
        .bind(i64::from(limit))
        .fetch_all(&mut self.reader().await?)
        .await?;
        rows.iter().map(|(id,)| uuid(T, id)).collect()
    }

    /// The used amount of a person's year (for quotes: what the yearly limit has left).
    pub async fn person_year_used(&self, hash: &str, year: i32) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sql::query_as(
            "SELECT used_minor FROM person_limits WHERE person_hash = $1 AND year = $2",
        )
        .bind(hash.to_owned())
        .bind(i64::from(year))
        .fetch_optional(&mut self.reader().await?)
        .await?;
        Ok(row.map(|(u,)| u))
    }
}
