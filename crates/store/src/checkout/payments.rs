//! Payments and refunds on the platform's books, and the sandbox payment provider's own books.
//!
//! What keeps money straight is in the database: one live (authorised or captured) payment per
//! order (the partial unique index `payments_one_live`: no double charge); captures and refunds
//! are conditional updates under CHECKs (nothing captured twice, nothing refunded beyond what was
//! paid, per line, per order and per payment); the idempotency key is claimed and its answer
//! recorded in the transaction that does the work. So, always and per order,
//! `captured − refunded` on the order equals the payments' captures minus the refunds recorded.
//!
//! A refund is recorded here first and sent to the provider afterwards (its `sent_at`); one that
//! could not be sent is retried in the background, with the same reference, so the provider makes
//! it once.

use super::idempotency::{self, IdempotencyClaim, Replay};
use super::orders::{Order, order_in, release, transition, transition_from};
use crate::sql::{self, Conn, FromRow, Row, row_struct};
use crate::values::{money, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::checkout::OrderStatus;
use pavilion_domain::{Currency, Money};
use serde::Serialize;
use uuid::Uuid;

const T: &str = "payments";

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Authorised,
    Captured,
    Voided,
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Authorised => "authorised",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Voided => "voided",
            PaymentStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "authorised" => PaymentStatus::Authorised,
            "captured" => PaymentStatus::Captured,
            "voided" => PaymentStatus::Voided,
            "failed" => PaymentStatus::Failed,
            other => return Err(bad(format!("payment status {other:?}"))),
        })
    }
}

/// A webhook event the provider sent about a payment, as the platform received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentEvent {
    pub id: String,
    pub kind: String,
    pub received_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub provider: String,
    pub provider_ref: String,
    pub status: PaymentStatus,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// What the provider confirmed by webhook, oldest first.
    pub webhooks: Vec<PaymentEvent>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refund {
    pub id: Uuid,
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub line_no: u32,
    pub amount: Money,
    pub reason: String,
    /// The provider's reference, once it took the refund.
    pub provider_ref: Option<String>,
    pub sent_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_at: Timestamp,
}

/// A payment the provider answered: authorised, or declined (recorded as failed), or voided (an
/// authorisation the platform could not keep).
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub order_id: Uuid,
    pub provider: String,
    pub provider_ref: String,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub currency: Currency,
    pub failure: Option<String>,
}

/// The work done, or the answer recorded the first time its idempotency key was used.
#[derive(Debug)]
pub enum Recorded<T> {
    New(T),
    Replay(Replay),
}

/// A refund of lines of an order, by amounts in minor units of the order's currency.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub order_id: Uuid,
    /// (line number, amount in minor units).
    pub lines: Vec<(u32, i64)>,
    pub reason: String,
    pub actor: Option<String>,
    /// When the refund returns everything captured, the order is cancelled (the buyer's
    /// cancellation of a paid order) rather than marked refunded.
    pub cancel: bool,
}

/// What a refund did: the refunds recorded (to send to the provider) and the order after them.
#[derive(Debug, Clone)]
pub struct RefundOutcome {
    pub refunds: Vec<Refund>,
    pub payment: Payment,
    pub order: Order,
}

/// What applying a provider's webhook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Recorded (and, for a capture the platform had not recorded, applied).
    Applied,
    /// This event was applied before: nothing done.
    AlreadyApplied,
    /// The provider captured a payment the platform had voided or failed: the caller refunds
    /// `amount` with the provider.
    RefundCapture { amount: Money },
}

/// How long a `payment.captured` webhook for a payment the platform has not captured waits for
/// the platform's own capture before it captures the payment itself.
const CAPTURE_GRACE_SECONDS: i64 = 30;

/// A refund recorded but not yet taken by its provider.
#[derive(Debug, Clone)]
pub struct UnsentRefund {
    pub refund: Refund,
    pub provider: String,
    pub payment_ref: String,
}

row_struct! {
    struct PaymentRow {
        id: String,
        order_id: String,
        provider: String,
        provider_ref: String,
        status: String,
        amount_minor: i64,
        currency: String,
        captured_minor: i64,
        refunded_minor: i64,
        failure: Option<String>,
        created_at: String,
        updated_at: String,
    }
}

const PAYMENT_COLUMNS: &str = "id, order_id, provider, provider_ref, status, amount_minor, currency, \
    captured_minor, refunded_minor, failure, created_at, updated_at";

row_struct! {
    struct RefundRow {
        id: String,
        order_id: String,
        payment_id: String,
        line_no: i64,
        amount_minor: i64,
        reason: String,
        provider_ref: Option<String>,
        sent_at: Option<String>,
        created_by: Option<String>,
        created_at: String,
        currency: String,
    }
}

const REFUND_COLUMNS: &str = "r.id, r.order_id, r.payment_id, r.line_no, r.amount_minor, r.reason, \
    r.provider_ref, r.sent_at, r.created_by, r.created_at, p.currency";

fn ts(text: &str) -> StoreResult<Timestamp> {
    Timestamp::from_stored(text).map_err(bad)
}

