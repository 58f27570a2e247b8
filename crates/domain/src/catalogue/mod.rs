//! The catalogue: what sellers offer — goods, bulk commodities, travel packages — described in
//! several languages, priced for consumers and for businesses, and checked before it is stored.

pub mod category;
pub mod csv;
mod draft;
pub mod image;
mod locale;
mod pricing;

pub use category::CategoryDraft;
pub use draft::{
    Departure, FieldError, ProductDraft, ProductKind, Variant, Wholesale, is_slug, validate,
};
pub use locale::{Locale, Localized};
pub use pricing::{PriceTier, tier_for};
