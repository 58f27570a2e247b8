//! Money: an exact decimal amount in one ISO 4217 currency.
//!
//! Amounts are `rust_decimal::Decimal`, never floats, and always hold exactly the currency's minor
//! digits ("10.00" CNY, "500" JPY, "1.000" KWD). Currencies never mix implicitly: adding CNY to
//! USD is an error, and conversion goes only through an explicit [`ExchangeRate`].

mod allocate;
mod currency;
mod decimal_text;
mod error;
mod rate;
mod serde_impl;

#[cfg(test)]
mod proptests;

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::Neg;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub use allocate::MAX_ALLOCATION_PARTS;
pub(crate) use allocate::integer_weights;
pub use currency::Currency;
pub use error::MoneyError;
pub use rate::ExchangeRate;

pub(crate) use decimal_text::{DecimalStr, DecimalText, parse_decimal};
pub(crate) use error::shorten;

/// How a computed amount is brought to the currency's minor unit.
///
/// `Down` and `Up` act on the magnitude (toward and away from zero), so a refund rounds like the
/// charge it reverses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingRule {
    /// Half away from zero (2.345 → 2.35, -2.345 → -2.35): what tax authorities usually prescribe
    /// for duties and VAT, and the rule to use unless a regulation says otherwise.
    HalfUp,
    /// Half to even, "banker's rounding" (2.345 → 2.34, 2.355 → 2.36): unbiased over many sums.
    HalfEven,
    /// Toward zero (2.349 → 2.34): truncation, e.g. for a discount that must never exceed a cap.
    Down,
    /// Away from zero (2.341 → 2.35), e.g. for a fee that must at least cover its cost.
    Up,
}

impl RoundingRule {
    /// Every rule, for tests that try each.
    #[cfg(test)]
    pub(crate) const ALL: [RoundingRule; 4] = [
        RoundingRule::HalfUp,
        RoundingRule::HalfEven,
        RoundingRule::Down,
        RoundingRule::Up,
    ];

    fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingRule::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingRule::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingRule::Down => RoundingStrategy::ToZero,
            RoundingRule::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

/// An amount of one currency, exact to that currency's minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// Invariant: scale is exactly `currency.minor_units()`, and zero is never negative.
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount given exactly; refused when it has more decimals than the currency's minor unit
    /// allows (1.234 CNY). Trailing zeros do not count: "1.50" and "1.5000" are 1.50 CNY.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let normal = amount.normalize();
        let allowed = currency.minor_units();
        if normal.scale() > allowed {
            return Err(MoneyError::OverPrecise {
                amount: normal,
                currency,
                allowed,
            });
        }
        10_i128
            .checked_pow(allowed - normal.scale())
            .and_then(|factor| normal.mantissa().checked_mul(factor))
            .and_then(|minor| Money::from_minor_i128(minor, currency))
            .ok_or(MoneyError::OutOfRange {
                amount: normal,
                currency,
            })
    }

    /// Parses an amount written as text, such as "123.45" (see [`Money::new`] for precision).
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let decimal = parse_decimal(amount).ok_or_else(|| MoneyError::InvalidAmount {
            input: shorten(amount),
        })?;
        Money::new(decimal, currency)
    }

    /// A computed amount (a tax, a share, a converted price) brought to the minor unit by `rule`.
    pub fn round(
        amount: Decimal,
        currency: Currency,
        rule: RoundingRule,
    ) -> Result<Money, MoneyError> {
        Money::new(
            amount.round_dp_with_strategy(currency.minor_units(), rule.strategy()),
            currency,
        )
    }

    /// An amount counted in minor units: `from_minor(1050, CNY)` is 10.50 CNY.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        // An i64 always fits a Decimal's 96-bit mantissa and the scale is at most 18.
        Money::from_minor_i128(i128::from(minor), currency).unwrap_or_else(|| Money::zero(currency))
    }

    /// [`Money::from_minor`] where the caller has `currency.minor_units()` at hand as `dp`.
    pub(crate) fn from_minor_at(minor: i64, currency: Currency, dp: u32) -> Money {
        debug_assert_eq!(dp, currency.minor_units());
        match Decimal::try_new(minor, dp) {
            Ok(amount) => Money { amount, currency },
            Err(_) => Money::from_minor(minor, currency),
        }
    }

    /// A total counted in minor units, as [`Money::sum`] answers it (an error beyond a
    /// `Decimal`'s range).
    pub(crate) fn sum_of_minor(total: i128, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_minor_i128(total, currency)
            .ok_or_else(|| Money::zero(currency).overflow("summation"))
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Money {
        let amount = Decimal::try_new(0, currency.minor_units()).unwrap_or_default();
        Money { amount, currency }
    }

    /// `None` when `minor` exceeds the 96-bit mantissa of a `Decimal`.
    fn from_minor_i128(minor: i128, currency: Currency) -> Option<Money> {
        let amount = Decimal::try_from_i128_with_scale(minor, currency.minor_units()).ok()?;
        Some(Money { amount, currency })
    }

    /// The amount in minor units, exact because of the scale invariant.
    fn minor_i128(&self) -> i128 {
        self.amount.mantissa()
    }

    /// The decimal amount, always with the currency's minor digits.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (10.50 CNY → 1050), refused beyond the range of an `i64`.
    pub fn to_minor(&self) -> Result<i64, MoneyError> {
        i64::try_from(self.minor_i128())
            .map_err(|_| MoneyError::MinorUnitsOverflow { amount: *self })
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.minor_i128() < 0
    }

    pub fn is_positive(&self) -> bool {
        self.minor_i128() > 0
    }

    pub fn abs(self) -> Money {
        if self.is_negative() { -self } else { self }
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    fn overflow(&self, operation: &'static str) -> MoneyError {
        MoneyError::Overflow {
            operation,
            currency: self.currency,
        }
    }

    /// `self + other`, both in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Money::from_minor_i128(self.minor_i128() + other.minor_i128(), self.currency)
            .ok_or_else(|| self.overflow("addition"))
    }

    /// `self - other`, both in the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Money::from_minor_i128(self.minor_i128() - other.minor_i128(), self.currency)
            .ok_or_else(|| self.overflow("subtraction"))
    }

    /// Compares two amounts of the same currency; there is no order across currencies.
    pub fn try_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// `self × factor`, unrounded (exact up to a `Decimal`'s 28 significant digits). Use it for
    /// intermediate figures, then round once with [`Money::round`].
    pub fn mul_unrounded(&self, factor: Decimal) -> Result<Decimal, MoneyError> {
        self.amount
            .checked_mul(factor)
            .ok_or_else(|| self.overflow("multiplication"))
    }

    /// `self × factor`, rounded to the minor unit by `rule` (a tax rate, a discount percentage).
    pub fn mul_rounded(&self, factor: Decimal, rule: RoundingRule) -> Result<Money, MoneyError> {
        Money::round(self.mul_unrounded(factor)?, self.currency, rule)
    }

    /// The total of `items`, all in `currency` (which is also the total of nothing).
    pub fn sum<I>(currency: Currency, items: I) -> Result<Money, MoneyError>
    where
        I: IntoIterator,
        I::Item: Borrow<Money>,
    {
        let zero = Money::zero(currency);
        let mut total: i128 = 0;
        for item in items {
            let item = item.borrow();
            zero.same_currency(item)?;
            // Intermediate totals may leave the Decimal range as long as the final one is back in.
            total = total
                .checked_add(item.minor_i128())
                .ok_or_else(|| zero.overflow("summation"))?;
        }
        Money::sum_of_minor(total, currency)
    }
}

impl Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        // Decimal negation of zero would yield "-0.00"; keep zero canonical.
        if self.is_zero() {
            self
        } else {
            Money {
                amount: -self.amount,
                currency: self.currency,
            }
        }
    }
}

