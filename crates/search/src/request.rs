//! [`SearchRequest`] in, [`SearchResults`] out.

use serde::{Deserialize, Serialize};

use crate::document::{Channel, Locale, ProductKind, category_segment_ok, country_code, id_ok};
use crate::error::{Error, Result};

/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Deepest offset a page may start at (deep paging costs O(offset)); narrow the search instead.
pub const MAX_OFFSET: usize = 10_000;
/// Longest query text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Most words a query may have.
pub const MAX_QUERY_WORDS: usize = 32;
/// Most values in one facet's counts (highest counts first).
pub const MAX_FACET_VALUES: usize = 100;

/// A catalogue search.
///
/// Free text is matched word by word: every word must match in at least one of the titles and
/// descriptions (all four languages), the seller name, the category or (digits) the HS code.
/// Titles weigh more than category and seller name, which weigh more than descriptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchRequest {
    /// Free text in any of the catalogue's languages; empty (or only punctuation) browses.
    pub text: String,
    /// Locale the result titles are wanted in (falling back to en, zh-CN, es, fr).
    pub locale: Locale,
    /// Filters; all must hold.
    pub filters: Filters,
    /// Facet counts wanted.
    pub facets: Vec<FacetField>,
    /// Order of the hits.
    pub sort: Sort,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Hits to skip, at most [`MAX_OFFSET`]; continue with [`SearchResults::next_offset`].
    pub offset: usize,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            text: String::new(),
            locale: Locale::En,
            filters: Filters::default(),
            facets: Vec::new(),
            sort: Sort::Relevance,
            limit: 20,
            offset: 0,
        }
    }
}

impl SearchRequest {
    /// A first page of 20 hits for `text`.
    pub fn text(text: impl Into<String>) -> Self {
        SearchRequest {
            text: text.into(),
            ..SearchRequest::default()
        }
    }
}

/// Filters of a [`SearchRequest`]. A list filter matches any of its values; an empty list does
/// not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    /// Origin countries (alpha-2).
    pub origins: Vec<String>,
    /// Only products that market access allows into this country (alpha-2).
    pub destination: Option<String>,
    /// Channels.
    pub channels: Vec<Channel>,
    /// Kinds.
    pub kinds: Vec<ProductKind>,
    /// Category path prefix, e.g. `["Fresh fruit"]` matches `["Fresh fruit", "Longan"]`.
    pub category: Vec<String>,
    /// One seller's products.
    pub seller_id: Option<String>,
    /// The products a pavilion shows (its id).
    pub pavilion: Option<String>,
    /// HS code prefix, 2 to 10 digits (e.g. `0810` or `081090`).
    pub hs_prefix: Option<String>,
    /// Lowest price, inclusive, in reference minor units. Products without a price never match
    /// a price filter.
    pub price_min: Option<u64>,
    /// Highest price, inclusive, in reference minor units.
    pub price_max: Option<u64>,
}

/// Order of the hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first; with no text, newest first.
    #[default]
    Relevance,
    /// Cheapest first; products without a price last.
    PriceAsc,
    /// Dearest first; products without a price last.
    PriceDesc,
    /// Most recently created first.
    Newest,
}

/// A facet whose counts can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacetField {
    /// Counts by origin country.
    Origin,
    /// Counts by the children of the category filter (top-level categories without one).
    Category,
    /// Counts by kind.
    Kind,
    /// Counts by channel.
    Channel,
}

/// One page of hits with the total and the facet counts asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Number of products matching the text and all filters.
    pub total: usize,
    /// The page.
    pub hits: Vec<SearchHit>,
    /// Offset of the next page, when there is one within [`MAX_OFFSET`].
    pub next_offset: Option<usize>,
    /// Facet counts (only those asked for are present).
    pub facets: Facets,
}

/// What a result card needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Product id.
    pub product_id: String,
    /// Relevance score, when the hits are ordered by relevance to a text.
    pub score: Option<f32>,
    /// Title in the requested locale, or the first available in en, zh-CN, es, fr.
    pub title: String,
    /// Locale of `title`.
    pub title_locale: Locale,
    /// Seller id.
    pub seller_id: String,
    /// Seller display name.
    pub seller_name: String,
    /// Origin country (alpha-2).
    pub origin: String,
    /// Kind.
    pub kind: ProductKind,
    /// Reference price in minor units, if any.
    pub price_minor: Option<u64>,
}

/// Facet counts, highest count first (ties by value). A facet's counts ignore that facet's own
/// filter (origin, kind and channel), so that a user interface can offer the other values next to
/// the selected ones; category counts are those of the children of the category filter, within
/// all filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    /// By origin country, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Vec<FacetCount>>,
    /// By category (children of the category filter), if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Vec<FacetCount>>,
    /// By kind, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Vec<FacetCount>>,
    /// By channel, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Vec<FacetCount>>,
}

/// One facet value and the number of matching products that have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    /// The value: a country code, a category name, a kind or a channel.
    pub value: String,
    /// Products with it.
    pub count: u64,
}

/// A request that passed validation, with normalised codes.
pub(crate) struct Checked {
    pub origins: Vec<String>,
    pub destination: Option<String>,
    pub hs_prefix: Option<String>,
}

impl SearchRequest {
    /// Checks the request; the error names the offending field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }

    pub(crate) fn check(&self) -> Result<Checked> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(Error::request(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, not {}", self.limit),
            ));
        }
        if self.offset > MAX_OFFSET {
            return Err(Error::request(
                "offset",
                format!("must be at most {MAX_OFFSET}, not {}", self.offset),
            ));
        }
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(Error::request(
                "text",
                format!("is longer than {MAX_TEXT_CHARS} characters"),
            ));
        }
        let f = &self.filters;
        let mut origins = Vec::with_capacity(f.origins.len());
        for code in &f.origins {
            origins.push(country_code(code).ok_or_else(|| {
                Error::request(
                    "filters.origins",
                    format!("{code:?} is not an ISO 3166-1 alpha-2 code"),
                )
            })?);
        }
        let destination = match &f.destination {
            None => None,
            Some(code) => Some(country_code(code).ok_or_else(|| {
                Error::request(
                    "filters.destination",
                    format!("{code:?} is not an ISO 3166-1 alpha-2 code"),
                )
            })?),
        };
        if let Some(segment) = f.category.iter().find(|s| !category_segment_ok(s)) {
            return Err(Error::request(
                "filters.category",
                format!("segment {segment:?} is blank, too long or has control characters"),
            ));
        }
        if let Some(pavilion) = &f.pavilion
            && !id_ok(pavilion)
        {
            return Err(Error::request(
                "filters.pavilion",
                "must be 1 to 64 characters without spaces",
            ));
        }
        if let Some(seller) = &f.seller_id
            && !id_ok(seller)
        {
            return Err(Error::request(
                "filters.seller_id",
                "must be 1 to 64 characters without spaces",
            ));
        }
        let hs_prefix = match &f.hs_prefix {
            None => None,
            Some(prefix) => {
                let digits: String = prefix.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
                if !(2..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(Error::request(
                        "filters.hs_prefix",
                        format!("{prefix:?} is not 2 to 10 digits"),
                    ));
                }
                Some(digits)
            }
        };
        if let (Some(min), Some(max)) = (f.price_min, f.price_max)
            && min > max
        {
            return Err(Error::request(
                "filters.price_min",
                format!("{min} is greater than filters.price_max {max}"),
            ));
        }
        Ok(Checked {
            origins,
            destination,
            hs_prefix,
        })
    }
}
