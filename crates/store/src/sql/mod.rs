//! How the store runs a statement, written once for both backends.
//!
//! sqlx runs every SQLite statement on the connection's own thread and waits for the answer: two
//! cross-thread wake-ups per statement, which cost more than the statement itself (about 38 µs
//! of CPU against 3 µs, `docs/storage-statement-handoffs.md`). So SQLite statements run through
//! `rusqlite` on the thread that holds the connection: the group-commit writer's own thread, or
//! the task that leased a reader. PostgreSQL statements are network round trips and stay on sqlx.
//!
//! The API mirrors sqlx's (`query(..).bind(..).execute(conn)`) and keeps its placeholders (`$1`,
//! bound by number on SQLite as sqlx does). Its functions are `async` for PostgreSQL's sake; on
//! SQLite they finish without ever waiting, which the writer thread relies on.

mod arg;
mod row;
pub(crate) mod sqlite;
#[cfg(test)]
mod tests;

pub(crate) use arg::Arg;
pub(crate) use row::{FromRow, Row, row_struct};

use crate::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
use std::marker::PhantomData;

/// A connection a job or a read works through.
pub(crate) enum Conn {
    /// SQLite through rusqlite, statements run in place.
    Sqlite(sqlite::Lease),
    /// PostgreSQL through sqlx, inside a transaction.
    Tx(Transaction<'static, Any>),
    /// PostgreSQL through sqlx, one statement at a time.
    Pooled(PoolConnection<Any>),
}

impl Conn {
    /// Commits the transaction this connection holds.
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Conn::Sqlite(mut lease) => Ok(lease.execute_batch("COMMIT")?),
            Conn::Tx(tx) => Ok(tx.commit().await?),
            Conn::Pooled(_) => Ok(()),
        }
    }

    fn target(&mut self) -> Target<'_> {
        match self {
            Conn::Sqlite(lease) => Target::Sqlite(lease),
            Conn::Tx(tx) => Target::Sqlx(tx),
            Conn::Pooled(conn) => Target::Sqlx(conn),
        }
    }
}

/// Where a statement runs.
enum Target<'c> {
    Sqlite(&'c mut sqlite::Lease),
    Sqlx(&'c mut AnyConnection),
}

/// What `execute` reports.
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// A statement and its arguments.
#[must_use = "a query does nothing until it is executed or fetched"]
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg>,
}

pub(crate) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// A query whose rows are read as `T`.
#[must_use = "a query does nothing until it is fetched"]
pub(crate) struct QueryAs<'q, T> {
    inner: Query<'q>,
    row: PhantomData<fn() -> T>,
}

pub(crate) fn query_as<T: FromRow>(sql: &str) -> QueryAs<'_, T> {
    QueryAs {
        inner: query(sql),
        row: PhantomData,
    }
}

fn row_not_found() -> StoreError {
    StoreError::Database(sqlx::Error::RowNotFound)
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    pub(crate) async fn execute(self, conn: &mut Conn) -> StoreResult<Done> {
        let rows_affected = match conn.target() {
            Target::Sqlite(lease) => lease.execute(self.sql, &self.args)?,
            Target::Sqlx(conn) => sqlx::Executor::execute(conn, self.sqlx())
                .await?
                .rows_affected(),
        };
        Ok(Done { rows_affected })
    }

    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> StoreResult<Vec<Row>> {
        match conn.target() {
            Target::Sqlite(lease) => Ok(lease.fetch(self.sql, &self.args, usize::MAX)?),
            Target::Sqlx(conn) => {
                let rows = sqlx::Executor::fetch_all(conn, self.sqlx()).await?;
                Ok(rows.into_iter().map(Row::Any).collect())
            }
        }
    }

    pub(crate) async fn fetch_optional(self, conn: &mut Conn) -> StoreResult<Option<Row>> {
        match conn.target() {
            Target::Sqlite(lease) => Ok(lease.fetch(self.sql, &self.args, 1)?.pop()),
            Target::Sqlx(conn) => {
                let row = sqlx::Executor::fetch_optional(conn, self.sqlx()).await?;
                Ok(row.map(Row::Any))
            }
        }
    }

    pub(crate) async fn fetch_one(self, conn: &mut Conn) -> StoreResult<Row> {
        self.fetch_optional(conn).await?.ok_or_else(row_not_found)
    }

    fn sqlx(self) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
        self.args
            .into_iter()
            .fold(sqlx::query(sqlx::AssertSqlSafe(self.sql)), Arg::bind_to)
    }
}

impl<T: FromRow> QueryAs<'_, T> {
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.inner = self.inner.bind(value);
        self
    }

    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> StoreResult<Vec<T>> {
        let rows = self.inner.fetch_all(conn).await?;
        rows.iter().map(T::from_row).collect()
    }

    pub(crate) async fn fetch_optional(self, conn: &mut Conn) -> StoreResult<Option<T>> {
        let row = self.inner.fetch_optional(conn).await?;
        row.as_ref().map(T::from_row).transpose()
    }

    pub(crate) async fn fetch_one(self, conn: &mut Conn) -> StoreResult<T> {
        T::from_row(&self.inner.fetch_one(conn).await?)
    }
}
