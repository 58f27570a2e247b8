//! One explanation line per rule applied. Steps hold figures, not text, so that a quote stays
//! cheap to compute; the text is written only when the quote is shown or serialized.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::{DecimalStr, RoundingRule};
use crate::{Currency, Money};

use super::incoterms::{BuyerCharges, Incoterm};
use super::output::RuleIx;
use super::regime::{RefusalDetail, RefusalReason};
use super::rule_pack::{ConsumptionTaxKind, CustomsValueBasis, RuleRef, RuleText};

/// What was done, with the figures it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Regime {
        name: RuleText,
        full_rates: bool,
    },
    GeneralTrade {
        requested: bool,
    },
    RegimeRefused {
        name: RuleText,
        reason: RefusalReason,
        detail: RefusalDetail,
    },
    YearlyAssumedZero,
    Yearly {
        before: Money,
        after: Money,
        limit: Money,
    },
    Rate {
        from: Currency,
        to: Currency,
        rate: Decimal,
    },
    FreightGiven {
        amount: Money,
    },
    Freight {
        amount: Money,
        actual_kg: Decimal,
        volumetric_kg: Decimal,
        chargeable_kg: Decimal,
        per_kg: Decimal,
        cold_chain_surcharge: Option<Decimal>,
    },
    InsuranceGiven {
        amount: Money,
    },
    Insurance {
        amount: Money,
        rate: Decimal,
    },
    CustomsValue {
        basis: CustomsValueBasis,
        value: Money,
    },
    BaseTariff {
        provisional: bool,
        rate: Decimal,
    },
    Preferential {
        agreement: RuleText,
        rate: Decimal,
        applied: bool,
    },
    Additional {
        measure: RuleText,
        rate: Decimal,
    },
    Suspended {
        measure: RuleText,
    },
    Duty {
        rate: Decimal,
        amount: Money,
    },
    NoDuty,
    FlatDuty {
        subheading: String,
        amount: Money,
    },
    ConsumptionTax {
        kind: ConsumptionTaxKind,
        rate: Decimal,
        per_litre: Decimal,
        litres: Decimal,
        amount: Money,
    },
    BelowThreshold {
        price: Decimal,
        per: &'static str,
        threshold: Decimal,
    },
    Vat {
        rate: Decimal,
        amount: Money,
    },
    TaxFactor {
        factor: Decimal,
    },
    NoTaxes,
    FlatRate {
        rate: Decimal,
        amount: Money,
    },
    Incoterm {
        incoterm: Incoterm,
        charges: BuyerCharges,
    },
    Rounding {
        rule: RoundingRule,
        currency: Currency,
    },
}

/// A step, the order line it concerns (0-based) and the rule row that produced it (a position in
/// the quote's `rules`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub line: Option<usize>,
    pub rule: Option<RuleIx>,
    pub step: Step,
}

fn pct(rate: Decimal) -> DecimalStr {
    plain(rate * Decimal::ONE_HUNDRED)
}

