//! Choosing the regime: a destination's special regimes (cross-border retail, low-value, postal,
//! courier) are tried in pack order; each either applies or is refused with a stable reason.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;
use time::Date;

use crate::{Country, Currency, HsCode, Money};

use super::engine::LineWork;
use super::error::QuoteError;
use super::fx::Fx;
use super::incoterms::TransportMode;
use super::input::{BuyerKind, QuoteLine, RequestedRegime};
use super::output::{Refusal, RuleList};
use super::rule_pack::{BuyerScope, RegimeRow, RulePack, SingleItemOverLimit, ValueBasis};

/// Why a regime does not apply. The names are stable: clients may act on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    Suspended,
    BuyerNotEligible,
    OriginNotEligible,
    TransportNotEligible,
    NotOnPositiveList,
    PerOrderLimit,
    MultiItemOverLimit,
    YearlyLimit,
}

impl RefusalReason {
    pub fn name(self) -> &'static str {
        match self {
            RefusalReason::Suspended => "suspended",
            RefusalReason::BuyerNotEligible => "buyer_not_eligible",
            RefusalReason::OriginNotEligible => "origin_not_eligible",
            RefusalReason::TransportNotEligible => "transport_not_eligible",
            RefusalReason::NotOnPositiveList => "not_on_positive_list",
            RefusalReason::PerOrderLimit => "per_order_limit",
            RefusalReason::MultiItemOverLimit => "multi_item_over_limit",
            RefusalReason::YearlyLimit => "yearly_limit",
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a regime was refused, in words: kept as the figures it names and written out only when
/// the quote is shown (as text in JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefusalDetail {
    SuspendedSince(Date),
    ConsumersOnly,
    OriginNotCovered {
        line: usize,
        origin: Country,
    },
    Transport {
        modes: Vec<TransportMode>,
        given: Option<TransportMode>,
    },
    NotOnPositiveList {
        line: usize,
        hs: HsCode,
    },
    /// The order's value over the per-order limit, in the limit's currency.
    PerOrderLimit {
        value: Decimal,
        limit: Decimal,
        currency: Currency,
        more_than_one_item: bool,
    },
    YearlyLimit {
        used: Decimal,
        value: Decimal,
        limit: Decimal,
        currency: Currency,
    },
}

impl fmt::Display for RefusalDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefusalDetail::SuspendedSince(date) => write!(f, "suspended since {date}"),
            RefusalDetail::ConsumersOnly => f.write_str("for consumers only"),
            RefusalDetail::OriginNotCovered { line, origin } => {
                write!(f, "line {line}: origin {origin} is not covered")
            }
            RefusalDetail::Transport { modes, given } => {
                f.write_str("only by ")?;
                for (i, mode) in modes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    f.write_str(mode.name())?;
                }
                write!(
                    f,
                    "; transport.mode is {}",
                    given.map_or("not given", |m| m.name())
                )
            }
            RefusalDetail::NotOnPositiveList { line, hs } => write!(
                f,
                "line {line}: HS {} is not on the positive list",
                hs.formatted()
            ),
            RefusalDetail::PerOrderLimit {
                value,
                limit,
                currency: ccy,
                more_than_one_item,
            } => {
                write!(
                    f,
                    "order value {} {ccy} is over the per-order limit {limit} {ccy}",
                    value.round_dp(2)
                )?;
                if *more_than_one_item {
                    f.write_str(" and has more than one item")?;
                }
                Ok(())
            }
            RefusalDetail::YearlyLimit {
                used,
                value,
                limit,
                currency: ccy,
            } => write!(
                f,
                "{} {ccy} already used + {} {ccy} is over the yearly limit {limit} {ccy}",
                used.round_dp(2),
                value.round_dp(2)
            ),
        }
    }
}

/// As text.
impl Serialize for RefusalDetail {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The facts of an order that regimes are judged on; values in the tax currency.
pub(crate) struct Order<'a> {
    pub(crate) buyer: BuyerKind,
    pub(crate) lines: &'a [QuoteLine],
    /// Each line's rules (and figures so far), in line order.
    pub(crate) work: &'a [LineWork<'a>],
    pub(crate) mode: Option<TransportMode>,
    pub(crate) goods: Decimal,
    pub(crate) goods_freight_insurance: Decimal,
    pub(crate) yearly_used: Option<&'a Money>,
}

impl Order<'_> {
    /// One line of one piece (or other counted unit): an item customs cannot split.
    fn single_indivisible(&self) -> bool {
        matches!(self.lines, [line] if line.quantity.unit().is_countable() && line.quantity.value() == Decimal::ONE)
    }
}

enum Check {
    Eligible { full_rates: bool },
    Refused(RefusalReason, RefusalDetail),
}

