//! A product as a seller describes it, and the rules it must meet before it is stored. All
//! problems are reported at once, each with the path of the offending field.

use super::locale::{Locale, Localized};
use super::pricing::PriceTier;
use crate::{Country, HsCode, Money, Unit};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::Date;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
pub const MAX_SKU_CHARS: usize = 64;
pub const MAX_VARIANTS: usize = 100;
pub const MAX_ATTRIBUTE_CHARS: usize = 64;

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

/// One way a product comes (a size, a grade, a pack), with its own SKU, stock and, where it
/// differs, its own price and weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub sku: String,
    /// What sets it apart, e.g. `{"size": "L", "grade": "A"}`.
    pub attributes: BTreeMap<String, String>,
    /// Replaces the product's retail price for this variant.
    pub retail_price: Option<Money>,
    /// Units in stock, for a variant sold retail.
    pub stock: Option<u32>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub weight_kg_per_unit: Option<Decimal>,
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
    /// The slug of the product's category in the category tree.
    #[serde(default)]
    pub category: Option<String>,
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
    /// Sizes, grades or packs; when present, stock is kept per variant.
    #[serde(default)]
    pub variants: Vec<Variant>,
}

impl ProductDraft {
    /// The variant with this SKU.
    pub fn variant(&self, sku: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.sku == sku)
    }
}

/// A slug: 1 to 64 of `a-z`, `0-9` and inner `-` (category and pavilion addresses).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_sku(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= MAX_SKU_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

fn check_variants(errors: &mut Vec<FieldError>, d: &ProductDraft) {
    if d.variants.is_empty() {
        return;
    }
    if d.variants.len() > MAX_VARIANTS {
        err(
            errors,
            "variants",
            format!("at most {MAX_VARIANTS} variants (got {})", d.variants.len()),
        );
    }
    if d.kind == ProductKind::TravelPackage {
        err(
            errors,
            "variants",
            "travel packages sell seats per departure, not variants",
        );
    }
    if d.stock.is_some() {
        err(
            errors,
            "stock",
            "a product with variants keeps its stock per variant",
        );
    }
    let sold_retail = d.retail_price.is_some();
    let mut skus = BTreeSet::new();
    let mut combos = BTreeSet::new();
    for (i, v) in d.variants.iter().enumerate() {
        let at = |f: &str| format!("variants[{i}].{f}");
        if !is_sku(&v.sku) {
            err(
                errors,
                at("sku"),
                format!("1 to {MAX_SKU_CHARS} of A-Z, a-z, 0-9, '-', '_', '.', '/'"),
            );
        } else if !skus.insert(v.sku.as_str()) {
            err(errors, at("sku"), format!("{:?} is used twice", v.sku));
        }
        if v.attributes.is_empty() {
            err(
                errors,
                at("attributes"),
                "say what sets the variant apart, e.g. size or grade",
            );
        }
        for (k, val) in &v.attributes {
            let bad = |t: &str| t.trim().is_empty() || t.chars().count() > MAX_ATTRIBUTE_CHARS;
            if bad(k) || bad(val) {
                err(
                    errors,
                    at(&format!("attributes.{k}")),
                    format!("names and values are 1 to {MAX_ATTRIBUTE_CHARS} characters"),
                );
            }
        }
        if !v.attributes.is_empty() && !combos.insert(&v.attributes) {
            err(
                errors,
                at("attributes"),
                "another variant has the same attributes",
            );
        }
        if let Some(price) = &v.retail_price {
            check_positive(errors, || at("retail_price"), price);
            match &d.retail_price {
                None => err(
                    errors,
                    at("retail_price"),
                    "the product is not sold retail: give the product a retail price first",
                ),
                Some(p) if p.currency() != price.currency() => err(
                    errors,
                    at("retail_price"),
                    format!("must be in {}, like the product's price", p.currency()),
                ),
                Some(_) => {}
            }
        }
        if sold_retail && v.stock.is_none() {
            err(errors, at("stock"), "a variant sold retail needs its stock");
        }
        if v.weight_kg_per_unit.is_some_and(|w| w <= Decimal::ZERO) {
            err(errors, at("weight_kg_per_unit"), "must be more than 0");
        }
    }
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
        let text = text.trim();
        // No more bytes than `max`, no more characters: most texts are not counted.
        let len = if text.len() <= max {
            text.len()
        } else {
            text.chars().count()
        };
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

/// `field` is named only when there is an error: the good rows of a large import pay nothing.
fn check_positive(errors: &mut Vec<FieldError>, field: impl FnOnce() -> String, m: &Money) {
    if !m.is_positive() {
        err(errors, field(), format!("must be more than zero, not {m}"));
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
            || format!("wholesale.tiers[{i}].unit_price"),
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
    if let Some(slug) = &d.category
        && !is_slug(slug)
    {
        err(
            &mut errors,
            "category",
            "a category slug: 1 to 64 of a-z, 0-9 and '-'",
        );
    }
    if let Some(price) = &d.retail_price {
        check_positive(&mut errors, || "retail_price".into(), price);
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
            if d.retail_price.is_some() && d.stock.is_none() && d.variants.is_empty() {
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
    check_variants(&mut errors, d);
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
            category: Some("fresh-fruit".into()),
            variants: vec![],
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

    fn variant(sku: &str, grade: &str, stock: Option<u32>) -> Variant {
        Variant {
            sku: sku.into(),
            attributes: BTreeMap::from([("grade".into(), grade.into())]),
            retail_price: None,
            stock,
            weight_kg_per_unit: None,
        }
    }

    #[test]
    fn variants_keep_their_own_stock_and_are_told_apart() {
        let mut d = longan();
        d.stock = None;
        d.variants = vec![
            variant("LG-A", "A", Some(10)),
            variant("LG-B", "B", Some(4)),
        ];
        d.variants[1].retail_price = Some(usd("15.00"));
        assert_eq!(validate(&d, date!(2026 - 11 - 23)), Ok(()));

        d.stock = Some(3);
        d.variants.push(variant("LG-A", "A", None));
        d.variants.push(variant("bad sku", "C", Some(1)));
        d.variants[1].retail_price = Some(Money::parse("15.00", Currency::EUR).unwrap());
        assert_eq!(
            fields(validate(&d, date!(2026 - 11 - 23))),
            [
                "stock",
                "variants[1].retail_price",
                "variants[2].sku",
                "variants[2].attributes",
                "variants[2].stock",
                "variants[3].sku"
            ]
        );
    }

    #[test]
    fn a_category_is_a_slug() {
        let mut d = longan();
        d.category = Some("Fresh Fruit".into());
        assert_eq!(fields(validate(&d, date!(2026 - 11 - 23))), ["category"]);
        assert!(is_slug("fresh-fruit") && is_slug("a1") && !is_slug("-a") && !is_slug(""));
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
