//! Payments and refunds of orders, through a payment provider chosen by name. The only provider
//! offered is the SANDBOX (`"provider": "sandbox"`): a test provider that moves no money.
//!
//! The flow: the buyer authorises the order's total (`POST /orders/{id}/payments`), then
//! captures it (`…/capture`): the order is paid. The provider confirms each step by a signed
//! webhook (`POST /payments/webhooks/sandbox`), shown on the payment as `webhooks`. Sellers refund
//! their lines and administrators any line (`POST /orders/{id}/refunds`); the buyer cancels a paid
//! order before it ships (`POST /orders/{id}/cancel`), which refunds everything first.
//!
//! Every POST takes an `Idempotency-Key`: a retry gets the first answer, and the key is claimed
//! and the answer recorded in the transaction that records the work.

use crate::checkout::holder::{Holder, OrderToken};
use crate::checkout::keys::Keys;
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::payments::{self, AuthStatus, AuthoriseRequest, PaymentProvider, sandbox};
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::orders::{Viewer, idempotency_key, reach_order, request_hash};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_domain::Money;
use pavilion_domain::checkout::{OrderStatus, RefundableLine, check_refund};
use pavilion_store::checkout::idempotency::{IdempotencyClaim, Replay};
use pavilion_store::checkout::orders::Order;
use pavilion_store::checkout::payments::{
    Applied, NewPayment, Payment, PaymentStatus, Recorded, Refund, RefundOutcome, RefundRequest,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The payment routes, with the security scheme of the sandbox's signed webhooks.
pub fn router() -> OpenApiRouter<AppState> {
    let doc = OpenApiBuilder::new()
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "sandbox_signature",
                    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                        "Pavilion-Sandbox-Signature",
                        "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> under the platform's sandbox webhook key",
                    ))),
                )
                .build(),
        ))
        .build();
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(authorise, list_payments))
        .routes(routes!(capture))
        .routes(routes!(refund))
        .routes(routes!(sandbox_webhook))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// `sandbox`: the test provider (no money moves).
    #[schema(example = "sandbox")]
    pub provider: String,
    /// A test method of the sandbox: `sandbox_card_ok`, `sandbox_card_declined` or
    /// `sandbox_card_slow`.
    #[schema(example = "sandbox_card_ok")]
    pub payment_method: String,
}

/// A payment attempt, with what its provider confirmed by webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub payment: Payment,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPayments {
    #[schema(value_type = Vec<Object>)]
    pub payments: Vec<Payment>,
    /// Per line; a seller sees only their lines' refunds. `sent_at` is set once the provider
    /// took the refund.
    #[schema(value_type = Vec<Object>)]
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineRequest {
    pub line_no: u32,
    /// In the order's currency, e.g. `"12.50"`; omitted means all that is left on the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub lines: Vec<RefundLineRequest>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderMoney {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub status: OrderStatus,
    #[schema(value_type = Object)]
    pub captured: Money,
    #[schema(value_type = Object)]
    pub refunded: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundAnswer {
    pub provider: String,
    #[schema(value_type = Vec<Object>)]
    pub refunds: Vec<Refund>,
    pub order: OrderMoney,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub event: String,
    /// False when the event had been applied before (a repeated delivery).
    pub applied: bool,
}

/// The idempotency scope: the signed-in buyer, or the order's token.
fn scope(holder: &Holder<OrderToken>, order: &Order) -> String {
    match (&holder.caller, &holder.token) {
        (Some(c), _) if order.buyer_user_id == Some(c.user_id()) => format!("user:{}", c.user_id()),
        (_, Some(t)) => format!("order:{}", Keys::token_hash(t)),
        (Some(c), None) => format!("user:{}", c.user_id()),
        (None, None) => format!("order:{}", order.id),
    }
}

/// The reference the provider dedups a request by: the same key and request make one payment.
fn request_ref(claim: &IdempotencyClaim) -> String {
    let digest = Sha256::digest(
        format!("{}\n{}\n{}", claim.scope, claim.key, claim.request_hash).as_bytes(),
    );
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("pay_{hex}")
}

fn json_response(status: u16, body: &str) -> ApiResult<Response> {
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::internal(&e))?;
    let mut response = (status, body.to_owned()).into_response();
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

fn replayed(Replay { status, body }: Replay) -> ApiResult<Response> {
    json_response(status, &body)
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// 402 for a declined payment, naming `payment_method`.
fn declined_problem(reason: &str) -> String {
    to_json(&Problem {
        type_: "/problems/payment-declined".into(),
        title: "The payment was declined".into(),
        status: 402,
        detail: format!("{reason}; try another payment method"),
        field: Some("payment_method".into()),
        errors: Vec::new(),
    })
}

fn buyer_only(viewer: Viewer, what: &str) -> ApiResult<()> {
    if viewer == Viewer::Buyer {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "only the order's buyer {what}"
        )))
    }
}

