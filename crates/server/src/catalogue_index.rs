//! Keeps this process's search index in step with the catalogue.
//!
//! Every process has its own index (tantivy allows one writer per directory) and follows the
//! store's outbox: for each product named by a `product.changed` entry it reloads the product and
//! upserts (or deletes) its document, then commits with the outbox position, so a restarted
//! process resumes where it stopped. Applying is idempotent and reads the current state, so the
//! order of entries does not matter; each pass re-reads a window behind its position to catch
//! transactions that committed after later ones.

use pavilion_domain::catalogue::{Locale, ProductKind};
use pavilion_domain::market_access::decide;
use pavilion_search::{Channel, IndexOptions, Localized, ProductDocument, SearchIndex};
use pavilion_store::catalogue::Product;
use pavilion_store::{Store, StoreError};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

/// Entries read behind the index's position on every pass (see the module comment).
const LOOKBACK: i64 = 1000;
const PAGE: u32 = 1000;
pub const PRODUCT_CHANGED: &str = "product.changed";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] pavilion_search::Error),
    #[error("the indexing task stopped: {0}")]
    Join(String),
}

fn locale(l: Locale) -> pavilion_search::Locale {
    match l {
        Locale::ZhCn => pavilion_search::Locale::ZhCn,
        Locale::En => pavilion_search::Locale::En,
        Locale::Es => pavilion_search::Locale::Es,
        Locale::Fr => pavilion_search::Locale::Fr,
    }
}

fn localized(texts: &pavilion_domain::catalogue::Localized) -> Localized {
    let mut out = Localized::default();
    for (l, text) in texts {
        out.set(locale(*l), text.clone());
    }
    out
}

/// The product as the search index sees it. The price used for sorting and filtering is the
/// retail price when it is in US dollars (the index's reference currency), else none.
pub async fn document(store: &Store, product: &Product) -> Result<ProductDocument, StoreError> {
    let seller = store.organisation(product.seller_id).await?;
    let d = &product.draft;
    let today = time::OffsetDateTime::now_utc().date();
    let rules = store.access_rules(Some(d.origin), None).await?;
    let destinations: BTreeSet<_> = rules.iter().map(|r| r.destination).collect();
    let destinations = destinations
        .into_iter()
        .filter(|dest| decide(&rules, d.origin, *dest, &d.hs, today).is_allowed())
        .map(|c| c.code().to_owned())
        .collect();
    let mut channels = Vec::new();
    if d.retail_price.is_some() && d.kind == ProductKind::Goods {
        channels.push(Channel::Retail);
    }
    if d.wholesale.is_some() {
        channels.push(Channel::Wholesale);
    }
    if d.kind == ProductKind::TravelPackage {
        channels.push(Channel::Travel);
    }
    let price_minor = d
        .retail_price
        .filter(|p| p.currency() == pavilion_domain::Currency::USD)
        .and_then(|p| p.to_minor().ok())
        .and_then(|m| u64::try_from(m).ok());
    Ok(ProductDocument {
        product_id: product.id.to_string(),
        seller_id: product.seller_id.to_string(),
        seller_name: seller.name.to_string(),
        kind: match d.kind {
            ProductKind::Goods => pavilion_search::ProductKind::Goods,
            ProductKind::BulkCommodity => pavilion_search::ProductKind::BulkCommodity,
            ProductKind::TravelPackage => pavilion_search::ProductKind::TravelPackage,
        },
        titles: localized(&d.titles),
        descriptions: localized(&d.descriptions),
        category: Vec::new(),
        origin: d.origin.code().to_owned(),
        destinations,
        channels,
        price_minor,
        hs_code: d.hs.digits().to_owned(),
        created_at: product.created_at.datetime(),
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, pavilion_search::Error> + Send + 'static,
) -> Result<T, IndexError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| IndexError::Join(e.to_string()))?
        .map_err(Into::into)
}

/// This process's index and the outbox entries it has applied recently.
///
/// The index is opened on first need (a search, or a product to index): loading the Chinese
/// dictionary and the writer costs time and memory an instance without a catalogue never pays.
pub struct Indexer {
    dir: PathBuf,
    index: tokio::sync::OnceCell<Arc<SearchIndex>>,
    /// Sequence numbers applied within the look-back window, so a late-committed entry is
    /// noticed without re-applying the whole window on every pass.
    seen: std::sync::Mutex<BTreeSet<i64>>,
}

