//! Instants as stored: RFC 3339 UTC text with exactly six fractional digits, so that text order is
//! time order on both backends.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

const STORED: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        let micros = at.microsecond();
        // Truncate to what we store so that a value read back compares equal.
        Self(at.replace_nanosecond(micros * 1_000).unwrap_or(at))
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        self.0.checked_sub(d).map(Self)
    }

    pub fn checked_add(self, d: Duration) -> Option<Self> {
        self.0.checked_add(d).map(Self)
    }

    pub(crate) fn to_stored(self) -> String {
        // The format has no fallible parts for a UTC instant within year 0..=9999.
        self.0
            .format(STORED)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }

    pub(crate) fn from_stored(text: &str) -> Result<Self, time::error::Parse> {
        time::PrimitiveDateTime::parse(text, STORED).map(|p| Self(p.assume_utc()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips_and_sorts_like_time() {
        let a = Timestamp::now();
        let b = a.checked_add(Duration::microseconds(1)).unwrap();
        assert_eq!(Timestamp::from_stored(&a.to_stored()).unwrap(), a);
        assert!(a.to_stored() < b.to_stored());
        assert_eq!(a.to_stored().len(), "2026-11-23T13:31:19.000000Z".len());
    }
}
