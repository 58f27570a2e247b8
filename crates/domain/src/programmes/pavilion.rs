//! Country pavilions: one country on one channel, recruiting until enough exporters are approved.

use crate::Country;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Wholesale,
    Retail,
    Travel,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Wholesale, Channel::Retail, Channel::Travel];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Wholesale => "wholesale",
            Channel::Retail => "retail",
            Channel::Travel => "travel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable URL slug of a pavilion, e.g. `kh-wholesale`.
pub fn slug(country: Country, channel: Channel) -> String {
    format!(
        "{}-{}",
        country.code().to_ascii_lowercase(),
        channel.as_str()
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PavilionStatus {
    Recruiting { approved: u32, threshold: u32 },
    Live,
}

impl PavilionStatus {
    /// A pavilion goes live once, when approvals reach the threshold; it stays live after.
    pub fn of(approved: u32, threshold: u32, launched: bool) -> Self {
        if launched || approved >= threshold {
            PavilionStatus::Live
        } else {
            PavilionStatus::Recruiting {
                approved,
                threshold,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_stable_and_lower_case() {
        assert_eq!(
            slug("KH".parse().unwrap(), Channel::Wholesale),
            "kh-wholesale"
        );
        assert_eq!(Channel::parse("travel"), Some(Channel::Travel));
        assert_eq!(Channel::parse("Retail"), None);
    }

    #[test]
    fn pavilions_launch_at_the_threshold_and_stay_live() {
        assert_eq!(
            PavilionStatus::of(24, 100, false),
            PavilionStatus::Recruiting {
                approved: 24,
                threshold: 100
            }
        );
        assert_eq!(PavilionStatus::of(100, 100, false), PavilionStatus::Live);
        assert_eq!(PavilionStatus::of(80, 100, true), PavilionStatus::Live);
    }
}