fn refund_of(r: RefundRow) -> StoreResult<Refund> {
    Ok(Refund {
        id: uuid(T, &r.id)?,
        order_id: uuid(T, &r.order_id)?,
        payment_id: uuid(T, &r.payment_id)?,
        line_no: u32::try_from(r.line_no).map_err(bad)?,
        amount: money(T, r.amount_minor, &r.currency)?,
        reason: r.reason,
        provider_ref: r.provider_ref,
        sent_at: r.sent_at.as_deref().map(ts).transpose()?,
        created_by: r.created_by,
        created_at: ts(&r.created_at)?,
    })
}

/// Payments with their webhook events in one statement: a payment's columns repeat on each of
/// its events (once, with no event, when it has none).
fn payments_query(filter: &str) -> String {
    let payment = PAYMENT_COLUMNS
        .split(", ")
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {payment}, e.event_id, e.kind, e.received_at \
         FROM payments p LEFT JOIN payment_events e ON e.payment_id = p.id WHERE {filter} \
         ORDER BY p.created_at, p.id, e.received_at, e.event_id"
    )
}

/// The payments of `rows` (from [`payments_query`]), in their order.
fn payments_of_rows(rows: &[Row]) -> StoreResult<Vec<Payment>> {
    let mut payments: Vec<Payment> = Vec::new();
    for row in rows {
        let id: String = row.try_get("id")?;
        let same = payments.last().is_some_and(|p| p.id.to_string() == id);
        if !same {
            payments.push(payment_of_row(PaymentRow::from_row(row)?)?);
        }
        if let (Some(event), Some(payment)) = (
            row.try_get::<Option<String>>("event_id")?,
            payments.last_mut(),
        ) {
            payment.webhooks.push(PaymentEvent {
                id: event,
                kind: row.try_get("kind")?,
                received_at: ts(&row.try_get::<String>("received_at")?)?,
            });
        }
    }
    Ok(payments)
}

/// The payment's own row, without its webhook events (for work that does not show them).
fn payment_of_row(r: PaymentRow) -> StoreResult<Payment> {
    Ok(Payment {
        id: uuid(T, &r.id)?,
        order_id: uuid(T, &r.order_id)?,
        provider: r.provider,
        provider_ref: r.provider_ref,
        status: PaymentStatus::parse(&r.status)?,
        amount: money(T, r.amount_minor, &r.currency)?,
        captured: money(T, r.captured_minor, &r.currency)?,
        refunded: money(T, r.refunded_minor, &r.currency)?,
        failure: r.failure,
        webhooks: Vec::new(),
        created_at: ts(&r.created_at)?,
        updated_at: ts(&r.updated_at)?,
    })
}

/// The payment `id` with its events, in one statement.
async fn read_payment(conn: &mut Conn, id: Uuid) -> StoreResult<Payment> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| payments_query("p.id = $1"));
    let rows = sql::query(SQL.as_str())
        .bind(id.to_string())
        .fetch_all(conn)
        .await?;
    payments_of_rows(&rows)?
        .pop()
        .ok_or(StoreError::NotFound { entity: "payment" })
}

async fn payment_in(tx: &mut Conn, id: Uuid) -> StoreResult<Payment> {
    read_payment(tx, id).await
}

/// The order's captured payment (the one refunds go against).
async fn captured_payment_of(tx: &mut Conn, order: &Order) -> StoreResult<Payment> {
    let id: Option<(String,)> =
        sql::query_as("SELECT id FROM payments WHERE order_id = $1 AND status = 'captured'")
            .bind(order.id.to_string())
            .fetch_optional(tx)
            .await?;
    let Some((id,)) = id else {
        return Err(StoreError::InvalidState {
            detail: format!("the order is {}; nothing captured to refund", order.status),
        });
    };
    payment_in(tx, uuid(T, &id)?).await
}

/// Marks a captured payment (and its order) paid: the conditional updates refuse a second capture.
/// Returns the payment as captured (its `updated_at` as stored).
async fn capture_in(
    tx: &mut Conn,
    payment: &Payment,
    note: &str,
    actor: Option<&str>,
) -> StoreResult<Payment> {
    let amount = payment.amount.to_minor().map_err(bad)?;
    let now = Timestamp::now().to_stored();
    let captured = sql::query(
        "UPDATE payments SET status = 'captured', captured_minor = $1, updated_at = $2 WHERE id = $3 AND status = 'authorised'",
    )
    .bind(amount)
    .bind(now.clone())
    .bind(payment.id.to_string())
    .execute(tx)
    .await?
    .rows_affected();
    if captured != 1 {
        let now = payment_in(tx, payment.id).await?;
        return Err(StoreError::InvalidState {
            detail: format!(
                "the payment is {}; only an authorised payment can be captured",
                now.status.as_str()
            ),
        });
    }
    sql::query(
        "UPDATE orders SET captured_minor = captured_minor + $1, updated_at = $2 WHERE id = $3",
    )
    .bind(amount)
    .bind(now.clone())
    .bind(payment.order_id.to_string())
    .execute(tx)
    .await?;
    // An authorised payment's order is authorised (both move in one transaction), unless it
    // was cancelled meanwhile, which the conditional transition refuses.
    transition_from(
        tx,
        payment.order_id,
        OrderStatus::Authorised,
        OrderStatus::Paid,
        note,
        actor,
    )
    .await?;
    Ok(Payment {
        status: PaymentStatus::Captured,
        captured: payment.amount,
        updated_at: ts(&now)?,
        ..payment.clone()
    })
}

