//! A line's figures before they are rounded: exact fractions of 128-bit integers where they fit.
//!
//! A customs value under CIF is the line's share of goods + freight + insurance, g × (goods +
//! freight + insurance) / goods, whose decimals mostly never end. As a `Decimal` it carries 28
//! digits, so the duty, the VAT and a regime's factor on it each cost a product that must be
//! rescaled, and then a long rounding. Kept as numerator over denominator, each is an integer
//! product or two and one division when it is rounded; and exact, so a figure right on a
//! half-cent rounds as the rule says. A figure that would leave 128 bits goes on as a `Decimal`,
//! as all figures did before.

use rust_decimal::Decimal;

use crate::money::RoundingRule;

use super::exact;
use super::rounding::{div_rem, pow10, rounds_up};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineValue {
    /// Exactly `num / den` (`den` > 0).
    Ratio { num: u128, den: u128 },
    /// To a `Decimal`'s precision.
    Decimal(Decimal),
}

impl LineValue {
    /// `value` as it is.
    pub(crate) fn of(value: Decimal) -> LineValue {
        match (u128::try_from(value.mantissa()), pow10(value.scale())) {
            (Ok(num), Some(den)) => LineValue::Ratio { num, den },
            _ => LineValue::Decimal(value),
        }
    }

    /// `a × b / c`, a line's share of a sum (`None` when `c` is zero or the quotient is out of
    /// range): exact when its parts fit, else correctly rounded to a `Decimal`'s 28 digits.
    pub(crate) fn share(a: Decimal, b: Decimal, c: Decimal) -> Option<LineValue> {
        if c.is_zero() {
            return None;
        }
        let ratio = || {
            let product = u128::try_from(a.mantissa())
                .ok()?
                .checked_mul(u128::try_from(b.mantissa()).ok()?)?;
            let divisor = u128::try_from(c.mantissa()).ok()?;
            // a × b / c = (ma × mb / mc) × 10^(sc − sa − sb)
            let exponent = i64::from(c.scale()) - i64::from(a.scale()) - i64::from(b.scale());
            let power = pow10(u32::try_from(exponent.unsigned_abs()).ok()?)?;
            Some(if exponent >= 0 {
                LineValue::Ratio {
                    num: product.checked_mul(power)?,
                    den: divisor,
                }
            } else {
                LineValue::Ratio {
                    num: product,
                    den: divisor.checked_mul(power)?,
                }
            })
        };
        // Else the quotient rounded to 28 digits, which later figures take on as a fraction over
        // a power of ten (while they fit).
        ratio().or_else(|| exact::mul_div(a, b, c).map(LineValue::of))
    }

    /// `self × factor`.
    pub(crate) fn times(self, factor: Decimal) -> LineValue {
        let mantissa = u128::try_from(factor.mantissa()).ok();
        self.scaled(mantissa, pow10(factor.scale()), |v| v.checked_mul(factor))
    }

    /// `self / divisor` (`divisor` > 0).
    pub(crate) fn over(self, divisor: Decimal) -> LineValue {
        let mantissa = u128::try_from(divisor.mantissa()).ok();
        self.scaled(pow10(divisor.scale()), mantissa, |v| v.checked_div(divisor))
    }

    /// `self × up / down` as a fraction while it fits, else `on_decimal` of the value as a
    /// `Decimal` (saturating, as [`LineValue::to_decimal`]).
    fn scaled(
        self,
        up: Option<u128>,
        down: Option<u128>,
        on_decimal: impl FnOnce(Decimal) -> Option<Decimal>,
    ) -> LineValue {
        if let LineValue::Ratio { num, den } = self
            && let Some(num) = up.and_then(|up| num.checked_mul(up))
            && let Some(den) = down.filter(|d| *d != 0).and_then(|d| den.checked_mul(d))
        {
            return LineValue::Ratio { num, den };
        }
        LineValue::Decimal(on_decimal(self.to_decimal()).unwrap_or(Decimal::MAX))
    }

