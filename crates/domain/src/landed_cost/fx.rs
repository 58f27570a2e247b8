//! Conversions through the exchange rates given with the quote, and nothing else: the caller
//! looks rates up by date; a missing pair is an error naming it, never a silent 1.

use rust_decimal::Decimal;

use crate::Currency;
use crate::Money;
use crate::money::{ExchangeRate, RoundingRule};

use super::error::QuoteError;

pub(crate) struct Fx<'a> {
    rates: &'a [ExchangeRate],
    /// Indexes into `rates` of those used, in first-use order.
    used: Vec<usize>,
}

impl<'a> Fx<'a> {
    pub(crate) fn new(rates: &'a [ExchangeRate]) -> Fx<'a> {
        Fx {
            rates,
            used: Vec::new(),
        }
    }

    /// `amount` in `from` expressed in `to`, at full precision.
    pub(crate) fn apply(
        &mut self,
        amount: Decimal,
        from: Currency,
        to: Currency,
    ) -> Result<Decimal, QuoteError> {
        if from == to {
            return Ok(amount);
        }
        let overflow = || {
            QuoteError::invalid(
                "rates",
                format!("converting {amount} {from} to {to} overflowed"),
            )
        };
        for (index, rate) in self.rates.iter().enumerate() {
            // Dividing by the inverse pair's rate keeps the figure exact where 1/rate would not.
            let converted = if rate.base() == from && rate.quote() == to {
                amount.checked_mul(rate.rate())
            } else if rate.base() == to && rate.quote() == from {
                amount.checked_div(rate.rate())
            } else {
                continue;
            };
            if !self.used.contains(&index) {
                self.used.push(index);
            }
            return converted.ok_or_else(overflow);
        }
        Err(QuoteError::MissingRate { from, to })
    }

    /// `money` converted to `to`, rounded once by `rule`.
    pub(crate) fn convert(
        &mut self,
        money: &Money,
        to: Currency,
        rule: RoundingRule,
        field: &str,
    ) -> Result<Money, QuoteError> {
        if money.currency() == to {
            return Ok(*money);
        }
        let amount = self.apply(money.amount(), money.currency(), to)?;
        Money::round(amount, to, rule).map_err(QuoteError::money(field))
    }

    /// The rates used, in first-use order.
    pub(crate) fn used(&self) -> impl Iterator<Item = &'a ExchangeRate> + '_ {
        self.used.iter().filter_map(|i| self.rates.get(*i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn uses_given_rates_directly_or_inverted_and_names_a_missing_pair() {
        let rates = [ExchangeRate::new(Currency::USD, Currency::CNY, d("7.2")).unwrap()];
        let mut fx = Fx::new(&rates);
        assert_eq!(
            fx.apply(d("10"), Currency::USD, Currency::CNY).unwrap(),
            d("72.0")
        );
        assert_eq!(
            fx.apply(d("72"), Currency::CNY, Currency::USD).unwrap(),
            d("10")
        );
        let err = fx.apply(d("1"), Currency::EUR, Currency::CNY).unwrap_err();
        assert_eq!(
            err,
            QuoteError::MissingRate {
                from: Currency::EUR,
                to: Currency::CNY
            }
        );
        assert!(err.to_string().contains("between EUR and CNY"), "{err}");
        assert_eq!(fx.used().count(), 1);
    }

    proptest! {
        /// To the currency of smaller minor unit value and back stays within one minor unit.
        #[test]
        fn converting_and_back_is_within_one_minor_unit(
            cents in 0_i64..10_000_000_000,
            rate_ten_thousandths in 10_000_i64..500_000,
        ) {
            let rate = Decimal::new(rate_ten_thousandths, 4);
            let rates = [ExchangeRate::new(Currency::USD, Currency::CNY, rate).unwrap()];
            let mut fx = Fx::new(&rates);
            let usd = Money::from_minor(cents, Currency::USD);
            let cny = fx.convert(&usd, Currency::CNY, RoundingRule::HalfUp, "x").unwrap();
            let back = fx.convert(&cny, Currency::USD, RoundingRule::HalfUp, "x").unwrap();
            let diff = back.checked_sub(usd).unwrap().abs();
            prop_assert!(diff.to_minor().unwrap() <= 1, "{usd} -> {cny} -> {back}");
        }
    }
}
