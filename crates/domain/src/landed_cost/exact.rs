//! `a × b / c` to a `Decimal`'s full precision, correctly rounded.
//!
//! A line's customs value is its share of goods + freight + insurance: g × (goods + freight +
//! insurance) / goods. With a long exchange rate, g and that total carry so many digits that
//! `Decimal` rounds their product to 28, and a customs value that is exactly on a half-cent
//! (a single line's is simply goods + freight + insurance) then comes out a hair below it and
//! rounds one cent low. The product is kept exact here, in big integers where it must be.

use num_bigint::BigUint;
use rust_decimal::Decimal;

/// The most decimals a `Decimal` holds.
const MAX_SCALE: u32 = 28;

/// `a × b / c`, exact when it fits in a `Decimal`, else correctly rounded (half away from zero)
/// to the most decimals that fit. `None` when `c` is zero or the quotient is out of range.
pub(crate) fn mul_div(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
    if c.is_zero() {
        return None;
    }
    // `Decimal` multiplication drops digits only by lowering the scale: an unchanged one is
    // exact. A product out of range may still give a quotient in range.
    if let Some(product) = a.checked_mul(b)
        && product.scale() == a.scale() + b.scale()
    {
        return product.checked_div(c);
    }
    let negative = a.is_sign_negative() ^ b.is_sign_negative() ^ c.is_sign_negative();
    let magnitude = exact_quotient(a, b, c)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// |a × b / c| = num / den with num = |ma × mb| × 10^sc and den = |mc| × 10^(sa + sb); the
/// quotient is taken at the largest scale whose rounded mantissa fits in 96 bits.
fn exact_quotient(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
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
