//! The VAT rate of a line: the most specific HS prefix with a row in force for the destination.

use time::Date;

use crate::Country;

use super::error::QuoteError;
use super::input::QuoteLine;
use super::rule_book::LineEntries;
use super::rule_pack::{RulePack, VatRow};

pub(crate) fn find<'p>(
    entries: &LineEntries<'_>,
    pack: &'p RulePack,
    line: &QuoteLine,
    index: usize,
    destination: Country,
    date: Date,
) -> Result<&'p VatRow, QuoteError> {
    entries
        .iter()
        .find_map(|entry| {
            entry
                .vat
                .iter()
                .filter_map(|i| pack.vat.get(*i as usize))
                .find(|row| {
                    row.meta.valid_on(date)
                        && (row.countries.is_empty() || row.countries.contains(&destination))
                })
        })
        .ok_or_else(|| QuoteError::NoRule {
            field: format!("lines[{index}].hs"),
            what: "VAT",
            hs: line.hs.formatted(),
            jurisdiction: pack.jurisdiction.name.clone(),
            date,
        })
}
