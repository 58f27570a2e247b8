//! Reading one cell at a time and collecting every problem, so that a file is refused whole with
//! all its bad rows listed rather than only the first.

use std::collections::HashSet;

use rust_decimal::Decimal;
use time::Date;
use time::macros::format_description;

use crate::money::{RoundingRule, parse_decimal};
use crate::{Country, Currency};

use super::super::error::{RowProblem, RulePackError};
use super::super::hs_key::PrefixKey;
use super::super::incoterms::TransportMode;
use super::super::rule_pack::{Confidence, RuleMeta, RuleRef};

/// Problems found so far in one file.
pub(crate) struct Problems {
    file: String,
    list: Vec<RowProblem>,
    ids: HashSet<String>,
}

impl Problems {
    pub(crate) fn new(file: &str) -> Problems {
        Problems {
            file: file.to_owned(),
            list: Vec::new(),
            ids: HashSet::new(),
        }
    }

    pub(crate) fn push(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.list.push(RowProblem {
            line,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// The cells of one row at `line`.
    pub(crate) fn row(&mut self, line: u64) -> Row<'_> {
        Row {
            line,
            problems: self,
        }
    }

    /// The file's error (called once a problem was recorded).
    pub(crate) fn into_error(self) -> RulePackError {
        RulePackError {
            file: self.file,
            problems: self.list,
        }
    }

    /// `Ok(value)` when no problem was found, otherwise the whole file's error.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, RulePackError> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(RulePackError {
                file: self.file,
                problems: self.list,
            })
        }
    }
}

/// The cells of one row; each reader returns `None` after recording a problem.
pub(crate) struct Row<'p> {
    pub(crate) line: u64,
    problems: &'p mut Problems,
}

impl Row<'_> {
    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.problems.push(self.line, field, message);
                None
            }
        }
    }

    pub(crate) fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(self.line, field, message);
    }

    /// The columns every row has: id, dates, source, confidence and an optional note.
    pub(crate) fn meta(
        &mut self,
        id: &str,
        valid_from: &str,
        valid_to: &str,
        source: &str,
        confidence: &str,
        note: &str,
    ) -> Option<RuleRef> {
        let id = self.check("id", rule_id(id));
        if let Some(id) = &id
            && !self.problems.ids.insert(id.clone())
        {
            self.problem("id", format!("{id:?} is used by an earlier row"));
        }
        let from = self.check("valid_from", date(valid_from));
        let to = self.check("valid_to", optional(valid_to, date));
        if let (Some(from), Some(Some(to))) = (from, to)
            && to < from
        {
            self.problem(
                "valid_to",
                format!("{to} is before valid_from {from}; both dates are inclusive"),
            );
            return None;
        }
        let source = self.check("source", required(source).map(str::to_owned));
        let confidence = self.check("confidence", self::confidence(confidence));
        Some(RuleRef::new(RuleMeta {
            id: id?,
            valid_from: from?,
            valid_to: to?,
            source: source?,
            confidence: confidence?,
            note: note.trim().to_owned(),
        }))
    }
}

pub(crate) fn required(text: &str) -> Result<&str, String> {
    let text = text.trim();
    if text.is_empty() {
        Err("is required".to_owned())
    } else {
        Ok(text)
    }
}

pub(crate) fn optional<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse(text.trim()).map(Some)
    }
}

fn rule_id(text: &str) -> Result<String, String> {
    let text = required(text)?;
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a rule id: use letters, digits, '-', '_' and '.'"
        ))
    }
}

pub(crate) fn date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{:?} is not a date: expected YYYY-MM-DD", text.trim()))
}

pub(crate) fn confidence(text: &str) -> Result<Confidence, String> {
    match text.trim() {
        "H" => Ok(Confidence::H),
        "M" => Ok(Confidence::M),
        "L" => Ok(Confidence::L),
        other => Err(format!("{other:?} is not a confidence: expected H, M or L")),
    }
}

/// A non-negative decimal written plainly ("0.13", "5000").
pub(crate) fn amount(text: &str) -> Result<Decimal, String> {
    let text = required(text)?;
    let value = parse_decimal(text)
        .ok_or_else(|| format!("{text:?} is not a decimal such as \"0.13\" or \"5000\""))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!("{text} is negative"));
    }
    Ok(value.normalize())
}

/// A rate as a fraction: 13 % is "0.13". Above 10 (1000 %) is surely a percentage typed by mistake.
pub(crate) fn rate(text: &str) -> Result<Decimal, String> {
    let value = amount(text)?;
    if value > Decimal::TEN {
        return Err(format!(
            "{value} is too large for a rate: rates are fractions, 13 % is written 0.13"
        ));
    }
    Ok(value)
}

/// A factor between 0 and 1 ("0.7").
pub(crate) fn fraction(text: &str) -> Result<Decimal, String> {
    let value = amount(text)?;
    if value > Decimal::ONE {
        return Err(format!("{value} is not between 0 and 1"));
    }
    Ok(value)
}

pub(crate) fn positive(text: &str) -> Result<Decimal, String> {
    let value = amount(text)?;
    if value.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(value)
}

pub(crate) fn prefix(text: &str) -> Result<PrefixKey, String> {
    PrefixKey::parse(required(text)?)
}

pub(crate) fn country(text: &str) -> Result<Country, String> {
    text.trim().parse().map_err(|e| format!("{e}"))
}

/// Country codes separated by spaces; empty means none listed.
pub(crate) fn countries(text: &str) -> Result<Vec<Country>, String> {
    text.split_whitespace().map(country).collect()
}

pub(crate) fn currency(text: &str) -> Result<Currency, String> {
    text.trim().parse().map_err(|e| format!("{e}"))
}

pub(crate) fn boolean(text: &str) -> Result<bool, String> {
    match text.trim() {
        "" | "false" | "no" => Ok(false),
        "true" | "yes" => Ok(true),
        other => Err(format!("{other:?} is not true or false")),
    }
}

pub(crate) fn mode(text: &str) -> Result<TransportMode, String> {
    TransportMode::parse(text.trim()).ok_or_else(|| {
        format!(
            "{:?} is not a transport mode: expected air, sea, courier or post",
            text.trim()
        )
    })
}

pub(crate) fn rounding(text: &str) -> Result<RoundingRule, String> {
    match text.trim() {
        "half_up" => Ok(RoundingRule::HalfUp),
        "half_even" => Ok(RoundingRule::HalfEven),
        "down" => Ok(RoundingRule::Down),
        "up" => Ok(RoundingRule::Up),
        other => Err(format!(
            "{other:?} is not a rounding rule: expected half_up, half_even, down or up"
        )),
    }
}

/// One of `choices`, by its exact name.
pub(crate) fn choice<T: Copy>(text: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let text = text.trim();
    choices
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            format!("{text:?} is not one of {}", names.join(", "))
        })
}