/// Authorise the order's total with a payment provider (the sandbox).
#[utoipa::path(post, path = "/orders/{id}/payments", tag = "checkout", request_body = PayRequest,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "Makes a retry safe: the same key and body get the same answer")),
    description = "Permission: the buyer (signed in, or with the order's X-Order-Token). \
        Authorises the order's total with the SANDBOX payment provider, a test provider that moves no money: \
        payment methods `sandbox_card_ok`, `sandbox_card_declined`, `sandbox_card_slow`. An order has at most one live payment.",
    security(("session" = []), ("bearer" = []), ("order_token" = [])),
    responses((status = 201, body = PaymentView, description = "Authorised; capture it to pay the order"),
        (status = 401, body = Problem), (status = 402, description = "Declined; `field` is `payment_method`", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The order is not waiting for payment or already has a live payment; the detail names its state", body = Problem),
        (status = 422, description = "Unknown provider or payment method, bad Idempotency-Key, or the key was used for another request", body = Problem),
        (status = 503, description = "The provider failed; retry with the same key", body = Problem)))]
pub async fn authorise(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PayRequest>,
) -> ApiResult<Response> {
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    buyer_only(viewer, "pays for it")?;
    let claim = IdempotencyClaim {
        scope: scope(&holder, &order),
        key: idempotency_key(&headers)?,
        request_hash: request_hash(&format!("POST /orders/{id}/payments"), &req)?,
    };
    if let Some(replay) = state.store.idempotent_replay(&claim).await? {
        return replayed(replay);
    }
    let provider = payments::provider(&state, &req.provider).await?;
    let method = req.payment_method.trim();
    if method.is_empty() || method.len() > 100 {
        return Err(ApiError::invalid("payment_method", "1 to 100 characters"));
    }
    if order.status != OrderStatus::PendingPayment {
        let detail = if order.status == OrderStatus::Authorised {
            "the order is authorised: it already has a live payment (capture it, or cancel the order)".to_owned()
        } else {
            format!(
                "the order is {}; it is not waiting for a payment",
                order.status
            )
        };
        return Err(ApiError::new(ProblemKind::Conflict, detail));
    }
    let auth = provider
        .authorise(&AuthoriseRequest {
            order_ref: order.id.to_string(),
            request_ref: request_ref(&claim),
            amount: order.total,
            payment_method: method.to_owned(),
        })
        .await?;
    let amount_minor = order.total.to_minor().map_err(|e| ApiError::internal(&e))?;
    let (status, failure) = match &auth.status {
        AuthStatus::Authorised => (PaymentStatus::Authorised, None),
        AuthStatus::Declined { reason } => (PaymentStatus::Failed, Some(reason.clone())),
    };
    let new = NewPayment {
        order_id: order.id,
        provider: provider.name().to_owned(),
        provider_ref: auth.provider_ref.clone(),
        status,
        amount_minor,
        currency: order.currency,
        failure,
    };
    let render = |p: &Payment| match (&p.status, &p.failure) {
        (PaymentStatus::Failed, Some(reason)) => (402, declined_problem(reason)),
        _ => (201, to_json(&PaymentView { payment: p.clone() })),
    };
    match state
        .store
        .record_authorisation(Some(&claim), &new, render)
        .await
    {
        Ok(Recorded::New(payment)) => {
            let (status, body) = render(&payment);
            tracing::info!(provider = provider.name(), order = %order.id, payment = %payment.id,
                status = payment.status.as_str(), "payment authorisation recorded");
            json_response(status, &body)
        }
        Ok(Recorded::Replay(replay)) => replayed(replay),
        Err(e) => {
            // The platform could not keep the authorisation (another payment won, the order
            // changed, the key was reused): release it with the provider.
            if auth.status == AuthStatus::Authorised {
                if let Err(void) = provider.void(&auth.provider_ref).await {
                    tracing::warn!(provider = provider.name(), payment = %auth.provider_ref, error = %void,
                        "could not void an authorisation the platform refused");
                }
                let voided = NewPayment {
                    failure: Some(format!("voided: {e}")),
                    ..new
                };
                if let Err(record) = state.store.record_voided_payment(&voided).await {
                    tracing::warn!(error = %record, "could not record a voided authorisation");
                }
            }
            Err(e.into())
        }
    }
}

