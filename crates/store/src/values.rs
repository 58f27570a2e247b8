//! How domain values are written to and read from columns: dates as 'YYYY-MM-DD' text, money as
//! integer minor units beside the currency code.

use crate::StoreError;
use pavilion_domain::{Currency, Money};
use time::Date;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

pub(crate) fn date_text(d: Date) -> String {
    d.format(DATE).unwrap_or_else(|_| d.to_string())
}

pub(crate) fn parse_date(table: &'static str, text: &str) -> Result<Date, StoreError> {
    Date::parse(text, DATE).map_err(|e| StoreError::corrupt(table, format!("date {text:?}: {e}")))
}

pub(crate) fn minor(m: Money) -> Result<i64, StoreError> {
    m.to_minor().map_err(|e| StoreError::corrupt("money", e))
}

pub(crate) fn currency(table: &'static str, code: &str) -> Result<Currency, StoreError> {
    code.parse().map_err(|e| StoreError::corrupt(table, e))
}

pub(crate) fn money(
    table: &'static str,
    amount_minor: i64,
    code: &str,
) -> Result<Money, StoreError> {
    Ok(Money::from_minor(amount_minor, currency(table, code)?))
}

pub(crate) fn uuid(table: &'static str, text: &str) -> Result<uuid::Uuid, StoreError> {
    text.parse().map_err(|e| StoreError::corrupt(table, e))
}

/// `$first, $first+1, …` — `n` numbered placeholders for an `IN (…)` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
