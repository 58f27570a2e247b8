//! Rows as read: SQLite's copied out of the statement, PostgreSQL's as sqlx decoded them.

use crate::{StoreError, StoreResult};
use rusqlite::types::{FromSql, Value, ValueRef};
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Type};
use std::sync::Arc;

/// A type a column reads as on both backends.
pub(crate) trait Column: Sized + FromSql + for<'r> Decode<'r, Any> + Type<Any> {}

impl<T> Column for T where T: FromSql + for<'r> Decode<'r, Any> + Type<Any> {}

pub(crate) enum Row {
    Sqlite(SqliteRow),
    Any(AnyRow),
}

pub(crate) struct SqliteRow {
    pub(super) names: Arc<[Box<str>]>,
    pub(super) values: Vec<Value>,
}

/// A column by position or by name.
pub(crate) trait ColumnIndex: Copy + sqlx::ColumnIndex<AnyRow> + std::fmt::Display {
    fn position(self, names: &[Box<str>]) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn position(self, names: &[Box<str>]) -> Option<usize> {
        (self < names.len()).then_some(self)
    }
}

impl ColumnIndex for &str {
    fn position(self, names: &[Box<str>]) -> Option<usize> {
        names.iter().position(|n| &**n == self)
    }
}

impl Row {
    pub(crate) fn try_get<T: Column>(&self, column: impl ColumnIndex) -> StoreResult<T> {
        match self {
            Row::Any(row) => Ok(sqlx::Row::try_get(row, column)?),
            Row::Sqlite(row) => {
                let i = column
                    .position(&row.names)
                    .ok_or_else(|| sqlx::Error::ColumnNotFound(column.to_string()))?;
                T::column_result(ValueRef::from(&row.values[i])).map_err(|e| {
                    StoreError::Database(sqlx::Error::ColumnDecode {
                        index: column.to_string(),
                        source: Box::new(e),
                    })
                })
            }
        }
    }
}

/// A type a whole row reads as.
pub(crate) trait FromRow: Sized {
    fn from_row(row: &Row) -> StoreResult<Self>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> StoreResult<Self> {
                Ok(($(row.try_get::<$t>($i as usize)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// Declares a struct read from a row by column name (each field named as its column).
macro_rules! row_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty,)* }

        impl $crate::sql::FromRow for $name {
            fn from_row(row: &$crate::sql::Row) -> $crate::StoreResult<Self> {
                Ok(Self { $($field: row.try_get(stringify!($field))?,)* })
            }
        }
    };
}
pub(crate) use row_struct;
