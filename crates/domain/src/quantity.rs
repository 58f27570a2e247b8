//! Quantities of goods: an exact non-negative decimal and a unit.
//!
//! Units never mix implicitly: kilograms and tonnes convert only through [`Quantity::to_unit`],
//! and nothing else converts at all (a bottle has no fixed volume).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::{DecimalText, parse_decimal, shorten};

/// Why a quantity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("{input:?} is not a unit: expected one of piece, kg, t, L, bottle, seat")]
    UnknownUnit { input: String },

    #[error(
        "{input:?} is not a decimal quantity: expected digits with an optional decimal point, such as \"12.5\""
    )]
    InvalidValue { input: String },

    #[error("a quantity cannot be negative, got {value} {unit}")]
    Negative { value: Decimal, unit: Unit },

    #[error("{value} {unit} is not a whole number, and {unit} quantities are counted")]
    Fractional { value: Decimal, unit: Unit },

    #[error("cannot combine {left} with {right}: quantities must be in the same unit")]
    UnitMismatch { left: Unit, right: Unit },

    #[error("cannot convert {from} to {to}: only kg and t convert into each other")]
    Incompatible { from: Unit, to: Unit },

    #[error("{value} {from} cannot be expressed exactly in {to}")]
    Inexact {
        value: Decimal,
        from: Unit,
        to: Unit,
    },

    #[error("{operation} in {unit} overflowed the range of a quantity")]
    Overflow { operation: &'static str, unit: Unit },
}

/// The unit of a quantity, written as in the API: "piece", "kg", "t", "L", "bottle", "seat".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Piece,
    Kilogram,
    Tonne,
    Litre,
    Bottle,
    /// A seat on a travel package departure.
    Seat,
}

impl Unit {
    pub const ALL: [Unit; 6] = [
        Unit::Piece,
        Unit::Kilogram,
        Unit::Tonne,
        Unit::Litre,
        Unit::Bottle,
        Unit::Seat,
    ];

    /// The written form: "piece", "kg", "t", "L", "bottle", "seat".
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Piece => "piece",
            Unit::Kilogram => "kg",
            Unit::Tonne => "t",
            Unit::Litre => "L",
            Unit::Bottle => "bottle",
            Unit::Seat => "seat",
        }
    }

    /// Units that count whole things, where 2.5 would be meaningless.
    pub fn is_countable(self) -> bool {
        matches!(self, Unit::Piece | Unit::Bottle | Unit::Seat)
    }
}

impl FromStr for Unit {
    type Err = QuantityError;

    /// Accepts exactly the written forms, so "KG" or "l" are refused rather than guessed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Unit::ALL
            .into_iter()
            .find(|unit| unit.symbol() == s)
            .ok_or_else(|| QuantityError::UnknownUnit { input: shorten(s) })
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A non-negative amount of a unit, such as 12.5 kg or 40 seats. Counted units hold whole numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quantity {
    /// Invariant: normalized (no trailing zeros, no negative zero), not negative.
    value: Decimal,
    unit: Unit,
}

/// Kilograms in a tonne, as a power of ten.
const KG_PER_TONNE_EXP: u32 = 3;

impl Quantity {
    /// Refuses a negative value, and a fraction of a counted unit.
    pub fn new(value: Decimal, unit: Unit) -> Result<Quantity, QuantityError> {
        let value = value.normalize();
        if value.is_sign_negative() {
            return Err(QuantityError::Negative { value, unit });
        }
        if unit.is_countable() && value.scale() > 0 {
            return Err(QuantityError::Fractional { value, unit });
        }
        Ok(Quantity { value, unit })
    }

    /// Parses a value written as text, such as "12.5".
    pub fn parse(value: &str, unit: Unit) -> Result<Quantity, QuantityError> {
        let decimal = parse_decimal(value).ok_or_else(|| QuantityError::InvalidValue {
            input: shorten(value),
        })?;
        Quantity::new(decimal, unit)
    }

    pub fn zero(unit: Unit) -> Quantity {
        Quantity {
            value: Decimal::ZERO,
            unit,
        }
    }

