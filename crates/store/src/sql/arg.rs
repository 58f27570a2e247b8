//! A statement's argument, owned, with the type a NULL stands for (PostgreSQL wants to know).

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::Any;
use sqlx::any::AnyArguments;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
    Null(Kind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Real,
    Bool,
    Text,
    Blob,
}

impl Arg {
    pub(super) fn bind_to<'q>(
        query: sqlx::query::Query<'q, Any, AnyArguments>,
        arg: Arg,
    ) -> sqlx::query::Query<'q, Any, AnyArguments> {
        match arg {
            Arg::Int(v) => query.bind(v),
            Arg::Real(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Blob(v) => query.bind(v),
            Arg::Null(Kind::Int) => query.bind(None::<i64>),
            Arg::Null(Kind::Real) => query.bind(None::<f64>),
            Arg::Null(Kind::Bool) => query.bind(None::<bool>),
            Arg::Null(Kind::Text) => query.bind(None::<String>),
            Arg::Null(Kind::Blob) => query.bind(None::<Vec<u8>>),
        }
    }
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Real(v) => ValueRef::Real(*v),
            Arg::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Blob(v) => ValueRef::Blob(v),
            Arg::Null(_) => ValueRef::Null,
        }))
    }
}

/// A Rust type that binds as one kind of argument.
pub(crate) trait Bindable {
    const KIND: Kind;
    fn into_arg(self) -> Arg;
}

macro_rules! bindable {
    ($($ty:ty => $kind:ident, |$v:ident| $arg:expr;)*) => {$(
        impl Bindable for $ty {
            const KIND: Kind = Kind::$kind;
            fn into_arg(self) -> Arg {
                let $v = self;
                $arg
            }
        }
        impl From<$ty> for Arg {
            fn from(v: $ty) -> Arg {
                v.into_arg()
            }
        }
    )*};
}

bindable! {
    i64 => Int, |v| Arg::Int(v);
    i32 => Int, |v| Arg::Int(i64::from(v));
    u32 => Int, |v| Arg::Int(i64::from(v));
    f64 => Real, |v| Arg::Real(v);
    bool => Bool, |v| Arg::Bool(v);
    String => Text, |v| Arg::Text(v);
    &str => Text, |v| Arg::Text(v.to_owned());
    &String => Text, |v| Arg::Text(v.clone());
    Vec<u8> => Blob, |v| Arg::Blob(v);
}

impl<T: Bindable> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Arg {
        v.map_or(Arg::Null(T::KIND), T::into_arg)
    }
}
