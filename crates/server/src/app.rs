//! Building and running the server: one router, its layers, and graceful shutdown.

use crate::catalogue_index::Indexer;
use crate::config::Config;
use crate::observability;
use crate::problem::{ApiError, ProblemKind};
use crate::routes::{self, health};
use crate::rules::Rules;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pavilion_store::sessions::DatabaseSessionStore;
use pavilion_store::{Store, StoreOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa_swagger_ui::SwaggerUi;

pub const SESSION_COOKIE: &str = "pavilion_session";
/// How often the search index follows the catalogue's outbox.
const INDEX_POLL: Duration = Duration::from_millis(250);
/// How often each process checks whether another imported rule packs.
const RULES_POLL: Duration = Duration::from_secs(5);
/// How often unpaid orders past their time are expired (their stock goes back).
const EXPIRY_SWEEP: Duration = Duration::from_secs(5);
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] pavilion_store::StoreError),
    #[error("rule packs: {0}")]
    Rules(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens the configured database (creating the data directory for SQLite).
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
    }
    let default_size = if url.starts_with("sqlite:") {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        u32::try_from(2 * cores).unwrap_or(16)
    } else {
        16
    };
    let options = StoreOptions {
        max_connections: config
            .database_max_connections
            .map_or(default_size, NonZeroU32::get),
        ..StoreOptions::default()
    };
    Ok(Store::connect(&url, &options).await?)
}

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Server {
    /// The server's store (for commands that seed data before serving).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Opens and migrates the database, then binds the listener.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config).await?;
        store.migrate().await?;
        Self::with_store(config, store).await
    }

    /// Binds a server on an already migrated store.
    pub async fn with_store(config: Config, store: Store) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let rules = Rules::load(&store).await.map_err(StartError::Rules)?;
        let catalogue = Indexer::new(config.search_dir());
        let state = AppState::new(
            store,
            config,
            observability::metrics_handle(),
            rules,
            catalogue,
        );
        Ok(Self {
            listener,
            router: router(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.config.listen)
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish
    /// within the configured grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = Duration::from_secs(self.state.config.shutdown_grace_seconds);
        let sessions = DatabaseSessionStore::new(self.state.store.clone());
        let sweeper = tokio::spawn(async move {
            let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every_hour.tick().await;
                if let Err(e) = sessions.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
        });

        let (rules, store) = (self.state.rules.clone(), self.state.store.clone());
        let rules_refresher = tokio::spawn(async move {
            let mut every = tokio::time::interval(RULES_POLL);
            loop {
                every.tick().await;
                match rules.refresh(&store).await {
                    Ok(true) => tracing::info!("rule packs changed: rule book rebuilt"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "imported rule packs do not build; keeping the current book")
                    }
                }
            }
        });
        let (catalogue, store) = (self.state.catalogue.clone(), self.state.store.clone());
        let indexer = tokio::spawn(async move {
            let mut every = tokio::time::interval(INDEX_POLL);
            loop {
                every.tick().await;
                if let Err(e) = catalogue.step(&store).await {
                    tracing::warn!(error = %e, "search index could not catch up; retrying");
                }
            }
        });
        let store = self.state.store.clone();
        let expirer = tokio::spawn(async move {
            let mut every = tokio::time::interval(EXPIRY_SWEEP);
            loop {
                every.tick().await;
                match store
                    .expire_orders(pavilion_store::Timestamp::now(), 500)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(orders = n, "expired unpaid orders"),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not expire unpaid orders; retrying")
                    }
                }
            }
        });
        let payments = crate::payments::spawn_background(self.state.clone(), self.local_addr());
        let (stopping_tx, mut stopping_rx) = watch::channel(false);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopping_tx.send(true);
        };
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let deadline = async move {
            let _ = stopping_rx.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            result = serve => result,
            () = deadline => {
                tracing::warn!(?grace, "grace period over; dropping the requests still running");
                Ok(())
            }
        };
        sweeper.abort();
        rules_refresher.abort();
        indexer.abort();
        expirer.abort();
        payments.iter().for_each(|task| task.abort());
        self.state.store.close().await;
        result
    }

    /// Runs in the background until the returned handle is told to stop (tests, benchmarks).
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr();
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(self.run(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        }));
        RunningServer {
            addr,
            stop: stop_tx,
            task,
        }
    }
}

pub struct RunningServer {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Resolves on SIGTERM or Ctrl-C.
/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when it is
/// first awaited: call it before binding, so that a signal arriving while the server starts is
/// not met by the default action (an abrupt exit).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (terminate, interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { () = wait(terminate) => {}, () = wait(interrupt) => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let (api, openapi) = routes::api_router().split_for_parts();
    let sessions = SessionManagerLayer::new(DatabaseSessionStore::new(state.store.clone()))
        .with_name(SESSION_COOKIE)
        .with_secure(config.secure_cookies)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            config.session_idle_days,
        )));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest("/api/v1", api)
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(sessions)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn(observability::track_requests))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let request_id =
                req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ProblemKind::NotFound, "no such endpoint; see /api/docs")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ProblemKind::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(&"a handler panicked").into_response()
}