    pub fn value(&self) -> Decimal {
        self.value
    }

    pub fn unit(&self) -> Unit {
        self.unit
    }

    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }

    fn same_unit(&self, other: &Quantity) -> Result<(), QuantityError> {
        if self.unit == other.unit {
            Ok(())
        } else {
            Err(QuantityError::UnitMismatch {
                left: self.unit,
                right: other.unit,
            })
        }
    }

    fn overflow(&self, operation: &'static str) -> QuantityError {
        QuantityError::Overflow {
            operation,
            unit: self.unit,
        }
    }

    /// `self + other`, both in the same unit.
    pub fn checked_add(self, other: Quantity) -> Result<Quantity, QuantityError> {
        self.same_unit(&other)?;
        let sum = self
            .value
            .checked_add(other.value)
            .ok_or_else(|| self.overflow("addition"))?;
        Quantity::new(sum, self.unit)
    }

    /// `self - other`, both in the same unit; refused when `other` is larger.
    pub fn checked_sub(self, other: Quantity) -> Result<Quantity, QuantityError> {
        self.same_unit(&other)?;
        let difference = self
            .value
            .checked_sub(other.value)
            .ok_or_else(|| self.overflow("subtraction"))?;
        Quantity::new(difference, self.unit)
    }

    /// `self × factor` (e.g. per-unit weight × count); refused when negative or, for counted
    /// units, fractional.
    pub fn checked_mul(self, factor: Decimal) -> Result<Quantity, QuantityError> {
        let product = self
            .value
            .checked_mul(factor)
            .ok_or_else(|| self.overflow("multiplication"))?;
        Quantity::new(product, self.unit)
    }

    /// Compares two quantities of the same unit; convert first to compare kg with t.
    pub fn try_cmp(&self, other: &Quantity) -> Result<Ordering, QuantityError> {
        self.same_unit(other)?;
        Ok(self.value.cmp(&other.value))
    }

    /// Converts exactly between kg and t (1 t = 1000 kg); any other pair is
    /// [`QuantityError::Incompatible`]. Converting to the same unit returns the quantity as is.
    pub fn to_unit(&self, to: Unit) -> Result<Quantity, QuantityError> {
        let inexact = || QuantityError::Inexact {
            value: self.value,
            from: self.unit,
            to,
        };
        let (mantissa, scale) = (self.value.mantissa(), self.value.scale());
        let value = match (self.unit, to) {
            (from, to) if from == to => return Ok(*self),
            // Dividing by 1000 moves the decimal point: exact while the scale stays within 28.
            (Unit::Kilogram, Unit::Tonne) => {
                Decimal::try_from_i128_with_scale(mantissa, scale + KG_PER_TONNE_EXP)
                    .map_err(|_| inexact())?
            }
            (Unit::Tonne, Unit::Kilogram) => match scale.checked_sub(KG_PER_TONNE_EXP) {
                Some(scale) => {
                    Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| inexact())?
                }
                None => 10_i128
                    .checked_pow(KG_PER_TONNE_EXP - scale)
                    .and_then(|factor| mantissa.checked_mul(factor))
                    .and_then(|kg| Decimal::try_from_i128_with_scale(kg, 0).ok())
                    .ok_or_else(|| self.overflow("conversion"))?,
            },
            (from, to) => return Err(QuantityError::Incompatible { from, to }),
        };
        Quantity::new(value, to)
    }
}

/// "12.5 kg".
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({self})")
    }
}

