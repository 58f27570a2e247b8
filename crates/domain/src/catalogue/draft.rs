//! A product as a seller describes it, and the rules it must meet before it is stored. All
//! problems are reported at once, each with the path of the offending field.

use super::locale::{Locale, Localized};
use super::pricing::PriceTier;
use crate::{Country, HsCode, Money, Unit};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Retail and/or wholesale goods.
    Goods,
    /// A commodity sold in bulk to businesses (by the kilogram or tonne).
    BulkCommodity,
    /// A tour with dated departures sold by the seat.
    TravelPackage,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Goods => "goods",
            ProductKind::BulkCommodity => "bulk_commodity",
            ProductKind::TravelPackage => "travel_package",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ProductKind::Goods,
            ProductKind::BulkCommodity,
            ProductKind::TravelPackage,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Wholesale terms: the minimum order quantity and the price breaks (the first at the MOQ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wholesale {
    #[serde(with = "rust_decimal::serde::str")]
    pub moq: Decimal,
    pub tiers: Vec<PriceTier>,
}

/// A dated departure of a travel package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Departure {
    pub date: Date,
    pub seats: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDraft {
    pub kind: ProductKind,
    /// The language the seller wrote in; the others are translations.
    pub original_locale: Locale,
    pub titles: Localized,
    #[serde(default)]
    pub descriptions: Localized,
    pub hs: HsCode,
    pub origin: Country,
    pub unit: Unit,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub weight_kg_per_unit: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub volume_l_per_unit: Option<Decimal>,
    #[serde(default)]
    pub cold_chain: bool,
    pub shelf_life_days: Option<u32>,
    /// Price to consumers, per unit.
    pub retail_price: Option<Money>,
    pub wholesale: Option<Wholesale>,
    /// Units in stock, for retail goods.
    pub stock: Option<u32>,
    #[serde(default)]
    pub departures: Vec<Departure>,
}

/// One problem with a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn err(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn check_texts(errors: &mut Vec<FieldError>, name: &str, texts: &Localized, max: usize) {
    for (locale, text) in texts {
        let len = text.trim().chars().count();
        if len == 0 {
            err(errors, format!("{name}.{locale}"), "must not be empty");
        } else if len > max {
            err(
                errors,
                format!("{name}.{locale}"),
                format!("must be at most {max} characters (got {len})"),
            );
        }
    }
}

fn check_positive(errors: &mut Vec<FieldError>, field: &str, m: &Money) {
    if !m.is_positive() {
        err(errors, field, format!("must be more than zero, not {m}"));
    }
}

fn check_wholesale(errors: &mut Vec<FieldError>, w: &Wholesale) {
    if w.moq <= Decimal::ZERO {
        err(
            errors,
            "wholesale.moq",
            "the minimum order quantity must be more than 0",
        );
    }
    let Some(first) = w.tiers.first() else {
        err(
            errors,
            "wholesale.tiers",
            "give at least one price tier, starting at the minimum order quantity",
        );
        return;
    };
    if first.min_quantity != w.moq {
        err(
            errors,
            "wholesale.tiers[0].min_quantity",
            format!("the first tier starts at the MOQ ({})", w.moq),
        );
    }
    for (i, pair) in w.tiers.windows(2).enumerate() {
        if pair[1].min_quantity <= pair[0].min_quantity {
            err(
                errors,
                format!("wholesale.tiers[{}].min_quantity", i + 1),
                "price tiers must be in increasing order of quantity",
            );
        }
        if pair[1].unit_price.currency() != first.unit_price.currency() {
            err(
                errors,
                format!("wholesale.tiers[{}].unit_price", i + 1),
                "all tiers share one currency",
            );
        }
    }
    for (i, t) in w.tiers.iter().enumerate() {
        check_positive(
            errors,
            &format!("wholesale.tiers[{i}].unit_price"),
            &t.unit_price,
        );
    }
}

