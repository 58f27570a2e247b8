use crate::{StoreError, StoreResult};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};
use std::sync::Once;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Connection settings that do not belong in the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long SQLite waits for a competing writer before giving up.
    pub sqlite_busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// The handle every repository works through: a connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite only: the one connection that writes. SQLite lets one writer in at a time; queueing
    /// writers here (fairly, without sleeping) beats letting them collide on the database's lock,
    /// whose busy handler backs off in sleeps of up to 100 ms.
    writer: Option<AnyPool>,
    backend: Backend,
    /// SQLite only: the group-commit writer, started on first use (see `batch`).
    batch: std::sync::Arc<std::sync::OnceLock<crate::batch::BatchWriter>>,
}

impl std::fmt::Debug for crate::batch::BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchWriter")
    }
}

impl Store {
    /// Connects to `sqlite:…` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);

        let backend = Backend::from_url(url)?;
        let url = sqlite_create_if_missing(url);
        let pool = pool_with(backend, &url, options.max_connections, options, "FULL").await?;
        let writer = match backend {
            Backend::Sqlite => Some(pool_with(backend, &url, 1, options, "FULL").await?),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            writer,
            backend,
            batch: std::sync::Arc::default(),
        })
    }

    /// The group-commit writer (SQLite only), started on first use. Its task holds a handle
    /// without a writer of its own, so it ends when the last handle that can use it is dropped.
    pub(crate) fn batch_writer(&self) -> Option<&crate::batch::BatchWriter> {
        (self.backend == Backend::Sqlite).then(|| {
            self.batch.get_or_init(|| {
                crate::batch::BatchWriter::spawn(Store {
                    pool: self.pool.clone(),
                    writer: self.writer.clone(),
                    backend: self.backend,
                    batch: std::sync::Arc::default(),
                })
            })
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the embedded migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> StoreResult<()> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Starts a transaction that will write.
    ///
    /// On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction
    /// that reads and then writes can fail at once with SQLITE_BUSY instead of waiting.
    pub async fn begin_write(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match (&self.writer, self.backend) {
            (Some(writer), _) => writer.begin_with("BEGIN IMMEDIATE").await?,
            (None, Backend::Sqlite) => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            (None, Backend::Postgres) => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
    }

    /// Starts a transaction for records whose loss in a machine crash is harmless (quotes, which
    /// are simply asked for again): on PostgreSQL the commit does not wait for the WAL flush; on
    /// SQLite it goes through the one writer like every write (its callers batch their records).
    pub(crate) async fn begin_ephemeral(&self) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET LOCAL synchronous_commit TO OFF")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }
}

async fn pool_with(
    backend: Backend,
    url: &str,
    max_connections: u32,
    options: &StoreOptions,
    synchronous: &'static str,
) -> StoreResult<AnyPool> {
    let busy_ms = options.sqlite_busy_timeout.as_millis();
    Ok(AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(options.acquire_timeout)
        // A SQLite connection is a file handle in this process and cannot drop out, so the ping
        // on every acquire (a round trip to its worker thread) buys nothing; a PostgreSQL
        // connection can, and keeps it.
        .test_before_acquire(backend == Backend::Postgres)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the writer; foreign keys are off by default in
                    // SQLite; the busy timeout makes competing writers wait instead of failing.
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = {synchronous};"
                    );
                    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas)))
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

/// SQLite opens read-write but will not create the file unless told to.
fn sqlite_create_if_missing(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// Hides a password in a URL before it reaches an error message or a log.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_chosen_by_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/p.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            Backend::from_url("mysql://u:secret@h/db"),
            Err(StoreError::UnsupportedUrl(u)) if !u.contains("secret")
        ));
    }

    #[test]
    fn sqlite_urls_create_the_file() {
        assert_eq!(
            sqlite_create_if_missing("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_create_if_missing("sqlite://a.db?x=1"),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(
            sqlite_create_if_missing("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/p"),
            "postgres://app:***@db:5432/p"
        );
        assert_eq!(redact_url("sqlite://p.db"), "sqlite://p.db");
    }
}
