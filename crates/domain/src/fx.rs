//! Exchange rates by date: reading published rate files, and choosing the rate a conversion on a
//! given day uses — direct, inverse, or crossed through a common base currency — always naming
//! the rate and its date. A missing rate is an error, never a silent 1.

use crate::money::ExchangeRate;
use crate::{Currency, money::MoneyError};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use time::Date;
use time::macros::format_description;

/// One published rate: on `date`, 1 `base` = `rate` `quote`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateObservation {
    pub date: Date,
    pub base: Currency,
    pub quote: Currency,
    pub rate: Decimal,
    /// Who published it, e.g. "ECB".
    pub source: String,
}

/// A bad row of a rate file: its line number, the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// Every bad row of a file; a file with any is refused whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct FileErrors(pub Vec<RowError>);

impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "line {}: {}: {}", e.line, e.field, e.message)?;
        }
        Ok(())
    }
}

/// What a file held besides its rates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedRates {
    pub rates: Vec<RateObservation>,
    /// Columns skipped because they name no current ISO 4217 currency (e.g. the ECB history's
    /// withdrawn currencies).
    pub skipped_columns: Vec<String>,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{:?} is not a date like 2026-11-20", text.trim()))
}

fn parse_rate(text: &str) -> Result<Decimal, String> {
    let rate: Decimal = text
        .trim()
        .parse()
        .map_err(|_| format!("{:?} is not a decimal number", text.trim()))?;
    if rate <= Decimal::ZERO {
        return Err(format!("a rate must be positive, not {rate}"));
    }
    Ok(rate)
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// Reads the European Central Bank's reference-rate CSV (`eurofxref.csv` or
/// `eurofxref-hist.csv`): a `Date` column, then one column per currency of how many units one
/// euro buys; `N/A` or empty cells mean no rate that day.
pub fn parse_ecb_csv(text: &str) -> Result<ParsedRates, FileErrors> {
    let mut rdr = reader(text);
    let headers = rdr
        .headers()
        .map_err(|e| {
            FileErrors(vec![RowError {
                line: 1,
                field: "header".into(),
                message: e.to_string(),
            }])
        })?
        .clone();
    if headers.get(0).map(str::trim) != Some("Date") {
        return Err(FileErrors(vec![RowError {
            line: 1,
            field: "header".into(),
            message: "an ECB reference-rate file starts with a Date column".into(),
        }]));
    }
    let mut columns = Vec::new();
    let mut out = ParsedRates::default();
    for (i, name) in headers.iter().enumerate().skip(1) {
        let name = name.trim();
        if name.is_empty() {
            continue; // the ECB files end every line with a comma
        }
        match name.parse::<Currency>() {
            Ok(c) if c != Currency::EUR => columns.push((i, c)),
            _ => out.skipped_columns.push(name.to_owned()),
        }
    }
    let mut errors = Vec::new();
    for (index, record) in rdr.records().enumerate() {
        let line = index as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    field: "row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let date = match parse_date(record.get(0).unwrap_or("")) {
            Ok(d) => d,
            Err(message) => {
                errors.push(RowError {
                    line,
                    field: "Date".into(),
                    message,
                });
                continue;
            }
        };
        for (i, currency) in &columns {
            let cell = record.get(*i).unwrap_or("").trim();
            if cell.is_empty() || cell.eq_ignore_ascii_case("N/A") {
                continue;
            }
            match parse_rate(cell) {
                Ok(rate) => out.rates.push(RateObservation {
                    date,
                    base: Currency::EUR,
                    quote: *currency,
                    rate,
                    source: "ECB".into(),
                }),
                Err(message) => errors.push(RowError {
                    line,
                    field: currency.code().into(),
                    message,
                }),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(FileErrors(errors))
    }
}

/// Reads the simple format: a header `date,base,quote,rate` (an optional fifth column `source`),
/// then one rate per line.
pub fn parse_rates_csv(text: &str, default_source: &str) -> Result<ParsedRates, FileErrors> {
    let mut rdr = reader(text);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            return Err(FileErrors(vec![RowError {
                line: 1,
                field: "header".into(),
                message: e.to_string(),
            }]));
        }
    };
    let expected = ["date", "base", "quote", "rate"];
    if headers.len() < 4
        || headers[..4] != expected
        || headers.get(4).is_some_and(|h| h != "source")
    {
        return Err(FileErrors(vec![RowError {
            line: 1,
            field: "header".into(),
            message: format!(
                "expected the header date,base,quote,rate[,source], found {}",
                headers.join(",")
            ),
        }]));
    }
    let mut out = ParsedRates::default();
    let mut errors = Vec::new();
    for (index, record) in rdr.records().enumerate() {
        let line = index as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    field: "row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let mut bad = |field: &str, message: String| {
            errors.push(RowError {
                line,
                field: field.into(),
                message,
            })
        };
        let date = parse_date(record.get(0).unwrap_or(""))
            .map_err(|m| bad("date", m))
            .ok();
        let mut currency = |field: &str, i: usize| {
            let text = record.get(i).unwrap_or("");
            text.parse::<Currency>()
                .map_err(|e: MoneyError| bad(field, e.to_string()))
                .ok()
        };
        let base = currency("base", 1);
        let quote = currency("quote", 2);
        let rate = parse_rate(record.get(3).unwrap_or(""))
            .map_err(|m| bad("rate", m))
            .ok();
        if let (Some(b), Some(q)) = (base, quote)
            && b == q
        {
            bad(
                "quote",
                format!("a rate converts between two currencies, not {b} to itself"),
            );
            continue;
        }
        if let (Some(date), Some(base), Some(quote), Some(rate)) = (date, base, quote, rate) {
            let source = record
                .get(4)
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(default_source)
                .to_owned();
            out.rates.push(RateObservation {
                date,
                base,
                quote,
                rate,
                source,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(FileErrors(errors))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error("no exchange rate from {from} to {to} on or within {max_age_days} days before {on}")]
    Missing {
        from: Currency,
        to: Currency,
        on: Date,
        max_age_days: i64,
    },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The rate to convert `from` → `to` on `on`: the most recent day, not after `on` and at most
/// `max_age_days` before it, that has a direct rate, its inverse, or two rates from one common
/// base (e.g. the ECB's EUR rates for both). The result's source names the rates and their date.
pub fn resolve(
    observations: &[RateObservation],
    from: Currency,
    to: Currency,
    on: Date,
    max_age_days: i64,
) -> Result<ExchangeRate, FxError> {
    let oldest = on - time::Duration::days(max_age_days);
    let mut by_day: BTreeMap<Date, Vec<&RateObservation>> = BTreeMap::new();
    for o in observations
        .iter()
        .filter(|o| o.date <= on && o.date >= oldest)
    {
        by_day.entry(o.date).or_default().push(o);
    }
    for (day, rates) in by_day.iter().rev() {
        let find = |b: Currency, q: Currency| rates.iter().find(|o| o.base == b && o.quote == q);
        if let Some(o) = find(from, to) {
            let label = format!("{} {day}: 1 {from} = {} {to}", o.source, o.rate);
            return Ok(ExchangeRate::new(from, to, o.rate)?.with_source(label));
        }
        if let Some(o) = find(to, from) {
            let label = format!("{} {day}: 1 {to} = {} {from} (inverted)", o.source, o.rate);
            return Ok(ExchangeRate::new(from, to, Decimal::ONE / o.rate)?.with_source(label));
        }
        for leg in rates.iter().filter(|o| o.quote == from) {
            if let Some(other) = find(leg.base, to) {
                let rate = other.rate / leg.rate;
                let label = format!(
                    "{} {day}: 1 {pivot} = {} {from}, 1 {pivot} = {} {to} (cross via {pivot})",
                    leg.source,
                    leg.rate,
                    other.rate,
                    pivot = leg.base
                );
                return Ok(ExchangeRate::new(from, to, rate)?.with_source(label));
            }
        }
    }
    Err(FxError::Missing {
        from,
        to,
        on,
        max_age_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const ECB: &str = "Date, USD, JPY, CNY, CYP, \n2026-11-20, 1.0535, 163.50, 7.6120, N/A, \n2026-11-19, 1.0500, 163.10, 7.6000, N/A, \n";

    #[test]
    fn reads_the_ecb_file_and_skips_withdrawn_currencies() {
        let parsed = parse_ecb_csv(ECB).unwrap();
        assert_eq!(parsed.rates.len(), 6);
        assert_eq!(parsed.skipped_columns, vec!["CYP"]);
        assert_eq!(parsed.rates[0].rate, "1.0535".parse::<Decimal>().unwrap());
        assert_eq!(parsed.rates[0].base, Currency::EUR);
    }

    #[test]
    fn bad_rows_are_all_reported_with_line_numbers() {
        let err = parse_ecb_csv(
            "Date, USD, CNY\n2026-11-20, 1.05, 7.6\n2026-13-01, 1.05, 7.6\n2026-11-18, -1, x\n",
        )
        .unwrap_err();
        let lines: Vec<(u64, &str)> = err.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(lines, vec![(3, "Date"), (4, "USD"), (4, "CNY")]);
        assert!(err.to_string().starts_with("line 3: Date:"));

        let err = parse_rates_csv("date,base,quote,rate\n2026-11-20,USD,CNY,7.1\n2026-11-20,USD,XXX,7\n2026-11-20,USD,USD,1\n", "bank")
            .unwrap_err();
        assert_eq!(
            err.0
                .iter()
                .map(|e| (e.line, e.field.as_str()))
                .collect::<Vec<_>>(),
            vec![(3, "quote"), (4, "quote")]
        );
        assert!(parse_rates_csv("day,from,to,value\n", "bank").is_err());
    }

    #[test]
    fn resolves_direct_inverse_and_cross_rates_naming_their_date() {
        let rates = parse_ecb_csv(ECB).unwrap().rates;
        let direct = resolve(
            &rates,
            Currency::EUR,
            Currency::CNY,
            date!(2026 - 11 - 20),
            7,
        )
        .unwrap();
        assert_eq!(direct.rate(), "7.6120".parse::<Decimal>().unwrap());
        assert!(direct.source().unwrap().contains("2026-11-20"));

        let inverse = resolve(
            &rates,
            Currency::CNY,
            Currency::EUR,
            date!(2026 - 11 - 20),
            7,
        )
        .unwrap();
        assert!(inverse.source().unwrap().contains("inverted"));

        // A Sunday uses Friday's rates; the cross rate goes through the euro.
        let cross = resolve(
            &rates,
            Currency::USD,
            Currency::CNY,
            date!(2026 - 11 - 22),
            7,
        )
        .unwrap();
        assert_eq!(
            cross.rate(),
            "7.6120".parse::<Decimal>().unwrap() / "1.0535".parse::<Decimal>().unwrap()
        );
        assert!(
            cross.source().unwrap().contains("cross via EUR"),
            "{:?}",
            cross.source()
        );
        assert!(cross.source().unwrap().contains("2026-11-20"));

        // The day before the first rate, or too long after the last, has none.
        assert!(matches!(
            resolve(
                &rates,
                Currency::USD,
                Currency::CNY,
                date!(2026 - 11 - 18),
                7
            ),
            Err(FxError::Missing { .. })
        ));
        assert!(
            resolve(
                &rates,
                Currency::USD,
                Currency::CNY,
                date!(2026 - 12 - 20),
                7
            )
            .is_err()
        );
        assert!(
            resolve(
                &rates,
                Currency::USD,
                Currency::MXN,
                date!(2026 - 11 - 20),
                7
            )
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn a_cross_rate_and_its_reverse_multiply_to_about_one(a in 1u32..100_000, b in 1u32..100_000) {
            let rates = vec![
                RateObservation { date: date!(2026 - 01 - 05), base: Currency::EUR, quote: Currency::USD, rate: Decimal::new(a.into(), 4), source: "t".into() },
                RateObservation { date: date!(2026 - 01 - 05), base: Currency::EUR, quote: Currency::CNY, rate: Decimal::new(b.into(), 4), source: "t".into() },
            ];
            let there = resolve(&rates, Currency::USD, Currency::CNY, date!(2026 - 01 - 05), 0).unwrap();
            let back = resolve(&rates, Currency::CNY, Currency::USD, date!(2026 - 01 - 05), 0).unwrap();
            let product = there.rate() * back.rate();
            prop_assert!((product - Decimal::ONE).abs() < Decimal::new(1, 20));
        }
    }
}
