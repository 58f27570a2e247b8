//! Splitting an amount into parts that add up to it exactly, to the minor unit.

use rust_decimal::Decimal;

use super::{Money, MoneyError};

/// The most parts [`Money::allocate_evenly`] produces, so that a request cannot make the process
/// allocate unbounded memory.
pub const MAX_ALLOCATION_PARTS: usize = 1_000_000;

impl Money {
    /// Splits `self` into parts proportional to `weights` (`u32` or `Decimal`) that add up exactly
    /// to `self`, such as an invoice shared between a seller and a sponsoring agency.
    ///
    /// Each part starts as its exact share rounded down to the minor unit; the minor units left
    /// over go one each to the parts with the largest remainders, ties to the earliest part
    /// (largest remainder method). So every part differs from its exact share by less than one
    /// minor unit, a zero weight gets nothing, and the result depends only on the inputs. A
    /// negative amount is split as the mirror image of its positive, so a refund splits like the
    /// charge it reverses.
    ///
    /// Refused: no weights, a negative weight, all weights zero, and weights so large or precise
    /// that the exact computation would leave 128-bit unsigned integers.
    pub fn allocate<W: Copy + Into<Decimal>>(
        &self,
        weights: &[W],
    ) -> Result<Vec<Money>, MoneyError> {
        let mut integers = vec![0_u128; weights.len()];
        let total = integer_weights(weights.iter().map(|w| (*w).into()), self, &mut integers)?;
        let mut parts = vec![Money::zero(self.currency); weights.len()];
        self.allocate_integers(&integers, total, |index, part| {
            if let Some(slot) = parts.get_mut(index) {
                *slot = part;
            }
        })?;
        Ok(parts)
    }

    /// The split of [`Money::allocate`] by integer weights (from [`integer_weights`]) that add
    /// up to `total`: each part is handed to `part` with its index.
    pub(crate) fn allocate_integers(
        &self,
        weights: &[u128],
        total: u128,
        mut part: impl FnMut(usize, Money),
    ) -> Result<(), MoneyError> {
        if total == 0 {
            return Err(MoneyError::ZeroWeights);
        }
        let too_large = || MoneyError::WeightsTooLarge { amount: *self };
        let whole = self.minor_i128().unsigned_abs();
        // The exact share of weight `w`: its floor and the remainder of that division.
        let share = |w: u128| -> Result<(u128, u128), MoneyError> {
            let product = whole.checked_mul(w).ok_or_else(too_large)?;
            Ok(match (u64::try_from(product), u64::try_from(total)) {
                (Ok(p), Ok(t)) => (u128::from(p / t), u128::from(p % t)),
                _ => (product / total, product % total),
            })
        };
        // The minor units left over go one each to the largest remainders, ties to the earliest
        // part. The first few such parts (remainder, index), kept in that order as the shares
        // are computed; more than that are ranked by sorting.
        const FEW: usize = 4;
        let mut best = [(0_u128, usize::MAX); FEW];
        let mut floors: u128 = 0;
        for (index, weight) in weights.iter().enumerate() {
            let (floor, remainder) = share(*weight)?;
            floors += floor;
            // In place of the last kept one if larger (an equal one came earlier), then moved up
            // past every smaller one.
            let mut at = FEW - 1;
            if best[at].1 != usize::MAX && remainder <= best[at].0 {
                continue;
            }
            best[at] = (remainder, index);
            while at > 0 && (best[at - 1].1 == usize::MAX || remainder > best[at - 1].0) {
                best.swap(at - 1, at);
                at -= 1;
            }
        }
        let leftover = usize::try_from(whole - floors).unwrap_or(0);
        let dp = self.currency.minor_units();
        if leftover <= FEW {
            let picked = best.get(..leftover).unwrap_or_default();
            for (index, weight) in weights.iter().enumerate() {
                let (floor, _) = share(*weight)?;
                let extra = picked.iter().any(|(_, i)| *i == index);
                part(index, self.signed_part(floor + u128::from(extra), dp)?);
            }
            return Ok(());
        }
        // (floor, remainder, index), ranked by remainder then index.
        let mut shares = Vec::with_capacity(weights.len());
        for (index, weight) in weights.iter().enumerate() {
            let (floor, remainder) = share(*weight)?;
            shares.push((floor, remainder, index));
        }
        shares.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        for share in shares.iter_mut().take(leftover) {
            share.0 += 1;
        }
        for (magnitude, _, index) in shares {
            part(index, self.signed_part(magnitude, dp)?);
        }
        Ok(())
    }