/// A server indexes a few products at a time: a small writer is plenty (the CLI's rebuild
/// uses the default, larger one).
fn server_options() -> IndexOptions {
    IndexOptions {
        writer_memory_bytes: 32 * 1024 * 1024,
        writer_threads: 1,
    }
}

impl Indexer {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            index: tokio::sync::OnceCell::new(),
            seen: std::sync::Mutex::default(),
        }
    }

    /// The index, opening it on first use.
    pub async fn index(&self) -> Result<Arc<SearchIndex>, IndexError> {
        self.index
            .get_or_try_init(|| async {
                let dir = self.dir.clone();
                blocking(move || {
                    SearchIndex::open_or_create_with(&dir, &server_options()).map(Arc::new)
                })
                .await
            })
            .await
            .cloned()
    }

    /// One pass of the indexing loop: nothing until the catalogue has a product; then build the
    /// index if it is new, else apply what the outbox says changed.
    pub async fn step(&self, store: &Store) -> Result<(), IndexError> {
        if self.index.get().is_none() && store.outbox_after(PRODUCT_CHANGED, 0, 1).await?.is_empty()
        {
            return Ok(());
        }
        let index = self.index().await?;
        if index.last_applied().is_none() {
            rebuild(store, &index).await?;
        } else {
            self.catch_up(store, &index).await?;
        }
        Ok(())
    }

    /// Applies the outbox entries the index has not seen; returns how many products it touched.
    pub async fn catch_up(
        &self,
        store: &Store,
        index: &Arc<SearchIndex>,
    ) -> Result<usize, IndexError> {
        let position = i64::try_from(index.last_applied().unwrap_or(0)).unwrap_or(i64::MAX);
        let floor = (position - LOOKBACK).max(0);
        let entries = store.outbox_after(PRODUCT_CHANGED, floor, PAGE).await?;
        let fresh: Vec<_> = {
            let seen = self
                .seen
                .lock()
                .map_err(|e| IndexError::Join(e.to_string()))?;
            entries
                .into_iter()
                .filter(|e| !seen.contains(&e.seq))
                .collect()
        };
        let Some(head) = fresh.iter().map(|e| e.seq).max() else {
            return Ok(0);
        };
        let ids: BTreeSet<&str> = fresh.iter().map(|e| e.subject_id.as_str()).collect();
        let (mut upserts, mut deletes) = (Vec::new(), Vec::new());
        for id in &ids {
            let Ok(uuid) = id.parse::<Uuid>() else {
                continue;
            };
            match store.product(uuid).await {
                Ok(p) if !p.archived => upserts.push(document(store, &p).await?),
                Ok(_) | Err(StoreError::NotFound { .. }) => deletes.push((*id).to_owned()),
                Err(e) => return Err(e.into()),
            }
        }
        let new_position = u64::try_from(head.max(position)).unwrap_or(0);
        let index = index.clone();
        blocking(move || {
            index.upsert(&upserts)?;
            index.delete(deletes)?;
            index.commit_at(new_position)
        })
        .await?;
        let mut seen = self
            .seen
            .lock()
            .map_err(|e| IndexError::Join(e.to_string()))?;
        seen.extend(fresh.iter().map(|e| e.seq));
        let keep_from = i64::try_from(new_position).unwrap_or(i64::MAX) - LOOKBACK;
        seen.retain(|seq| *seq > keep_from);
        Ok(ids.len())
    }
}

/// Rebuilds the index from the store's catalogue (for `pavilion reindex`, or a new index).
pub async fn rebuild(store: &Store, index: &Arc<SearchIndex>) -> Result<u64, IndexError> {
    // The rebuild reads the catalogue as it is now; entries up to the head are thereby applied.
    let head = u64::try_from(store.outbox_head().await?).unwrap_or(0);
    let mut docs = Vec::new();
    let mut after = None;
    loop {
        let ids = store.product_ids_after(after, PAGE).await?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        for id in ids {
            let product = store.product(id).await?;
            if !product.archived {
                docs.push(document(store, &product).await?);
            }
        }
        after = Some(last);
    }
    let index = index.clone();
    blocking(move || index.rebuild(docs, head)).await
}