    /// `self + other`. Exact when one denominator divides the other, as a line's do: each later
    /// figure's is an earlier one's times a power of ten.
    pub(crate) fn plus(self, other: LineValue) -> LineValue {
        if let (LineValue::Ratio { num: a, den: da }, LineValue::Ratio { num: b, den: db }) =
            (self, other)
        {
            let aligned = if da == db {
                a.checked_add(b).map(|num| (num, da))
            } else if db % da == 0 {
                a.checked_mul(db / da)
                    .and_then(|a| a.checked_add(b))
                    .map(|num| (num, db))
            } else if da % db == 0 {
                b.checked_mul(da / db)
                    .and_then(|b| b.checked_add(a))
                    .map(|num| (num, da))
            } else {
                None
            };
            if let Some((num, den)) = aligned {
                return LineValue::Ratio { num, den };
            }
        }
        LineValue::Decimal(
            self.to_decimal()
                .checked_add(other.to_decimal())
                .unwrap_or(Decimal::MAX),
        )
    }

    /// The value to a `Decimal`'s precision (a fraction correctly rounded half up).
    pub(crate) fn to_decimal(self) -> Decimal {
        match self {
            LineValue::Decimal(value) => value,
            // Out of range only past a Decimal's 7.9 × 10^28, far beyond the bounds a quote
            // checks its inputs against (10^15 for values); saturating keeps that a rounding
            // error, never a panic.
            LineValue::Ratio { num, den } => {
                // Over a power of ten (an amount as given): that `Decimal` itself, no division.
                if let Some(scale) = den.checked_ilog10().filter(|s| *s <= 28)
                    && pow10(scale) == Some(den)
                    && let Ok(num) = i128::try_from(num)
                    && num < 1 << 96
                {
                    return Decimal::from_i128_with_scale(num, scale);
                }
                exact::quotient(num, den).unwrap_or(Decimal::MAX)
            }
        }
    }

