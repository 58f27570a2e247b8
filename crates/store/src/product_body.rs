//! How a product's description is kept in `products.body`: its [`ProductDraft`] as JSON,
//! without what has columns of its own (stock, departures, category, the variants' stock) and
//! without empty fields, which a draft reads back as absent (`null`, `false`, `[]`, `{}`).
//!
//! Empty fields were a quarter of a typical body; a catalogue of a million products writes, and
//! its import checkpoints, that much less. Bodies written with every field still read.

use pavilion_domain::catalogue::{
    Locale, Localized, ProductDraft, ProductKind, Variant, Wholesale,
};
use pavilion_domain::{Country, HsCode, Money, Unit};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::{StoreError, StoreResult};

#[derive(Serialize)]
struct StoredDraft<'a> {
    kind: ProductKind,
    original_locale: Locale,
    titles: &'a Localized,
    #[serde(skip_serializing_if = "Localized::is_empty")]
    descriptions: &'a Localized,
    hs: &'a HsCode,
    origin: Country,
    unit: &'a Unit,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    weight_kg_per_unit: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    volume_l_per_unit: Option<Decimal>,
    #[serde(skip_serializing_if = "is_false")]
    cold_chain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    shelf_life_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retail_price: Option<&'a Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wholesale: Option<&'a Wholesale>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    variants: Vec<StoredVariant<'a>>,
}

#[derive(Serialize)]
struct StoredVariant<'a> {
    sku: &'a str,
    attributes: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retail_price: Option<&'a Money>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    weight_kg_per_unit: Option<Decimal>,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// The `products.body` of `draft`.
pub(crate) fn product_body(draft: &ProductDraft) -> StoreResult<String> {
    // Destructured without `..`: a field added to the draft must be placed here too.
    let ProductDraft {
        kind,
        original_locale,
        titles,
        descriptions,
        hs,
        category: _,
        origin,
        unit,
        weight_kg_per_unit,
        volume_l_per_unit,
        cold_chain,
        shelf_life_days,
        retail_price,
        wholesale,
        stock: _,
        departures: _,
        variants,
    } = draft;
    let stored = StoredDraft {
        kind: *kind,
        original_locale: *original_locale,
        titles,
        descriptions,
        hs,
        origin: *origin,
        unit,
        weight_kg_per_unit: *weight_kg_per_unit,
        volume_l_per_unit: *volume_l_per_unit,
        cold_chain: *cold_chain,
        shelf_life_days: *shelf_life_days,
        retail_price: retail_price.as_ref(),
        wholesale: wholesale.as_ref(),
        variants: variants.iter().map(stored_variant).collect(),
    };
    // Sized for a typical body, so that it is not grown several times on the way.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, &stored).map_err(|e| StoreError::corrupt("products", e))?;
    String::from_utf8(body).map_err(|e| StoreError::corrupt("products", e))
}

fn stored_variant(v: &Variant) -> StoredVariant<'_> {
    let Variant {
        sku,
        attributes,
        retail_price,
        stock: _,
        weight_kg_per_unit,
    } = v;
    StoredVariant {
        sku,
        attributes,
        retail_price: retail_price.as_ref(),
        weight_kg_per_unit: *weight_kg_per_unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(value: serde_json::Value) -> ProductDraft {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_body_reads_back_as_its_draft_without_what_has_columns() {
        let full = draft(json!({
            "kind": "goods", "original_locale": "en",
            "titles": {"en": "Coffee", "zh-CN": "咖啡"}, "descriptions": {"en": "Washed arabica"},
            "hs": "090111", "category": "coffee", "origin": "RW", "unit": "kg",
            "weight_kg_per_unit": "1.05", "volume_l_per_unit": "2.5", "cold_chain": true,
            "shelf_life_days": 365, "retail_price": {"amount": "14.00", "currency": "USD"},
            "wholesale": {"moq": "100", "tiers": [{"min_quantity": "100", "unit_price": {"amount": "9.00", "currency": "USD"}}]},
            "stock": 40, "departures": [{"date": "2031-01-01", "seats": 3}],
            "variants": [{"sku": "RW-1", "attributes": {"grade": "A"}, "retail_price": {"amount": "15.00", "currency": "USD"}, "stock": 7, "weight_kg_per_unit": "1.1"}]
        }));
        let read: ProductDraft = serde_json::from_str(&product_body(&full).unwrap()).unwrap();
        let mut expected = full.clone();
        expected.stock = None;
        expected.departures.clear();
        expected.category = None;
        expected.variants[0].stock = None;
        assert_eq!(read, expected);
    }

    #[test]
    fn empty_fields_are_left_out_and_read_back_empty() {
        let bare = draft(json!({
            "kind": "goods", "original_locale": "en", "titles": {"en": "Longan"},
            "hs": "081090", "origin": "KH", "unit": "kg", "stock": 5
        }));
        let body = product_body(&bare).unwrap();
        assert_eq!(
            body,
            r#"{"kind":"goods","original_locale":"en","titles":{"en":"Longan"},"hs":"081090","origin":"KH","unit":"kg"}"#
        );
        let read: ProductDraft = serde_json::from_str(&body).unwrap();
        assert_eq!(
            read,
            ProductDraft {
                stock: None,
                ..bare
            }
        );
    }

    #[test]
    fn bodies_written_with_every_field_still_read() {
        let old = r#"{"kind":"goods","original_locale":"en","titles":{"en":"Longan"},"descriptions":{},"hs":"081090","category":null,"origin":"KH","unit":"kg","weight_kg_per_unit":null,"volume_l_per_unit":null,"cold_chain":false,"shelf_life_days":null,"retail_price":null,"wholesale":null,"stock":null,"departures":[],"variants":[]}"#;
        let read: ProductDraft = serde_json::from_str(old).unwrap();
        assert_eq!(
            product_body(&read).unwrap(),
            r#"{"kind":"goods","original_locale":"en","titles":{"en":"Longan"},"hs":"081090","origin":"KH","unit":"kg"}"#
        );
    }
}
