//! Partial refunds per line: a line can be refunded up to what was paid for it, never more, so
//! that captures minus refunds always equals what the platform keeps.

use crate::Money;
use serde::Serialize;

/// A paid line and what has already been refunded on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundableLine {
    pub paid: Money,
    pub refunded: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum RefundError {
    #[error("a refund is more than zero")]
    NotPositive,
    #[error("the refund is in {refund}, the order in {order}")]
    Currency { refund: String, order: String },
    #[error("at most {left} is left to refund on this line")]
    MoreThanPaid { left: String },
}

/// Checks a refund of `amount` on `line`; returns the line's refunded total after it.
pub fn check_refund(line: &RefundableLine, amount: Money) -> Result<Money, RefundError> {
    if !amount.is_positive() {
        return Err(RefundError::NotPositive);
    }
    if amount.currency() != line.paid.currency() {
        return Err(RefundError::Currency {
            refund: amount.currency().to_string(),
            order: line.paid.currency().to_string(),
        });
    }
    let left = line.paid.amount() - line.refunded.amount();
    if amount.amount() > left {
        return Err(RefundError::MoreThanPaid {
            left: format!("{left} {}", line.paid.currency()),
        });
    }
    // Same currency and within what was paid: the sum cannot fail.
    line.refunded
        .checked_add(amount)
        .map_err(|_| RefundError::NotPositive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn cny(s: &str) -> Money {
        Money::parse(s, Currency::CNY).unwrap()
    }

    #[test]
    fn refunds_stop_at_what_was_paid() {
        let line = RefundableLine {
            paid: cny("100.00"),
            refunded: cny("30.00"),
        };
        assert_eq!(check_refund(&line, cny("70.00")), Ok(cny("100.00")));
        assert!(matches!(
            check_refund(&line, cny("70.01")),
            Err(RefundError::MoreThanPaid { .. })
        ));
        assert_eq!(check_refund(&line, cny("0")), Err(RefundError::NotPositive));
        let usd = Money::parse("1.00", Currency::USD).unwrap();
        assert!(matches!(
            check_refund(&line, usd),
            Err(RefundError::Currency { .. })
        ));
    }
}
