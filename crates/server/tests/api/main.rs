//! API tests: each starts the real server in-process on a random port against a fresh database,
//! on SQLite and on PostgreSQL, and talks HTTP to it.

mod helpers;

mod access;
mod accounts;
mod bad_input;
mod checkout;
mod fx;
mod market_access;
mod operations;
mod organisations;
mod payments;
mod product_images;
mod product_import;
mod products;
mod programmes;
mod quotes;
mod reliability;
mod shipments;
mod tokens;
