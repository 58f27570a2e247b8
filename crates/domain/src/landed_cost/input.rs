//! What a quote is asked for: the order's lines, where they go, how, and under which terms.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

use crate::money::{DecimalStr, DecimalText, ExchangeRate, parse_decimal};
use crate::{Country, Currency, HsCode, Money, Quantity};

use super::incoterms::{Incoterm, TransportMode};

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// Who buys: a consumer may use cross-border retail regimes, a business may not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BuyerKind {
    #[default]
    Consumer,
    Business,
}

/// The regime a quote asks for: `auto` picks the first eligible special regime of the destination
/// (falling back to general trade), `general_trade` forces it, any other name (`cbec_retail`,
/// `ioss`, `low_value`, `postal`, `courier`…) asks for that regime of the destination's pack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RequestedRegime {
    #[default]
    Auto,
    GeneralTrade,
    Named(String),
}

impl RequestedRegime {
    pub fn name(&self) -> &str {
        match self {
            RequestedRegime::Auto => "auto",
            RequestedRegime::GeneralTrade => "general_trade",
            RequestedRegime::Named(name) => name,
        }
    }
}

impl fmt::Display for RequestedRegime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for RequestedRegime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for RequestedRegime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(match name.as_str() {
            "auto" => RequestedRegime::Auto,
            "general_trade" => RequestedRegime::GeneralTrade,
            _ if !name.is_empty()
                && name.len() <= 40
                && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                RequestedRegime::Named(name)
            }
            _ => {
                return Err(serde::de::Error::custom(
                    "a regime is auto, general_trade or a regime name such as cbec_retail",
                ));
            }
        })
    }
}

/// Measures some rules need per unit of a line: litres for spirits' specific tax, ml or grams for
/// the high-end cosmetics threshold.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measures {
    #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub litres_per_unit: Option<Decimal>,
    #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ml_per_unit: Option<Decimal>,
    #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub grams_per_unit: Option<Decimal>,
}

/// One line of the order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteLine {
    /// 6 to 10 digits.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hs: HsCode,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub origin: Country,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::QuantitySchema))]
    pub quantity: Quantity,
    /// Price of one unit of `quantity`, in any currency (converted with the given rates).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::MoneySchema))]
    pub unit_value: Money,
    #[serde(default)]
    pub measures: Measures,
    /// Proof of preferential origin (certificate) is available, so agreement rates may apply.
    #[serde(default)]
    pub preferential_proof: bool,
    /// The goods fall beyond the origin's tariff quota (quota-conditional additional duties).
    #[serde(default)]
    pub over_quota: bool,
}

/// The consignment, for computed freight and for regimes that depend on the carrier.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    pub mode: TransportMode,
    /// Where the goods leave from; by default the first line's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub origin: Option<Country>,
    #[serde(with = "decimal")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub actual_weight_kg: Decimal,
    #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub volume_cm3: Option<Decimal>,
    #[serde(default)]
    pub cold_chain: bool,
}

/// A request for a landed-cost quote.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// The rules in force on this date apply ("YYYY-MM-DD").
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub destination: Country,
    #[serde(default)]
    pub buyer: BuyerKind,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub regime: RequestedRegime,
    pub incoterm: Incoterm,
    /// The currency the buyer sees.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Currency,
    /// Freight to the place of import; computed from `transport` and the rate tables when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::MoneySchema>))]
    pub freight: Option<Money>,
    /// Computed from the insurance table when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::MoneySchema>))]
    pub insurance: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// What the buyer already used this year of a regime's per-person limit (assumed zero when
    /// absent, and the quote says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::MoneySchema>))]
    pub yearly_used: Option<Money>,
    pub lines: Vec<QuoteLine>,
    /// Every conversion uses one of these (directly or inverted); none is ever assumed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::ExchangeRateSchema>))]
    pub rates: Vec<ExchangeRate>,
}

/// Decimals travel as strings, like money amounts.
pub(crate) mod decimal {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(DecimalStr::new(value.normalize()).as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = DecimalText::deserialize(d)?;
        parse_decimal(&text.0).ok_or_else(|| {
            serde::de::Error::custom(format!("{:?} is not a decimal such as \"1.5\"", text.0))
        })
    }
}

pub(crate) mod opt_decimal {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => s.serialize_str(DecimalStr::new(value.normalize()).as_str()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        super::decimal::deserialize(d).map(Some)
    }
}
