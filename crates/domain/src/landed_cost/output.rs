//! What a quote answers: the regime and why, per line and in total every figure with the rule row
//! that produced it, in the buyer's currency (and as assessed, in the tax currency).
//!
//! Each rule row a quote used is listed once, in [`Quote::rules`]; figures and explanation steps
//! name theirs by position in that list ([`RuleIx`]). This keeps a quote cheap to build (no
//! handle cloned per figure) and its JSON small (a row's source is written once, not per figure).

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use time::Date;

use crate::money::ExchangeRate;
use crate::{Country, Currency, HsCode, Money};

use super::explanation::Explanation;
use super::incoterms::{BuyerCharges, Incoterm};
use super::input::RequestedRegime;
use super::regime::{RefusalDetail, RefusalReason};
use super::rule_pack::{ConsumptionTaxKind, RuleRef, RuleText, TariffKind};

/// A rule row of a quote: its position in [`Quote::rules`] (in JSON, a number indexing `rules`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct RuleIx(pub u32);

impl RuleIx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The rule rows a quote used, each once, in first-use order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleList {
    rules: Vec<RuleRef>,
    /// One bit per listed row, picked by a hash of its address: a row whose bit is clear is not
    /// listed yet, so it is added without a scan.
    seen: u64,
}

impl RuleList {
    pub(crate) fn with_capacity(capacity: usize) -> RuleList {
        RuleList {
            rules: Vec::with_capacity(capacity),
            seen: 0,
        }
    }

    /// The position of `rule`, listing it first if new. A quote uses a few dozen rows at most,
    /// so a scan by address (newest first: rows repeat nearby) beats hashing; a new row is
    /// mostly known new from `seen` alone.
    pub(crate) fn ix(&mut self, rule: &RuleRef) -> RuleIx {
        let address = std::sync::Arc::as_ptr(&rule.0) as usize as u64;
        let bit = 1_u64 << (address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58);
        let found = if self.seen & bit == 0 {
            None
        } else {
            self.rules
                .iter()
                .rposition(|r| std::sync::Arc::ptr_eq(&r.0, &rule.0))
        };
        let index = found.unwrap_or_else(|| {
            self.seen |= bit;
            self.rules.push(rule.clone());
            self.rules.len() - 1
        });
        RuleIx(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub(crate) fn get(&self, ix: RuleIx) -> Option<&RuleRef> {
        self.rules.get(ix.index())
    }

    pub(crate) fn into_vec(self) -> Vec<RuleRef> {
        self.rules
    }
}

/// An amount in the buyer's currency, the same as assessed in the tax currency, and its rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figure {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub assessed: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleIx>,
}

/// One tariff row's part in a line's duty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutyComponent {
    pub kind: TariffKind,
    #[serde(with = "super::input::decimal")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub rate: Decimal,
    /// False for a preference without proof of origin, or a suspended or superseded rate.
    pub applied: bool,
    pub rule: RuleIx,
}

/// A line's duty components, in order: the first few kept inline (a base rate, a preference and
/// an additional duty need no allocation). A list in JSON; a slice in Rust.
#[derive(Clone)]
pub struct Components {
    inline: [DutyComponent; INLINE_COMPONENTS],
    len: usize,
    /// All of them, once there are more than fit inline.
    spilled: Vec<DutyComponent>,
}

const INLINE_COMPONENTS: usize = 3;

const FILLER: DutyComponent = DutyComponent {
    kind: TariffKind::Mfn,
    rate: Decimal::ZERO,
    applied: false,
    rule: RuleIx(0),
};

impl Default for Components {
    fn default() -> Components {
        Components {
            inline: [FILLER; INLINE_COMPONENTS],
            len: 0,
            spilled: Vec::new(),
        }
    }
}

impl Components {
    pub fn push(&mut self, component: DutyComponent) {
        if self.spilled.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = component;
                self.len += 1;
                return;
            }
            self.spilled.extend_from_slice(&self.inline);
        }
        self.spilled.push(component);
    }

    pub fn as_slice(&self) -> &[DutyComponent] {
        if self.spilled.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.spilled
        }
    }
}

impl std::ops::Deref for Components {
    type Target = [DutyComponent];

    fn deref(&self) -> &[DutyComponent] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Components {
    type Item = &'a DutyComponent;
    type IntoIter = std::slice::Iter<'a, DutyComponent>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl From<Vec<DutyComponent>> for Components {
    fn from(components: Vec<DutyComponent>) -> Components {
        let mut out = Components::default();
        for component in components {
            out.push(component);
        }
        out
    }
}

impl PartialEq for Components {
    fn eq(&self, other: &Components) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Components {}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl Serialize for Components {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_slice())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Duty {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub assessed: Money,
    /// The ad valorem rate charged (base or preferential, plus additional duties); absent for
    /// flat or no duty.
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rate: Option<Decimal>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<DutyComponent>))]
    pub components: Components,
    /// The regime's flat duty row, when a flat amount replaces the tariff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleIx>,
}