/// Capture an authorised payment: the order is paid.
#[utoipa::path(post, path = "/orders/{id}/payments/{payment_id}/capture", tag = "checkout",
    params(("id" = Uuid, Path), ("payment_id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "Makes a retry safe: the same key gets the same answer")),
    description = "Permission: the buyer (signed in, or with the order's X-Order-Token). \
        Captures the authorised payment with its provider (the sandbox: no money moves); the order becomes paid.",
    security(("session" = []), ("bearer" = []), ("order_token" = [])),
    responses((status = 200, body = PaymentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The payment is not authorised (e.g. already captured or voided) or the order moved on; the detail names the state", body = Problem),
        (status = 422, body = Problem),
        (status = 503, description = "The provider failed; retry with the same key", body = Problem)))]
pub async fn capture(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath((id, payment_id)): ApiPath<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    buyer_only(viewer, "captures its payment")?;
    let claim = IdempotencyClaim {
        scope: scope(&holder, &order),
        key: idempotency_key(&headers)?,
        request_hash: request_hash(
            &format!("POST /orders/{id}/payments/{payment_id}/capture"),
            &(),
        )?,
    };
    if let Some(replay) = state.store.idempotent_replay(&claim).await? {
        return replayed(replay);
    }
    let payment = match state.store.payment(payment_id).await {
        Ok(p) if p.order_id == id => p,
        Ok(_) | Err(pavilion_store::StoreError::NotFound { .. }) => {
            return Err(ApiError::not_found("payment"));
        }
        Err(e) => return Err(e.into()),
    };
    if payment.status != PaymentStatus::Authorised {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "the payment is {}; only an authorised payment can be captured",
                payment.status.as_str()
            ),
        ));
    }
    if order.status != OrderStatus::Authorised {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!("the order is {}; it cannot become paid", order.status),
        ));
    }
    let provider = payments::provider(&state, &payment.provider).await?;
    provider
        .capture(&payment.provider_ref, payment.amount)
        .await?;
    let render = |p: &Payment| (200, to_json(&PaymentView { payment: p.clone() }));
    let actor = holder.caller.as_ref().map(|c| c.user_id().to_string());
    match state
        .store
        .capture_payment(Some(&claim), id, payment_id, actor.as_deref(), render)
        .await?
    {
        Recorded::New(p) => {
            tracing::info!(provider = provider.name(), order = %id, payment = %p.id, "payment captured");
            let (status, body) = render(&p);
            json_response(status, &body)
        }
        Recorded::Replay(replay) => replayed(replay),
    }
}

