//! Pavilion's persistence.
//!
//! One code path serves both backends, with portable SQL (`$1` placeholders on both) and
//! portable column types, and each backend has its own migrations. Statements go through `sql`,
//! which runs SQLite statements in place with rusqlite (reads in the calling task, writes as jobs
//! of the group-commit writer) and PostgreSQL's through sqlx
//! (`docs/storage-statement-handoffs.md`). Invariants that protect money or stock live in the
//! database (constraints, conditional updates), so they hold across several server processes
//! sharing one PostgreSQL.

pub mod accounts;
pub mod applications;
pub mod audit;
mod backend;
pub mod batch;
pub mod catalogue;
pub mod catalogue_import;
pub mod categories;
pub mod checkout;
mod error;
pub mod events;
pub mod fx;
pub mod market_access;
pub mod membership;
pub mod pavilions;
mod product_body;
pub mod product_images;
pub mod programmes;
pub mod quotes;
pub mod sessions;
pub mod sign_in_limits;
mod sql;
mod timestamp;
pub mod tokens;
pub mod training;
mod values;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use backend::{Backend, Store, StoreOptions};
pub use error::{StoreError, StoreResult};
pub use timestamp::Timestamp;
