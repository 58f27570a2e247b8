//! Cross-border retail checkout: carts, orders with their reserved stock and seats, per-person
//! yearly limits, idempotent requests, payments, refunds and shipments.

pub mod carts;
pub mod idempotency;
pub mod orders;
pub mod payments;
mod secrets;
pub mod shipments;