async fn sent_refund(tx: &mut Conn, id: Uuid, provider_ref: &str) -> StoreResult<()> {
    sql::query(
        "UPDATE refunds SET provider_ref = $1, sent_at = $2 WHERE id = $3 AND sent_at IS NULL",
    )
    .bind(provider_ref.to_owned())
    .bind(Timestamp::now().to_stored())
    .bind(id.to_string())
    .execute(tx)
    .await?;
    Ok(())
}

/// See [`Store::record_authorisation`].
async fn authorisation_in(
    tx: &mut Conn,
    claim: Option<&IdempotencyClaim>,
    new: &NewPayment,
    render: fn(&Payment) -> (u16, String),
) -> StoreResult<Recorded<Payment>> {
    idempotency::once(tx, claim, render, async |tx| new_payment_in(tx, new).await).await
}

async fn new_payment_in(tx: &mut Conn, new: &NewPayment) -> StoreResult<Payment> {
    let id = Uuid::now_v7();
    let now = Timestamp::now().to_stored();
    let inserted = sql::query(
            "INSERT INTO payments (id, order_id, provider, provider_ref, status, amount_minor, currency, failure, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(id.to_string())
        .bind(new.order_id.to_string())
        .bind(new.provider.clone())
        .bind(new.provider_ref.clone())
        .bind(new.status.as_str())
        .bind(new.amount_minor)
        .bind(new.currency.code())
        .bind(new.failure.clone())
        .bind(now.clone())
        .execute(tx)
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if e.is_unique_violation() => {
            return Err(StoreError::InvalidState {
                    detail: "the order already has a live payment (authorised or captured): it cannot be paid twice".into(),
                });
        }
        Err(e) => return Err(e),
    }
    if new.status == PaymentStatus::Authorised {
        // Only an order pending payment takes a payment; the conditional transition checks it.
        transition_from(
            tx,
            new.order_id,
            OrderStatus::PendingPayment,
            OrderStatus::Authorised,
            &format!("payment authorised by {}", new.provider),
            None,
        )
        .await?;
    }
    // A payment just written has no webhook events yet: they reach it only once it exists.
    let at = ts(&now)?;
    let amount = Money::from_minor(new.amount_minor, new.currency);
    let payment = Payment {
        id,
        order_id: new.order_id,
        provider: new.provider.clone(),
        provider_ref: new.provider_ref.clone(),
        status: new.status,
        amount,
        captured: Money::zero(new.currency),
        refunded: Money::zero(new.currency),
        failure: new.failure.clone(),
        webhooks: Vec::new(),
        created_at: at,
        updated_at: at,
    };
    Ok(payment)
}

/// Refunds inside a write job (see [`Store::refund`]).
async fn refund_lines_in(
    tx: &mut Conn,
    claim: Option<&IdempotencyClaim>,
    req: &RefundRequest,
    render: fn(&RefundOutcome) -> (u16, String),
) -> StoreResult<Recorded<RefundOutcome>> {
    idempotency::once(tx, claim, render, async |tx| apply_refund_in(tx, req).await).await
}

