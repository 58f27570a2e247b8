//! What a programme sets out to achieve, and how far it has got.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Exporters approved under the programme (unit: exporter).
    ApprovedExporters,
    /// People who completed a course of the programme (unit: trainee).
    Trainees,
    /// Tonnes traded, optionally of one HS prefix (unit: t).
    TradeWeight,
    /// Sales value in a currency (unit: the currency code).
    TradeValue,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::ApprovedExporters,
        Metric::Trainees,
        Metric::TradeWeight,
        Metric::TradeValue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ApprovedExporters => "approved_exporters",
            Metric::Trainees => "trainees",
            Metric::TradeWeight => "trade_weight",
            Metric::TradeValue => "trade_value",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetPeriod {
    /// Over the whole programme.
    Programme,
    /// Each year.
    Year,
}

impl TargetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetPeriod::Programme => "programme",
            TargetPeriod::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [TargetPeriod::Programme, TargetPeriod::Year]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Measured ÷ target, 0 when the target is 0; not capped, so over-achievement shows.
pub fn progress(measured: Decimal, target: Decimal) -> Decimal {
    if target.is_zero() {
        Decimal::ZERO
    } else {
        (measured / target).round_dp(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_a_ratio_that_may_pass_one() {
        assert_eq!(
            progress(Decimal::from(24), Decimal::from(100)),
            Decimal::new(24, 2)
        );
        assert_eq!(
            progress(Decimal::from(3), Decimal::from(2)),
            Decimal::new(15, 1)
        );
        assert_eq!(progress(Decimal::from(3), Decimal::ZERO), Decimal::ZERO);
        assert_eq!(Metric::parse("trainees"), Some(Metric::Trainees));
    }
}
