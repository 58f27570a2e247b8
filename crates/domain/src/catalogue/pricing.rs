//! Wholesale price breaks: the unit price falls as the quantity ordered rises past each break.

use crate::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// From `min_quantity` units up (in the product's unit), each unit costs `unit_price`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    #[serde(with = "rust_decimal::serde::str")]
    pub min_quantity: Decimal,
    pub unit_price: Money,
}

/// The tier that prices `quantity`: the highest break not above it. `None` below the first break
/// (the minimum order quantity).
pub fn tier_for(tiers: &[PriceTier], quantity: Decimal) -> Option<&PriceTier> {
    tiers.iter().rev().find(|t| t.min_quantity <= quantity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn tier(q: i64, price: &str) -> PriceTier {
        PriceTier {
            min_quantity: Decimal::from(q),
            unit_price: Money::parse(price, Currency::USD).unwrap(),
        }
    }

    #[test]
    fn the_highest_break_not_above_the_quantity_prices_it() {
        let tiers = [tier(100, "5.00"), tier(1000, "4.50"), tier(10_000, "4.00")];
        assert_eq!(tier_for(&tiers, Decimal::from(99)), None);
        assert_eq!(
            tier_for(&tiers, Decimal::from(100)).unwrap().unit_price,
            tiers[0].unit_price
        );
        assert_eq!(
            tier_for(&tiers, Decimal::from(9_999)).unwrap().unit_price,
            tiers[1].unit_price
        );
        assert_eq!(
            tier_for(&tiers, Decimal::from(50_000)).unwrap().unit_price,
            tiers[2].unit_price
        );
    }
}