async fn apply_refund_in(tx: &mut Conn, req: &RefundRequest) -> StoreResult<RefundOutcome> {
    let order = order_in(tx, req.order_id).await?;
    if !matches!(
        order.status,
        OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
    ) {
        return Err(StoreError::InvalidState {
            detail: format!(
                "the order is {}; only a paid order can be refunded",
                order.status
            ),
        });
    }
    if req.cancel && order.status.is_shipped() {
        return Err(StoreError::InvalidState {
            detail: format!(
                "the order is {}; it cannot be cancelled after shipment: ask the seller for a refund",
                order.status
            ),
        });
    }
    let payment = captured_payment_of(tx, &order).await?;
    let now = Timestamp::now().to_stored();
    let mut ids = Vec::with_capacity(req.lines.len());
    for (i, &(line_no, amount)) in req.lines.iter().enumerate() {
        let field = format!("lines[{i}].amount");
        let line = order
            .lines
            .iter()
            .find(|l| l.line_no == line_no)
            .ok_or_else(|| StoreError::Exhausted {
                field: format!("lines[{i}].line_no"),
                detail: format!("the order has no line {line_no}"),
            })?;
        let check = pavilion_domain::checkout::check_refund(
            &pavilion_domain::checkout::RefundableLine {
                paid: line.amount,
                refunded: line.refunded,
            },
            Money::from_minor(amount, order.currency),
        );
        if let Err(e) = check {
            return Err(StoreError::Exhausted {
                field,
                detail: e.to_string(),
            });
        }
        let updated = sql::query(
            "UPDATE order_lines SET refunded_minor = refunded_minor + $1 \
             WHERE order_id = $2 AND line_no = $3 AND refunded_minor + $1 <= amount_minor",
        )
        .bind(amount)
        .bind(order.id.to_string())
        .bind(i64::from(line_no))
        .execute(tx)
        .await?
        .rows_affected();
        let order_ok = sql::query(
            "UPDATE orders SET refunded_minor = refunded_minor + $1, version = version + 1, updated_at = $2 \
             WHERE id = $3 AND refunded_minor + $1 <= captured_minor",
        )
        .bind(amount)
        .bind(now.clone())
        .bind(order.id.to_string())
        .execute(tx)
        .await?
        .rows_affected();
        let payment_ok = sql::query(
            "UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2 \
             WHERE id = $3 AND status = 'captured' AND refunded_minor + $1 <= captured_minor",
        )
        .bind(amount)
        .bind(now.clone())
        .bind(payment.id.to_string())
        .execute(tx)
        .await?
        .rows_affected();
        if updated != 1 || order_ok != 1 || payment_ok != 1 {
            return Err(StoreError::Exhausted {
                field,
                detail: "more than is left to refund on this line (someone refunded it meanwhile)"
                    .into(),
            });
        }
        let id = Uuid::now_v7();
        sql::query(
            "INSERT INTO refunds (id, order_id, payment_id, line_no, amount_minor, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(order.id.to_string())
        .bind(payment.id.to_string())
        .bind(i64::from(line_no))
        .bind(amount)
        .bind(req.reason.clone())
        .bind(req.actor.clone())
        .bind(now.clone())
        .execute(tx)
        .await?;
        ids.push(id);
    }
    let after = order_in(tx, order.id).await?;
    if after.refunded == after.captured && after.captured.is_positive() {
        let to = if req.cancel {
            OrderStatus::Cancelled
        } else {
            OrderStatus::Refunded
        };
        transition(tx, &after, to, &req.reason, req.actor.as_deref()).await?;
        if !after.status.is_shipped() {
            release(tx, &after).await?;
        }
    }
    let mut refunds = Vec::with_capacity(ids.len());
    for id in ids {
        refunds.push(refund_in(tx, id).await?);
    }
    let outcome = RefundOutcome {
        refunds,
        payment: payment_in(tx, payment.id).await?,
        order: order_in(tx, order.id).await?,
    };
    Ok(outcome)
}

impl Store {
    /// Records what the provider answered to an authorisation. An authorised payment moves the
    /// order from pending payment to authorised; a second live payment for the order is refused
    /// by the database (`InvalidState`, 409). `render` gives the answer kept for the key.
    pub async fn record_authorisation(
        &self,
        claim: Option<&IdempotencyClaim>,
        new: &NewPayment,
        render: fn(&Payment) -> (u16, String),
    ) -> StoreResult<Recorded<Payment>> {
        self.write((claim.cloned(), new.clone()), move |tx, (claim, new)| {
            Box::pin(authorisation_in(tx, claim.as_ref(), new, render))
        })
        .await
    }

    /// Records an authorisation that was voided at once (it lost a race to another payment of the
    /// order), so that the provider's webhooks about it find it.
    pub async fn record_voided_payment(&self, new: &NewPayment) -> StoreResult<()> {
        // Through the writer like every write (on SQLite, not from a reader connection).
        self.write(new.clone(), |tx, new| {
            Box::pin(async move {
                sql::query(
                    "INSERT INTO payments (id, order_id, provider, provider_ref, status, amount_minor, currency, failure, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'voided', $5, $6, $7, $8, $8) ON CONFLICT (provider, provider_ref) DO NOTHING",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(new.order_id.to_string())
                .bind(new.provider.clone())
                .bind(new.provider_ref.clone())
                .bind(new.amount_minor)
                .bind(new.currency.code())
                .bind(new.failure.clone())
                .bind(Timestamp::now().to_stored())
                .execute(tx)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Captures an authorised payment of `order_id`: the payment becomes captured and the order
    /// paid. Two captures cannot both succeed (conditional updates).
    pub async fn capture_payment(
        &self,
        claim: Option<&IdempotencyClaim>,
        order_id: Uuid,
        payment_id: Uuid,
        actor: Option<&str>,
        render: fn(&Payment) -> (u16, String),
    ) -> StoreResult<Recorded<Payment>> {
        let state = (claim.cloned(), actor.map(str::to_owned));
        self.write(state, move |tx, (claim, actor)| {
            Box::pin(async move {
                idempotency::once(tx, claim.as_ref(), render, async |tx| {
                    let payment = payment_in(tx, payment_id).await?;
                    if payment.order_id != order_id {
                        return Err(StoreError::NotFound { entity: "payment" });
                    }
                    capture_in(tx, &payment, "payment captured", actor.as_deref()).await
                })
                .await
            })
        })
        .await
    }

    /// Voids the order's authorised (not captured) payments on the platform's books; returns them
    /// so the caller can void them with their provider.
    pub async fn void_authorisations(&self, order_id: Uuid) -> StoreResult<Vec<Payment>> {
        self.write(order_id, |tx, order_id| {
            Box::pin(async move {
                let ids: Vec<(String,)> = sql::query_as(
                    "SELECT id FROM payments WHERE order_id = $1 AND status = 'authorised'",
                )
                .bind(order_id.to_string())
                .fetch_all(tx)
                .await?;
                let mut voided = Vec::new();
                for (id,) in ids {
                    let changed = sql::query(
                        "UPDATE payments SET status = 'voided', updated_at = $1 WHERE id = $2 AND status = 'authorised'",
                    )
                    .bind(Timestamp::now().to_stored())
                    .bind(&id)
                    .execute(tx)
                    .await?
                    .rows_affected();
                    if changed == 1 {
                        voided.push(payment_in(tx, uuid(T, &id)?).await?);
                    }
                }
                Ok(voided)
            })
        })
        .await
    }

    /// Refunds lines of a paid order in one transaction: each line, the order and the payment by
    /// conditional updates (the CHECKs guard: never more than was paid), a refund row per line.
    /// When everything captured is returned the order becomes refunded (or cancelled, with
    /// `cancel`), and if it had not shipped its stock, seats and yearly allowance go back.
    pub async fn refund(
        &self,
        claim: Option<&IdempotencyClaim>,
        req: &RefundRequest,
        render: fn(&RefundOutcome) -> (u16, String),
    ) -> StoreResult<Recorded<RefundOutcome>> {
        self.write((claim.cloned(), req.clone()), move |tx, (claim, req)| {
            Box::pin(refund_lines_in(tx, claim.as_ref(), req, render))
        })
        .await
    }

    /// Notes that the provider took a refund, under its reference.
    pub async fn mark_refund_sent(&self, id: Uuid, provider_ref: &str) -> StoreResult<()> {
        self.write((id, provider_ref.to_owned()), |tx, (id, provider_ref)| {
            Box::pin(sent_refund(tx, *id, provider_ref))
        })
        .await
    }

    /// Refunds recorded before `before` that no provider has taken yet (oldest first).
    pub async fn unsent_refunds(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UnsentRefund>> {
        let sql = format!(
            "SELECT {REFUND_COLUMNS}, p.provider, p.provider_ref AS payment_ref FROM refunds r \
             JOIN payments p ON p.id = r.payment_id WHERE r.sent_at IS NULL AND r.created_at < $1 \
             ORDER BY r.created_at LIMIT $2"
        );
        let rows = sql::query(&sql)
            .bind(before.to_stored())
            .bind(i64::from(limit))
            .fetch_all(&mut self.reader().await?)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UnsentRefund {
                    refund: refund_of(RefundRow::from_row(r)?)?,
                    provider: r.try_get("provider")?,
                    payment_ref: r.try_get("payment_ref")?,
                })
            })
            .collect()
    }

    pub async fn payment(&self, id: Uuid) -> StoreResult<Payment> {
        read_payment(&mut self.reader().await?, id).await
    }

    /// An order's payments (every attempt, oldest first) and refunds.
    pub async fn payments_of_order(
        &self,
        order_id: Uuid,
    ) -> StoreResult<(Vec<Payment>, Vec<Refund>)> {
        let mut tx = self.snapshot().await?;
        let rows = sql::query(&payments_query("p.order_id = $1"))
            .bind(order_id.to_string())
            .fetch_all(&mut tx)
            .await?;
        let payments = payments_of_rows(&rows)?;
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds r JOIN payments p ON p.id = r.payment_id \
             WHERE r.order_id = $1 ORDER BY r.created_at, r.id"
        );
        let rows: Vec<RefundRow> = sql::query_as(&sql)
            .bind(order_id.to_string())
            .fetch_all(&mut tx)
            .await?;
        let refunds = rows
            .into_iter()
            .map(refund_of)
            .collect::<StoreResult<_>>()?;
        tx.commit().await?;
        Ok((payments, refunds))
    }

    /// Applies a provider's webhook event once: a second delivery of the same event does nothing.
    /// A `payment.captured` the platform had not recorded (it stopped between the provider's
    /// answer and its own commit) captures the payment now. An event about a payment the
    /// platform does not know is `NotFound` (the provider retries: the platform may not have
    /// committed it yet).
    pub async fn apply_payment_event(
        &self,
        provider: &str,
        event_id: &str,
        provider_ref: &str,
        kind: &str,
    ) -> StoreResult<Applied> {
        let (provider, event_id, provider_ref, kind) = (
            provider.to_owned(),
            event_id.to_owned(),
            provider_ref.to_owned(),
            kind.to_owned(),
        );
        let state = (provider, event_id, provider_ref, kind);
        self.write(state, |tx, (provider, event_id, provider_ref, kind)| {
            Box::pin(async move {
                let (provider, event_id, provider_ref, kind) = (
                    provider.as_str(),
                    event_id.as_str(),
                    provider_ref.as_str(),
                    kind.as_str(),
                );
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE provider = $1 AND provider_ref = $2");
        let row: Option<PaymentRow> = sql::query_as(&sql)
                .bind(provider.to_owned())
                .bind(provider_ref.to_owned())
                .fetch_optional(tx)
                .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound { entity: "payment" });
        };
        let id = row.id.clone();
        let inserted = sql::query(
            "INSERT INTO payment_events (provider, event_id, payment_id, kind, received_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (provider, event_id) DO NOTHING",
        )
        .bind(provider.to_owned())
        .bind(event_id.to_owned())
        .bind(id.clone())
        .bind(kind.to_owned())
        .bind(Timestamp::now().to_stored())
        .execute(tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            return Ok(Applied::AlreadyApplied);
        }
        let payment = payment_of_row(row)?;
        let mut applied = Applied::Applied;
        if kind == "payment.captured" && payment.status != PaymentStatus::Captured {
            let order = order_in(tx, payment.order_id).await?;
            if payment.status == PaymentStatus::Authorised
                && order.status == OrderStatus::Authorised
            {
                // The platform's own capture may be committing right now: let it, and take the
                // webhook (sent again by the provider) only once the payment has been left alone.
                let settled = Timestamp::now()
                    .checked_sub(time::Duration::seconds(CAPTURE_GRACE_SECONDS))
                    .is_some_and(|t| payment.updated_at < t);
                if !settled {
                    return Err(StoreError::InvalidState {
                        detail: "the platform is still settling this payment; send the event again later".into(),
                    });
                }
                capture_in(
                    tx,
                    &payment,
                    &format!("capture confirmed by {provider}'s webhook"),
                    None,
                )
                .await?;
            } else {
                // Captured at the provider for a payment the platform voided (the order was
                // cancelled meanwhile): the money goes back.
                applied = Applied::RefundCapture {
                    amount: payment.amount,
                };
            }
        }
        Ok(applied)
            })
        })
        .await
    }

    /// The reconciliation of the platform's books: (sum of captures − sum of refunds recorded,
    /// sum over orders of captured − refunded, sum over payments of captured − refunded).
    pub async fn money_reconciliation(&self) -> StoreResult<(i64, i64, i64)> {
        let (captures,): (i64,) =
            sql::query_as("SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) FROM payments")
                .fetch_one(&mut self.reader().await?)
                .await?;
        let (refunds,): (i64,) =
            sql::query_as("SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM refunds")
                .fetch_one(&mut self.reader().await?)
                .await?;
        let (orders,): (i64,) = sql::query_as(
            "SELECT CAST(COALESCE(SUM(captured_minor - refunded_minor), 0) AS BIGINT) FROM orders",
        )
        .fetch_one(&mut self.reader().await?)
        .await?;
        let (payments,): (i64,) = sql::query_as(
            "SELECT CAST(COALESCE(SUM(captured_minor - refunded_minor), 0) AS BIGINT) FROM payments",
        )
        .fetch_one(&mut self.reader().await?)
        .await?;
        Ok((captures - refunds, orders, payments))
    }
}

async fn refund_in(tx: &mut Conn, id: Uuid) -> StoreResult<Refund> {
    let sql = format!(
        "SELECT {REFUND_COLUMNS} FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1"
    );
    let row: RefundRow = sql::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "refund" })?;
    refund_of(row)
}

