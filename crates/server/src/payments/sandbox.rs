//! The SANDBOX payment provider. It is a test stand-in: it talks to no payment network and no
//! money moves. It really runs, though: it keeps its own books (the `sandbox_*` tables, apart
//! from the platform's `payments`), answers by test payment method, fails and lags as configured
//! (`[sandbox]` in the configuration), and after every operation sends a webhook back into the
//! server, signed with HMAC-SHA256 and retried with backoff until it is delivered.
//!
//! Test payment methods:
//! - `sandbox_card_ok`: authorised;
//! - `sandbox_card_declined`: declined;
//! - `sandbox_card_slow`: authorised after `slow_card_delay_ms`.
//!
//! Webhook signature: header `Pavilion-Sandbox-Signature: t=<unix seconds>,v1=<hex>` where `hex`
//! is HMAC-SHA256 over `"<t>.<body>"` with the platform's `sandbox_webhooks` key; a signature
//! more than five minutes from now is refused (replays).

use super::{
    AuthStatus, Authorisation, AuthoriseRequest, PaymentProvider, ProviderError, ProviderFuture,
    WebhookError, WebhookEvent,
};
use crate::checkout::keys::{mac_hex, same};
use crate::config::SandboxConfig;
use axum::http::HeaderMap;
use pavilion_domain::Money;
use pavilion_store::checkout::payments::{
    NewSandboxPayment, SandboxPayment, SandboxRefusal, SandboxWebhook,
};
use pavilion_store::{Store, StoreResult, Timestamp};
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

pub const NAME: &str = "sandbox";
pub const SIGNATURE_HEADER: &str = "pavilion-sandbox-signature";
/// How far a signature's time may be from now.
pub const TOLERANCE_SECONDS: i64 = 300;

pub const CARD_OK: &str = "sandbox_card_ok";
pub const CARD_DECLINED: &str = "sandbox_card_declined";
pub const CARD_SLOW: &str = "sandbox_card_slow";

pub struct Sandbox {
    store: Store,
    config: SandboxConfig,
    key: String,
}

/// The webhook body: the event and the sandbox payment as it is after the operation.
fn webhook_body(payment: &SandboxPayment, event: &str, id: &str) -> String {
    serde_json::json!({
        "id": id,
        "type": event,
        "provider": NAME,
        "sandbox": true,
        "created": Timestamp::now(),
        "payment": payment,
    })
    .to_string()
}

/// `t=…,v1=…` for `body` at `t`.
pub fn signature(key: &str, t: i64, body: &[u8]) -> String {
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={t},v1={}", mac_hex(key, &message))
}

fn roll(percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return false;
    }
    u32::from_le_bytes(b) % 100 < u32::from(percent)
}

fn minor(m: Money) -> Result<i64, ProviderError> {
    m.to_minor()
        .map_err(|e| ProviderError::Refused(format!("sandbox: {e}")))
}

impl Sandbox {
    pub fn new(store: Store, config: SandboxConfig, key: String) -> Self {
        Self { store, config, key }
    }

    fn webhook_due(&self) -> Timestamp {
        let delay = i64::try_from(self.config.webhook_delay_ms).unwrap_or(i64::MAX);
        Timestamp::now()
            .checked_add(time::Duration::milliseconds(delay))
            .unwrap_or_else(Timestamp::now)
    }

