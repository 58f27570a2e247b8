//! Storage tests, each run on SQLite and PostgreSQL.

mod accounts;
mod checkout;
mod fx;
mod quotes;
mod sessions;
mod shipments;