    /// Splits `self` into `parts` parts as equal as possible that add up exactly to `self`; the
    /// leftover minor units go one each to the first parts (100.00 / 3 = 33.34, 33.33, 33.33).
    pub fn allocate_evenly(&self, parts: usize) -> Result<Vec<Money>, MoneyError> {
        let mut out = Vec::new();
        self.allocate_evenly_into(parts, |part| out.push(part))?;
        Ok(out)
    }

    /// [`Money::allocate_evenly`], each part handed to `part` in order.
    pub(crate) fn allocate_evenly_into(
        &self,
        parts: usize,
        mut part: impl FnMut(Money),
    ) -> Result<(), MoneyError> {
        if parts == 0 {
            return Err(MoneyError::NoParts);
        }
        let too_many = || MoneyError::TooManyParts {
            parts,
            max: MAX_ALLOCATION_PARTS,
        };
        if parts > MAX_ALLOCATION_PARTS {
            return Err(too_many());
        }
        let count = u128::try_from(parts).map_err(|_| too_many())?;
        let whole = self.minor_i128().unsigned_abs();
        let (base, leftover) = (whole / count, whole % count);
        let dp = self.currency.minor_units();
        for i in 0..count {
            part(self.signed_part(base + u128::from(i < leftover), dp)?);
        }
        Ok(())
    }

    /// A part of `self`, its magnitude in minor units, with the sign of `self` (whose currency
    /// has `dp` decimals).
    #[inline]
    fn signed_part(&self, magnitude: u128, dp: u32) -> Result<Money, MoneyError> {
        if let Ok(narrow) = i64::try_from(magnitude) {
            let minor = if self.is_negative() { -narrow } else { narrow };
            return Ok(Money::from_minor_at(minor, self.currency, dp));
        }
        let sign = if self.is_negative() { -1 } else { 1 };
        // A part never exceeds the whole, so it always fits.
        i128::try_from(magnitude)
            .ok()
            .and_then(|part| Money::from_minor_i128(sign * part, self.currency))
            .ok_or(MoneyError::WeightsTooLarge { amount: *self })
    }
}

/// Brings decimal weights to integers at a common scale (the largest scale among them with
/// trailing zeros dropped), so that shares are computed exactly; writes them to `out` (one per
/// weight) and answers their total. `amount` is the amount to split, named in errors.
pub(crate) fn integer_weights<I>(
    weights: I,
    amount: &Money,
    out: &mut [u128],
) -> Result<u128, MoneyError>
where
    I: Iterator<Item = Decimal> + Clone,
{
    let too_large = || MoneyError::WeightsTooLarge { amount: *amount };
    let mut any = false;
    let mut scale = 0;
    for (index, weight) in weights.clone().enumerate() {
        any = true;
        if weight.is_sign_negative() {
            let normal = weight.normalize();
            if normal.is_sign_negative() {
                return Err(MoneyError::NegativeWeight {
                    index,
                    weight: normal,
                });
            }
        }
        scale = scale.max(normal_scale(weight));
    }
    if !any {
        return Err(MoneyError::NoWeights);
    }
    let mut total: u128 = 0;
    for (weight, slot) in weights.zip(out.iter_mut()) {
        let magnitude = weight.mantissa().unsigned_abs();
        // The weight at the common scale: exact both ways, as `scale` keeps every nonzero digit.
        *slot = if scale >= weight.scale() {
            10_u128
                .checked_pow(scale - weight.scale())
                .and_then(|factor| magnitude.checked_mul(factor))
                .ok_or_else(too_large)?
        } else {
            magnitude / 10_u128.pow(weight.scale() - scale)
        };
        total = total.checked_add(*slot).ok_or_else(too_large)?;
    }
    Ok(total)
}