    async fn lag(&self, extra_ms: u64) {
        let ms = self.config.delay_ms.saturating_add(extra_ms);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    fn outage(&self, what: &str) -> Result<(), ProviderError> {
        if roll(self.config.fail_rate_percent) {
            tracing::info!(
                provider = NAME,
                operation = what,
                "sandbox: simulated provider failure (fail_rate_percent)"
            );
            return Err(ProviderError::Unavailable(format!(
                "the sandbox payment provider failed the {what} (a simulated failure: fail_rate_percent = {})",
                self.config.fail_rate_percent
            )));
        }
        Ok(())
    }

    async fn do_authorise(&self, req: &AuthoriseRequest) -> Result<Authorisation, ProviderError> {
        let (extra, declined) = match req.payment_method.as_str() {
            CARD_OK => (0, None),
            CARD_SLOW => (self.config.slow_card_delay_ms, None),
            CARD_DECLINED => (
                0,
                Some(
                    "the sandbox declined the card (test method sandbox_card_declined)".to_owned(),
                ),
            ),
            _ => {
                return Err(ProviderError::Invalid {
                    field: "payment_method",
                    detail: format!(
                        "unknown sandbox test payment method: use {CARD_OK}, {CARD_DECLINED} or {CARD_SLOW}"
                    ),
                });
            }
        };
        self.lag(extra).await;
        let declined = declined.or_else(|| {
            roll(self.config.fail_rate_percent).then(|| {
                format!(
                    "the sandbox declined the card (a simulated failure: fail_rate_percent = {})",
                    self.config.fail_rate_percent
                )
            })
        });
        let new = NewSandboxPayment {
            id: format!("sbx_pay_{}", Uuid::now_v7().simple()),
            request_ref: req.request_ref.clone(),
            merchant_ref: req.order_ref.clone(),
            method: req.payment_method.clone(),
            amount_minor: minor(req.amount)?,
            currency: req.amount.currency().code().to_owned(),
            status: if declined.is_some() {
                "declined"
            } else {
                "authorised"
            }
            .to_owned(),
            decline_reason: declined,
        };
        let payment = self
            .store
            .sandbox_authorise(&new, self.webhook_due(), webhook_body)
            .await?;
        tracing::info!(provider = NAME, payment = %payment.id, status = %payment.status, "sandbox: authorisation");
        Ok(Authorisation {
            provider_ref: payment.id,
            status: match payment.decline_reason {
                Some(reason) if payment.status == "declined" => AuthStatus::Declined { reason },
                _ => AuthStatus::Authorised,
            },
        })
    }

    async fn settle(
        &self,
        what: &str,
        provider_ref: &str,
        from: &str,
        to: &str,
        captured: Option<i64>,
    ) -> Result<(), ProviderError> {
        self.lag(0).await;
        self.outage(what)?;
        let done = self
            .store
            .sandbox_settle(
                provider_ref,
                from,
                to,
                captured,
                self.webhook_due(),
                webhook_body,
            )
            .await?;
        match done {
            Ok(p) => {
                tracing::info!(provider = NAME, payment = %p.id, status = %p.status, "sandbox: {what}");
                Ok(())
            }
            Err(refusal) => Err(refused(what, refusal)),
        }
    }
}

fn refused(what: &str, refusal: SandboxRefusal) -> ProviderError {
    ProviderError::Refused(match refusal {
        SandboxRefusal::NotFound => format!("sandbox {what}: the sandbox has no such payment"),
        SandboxRefusal::State(s) => format!("sandbox {what}: the sandbox payment is {s}"),
        SandboxRefusal::TooMuch => {
            format!("sandbox {what}: more than the sandbox payment has left to refund")
        }
    })
}

impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn authorise<'a>(&'a self, req: &'a AuthoriseRequest) -> ProviderFuture<'a, Authorisation> {
        Box::pin(self.do_authorise(req))
    }

    fn capture<'a>(&'a self, provider_ref: &'a str, amount: Money) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let amount = minor(amount)?;
            self.settle(
                "capture",
                provider_ref,
                "authorised",
                "captured",
                Some(amount),
            )
            .await
        })
    }

    fn refund<'a>(
        &'a self,
        provider_ref: &'a str,
        amount: Money,
        request_ref: &'a str,
    ) -> ProviderFuture<'a, String> {
        Box::pin(async move {
            self.lag(0).await;
            self.outage("refund")?;
            let done = self
                .store
                .sandbox_refund(
                    provider_ref,
                    request_ref,
                    minor(amount)?,
                    self.webhook_due(),
                    webhook_body,
                )
                .await?;
            match done {
                Ok(id) => {
                    tracing::info!(provider = NAME, payment = %provider_ref, refund = %id, "sandbox: refund");
                    Ok(id)
                }
                Err(refusal) => Err(refused("refund", refusal)),
            }
        })
    }

    fn void<'a>(&'a self, provider_ref: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            self.settle("void", provider_ref, "authorised", "voided", None)
                .await
        })
    }

    fn signature_header(&self) -> &'static str {
        SIGNATURE_HEADER
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        verify(
            &self.key,
            headers,
            body,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
    }
}