/// A decimal without trailing zeros.
fn plain(value: Decimal) -> DecimalStr {
    DecimalStr::new(value.normalize())
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Regime { name, full_rates } => {
                write!(f, "regime {name} applies")?;
                if *full_rates {
                    f.write_str(
                        ": a single indivisible item over the per-order limit pays duty and taxes in full at general-trade rates",
                    )?;
                }
                Ok(())
            }
            Step::GeneralTrade { requested: true } => f.write_str("general trade, as requested"),
            Step::GeneralTrade { requested: false } => {
                f.write_str("general trade: no special regime applies")
            }
            Step::RegimeRefused {
                name,
                reason,
                detail,
            } => write!(f, "regime {name} refused ({reason}): {detail}"),
            Step::YearlyAssumedZero => f.write_str(
                "yearly amount already used not given: assumed zero (checked again at order time)",
            ),
            Step::Yearly {
                before,
                after,
                limit,
            } => write!(
                f,
                "yearly amount used: {before} before, {after} after this order, of {limit}"
            ),
            Step::Rate { from, to, rate } => {
                write!(f, "exchange rate 1 {from} = {} {to}", plain(*rate))
            }
            Step::FreightGiven { amount } => write!(f, "freight {amount} as given"),
            Step::Freight {
                amount,
                actual_kg,
                volumetric_kg,
                chargeable_kg,
                per_kg,
                cold_chain_surcharge,
            } => {
                write!(
                    f,
                    "freight {amount}: chargeable weight {} kg = max(actual {} kg, volumetric {} kg) at {} per kg",
                    plain(*chargeable_kg),
                    plain(*actual_kg),
                    plain(volumetric_kg.round_dp(3)),
                    plain(*per_kg)
                )?;
                if let Some(surcharge) = cold_chain_surcharge {
                    write!(f, ", cold-chain surcharge {}%", pct(*surcharge))?;
                }
                Ok(())
            }
            Step::InsuranceGiven { amount } => write!(f, "insurance {amount} as given"),
            Step::Insurance { amount, rate } => write!(
                f,
                "insurance {amount}: {}% of goods and freight, or the minimum",
                pct(*rate)
            ),
            Step::CustomsValue { basis, value } => {
                let basis = match basis {
                    CustomsValueBasis::Cif => "goods + freight + insurance (CIF)",
                    CustomsValueBasis::Fob => "goods only (FOB)",
                };
                write!(f, "customs value {value} = {basis}")
            }
            Step::BaseTariff { provisional, rate } => {
                let kind = if *provisional { "provisional" } else { "MFN" };
                write!(f, "{kind} tariff rate {}%", pct(*rate))
            }
            Step::Preferential {
                agreement,
                rate,
                applied: true,
            } => write!(f, "preferential rate {}% under {agreement}", pct(*rate)),
            Step::Preferential {
                agreement,
                rate,
                applied: false,
            } => write!(
                f,
                "preferential rate {}% under {agreement} not applied: no proof of preferential origin",
                pct(*rate)
            ),
            Step::Additional { measure, rate } => {
                write!(f, "additional duty {}% ({measure})", pct(*rate))
            }
            Step::Suspended { measure } => {
                write!(f, "additional duty {measure} suspended on this date")
            }
            Step::Duty { rate, amount } => {
                write!(f, "duty {amount} = customs value × {}%", pct(*rate))
            }
            Step::NoDuty => f.write_str("no duty under this regime"),
            Step::FlatDuty { subheading, amount } => {
                write!(f, "flat duty {amount} for subheading {subheading}")
            }
            Step::ConsumptionTax {
                kind,
                rate,
                per_litre,
                litres,
                amount,
            } => match kind {
                ConsumptionTaxKind::AdValorem => write!(
                    f,
                    "consumption tax {amount} = (customs value + duty) / (1 − {r}%) × {r}%",
                    r = pct(*rate)
                ),
                ConsumptionTaxKind::Specific => write!(
                    f,
                    "consumption tax {amount} = {} L × {} per litre",
                    plain(*litres),
                    plain(*per_litre)
                ),
                ConsumptionTaxKind::Compound => write!(
                    f,
                    "consumption tax {amount} = (customs value + duty + {q} L × {s}) / (1 − {r}%) × {r}% + {q} L × {s}",
                    q = plain(*litres),
                    s = plain(*per_litre),
                    r = pct(*rate)
                ),
            },
            Step::BelowThreshold {
                price,
                per,
                threshold,
            } => write!(
                f,
                "no consumption tax: taxable price {} per {per} is below the threshold {}",
                plain(price.round_dp(4)),
                plain(*threshold)
            ),
            Step::Vat { rate, amount } => write!(
                f,
                "VAT {amount} = (customs value + duty + consumption tax) × {}%",
                pct(*rate)
            ),
            Step::TaxFactor { factor } => write!(
                f,
                "VAT and consumption tax levied at {}% of the statutory amount",
                pct(*factor)
            ),
            Step::NoTaxes => f.write_str("no VAT or consumption tax at import under this regime"),
            Step::FlatRate { rate, amount } => write!(
                f,
                "flat rate {}% replaces duty and taxes: {amount}",
                pct(*rate)
            ),
            Step::Incoterm { incoterm, charges } => {
                let yes_no = |b: bool| if b { "buyer" } else { "seller" };
                write!(
                    f,
                    "{incoterm}: freight paid by the {}, insurance by the {}, import taxes by the {}",
                    yes_no(charges.freight),
                    yes_no(charges.insurance),
                    yes_no(charges.import_taxes)
                )
            }
            Step::Rounding { rule, currency } => {
                let rule = match rule {
                    RoundingRule::HalfUp => "half up",
                    RoundingRule::HalfEven => "half to even",
                    RoundingRule::Down => "down",
                    RoundingRule::Up => "up",
                };
                write!(
                    f,
                    "each tax rounded {rule} to {} decimals of {currency}",
                    currency.minor_units()
                )
            }
        }
    }
}

impl Explanation {
    /// The step as one line of text, ending with its rule's id: `line 0: VAT 9.00 CNY = … [cn-vat]`.
    pub fn text(&self, rules: &[RuleRef]) -> String {
        use fmt::Write;
        let mut text = String::with_capacity(96);
        if let Some(line) = self.line {
            let _ = write!(text, "line {line}: ");
        }
        let _ = write!(text, "{}", self.step);
        if let Some(rule) = self.rule.and_then(|ix| rules.get(ix.index())) {
            let _ = write!(text, " [{}]", rule.id());
        }
        text
    }

    /// `{"line": 0, "rule": 3, "text": "..."}`, `rule` indexing the quote's `rules`.
    pub(crate) fn wire<'a>(&'a self, rules: &'a [RuleRef]) -> impl Serialize + 'a {
        #[derive(Serialize)]
        struct Wire {
            #[serde(skip_serializing_if = "Option::is_none")]
            line: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rule: Option<RuleIx>,
            text: String,
        }
        Wire {
            line: self.line,
            rule: self.rule,
            text: self.text(rules),
        }
    }
}
