//! Pavilion's domain: pure types and rules, no I/O and no async.
//!
//! Everything the platform computes about money, goods and borders lives here so that it can be
//! property-tested in isolation and reused by the store, the server and the command line alike.

pub mod accounts;
pub mod catalogue;
pub mod checkout;
pub mod country;
pub mod fx;
pub mod hs;
pub mod landed_cost;
pub mod market_access;
pub mod money;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod programmes;
pub mod quantity;
pub mod text;

pub use country::Country;
pub use hs::HsCode;
pub use money::{Currency, Money};
pub use quantity::{Quantity, Unit};