    /// The value in minor units of `dp` decimals, rounded by `rule`, when the result fits an
    /// `i64` (and the denominator times 10^dp 128 bits); `None` for a `Decimal`, which the
    /// caller rounds its own way.
    pub(crate) fn minor_units(self, dp: u32, rule: RoundingRule) -> Option<i64> {
        let LineValue::Ratio { num, den } = self else {
            return None;
        };
        let scale = pow10(dp)?;
        let (quotient, remainder) = match num.checked_mul(scale) {
            Some(scaled) => div_rem(scaled, den),
            // A long numerator (a consumption tax on a tax-inclusive base, say): the whole part
            // first, then the remainder's decimals, which are below den × 10^dp.
            None => {
                let (whole, rest) = div_rem(num, den);
                let (decimals, remainder) = div_rem(rest.checked_mul(scale)?, den);
                (whole.checked_mul(scale)?.checked_add(decimals)?, remainder)
            }
        };
        i64::try_from(quotient + u128::from(rounds_up(rule, quotient, remainder, den))).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use num_integer::Integer;
    use proptest::prelude::*;

    const RULES: [RoundingRule; 4] = RoundingRule::ALL;

    /// An exact fraction of big integers: the reference.
    #[derive(Clone)]
    struct Big(BigUint, BigUint);

    impl Big {
        fn of(d: Decimal) -> Big {
            Big(
                BigUint::from(d.mantissa().unsigned_abs()),
                BigUint::from(10u32).pow(d.scale()),
            )
        }
        fn times(&self, d: Decimal) -> Big {
            let f = Big::of(d);
            Big(&self.0 * f.0, &self.1 * f.1)
        }
        fn plus(&self, o: &Big) -> Big {
            Big(&self.0 * &o.1 + &o.0 * &self.1, &self.1 * &o.1)
        }
        fn minor(&self, dp: u32, rule: RoundingRule) -> i64 {
            i64::try_from(self.minor_wide(dp, rule)).unwrap()
        }
        fn minor_wide(&self, dp: u32, rule: RoundingRule) -> BigUint {
            let num = &self.0 * BigUint::from(10u32).pow(dp);
            let (q, r) = num.div_rem(&self.1);
            let twice = &r * 2u32;
            let up = match rule {
                RoundingRule::HalfUp => twice >= self.1,
                RoundingRule::HalfEven => twice > self.1 || (twice == self.1 && q.is_odd()),
                RoundingRule::Down => false,
                RoundingRule::Up => r != BigUint::ZERO,
            };
            q + u32::from(up)
        }
    }

    fn d(mantissa: u64, scale: u32) -> Decimal {
        Decimal::new(mantissa as i64, scale)
    }

    #[test]
    fn a_duty_exactly_on_a_half_cent_rounds_by_the_rule() {
        // Two lines of 1.00 and 2.00 with 0.01 of freight: the first line's customs value is
        // 1.00 × 3.01 / 3.00 = 1.00333…, and at a duty of 150% its duty is 1.505 exactly.
        let (g, gfi, total) = (d(100, 2), d(301, 2), d(300, 2));
        let cv = LineValue::share(g, gfi, total).unwrap();
        let duty = cv.times(d(15, 1));
        assert_eq!(duty.minor_units(2, RoundingRule::HalfUp), Some(151));
        assert_eq!(duty.minor_units(2, RoundingRule::HalfEven), Some(150));
        assert_eq!(duty.minor_units(2, RoundingRule::Down), Some(150));
    }

    #[test]
    fn a_figure_that_outgrows_128_bits_is_rounded_to_28_digits_or_goes_on_as_a_decimal() {
        let long = Decimal::from_i128_with_scale((1 << 95) + 12345, 20);
        let cv = LineValue::share(long, long, d(3, 0)).unwrap();
        assert_eq!(
            cv,
            LineValue::of(exact::mul_div(long, long, d(3, 0)).unwrap())
        );
        let huge = LineValue::Ratio {
            num: u128::MAX / 2,
            den: 3,
        };
        assert!(matches!(huge.times(d(7, 0)), LineValue::Decimal(_)));
        // Its numerator times 100 leaves 128 bits, but not the value in minor units.
        let long = LineValue::Ratio {
            num: u128::MAX / 2,
            den: 1 << 120,
        };
        assert_eq!(long.minor_units(2, RoundingRule::HalfUp), Some(12800));
        assert_eq!(huge.minor_units(2, RoundingRule::HalfUp), None);
        assert_eq!(LineValue::share(g1(), g1(), Decimal::ZERO), None);
    }

    fn g1() -> Decimal {
        d(1, 0)
    }

    proptest! {
        /// Any fraction rounds to minor units as big-integer arithmetic rounds it, in one
        /// division or, for a long numerator, in two.
        #[test]
        fn a_fraction_rounds_as_exact_arithmetic_does(
            num in any::<u128>(), den in 1u128..(1 << 118), dp in 0u32..=3, rule in 0usize..4,
        ) {
            let rule = RULES[rule];
            let exact = Big(BigUint::from(num), BigUint::from(den)).minor_wide(dp, rule);
            let minor = LineValue::Ratio { num, den }.minor_units(dp, rule);
            prop_assert_eq!(minor, i64::try_from(exact).ok());
        }

        /// Customs value, duty and VAT with a regime factor, as the engine chains them: the
        /// fractions round exactly as big-integer arithmetic does, whenever they stay fractions.
        #[test]
        fn a_line_rounds_as_exact_arithmetic_does(
            g in 0u64..10_000_000_000_000, gs in 0u32..=8,
            extra in 0u64..10_000_000_000, es in 0u32..=8,
            rest in 0u64..10_000_000_000_000, rs in 0u32..=8,
            duty in 0u64..100_000, ds in 4u32..=5,
            vat in 0u64..1_000, vs in 2u32..=4,
            factor in 1u64..=10, dp in 0u32..=3, rule in 0usize..4,
        ) {
            let (g, rest, extra) = (d(g, gs), d(rest, rs), d(extra, es));
            let total = g + rest;
            prop_assume!(!total.is_zero());
            let gfi = total + extra;
            let (duty, vat, factor) = (d(duty, ds), d(vat, vs), d(factor, 1));
            let rule = RULES[rule];
            let cv = LineValue::share(g, gfi, total).unwrap();
            let duty_value = cv.times(duty);
            let vat_value = cv.plus(duty_value).times(vat).times(factor);

            let big_cv = Big(Big::of(g).times(gfi).0 * Big::of(total).1, Big::of(g).times(gfi).1 * Big::of(total).0);
            let big_duty = big_cv.times(duty);
            let big_vat = big_cv.plus(&big_duty).times(vat).times(factor);
            for (value, big) in [(cv, &big_cv), (duty_value, &big_duty), (vat_value, &big_vat)] {
                if let Some(minor) = value.minor_units(dp, rule) {
                    prop_assert_eq!(minor, big.minor(dp, rule));
                } else {
                    // Gone on as a Decimal: within one minor unit of the exact figure.
                    let rounded = crate::landed_cost::rounding::minor_units(value.to_decimal(), dp, rule).unwrap();
                    prop_assert!((rounded - big.minor(dp, rule)).abs() <= 1);
                }
            }
        }
    }
}