/// The scale of `value` without its trailing zeros (that of `value.normalize()`).
fn normal_scale(value: Decimal) -> u32 {
    let mut mantissa = value.mantissa().unsigned_abs();
    if mantissa == 0 {
        return 0;
    }
    let mut scale = value.scale();
    while scale > 0 {
        // In 64 bits where the mantissa fits: a 128-bit division is several times slower.
        let (quotient, whole) = match u64::try_from(mantissa) {
            Ok(m) => (u128::from(m / 10), m.is_multiple_of(10)),
            Err(_) => (mantissa / 10, mantissa.is_multiple_of(10)),
        };
        if !whole {
            break;
        }
        mantissa = quotient;
        scale -= 1;
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use std::str::FromStr;

    fn cny(s: &str) -> Money {
        Money::parse(s, Currency::CNY).unwrap()
    }

    fn amounts(parts: &[Money]) -> Vec<String> {
        parts.iter().map(|m| m.amount().to_string()).collect()
    }

    #[test]
    fn splits_proportionally_with_largest_remainder() {
        // 100.00 × 1/6, 2/6, 3/6 = 16.666…, 33.333…, 50.00
        let parts = cny("100").allocate(&[1_u32, 2, 3]).unwrap();
        assert_eq!(amounts(&parts), ["16.67", "33.33", "50.00"]);
        // Ties go to the earliest part.
        let parts = cny("0.05").allocate(&[1_u32, 1]).unwrap();
        assert_eq!(amounts(&parts), ["0.03", "0.02"]);
        let parts = cny("100").allocate(&[1_u32, 1, 1]).unwrap();
        assert_eq!(amounts(&parts), ["33.34", "33.33", "33.33"]);
    }

    #[test]
    fn decimal_weights_and_zero_weights() {
        let d = |s| Decimal::from_str(s).unwrap();
        let parts = cny("10").allocate(&[d("0.7"), d("0.3"), d("0")]).unwrap();
        assert_eq!(amounts(&parts), ["7.00", "3.00", "0.00"]);
        let parts = cny("0.01")
            .allocate(&[d("0.5"), d("0"), d("0.25")])
            .unwrap();
        assert_eq!(amounts(&parts), ["0.01", "0.00", "0.00"]);
        let parts = Money::from_minor(1000, Currency::JPY)
            .allocate(&[d("33.3"), d("66.7")])
            .unwrap();
        assert_eq!(amounts(&parts), ["333", "667"]);
    }

    #[test]
    fn negative_amounts_mirror_positive_ones() {
        let parts = cny("-100").allocate(&[1_u32, 2, 3]).unwrap();
        assert_eq!(amounts(&parts), ["-16.67", "-33.33", "-50.00"]);
        let parts = cny("-0.05").allocate_evenly(2).unwrap();
        assert_eq!(amounts(&parts), ["-0.03", "-0.02"]);
    }

    #[test]
    fn zero_amount_splits_into_zeros() {
        let parts = Money::zero(Currency::KWD).allocate(&[1_u32, 2]).unwrap();
        assert_eq!(amounts(&parts), ["0.000", "0.000"]);
    }

    #[test]
    fn refuses_bad_weights() {
        assert_eq!(cny("1").allocate::<u32>(&[]), Err(MoneyError::NoWeights));
        assert_eq!(cny("1").allocate(&[0_u32, 0]), Err(MoneyError::ZeroWeights));
        let err = cny("1")
            .allocate(&[Decimal::ONE, Decimal::NEGATIVE_ONE])
            .unwrap_err();
        assert_eq!(
            err,
            MoneyError::NegativeWeight {
                index: 1,
                weight: Decimal::NEGATIVE_ONE
            }
        );
        assert_eq!(
            err.to_string(),
            "weight at index 1 is negative (-1); weights must be zero or more"
        );
        let err = cny("1")
            .allocate(&[Decimal::MAX, Decimal::new(1, 28)])
            .unwrap_err();
        assert!(matches!(err, MoneyError::WeightsTooLarge { .. }), "{err}");
    }

    #[test]
    fn evenly() {
        assert_eq!(
            amounts(&cny("100").allocate_evenly(3).unwrap()),
            ["33.34", "33.33", "33.33"]
        );
        assert_eq!(
            amounts(&cny("0.02").allocate_evenly(4).unwrap()),
            ["0.01", "0.01", "0.00", "0.00"]
        );
        assert_eq!(amounts(&cny("5").allocate_evenly(1).unwrap()), ["5.00"]);
        assert_eq!(cny("1").allocate_evenly(0), Err(MoneyError::NoParts));
        let err = cny("1").allocate_evenly(usize::MAX).unwrap_err();
        assert_eq!(
            err,
            MoneyError::TooManyParts {
                parts: usize::MAX,
                max: MAX_ALLOCATION_PARTS
            }
        );
    }

    #[test]
    fn largest_amounts_allocate_exactly() {
        let max = Money::new(Decimal::MAX, Currency::JPY).unwrap();
        let parts = max.allocate(&[u32::MAX, 1, 7]).unwrap();
        assert_eq!(Money::sum(Currency::JPY, &parts), Ok(max));
        let parts = (-max).allocate_evenly(7).unwrap();
        assert_eq!(Money::sum(Currency::JPY, &parts), Ok(-max));
    }
}
