use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in the store, in terms the server can map to a response.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A uniqueness rule was broken, e.g. an e-mail address already registered.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// An optimistic-concurrency check failed: the row changed since the caller read it.
    #[error("{entity} was changed by someone else (now at version {current})")]
    VersionMismatch { entity: &'static str, current: i64 },
    /// The operation does not fit the current state (e.g. approving an approved application).
    #[error("{detail}")]
    InvalidState { detail: String },
    /// A business rule refused the input; `field` names it.
    #[error("{field}: {detail}")]
    Rule { field: &'static str, detail: String },
    /// Stock, seats or a limit ran out for what `field` asks; someone else got there first.
    #[error("{field}: {detail}")]
    Exhausted { field: String, detail: String },
    /// An idempotency key came back with a different request.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyMismatch,
    /// The database could not take the work (e.g. a batched write failed); worth a retry.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("unsupported database URL {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    /// A row that the schema should have made impossible.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// SQLite, where its statements run in place (see `sql`).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The database could not take the work now (pool exhausted or shutting down); worth a retry.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Database(e) => {
                matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
            }
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }

    pub(crate) fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            table,
            detail: detail.to_string(),
        }
    }

    /// Turns a unique-constraint violation into `Conflict { field }`, leaving other errors as
    /// they are.
    pub(crate) fn unique_as(field: &'static str) -> impl FnOnce(StoreError) -> StoreError {
        move |err| {
            if err.is_unique_violation() {
                StoreError::Conflict { field }
            } else {
                err
            }
        }
    }

    pub(crate) fn is_unique_violation(&self) -> bool {
        self.violates(
            |db| db.is_unique_violation(),
            &[
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
                rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
            ],
        )
    }

    pub(crate) fn is_foreign_key_violation(&self) -> bool {
        self.violates(
            |db| db.is_foreign_key_violation(),
            &[rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY],
        )
    }

    pub(crate) fn is_check_violation(&self) -> bool {
        self.violates(
            |db| db.is_check_violation(),
            &[rusqlite::ffi::SQLITE_CONSTRAINT_CHECK],
        )
    }

    /// Whether the database refused a constraint of one kind: as sqlx classifies the error
    /// (PostgreSQL), or by SQLite's extended result codes for that kind.
    fn violates(
        &self,
        sqlx_kind: fn(&dyn sqlx::error::DatabaseError) -> bool,
        sqlite_codes: &[std::ffi::c_int],
    ) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => sqlx_kind(db.as_ref()),
            StoreError::Sqlite(e) => {
                sqlite_extended_code(e).is_some_and(|code| sqlite_codes.contains(&code))
            }
            _ => false,
        }
    }
}

fn sqlite_extended_code(e: &rusqlite::Error) -> Option<std::ffi::c_int> {
    match e {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    }
}
