//! Cross-border retail checkout: the order's life, the buyer's identity for per-person limits,
//! and the arithmetic that keeps payments, refunds and stock reconciled.

pub mod national_id;
pub mod order_status;
pub mod refunds;
pub mod shipment;

pub use national_id::{NationalId, NationalIdError};
pub use order_status::{IllegalOrderTransition, OrderStatus};
pub use refunds::{RefundError, RefundableLine, check_refund};
pub use shipment::{ShipmentStatus, TrackingStatus};
