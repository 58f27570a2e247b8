//! `a × b / c` to a `Decimal`'s full precision, correctly rounded.
//!
//! A line's customs value is its share of goods + freight + insurance: g × (goods + freight +
//! insurance) / goods. With a long exchange rate, g and that total carry so many digits that
//! `Decimal` rounds their product to 28, and a customs value that is exactly on a half-cent
//! (a single line's is simply goods + freight + insurance) then comes out a hair below it and
//! rounds one cent low. The product is kept exact here, in big integers where it must be.

use num_bigint::BigUint;
use num_integer::Integer;
use rust_decimal::Decimal;

/// The most decimals a `Decimal` holds.
const MAX_SCALE: u32 = 28;

/// `a × b / c`, exact when it fits in a `Decimal`, else correctly rounded (half away from zero)
/// to the most decimals that fit. `None` when `c` is zero or the quotient is out of range.
pub(crate) fn mul_div(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
    if c.is_zero() {
        return None;
    }
    // The product is exact in a `Decimal` when its mantissa fits in 96 bits at the summed scale
    // (tested on the mantissas first: a product that does not fit costs `Decimal` a rescale).
    // A product out of range may still give a quotient in range.
    let fits = a
        .mantissa()
        .unsigned_abs()
        .checked_mul(b.mantissa().unsigned_abs())
        .is_some_and(|m| m < 1 << 96)
        && a.scale() + b.scale() <= MAX_SCALE;
    if fits
        && let Some(product) = a.checked_mul(b)
        && product.scale() == a.scale() + b.scale()
    {
        return product.checked_div(c);
    }
    let negative = a.is_sign_negative() ^ b.is_sign_negative() ^ c.is_sign_negative();
    let magnitude = exact_quotient(a, b, c)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// |a × b / c| at the largest scale whose rounded mantissa fits in 96 bits.
///
/// One big division, at the largest scale (28): x = |ma × mb| × 10^(sc + 28 − sa − sb) / |mc|
/// = q + r / den, the power of ten on whichever side keeps it positive. At scale 28 − k the
/// quotient is ⌊q / 10^k⌋, rounded up when what is dropped, (q mod 10^k) + r / den, is at least
/// half of 10^k: for k ≥ 1 exactly when q mod 10^k ≥ 10^k / 2 (an integer, and r / den < 1).
/// So each smaller scale costs a division by a power of ten, in `u128` when q fits, not another
/// big division. (This path serves the rates crossed through the euro, whose 28 digits make
/// every customs value's product too long for a `Decimal`.)
fn exact_quotient(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
    let magnitude = |d: Decimal| BigUint::from(d.mantissa().unsigned_abs());
    let mut num = magnitude(a) * magnitude(b);
    let mut den = magnitude(c);
    let shift = i64::from(c.scale()) + i64::from(MAX_SCALE) - i64::from(a.scale() + b.scale());
    let power = ten_to(u32::try_from(shift.unsigned_abs()).ok()?);
    if shift >= 0 {
        num *= power;
    } else {
        den *= power;
    }
    rounded_quotient(&num, &den)
}

/// `num / den` (both positive integers), correctly rounded half up to the most decimals that fit
/// a `Decimal`; `None` when it is out of range or `den` is zero. For a line figure kept as a
/// fraction (see `line_value`) that must go on as a `Decimal`.
pub(crate) fn quotient(num: u128, den: u128) -> Option<Decimal> {
    if den == 0 {
        return None;
    }
    // Both within a `Decimal`: its own division, as `mul_div` divides.
    if let (Ok(n), Ok(d)) = (i128::try_from(num), i128::try_from(den))
        && n < 1 << 96
        && d < 1 << 96
    {
        return Decimal::from_i128_with_scale(n, 0)
            .checked_div(Decimal::from_i128_with_scale(d, 0));
    }
    rounded_quotient(
        &(BigUint::from(num) * ten_to(MAX_SCALE)),
        &BigUint::from(den),
    )
}

/// num / den × 10^-28 (num already scaled by 10^28), rounded half up at the largest scale whose
/// mantissa fits in 96 bits.
fn rounded_quotient(num: &BigUint, den: &BigUint) -> Option<Decimal> {
    let (q, r) = num.div_rem(den);
    // ⌊q / 10^k⌋ < 2^96 needs 10^k > q / 2^96, so no k below (bits − 97) × log10(2) fits:
    // start there (1233 / 4096 is just under log10(2), so the start is never past the answer).
    let first = u32::try_from((q.bits().saturating_sub(97) * 1233) >> 12).ok()?;
    let at = |k: u32, rounded: u128| {
        let mantissa = i128::try_from(rounded).ok()?;
        Some(Decimal::from_i128_with_scale(mantissa, MAX_SCALE - k).normalize())
    };
    if let Ok(q) = u128::try_from(&q) {
        for k in first..=MAX_SCALE {
            let rounded = if k == 0 {
                q + u128::from((&r << 1u32) >= *den)
            } else {
                let p = super::rounding::pow10(k)?;
                q / p + u128::from(q % p >= p / 2)
            };
            if rounded < 1 << 96 {
                return at(k, rounded);
            }
        }
        return None;
    }
    let limit = BigUint::from(1u128 << 96);
    for k in first.max(1)..=MAX_SCALE {
        let p = ten_to(k);
        let (quotient, dropped) = q.div_rem(&p);
        let rounded = if (dropped << 1u32) >= p {
            quotient + 1u32
        } else {
            quotient
        };
        if rounded < limit {
            return at(k, u128::try_from(rounded).ok()?);
        }
    }
    None
}

fn ten_to(exponent: u32) -> BigUint {
    match super::rounding::pow10(exponent) {
        Some(p) => BigUint::from(p),
        None => BigUint::from(10u32).pow(exponent),
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

    /// The first way: a big division at every scale from 28 down until one fits.
    fn reference(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
        let magnitude = |d: Decimal| BigUint::from(d.mantissa().unsigned_abs());
        let num = magnitude(a) * magnitude(b) * BigUint::from(10u32).pow(c.scale());
        let den = magnitude(c) * BigUint::from(10u32).pow(a.scale() + b.scale());
        let limit = BigUint::from(1u128 << 96);
        for scale in (0..=MAX_SCALE).rev() {
            let scaled = &num * BigUint::from(10u32).pow(scale);
            let quotient = &scaled / &den;
            let remainder = scaled - &quotient * &den;
            let rounded = if remainder * 2u32 >= den {
                quotient + 1u32
            } else {
                quotient
            };
            if rounded < limit {
                let mantissa = i128::try_from(u128::try_from(rounded).ok()?).ok()?;
                return Some(Decimal::from_i128_with_scale(mantissa, scale).normalize());
            }
        }
        None
    }

    #[test]
    fn a_share_on_a_half_cent_stays_on_it_when_the_product_has_too_many_digits() {
        // g has 25 significant digits (an amount converted at a long rate): g × total does not
        // fit in 28, and `Decimal` alone gives 1234567890123.0049999999999999.
        let total = d("1234567890123.005");
        let g = d("98765.00012345678901234567");
        assert_ne!(
            (g * total) / g,
            total,
            "the case must exercise the rounded product"
        );
        assert_eq!(mul_div(g, total, g), Some(total));
    }

    #[test]
    fn a_zero_divisor_or_an_out_of_range_quotient_is_none() {
        assert_eq!(mul_div(d("1"), d("2"), Decimal::ZERO), None);
        assert_eq!(mul_div(Decimal::MAX, Decimal::MAX, d("0.5")), None);
    }

    #[test]
    fn signs_follow_the_operands() {
        let g = d("-98765.00012345678901234567");
        assert_eq!(
            mul_div(g, d("1234567890123.005"), g.abs()),
            Some(d("-1234567890123.005"))
        );
    }

    proptest! {
        /// Where `Decimal` computes the product exactly, the big-integer way gives its quotient.
        #[test]
        fn the_exact_way_agrees_with_decimal_where_the_product_fits(
            a in 0u64..10_000_000_000, sa in 0u32..8,
            b in 0u64..10_000_000_000, sb in 0u32..8,
            c in 1u64..10_000_000_000, sc in 0u32..8,
        ) {
            let (a, b, c) = (Decimal::new(a as i64, sa), Decimal::new(b as i64, sb), Decimal::new(c as i64, sc));
            let expected = (a * b).checked_div(c).map(|x| x.normalize());
            prop_assert_eq!(exact_quotient(a, b, c), expected);
        }

        /// Long mantissas at any scales (the cross-rate case): the same quotient as a big
        /// division at every scale.
        #[test]
        fn one_division_agrees_with_a_division_per_scale(
            a in 1u128..(1u128 << 96), sa in 0u32..=28,
            b in 1u128..(1u128 << 96), sb in 0u32..=28,
            c in 1u128..(1u128 << 96), sc in 0u32..=28,
        ) {
            let (a, b, c) = (
                Decimal::from_i128_with_scale(a as i128, sa),
                Decimal::from_i128_with_scale(b as i128, sb),
                Decimal::from_i128_with_scale(c as i128, sc),
            );
            prop_assert_eq!(exact_quotient(a, b, c), reference(a, b, c));
        }

        /// Quotients on a rounding edge: c divides a × b × 10^k up to a half, at every scale.
        #[test]
        fn ties_round_half_up_as_before(
            q in 1u128..(1u128 << 100), s in 0u32..=28, half in any::<bool>(),
        ) {
            // (2q + 1) / 2 is exactly q.5 at the last digit kept when q has too many digits.
            let a = Decimal::from_i128_with_scale(((2 * q + u128::from(half)) % (1u128 << 95)) as i128, s);
            let (b, c) = (Decimal::ONE, Decimal::TWO);
            prop_assert_eq!(exact_quotient(a, b, c), reference(a, b, c));
        }

        /// (a × b / a) is b whatever the digits of a: the exact path loses nothing.
        #[test]
        fn a_whole_share_is_the_whole(
            a in 1u128..(1u128 << 95), sa in 0u32..28,
            b in 0u64..100_000_000_000_000, sb in 0u32..4,
        ) {
            let (a, b) = (Decimal::from_i128_with_scale(a as i128, sa), Decimal::new(b as i64, sb));
            prop_assert_eq!(mul_div(a, b, a).map(|x| x.normalize()), Some(b.normalize()));
        }
    }
}