/// "123.45 CNY".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", DecimalStr::new(self.amount), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn cny(s: &str) -> Money {
        Money::parse(s, Currency::CNY).unwrap()
    }

    #[test]
    fn new_keeps_the_currency_minor_digits() {
        assert_eq!(
            Money::new(d("10"), Currency::CNY)
                .unwrap()
                .amount()
                .to_string(),
            "10.00"
        );
        assert_eq!(
            Money::new(d("1.5"), Currency::CNY)
                .unwrap()
                .amount()
                .to_string(),
            "1.50"
        );
        assert_eq!(
            Money::new(d("1.50000"), Currency::CNY)
                .unwrap()
                .amount()
                .to_string(),
            "1.50"
        );
        assert_eq!(
            Money::new(d("500"), Currency::JPY)
                .unwrap()
                .amount()
                .to_string(),
            "500"
        );
        assert_eq!(
            Money::new(d("500.000"), Currency::JPY)
                .unwrap()
                .amount()
                .to_string(),
            "500"
        );
        assert_eq!(
            Money::new(d("1"), Currency::KWD)
                .unwrap()
                .amount()
                .to_string(),
            "1.000"
        );
        assert_eq!(
            Money::new(d("-0.00"), Currency::CNY)
                .unwrap()
                .amount()
                .to_string(),
            "0.00"
        );
    }

    #[test]
    fn new_rejects_over_precise_amounts() {
        let err = Money::new(d("1.234"), Currency::CNY).unwrap_err();
        assert_eq!(
            err,
            MoneyError::OverPrecise {
                amount: d("1.234"),
                currency: Currency::CNY,
                allowed: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "amount 1.234 has more decimal places than CNY allows (2)"
        );
        assert_eq!(
            Money::new(d("1.5"), Currency::JPY).unwrap_err().to_string(),
            "amount 1.5 has more decimal places than JPY allows (0)"
        );
        assert!(Money::new(d("1.0001"), Currency::KWD).is_err());
    }

    #[test]
    fn new_rejects_amounts_that_do_not_fit_at_the_minor_scale() {
        let err = Money::new(Decimal::MAX, Currency::CNY).unwrap_err();
        assert!(matches!(err, MoneyError::OutOfRange { .. }), "{err}");
        assert!(Money::new(Decimal::MAX, Currency::JPY).is_ok());
    }

    #[test]
    fn parse_reads_text_and_explains_bad_input() {
        assert_eq!(cny("123.45").amount(), d("123.45"));
        assert_eq!(cny("-7").to_string(), "-7.00 CNY");
        let err = Money::parse("12,50", Currency::CNY).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"12,50\" is not a decimal amount: expected digits with an optional leading minus and decimal point, such as \"123.45\""
        );
        assert!(matches!(
            Money::parse("1.001", Currency::CNY),
            Err(MoneyError::OverPrecise { .. })
        ));
    }

    #[test]
    fn minor_units_roundtrip() {
        let m = Money::from_minor(1050, Currency::CNY);
        assert_eq!(m, cny("10.50"));
        assert_eq!(m.to_minor(), Ok(1050));
        assert_eq!(
            Money::from_minor(-5, Currency::KWD).amount().to_string(),
            "-0.005"
        );
        assert_eq!(
            Money::from_minor(500, Currency::JPY).amount().to_string(),
            "500"
        );
        assert_eq!(
            Money::from_minor(i64::MIN, Currency::CNY).to_minor(),
            Ok(i64::MIN)
        );
    }

    #[test]
    fn to_minor_refuses_beyond_i64() {
        let huge = Money::new(d("100000000000000000"), Currency::CNY).unwrap();
        let err = huge.to_minor().unwrap_err();
        assert_eq!(
            err.to_string(),
            "100000000000000000.00 CNY is too large to express as a 64-bit count of minor units"
        );
    }

    #[test]
    fn zero_and_signs() {
        let zero = Money::zero(Currency::KWD);
        assert!(zero.is_zero() && !zero.is_negative() && !zero.is_positive());
        assert_eq!(zero.amount().to_string(), "0.000");
        assert_eq!((-zero).amount().to_string(), "0.000");
        let m = cny("2.50");
        assert!(m.is_positive());
        assert!((-m).is_negative());
        assert_eq!(-(-m), m);
        assert_eq!((-m).abs(), m);
        assert_eq!((-m).to_string(), "-2.50 CNY");
    }

    #[test]
    fn rounding_rules_at_the_minor_unit() {
        let cases = [
            ("2.345", RoundingRule::HalfUp, "2.35"),
            ("-2.345", RoundingRule::HalfUp, "-2.35"),
            ("2.345", RoundingRule::HalfEven, "2.34"),
            ("2.355", RoundingRule::HalfEven, "2.36"),
            ("2.349", RoundingRule::Down, "2.34"),
            ("-2.349", RoundingRule::Down, "-2.34"),
            ("2.341", RoundingRule::Up, "2.35"),
            ("-2.341", RoundingRule::Up, "-2.35"),
            ("2.3", RoundingRule::Up, "2.30"),
            ("-0.001", RoundingRule::HalfUp, "0.00"),
        ];
        for (amount, rule, expected) in cases {
            let m = Money::round(d(amount), Currency::CNY, rule).unwrap();
            assert_eq!(m.amount().to_string(), expected, "{amount} {rule:?}");
        }
        assert_eq!(
            Money::round(d("2.5"), Currency::JPY, RoundingRule::HalfUp)
                .unwrap()
                .amount(),
            d("3")
        );
        assert_eq!(
            Money::round(d("0.0005"), Currency::KWD, RoundingRule::HalfUp)
                .unwrap()
                .amount(),
            d("0.001")
        );
    }

    #[test]
    fn arithmetic_within_one_currency() {
        assert_eq!(cny("1.10").checked_add(cny("2.25")), Ok(cny("3.35")));
        assert_eq!(cny("1.10").checked_sub(cny("2.25")), Ok(cny("-1.15")));
        assert_eq!(
            cny("1.10")
                .checked_sub(cny("1.10"))
                .unwrap()
                .amount()
                .to_string(),
            "0.00"
        );
        assert_eq!(cny("1.10").try_cmp(&cny("2")), Ok(Ordering::Less));
    }

    #[test]
    fn arithmetic_across_currencies_is_refused() {
        let usd = Money::parse("1", Currency::USD).unwrap();
        let err = cny("1").checked_add(usd).unwrap_err();
        assert_eq!(
            err,
            MoneyError::CurrencyMismatch {
                left: Currency::CNY,
                right: Currency::USD
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot combine CNY with USD: convert one of them with an exchange rate first"
        );
        assert!(cny("1").checked_sub(usd).is_err());
        assert!(cny("1").try_cmp(&usd).is_err());
    }

    #[test]
    fn addition_overflow_is_an_error() {
        let max = Money::new(Decimal::MAX, Currency::JPY).unwrap();
        let err = max
            .checked_add(Money::from_minor(1, Currency::JPY))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "addition in JPY overflowed the range of a money amount"
        );
        assert!(
            (-max)
                .checked_sub(Money::from_minor(1, Currency::JPY))
                .is_err()
        );
    }

    #[test]
    fn multiplication_unrounded_and_rounded() {
        let price = cny("19.99");
        assert_eq!(price.mul_unrounded(d("0.13")), Ok(d("2.5987")));
        assert_eq!(
            price.mul_rounded(d("0.13"), RoundingRule::HalfUp),
            Ok(cny("2.60"))
        );
        assert_eq!(
            price.mul_rounded(d("0.13"), RoundingRule::Down),
            Ok(cny("2.59"))
        );
        assert_eq!(
            price.mul_rounded(d("-1"), RoundingRule::HalfUp),
            Ok(cny("-19.99"))
        );
        let max = Money::new(Decimal::MAX, Currency::JPY).unwrap();
        assert!(max.mul_unrounded(d("2")).is_err());
    }

    #[test]
    fn sum_of_one_currency() {
        let items = [cny("1.10"), cny("2.20"), cny("-0.30")];
        assert_eq!(Money::sum(Currency::CNY, items), Ok(cny("3.00")));
        assert_eq!(Money::sum(Currency::CNY, items.iter()), Ok(cny("3.00")));
        assert_eq!(
            Money::sum(Currency::KWD, Vec::<Money>::new()),
            Ok(Money::zero(Currency::KWD))
        );
        let mixed = [cny("1"), Money::from_minor(1, Currency::USD)];
        assert!(matches!(
            Money::sum(Currency::CNY, mixed),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert!(matches!(
            Money::sum(Currency::USD, [cny("1")]),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn sum_may_pass_through_large_intermediates() {
        let max = Money::new(Decimal::MAX, Currency::JPY).unwrap();
        assert_eq!(Money::sum(Currency::JPY, [max, max, -max]), Ok(max));
        assert!(Money::sum(Currency::JPY, [max, max]).is_err());
    }

    #[test]
    fn equality_and_hash_include_the_currency() {
        use std::collections::HashSet;
        let set: HashSet<Money> =
            [cny("1"), cny("1.00"), Money::from_minor(100, Currency::USD)].into();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn debug_and_display() {
        assert_eq!(format!("{:?}", cny("1")), "Money(1.00 CNY)");
        assert_eq!(Money::from_minor(1, Currency::KWD).to_string(), "0.001 KWD");
    }

    #[test]
    fn rounding_rule_serde_names() {
        assert_eq!(
            serde_json::to_string(&RoundingRule::HalfUp).unwrap(),
            "\"half_up\""
        );
        assert_eq!(
            serde_json::from_str::<RoundingRule>("\"half_even\"").unwrap(),
            RoundingRule::HalfEven
        );
    }
}
