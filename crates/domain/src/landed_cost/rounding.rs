//! Rounding to a currency's minor unit with integer divisions, on a quote's hot path.
//!
//! `Decimal::round_dp_with_strategy` rescales nine digits at a time and builds its midpoint
//! digit by digit, costly when intermediate figures carry 28 decimals; a conversion by dividing
//! computes 28 digits only to round most of them away. [`round`] gives exactly the same
//! [`Money`] as [`Money::round`], and a [`Divider`] the same as rounding the `Decimal` quotient,
//! or nothing when it cannot be sure (the caller then takes the general way).

use rust_decimal::Decimal;

use crate::money::{MoneyError, RoundingRule};
use crate::{Currency, Money};

/// `amount` rounded to `currency`'s minor unit by `rule`, as [`Money::round`] does.
pub(crate) fn round(
    amount: Decimal,
    currency: Currency,
    rule: RoundingRule,
) -> Result<Money, MoneyError> {
    round_at(amount, currency, currency.minor_units(), rule)
}

/// [`round`] where the caller has `currency.minor_units()` at hand as `dp`.
pub(crate) fn round_at(
    amount: Decimal,
    currency: Currency,
    dp: u32,
    rule: RoundingRule,
) -> Result<Money, MoneyError> {
    match minor_units(amount, dp, rule) {
        Some(minor) => Ok(Money::from_minor_at(minor, currency, dp)),
        // Out of the fast path's range: the general routine decides, errors included.
        None => Money::round(amount, currency, rule),
    }
}

/// `amount / divisor` rounded as a [`Divider`] does it (for the tests).
#[cfg(test)]
pub(crate) fn divide(
    amount: Decimal,
    divisor: Decimal,
    currency: Currency,
    rule: RoundingRule,
) -> Option<Money> {
    Divider::new(divisor, amount.scale(), currency, rule)?.apply(amount)
}

/// `amount / divisor` rounded to `currency`'s minor unit by `rule`: the same [`Money`] as
/// rounding `amount / divisor` (a `Decimal` quotient of 28 digits), without that long division.
/// `None` when it cannot be sure (the caller then divides as `Decimal` does).
///
/// The quotient q is exact here; the `Decimal` one is within half a unit of its last digit,
/// which is 10^-28 or, with a full 96-bit mantissa, below q × 1.3 × 10^-28: so within
/// (10^-28 + q × 10^-26) / 2 of q, with room to spare. Both round alike unless a rounding
/// boundary (a multiple of half a minor unit) lies that close to q, which is checked; a q right
/// on a boundary has at most `dp + 1` decimals, so the `Decimal` division is exact there too.
///
/// Made for one divisor and amounts of one scale: the parts that depend on them alone are worked
/// out once (a quote converts each of its figures at the same rate).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Divider {
    divisor: Decimal,
    /// The scale of the amounts this divides.
    scale: u32,
    currency: Currency,
    dp: u32,
    rule: RoundingRule,
    /// 10^(divisor scale + dp): amount × it is the numerator.
    num_factor: u128,
    /// |divisor mantissa| × 10^(amount scale), at most u128::MAX / 4.
    den: u128,
    /// den × 10^dp, when it fits.
    den_dp: Option<u128>,
    /// Numerators up to this are always clear of a rounding boundary (see `apply`).
    always_clear: u128,
}

impl Divider {
    /// `None` when the divisor is not positive or the fixed parts leave 128 bits (every amount
    /// then takes the general way).
    pub(crate) fn new(
        divisor: Decimal,
        scale: u32,
        currency: Currency,
        rule: RoundingRule,
    ) -> Option<Divider> {
        if divisor <= Decimal::ZERO {
            return None;
        }
        let dp = currency.minor_units();
        // amount / divisor × 10^dp = num / den
        let num_factor = pow10(divisor.scale() + dp)?;
        let den = divisor
            .mantissa()
            .unsigned_abs()
            .checked_mul(pow10(scale)?)?;
        // Keeps 2 × den below u128::MAX for the boundary distance.
        if den > u128::MAX / 4 {
            return None;
        }
        let den_dp = pow10(dp).and_then(|p| den.checked_mul(p));
        // The boundary check below passes for any distance ≥ 1 when den × 10^dp + 100 × num is
        // below 10^28, that is for num ≤ (10^28 − den × 10^dp − 1) / 100.
        let always_clear = den_dp
            .and_then(|d| pow10(28)?.checked_sub(d)?.checked_sub(1))
            .map_or(0, |room| room / 100);
        Some(Divider {
            divisor,
            scale,
            currency,
            dp,
            rule,
            num_factor,
            den,
            den_dp,
            always_clear,
        })
    }

    /// The rounded quotient of `amount` (of any scale: another than the one this was made for
    /// is worked out afresh).
    pub(crate) fn apply(&self, amount: Decimal) -> Option<Money> {
        if amount.scale() != self.scale {
            return Divider::new(self.divisor, amount.scale(), self.currency, self.rule)?
                .apply(amount);
        }
        self.quotient(amount.mantissa().unsigned_abs(), amount.is_sign_negative())
    }

