//! What a quote answers: the regime and why, per line and in total every figure with the rule row
//! that produced it, in the buyer's currency (and as assessed, in the tax currency).

use rust_decimal::Decimal;
use serde::Serialize;
use time::Date;

use crate::money::ExchangeRate;
use crate::{Country, Currency, HsCode, Money};

use super::explanation::Explanation;
use super::incoterms::{BuyerCharges, Incoterm};
use super::input::RequestedRegime;
use super::regime::RefusalReason;
use super::rule_pack::{ConsumptionTaxKind, RuleRef, TariffKind};

/// An amount in the buyer's currency, the same as assessed in the tax currency, and its rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub amount: Money,
    pub assessed: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
}

/// One tariff row's part in a line's duty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DutyComponent {
    pub kind: TariffKind,
    #[serde(with = "super::input::decimal")]
    pub rate: Decimal,
    /// False for a preference without proof of origin, or a suspended or superseded rate.
    pub applied: bool,
    pub rule: RuleRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Duty {
    pub amount: Money,
    pub assessed: Money,
    /// The ad valorem rate charged (base or preferential, plus additional duties); absent for
    /// flat or no duty.
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate: Option<Decimal>,
    pub components: Vec<DutyComponent>,
    /// The regime's flat duty row, when a flat amount replaces the tariff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
}

/// Whether a price threshold (ml, g or piece) was met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Threshold {
    pub per: &'static str,
    #[serde(with = "super::input::decimal")]
    pub price: Decimal,
    #[serde(with = "super::input::decimal")]
    pub minimum: Decimal,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumptionTax {
    pub amount: Money,
    pub assessed: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ConsumptionTaxKind>,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate: Option<Decimal>,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub per_litre: Option<Decimal>,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub litres: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vat {
    pub amount: Money,
    pub assessed: Money,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
}

/// One order line's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineQuote {
    pub hs: HsCode,
    pub origin: Country,
    pub goods: Money,
    pub freight: Money,
    pub insurance: Money,
    pub customs_value: Figure,
    pub duty: Duty,
    pub consumption_tax: ConsumptionTax,
    pub vat: Vat,
    /// A flat rate replacing duty and taxes (Mexico's courier rates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flat_rate_tax: Option<Figure>,
    /// The regime's factor on VAT and consumption tax (0.7 for China's CBEC), when not 1.
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_factor: Option<Decimal>,
    /// Duty + consumption tax + VAT of a cross-border retail regime, as customs shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_border_tax: Option<Money>,
    pub total_tax: Money,
    pub total_tax_assessed: Money,
}

/// Sums over the lines, in the buyer's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub goods: Money,
    pub freight: Money,
    pub insurance: Money,
    pub customs_value: Money,
    pub duty: Money,
    pub consumption_tax: Money,
    pub vat: Money,
    pub flat_rate_tax: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_border_tax: Option<Money>,
    pub total_tax: Money,
    /// Goods plus what the incoterm leaves to the buyer of freight, insurance and import taxes.
    pub landed: Money,
}

/// Tax sums as assessed, in the tax currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssessedTotals {
    pub duty: Money,
    pub consumption_tax: Money,
    pub vat: Money,
    pub flat_rate_tax: Money,
    pub total_tax: Money,
}

/// A special regime that was considered and refused, with a stable reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub regime: String,
    pub reason: RefusalReason,
    pub detail: String,
    pub rule: RuleRef,
}

/// The regime that applies ("general_trade" or a regime's name) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegimeDecision {
    pub name: String,
    pub requested: RequestedRegime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// A single indivisible item over the per-order limit: general-trade rates in full.
    pub full_rates: bool,
    pub refusals: Vec<Refusal>,
}

/// A person's yearly allowance under a regime with one, in the limit's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct YearlyUsage {
    pub limit: Money,
    pub used_before: Money,
    pub used_after: Money,
    /// No prior use was given, so zero was assumed.
    pub assumed_zero: bool,
    pub rule: RuleRef,
}

/// A landed-cost quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quote {
    #[serde(with = "super::input::iso_date")]
    pub date: Date,
    pub destination: Country,
    pub jurisdiction: String,
    pub currency: Currency,
    pub tax_currency: Currency,
    pub incoterm: Incoterm,
    pub charged_to_buyer: BuyerCharges,
    pub regime: RegimeDecision,
    pub lines: Vec<LineQuote>,
    pub totals: Totals,
    pub assessed: AssessedTotals,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yearly: Option<YearlyUsage>,
    /// The exchange rates used, as given.
    pub rates: Vec<ExchangeRate>,
    pub explanation: Vec<Explanation>,
}
