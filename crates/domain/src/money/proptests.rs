//! Property tests of the money module's exactness promises.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{Currency, ExchangeRate, Money, RoundingRule};

/// Currencies with 0, 2, 3 and 4 minor digits.
fn currencies() -> [Currency; 6] {
    let clf = "CLF".parse::<Currency>().unwrap();
    [
        Currency::CNY,
        Currency::USD,
        Currency::JPY,
        Currency::KWD,
        Currency::RWF,
        clf,
    ]
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(currencies().to_vec())
}

/// Two different currencies.
fn currency_pair() -> impl Strategy<Value = (Currency, Currency)> {
    let n = currencies().len();
    (0..n, 1..n).prop_map(move |(i, offset)| (currencies()[i], currencies()[(i + offset) % n]))
}

fn rule() -> impl Strategy<Value = RoundingRule> {
    prop_oneof![
        Just(RoundingRule::HalfUp),
        Just(RoundingRule::HalfEven),
        Just(RoundingRule::Down),
        Just(RoundingRule::Up),
    ]
}

fn money(max_minor: i64) -> impl Strategy<Value = Money> {
    (-max_minor..=max_minor, currency()).prop_map(|(minor, c)| Money::from_minor(minor, c))
}

/// One minor unit of `c` as a decimal (0.01 for CNY).
fn ulp(c: Currency) -> Decimal {
    Decimal::new(1, c.minor_units())
}

/// A decimal weight of up to 6 digits and up to 6 decimals, and the same weight × 10^6.
fn weight() -> impl Strategy<Value = (Decimal, i128)> {
    (0_i64..=1_000_000, 0_u32..=6).prop_map(|(mantissa, scale)| {
        (
            Decimal::new(mantissa, scale),
            i128::from(mantissa) * 10_i128.pow(6 - scale),
        )
    })
}

