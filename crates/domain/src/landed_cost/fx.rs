//! Conversions through the exchange rates given with the quote, and nothing else: the caller
//! looks rates up by date; a missing pair is an error naming it, never a silent 1.

use rust_decimal::Decimal;

use crate::Currency;
use crate::Money;
use crate::money::{ExchangeRate, RoundingRule};

use super::error::QuoteError;
use super::rounding;

/// How an amount changes currency under one given rate.
enum Conversion {
    Multiply(Decimal),
    Divide(Decimal),
}

impl Conversion {
    fn apply(&self, amount: Decimal, from: Currency, to: Currency) -> Result<Decimal, QuoteError> {
        match self {
            Conversion::Multiply(rate) => amount.checked_mul(*rate),
            Conversion::Divide(rate) => amount.checked_div(*rate),
        }
        .ok_or_else(|| {
            QuoteError::invalid(
                "rates",
                format!("converting {amount} {from} to {to} overflowed"),
            )
        })
    }
}

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

    /// The rate between `from` and `to` (`from` ≠ `to`), noted as used.
    fn find(&mut self, from: Currency, to: Currency) -> Result<Conversion, QuoteError> {
        for (index, rate) in self.rates.iter().enumerate() {
            // Dividing by the inverse pair's rate keeps the figure exact where 1/rate would not.
            let conversion = if rate.base() == from && rate.quote() == to {
                Conversion::Multiply(rate.rate())
            } else if rate.base() == to && rate.quote() == from {
                Conversion::Divide(rate.rate())
            } else {
                continue;
            };
            if !self.used.contains(&index) {
                self.used.push(index);
            }
            return Ok(conversion);
        }
        Err(QuoteError::MissingRate { from, to })
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
        self.find(from, to)?.apply(amount, from, to)
    }

    /// `amount` in `from` converted to `to` and rounded once by `rule`: `apply`, then rounding.
    /// `field` names the figure in an error.
    pub(crate) fn apply_rounded(
        &mut self,
        amount: Decimal,
        from: Currency,
        to: Currency,
        rule: RoundingRule,
        field: impl FnOnce() -> String,
    ) -> Result<Money, QuoteError> {
        let converted = if from == to {
            amount
        } else {
            let conversion = self.find(from, to)?;
            // Rounding the exact quotient stands in for the 28-digit division where it
            // provably gives the same money (see `rounding::divide`).
            if let Conversion::Divide(rate) = conversion
                && let Some(money) = rounding::divide(amount, rate, to, rule)
            {
                return Ok(money);
            }
            conversion.apply(amount, from, to)?
        };
        rounding::round(converted, to, rule).map_err(|e| QuoteError::money(field())(e))
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
        self.apply_rounded(money.amount(), money.currency(), to, rule, || {
            field.to_owned()
        })
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
