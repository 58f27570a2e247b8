//! A programme's terms (the initial agreement, renewals, extensions) and its status by date.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::Date;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermError {
    #[error("ends on {end}, before it starts on {start}")]
    EndsBeforeStart { start: Date, end: Date },
    #[error("a programme starts with its initial term")]
    NoInitialTerm,
    #[error("only the first term is the initial one")]
    SecondInitialTerm,
    #[error("starts on {start}, overlapping the previous term which ends on {previous_end}")]
    Overlap { start: Date, previous_end: Date },
}

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DateRange {
    pub start: Date,
    pub end: Date,
}

impl DateRange {
    pub fn new(start: Date, end: Date) -> Result<Self, TermError> {
        if end < start {
            return Err(TermError::EndsBeforeStart { start, end });
        }
        Ok(Self { start, end })
    }

    pub fn contains(&self, day: Date) -> bool {
        self.start <= day && day <= self.end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    /// The agreement as first signed.
    Initial,
    /// A new term of the same partnership (e.g. a three-year renewal).
    Renewal,
    /// More time for the current term.
    Extension,
}

impl TermKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TermKind::Initial => "initial",
            TermKind::Renewal => "renewal",
            TermKind::Extension => "extension",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [TermKind::Initial, TermKind::Renewal, TermKind::Extension]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub kind: TermKind,
    pub dates: DateRange,
}

/// Checks that terms, in order, begin with the initial one and never overlap.
pub fn validate_terms(terms: &[Term]) -> Result<(), TermError> {
    let Some(first) = terms.first() else {
        return Err(TermError::NoInitialTerm);
    };
    if first.kind != TermKind::Initial {
        return Err(TermError::NoInitialTerm);
    }
    for pair in terms.windows(2) {
        let (previous, next) = (pair[0], pair[1]);
        if next.kind == TermKind::Initial {
            return Err(TermError::SecondInitialTerm);
        }
        if next.dates.start <= previous.dates.end {
            return Err(TermError::Overlap {
                start: next.dates.start,
                previous_end: previous.dates.end,
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeStatus {
    /// Being prepared; not signed yet.
    Draft,
    /// Signed, and no term is running today (the first, or a renewal, is still to come).
    Signed,
    /// A term is running today.
    Active,
    /// The last term has ended.
    Expired,
}

impl ProgrammeStatus {
    /// Derived from the dates, so it never needs updating by hand.
    pub fn on(day: Date, signed_on: Option<Date>, terms: &[Term]) -> Self {
        if signed_on.is_none_or(|signed| signed > day) {
            return ProgrammeStatus::Draft;
        }
        if terms.iter().any(|t| t.dates.contains(day)) {
            ProgrammeStatus::Active
        } else if terms.iter().all(|t| t.dates.end < day) {
            ProgrammeStatus::Expired
        } else {
            ProgrammeStatus::Signed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProgrammeStatus::Draft => "draft",
            ProgrammeStatus::Signed => "signed",
            ProgrammeStatus::Active => "active",
            ProgrammeStatus::Expired => "expired",
        }
    }
}

impl fmt::Display for ProgrammeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn term(kind: TermKind, start: Date, end: Date) -> Term {
        Term {
            kind,
            dates: DateRange::new(start, end).unwrap(),
        }
    }

    #[test]
    fn ranges_refuse_dates_out_of_order() {
        assert!(DateRange::new(date!(2026 - 01 - 02), date!(2026 - 01 - 01)).is_err());
        assert!(
            DateRange::new(date!(2026 - 01 - 01), date!(2026 - 01 - 01))
                .unwrap()
                .contains(date!(2026 - 01 - 01))
        );
    }

    #[test]
    fn renewals_follow_without_overlapping() {
        let initial = term(
            TermKind::Initial,
            date!(2023 - 01 - 01),
            date!(2025 - 12 - 31),
        );
        let renewal = term(
            TermKind::Renewal,
            date!(2026 - 01 - 01),
            date!(2028 - 12 - 31),
        );
        assert_eq!(validate_terms(&[initial, renewal]), Ok(()));
        let overlapping = term(
            TermKind::Renewal,
            date!(2025 - 12 - 31),
            date!(2028 - 12 - 31),
        );
        assert!(matches!(
            validate_terms(&[initial, overlapping]),
            Err(TermError::Overlap { .. })
        ));
        assert_eq!(validate_terms(&[renewal]), Err(TermError::NoInitialTerm));
        assert_eq!(
            validate_terms(&[initial, initial]),
            Err(TermError::SecondInitialTerm)
        );
    }

    #[test]
    fn status_follows_the_calendar() {
        let terms = [
            term(
                TermKind::Initial,
                date!(2023 - 01 - 01),
                date!(2025 - 12 - 31),
            ),
            term(
                TermKind::Renewal,
                date!(2026 - 03 - 01),
                date!(2028 - 12 - 31),
            ),
        ];
        let signed = Some(date!(2022 - 11 - 15));
        assert_eq!(
            ProgrammeStatus::on(date!(2022 - 12 - 01), None, &terms),
            ProgrammeStatus::Draft
        );
        assert_eq!(
            ProgrammeStatus::on(date!(2022 - 12 - 01), signed, &terms),
            ProgrammeStatus::Signed
        );
        assert_eq!(
            ProgrammeStatus::on(date!(2023 - 01 - 01), signed, &terms),
            ProgrammeStatus::Active
        );
        assert_eq!(
            ProgrammeStatus::on(date!(2026 - 02 - 01), signed, &terms),
            ProgrammeStatus::Signed
        );
        assert_eq!(
            ProgrammeStatus::on(date!(2028 - 12 - 31), signed, &terms),
            ProgrammeStatus::Active
        );
        assert_eq!(
            ProgrammeStatus::on(date!(2029 - 01 - 01), signed, &terms),
            ProgrammeStatus::Expired
        );
    }
}
