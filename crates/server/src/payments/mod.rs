//! Payment providers behind one trait: authorise, capture, refund, void, and the verification of
//! their webhooks. The server picks a provider by name.
//!
//! The only provider shipped is the SANDBOX (`sandbox`): it really runs, with its own books and
//! its own signed webhooks back into this server, so that checkout can be exercised end to end,
//! but it talks to no payment network and moves no money. No code here claims otherwise.

pub mod sandbox;

use crate::problem::{ApiError, ProblemKind};
use crate::state::AppState;
use axum::http::HeaderMap;
use pavilion_domain::Money;
use pavilion_store::StoreError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A payment provider's answer to an authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStatus {
    Authorised,
    Declined { reason: String },
}

#[derive(Debug, Clone)]
pub struct Authorisation {
    pub provider_ref: String,
    pub status: AuthStatus,
}

#[derive(Debug, Clone)]
pub struct AuthoriseRequest {
    /// The platform's order id (the provider's merchant reference).
    pub order_ref: String,
    /// The platform's reference for this request: the same request twice makes one payment.
    pub request_ref: String,
    pub amount: Money,
    pub payment_method: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The request is wrong (e.g. a payment method the provider does not know).
    #[error("{detail}")]
    Invalid { field: &'static str, detail: String },
    /// The provider's books refuse it (e.g. capturing a voided payment).
    #[error("{0}")]
    Refused(String),
    /// The provider could not be reached or failed; worth a retry.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProviderError> for ApiError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::Invalid { field, detail } => ApiError::invalid(field, detail),
            ProviderError::Refused(detail) => ApiError::new(ProblemKind::Conflict, detail),
            ProviderError::Unavailable(detail) => {
                let mut e = ApiError::new(
                    ProblemKind::Unavailable,
                    format!("{detail}; retry with the same Idempotency-Key"),
                );
                e.retry_after = Some(1);
                e
            }
            ProviderError::Store(e) => e.into(),
        }
    }
}

/// A webhook event, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: String,
    /// e.g. `payment.captured`.
    pub kind: String,
    /// The provider's reference of the payment it is about.
    pub provider_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no {0} header: webhooks must be signed")]
    Unsigned(&'static str),
    #[error("the {0} header is malformed: expected t=<unix seconds>,v1=<hex HMAC-SHA256>")]
    Malformed(&'static str),
    #[error("the signature is more than {0} seconds old (or in the future): a replay is refused")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Forged,
    #[error("the body is not a webhook event: {0}")]
    Body(String),
}

impl WebhookError {
    pub fn into_api(self, header: &'static str) -> ApiError {
        let detail = self.to_string();
        match self {
            WebhookError::Unsigned(_) | WebhookError::Stale(_) | WebhookError::Forged => {
                ApiError::unauthenticated(detail)
            }
            WebhookError::Malformed(_) => {
                ApiError::new(ProblemKind::MalformedJson, detail).with_field(header)
            }
            WebhookError::Body(_) => {
                ApiError::new(ProblemKind::MalformedJson, detail).with_field("body")
            }
        }
    }
}

pub type ProviderFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// What the platform asks of a payment provider. Object-safe: the server holds
/// `Arc<dyn PaymentProvider>` and picks one by name.
pub trait PaymentProvider: Send + Sync {
    /// The provider's name as it appears in the API (`"sandbox"`).
    fn name(&self) -> &'static str;
    fn authorise<'a>(&'a self, req: &'a AuthoriseRequest) -> ProviderFuture<'a, Authorisation>;
    /// Captures an authorised payment in full; capturing it again is not an error.
    fn capture<'a>(&'a self, provider_ref: &'a str, amount: Money) -> ProviderFuture<'a, ()>;
    /// Refunds part of a captured payment once per `request_ref`; returns the provider's refund
    /// reference.
    fn refund<'a>(
        &'a self,
        provider_ref: &'a str,
        amount: Money,
        request_ref: &'a str,
    ) -> ProviderFuture<'a, String>;
    /// Releases an authorisation that will not be captured.
    fn void<'a>(&'a self, provider_ref: &'a str) -> ProviderFuture<'a, ()>;
    /// The header that carries the webhook signature.
    fn signature_header(&self) -> &'static str;
    /// Checks a webhook's signature and reads its event.
    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError>;
}

