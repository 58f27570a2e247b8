//! Shipments: who carries a seller's goods under which waybill, and what the carrier reports on
//! the way. A shipment is in transit until a `delivered` event; after that it takes no more events.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a carrier reports about a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    InTransit,
    OutForDelivery,
    Delivered,
    /// Held at customs, damaged, address not found…: the note says what.
    Exception,
}

impl TrackingStatus {
    pub const ALL: [TrackingStatus; 4] = [
        TrackingStatus::InTransit,
        TrackingStatus::OutForDelivery,
        TrackingStatus::Delivered,
        TrackingStatus::Exception,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrackingStatus::InTransit => "in_transit",
            TrackingStatus::OutForDelivery => "out_for_delivery",
            TrackingStatus::Delivered => "delivered",
            TrackingStatus::Exception => "exception",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for TrackingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A shipment's own state: in transit until its carrier reports it delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    InTransit,
    Delivered,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::Delivered => "delivered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_transit" => Some(ShipmentStatus::InTransit),
            "delivered" => Some(ShipmentStatus::Delivered),
            _ => None,
        }
    }
}

impl fmt::Display for ShipmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipmentInputError {
    #[error("1 to 64 characters, no control characters")]
    Carrier,
    #[error("1 to 64 letters, digits and hyphens")]
    Waybill,
}

/// A carrier's name, trimmed: 1 to 64 characters without control characters.
pub fn carrier(text: &str) -> Result<String, ShipmentInputError> {
    let t = text.trim();
    let n = t.chars().count();
    if n == 0 || n > 64 || t.chars().any(char::is_control) {
        return Err(ShipmentInputError::Carrier);
    }
    Ok(t.to_owned())
}

/// A waybill number, trimmed and in upper case (carriers do not tell `sf12` from `SF12`):
/// 1 to 64 ASCII letters, digits and hyphens.
pub fn waybill(text: &str) -> Result<String, ShipmentInputError> {
    let t = text.trim();
    if t.is_empty() || t.len() > 64 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ShipmentInputError::Waybill);
    }
    Ok(t.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriers_and_waybills_are_checked() {
        assert_eq!(carrier("  SF Express ").unwrap(), "SF Express");
        assert!(carrier("").is_err());
        assert!(carrier(" ").is_err());
        assert!(carrier(&"x".repeat(65)).is_err());
        assert!(carrier("a\nb").is_err());
        assert_eq!(waybill(" sf-1234567890 ").unwrap(), "SF-1234567890");
        assert!(waybill("").is_err());
        assert!(waybill("SF 123").is_err());
        assert!(waybill("顺丰123").is_err());
        assert!(waybill(&"1".repeat(65)).is_err());
        assert!(waybill(&"1".repeat(64)).is_ok());
    }

    #[test]
    fn statuses_round_trip() {
        for s in TrackingStatus::ALL {
            assert_eq!(TrackingStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TrackingStatus::parse("lost"), None);
        assert_eq!(
            ShipmentStatus::parse("delivered"),
            Some(ShipmentStatus::Delivered)
        );
    }
}
