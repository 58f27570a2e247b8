//! Storage tests, each run on SQLite and PostgreSQL.

mod accounts;
mod catalogue_import;
mod catalogue_paging;
mod checkout;
mod fx;
mod payments;
mod programmes;
mod quotes;
mod sessions;
mod shipments;