/// The provider called `name`, or a 422 naming `provider`.
pub async fn provider(state: &AppState, name: &str) -> Result<Arc<dyn PaymentProvider>, ApiError> {
    match name {
        sandbox::NAME if state.config.sandbox.enabled => {
            let key = state.keys().await?.sandbox_webhooks.clone();
            Ok(Arc::new(sandbox::Sandbox::new(
                state.store.clone(),
                state.config.sandbox.clone(),
                key,
            )))
        }
        _ => Err(ApiError::invalid(
            "provider",
            if state.config.sandbox.enabled {
                "unknown payment provider: the only one offered is \"sandbox\" (a test provider that moves no money)"
            } else {
                "no payment provider is enabled on this server"
            },
        )),
    }
}

/// How often background work looks for webhooks to deliver and refunds to send.
const WEBHOOK_POLL: Duration = Duration::from_millis(200);
const REFUND_POLL: Duration = Duration::from_secs(2);
/// How often authorisations never captured by their order's deadline are released.
const UNCAPTURED_POLL: Duration = Duration::from_secs(5);

/// Starts this process's payment background work: delivering the sandbox's webhooks to `addr`
/// (or the configured URL), and sending refunds their provider has not taken yet.
pub fn spawn_background(state: AppState, addr: SocketAddr) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if state.config.sandbox.enabled {
        let url = state.config.sandbox.webhook_url.clone().unwrap_or_else(|| {
            let ip = if addr.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                addr.ip()
            };
            format!(
                "http://{}/api/v1/payments/webhooks/sandbox",
                SocketAddr::new(ip, addr.port())
            )
        });
        let s = state.clone();
        tasks.push(tokio::spawn(async move {
            let client = match reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(provider = "sandbox", error = %e, "cannot build the sandbox's webhook client");
                    return;
                }
            };
            let mut every = tokio::time::interval(WEBHOOK_POLL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let key = match s.keys().await {
                    Ok(k) => k.sandbox_webhooks.clone(),
                    Err(e) => {
                        tracing::warn!(provider = "sandbox", error = %e, "no webhook key yet");
                        continue;
                    }
                };
                if let Err(e) = sandbox::deliver_due(&s.store, &client, &url, &key).await {
                    tracing::warn!(provider = "sandbox", error = %e, "could not deliver sandbox webhooks; retrying");
                }
            }
        }));
    }
    let s = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(UNCAPTURED_POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = release_uncaptured(&s).await {
                tracing::warn!(error = ?e.detail, "could not release uncaptured authorisations; retrying");
            }
        }
    }));
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(REFUND_POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = send_unsent_refunds(&state).await {
                tracing::warn!(error = ?e.detail, "could not send refunds to their provider; retrying");
            }
        }
    }));
    tasks
}

/// Cancels orders whose payment was authorised but never captured by the order's deadline, giving
/// their stock, seats and yearly allowance back, and voids the authorisations with the provider
/// (otherwise a buyer who stops after authorising would hold the goods for ever).
async fn release_uncaptured(state: &AppState) -> Result<(), ApiError> {
    let due = state
        .store
        .uncaptured_past(pavilion_store::Timestamp::now(), 100)
        .await?;
    for id in due {
        match state
            .store
            .cancel_order(
                id,
                "the payment was authorised but not captured in time",
                None,
            )
            .await
        {
            Ok(_) => crate::routes::payments::void_authorisations(state, id).await,
            // Captured or cancelled meanwhile (another request or process): nothing to release.
            Err(pavilion_store::StoreError::InvalidState { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Sends refunds recorded a while ago that their provider has not taken (the process stopped,
/// or the provider failed, right after they were recorded).
async fn send_unsent_refunds(state: &AppState) -> Result<(), ApiError> {
    let before = pavilion_store::Timestamp::now()
        .checked_sub(time::Duration::seconds(5))
        .unwrap_or_else(pavilion_store::Timestamp::now);
    let unsent = state.store.unsent_refunds(before, 100).await?;
    for u in unsent {
        let provider = provider(state, &u.provider).await?;
        match provider
            .refund(&u.payment_ref, u.refund.amount, &u.refund.id.to_string())
            .await
        {
            Ok(reference) => {
                state
                    .store
                    .mark_refund_sent(u.refund.id, &reference)
                    .await?;
                tracing::info!(provider = provider.name(), refund = %u.refund.id, "refund sent to the provider (retried)");
            }
            Err(e) => {
                tracing::warn!(provider = provider.name(), refund = %u.refund.id, error = %e, "the provider did not take the refund; retrying later")
            }
        }
    }
    Ok(())
}
