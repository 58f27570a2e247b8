//! Pavilion's HTTP server: the JSON API under `/api/v1`, its OpenAPI document and reference page,
//! authentication, health probes and metrics.

pub mod app;
pub mod auth;
pub mod catalogue_index;
pub mod checkout;
pub mod config;
mod extract;
pub mod json;
pub mod observability;
mod pagination;
pub mod payments;
pub mod problem;
pub mod routes;
pub mod rules;
mod search_cache;
pub mod state;

pub use app::{RunningServer, Server};
pub use config::Config;
