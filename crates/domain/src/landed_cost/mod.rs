//! Landed cost: what crossing a border costs an order before the buyer pays, to the minor unit,
//! with the rule row behind every figure.
//!
//! Rules are data ([`RulePack`]s parsed from CSV and TOML by [`parse`], indexed in a
//! [`RuleBook`]); [`quote`] applies those in force on the quote's date to a [`QuoteInput`] and
//! answers a [`Quote`]. Pure: no I/O, and exchange rates come with the input.

mod consumption_tax;
mod engine;
mod error;
mod exact;
mod explanation;
mod freight;
mod fx;
mod hs_key;
mod incoterms;
mod input;
mod line_value;
mod output;
pub mod parse;
mod regime;
mod rounding;
mod rule_book;
mod rule_pack;
pub mod shipped;
mod tariff;
mod vat;

#[cfg(test)]
mod tests;

pub use engine::{MAX_LINES, quote};
pub use error::{QuoteError, RowProblem, RuleBookError, RulePackError};
pub use explanation::{Explanation, Step};
pub use freight::chargeable_weight;
pub use hs_key::PrefixKey;
pub use incoterms::{BuyerCharges, Incoterm, TransportMode};
pub use input::{BuyerKind, Measures, QuoteInput, QuoteLine, RequestedRegime, Transport};
pub use output::{
    AssessedTotals, Components, ConsumptionTax, Duty, DutyComponent, Figure, LineQuote, Quote,
    Refusal, RegimeDecision, RuleIx, Threshold, Totals, Vat, YearlyUsage,
};
pub use regime::{RefusalDetail, RefusalReason};
pub use rule_book::RuleBook;
pub use rule_pack::{
    BuyerScope, Confidence, ConsumptionTaxKind, ConsumptionTaxRow, CustomsValueBasis, DutyMode,
    FreightRateRow, FreightTables, InsuranceRow, Jurisdiction, PositiveListRow, RegimeRow,
    RuleMeta, RulePack, RuleRef, RuleText, SingleItemOverLimit, TariffCondition, TariffKind,
    TariffRow, TaxMode, ValueBasis, VatRow,
};