/// An order's payments and refunds.
#[utoipa::path(get, path = "/orders/{id}/payments", tag = "checkout", params(("id" = Uuid, Path)),
    description = "Permission: the buyer (signed in, or with the order's X-Order-Token), sellers with goods in it \
        (refunds of their lines only), administrators. Each payment lists the provider's webhooks received (`webhooks`).",
    security(("session" = []), ("bearer" = []), ("order_token" = [])),
    responses((status = 200, body = OrderPayments), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn list_payments(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<OrderPayments>> {
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    let (payments, mut refunds) = state.store.payments_of_order(id).await?;
    if let Viewer::Seller(_) = viewer {
        refunds.retain(|r| order.lines.iter().any(|l| l.line_no == r.line_no));
    }
    Ok(axum::Json(OrderPayments { payments, refunds }))
}

/// Sends recorded refunds to the provider now; what it does not take is retried in the background.
async fn send_refunds(state: &AppState, provider: &dyn PaymentProvider, outcome: &RefundOutcome) {
    for r in &outcome.refunds {
        match provider
            .refund(&outcome.payment.provider_ref, r.amount, &r.id.to_string())
            .await
        {
            Ok(reference) => {
                if let Err(e) = state.store.mark_refund_sent(r.id, &reference).await {
                    tracing::warn!(refund = %r.id, error = %e, "could not note a sent refund; it will be sent again (once)");
                }
            }
            Err(e) => {
                tracing::warn!(provider = provider.name(), refund = %r.id, error = %e,
                    "the provider did not take the refund now; retrying in the background")
            }
        }
    }
}

fn refund_answer(outcome: &RefundOutcome) -> String {
    to_json(&RefundAnswer {
        provider: outcome.payment.provider.clone(),
        refunds: outcome.refunds.clone(),
        order: OrderMoney {
            id: outcome.order.id,
            status: outcome.order.status,
            captured: outcome.order.captured,
            refunded: outcome.order.refunded,
        },
    })
}

/// Refund lines of a paid order (partially or in full), through its payment's provider.
#[utoipa::path(post, path = "/orders/{id}/refunds", tag = "checkout", request_body = RefundBody,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "Makes a retry safe: the same key and body get the same answer")),
    description = "Permission: sellers of the lines refunded (their own lines only), administrators (any line). \
        The buyer cancels instead (before shipment). A line is refunded at most what was paid for it; when \
        everything paid is refunded the order becomes `refunded`, and if it had not shipped its stock, seats and \
        yearly allowance go back. Refunds are recorded, then sent to the provider (the sandbox: no money moves); \
        one it does not take at once is retried in the background.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = RefundAnswer), (status = 401, body = Problem),
        (status = 403, description = "The buyer, or a seller refunding another seller's line", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The order is not paid (the detail names its state), or the line was refunded meanwhile (`field` names it)", body = Problem),
        (status = 422, description = "A line that does not exist, an amount that is not positive, not in the order's currency or more than is left (`field` names it)", body = Problem)))]
