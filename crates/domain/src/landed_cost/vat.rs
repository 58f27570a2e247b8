//! The VAT rate of a line: the most specific HS prefix with a row in force for the destination.

use time::Date;

use crate::Country;

use super::error::QuoteError;
use super::input::QuoteLine;
use super::rule_book::RuleBook;
use super::rule_pack::{RulePack, VatRow};

pub(crate) fn find<'p>(
    book: &RuleBook,
    pack_index: usize,
    pack: &'p RulePack,
    line: &QuoteLine,
    index: usize,
    destination: Country,
    date: Date,
) -> Result<&'p VatRow, QuoteError> {
    book.entries(pack_index, &line.hs)
        .find_map(|(_, entry)| {
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
