//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `pavilion-search`.
///
/// Bad input (a request or a document that does not make sense) is reported as
/// [`Error::InvalidRequest`] or [`Error::InvalidDocument`], naming the offending field, so that
/// the API can answer with a problem document rather than a 500.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A search request field is out of range or malformed.
    #[error("invalid search request: `{field}` {reason}")]
    InvalidRequest {
        /// Field path in the request, e.g. `limit` or `filters.price_min`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A product document cannot be indexed.
    #[error("product {product_id:?} cannot be indexed: `{field}` {reason}")]
    InvalidDocument {
        /// The document's product id (possibly empty when that is the problem).
        product_id: String,
        /// Field of [`crate::ProductDocument`], e.g. `origin`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An [`crate::IndexOptions`] value is out of range.
    #[error("invalid index option `{field}`: {reason}")]
    InvalidOption {
        /// Option name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Another writer (normally another process) holds this index directory.
    #[error(
        "the search index at {path} is locked by another writer; each process needs its own \
         index directory"
    )]
    Locked {
        /// The index directory.
        path: PathBuf,
    },
    /// The index directory could not be created, opened or cleared.
    #[error("search index directory {path}: {source}")]
    Io {
        /// The index directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The commit payload of an existing index cannot be read.
    #[error("search index commit payload is unreadable: {0}")]
    Payload(String),
    /// The document source given to [`crate::SearchIndex::try_rebuild`] failed; nothing changed.
    #[error("document source failed during rebuild: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An error inside tantivy.
    #[error("search engine: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

impl Error {
    /// The offending field for bad-input errors (request, document or option), if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidRequest { field, .. }
            | Error::InvalidDocument { field, .. }
            | Error::InvalidOption { field, .. } => Some(field),
            _ => None,
        }
    }

    /// True when the error is the caller's fault (bad request, document or option).
    pub fn is_bad_input(&self) -> bool {
        self.field().is_some()
    }

    pub(crate) fn request(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field,
            reason: reason.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