pub async fn refund(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RefundBody>,
) -> ApiResult<Response> {
    let Some(caller) = holder.caller.as_ref() else {
        return Err(ApiError::unauthenticated(
            "sign in as the seller or an administrator to refund",
        ));
    };
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    if viewer == Viewer::Buyer {
        return Err(ApiError::forbidden(
            "the buyer cannot refund: cancel the order before it ships (POST /orders/{id}/cancel), or ask the seller",
        ));
    }
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason", "1 to 500 characters"));
    }
    if req.lines.is_empty() || req.lines.len() > 200 {
        return Err(ApiError::invalid("lines", "1 to 200 lines"));
    }
    let full = if viewer == Viewer::Admin {
        order.clone()
    } else {
        state.store.order(id).await?
    };
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.iter().enumerate() {
        if req.lines[..i].iter().any(|o| o.line_no == l.line_no) {
            return Err(ApiError::invalid(
                format!("lines[{i}].line_no"),
                "the line is listed twice",
            ));
        }
        let Some(line) = full.lines.iter().find(|x| x.line_no == l.line_no) else {
            return Err(ApiError::invalid(
                format!("lines[{i}].line_no"),
                format!("the order has no line {}", l.line_no),
            ));
        };
        if let Viewer::Seller(org) = viewer
            && line.seller_id != org
        {
            return Err(ApiError::forbidden(format!(
                "line {} is another seller's: a seller refunds only their own lines",
                l.line_no
            )));
        }
        let field = format!("lines[{i}].amount");
        let amount = match &l.amount {
            Some(text) => Money::parse(text.trim(), order.currency).map_err(|e| {
                ApiError::invalid(
                    field.clone(),
                    format!("an amount in {} such as \"12.50\": {e}", order.currency),
                )
            })?,
            None => line
                .amount
                .checked_sub(line.refunded)
                .map_err(|e| ApiError::internal(&e))?,
        };
        check_refund(
            &RefundableLine {
                paid: line.amount,
                refunded: line.refunded,
            },
            amount,
        )
        .map_err(|e| ApiError::invalid(field.clone(), e.to_string()))?;
        let minor = amount
            .to_minor()
            .map_err(|e| ApiError::invalid(field, e.to_string()))?;
        lines.push((l.line_no, minor));
    }
    if !matches!(
        order.status,
        OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
    ) {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "the order is {}; only a paid order can be refunded",
                order.status
            ),
        ));
    }
    let claim = IdempotencyClaim {
        scope: format!("user:{}", caller.user_id()),
        key: idempotency_key(&headers)?,
        request_hash: request_hash(&format!("POST /orders/{id}/refunds"), &req)?,
    };
    if let Some(replay) = state.store.idempotent_replay(&claim).await? {
        return replayed(replay);
    }
    let request = RefundRequest {
        order_id: id,
        lines,
        reason: reason.to_owned(),
        actor: Some(caller.user_id().to_string()),
        cancel: false,
    };
    let render = |o: &RefundOutcome| (201, refund_answer(o));
    match state.store.refund(Some(&claim), &request, render).await? {
        Recorded::New(outcome) => {
            let provider = payments::provider(&state, &outcome.payment.provider).await?;
            send_refunds(&state, provider.as_ref(), &outcome).await;
            tracing::info!(provider = provider.name(), order = %id, refunds = outcome.refunds.len(),
                status = %outcome.order.status, "order refunded");
            json_response(201, &refund_answer(&outcome))
        }
        Recorded::Replay(replay) => replayed(replay),
    }
}

/// The buyer's cancellation of a paid order that has not shipped: refunds everything left
/// through the provider, then the order is cancelled and its stock, seats and allowance go back.
pub async fn refund_and_cancel(
    state: &AppState,
    id: Uuid,
    reason: &str,
    actor: Option<&str>,
) -> ApiResult<Order> {
    let order = state.store.order(id).await?;
    if !matches!(order.status, OrderStatus::Paid) {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "the order is {}; the buyer cancels only before shipment (ask the seller for a refund)",
                order.status
            ),
        ));
    }
    let mut lines = Vec::new();
    for l in &order.lines {
        let left = l
            .amount
            .checked_sub(l.refunded)
            .and_then(|m| m.to_minor())
            .map_err(|e| ApiError::internal(&e))?;
        if left > 0 {
            lines.push((l.line_no, left));
        }
    }
    let request = RefundRequest {
        order_id: id,
        lines,
        reason: reason.to_owned(),
        actor: actor.map(str::to_owned),
        cancel: true,
    };
    let render = |o: &RefundOutcome| (200, refund_answer(o));
    let outcome = match state.store.refund(None, &request, render).await? {
        Recorded::New(outcome) => outcome,
        Recorded::Replay(_) => return Err(ApiError::internal(&"a replay without a key")),
    };
    let provider = payments::provider(state, &outcome.payment.provider).await?;
    send_refunds(state, provider.as_ref(), &outcome).await;
    tracing::info!(provider = provider.name(), order = %id, "paid order cancelled by the buyer and refunded");
    Ok(outcome.order)
}