/// Checks a sandbox webhook's signature at `now` and reads its event.
pub fn verify(
    key: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<WebhookEvent, WebhookError> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .ok_or(WebhookError::Unsigned("Pavilion-Sandbox-Signature"))?
        .to_str()
        .map_err(|_| WebhookError::Malformed("Pavilion-Sandbox-Signature"))?;
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(WebhookError::Malformed("Pavilion-Sandbox-Signature"));
    };
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale(TOLERANCE_SECONDS));
    }
    let expected = signature(key, t, body);
    let expected = expected.rsplit_once("v1=").map(|(_, m)| m).unwrap_or("");
    if !same(expected, v1) {
        return Err(WebhookError::Forged);
    }
    #[derive(Deserialize)]
    struct Body {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        payment: PaymentRef,
    }
    #[derive(Deserialize)]
    struct PaymentRef {
        id: String,
    }
    let parsed: Body =
        serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    Ok(WebhookEvent {
        id: parsed.id,
        kind: parsed.kind,
        provider_ref: parsed.payment.id,
    })
}

/// How many webhooks one round takes and sends at once.
const WEBHOOK_ROUND: u32 = 64;

/// Delivers the sandbox's due webhooks to `url`, each once per attempt (across processes), and
/// leaves the undelivered ones due again after a backoff (0.5 s doubling, at most a minute).
/// Webhooks go out in rounds: a round takes its webhooks in one write, sends them concurrently and
/// records the delivered ones in one write; rounds follow each other while webhooks are due.
pub async fn deliver_due(
    store: &Store,
    client: &reqwest::Client,
    url: &str,
    key: &str,
) -> StoreResult<()> {
    loop {
        let due = store
            .sandbox_due_webhooks(Timestamp::now(), WEBHOOK_ROUND)
            .await?;
        let more = due.len() == WEBHOOK_ROUND as usize;
        let claims: Vec<(&SandboxWebhook, Timestamp)> = due
            .iter()
            .map(|hook| {
                let backoff_ms = 500i64
                    .saturating_mul(1 << hook.attempts.clamp(0, 7))
                    .min(60_000);
                let next = Timestamp::now()
                    .checked_add(time::Duration::milliseconds(backoff_ms))
                    .unwrap_or_else(Timestamp::now);
                (hook, next)
            })
            .collect();
        let taken = store.sandbox_take_webhooks(&claims).await?;
        let mut sending = tokio::task::JoinSet::new();
        for hook in due.into_iter().filter(|h| taken.contains(&h.id)) {
            let (client, url, key) = (client.clone(), url.to_owned(), key.to_owned());
            sending.spawn(async move {
                let delivered = send_webhook(&client, &url, &key, &hook).await;
                delivered.then_some(hook.id)
            });
        }
        let mut delivered = Vec::new();
        while let Some(sent) = sending.join_next().await {
            if let Ok(Some(id)) = sent {
                delivered.push(id);
            }
        }
        store.sandbox_webhooks_delivered(delivered).await?;
        if !more {
            return Ok(());
        }
    }
}

/// Sends one webhook; true when the server took it.
async fn send_webhook(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    hook: &SandboxWebhook,
) -> bool {
    let t = time::OffsetDateTime::now_utc().unix_timestamp();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature(key, t, hook.body.as_bytes()))
        .body(hook.body.clone())
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => {
            tracing::debug!(provider = NAME, webhook = %hook.id, event = %hook.event, "sandbox: webhook delivered");
            true
        }
        Ok(res) => {
            tracing::info!(provider = NAME, webhook = %hook.id, event = %hook.event, status = %res.status(),
                attempt = hook.attempts + 1, "sandbox: webhook refused; will retry");
            false
        }
        Err(e) => {
            tracing::info!(provider = NAME, webhook = %hook.id, event = %hook.event, error = %e,
                attempt = hook.attempts + 1, "sandbox: webhook not delivered; will retry");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_for_key_body_and_time() {
        let body = br#"{"id":"e1","type":"payment.captured","payment":{"id":"sbx_pay_1"}}"#;
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            signature("k", 1000, body).parse().unwrap(),
        );
        let event = verify("k", &headers, body, 1010).unwrap();
        assert_eq!(event.kind, "payment.captured");
        assert_eq!(event.provider_ref, "sbx_pay_1");
        assert_eq!(
            verify("other", &headers, body, 1010),
            Err(WebhookError::Forged)
        );
        assert_eq!(
            verify("k", &headers, b"{}", 1010),
            Err(WebhookError::Forged)
        );
        assert_eq!(
            verify("k", &headers, body, 1000 + TOLERANCE_SECONDS + 1),
            Err(WebhookError::Stale(TOLERANCE_SECONDS))
        );
        headers.insert(SIGNATURE_HEADER, "nonsense".parse().unwrap());
        assert!(matches!(
            verify("k", &headers, body, 1000),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            verify("k", &HeaderMap::new(), body, 1000),
            Err(WebhookError::Unsigned(_))
        ));
    }
}