/// A regime's verdict on an order.
fn check(
    pack: &RulePack,
    regime: &RegimeRow,
    order: &Order<'_>,
    date: Date,
    fx: &mut Fx<'_>,
) -> Result<Check, QuoteError> {
    use RefusalReason::*;
    let tax_currency = pack.jurisdiction.tax_currency;
    if regime.suspended {
        return Ok(Check::Refused(
            Suspended,
            RefusalDetail::SuspendedSince(regime.meta.0.valid_from),
        ));
    }
    if regime.buyer == BuyerScope::Consumer && order.buyer != BuyerKind::Consumer {
        return Ok(Check::Refused(
            BuyerNotEligible,
            RefusalDetail::ConsumersOnly,
        ));
    }
    for (index, line) in order.lines.iter().enumerate() {
        let listed = regime.origins.is_empty() || regime.origins.contains(&line.origin);
        if !listed || regime.excluded_origins.contains(&line.origin) {
            return Ok(Check::Refused(
                OriginNotEligible,
                RefusalDetail::OriginNotCovered {
                    line: index,
                    origin: line.origin,
                },
            ));
        }
    }
    if !regime.modes.is_empty() && !order.mode.is_some_and(|m| regime.modes.contains(&m)) {
        return Ok(Check::Refused(
            TransportNotEligible,
            RefusalDetail::Transport {
                modes: regime.modes.clone(),
                given: order.mode,
            },
        ));
    }
    if regime.requires_positive_list {
        for (index, line) in order.lines.iter().enumerate() {
            let listed = order.work.get(index).is_some_and(|work| {
                work.found
                    .positive_list()
                    .iter()
                    .any(|listed| listed.valid_on(date))
            });
            if !listed {
                return Ok(Check::Refused(
                    NotOnPositiveList,
                    RefusalDetail::NotOnPositiveList {
                        line: index,
                        hs: line.hs,
                    },
                ));
            }
        }
    }
    let basis = match regime.value_basis {
        ValueBasis::Goods => order.goods,
        ValueBasis::GoodsFreightInsurance => order.goods_freight_insurance,
    };
    let ccy = regime.limit_currency;
    let mut full_rates = false;
    if let Some(limit) = regime.per_order_limit {
        let value = fx.apply(basis, tax_currency, ccy)?;
        if value > limit {
            let over = |more_than_one_item| RefusalDetail::PerOrderLimit {
                value,
                limit,
                currency: ccy,
                more_than_one_item,
            };
            let single = order.single_indivisible();
            match regime.single_item_over_limit {
                SingleItemOverLimit::GeneralRates if single => full_rates = true,
                SingleItemOverLimit::GeneralRates => {
                    return Ok(Check::Refused(MultiItemOverLimit, over(true)));
                }
                SingleItemOverLimit::Refuse => {
                    return Ok(Check::Refused(PerOrderLimit, over(false)));
                }
            }
        }
    }
    if let Some(limit) = regime.yearly_limit {
        let value = fx.apply(basis, tax_currency, ccy)?;
        let used = match order.yearly_used {
            Some(used) => fx.apply(used.amount(), used.currency(), ccy)?,
            None => Decimal::ZERO,
        };
        if used + value > limit {
            return Ok(Check::Refused(
                YearlyLimit,
                RefusalDetail::YearlyLimit {
                    used,
                    value,
                    limit,
                    currency: ccy,
                },
            ));
        }
    }
    Ok(Check::Eligible { full_rates })
}

/// The outcome of regime selection.
pub(crate) struct Selected<'p> {
    pub(crate) regime: Option<&'p RegimeRow>,
    pub(crate) full_rates: bool,
    pub(crate) refusals: Vec<Refusal>,
}

pub(crate) fn select<'p>(
    pack: &'p RulePack,
    requested: &RequestedRegime,
    order: &Order<'_>,
    date: Date,
    fx: &mut Fx<'_>,
    rules: &mut RuleList,
) -> Result<Selected<'p>, QuoteError> {
    let mut selected = Selected {
        regime: None,
        full_rates: false,
        refusals: Vec::new(),
    };
    let wanted = match requested {
        RequestedRegime::GeneralTrade => return Ok(selected),
        RequestedRegime::Auto => None,
        RequestedRegime::Named(name) => Some(name.as_str()),
    };
    let mut candidates = pack
        .regimes
        .iter()
        .filter(|r| r.meta.valid_on(date) && wanted.is_none_or(|w| r.name == w))
        .peekable();
    if let Some(name) = wanted
        && candidates.peek().is_none()
    {
        let mut known: Vec<&str> = pack
            .regimes
            .iter()
            .filter(|r| r.meta.valid_on(date))
            .map(|r| r.name.as_str())
            .collect();
        known.dedup();
        known.push("general_trade");
        return Err(QuoteError::UnknownRegime {
            requested: name.to_owned(),
            jurisdiction: pack.jurisdiction.name.to_string(),
            date,
            known: known.join(", "),
        });
    }
    for regime in candidates {
        match check(pack, regime, order, date, fx)? {
            Check::Eligible { full_rates } => {
                selected.regime = Some(regime);
                selected.full_rates = full_rates;
                return Ok(selected);
            }
            Check::Refused(reason, detail) => selected.refusals.push(Refusal {
                regime: regime.name.clone(),
                reason,
                detail,
                rule: rules.ix(&regime.meta),
            }),
        }
    }
    if wanted.is_some() {
        // The row that got furthest through the checks says best why the regime does not apply.
        if let Some(refusal) = selected.refusals.iter().max_by_key(|r| r.reason) {
            return Err(QuoteError::RegimeRefused {
                requested: requested.name().to_owned(),
                reason: refusal.reason,
                detail: refusal.detail.to_string(),
                rule: rules
                    .get(refusal.rule)
                    .map_or_else(String::new, |r| r.id().to_owned()),
            });
        }
    }
    Ok(selected)
}
