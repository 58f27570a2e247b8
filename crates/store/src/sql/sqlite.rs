//! SQLite connections owned by the thread that runs their statements: the group-commit writer's
//! one connection, and readers leased from a pool by the task that reads.

use super::row::SqliteRow;
use super::{Arg, Row};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, Statement};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A database file and its idle reader connections.
pub(crate) struct SqliteDb {
    path: PathBuf,
    busy_timeout: Duration,
    idle_readers: Mutex<Vec<Handle>>,
}

/// A connection with what is remembered per connection: prepared statements (in rusqlite's
/// cache) and their column names.
pub(crate) struct Handle {
    conn: Connection,
    columns: HashMap<Box<str>, Arc<[Box<str>]>>,
}

/// Room for every distinct statement the store runs, so that none is prepared twice.
const STATEMENT_CACHE: usize = 512;

impl SqliteDb {
    pub(crate) fn new(path: &Path, busy_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            path: path.to_owned(),
            busy_timeout,
            idle_readers: Mutex::new(Vec::new()),
        })
    }

    /// Opens a connection that writes: foreign keys enforced, commits durable.
    pub(crate) fn open_writer(&self) -> rusqlite::Result<Handle> {
        let handle = self.open()?;
        handle
            .conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
        Ok(handle)
    }

    /// Opens the connection that checkpoints for the group commit's writer.
    pub(crate) fn open_checkpointer(&self) -> rusqlite::Result<Checkpointer> {
        Ok(Checkpointer(self.open()?))
    }

    /// A reader for the caller's task; it goes back to the pool when dropped.
    pub(crate) fn reader(self: &Arc<Self>) -> rusqlite::Result<Lease> {
        let idle = self
            .idle_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let handle = match idle {
            Some(handle) => handle,
            None => {
                let handle = self.open()?;
                // A reader that tried to write would take the lock from the group commit.
                handle.conn.execute_batch("PRAGMA query_only = ON;")?;
                handle
            }
        };
        Ok(Lease {
            handle: Some(handle),
            home: Some(self.clone()),
        })
    }

    fn open(&self) -> rusqlite::Result<Handle> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Handle {
            conn,
            columns: HashMap::new(),
        })
    }
}

/// Copies committed WAL pages into the database file beside the group commit's writer, with a
/// connection of its own: a passive checkpoint waits for no reader or writer, and takes up what
/// it could not copy at its next run.
///
/// The writer keeps SQLite's own checkpoint (every 1,000 WAL pages, inside a commit, holding
/// back that batch's answers), but it finds the pages already copied and only finishes the
/// job; because it runs between the writer's transactions, it is what lets the next one start
/// the WAL over, which a checkpoint beside a busy writer never can.
pub(crate) struct Checkpointer(Handle);

impl Checkpointer {
    /// Checkpoints what has been committed; a checkpoint that is busy elsewhere (another
    /// process's) is simply left to that one.
    pub(crate) fn run(&mut self) {
        let outcome = self
            .0
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if let Err(e) = outcome {
            tracing::debug!(error = %e, "WAL checkpoint");
        }
    }
}

/// A connection in use: a reader (returned to its pool when dropped) or the writer's.
pub(crate) struct Lease {
    handle: Option<Handle>,
    home: Option<Arc<SqliteDb>>,
}

impl Lease {
    /// The writer's connection, owned by its thread.
    pub(crate) fn owned(handle: Handle) -> Self {
        Self {
            handle: Some(handle),
            home: None,
        }
    }

    fn handle(&mut self) -> &mut Handle {
        self.handle.as_mut().expect("a leased connection")
    }

    /// Runs statements without arguments (transaction control, pragmas).
    pub(crate) fn execute_batch(&mut self, sql: &str) -> rusqlite::Result<()> {
        self.handle().conn.execute_batch(sql)
    }

    pub(crate) fn execute(&mut self, sql: &str, args: &[Arg]) -> rusqlite::Result<u64> {
        let conn = &self.handle().conn;
        let mut statement = conn.prepare_cached(sql)?;
        bind(&mut statement, args)?;
        // Stepped to the end rather than `raw_execute`, so that `… RETURNING` may be executed too.
        let mut rows = statement.raw_query();
        while rows.next()?.is_some() {}
        Ok(conn.changes())
    }

    pub(crate) fn fetch(
        &mut self,
        sql: &str,
        args: &[Arg],
        limit: usize,
    ) -> rusqlite::Result<Vec<Row>> {
        let Handle { conn, columns } = self.handle();
        let mut statement = conn.prepare_cached(sql)?;
        let names = match columns.get(sql) {
            Some(names) => names.clone(),
            None => {
                let names: Arc<[Box<str>]> = statement
                    .column_names()
                    .into_iter()
                    .map(Into::into)
                    .collect();
                columns.insert(sql.into(), names.clone());
                names
            }
        };
        bind(&mut statement, args)?;
        let width = names.len();
        let mut out = Vec::new();
        let mut rows = statement.raw_query();
        while out.len() < limit
            && let Some(row) = rows.next()?
        {
            let values = (0..width)
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(Row::Sqlite(SqliteRow {
                names: names.clone(),
                values,
            }));
        }
        Ok(out)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(handle), Some(home)) = (self.handle.take(), &self.home) {
            // A read snapshot still open ends here; a connection in an unknown state is closed.
            if handle.conn.is_autocommit() || handle.conn.execute_batch("ROLLBACK").is_ok() {
                home.idle_readers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(handle);
            }
        }
    }
}

/// Binds `$n` to `args[n - 1]`, as sqlx does on SQLite (SQLite itself numbers named
/// parameters in order of first appearance, which would misbind `… $2 … $1 …`).
fn bind(statement: &mut Statement<'_>, args: &[Arg]) -> rusqlite::Result<()> {
    for i in 1..=statement.parameter_count() {
        let n = match statement.parameter_name(i) {
            None => i,
            Some(name) => name
                .get(1..)
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?,
        };
        let arg = args
            .get(n - 1)
            .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
        statement.raw_bind_parameter(i, arg)?;
    }
    Ok(())
}
