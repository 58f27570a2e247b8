//! Storage tests, each run on SQLite and PostgreSQL.

mod accounts;
mod fx;
mod sessions;