proptest! {
    #[test]
    fn minor_units_roundtrip(minor in any::<i64>(), c in currency()) {
        let m = Money::from_minor(minor, c);
        prop_assert_eq!(m.to_minor(), Ok(minor));
        prop_assert_eq!(m.amount().scale(), c.minor_units());
    }

    #[test]
    fn add_then_sub_roundtrips(a in any::<i64>(), b in any::<i64>(), c in currency()) {
        let (a, b) = (Money::from_minor(a, c), Money::from_minor(b, c));
        let sum = a.checked_add(b).unwrap();
        prop_assert_eq!(sum, b.checked_add(a).unwrap());
        prop_assert_eq!(sum.checked_sub(b).unwrap(), a);
        prop_assert_eq!(a.checked_sub(a).unwrap(), Money::zero(c));
        prop_assert_eq!(a.checked_add(-a).unwrap(), Money::zero(c));
    }

    #[test]
    fn serde_roundtrips_with_minor_digits(m in money(i64::MAX)) {
        let json = serde_json::to_value(m).unwrap();
        let amount = json["amount"].as_str().unwrap();
        let decimals = amount.split_once('.').map_or(0, |(_, frac)| frac.len());
        prop_assert_eq!(decimals, m.currency().minor_units() as usize);
        prop_assert_eq!(serde_json::from_value::<Money>(json).unwrap(), m);
    }

    #[test]
    fn rounding_stays_within_one_minor_unit(
        mantissa in -10_i64.pow(15)..10_i64.pow(15),
        scale in 0_u32..=8,
        c in currency(),
        rule in rule(),
    ) {
        let exact = Decimal::new(mantissa, scale);
        let rounded = Money::round(exact, c, rule).unwrap();
        let error = (rounded.amount() - exact).abs();
        match rule {
            RoundingRule::HalfUp | RoundingRule::HalfEven => prop_assert!(error * Decimal::TWO <= ulp(c)),
            RoundingRule::Down => prop_assert!(error < ulp(c) && rounded.amount().abs() <= exact.abs()),
            RoundingRule::Up => prop_assert!(error < ulp(c) && rounded.amount().abs() >= exact.abs()),
        }
        // Rounding an amount that already fits changes nothing.
        prop_assert_eq!(Money::round(rounded.amount(), c, rule).unwrap(), rounded);
    }

    #[test]
    fn allocation_sums_exactly_and_stays_near_each_share(
        m in money(10_i64.pow(15)),
        weights in prop::collection::vec(weight(), 1..12),
    ) {
        let total: i128 = weights.iter().map(|(_, w)| w).sum();
        prop_assume!(total > 0);
        let decimals: Vec<Decimal> = weights.iter().map(|(d, _)| *d).collect();
        let parts = m.allocate(&decimals).unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(Money::sum(m.currency(), &parts).unwrap(), m);
        let whole = i128::from(m.to_minor().unwrap());
        for (part, (_, w)) in parts.iter().zip(&weights) {
            // |part − whole·w/total| < 1 minor unit, in integers.
            let part = i128::from(part.to_minor().unwrap());
            prop_assert!((part * total - whole * w).abs() < total);
            prop_assert!(whole == 0 || part == 0 || (part < 0) == (whole < 0));
        }
    }

    #[test]
    fn allocation_by_integer_weights_sums_exactly(
        m in money(i64::MAX),
        weights in prop::collection::vec(0_u32..=u32::MAX, 1..8),
    ) {
        prop_assume!(weights.iter().any(|w| *w > 0));
        let parts = m.allocate(&weights).unwrap();
        prop_assert_eq!(Money::sum(m.currency(), &parts).unwrap(), m);
    }

    #[test]
    fn even_allocation_sums_exactly_and_differs_by_at_most_one_unit(m in money(i64::MAX), n in 1_usize..50) {
        let parts = m.allocate_evenly(n).unwrap();
        prop_assert_eq!(parts.len(), n);
        prop_assert_eq!(Money::sum(m.currency(), &parts).unwrap(), m);
        let minors: Vec<i64> = parts.iter().map(|p| p.to_minor().unwrap()).collect();
        let (lo, hi) = (minors.iter().min().unwrap(), minors.iter().max().unwrap());
        prop_assert!(hi - lo <= 1);
    }

    /// Out and back loses at most half a quote unit (worth 0.5·ulp_quote/rate in the base) plus
    /// the final rounding of half a base unit, and a negligible error from the 28-digit inverse:
    /// |back − x| ≤ ulp_quote/(2·rate) + ulp_base.
    #[test]
    fn convert_and_back_stays_within_the_rounding_bound(
        minor in -10_i64.pow(12)..10_i64.pow(12),
        (base, quote) in currency_pair(),
        rate_e7 in 100_000_i64..=1_000_000_000,
        rule in prop_oneof![Just(RoundingRule::HalfUp), Just(RoundingRule::HalfEven)],
    ) {
        let rate = ExchangeRate::new(base, quote, Decimal::new(rate_e7, 7)).unwrap();
        let x = Money::from_minor(minor, base);
        let out = rate.convert(&x, rule).unwrap();
        let back = rate.inverse().unwrap().convert(&out, rule).unwrap();
        let error = (back.amount() - x.amount()).abs();
        let r = rate.rate();
        prop_assert!(error * Decimal::TWO * r <= ulp(quote) + Decimal::TWO * r * ulp(base), "{x} → {out} → {back}");
    }

    /// When a quote unit is worth no more than a base unit (here: same minor digits, rate ≥ 1),
    /// the round trip is off by at most one minor unit.
    #[test]
    fn convert_and_back_within_one_minor_unit(
        minor in -10_i64.pow(12)..10_i64.pow(12),
        pair in prop_oneof![
            Just((Currency::CNY, Currency::USD)),
            Just((Currency::USD, Currency::CNY)),
            Just((Currency::EUR, Currency::THB)),
            Just((Currency::JPY, Currency::RWF)),
        ],
        rate_e7 in 10_000_000_i64..=1_000_000_000,
    ) {
        let (base, quote) = pair;
        let rate = ExchangeRate::new(base, quote, Decimal::new(rate_e7, 7)).unwrap();
        let x = Money::from_minor(minor, base);
        let out = rate.convert(&x, RoundingRule::HalfUp).unwrap();
        let back = rate.inverse().unwrap().convert(&out, RoundingRule::HalfUp).unwrap();
        let diff = back.checked_sub(x).unwrap().to_minor().unwrap();
        prop_assert!(diff.abs() <= 1, "{x} → {out} → {back}");
    }
}
