//! Rule pack rows: the data the engine applies. Every row carries a [`RuleRef`] with its id,
//! dates, source and confidence, so that each computed figure can name the row behind it.

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use time::Date;

use crate::money::RoundingRule;
use crate::{Country, Currency};

use super::hs_key::PrefixKey;
use super::incoterms::TransportMode;

/// How far a row's facts were confirmed: H primary or several agreeing sources, M one secondary
/// source, L unconfirmed (operators should verify M and L rows).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Confidence {
    H,
    M,
    L,
}

/// Where a rule row comes from and when it is in force (both dates inclusive).
#[derive(Debug, PartialEq, Eq)]
pub struct RuleMeta {
    pub id: String,
    pub valid_from: Date,
    /// `None`: in force until further notice.
    pub valid_to: Option<Date>,
    pub source: String,
    pub confidence: Confidence,
    pub note: String,
}

impl RuleMeta {
    pub fn valid_on(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// A shared handle on a row's provenance; cheap to clone into every figure it produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef(pub Arc<RuleMeta>);

impl RuleRef {
    pub fn new(meta: RuleMeta) -> RuleRef {
        RuleRef(Arc::new(meta))
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub fn source(&self) -> &str {
        &self.0.source
    }

    pub fn confidence(&self) -> Confidence {
        self.0.confidence
    }

    pub fn valid_on(&self, date: Date) -> bool {
        self.0.valid_on(date)
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// `{"id": "...", "source": "...", "confidence": "H"}`.
impl Serialize for RuleRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: &'a str,
            source: &'a str,
            confidence: Confidence,
        }
        Wire {
            id: self.id(),
            source: self.source(),
            confidence: self.confidence(),
        }
        .serialize(serializer)
    }
}

/// RuleText of a rule row that quotes repeat (a jurisdiction's or a regime's name, an agreement, a
/// measure), shared so that a quote names it without copying it. Compares, hashes, prints and
/// serializes as the text it holds.
#[derive(Clone)]
pub struct RuleText(RuleTextRepr);

#[derive(Clone)]
enum RuleTextRepr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl RuleText {
    pub const fn from_static(text: &'static str) -> RuleText {
        RuleText(RuleTextRepr::Static(text))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            RuleTextRepr::Static(text) => text,
            RuleTextRepr::Shared(text) => text,
        }
    }
}

impl Default for RuleText {
    fn default() -> RuleText {
        RuleText::from_static("")
    }
}

impl std::ops::Deref for RuleText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for RuleText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for RuleText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for RuleText {
    fn from(text: String) -> RuleText {
        RuleText(RuleTextRepr::Shared(text.into()))
    }
}

impl From<&str> for RuleText {
    fn from(text: &str) -> RuleText {
        RuleText(RuleTextRepr::Shared(text.into()))
    }
}

impl From<RuleText> for String {
    fn from(text: RuleText) -> String {
        text.as_str().to_owned()
    }
}

impl PartialEq for RuleText {
    fn eq(&self, other: &RuleText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RuleText {}

impl PartialEq<str> for RuleText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RuleText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for RuleText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<RuleText> for str {
    fn eq(&self, other: &RuleText) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<RuleText> for &str {
    fn eq(&self, other: &RuleText) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<RuleText> for String {
    fn eq(&self, other: &RuleText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::hash::Hash for RuleText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for RuleText {
    fn partial_cmp(&self, other: &RuleText) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RuleText {
    fn cmp(&self, other: &RuleText) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for RuleText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RuleText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for RuleText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Which goods value customs assesses duty on: CIF (goods + freight + insurance to the place of
/// import, as in China and the EU) or FOB (goods only, as in the US and Canada).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomsValueBasis {
    Cif,
    Fob,
}

/// One customs territory: the countries it covers, its tax currency and rounding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jurisdiction {
    pub meta: RuleRef,
    /// Short name used in messages, e.g. "CN" or "EU".
    pub name: RuleText,
    pub countries: Vec<Country>,
    pub tax_currency: Currency,
    /// Applied to each final per-tax amount; intermediate figures keep full precision.
    pub rounding: RoundingRule,
    pub customs_value: CustomsValueBasis,
}

/// What a tariff row contributes to a line's duty.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TariffKind {
    /// Most-favoured-nation rate, the base.
    Mfn,
    /// A provisional rate that replaces the MFN rate while in force.
    Provisional,
    /// A rate under an agreement, for listed origins, with proof of origin where required.
    Preferential,
    /// Added on the same base: countermeasures, safeguards, anti-dumping by origin.
    Additional,
    /// Suspends the additional duty `measure` for its dates.
    Suspension,
}

/// A condition under which an additional duty applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TariffCondition {
    /// Only for goods beyond the origin's quota (the line says `over_quota`).
    OverQuota,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TariffRow {
    pub meta: RuleRef,
    pub kind: TariffKind,
    pub hs: PrefixKey,
    /// Empty: every origin.
    pub origins: Vec<Country>,
    /// Agreement of a preferential row ("ACFTA", "LDC").
    pub agreement: RuleText,
    /// Measure an additional row belongs to, or a suspension suspends.
    pub measure: RuleText,
    pub rate: Decimal,
    pub proof_required: bool,
    pub condition: Option<TariffCondition>,
}

impl TariffRow {
    pub fn applies_to(&self, origin: Country) -> bool {
        self.origins.is_empty() || self.origins.contains(&origin)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VatRow {
    pub meta: RuleRef,
    pub hs: PrefixKey,
    /// Empty: every country of the jurisdiction (member states may differ within the EU).
    pub countries: Vec<Country>,
    pub rate: Decimal,
}

/// How a consumption (excise) tax is levied.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumptionTaxKind {
    AdValorem,
    /// An amount per litre only.
    Specific,
    /// Ad valorem plus an amount per litre (spirits).
    Compound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumptionTaxRow {
    pub meta: RuleRef,
    pub hs: PrefixKey,
    pub kind: ConsumptionTaxKind,
    pub rate: Decimal,
    /// Tax-currency amount per litre (specific and compound kinds).
    pub per_litre: Decimal,
    /// The tax applies only at or above these taxable prices (tax currency) per ml, g or piece,
    /// as for high-end cosmetics; `None` where the row has no such threshold.
    pub min_price_per_ml: Option<Decimal>,
    pub min_price_per_g: Option<Decimal>,
    pub min_price_per_piece: Option<Decimal>,
}

impl ConsumptionTaxRow {
    pub fn has_threshold(&self) -> bool {
        self.min_price_per_ml.is_some()
            || self.min_price_per_g.is_some()
            || self.min_price_per_piece.is_some()
    }
}

/// A tariff line on a regime's positive list (China's CBEC list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositiveListRow {
    pub meta: RuleRef,
    pub hs: PrefixKey,
}

/// Which buyers a regime serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerScope {
    Consumer,
    Any,
}

/// Which value is compared with a regime's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueBasis {
    /// The goods alone (the EU's "intrinsic value").
    Goods,
    /// Goods + freight + insurance (China's CBEC transaction price).
    GoodsFreightInsurance,
}

/// How a regime charges duty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DutyMode {
    None,
    /// The general tariff (MFN, preferences, additional duties).
    General,
    /// A flat amount in the tax currency per distinct 6-digit subheading in the consignment.
    FlatPerSubheading(Decimal),
}

/// How a regime charges VAT and consumption tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaxMode {
    None,
    /// The statutory amounts times a factor (1 in general, 0.7 for China's CBEC).
    General {
        factor: Decimal,
    },
    /// One rate on the regime's value replacing duty and taxes (Mexico's courier rates).
    FlatRate(Decimal),
}

/// What happens to an order above the per-order limit made of a single indivisible item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SingleItemOverLimit {
    Refuse,
    /// Stays in the regime but pays duty and taxes in full at general-trade rates.
    GeneralRates,
}

/// A special import regime: cross-border retail, a low-value or postal regime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegimeRow {
    pub meta: RuleRef,
    /// The name a quote requests it by: "cbec_retail", "ioss", "low_value", "courier", …
    pub name: RuleText,
    pub buyer: BuyerScope,
    pub limit_currency: Currency,
    pub per_order_limit: Option<Decimal>,
    pub yearly_limit: Option<Decimal>,
    pub value_basis: ValueBasis,
    pub duty: DutyMode,
    pub taxes: TaxMode,
    pub single_item_over_limit: SingleItemOverLimit,
    pub requires_positive_list: bool,
    /// Empty: every origin not excluded.
    pub origins: Vec<Country>,
    pub excluded_origins: Vec<Country>,
    /// Empty: any transport mode.
    pub modes: Vec<TransportMode>,
    /// In the pack only to explain why it no longer applies (US de minimis).
    pub suspended: bool,
}

/// One destination's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulePack {
    pub jurisdiction: Jurisdiction,
    pub regimes: Vec<RegimeRow>,
    pub tariffs: Vec<TariffRow>,
    pub vat: Vec<VatRow>,
    pub consumption_taxes: Vec<ConsumptionTaxRow>,
    pub positive_list: Vec<PositiveListRow>,
}

impl RulePack {
    /// A pack with its jurisdiction and regimes (from `regimes.toml`) and no rows yet.
    pub fn new(jurisdiction: Jurisdiction, regimes: Vec<RegimeRow>) -> RulePack {
        RulePack {
            jurisdiction,
            regimes,
            tariffs: Vec::new(),
            vat: Vec::new(),
            consumption_taxes: Vec::new(),
            positive_list: Vec::new(),
        }
    }
}

/// A weight break of a freight lane: from `min_chargeable_kg` up, `per_kg` with a minimum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreightRateRow {
    pub meta: RuleRef,
    pub origin: Country,
    pub destination: Country,
    pub mode: TransportMode,
    pub min_chargeable_kg: Decimal,
    pub per_kg: Decimal,
    pub minimum_charge: Decimal,
    pub currency: Currency,
    /// cm³ per kg for volumetric weight (6000 for air and courier is common).
    pub volumetric_divisor: Decimal,
    /// Added as a fraction of the freight when the goods travel cold (0.3 = 30 %).
    pub cold_chain_surcharge: Decimal,
}

/// Insurance as a rate of goods + freight with a minimum, for one destination or all (`None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsuranceRow {
    pub meta: RuleRef,
    pub destination: Option<Country>,
    pub rate: Decimal,
    pub minimum: Decimal,
    pub currency: Currency,
}

/// Freight and insurance tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FreightTables {
    pub rates: Vec<FreightRateRow>,
    pub insurance: Vec<InsuranceRow>,
}
