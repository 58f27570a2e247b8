//! Errors of the landed-cost engine and of rule pack parsing. Messages are shown to API users and
//! operators, so each names the field (or file, line and column) at fault.

use std::fmt;

use time::Date;

use crate::money::MoneyError;
use crate::{Country, Currency};

use super::regime::RefusalReason;

/// Why a quote could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    #[error("destination: no rule pack covers {destination}")]
    UnknownDestination { destination: Country },

    #[error("date: the {jurisdiction} rule pack starts on {starts}, after {date}")]
    NoRulePackOnDate {
        jurisdiction: String,
        date: Date,
        starts: Date,
    },

    #[error("{field}: no {what} rule for HS {hs} into {jurisdiction} is in force on {date}")]
    NoRule {
        field: String,
        what: &'static str,
        hs: String,
        jurisdiction: String,
        date: Date,
    },

    #[error("{field}: rule {rule} needs {needed}")]
    MissingMeasure {
        field: String,
        rule: String,
        needed: &'static str,
    },

    #[error(
        "rates: no exchange rate between {from} and {to} was given; add one for the quote date (rates are never assumed)"
    )]
    MissingRate { from: Currency, to: Currency },

    #[error("regime: {requested} refused ({reason}): {detail}")]
    RegimeRefused {
        requested: String,
        reason: RefusalReason,
        detail: String,
        rule: String,
    },

    #[error("regime: {requested:?} is not a regime of {jurisdiction} on {date} (known: {known})")]
    UnknownRegime {
        requested: String,
        jurisdiction: String,
        date: Date,
        known: String,
    },

    #[error("freight: {message}")]
    Freight { message: String },

    #[error("{field}: {source}")]
    Money { field: String, source: MoneyError },
}

impl QuoteError {
    /// The input field at fault, for problem+json's offending field.
    pub fn field(&self) -> &str {
        match self {
            QuoteError::Invalid { field, .. }
            | QuoteError::NoRule { field, .. }
            | QuoteError::MissingMeasure { field, .. }
            | QuoteError::Money { field, .. } => field,
            QuoteError::UnknownDestination { .. } => "destination",
            QuoteError::NoRulePackOnDate { .. } => "date",
            QuoteError::MissingRate { .. } => "rates",
            QuoteError::RegimeRefused { .. } | QuoteError::UnknownRegime { .. } => "regime",
            QuoteError::Freight { .. } => "freight",
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> QuoteError {
        QuoteError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field's text is made only if the error happens: this sits on every figure's path.
    pub(crate) fn money(field: impl Into<String>) -> impl FnOnce(MoneyError) -> QuoteError {
        move |source| QuoteError::Money {
            field: field.into(),
            source,
        }
    }
}

/// One bad row (or cell) of a rule pack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based line in the file.
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.field, self.message)
    }
}

/// A rule pack file refused whole, with every bad row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RulePackError {
    pub file: String,
    pub problems: Vec<RowProblem>,
}

impl fmt::Display for RulePackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: refused, {} problem(s)",
            self.file,
            self.problems.len()
        )?;
        for problem in &self.problems {
            write!(f, "; {problem}")?;
        }
        Ok(())
    }
}

/// Rule packs that parse alone but do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleBookError {
    #[error("{country} is covered by both the {first} and the {second} rule packs")]
    CountryInTwoPacks {
        country: Country,
        first: String,
        second: String,
    },

    #[error("rule id {id:?} is used twice")]
    DuplicateId { id: String },

    #[error("too many rule packs")]
    TooManyPacks,
}
