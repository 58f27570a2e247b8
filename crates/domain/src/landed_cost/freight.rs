//! Freight from lane rate tables (weight breaks, chargeable weight, minimum charge, cold-chain
//! surcharge) and insurance as a rate of goods + freight with a minimum.

use rust_decimal::Decimal;
use time::Date;

use crate::money::RoundingRule;
use crate::{Country, Money};

use super::error::QuoteError;
use super::input::Transport;
use super::rounding;
use super::rule_book::RuleBook;
use super::rule_pack::{InsuranceRow, RuleRef};

/// Chargeable weight = max(actual, volumetric), volumetric = volume (cm³) / divisor (cm³ per kg).
pub fn chargeable_weight(
    actual_kg: Decimal,
    volume_cm3: Option<Decimal>,
    divisor: Decimal,
) -> (Decimal, Decimal) {
    let volumetric = match volume_cm3 {
        Some(volume) if !divisor.is_zero() => volume.checked_div(divisor).unwrap_or(Decimal::MAX),
        _ => Decimal::ZERO,
    };
    (actual_kg.max(volumetric), volumetric)
}

/// Freight computed from a lane's rate table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FreightCharge {
    pub(crate) amount: Money,
    pub(crate) chargeable_kg: Decimal,
    pub(crate) volumetric_kg: Decimal,
    pub(crate) per_kg: Decimal,
    pub(crate) surcharge: Option<Decimal>,
    pub(crate) rule: RuleRef,
}

pub(crate) fn compute_freight(
    book: &RuleBook,
    transport: &Transport,
    origin: Country,
    destination: Country,
    date: Date,
) -> Result<FreightCharge, QuoteError> {
    if transport.actual_weight_kg.is_sign_negative()
        || transport.volume_cm3.is_some_and(|v| v.is_sign_negative())
    {
        return Err(QuoteError::invalid(
            "transport",
            "weights and volumes cannot be negative",
        ));
    }
    let breaks: Vec<_> = book
        .lane(origin, destination, transport.mode)
        .iter()
        .filter(|row| row.meta.valid_on(date))
        .collect();
    // The lane's divisor is its lowest break's: the chargeable weight picks the break.
    let Some(lowest) = breaks.last() else {
        return Err(QuoteError::Freight {
            message: format!(
                "no {} rate from {origin} to {destination} on {date}: give freight or add a rate",
                transport.mode
            ),
        });
    };
    let (chargeable, volumetric) = chargeable_weight(
        transport.actual_weight_kg,
        transport.volume_cm3,
        lowest.volumetric_divisor,
    );
    let row = breaks
        .iter()
        .find(|row| row.min_chargeable_kg <= chargeable)
        .unwrap_or(lowest);
    let overflow = || QuoteError::Freight {
        message: "the freight charge overflowed".to_owned(),
    };
    let mut amount = chargeable
        .checked_mul(row.per_kg)
        .ok_or_else(overflow)?
        .max(row.minimum_charge);
    let surcharge = transport.cold_chain.then_some(row.cold_chain_surcharge);
    if let Some(surcharge) = surcharge {
        amount = amount
            .checked_mul(Decimal::ONE + surcharge)
            .ok_or_else(overflow)?;
    }
    let amount = rounding::round(amount, row.currency, RoundingRule::HalfUp)
        .map_err(QuoteError::money("freight"))?;
    Ok(FreightCharge {
        amount,
        chargeable_kg: chargeable,
        volumetric_kg: volumetric,
        per_kg: row.per_kg,
        surcharge,
        rule: row.meta.clone(),
    })
}

/// Insurance = max(rate × (goods + freight), minimum), all in the row's currency's terms.
pub(crate) fn insurance_amount(
    row: &InsuranceRow,
    goods_and_freight: Decimal,
    minimum: Decimal,
) -> Decimal {
    goods_and_freight
        .checked_mul(row.rate)
        .unwrap_or(Decimal::MAX)
        .max(minimum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn chargeable_weight_is_the_larger_of_actual_and_volumetric() {
        // 60 × 40 × 40 cm = 96,000 cm³ / 6000 = 16 kg volumetric.
        assert_eq!(
            chargeable_weight(d("10"), Some(d("96000")), d("6000")),
            (d("16"), d("16"))
        );
        assert_eq!(
            chargeable_weight(d("20"), Some(d("96000")), d("6000")).0,
            d("20")
        );
        assert_eq!(
            chargeable_weight(d("3.5"), None, d("6000")),
            (d("3.5"), Decimal::ZERO)
        );
        // A larger divisor (5000 vs 6000) makes volumetric weight heavier.
        assert_eq!(
            chargeable_weight(d("10"), Some(d("96000")), d("5000")).0,
            d("19.2")
        );
    }
}
