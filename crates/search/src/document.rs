//! What gets indexed: [`ProductDocument`] and its small vocabulary types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The locales the catalogue is written and searched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Locale {
    /// Simplified Chinese, analysed with jieba.
    ZhCn,
    /// English, stemmed and ASCII-folded.
    En,
    /// Spanish, stemmed and ASCII-folded.
    Es,
    /// French, stemmed and ASCII-folded.
    Fr,
}

impl Locale {
    /// All locales, in the order used as a title fallback after the requested one.
    pub const ALL: [Locale; 4] = [Locale::En, Locale::ZhCn, Locale::Es, Locale::Fr];

    /// The BCP 47 tag: `zh-CN`, `en`, `es` or `fr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
            Locale::Es => "es",
            Locale::Fr => "fr",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = Error;

    /// Parses a language tag by its primary subtag, case-insensitively: `zh`, `zh-CN`,
    /// `zh-Hans`, `en`, `en-GB`, `es-MX`, `fr-CA`… Anything else is
    /// [`Error::InvalidRequest`] naming `locale`.
    fn from_str(tag: &str) -> Result<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "zh" => Ok(Locale::ZhCn),
            "en" => Ok(Locale::En),
            "es" => Ok(Locale::Es),
            "fr" => Ok(Locale::Fr),
            _ => Err(Error::request(
                "locale",
                format!("{tag:?} is not one of zh-CN, en, es, fr"),
            )),
        }
    }
}

impl TryFrom<String> for Locale {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        value.parse()
    }
}

impl From<Locale> for String {
    fn from(locale: Locale) -> Self {
        locale.as_str().to_owned()
    }
}

/// A text in up to four locales; any subset may be present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// Simplified Chinese.
    #[serde(rename = "zh-CN", default, skip_serializing_if = "Option::is_none")]
    pub zh_cn: Option<String>,
    /// English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
    /// Spanish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub es: Option<String>,
    /// French.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fr: Option<String>,
}

impl Localized {
    /// The text in `locale`, if present and not blank.
    pub fn get(&self, locale: Locale) -> Option<&str> {
        let text = match locale {
            Locale::ZhCn => &self.zh_cn,
            Locale::En => &self.en,
            Locale::Es => &self.es,
            Locale::Fr => &self.fr,
        };
        text.as_deref().filter(|t| !t.trim().is_empty())
    }

    /// Sets the text in `locale`.
    pub fn set(&mut self, locale: Locale, text: impl Into<String>) {
        let slot = match locale {
            Locale::ZhCn => &mut self.zh_cn,
            Locale::En => &mut self.en,
            Locale::Es => &mut self.es,
            Locale::Fr => &mut self.fr,
        };
        *slot = Some(text.into());
    }

    /// Builder form of [`Localized::set`].
    pub fn with(mut self, locale: Locale, text: impl Into<String>) -> Self {
        self.set(locale, text);
        self
    }

    /// True when no locale has a non-blank text.
    pub fn is_empty(&self) -> bool {
        Locale::ALL.iter().all(|l| self.get(*l).is_none())
    }
}

/// What kind of product a document describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Retail and/or wholesale goods.
    Goods,
    /// A bulk commodity sold by the tonne under contracts.
    BulkCommodity,
    /// A travel package with dated departures.
    TravelPackage,
}

impl ProductKind {
    /// All kinds.
    pub const ALL: [ProductKind; 3] = [
        ProductKind::Goods,
        ProductKind::BulkCommodity,
        ProductKind::TravelPackage,
    ];

    /// `goods`, `bulk_commodity` or `travel_package`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Goods => "goods",
            ProductKind::BulkCommodity => "bulk_commodity",
            ProductKind::TravelPackage => "travel_package",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        ProductKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for ProductKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sales channel a product is offered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Business buyers: MOQ, price tiers, RFQs, contracts.
    Wholesale,
    /// Consumers, cross-border retail.
    Retail,
    /// Travel packages.
    Travel,
}

impl Channel {
    /// All channels.
    pub const ALL: [Channel; 3] = [Channel::Wholesale, Channel::Retail, Channel::Travel];

    /// `wholesale`, `retail` or `travel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Wholesale => "wholesale",
            Channel::Retail => "retail",
            Channel::Travel => "travel",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One product as the search index sees it: the store builds it from a product row, its seller,
/// its category and the market-access rules that allow it.
///
/// Only what a result card needs is stored in the index (id, titles, seller, origin, kind, price);
/// descriptions, categories, destinations and the HS code are indexed but not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDocument {
    /// Product id (a UUID in text form); the upsert/delete key.
    pub product_id: String,
    /// Seller id (a UUID in text form).
    pub seller_id: String,
    /// Seller's display name; searched, stored for the card.
    pub seller_name: String,
    /// Goods, bulk commodity or travel package.
    pub kind: ProductKind,
    /// Titles per locale; at least one is required.
    pub titles: Localized,
    /// Descriptions per locale; indexed, not stored. Each is indexed up to
    /// [`MAX_DESCRIPTION_BYTES`].
    pub descriptions: Localized,
    /// Category path from the root, e.g. `["fresh-fruit", "longan"]`; may be empty.
    pub category: Vec<String>,
    /// The names of the category and its ancestors in every language, searched as text.
    pub category_names: Vec<String>,
    /// The pavilions (ids) that show this product: those of its channels where its seller is an
    /// approved exporter.
    pub pavilions: Vec<String>,
    /// Origin country, ISO 3166-1 alpha-2 (case-insensitive on input).
    pub origin: String,
    /// Destination countries that market access currently allows (alpha-2).
    pub destinations: Vec<String>,
    /// Channels the product is offered on.
    pub channels: Vec<Channel>,
    /// Price for sorting and filtering, in minor units of one reference currency (e.g. USD
    /// cents), when the product has one.
    pub price_minor: Option<u64>,
    /// HS code, 6 to 10 digits (dots and spaces are ignored); empty when not applicable.
    pub hs_code: String,
    /// Creation time, for "newest first".
    pub created_at: OffsetDateTime,
}