// ---------------------------------------------------------------------------------------------
// The sandbox payment provider's own books. It is a sandbox: nothing here moves money; it lets
// the platform's payment flows run end to end against a provider with state of its own.
// ---------------------------------------------------------------------------------------------

/// A payment in the sandbox provider's books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxPayment {
    pub id: String,
    pub request_ref: String,
    pub merchant_ref: String,
    pub method: String,
    pub amount_minor: i64,
    pub currency: String,
    /// authorised, declined, captured, voided.
    pub status: String,
    pub decline_reason: Option<String>,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

#[derive(Debug, Clone)]
pub struct NewSandboxPayment {
    pub id: String,
    pub request_ref: String,
    pub merchant_ref: String,
    pub method: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub decline_reason: Option<String>,
}

/// A webhook the sandbox owes the platform.
#[derive(Debug, Clone)]
pub struct SandboxWebhook {
    pub id: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
    pub due_at: Timestamp,
}

/// See [`Store::sandbox_refund`]. The refund's row is written first, so that a second request
/// with the same reference waits for the first and answers with its refund; a refusal after it
/// deletes the row again (the job's answer is kept, so its writes must be undone by hand).
async fn sandbox_refund_in(
    tx: &mut Conn,
    id: &str,
    request_ref: &str,
    amount_minor: i64,
    webhook_due: Timestamp,
    body: WebhookBody,
) -> StoreResult<Result<String, SandboxRefusal>> {
    let refund_id = format!("sbx_ref_{}", Uuid::now_v7().simple());
    let now = Timestamp::now().to_stored();
    let Some(payment) = sandbox_payment_in(tx, "id", id).await? else {
        return Ok(Err(SandboxRefusal::NotFound));
    };
    let inserted = sql::query(
        "INSERT INTO sandbox_refunds (id, payment_id, request_ref, amount_minor, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (request_ref) DO NOTHING",
    )
    .bind(&refund_id)
    .bind(&payment.id)
    .bind(request_ref)
    .bind(amount_minor)
    .bind(&now)
    .execute(tx)
    .await?
    .rows_affected();
    if inserted != 1 {
        let (existing,): (String,) =
            sql::query_as("SELECT id FROM sandbox_refunds WHERE request_ref = $1")
                .bind(request_ref)
                .fetch_one(tx)
                .await?;
        return Ok(Ok(existing));
    }
    let refunded = sql::query(
        "UPDATE sandbox_payments SET refunded_minor = refunded_minor + $1, updated_at = $2 \
         WHERE id = $3 AND status = 'captured' AND refunded_minor + $1 <= captured_minor",
    )
    .bind(amount_minor)
    .bind(now)
    .bind(id)
    .execute(tx)
    .await?
    .rows_affected();
    if refunded != 1 {
        sql::query("DELETE FROM sandbox_refunds WHERE id = $1")
            .bind(&refund_id)
            .execute(tx)
            .await?;
        return Ok(Err(if payment.status == "captured" {
            SandboxRefusal::TooMuch
        } else {
            SandboxRefusal::State(payment.status)
        }));
    }
    let payment = sandbox_payment_in(tx, "id", id)
        .await?
        .ok_or_else(|| bad("a sandbox payment vanished"))?;
    queue_webhook(tx, &payment, "payment.refunded", webhook_due, body).await?;
    Ok(Ok(refund_id))
}

