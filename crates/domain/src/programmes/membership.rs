//! What an exporter's annual membership costs and who pays which part.
//!
//! The list fee is discounted by the best promotion running on the invoice date; the agency's
//! sponsorship then pays a percentage of the discounted fee, capped per seller and by what is left
//! of the programme's budget; the seller pays the rest. The two shares always add up to the
//! discounted fee to the minor unit, and every line names the rule that produced it.

use super::percent::Percent;
use super::term::DateRange;
use crate::money::{Money, MoneyError, RoundingRule};
use serde::Serialize;
use time::Date;

/// A discount on the membership fee inside a date window (e.g. half price, November to March).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub name: String,
    pub percent_off: Percent,
    pub window: DateRange,
}

/// An agency's share of its exporters' fees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sponsorship {
    pub name: String,
    pub percent: Percent,
    /// Most the agency pays for one seller's invoice.
    pub cap_per_seller: Option<Money>,
    /// What is left of the programme's sponsorship budget; `None` when unlimited.
    pub budget_remaining: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    Seller,
    Agency,
}

/// One line of the invoice: who pays how much, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitLine {
    pub payer: Payer,
    pub amount: Money,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeSplit {
    pub list_fee: Money,
    /// The promotion applied and the discount it gave, if any.
    pub discount: Option<(String, Money)>,
    pub discounted_fee: Money,
    pub seller_share: Money,
    pub agency_share: Money,
    /// One line per payer with a non-zero share; they sum to `discounted_fee`.
    pub lines: Vec<SplitLine>,
    /// The sponsorship budget ran short: the agency paid less than its percentage.
    pub budget_exhausted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the membership fee must not be negative")]
    NegativeFee,
    #[error("{field} must be in {expected} like the fee")]
    CurrencyMismatch {
        field: &'static str,
        expected: crate::money::Currency,
    },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Splits one annual membership fee between the seller and the sponsoring agency.
pub fn split_membership_fee(
    list_fee: Money,
    promotions: &[Promotion],
    invoice_date: Date,
    sponsorship: Option<&Sponsorship>,
) -> Result<FeeSplit, SplitError> {
    if list_fee.is_negative() {
        return Err(SplitError::NegativeFee);
    }
    let currency = list_fee.currency();
    let same_currency = |field: &'static str, m: &Option<Money>| match m {
        Some(m) if m.currency() != currency => Err(SplitError::CurrencyMismatch {
            field,
            expected: currency,
        }),
        _ => Ok(()),
    };
    if let Some(s) = sponsorship {
        same_currency("cap_per_seller", &s.cap_per_seller)?;
        same_currency("budget_remaining", &s.budget_remaining)?;
    }

    // The best running promotion; on a tie, the first listed.
    let promotion = promotions
        .iter()
        .filter(|p| p.window.contains(invoice_date))
        .fold(None::<&Promotion>, |best, p| match best {
            Some(b) if b.percent_off >= p.percent_off => Some(b),
            _ => Some(p),
        });
    let discount = match promotion {
        Some(p) => Some((
            format!(
                "{}: {} off from {} to {}",
                p.name, p.percent_off, p.window.start, p.window.end
            ),
            list_fee.mul_rounded(p.percent_off.fraction(), RoundingRule::HalfUp)?,
        )),
        None => None,
    };
    let discounted_fee = match &discount {
        Some((_, d)) => list_fee.checked_sub(*d)?,
        None => list_fee,
    };

    let mut budget_exhausted = false;
    let (agency_share, agency_rule) = match sponsorship {
        None => (Money::zero(currency), String::new()),
        Some(s) => {
            let wanted = discounted_fee.mul_rounded(s.percent.fraction(), RoundingRule::HalfUp)?;
            let mut share = wanted;
            let mut rule = format!("{}: agency pays {} of the fee", s.name, s.percent);
            if let Some(cap) = s.cap_per_seller.filter(|cap| share.amount() > cap.amount()) {
                share = cap;
                rule.push_str(&format!(", capped at {cap} per seller"));
            }
            if let Some(left) = s.budget_remaining {
                let left = if left.is_negative() {
                    Money::zero(currency)
                } else {
                    left
                };
                if share.amount() > left.amount() {
                    share = left;
                    budget_exhausted = true;
                    rule.push_str(&format!(
                        ", limited to the {left} left in the programme budget"
                    ));
                }
            }
            (share, rule)
        }
    };
    let seller_share = discounted_fee.checked_sub(agency_share)?;

    let mut lines = Vec::new();
    if !seller_share.is_zero() {
        let rule = match (&discount, agency_share.is_zero()) {
            (_, false) => "seller pays the rest of the discounted fee".to_owned(),
            (Some(_), true) => "seller pays the discounted fee".to_owned(),
            (None, true) => "seller pays the plan's annual fee".to_owned(),
        };
        lines.push(SplitLine {
            payer: Payer::Seller,
            amount: seller_share,
            rule,
        });
    }
    if !agency_share.is_zero() {
        lines.push(SplitLine {
            payer: Payer::Agency,
            amount: agency_share,
            rule: agency_rule,
        });
    }
    Ok(FeeSplit {
        list_fee,
        discount,
        discounted_fee,
        seller_share,
        agency_share,
        lines,
        budget_exhausted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use time::macros::date;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    fn half_price() -> Promotion {
        Promotion {
            name: "Launch offer".into(),
            percent_off: Percent::parse("50").unwrap(),
            window: DateRange::new(date!(2025 - 11 - 01), date!(2026 - 03 - 31)).unwrap(),
        }
    }

    fn agency(percent: &str, cap: Option<&str>, budget: Option<&str>) -> Sponsorship {
        Sponsorship {
            name: "Agency sponsorship".into(),
            percent: Percent::parse(percent).unwrap(),
            cap_per_seller: cap.map(usd),
            budget_remaining: budget.map(usd),
        }
    }

    #[test]
    fn half_price_promotion_and_agency_paying_the_rest() {
        // The trade-body story: half price for five months, the agency pays the rest of the fee.
        let split = split_membership_fee(
            usd("2999.00"),
            &[half_price()],
            date!(2026 - 01 - 15),
            Some(&agency("100", None, None)),
        )
        .unwrap();
        assert_eq!(split.discount.as_ref().unwrap().1, usd("1499.50"));
        assert_eq!(split.discounted_fee, usd("1499.50"));
        assert_eq!(split.agency_share, usd("1499.50"));
        assert_eq!(split.seller_share, usd("0.00"));
        assert_eq!(split.lines.len(), 1);
        assert!(split.lines[0].rule.contains("100%"));
    }

    #[test]
    fn promotions_apply_only_inside_their_window() {
        let on_last_day =
            split_membership_fee(usd("100.00"), &[half_price()], date!(2026 - 03 - 31), None)
                .unwrap();
        assert_eq!(on_last_day.discounted_fee, usd("50.00"));
        let day_after =
            split_membership_fee(usd("100.00"), &[half_price()], date!(2026 - 04 - 01), None)
                .unwrap();
        assert_eq!(day_after.discounted_fee, usd("100.00"));
        assert!(day_after.discount.is_none());
        assert_eq!(day_after.lines[0].rule, "seller pays the plan's annual fee");
    }

    #[test]
    fn caps_and_budget_limit_the_agency_share() {
        let capped = split_membership_fee(
            usd("1000.00"),
            &[],
            date!(2026 - 01 - 01),
            Some(&agency("50", Some("300.00"), None)),
        )
        .unwrap();
        assert_eq!(
            (capped.agency_share, capped.seller_share),
            (usd("300.00"), usd("700.00"))
        );
        assert!(!capped.budget_exhausted);

        let short = split_membership_fee(
            usd("1000.00"),
            &[],
            date!(2026 - 01 - 01),
            Some(&agency("50", None, Some("120.00"))),
        )
        .unwrap();
        assert_eq!(
            (short.agency_share, short.seller_share),
            (usd("120.00"), usd("880.00"))
        );
        assert!(short.budget_exhausted);
        assert!(short.lines[1].rule.contains("left in the programme budget"));

        let empty = split_membership_fee(
            usd("1000.00"),
            &[],
            date!(2026 - 01 - 01),
            Some(&agency("50", None, Some("0.00"))),
        )
        .unwrap();
        assert_eq!(empty.seller_share, usd("1000.00"));
        assert!(empty.budget_exhausted);
    }

    #[test]
    fn odd_cents_are_never_lost() {
        let split = split_membership_fee(
            usd("0.03"),
            &[half_price()],
            date!(2026 - 01 - 01),
            Some(&agency("33.33", None, None)),
        )
        .unwrap();
        assert_eq!(split.discounted_fee, usd("0.01"));
        assert_eq!(
            split.seller_share.checked_add(split.agency_share).unwrap(),
            usd("0.01")
        );
    }

    #[test]
    fn mismatched_currencies_are_refused() {
        let mut s = agency("50", None, None);
        s.cap_per_seller = Some(Money::parse("10", Currency::EUR).unwrap());
        let err =
            split_membership_fee(usd("10.00"), &[], date!(2026 - 01 - 01), Some(&s)).unwrap_err();
        assert!(matches!(
            err,
            SplitError::CurrencyMismatch {
                field: "cap_per_seller",
                ..
            }
        ));
    }

    fn money_cents(max: i64) -> impl Strategy<Value = Money> {
        (0..=max).prop_map(|c| Money::from_minor(c, Currency::USD))
    }

    fn percent() -> impl Strategy<Value = Percent> {
        (0u32..=10_000).prop_map(|bp| Percent::new(Decimal::new(i64::from(bp), 2)).unwrap())
    }

    proptest! {
        #[test]
        fn shares_always_sum_to_the_discounted_fee_and_respect_caps(
            fee in money_cents(10_000_000),
            off in percent(),
            pays in percent(),
            cap in proptest::option::of(money_cents(5_000_000)),
            budget in proptest::option::of(money_cents(5_000_000)),
            in_window in any::<bool>(),
        ) {
            let promo = Promotion { percent_off: off, ..half_price() };
            let date = if in_window { date!(2026 - 01 - 01) } else { date!(2027 - 01 - 01) };
            let s = Sponsorship { name: "s".into(), percent: pays, cap_per_seller: cap, budget_remaining: budget };
            let split = split_membership_fee(fee, &[promo], date, Some(&s)).unwrap();
            prop_assert_eq!(split.seller_share.checked_add(split.agency_share).unwrap(), split.discounted_fee);
            let lines = Money::sum(fee.currency(), split.lines.iter().map(|l| l.amount)).unwrap();
            prop_assert_eq!(lines, split.discounted_fee);
            prop_assert!(!split.seller_share.is_negative() && !split.agency_share.is_negative());
            prop_assert!(split.discounted_fee.amount() <= fee.amount());
            if let Some(cap) = cap { prop_assert!(split.agency_share.amount() <= cap.amount()); }
            if let Some(b) = budget { prop_assert!(split.agency_share.amount() <= b.amount()); }
        }
    }
}