    /// [`Divider::apply`] to an amount given as `minor` units of `scale` decimals.
    pub(crate) fn apply_minor(&self, minor: i64, scale: u32) -> Option<Money> {
        if scale != self.scale {
            return None;
        }
        self.quotient(u128::from(minor.unsigned_abs()), minor < 0)
    }

    /// The rounded quotient of the amount of mantissa `magnitude` (and sign) at `self.scale`.
    fn quotient(&self, magnitude: u128, negative: bool) -> Option<Money> {
        let den = self.den;
        let num = magnitude.checked_mul(self.num_factor)?;
        let (quotient, remainder) = div_rem(num, den);
        if num > self.always_clear {
            // Distance to the nearest integer or half, in units of 1 / (2 × den) minor units.
            let twice = 2 * remainder;
            let distance = twice.min(twice.abs_diff(den)).min(2 * den - twice);
            // Clear when distance / (2 den) × 10^-dp > (10^-28 + q × 10^-26) / 2, in integers.
            let bound = self.den_dp?.checked_add(num.checked_mul(100)?)?;
            let clear = distance
                .checked_mul(pow10(28)?)
                .is_none_or(|scaled| scaled > bound);
            if distance != 0 && !clear {
                return None;
            }
        }
        let magnitude = quotient + u128::from(rounds_up(self.rule, quotient, remainder, den));
        let magnitude = i64::try_from(magnitude).ok()?;
        let minor = if negative { -magnitude } else { magnitude };
        Some(Money::from_minor_at(minor, self.currency, self.dp))
    }
}

/// Quotient and remainder, in 64 bits where they fit: a 128-bit division is several times
/// slower, and the remainder follows from the quotient.
pub(crate) fn div_rem(num: u128, den: u128) -> (u128, u128) {
    match (u64::try_from(num), u64::try_from(den)) {
        (Ok(n), Ok(d)) => (u128::from(n / d), u128::from(n % d)),
        _ => {
            let quotient = num / den;
            (quotient, num - quotient * den)
        }
    }
}

/// `magnitude / 10^k` and its remainder. Beyond 10^19 in two steps whose divisors fit 64 bits,
/// as a divisor wider than 64 bits takes the slowest division routine.
fn div_rem_pow10(magnitude: u128, k: u32) -> Option<(u128, u128)> {
    const SPLIT: u32 = 19;
    if k <= SPLIT {
        return Some(div_rem(magnitude, pow10(k)?));
    }
    let (high, low) = div_rem(magnitude, pow10(SPLIT)?);
    let (quotient, rest) = div_rem(high, pow10(k - SPLIT)?);
    // rest < 10^(k - 19), so this stays below 10^k.
    Some((quotient, rest * pow10(SPLIT)? + low))
}

