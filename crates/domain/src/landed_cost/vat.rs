//! The VAT rate of a line: the most specific HS prefix with a row in force for the destination.

use time::Date;

use crate::Country;

use super::error::QuoteError;
use super::input::QuoteLine;
use super::rule_book::LineRules;
use super::rule_pack::{RulePack, VatRow};

pub(crate) fn find<'p>(
    found: &LineRules<'_>,
    pack: &'p RulePack,
    line: &QuoteLine,
    index: usize,
    destination: Country,
    date: Date,
) -> Result<&'p VatRow, QuoteError> {
    found
        .vat()
        .iter()
        .filter(|d| d.valid_on(date))
        .filter_map(|d| pack.vat.get(d.row as usize))
        .find(|row| row.countries.is_empty() || row.countries.contains(&destination))
        .ok_or_else(|| QuoteError::NoRule {
            field: format!("lines[{index}].hs"),
            what: "VAT",
            hs: line.hs.formatted(),
            jurisdiction: pack.jurisdiction.name.to_string(),
            date,
        })
}