/// Whether a price threshold (ml, g or piece) was met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Threshold {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub per: &'static str,
    #[serde(with = "super::input::decimal")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub price: Decimal,
    #[serde(with = "super::input::decimal")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub minimum: Decimal,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumptionTax {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub assessed: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ConsumptionTaxKind>,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rate: Option<Decimal>,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub per_litre: Option<Decimal>,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub litres: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleIx>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vat {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub assessed: Money,
    #[serde(
        with = "super::input::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rate: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleIx>,
}

/// One order line's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineQuote {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hs: HsCode,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub origin: Country,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub goods: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub freight: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tax_factor: Option<Decimal>,
    /// Duty + consumption tax + VAT of a cross-border retail regime, as customs shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::MoneySchema>))]
    pub cross_border_tax: Option<Money>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub total_tax: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub total_tax_assessed: Money,
}

/// Sums over the lines, in the buyer's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub goods: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub freight: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub insurance: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub customs_value: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub duty: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub consumption_tax: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub vat: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub flat_rate_tax: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::MoneySchema>))]
    pub cross_border_tax: Option<Money>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub total_tax: Money,
    /// Goods plus what the incoterm leaves to the buyer of freight, insurance and import taxes.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub landed: Money,
}

/// Tax sums as assessed, in the tax currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessedTotals {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub duty: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub consumption_tax: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub vat: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub flat_rate_tax: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub total_tax: Money,
}

/// A special regime that was considered and refused, with a stable reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub regime: RuleText,
    pub reason: RefusalReason,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub detail: RefusalDetail,
    pub rule: RuleIx,
}

/// The regime that applies ("general_trade" or a regime's name) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegimeDecision {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub name: RuleText,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub requested: RequestedRegime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleIx>,
    /// A single indivisible item over the per-order limit: general-trade rates in full.
    pub full_rates: bool,
    pub refusals: Vec<Refusal>,
}

/// A person's yearly allowance under a regime with one, in the limit's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YearlyUsage {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub limit: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub used_before: Money,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub used_after: Money,
    /// No prior use was given, so zero was assumed.
    pub assumed_zero: bool,
    pub rule: RuleIx,
}

/// A landed-cost quote.
///
/// Serialized with each explanation step as text naming its rule's id, which needs `rules`;
/// hence the hand-written `Serialize` below (the fields' JSON is otherwise as declared).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quote {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub destination: Country,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub jurisdiction: RuleText,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Currency,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tax_currency: Currency,
    pub incoterm: Incoterm,
    pub charged_to_buyer: BuyerCharges,
    pub regime: RegimeDecision,
    pub lines: Vec<LineQuote>,
    pub totals: Totals,
    pub assessed: AssessedTotals,
    /// Absent where no regime with a yearly per-person limit is involved.
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub yearly: Option<YearlyUsage>,
    /// The exchange rates used, as given.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::ExchangeRateSchema>))]
    pub rates: Vec<ExchangeRate>,
    /// One step per rule applied, in order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::ExplanationSchema>))]
    pub explanation: Vec<Explanation>,
    /// Every rule row the quote used, once; each `rule` above is a position in this list.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::RuleSchema>))]
    pub rules: Vec<RuleRef>,
}

impl Quote {
    /// The rule row behind a figure or step.
    pub fn rule(&self, ix: RuleIx) -> Option<&RuleRef> {
        self.rules.get(ix.index())
    }

    /// The explanation, one line of text per step (as in the JSON `text`).
    pub fn explanation_texts(&self) -> impl Iterator<Item = String> + '_ {
        self.explanation.iter().map(|e| e.text(&self.rules))
    }
}

impl Serialize for Quote {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(with = "super::input::iso_date")]
            date: Date,
            destination: Country,
            jurisdiction: &'a str,
            currency: Currency,
            tax_currency: Currency,
            incoterm: Incoterm,
            charged_to_buyer: BuyerCharges,
            regime: &'a RegimeDecision,
            lines: &'a [LineQuote],
            totals: &'a Totals,
            assessed: &'a AssessedTotals,
            #[serde(skip_serializing_if = "Option::is_none")]
            yearly: Option<&'a YearlyUsage>,
            rates: &'a [ExchangeRate],
            explanation: Steps<'a>,
            rules: &'a [RuleRef],
        }
        struct Steps<'a>(&'a [Explanation], &'a [RuleRef]);
        impl Serialize for Steps<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|step| step.wire(self.1)))
            }
        }
        Wire {
            date: self.date,
            destination: self.destination,
            jurisdiction: &self.jurisdiction,
            currency: self.currency,
            tax_currency: self.tax_currency,
            incoterm: self.incoterm,
            charged_to_buyer: self.charged_to_buyer,
            regime: &self.regime,
            lines: &self.lines,
            totals: &self.totals,
            assessed: &self.assessed,
            yearly: self.yearly.as_ref(),
            rates: &self.rates,
            explanation: Steps(&self.explanation, &self.rules),
            rules: &self.rules,
        }
        .serialize(serializer)
    }
}
