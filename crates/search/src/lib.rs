//! Pavilion's catalogue search: a [tantivy] index of products in Chinese (jieba segmentation),
//! English, Spanish and French (Snowball stemming, ASCII folding), with filters, facet counts,
//! sorting and pagination.
//!
//! The crate knows nothing of the store or of HTTP: the store turns a product into a
//! [`ProductDocument`], the server turns a query string into a [`SearchRequest`].
//!
//! ```no_run
//! # fn demo(docs: Vec<pavilion_search::ProductDocument>) -> pavilion_search::Result<()> {
//! use pavilion_search::{FacetField, SearchIndex, SearchRequest};
//!
//! let index = SearchIndex::open_or_create("data/search")?;
//! index.upsert(&docs)?;
//! index.commit_at(42)?; // the outbox position these changes bring the index to
//! let results = index.search(&SearchRequest {
//!     facets: vec![FacetField::Origin],
//!     ..SearchRequest::text("龙眼")
//! })?;
//! # Ok(()) }
//! ```
//!
//! # Keeping the index current, with several processes
//!
//! The index is derived data; the store is the truth. Every product change writes an event to
//! the store's outbox in the same transaction, so no change is lost in a crash. Each
//! `pavilion serve` process keeps **its own** index directory (tantivy allows one writer per
//! directory; a second opener gets [`Error::Locked`]) and applies the outbox to it:
//!
//! 1. On start, [`SearchIndex::last_applied`] gives the position of the last event the index
//!    has; `None` (new, or recreated after a schema change) means: read the outbox head, stream
//!    all products into [`SearchIndex::rebuild`] with that head as its position.
//! 2. Then, in a loop: read events after the position, [`SearchIndex::upsert`] the products they
//!    touch (read fresh from the store) or [`SearchIndex::delete`] them, and
//!    [`SearchIndex::commit_at`] the last event's position. The position is written in the same
//!    atomic commit as the changes, so after a crash the process resumes exactly where its index
//!    stopped; events applied twice are harmless because upsert and delete are idempotent.
//!
//! Processes sharing one PostgreSQL thus converge on the same index independently, each a
//! moment behind the database; `pavilion reindex` is the same rebuild, on demand. Because the
//! events are read (not consumed) by each process, the outbox is pruned only past the lowest
//! position any process still needs (or by age, after which a lagging process rebuilds).
//!
//! # Performance notes
//!
//! Filters, sorts and facets use fast (columnar) fields; text fields keep frequencies but no
//! positions; descriptions are indexed, not stored; the writer's memory and threads are set by
//! [`IndexOptions`]. Bulk loads should go through [`SearchIndex::rebuild`] or large
//! [`SearchIndex::upsert`] batches with one commit at the end; upserting an id the index has never
//! seen costs no delete, so loading new products is as fast as a rebuild.

mod analysis;
mod document;
mod error;
mod index;
mod request;
mod schema;

pub use document::{
    Channel, Locale, Localized, MAX_CATEGORY_DEPTH, MAX_DESCRIPTION_BYTES, MAX_TITLE_CHARS,
    ProductDocument, ProductKind,
};
pub use error::{Error, Result};
pub use index::{IndexOptions, Position, SearchIndex};
pub use request::{
    FacetCount, FacetField, Facets, Filters, MAX_FACET_VALUES, MAX_LIMIT, MAX_OFFSET,
    MAX_QUERY_WORDS, MAX_TEXT_CHARS, SearchHit, SearchRequest, SearchResults, Sort,
};
pub use schema::SCHEMA_VERSION;