/// 10^0 to 10^38, every power of ten a u128 holds: looked up, as `checked_pow` loops.
const POWERS_OF_TEN: [u128; 39] = {
    let mut powers = [1_u128; 39];
    let mut i = 1;
    while i < powers.len() {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

pub(crate) fn pow10(exponent: u32) -> Option<u128> {
    POWERS_OF_TEN.get(usize::try_from(exponent).ok()?).copied()
}

/// Whether `quotient` goes up by one for a division that left `remainder` of `divisor`.
pub(crate) fn rounds_up(
    rule: RoundingRule,
    quotient: u128,
    remainder: u128,
    divisor: u128,
) -> bool {
    // `remainder` against `divisor - remainder`: compared with half, without overflow.
    let rest = divisor - remainder;
    match rule {
        RoundingRule::HalfUp => remainder >= rest,
        RoundingRule::HalfEven => remainder > rest || (remainder == rest && quotient % 2 == 1),
        RoundingRule::Down => false,
        RoundingRule::Up => remainder != 0,
    }
}

/// The amount in minor units (`dp` decimals) rounded by `rule`; `None` beyond an `i64`.
pub(crate) fn minor_units(amount: Decimal, dp: u32, rule: RoundingRule) -> Option<i64> {
    let mantissa = amount.mantissa();
    let scale = amount.scale();
    let magnitude = mantissa.unsigned_abs();
    let magnitude = if scale <= dp {
        magnitude.checked_mul(pow10(dp - scale)?)?
    } else if let (Ok(narrow), Some(divisor)) = (u64::try_from(magnitude), pow10_64(scale - dp)) {
        // Both in 64 bits (the usual case): one machine division.
        let (quotient, remainder) = (narrow / divisor, narrow % divisor);
        u128::from(quotient + u64::from(rounds_up_64(rule, quotient, remainder, divisor)))
    } else {
        // A scale is at most 28, and 10^28 fits a u128.
        let divisor = pow10(scale - dp)?;
        let (quotient, remainder) = div_rem_pow10(magnitude, scale - dp)?;
        quotient + u128::from(rounds_up(rule, quotient, remainder, divisor))
    };
    let magnitude = i64::try_from(magnitude).ok()?;
    Some(if mantissa < 0 { -magnitude } else { magnitude })
}

/// 10^exponent when it fits 64 bits (exponent ≤ 19).
fn pow10_64(exponent: u32) -> Option<u64> {
    pow10(exponent).and_then(|p| u64::try_from(p).ok())
}

/// [`rounds_up`] for a division done in 64 bits.
fn rounds_up_64(rule: RoundingRule, quotient: u64, remainder: u64, divisor: u64) -> bool {
    rounds_up(rule, quotient.into(), remainder.into(), divisor.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RULES: [RoundingRule; 4] = RoundingRule::ALL;

    fn currencies() -> [Currency; 3] {
        [Currency::JPY, Currency::CNY, "KWD".parse().unwrap()]
    }

    #[test]
    fn ties_and_signs_round_as_money_does() {
        for text in [
            "2.345",
            "2.355",
            "-2.345",
            "-2.355",
            "0.005",
            "-0.005",
            "-0.001",
            "0",
            "7",
            "1.5",
            "2.5",
            "-0.5",
            "123456789.123456789123456789",
        ] {
            let amount: Decimal = text.parse().unwrap();
            for currency in currencies() {
                for rule in RULES {
                    assert_eq!(
                        round(amount, currency, rule),
                        Money::round(amount, currency, rule),
                        "{text} {currency} {rule:?}"
                    );
                }
            }
        }
    }

    /// What [`divide`] stands for: the `Decimal` quotient, rounded.
    fn slow_divide(
        amount: Decimal,
        divisor: Decimal,
        currency: Currency,
        rule: RoundingRule,
    ) -> Money {
        Money::round(amount / divisor, currency, rule).unwrap()
    }

    #[test]
    fn division_rounds_as_the_decimal_quotient_does() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        for (amount, divisor) in [
            ("1000.00", "7.1234"),
            ("0.05", "1"),
            ("0.015", "3"),
            ("-0.015", "3"),
            ("1", "3"),
            ("2", "3"),
            ("10", "0.0000000000000000000000000003"),
            ("123456789.12", "0.9"),
            ("0", "7.1234"),
        ] {
            for currency in currencies() {
                for rule in RULES {
                    let (amount, divisor) = (d(amount), d(divisor));
                    if let Some(fast) = divide(amount, divisor, currency, rule) {
                        assert_eq!(fast, slow_divide(amount, divisor, currency, rule));
                    }
                }
            }
        }
        // Exactly on a midpoint, and a quotient with no exact decimal form.
        assert_eq!(
            divide(d("0.015"), d("3"), Currency::CNY, RoundingRule::HalfEven),
            Some(Money::parse("0.00", Currency::CNY).unwrap())
        );
        assert!(divide(d("2"), d("3"), Currency::CNY, RoundingRule::HalfUp).is_some());
    }

    proptest! {
        #[test]
        fn division_agrees_with_the_decimal_quotient(
            minor in -10_000_000_000_000_i64..10_000_000_000_000,
            scale in 0_u32..=4,
            rate in 1_i64..100_000_000_000,
            rate_scale in 0_u32..=10,
            rule in 0_usize..4,
        ) {
            let amount = Decimal::new(minor, scale);
            let divisor = Decimal::new(rate, rate_scale);
            for currency in currencies() {
                if let Some(fast) = divide(amount, divisor, currency, RULES[rule]) {
                    prop_assert_eq!(fast, slow_divide(amount, divisor, currency, RULES[rule]));
                }
            }
        }

        #[test]
        fn division_of_long_figures_agrees_or_declines(
            mantissa in (1_i128 - (1 << 96))..(1 << 96),
            scale in 0_u32..=28,
            rate in 1_i128..(1 << 96),
            rate_scale in 0_u32..=28,
            rule in 0_usize..4,
        ) {
            let amount = Decimal::from_i128_with_scale(mantissa, scale);
            let divisor = Decimal::from_i128_with_scale(rate, rate_scale);
            for currency in currencies() {
                if let Some(fast) = divide(amount, divisor, currency, RULES[rule]) {
                    prop_assert_eq!(fast, slow_divide(amount, divisor, currency, RULES[rule]));
                }
            }
        }


        #[test]
        fn agrees_with_money_round(
            mantissa in prop_oneof![
                any::<i64>().prop_map(i128::from),
                (1_i128 - (1 << 96))..(1 << 96),
            ],
            scale in 0_u32..=28,
            rule in 0_usize..4,
        ) {
            let amount = Decimal::from_i128_with_scale(mantissa, scale);
            for currency in currencies() {
                prop_assert_eq!(
                    round(amount, currency, RULES[rule]),
                    Money::round(amount, currency, RULES[rule])
                );
            }
        }
    }
}
