//! Checkout's server side: keys and tokens, and the pricing of carts with the landed-cost engine.

pub mod holder;
pub mod keys;
pub mod pricing;
