//! The index schema and the conversion of a [`ProductDocument`] into a tantivy document.
//!
//! | field | kind | use |
//! |---|---|---|
//! | `product_id`, `seller_id` | raw string, stored | upsert/delete key, seller filter, card |
//! | `title_{zh,en,es,fr}` | text (language analyser), stored | search, card |
//! | `desc_{zh,en,es,fr}` | text (language analyser) | search |
//! | `seller_name` | text (generic analyser), stored | search, card |
//! | `category_text` | text (generic analyser) | search |
//! | `category`, `origin`, `kind`, `channel` | facet (indexed, fast) | filters, facet counts |
//! | `destination` | raw string, multi-valued | "may be sold to" filter |
//! | `pavilion` | raw string, multi-valued | a pavilion's listing |
//! | `hs_prefix` | raw string, every prefix of 2+ digits | HS filter, digits in queries |
//! | `price` | u64, fast, stored | price filter and sort, card |
//! | `created_at` | i64 µs since epoch, fast | newest-first sort |
//! | `origin_code`, `kind_code` | stored only | card |
//!
//! Text fields keep term frequencies but no positions (no phrase queries are issued), which keeps
//! the index small and indexing fast.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};

use crate::analysis::{self, GENERIC};
use crate::document::{Checked, Locale, MAX_DESCRIPTION_BYTES, truncate};

/// Bumped whenever the schema or the analysers change; an index written with another version is
/// recreated empty on open (and reports no outbox position, so that the caller rebuilds it).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub product_id: Field,
    pub seller_id: Field,
    pub seller_name: Field,
    pub titles: [Field; 4],
    pub descriptions: [Field; 4],
    pub category_text: Field,
    pub category: Field,
    pub origin: Field,
    pub kind: Field,
    pub channel: Field,
    pub destination: Field,
    pub pavilion: Field,
    pub hs_prefix: Field,
    pub price: Field,
    pub created_at: Field,
    pub origin_code: Field,
    pub kind_code: Field,
}

/// Index of a locale in the per-locale field arrays.
pub(crate) fn slot(locale: Locale) -> usize {
    match locale {
        Locale::ZhCn => 0,
        Locale::En => 1,
        Locale::Es => 2,
        Locale::Fr => 3,
    }
}

pub(crate) const LOCALES: [Locale; 4] = [Locale::ZhCn, Locale::En, Locale::Es, Locale::Fr];

pub(crate) const PRICE: &str = "price";
pub(crate) const CREATED_AT: &str = "created_at";
pub(crate) const ORIGIN: &str = "origin";
pub(crate) const KIND: &str = "kind";
pub(crate) const CHANNEL: &str = "channel";
pub(crate) const CATEGORY: &str = "category";

fn text(tokenizer: &str, stored: bool) -> TextOptions {
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let product_id = b.add_text_field("product_id", STRING | STORED);
    let seller_id = b.add_text_field("seller_id", STRING | STORED);
    let seller_name = b.add_text_field("seller_name", text(GENERIC, true));
    let titles = LOCALES.map(|l| {
        b.add_text_field(
            &format!("title_{}", short(l)),
            text(analysis::index_analyzer(l), true),
        )
    });
    let descriptions = LOCALES.map(|l| {
        b.add_text_field(
            &format!("desc_{}", short(l)),
            text(analysis::index_analyzer(l), false),
        )
    });
    let category_text = b.add_text_field("category_text", text(GENERIC, false));
    let category = b.add_facet_field(CATEGORY, FacetOptions::default());
    let origin = b.add_facet_field(ORIGIN, FacetOptions::default());
    let kind = b.add_facet_field(KIND, FacetOptions::default());
    let channel = b.add_facet_field(CHANNEL, FacetOptions::default());
    let destination = b.add_text_field("destination", STRING);
    let pavilion = b.add_text_field("pavilion", STRING);
    let hs_prefix = b.add_text_field("hs_prefix", STRING);
    let price = b.add_u64_field(PRICE, FAST | STORED);
    let created_at = b.add_i64_field(CREATED_AT, FAST);
    let origin_code = b.add_text_field("origin_code", STORED);
    let kind_code = b.add_text_field("kind_code", STORED);
    let fields = Fields {
        product_id,
        seller_id,
        seller_name,
        titles,
        descriptions,
        category_text,
        category,
        origin,
        kind,
        channel,
        destination,
        pavilion,
        hs_prefix,
        price,
        created_at,
        origin_code,
        kind_code,
    };
    (b.build(), fields)
}

fn short(locale: Locale) -> &'static str {
    match locale {
        Locale::ZhCn => "zh",
        Locale::En => "en",
        Locale::Es => "es",
        Locale::Fr => "fr",
    }
}

/// Facet for a single value (`/KH`, `/goods`, `/retail`).
pub(crate) fn value_facet(value: &str) -> Facet {
    Facet::from_path([value])
}

impl Fields {
    pub(crate) fn build_document(&self, checked: &Checked<'_>) -> TantivyDocument {
        let d = checked.doc;
        let mut doc = TantivyDocument::default();
        doc.add_text(self.product_id, &d.product_id);
        doc.add_text(self.seller_id, &d.seller_id);
        doc.add_text(self.seller_name, &d.seller_name);
        for locale in LOCALES {
            if let Some(title) = d.titles.get(locale) {
                doc.add_text(self.titles[slot(locale)], title);
            }
            if let Some(description) = d.descriptions.get(locale) {
                doc.add_text(
                    self.descriptions[slot(locale)],
                    truncate(description, MAX_DESCRIPTION_BYTES),
                );
            }
        }
        if !d.category.is_empty() {
            doc.add_text(self.category_text, d.category.join(" "));
            doc.add_facet(self.category, Facet::from_path(&d.category));
        }
        for name in &d.category_names {
            doc.add_text(self.category_text, name);
        }
        for pavilion in &d.pavilions {
            doc.add_text(self.pavilion, pavilion);
        }
        doc.add_facet(self.origin, value_facet(&checked.origin));
        doc.add_text(self.origin_code, &checked.origin);
        doc.add_facet(self.kind, value_facet(d.kind.as_str()));
        doc.add_text(self.kind_code, d.kind.as_str());
        let mut channels = d.channels.clone();
        channels.sort();
        channels.dedup();
        for channel in channels {
            doc.add_facet(self.channel, value_facet(channel.as_str()));
        }
        for destination in &checked.destinations {
            doc.add_text(self.destination, destination);
        }
        for len in 2..=checked.hs_digits.len() {
            doc.add_text(self.hs_prefix, &checked.hs_digits[..len]);
        }
        if let Some(price) = d.price_minor {
            doc.add_u64(self.price, price);
        }
        doc.add_i64(self.created_at, unix_micros(d.created_at));
        doc
    }
}

pub(crate) fn unix_micros(at: time::OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}
