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
        let weights = integer_weights(weights, self)?;
        let too_large = || MoneyError::WeightsTooLarge { amount: *self };
        let total = weights
            .iter()
            .try_fold(0_u128, |sum, w| sum.checked_add(*w))
            .ok_or_else(too_large)?;
        if total == 0 {
            return Err(MoneyError::ZeroWeights);
        }
        let whole = self.minor_i128().unsigned_abs();

        // (index, floor of the exact share, remainder of that division)
        let mut shares = Vec::with_capacity(weights.len());
        for (index, weight) in weights.into_iter().enumerate() {
            let product = whole.checked_mul(weight).ok_or_else(too_large)?;
            shares.push((index, product / total, product % total));
        }
        let floors: u128 = shares.iter().map(|(_, floor, _)| floor).sum();
        let leftover = usize::try_from(whole - floors).unwrap_or(0);
        shares.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        for share in shares.iter_mut().take(leftover) {
            share.1 += 1;
        }
        shares.sort_by_key(|share| share.0);
        self.signed_parts(shares.into_iter().map(|(_, part, _)| part))
    }

    /// Splits `self` into `parts` parts as equal as possible that add up exactly to `self`; the
    /// leftover minor units go one each to the first parts (100.00 / 3 = 33.34, 33.33, 33.33).
    pub fn allocate_evenly(&self, parts: usize) -> Result<Vec<Money>, MoneyError> {
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
        self.signed_parts((0..count).map(|i| base + u128::from(i < leftover)))
    }

    /// Builds the parts, magnitudes in minor units, with the sign of `self`.
    fn signed_parts(
        &self,
        magnitudes: impl Iterator<Item = u128>,
    ) -> Result<Vec<Money>, MoneyError> {
        let sign = if self.is_negative() { -1 } else { 1 };
        magnitudes
            .map(|part| {
                // A part never exceeds the whole, so it always fits.
                i128::try_from(part)
                    .ok()
                    .and_then(|part| Money::from_minor_i128(sign * part, self.currency))
                    .ok_or(MoneyError::WeightsTooLarge { amount: *self })
            })
            .collect()
    }
}

/// Brings decimal weights to integers at a common scale, so that shares are computed exactly.
fn integer_weights<W: Copy + Into<Decimal>>(
    weights: &[W],
    amount: &Money,
) -> Result<Vec<u128>, MoneyError> {
    if weights.is_empty() {
        return Err(MoneyError::NoWeights);
    }
    let decimals: Vec<Decimal> = weights.iter().map(|w| (*w).into().normalize()).collect();
    if let Some((index, weight)) = decimals
        .iter()
        .enumerate()
        .find(|(_, w)| w.is_sign_negative())
    {
        return Err(MoneyError::NegativeWeight {
            index,
            weight: *weight,
        });
    }
    let scale = decimals.iter().map(Decimal::scale).max().unwrap_or(0);
    decimals
        .iter()
        .map(|w| {
            10_u128
                .checked_pow(scale - w.scale())
                .and_then(|factor| w.mantissa().unsigned_abs().checked_mul(factor))
        })
        .collect::<Option<Vec<u128>>>()
        .ok_or(MoneyError::WeightsTooLarge { amount: *amount })
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