/// Descriptions longer than this (in bytes) are indexed only up to it.
pub const MAX_DESCRIPTION_BYTES: usize = 20_000;
/// Longest accepted title, in characters.
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Deepest accepted category path.
pub const MAX_CATEGORY_DEPTH: usize = 8;

/// Checks an ISO 3166-1 alpha-2 code and returns it upper-cased.
pub(crate) fn country_code(code: &str) -> Option<String> {
    let code = code.trim();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// Checks one category path segment.
pub(crate) fn category_segment_ok(segment: &str) -> bool {
    !segment.trim().is_empty()
        && segment.chars().count() <= 200
        && !segment.chars().any(char::is_control)
}

/// A validated id: non-empty, at most 64 characters, no whitespace or control characters.
pub(crate) fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && if id.is_ascii() {
            id.bytes().all(|b| b.is_ascii_graphic())
        } else {
            !id.chars().any(|c| c.is_whitespace() || c.is_control())
        }
}

/// Whether `text` has more than `max` characters (counted only when it has more bytes).
fn longer_than(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().count() > max
}

/// Truncates `text` to at most `max` bytes on a char boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A document that passed validation, with normalised codes.
pub(crate) struct Checked<'a> {
    pub doc: &'a ProductDocument,
    pub origin: String,
    pub destinations: Vec<String>,
    pub hs_digits: String,
}

impl ProductDocument {
    /// Checks the document; the error names the offending field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }

    pub(crate) fn check(&self) -> Result<Checked<'_>> {
        let bad = |field: &'static str, reason: String| Error::InvalidDocument {
            product_id: self.product_id.clone(),
            field,
            reason,
        };
        if !id_ok(&self.product_id) {
            return Err(bad(
                "product_id",
                "must be 1 to 64 characters without spaces".into(),
            ));
        }
        if !id_ok(&self.seller_id) {
            return Err(bad(
                "seller_id",
                "must be 1 to 64 characters without spaces".into(),
            ));
        }
        if longer_than(&self.seller_name, 300) {
            return Err(bad("seller_name", "is longer than 300 characters".into()));
        }
        if self.titles.is_empty() {
            return Err(bad("titles", "needs a title in at least one locale".into()));
        }
        for locale in Locale::ALL {
            if let Some(title) = self.titles.get(locale)
                && longer_than(title, MAX_TITLE_CHARS)
            {
                return Err(bad(
                    "titles",
                    format!("{locale} title is longer than {MAX_TITLE_CHARS} characters"),
                ));
            }
        }
        if self.category.len() > MAX_CATEGORY_DEPTH {
            return Err(bad(
                "category",
                format!("is deeper than {MAX_CATEGORY_DEPTH} levels"),
            ));
        }
        if let Some(segment) = self.category.iter().find(|s| !category_segment_ok(s)) {
            return Err(bad(
                "category",
                format!("segment {segment:?} is blank, too long or has control characters"),
            ));
        }
        if self.category_names.iter().map(|n| n.len()).sum::<usize>() > 4_000 {
            return Err(bad("category_names", "are longer than 4,000 bytes".into()));
        }
        if self.pavilions.iter().any(|p| !id_ok(p)) {
            return Err(bad(
                "pavilions",
                "each must be 1 to 64 characters without spaces".into(),
            ));
        }
        let origin = country_code(&self.origin).ok_or_else(|| {
            bad(
                "origin",
                format!("{:?} is not an ISO 3166-1 alpha-2 code", self.origin),
            )
        })?;
        let mut destinations = Vec::with_capacity(self.destinations.len());
        for code in &self.destinations {
            let code = country_code(code).ok_or_else(|| {
                bad(
                    "destinations",
                    format!("{code:?} is not an ISO 3166-1 alpha-2 code"),
                )
            })?;
            if !destinations.contains(&code) {
                destinations.push(code);
            }
        }
        let hs_digits: String = self
            .hs_code
            .chars()
            .filter(|c| !matches!(c, '.' | ' '))
            .collect();
        let hs_ok = hs_digits.is_empty()
            || (hs_digits.bytes().all(|b| b.is_ascii_digit())
                && (6..=10).contains(&hs_digits.len()));
        if !hs_ok {
            return Err(bad(
                "hs_code",
                format!("{:?} is not a 6 to 10 digit HS code", self.hs_code),
            ));
        }
        Ok(Checked {
            doc: self,
            origin,
            destinations,
            hs_digits,
        })
    }
}