/// The webhook to queue with a sandbox operation: its id and body are made from the payment as
/// it is after the operation.
pub type WebhookBody = fn(&SandboxPayment, &str, &str) -> String;

/// Why the sandbox refused an operation on a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxRefusal {
    NotFound,
    /// The payment's status does not allow it (e.g. capturing a voided payment).
    State(String),
    /// More than is left to refund.
    TooMuch,
}

const SANDBOX_COLUMNS: &str = "id, request_ref, merchant_ref, method, amount_minor, currency, status, \
    decline_reason, captured_minor, refunded_minor";

row_struct! {
    struct SandboxRow {
        id: String,
        request_ref: String,
        merchant_ref: String,
        method: String,
        amount_minor: i64,
        currency: String,
        status: String,
        decline_reason: Option<String>,
        captured_minor: i64,
        refunded_minor: i64,
    }
}

impl From<SandboxRow> for SandboxPayment {
    fn from(r: SandboxRow) -> Self {
        SandboxPayment {
            id: r.id,
            request_ref: r.request_ref,
            merchant_ref: r.merchant_ref,
            method: r.method,
            amount_minor: r.amount_minor,
            currency: r.currency,
            status: r.status,
            decline_reason: r.decline_reason,
            captured_minor: r.captured_minor,
            refunded_minor: r.refunded_minor,
        }
    }
}

