use crate::batch::BatchWriter;
use crate::sql::sqlite::{Lease, SqliteDb};
use crate::sql::{self, Conn};
use crate::{StoreError, StoreResult};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
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
    backend: Backend,
    /// SQLite only: the file's in-place connections and the group-commit writer.
    sqlite: Option<SqliteParts>,
}

#[derive(Clone)]
struct SqliteParts {
    db: Arc<SqliteDb>,
    batch: BatchWriter,
}

impl std::fmt::Debug for SqliteParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteParts")
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
        let sqlite = match backend {
            Backend::Sqlite => {
                let db = SqliteDb::new(&sqlite_file(&url)?, options.sqlite_busy_timeout);
                let batch = BatchWriter::spawn(db.open_writer()?, db.open_checkpointer()?)?;
                Some(SqliteParts { db, batch })
            }
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            sqlite,
        })
    }

    /// The group-commit writer (SQLite only).
    pub(crate) fn batch_writer(&self) -> Option<&BatchWriter> {
        self.sqlite.as_ref().map(|s| &s.batch)
    }

    /// A connection for reading: on SQLite a reader whose statements run in the calling task
    /// (a point read takes microseconds, less than a hand-off to another thread), on PostgreSQL
    /// one from the pool.
    pub(crate) async fn reader(&self) -> StoreResult<Conn> {
        Ok(match &self.sqlite {
            Some(sqlite) => Conn::Sqlite(sqlite.db.reader()?),
            None => Conn::Pooled(self.pool.acquire().await?),
        })
    }

    /// A read transaction across several statements, ended when dropped: on SQLite one snapshot,
    /// on PostgreSQL read committed (as its default transaction).
    pub(crate) async fn snapshot(&self) -> StoreResult<Conn> {
        Ok(match &self.sqlite {
            Some(sqlite) => {
                let mut lease = sqlite.db.reader()?;
                lease.execute_batch("BEGIN")?;
                Conn::Sqlite(lease)
            }
            None => Conn::Tx(self.pool.begin().await?),
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

    /// A PostgreSQL transaction for a write job (on SQLite, jobs run on the group-commit
    /// writer instead).
    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(self.pool.begin().await?)
    }

    /// A write transaction of its own for the bulk import, which streams for as long as its file
    /// is read and so cannot be a job of the group-commit writer. On SQLite it is a connection
    /// of its own that takes the write lock up front (`BEGIN IMMEDIATE`), whose statements run
    /// in the calling task; it is closed, and rolled back if not committed, when dropped.
    pub(crate) async fn begin_import(&self) -> StoreResult<Conn> {
        Ok(match &self.sqlite {
            Some(sqlite) => {
                let mut lease = Lease::owned(sqlite.db.open_writer()?);
                // Each multi-row insert keeps a statement journal (its foreign keys could
                // undo it alone); kept in memory, not in a temporary file.
                lease.execute_batch("PRAGMA temp_store = MEMORY; BEGIN IMMEDIATE")?;
                Conn::Sqlite(lease)
            }
            None => Conn::Tx(self.pool.begin().await?),
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a PostgreSQL transaction for records whose loss in a machine crash is harmless
    /// (quotes, which are simply asked for again): the commit does not wait for the WAL flush.
    /// (On SQLite such records join the group commit like every write.)
    pub(crate) async fn begin_ephemeral(&self) -> StoreResult<Conn> {
        let mut tx = Conn::Tx(self.pool.begin().await?);
        sql::query("SET LOCAL synchronous_commit TO OFF")
            .execute(&mut tx)
            .await?;
        Ok(tx)
    }
}

/// The file a `sqlite:` URL names. An in-memory database is refused: the store's connections
/// (sqlx's and its own) must all see one database.
fn sqlite_file(url: &str) -> StoreResult<PathBuf> {
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    if url.contains(":memory:") || url.contains("mode=memory") || file.as_os_str().is_empty() {
        return Err(StoreError::UnsupportedUrl(format!(
            "{} (in-memory SQLite is not supported; give a file)",
            redact_url(url)
        )));
    }
    Ok(file.to_owned())
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