/// `{"value": "12.5", "unit": "kg"}`, the value always a string so that no float is involved.
impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire {
            value: String,
            unit: Unit,
        }
        Wire {
            value: self.value.to_string(),
            unit: self.unit,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Quantity", deny_unknown_fields)]
        struct Wire {
            value: DecimalText,
            unit: Unit,
        }
        let wire = Wire::deserialize(deserializer)?;
        Quantity::parse(&wire.value.0, wire.unit).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(value: &str, unit: Unit) -> Quantity {
        Quantity::parse(value, unit).unwrap()
    }

    #[test]
    fn units_parse_and_print_their_symbols() {
        for (text, unit) in [
            ("piece", Unit::Piece),
            ("kg", Unit::Kilogram),
            ("t", Unit::Tonne),
            ("L", Unit::Litre),
            ("bottle", Unit::Bottle),
            ("seat", Unit::Seat),
        ] {
            assert_eq!(text.parse::<Unit>(), Ok(unit));
            assert_eq!(unit.to_string(), text);
            assert_eq!(serde_json::to_string(&unit).unwrap(), format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<Unit>(&format!("\"{text}\"")).unwrap(),
                unit
            );
        }
    }

    #[test]
    fn unknown_units_are_refused() {
        for bad in ["", "KG", "l", "kgs", "tonne", "pieces", " kg"] {
            assert!(
                matches!(bad.parse::<Unit>(), Err(QuantityError::UnknownUnit { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            "lb".parse::<Unit>().unwrap_err().to_string(),
            "\"lb\" is not a unit: expected one of piece, kg, t, L, bottle, seat"
        );
        assert!(
            serde_json::from_str::<Unit>("\"lb\"")
                .unwrap_err()
                .to_string()
                .contains("not a unit")
        );
    }

    #[test]
    fn construction_normalizes_and_refuses_negatives() {
        assert_eq!(q("12.50", Unit::Kilogram).value().to_string(), "12.5");
        assert_eq!(q("-0", Unit::Kilogram), Quantity::zero(Unit::Kilogram));
        assert_eq!(q("-0.0", Unit::Kilogram).to_string(), "0 kg");
        let err = Quantity::parse("-1.5", Unit::Litre).unwrap_err();
        assert_eq!(err.to_string(), "a quantity cannot be negative, got -1.5 L");
        assert!(matches!(
            Quantity::parse("1e3", Unit::Litre),
            Err(QuantityError::InvalidValue { .. })
        ));
    }

    #[test]
    fn counted_units_hold_whole_numbers() {
        assert_eq!(q("40.00", Unit::Seat).to_string(), "40 seat");
        let err = Quantity::parse("2.5", Unit::Bottle).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2.5 bottle is not a whole number, and bottle quantities are counted"
        );
        assert!(q("3", Unit::Piece).checked_mul(Decimal::new(5, 1)).is_err());
        assert!(Quantity::parse("2.5", Unit::Kilogram).is_ok());
    }

    #[test]
    fn arithmetic_within_one_unit() {
        let a = q("12.5", Unit::Kilogram);
        let b = q("0.75", Unit::Kilogram);
        assert_eq!(a.checked_add(b), Ok(q("13.25", Unit::Kilogram)));
        assert_eq!(a.checked_sub(b), Ok(q("11.75", Unit::Kilogram)));
        assert_eq!(a.checked_sub(a), Ok(Quantity::zero(Unit::Kilogram)));
        assert!(matches!(
            b.checked_sub(a),
            Err(QuantityError::Negative { .. })
        ));
        assert_eq!(a.checked_mul(Decimal::TWO), Ok(q("25", Unit::Kilogram)));
        assert!(a.checked_mul(Decimal::NEGATIVE_ONE).is_err());
        assert_eq!(a.try_cmp(&b), Ok(Ordering::Greater));
        assert!(
            Quantity::new(Decimal::MAX, Unit::Kilogram)
                .unwrap()
                .checked_add(a)
                .is_err()
        );
    }

    #[test]
    fn mixing_units_is_refused() {
        let kg = q("1", Unit::Kilogram);
        let t = q("1", Unit::Tonne);
        let err = kg.checked_add(t).unwrap_err();
        assert_eq!(
            err,
            QuantityError::UnitMismatch {
                left: Unit::Kilogram,
                right: Unit::Tonne
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot combine kg with t: quantities must be in the same unit"
        );
        assert!(kg.checked_sub(t).is_err());
        assert!(kg.try_cmp(&t).is_err());
    }

    #[test]
    fn converts_between_kg_and_t_only() {
        assert_eq!(
            q("50000", Unit::Tonne).to_unit(Unit::Kilogram),
            Ok(q("50000000", Unit::Kilogram))
        );
        assert_eq!(
            q("1.2345", Unit::Tonne).to_unit(Unit::Kilogram),
            Ok(q("1234.5", Unit::Kilogram))
        );
        assert_eq!(
            q("1", Unit::Kilogram).to_unit(Unit::Tonne),
            Ok(q("0.001", Unit::Tonne))
        );
        assert_eq!(
            q("2500", Unit::Kilogram)
                .to_unit(Unit::Tonne)
                .unwrap()
                .to_string(),
            "2.5 t"
        );
        assert_eq!(
            q("7", Unit::Litre).to_unit(Unit::Litre),
            Ok(q("7", Unit::Litre))
        );
        let err = q("1", Unit::Kilogram).to_unit(Unit::Litre).unwrap_err();
        assert_eq!(
            err,
            QuantityError::Incompatible {
                from: Unit::Kilogram,
                to: Unit::Litre
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot convert kg to L: only kg and t convert into each other"
        );
        assert!(q("1", Unit::Bottle).to_unit(Unit::Litre).is_err());
        assert!(q("1", Unit::Piece).to_unit(Unit::Kilogram).is_err());
    }

    #[test]
    fn conversion_refuses_what_cannot_be_exact() {
        let tiny = Quantity::new(Decimal::new(1, 27), Unit::Kilogram).unwrap();
        assert!(matches!(
            tiny.to_unit(Unit::Tonne),
            Err(QuantityError::Inexact { .. })
        ));
        let huge = Quantity::new(Decimal::MAX, Unit::Tonne).unwrap();
        assert!(matches!(
            huge.to_unit(Unit::Kilogram),
            Err(QuantityError::Overflow { .. })
        ));
    }

    #[test]
    fn serde_uses_string_values() {
        let json = serde_json::to_string(&q("12.50", Unit::Kilogram)).unwrap();
        assert_eq!(json, r#"{"value":"12.5","unit":"kg"}"#);
        assert_eq!(
            serde_json::from_str::<Quantity>(&json).unwrap(),
            q("12.5", Unit::Kilogram)
        );
        for (input, needle) in [
            (
                r#"{"value":12.5,"unit":"kg"}"#,
                "decimal written as a string",
            ),
            (r#"{"value":"-1","unit":"kg"}"#, "cannot be negative"),
            (r#"{"value":"1.5","unit":"seat"}"#, "not a whole number"),
            (r#"{"value":"1","unit":"lb"}"#, "not a unit"),
            (r#"{"value":"1"}"#, "missing field `unit`"),
            (r#"{"value":"1","unit":"kg","x":0}"#, "unknown field `x`"),
        ] {
            let err = serde_json::from_str::<Quantity>(input)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn kg_to_t_and_back_is_exact(mantissa in 0_i64..=i64::MAX, scale in 0_u32..=25) {
                let kg = Quantity::new(Decimal::new(mantissa, scale), Unit::Kilogram).unwrap();
                let t = kg.to_unit(Unit::Tonne).unwrap();
                prop_assert_eq!(t.value() * Decimal::ONE_THOUSAND, kg.value());
                prop_assert_eq!(t.to_unit(Unit::Kilogram).unwrap(), kg);
            }

            #[test]
            fn t_to_kg_and_back_is_exact(mantissa in 0_i64..=i64::MAX, scale in 0_u32..=28) {
                let t = Quantity::new(Decimal::new(mantissa, scale), Unit::Tonne).unwrap();
                let kg = t.to_unit(Unit::Tonne).and_then(|t| t.to_unit(Unit::Kilogram)).unwrap();
                prop_assert_eq!(kg.to_unit(Unit::Tonne).unwrap(), t);
            }

            #[test]
            fn add_then_sub_roundtrips(a in 0_i64..=i64::MAX / 2, b in 0_i64..=i64::MAX / 2, scale in 0_u32..=6) {
                let a = Quantity::new(Decimal::new(a, scale), Unit::Litre).unwrap();
                let b = Quantity::new(Decimal::new(b, scale), Unit::Litre).unwrap();
                prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
            }
        }
    }
}
