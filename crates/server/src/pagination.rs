//! Cursor pagination: `?limit=&cursor=`, answered with `{items, next_cursor}`.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::ApiError;

/// Most items one page may hold.
pub const MAX_LIMIT: u32 = 100;

/// The page size asked for by `?limit=`: 1 to 100, 50 when absent.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}, not {n}"),
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<Uuid>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only says more exist.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: u32,
        id: impl Fn(&R) -> Uuid,
        view: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(&id) } else { None };
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}
