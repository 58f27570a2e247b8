//! Conversions through the exchange rates given with the quote, and nothing else: the caller
//! looks rates up by date; a missing pair is an error naming it, never a silent 1.

use rust_decimal::Decimal;

use crate::Currency;
use crate::Money;
use crate::money::{ExchangeRate, RoundingRule};

use super::error::QuoteError;
use super::rounding::{self, Divider};

/// How an amount changes currency under one given rate.
#[derive(Clone, Copy)]
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

/// Indexes of the rates used, in first-use order: a few inline (a quote uses one to three).
#[derive(Default)]
struct Used {
    inline: [u32; 4],
    len: usize,
    more: Vec<u32>,
}

impl Used {
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let inline = self.inline.get(..self.len).unwrap_or_default();
        inline.iter().chain(&self.more).map(|i| *i as usize)
    }

    fn note(&mut self, index: usize) {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        if self.iter().any(|i| i == index as usize) {
            return;
        }
        match self.inline.get_mut(self.len) {
            Some(slot) if self.more.is_empty() => {
                *slot = index;
                self.len += 1;
            }
            _ => self.more.push(index),
        }
    }
}

/// Conversion from one currency to another at one of the given rates, for figures of the
/// target currency rounded by one rule; found once, applied to many figures.
#[derive(Clone)]
pub(crate) struct Converter {
    from: Currency,
    to: Currency,
    rule: RoundingRule,
    conversion: Conversion,
    /// The exact division's constant parts, for amounts of one scale.
    divider: Option<Divider>,
}

impl Converter {
    /// [`Converter::apply_rounded`] for an amount of `minor` units of `scale` decimals, where
    /// the exact division decides it (`None` otherwise).
    pub(crate) fn divide_minor(&self, minor: i64, scale: u32) -> Option<Money> {
        self.divider.as_ref()?.apply_minor(minor, scale)
    }

    /// `amount` (in `from`) in `to`, rounded once by the rule: as [`Fx::apply_rounded`].
    pub(crate) fn apply_rounded(
        &self,
        amount: Decimal,
        field: impl FnOnce() -> String,
    ) -> Result<Money, QuoteError> {
        // Rounding the exact quotient stands in for the 28-digit division where it provably
        // gives the same money (see `rounding::divide`).
        if let Some(money) = self.divider.as_ref().and_then(|d| d.apply(amount)) {
            return Ok(money);
        }
        let converted = self.conversion.apply(amount, self.from, self.to)?;
        rounding::round(converted, self.to, self.rule).map_err(|e| QuoteError::money(field())(e))
    }
}

pub(crate) struct Fx<'a> {
    rates: &'a [ExchangeRate],
    used: Used,
    /// The pair last looked up: a quote converts runs of figures in one pair.
    last: Option<(Currency, Currency, Conversion)>,
    /// The rounded conversion last prepared, with the scale of amounts it was prepared for.
    converter: Option<(Converter, u32)>,
}

impl<'a> Fx<'a> {
    pub(crate) fn new(rates: &'a [ExchangeRate]) -> Fx<'a> {
        Fx {
            rates,
            used: Used::default(),
            last: None,
            converter: None,
        }
    }

    /// The rate between `from` and `to` (`from` ≠ `to`), noted as used.
    fn find(&mut self, from: Currency, to: Currency) -> Result<Conversion, QuoteError> {
        match self.last {
            // Found before, so already noted: the same rate again.
            Some((f, t, conversion)) if f == from && t == to => Ok(conversion),
            _ => {
                let conversion = self.scan(from, to)?;
                self.last = Some((from, to, conversion));
                Ok(conversion)
            }
        }
    }

    /// The first given rate between `from` and `to`, noted as used.
    fn scan(&mut self, from: Currency, to: Currency) -> Result<Conversion, QuoteError> {
        for (index, rate) in self.rates.iter().enumerate() {
            // Dividing by the inverse pair's rate keeps the figure exact where 1/rate would not.
            let conversion = if rate.base() == from && rate.quote() == to {
                Conversion::Multiply(rate.rate())
            } else if rate.base() == to && rate.quote() == from {
                Conversion::Divide(rate.rate())
            } else {
                continue;
            };
            self.used.note(index);
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
        if from == to {
            return rounding::round(amount, to, rule).map_err(|e| QuoteError::money(field())(e));
        }
        self.converter(from, to, rule, amount.scale())?
            .apply_rounded(amount, field)
    }

    /// The conversion from `from` to `to` for figures rounded by `rule` (see [`Fx::prepare`]),
    /// kept for the next figures of the same pair, rule and scale.
    pub(crate) fn converter(
        &mut self,
        from: Currency,
        to: Currency,
        rule: RoundingRule,
        scale: u32,
    ) -> Result<&Converter, QuoteError> {
        let fresh = !matches!(
            &self.converter,
            Some((c, s)) if c.from == from && c.to == to && c.rule == rule && *s == scale
        );
        if fresh {
            let converter = self.prepare(from, to, rule, scale)?;
            self.converter = Some((converter, scale));
        }
        match &self.converter {
            Some((converter, _)) => Ok(converter),
            None => Err(QuoteError::MissingRate { from, to }),
        }
    }

    /// The conversion from `from` to `to` (`from` ≠ `to`) at a given rate, noted as used, for
    /// figures rounded by `rule` (amounts of `scale` decimals take the exact division's way).
    fn prepare(
        &mut self,
        from: Currency,
        to: Currency,
        rule: RoundingRule,
        scale: u32,
    ) -> Result<Converter, QuoteError> {
        let conversion = self.find(from, to)?;
        let divider = match conversion {
            Conversion::Divide(rate) => Divider::new(rate, scale, to, rule),
            Conversion::Multiply(_) => None,
        };
        Ok(Converter {
            from,
            to,
            rule,
            conversion,
            divider,
        })
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
        self.used.iter().filter_map(|i| self.rates.get(i))
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
