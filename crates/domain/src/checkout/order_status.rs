//! An order's life. Payment moves it from pending to authorised and paid; the seller ships it and
//! the carrier delivers it. The buyer may cancel until it ships; an unpaid order expires.
//! Refunds are amounts, not states: an order is `refunded` only once everything paid is returned.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created with its stock reserved; waiting for the payment.
    PendingPayment,
    /// The payment is authorised, not yet captured.
    Authorised,
    /// The payment is captured.
    Paid,
    Shipped,
    Delivered,
    /// Cancelled before shipment; reserved stock went back.
    Cancelled,
    /// Not paid in time; reserved stock went back.
    Expired,
    /// Everything paid was refunded.
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the order is {from}; it cannot become {to}")]
pub struct IllegalOrderTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::PendingPayment,
        OrderStatus::Authorised,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Authorised => "authorised",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn can_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (PendingPayment, Authorised | Paid | Cancelled | Expired)
                | (Authorised, Paid | Cancelled)
                | (Paid, Shipped | Cancelled | Refunded)
                | (Shipped, Delivered | Refunded)
                | (Delivered, Refunded)
        )
    }

    pub fn transition(self, to: OrderStatus) -> Result<OrderStatus, IllegalOrderTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(IllegalOrderTransition { from: self, to })
        }
    }

    /// Whether the goods have left the seller (cancellation is then a refund by the seller).
    pub fn is_shipped(self) -> bool {
        matches!(self, OrderStatus::Shipped | OrderStatus::Delivered)
    }

    /// Whether the order still holds stock (reserved or sold).
    pub fn holds_stock(self) -> bool {
        !matches!(self, OrderStatus::Cancelled | OrderStatus::Expired)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_and_its_exits() {
        let mut s = PendingPayment;
        for next in [Authorised, Paid, Shipped, Delivered, Refunded] {
            s = s.transition(next).unwrap();
        }
        assert!(PendingPayment.can_become(Expired));
        assert!(Paid.can_become(Cancelled));
    }

    #[test]
    fn what_is_final_stays_final() {
        for from in [Cancelled, Expired, Refunded] {
            for to in OrderStatus::ALL {
                assert!(!from.can_become(to), "{from} → {to}");
            }
        }
        let err = Shipped.transition(Cancelled).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the order is shipped; it cannot become cancelled"
        );
        assert!(!Delivered.can_become(Shipped));
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }
}