/// Checks a draft against the catalogue's rules on `today` (departures must be in the future).
pub fn validate(d: &ProductDraft, today: Date) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !d.titles.contains_key(&d.original_locale) {
        err(
            &mut errors,
            format!("titles.{}", d.original_locale),
            "the original language needs a title",
        );
    }
    check_texts(&mut errors, "titles", &d.titles, MAX_TITLE_CHARS);
    check_texts(
        &mut errors,
        "descriptions",
        &d.descriptions,
        MAX_DESCRIPTION_CHARS,
    );
    for (field, value) in [
        ("weight_kg_per_unit", d.weight_kg_per_unit),
        ("volume_l_per_unit", d.volume_l_per_unit),
    ] {
        if value.is_some_and(|v| v <= Decimal::ZERO) {
            err(&mut errors, field, "must be more than 0");
        }
    }
    if d.shelf_life_days == Some(0) {
        err(
            &mut errors,
            "shelf_life_days",
            "must be at least 1 day (omit it for non-perishables)",
        );
    }
    if let Some(price) = &d.retail_price {
        check_positive(&mut errors, "retail_price", price);
    }
    if let Some(w) = &d.wholesale {
        check_wholesale(&mut errors, w);
    }
    match d.kind {
        ProductKind::Goods => {
            if d.retail_price.is_none() && d.wholesale.is_none() {
                err(
                    &mut errors,
                    "retail_price",
                    "goods are sold retail, wholesale or both: give a price",
                );
            }
            if d.retail_price.is_some() && d.stock.is_none() {
                err(
                    &mut errors,
                    "stock",
                    "a product sold retail needs its stock",
                );
            }
            if d.unit == Unit::Seat {
                err(&mut errors, "unit", "goods are not sold by the seat");
            }
            if !d.departures.is_empty() {
                err(
                    &mut errors,
                    "departures",
                    "only travel packages have departures",
                );
            }
        }
        ProductKind::BulkCommodity => {
            if !matches!(d.unit, Unit::Kilogram | Unit::Tonne) {
                err(
                    &mut errors,
                    "unit",
                    "bulk commodities are sold by the kg or the t",
                );
            }
            if d.wholesale.is_none() {
                err(
                    &mut errors,
                    "wholesale",
                    "bulk commodities are sold wholesale: give the MOQ and price tiers",
                );
            }
            if d.retail_price.is_some() {
                err(
                    &mut errors,
                    "retail_price",
                    "bulk commodities are not sold retail",
                );
            }
        }
        ProductKind::TravelPackage => {
            if d.unit != Unit::Seat {
                err(&mut errors, "unit", "travel packages are sold by the seat");
            }
            if d.retail_price.is_none() {
                err(
                    &mut errors,
                    "retail_price",
                    "a travel package needs a price per seat",
                );
            }
            if d.departures.is_empty() {
                err(
                    &mut errors,
                    "departures",
                    "a travel package needs at least one departure",
                );
            }
            if d.stock.is_some() {
                err(
                    &mut errors,
                    "stock",
                    "travel packages sell seats per departure, not stock",
                );
            }
            for (i, dep) in d.departures.iter().enumerate() {
                if dep.date <= today {
                    err(
                        &mut errors,
                        format!("departures[{i}].date"),
                        format!("{} is not in the future", dep.date),
                    );
                }
                if dep.seats == 0 {
                    err(
                        &mut errors,
                        format!("departures[{i}].seats"),
                        "a departure has at least one seat",
                    );
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;
    use time::macros::date;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    fn longan() -> ProductDraft {
        ProductDraft {
            kind: ProductKind::Goods,
            original_locale: Locale::En,
            titles: Localized::from([
                (Locale::En, "Fresh Pailin longan, 5 kg box".into()),
                (Locale::ZhCn, "柬埔寨拜林龙眼 5公斤装".into()),
            ]),
            descriptions: Localized::new(),
            hs: "0810.90.30".parse().unwrap(),
            origin: "KH".parse().unwrap(),
            unit: Unit::Piece,
            weight_kg_per_unit: Some(Decimal::from(5)),
            volume_l_per_unit: None,
            cold_chain: true,
            shelf_life_days: Some(21),
            retail_price: Some(usd("18.00")),
            wholesale: Some(Wholesale {
                moq: Decimal::from(100),
                tiers: vec![
                    PriceTier {
                        min_quantity: Decimal::from(100),
                        unit_price: usd("12.00"),
                    },
                    PriceTier {
                        min_quantity: Decimal::from(1000),
                        unit_price: usd("10.50"),
                    },
                ],
            }),
            stock: Some(500),
            departures: vec![],
        }
    }

    fn fields(r: Result<(), Vec<FieldError>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_well_formed_product_passes() {
        assert_eq!(validate(&longan(), date!(2026 - 11 - 23)), Ok(()));
    }

    #[test]
    fn every_problem_is_named() {
        let mut d = longan();
        d.titles.insert(Locale::Fr, "x".repeat(201));
        d.titles.remove(&Locale::En);
        d.stock = None;
        d.wholesale.as_mut().unwrap().moq = Decimal::ZERO;
        d.wholesale.as_mut().unwrap().tiers.swap(0, 1);
        assert_eq!(
            fields(validate(&d, date!(2026 - 11 - 23))),
            [
                "titles.en",
                "titles.fr",
                "wholesale.moq",
                "wholesale.tiers[0].min_quantity",
                "wholesale.tiers[1].min_quantity",
                "stock"
            ]
        );
    }

    #[test]
    fn travel_packages_need_future_departures_with_seats() {
        let tour = ProductDraft {
            kind: ProductKind::TravelPackage,
            unit: Unit::Seat,
            wholesale: None,
            stock: None,
            cold_chain: false,
            departures: vec![
                Departure {
                    date: date!(2026 - 11 - 20),
                    seats: 12,
                },
                Departure {
                    date: date!(2027 - 02 - 01),
                    seats: 0,
                },
            ],
            ..longan()
        };
        assert_eq!(
            fields(validate(&tour, date!(2026 - 11 - 23))),
            ["departures[0].date", "departures[1].seats"]
        );
    }

    #[test]
    fn bulk_commodities_are_wholesale_by_weight() {
        let chili = ProductDraft {
            kind: ProductKind::BulkCommodity,
            unit: Unit::Piece,
            ..longan()
        };
        assert_eq!(
            fields(validate(&chili, date!(2026 - 11 - 23))),
            ["unit", "retail_price"]
        );
    }
}