/// After an unpaid (or authorised, not captured) order is cancelled: releases its
/// authorisations with their provider.
pub async fn void_authorisations(state: &AppState, id: Uuid) {
    let voided = match state.store.void_authorisations(id).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(order = %id, error = %e, "could not void the cancelled order's authorisations");
            return;
        }
    };
    for p in voided {
        match payments::provider(state, &p.provider).await {
            Ok(provider) => {
                if let Err(e) = provider.void(&p.provider_ref).await {
                    tracing::warn!(provider = provider.name(), payment = %p.provider_ref, error = %e, "could not void an authorisation");
                }
            }
            Err(e) => {
                tracing::warn!(payment = %p.id, error = ?e.detail, "no provider to void with")
            }
        }
    }
}

/// The sandbox provider's webhook: applies what it confirms (once per event).
#[utoipa::path(post, path = "/payments/webhooks/sandbox", tag = "checkout",
    request_body(content = Object, description = "The sandbox's event: `id`, `type` (`payment.authorised`, \
        `payment.declined`, `payment.captured`, `payment.refunded`, `payment.voided`), `provider` (`sandbox`) and `payment`."),
    params(("Pavilion-Sandbox-Signature" = String, Header,
        description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">; refused when more than 5 minutes from now")),
    description = "Permission: the sandbox payment provider (signed webhook). The SANDBOX is a test provider that moves \
        no money; this server's own background task delivers its webhooks here. An event already applied is acknowledged \
        and ignored; one about a payment the platform has not recorded yet gets 404, and the sandbox sends it again later.",
    security(("sandbox_signature" = [])),
    responses((status = 200, body = WebhookAck), (status = 400, description = "A malformed signature header or body", body = Problem),
        (status = 401, description = "No signature, a forged one or a stale one", body = Problem),
        (status = 404, description = "Unknown payment (yet)", body = Problem),
        (status = 409, description = "The platform is still settling the payment: send it again later", body = Problem)))]
pub async fn sandbox_webhook(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> ApiResult<axum::Json<WebhookAck>> {
    let (parts, body) = request.into_parts();
    if !parts.headers.contains_key(sandbox::SIGNATURE_HEADER) {
        return Err(ApiError::unauthenticated(
            "no Pavilion-Sandbox-Signature header: webhooks must be signed",
        ));
    }
    let provider = payments::provider(&state, sandbox::NAME).await?;
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                ProblemKind::PayloadTooLarge,
                "the webhook body is too large",
            )
        })?;
    let event = provider
        .verify_webhook(&parts.headers, &bytes)
        .map_err(|e| e.into_api("Pavilion-Sandbox-Signature"))?;
    let applied = state
        .store
        .apply_payment_event(provider.name(), &event.id, &event.provider_ref, &event.kind)
        .await?;
    tracing::info!(provider = provider.name(), event = %event.id, kind = %event.kind, payment = %event.provider_ref,
        applied = ?applied, "payment webhook received");
    if let Applied::RefundCapture { amount } = &applied {
        let reference = format!("undo-capture:{}", event.provider_ref);
        if let Err(e) = provider
            .refund(&event.provider_ref, *amount, &reference)
            .await
        {
            tracing::error!(provider = provider.name(), payment = %event.provider_ref, error = %e,
                "the provider captured a payment the platform had voided, and would not refund it");
        }
    }
    Ok(axum::Json(WebhookAck {
        event: event.id,
        applied: applied != Applied::AlreadyApplied,
    }))
}