async fn sandbox_payment_in(
    tx: &mut Conn,
    column: &str,
    value: &str,
) -> StoreResult<Option<SandboxPayment>> {
    let sql = format!("SELECT {SANDBOX_COLUMNS} FROM sandbox_payments WHERE {column} = $1");
    let row: Option<SandboxRow> = sql::query_as(&sql)
        .bind(value.to_owned())
        .fetch_optional(tx)
        .await?;
    Ok(row.map(Into::into))
}

async fn queue_webhook(
    tx: &mut Conn,
    payment: &SandboxPayment,
    event: &str,
    due_at: Timestamp,
    body: WebhookBody,
) -> StoreResult<()> {
    let id = format!("sbx_evt_{}", Uuid::now_v7().simple());
    sql::query(
        "INSERT INTO sandbox_webhooks (id, payment_id, event, body, due_at, attempts) VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(id.clone())
    .bind(payment.id.clone())
    .bind(event.to_owned())
    .bind(body(payment, event, &id))
    .bind(due_at.to_stored())
    .execute(tx)
    .await?;
    Ok(())
}

impl Store {
    /// The sandbox takes an authorisation (or a decline) once per request reference: the same
    /// request again gets the payment made the first time. Queues its webhook.
    pub async fn sandbox_authorise(
        &self,
        new: &NewSandboxPayment,
        webhook_due: Timestamp,
        body: WebhookBody,
    ) -> StoreResult<SandboxPayment> {
        self.write(new.clone(), move |tx, new| {
            Box::pin(async move {
        let now = Timestamp::now().to_stored();
        // The row comes back only when this request inserted it; a retried one reads it.
        let sql = format!(
            "INSERT INTO sandbox_payments (id, request_ref, merchant_ref, method, decline_reason, amount_minor, currency, status, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (request_ref) DO NOTHING \
             RETURNING {SANDBOX_COLUMNS}"
        );
        let inserted: Option<SandboxRow> = sql::query_as(&sql)
        .bind(new.id.clone())
        .bind(new.request_ref.clone())
        .bind(new.merchant_ref.clone())
        .bind(new.method.clone())
        .bind(new.decline_reason.clone())
        .bind(new.amount_minor)
        .bind(new.currency.clone())
        .bind(new.status.clone())
        .bind(now)
        .fetch_optional(tx)
        .await?;
        let Some(payment) = inserted.map(SandboxPayment::from) else {
            return sandbox_payment_in(tx, "request_ref", &new.request_ref)
                .await?
                .ok_or_else(|| bad("a sandbox payment vanished"));
        };
        let event = if payment.status == "authorised" {
            "payment.authorised"
        } else {
            "payment.declined"
        };
        queue_webhook(tx, &payment, event, webhook_due, body).await?;
        Ok(payment)
            })
        })
        .await
    }

    /// The sandbox moves a payment from `from` to `to` (capture: with the captured amount), or
    /// finds it there already (a retried request); queues the webhook when it moved.
    pub async fn sandbox_settle(
        &self,
        id: &str,
        from: &str,
        to: &str,
        captured_minor: Option<i64>,
        webhook_due: Timestamp,
        body: WebhookBody,
    ) -> StoreResult<Result<SandboxPayment, SandboxRefusal>> {
        let state = (id.to_owned(), from.to_owned(), to.to_owned());
        self.write(state, move |tx, (id, from, to)| {
            Box::pin(async move {
                let (id, from, to) = (id.as_str(), from.as_str(), to.as_str());
        let sql = format!(
            "UPDATE sandbox_payments SET status = $1, captured_minor = COALESCE($2, captured_minor), updated_at = $3 \
             WHERE id = $4 AND status = $5 AND COALESCE($2, 0) <= amount_minor RETURNING {SANDBOX_COLUMNS}"
        );
        let moved: Option<SandboxRow> = sql::query_as(&sql)
        .bind(to.to_owned())
        .bind(captured_minor)
        .bind(Timestamp::now().to_stored())
        .bind(id.to_owned())
        .bind(from.to_owned())
        .fetch_optional(tx)
        .await?;
        let (payment, moved) = match moved {
            Some(row) => (SandboxPayment::from(row), true),
            None => match sandbox_payment_in(tx, "id", id).await? {
                Some(payment) => (payment, false),
                None => return Ok(Err(SandboxRefusal::NotFound)),
            },
        };
        if moved {
            let event = format!("payment.{to}");
            queue_webhook(tx, &payment, &event, webhook_due, body).await?;
        } else if payment.status != to
            || captured_minor.is_some_and(|c| c != payment.captured_minor)
        {
            return Ok(Err(SandboxRefusal::State(payment.status)));
        }
        Ok(Ok(payment))
            })
        })
        .await
    }

    /// The sandbox refunds part of a captured payment once per request reference; returns the
    /// refund's id (the same for a retried request) and queues the webhook.
    pub async fn sandbox_refund(
        &self,
        id: &str,
        request_ref: &str,
        amount_minor: i64,
        webhook_due: Timestamp,
        body: WebhookBody,
    ) -> StoreResult<Result<String, SandboxRefusal>> {
        let state = (
            id.to_owned(),
            request_ref.to_owned(),
            amount_minor,
            webhook_due,
        );
        self.write(
            state,
            move |tx, (id, request_ref, amount_minor, webhook_due)| {
                Box::pin(sandbox_refund_in(
                    tx,
                    id,
                    request_ref,
                    *amount_minor,
                    *webhook_due,
                    body,
                ))
            },
        )
        .await
    }

    /// Sandbox webhooks due by `now`, not yet delivered (oldest first).
    pub async fn sandbox_due_webhooks(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<SandboxWebhook>> {
        let rows: Vec<(String, String, String, i64, String)> = sql::query_as(
            "SELECT id, event, body, attempts, due_at FROM sandbox_webhooks \
             WHERE delivered_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now.to_stored())
        .bind(i64::from(limit))
        .fetch_all(&mut self.reader().await?)
        .await?;
        rows.into_iter()
            .map(|(id, event, body, attempts, due_at)| {
                Ok(SandboxWebhook {
                    id,
                    event,
                    body,
                    attempts,
                    due_at: ts(&due_at)?,
                })
            })
            .collect()
    }

    /// Takes due webhooks for one delivery attempt each: counts the attempt and sets when the
    /// next one is due (`next_due` per webhook). Returns the ids taken; another process may
    /// have taken the rest first.
    pub async fn sandbox_take_webhooks(
        &self,
        hooks: &[(&SandboxWebhook, Timestamp)],
    ) -> StoreResult<Vec<String>> {
        let claims: Vec<(String, String, String)> = hooks
            .iter()
            .map(|(hook, next_due)| {
                (
                    hook.id.clone(),
                    hook.due_at.to_stored(),
                    next_due.to_stored(),
                )
            })
            .collect();
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the round: each webhook is taken only if it is still due when it was
        // read (another process may have taken it since), and gets its own next due time.
        let (mut next_due, mut taken_if) = (String::new(), Vec::with_capacity(claims.len()));
        for n in 0..claims.len() {
            let (id, due, next) = (3 * n + 1, 3 * n + 2, 3 * n + 3);
            next_due.push_str(&format!(" WHEN ${id} THEN ${next}"));
            taken_if.push(format!("(id = ${id} AND due_at = ${due})"));
        }
        let sql = format!(
            "UPDATE sandbox_webhooks SET attempts = attempts + 1, due_at = CASE id{next_due} END \
             WHERE delivered_at IS NULL AND ({}) RETURNING id",
            taken_if.join(" OR ")
        );
        // Through the writer like every write: on SQLite a write on a reader connection would
        // wait on the database lock instead of joining the group commit.
        self.write((sql, claims), |tx, (sql, claims)| {
            Box::pin(async move {
                let mut query = sql::query_as(sql);
                for (id, due_at, next_due) in claims {
                    query = query
                        .bind(id.clone())
                        .bind(due_at.clone())
                        .bind(next_due.clone());
                }
                let taken: Vec<(String,)> = query.fetch_all(tx).await?;
                Ok(taken.into_iter().map(|(id,)| id).collect())
            })
        })
        .await
    }

    /// Marks webhooks delivered (in one statement).
    pub async fn sandbox_webhooks_delivered(&self, ids: Vec<String>) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (2..ids.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "UPDATE sandbox_webhooks SET delivered_at = $1 WHERE id IN ({})",
            placeholders.join(", ")
        );
        self.write((sql, ids), |tx, (sql, ids)| {
            Box::pin(async move {
                let mut query = sql::query(sql).bind(Timestamp::now().to_stored());
                for id in ids {
                    query = query.bind(id.clone());
                }
                query.execute(tx).await?;
                Ok(())
            })
        })
        .await
    }
}
