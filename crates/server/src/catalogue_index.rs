//! Keeps this process's search index in step with the catalogue.
//!
//! Every process has its own index (tantivy allows one writer per directory) and follows the
//! store's outbox:
//! - `product.changed` names one product: reload it and upsert (or delete) its document;
//! - `products.imported` names a bulk import's id range: stream the range and upsert it;
//! - `seller.listing_changed` names a seller whose pavilions changed: re-index their products.
//!
//! It then commits with the outbox position, so a restarted process resumes where it stopped.
//! Applying is idempotent and reads the current state, so the order of entries does not matter;
//! each pass re-reads a window behind its position to catch transactions that committed after
//! later ones.

use pavilion_domain::catalogue::{Locale, ProductKind};
use pavilion_domain::market_access::{AccessRule, decide};
use pavilion_domain::programmes::Channel as PavilionChannel;
use pavilion_domain::{Country, HsCode};
use pavilion_search::{
    Channel, IndexOptions, Localized, Position, ProductDocument, SearchIndex, SearchRequest,
    SearchResults,
};
use pavilion_store::catalogue::{IdBounds, PRODUCTS_IMPORTED, ProductToIndex};
use pavilion_store::catalogue_import::ImportObserver;
use pavilion_store::categories::CategoryTree;
use pavilion_store::events::SELLER_LISTING_CHANGED;
use pavilion_store::{Store, StoreError, StoreResult};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Entries read behind the index's position on every pass (see the module comment).
const LOOKBACK: i64 = 1000;
const PAGE: u32 = 1000;
/// Pages read from the store ahead of the one whose documents are being built and indexed.
const READ_AHEAD: usize = 4;
pub const PRODUCT_CHANGED: &str = "product.changed";
const KINDS: [&str; 3] = [PRODUCT_CHANGED, PRODUCTS_IMPORTED, SELLER_LISTING_CHANGED];

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

fn localized(texts: pavilion_domain::catalogue::Localized) -> Localized {
    let mut out = Localized::default();
    for (l, text) in texts {
        out.set(locale(l), text);
    }
    out
}

fn channels_of(product: &ProductToIndex) -> Vec<Channel> {
    let mut channels = Vec::new();
    if product.retail_price.is_some() && product.kind == ProductKind::Goods {
        channels.push(Channel::Retail);
    }
    if product.wholesale {
        channels.push(Channel::Wholesale);
    }
    if product.kind == ProductKind::TravelPackage {
        channels.push(Channel::Travel);
    }
    channels
}

fn search_channel(c: PavilionChannel) -> Channel {
    match c {
        PavilionChannel::Wholesale => Channel::Wholesale,
        PavilionChannel::Retail => Channel::Retail,
        PavilionChannel::Travel => Channel::Travel,
    }
}

/// A seller as its products' documents show it.
#[derive(Default)]
struct SellerListing {
    name: String,
    /// The pavilions (ids) where the seller is an approved exporter, and their channels.
    pavilions: Vec<(String, Channel)>,
}

/// A category's path from the root: its slugs, and the names of its categories in every
/// language.
struct CategoryPath {
    slugs: Vec<String>,
    names: Vec<String>,
}

/// What documents need beyond the product itself: sellers' names and pavilions, the category
/// tree, and the market-access rules of each origin. It lives for one pass (a catch-up or a
/// rebuild): sellers and rules are read once, when a product first needs them
/// ([`load_missing`](Self::load_missing)), and what is derived from them (the destinations
/// allowed for an origin and HS code, a category's path) is worked out once.
pub struct DocumentContext {
    sellers: HashMap<Uuid, SellerListing>,
    categories: CategoryTree,
    paths: HashMap<String, CategoryPath>,
    rules: HashMap<Country, Vec<AccessRule>>,
    destinations: HashMap<(Country, HsCode), Vec<String>>,
    today: time::Date,
}

impl DocumentContext {
    /// A context for one pass over the catalogue as `categories` describe it.
    pub fn new(categories: CategoryTree) -> Self {
        DocumentContext {
            sellers: HashMap::new(),
            categories,
            paths: HashMap::new(),
            rules: HashMap::new(),
            destinations: HashMap::new(),
            today: time::OffsetDateTime::now_utc().date(),
        }
    }

    /// Reads the sellers and the origins' rules that `products` need and the context does not
    /// have yet (nothing, mostly, after the first pages of a pass).
    pub async fn load_missing(
        &mut self,
        store: &Store,
        products: &[ProductToIndex],
    ) -> StoreResult<()> {
        self.load(
            store,
            products.iter().map(|p| p.seller_id),
            products.iter().map(|p| p.origin),
        )
        .await
    }

    /// Reads what the context does not have yet of these sellers and origins.
    pub async fn load(
        &mut self,
        store: &Store,
        sellers: impl IntoIterator<Item = Uuid>,
        origins: impl IntoIterator<Item = Country>,
    ) -> StoreResult<()> {
        let sellers: Vec<Uuid> = sellers
            .into_iter()
            .filter(|s| !self.sellers.contains_key(s))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !sellers.is_empty() {
            let mut names = store.organisation_names(&sellers).await?;
            let mut pavilions = store.pavilions_of_sellers(&sellers).await?;
            for seller in sellers {
                let listing = SellerListing {
                    name: names.remove(&seller).unwrap_or_default(),
                    pavilions: pavilions
                        .remove(&seller)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(id, channel)| (id.to_string(), search_channel(channel)))
                        .collect(),
                };
                self.sellers.insert(seller, listing);
            }
        }
        let origins: BTreeSet<Country> = origins
            .into_iter()
            .filter(|o| !self.rules.contains_key(o))
            .collect();
        for origin in origins {
            let rules = store.access_rules(Some(origin), None).await?;
            self.rules.insert(origin, rules);
        }
        Ok(())
    }

    /// The destinations where market access allows products of `origin` and `hs` today.
    fn destinations(&mut self, origin: Country, hs: HsCode) -> &[String] {
        let (rules, today) = (&self.rules, self.today);
        self.destinations.entry((origin, hs)).or_insert_with(|| {
            let rules = rules.get(&origin).map(Vec::as_slice).unwrap_or(&[]);
            let all: BTreeSet<Country> = rules.iter().map(|r| r.destination).collect();
            all.into_iter()
                .filter(|dest| decide(rules, origin, *dest, &hs, today).is_allowed())
                .map(|c| c.code().to_owned())
                .collect()
        })
    }

    fn category_path(&mut self, slug: &str) -> &CategoryPath {
        if !self.paths.contains_key(slug) {
            let path = self.categories.path(slug);
            let value = CategoryPath {
                slugs: path.iter().map(|c| c.slug.clone()).collect(),
                names: path
                    .iter()
                    .flat_map(|c| c.names.values().cloned())
                    .collect(),
            };
            self.paths.insert(slug.to_owned(), value);
        }
        &self.paths[slug]
    }

    /// The product as the search index sees it. The price used for sorting and filtering is the
    /// retail price when it is in US dollars (the index's reference currency), else none. Its
    /// seller and origin must have been loaded ([`load_missing`](Self::load_missing)); one that
    /// was not counts as having no name, pavilions or rules.
    pub fn document(&mut self, product: ProductToIndex) -> ProductDocument {
        let destinations = self.destinations(product.origin, product.hs).to_vec();
        let channels = channels_of(&product);
        let (seller_name, pavilions) = match self.sellers.get(&product.seller_id) {
            Some(seller) => (
                seller.name.clone(),
                seller
                    .pavilions
                    .iter()
                    .filter(|(_, channel)| channels.contains(channel))
                    .map(|(id, _)| id.clone())
                    .collect(),
            ),
            None => (String::new(), Vec::new()),
        };
        let (category, category_names) = match product.category.as_deref() {
            Some(slug) => {
                let path = self.category_path(slug);
                (path.slugs.clone(), path.names.clone())
            }
            None => (Vec::new(), Vec::new()),
        };
        let price_minor = product
            .retail_price
            .filter(|p| p.currency() == pavilion_domain::Currency::USD)
            .and_then(|p| p.to_minor().ok())
            .and_then(|m| u64::try_from(m).ok());
        ProductDocument {
            product_id: product.id.to_string(),
            seller_id: product.seller_id.to_string(),
            seller_name,
            kind: match product.kind {
                ProductKind::Goods => pavilion_search::ProductKind::Goods,
                ProductKind::BulkCommodity => pavilion_search::ProductKind::BulkCommodity,
                ProductKind::TravelPackage => pavilion_search::ProductKind::TravelPackage,
            },
            titles: localized(product.titles),
            descriptions: localized(product.descriptions),
            category,
            category_names,
            pavilions,
            origin: product.origin.code().to_owned(),
            destinations,
            channels,
            price_minor,
            hs_code: product.hs.digits().to_owned(),
            created_at: product.created_at.datetime(),
        }
    }
}

/// The index position for an outbox head and the entries applied in the window below it.
fn position_at(head: i64, applied: &BTreeSet<i64>) -> Position {
    Position {
        head: u64::try_from(head).unwrap_or(0),
        applied_below: applied
            .iter()
            .filter(|seq| **seq <= head)
            .filter_map(|seq| u64::try_from(*seq).ok())
            .collect(),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, pavilion_search::Error> + Send + 'static,
) -> Result<T, IndexError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| IndexError::Join(e.to_string()))?
        .map_err(Into::into)
}

/// This process's index, and the recent answers it gave.
///
/// The index is opened on first need (a search, or a product to index): loading the Chinese
/// dictionary and the writer costs time and memory an instance without a catalogue never pays.
pub struct Indexer {
    dir: PathBuf,
    index: tokio::sync::OnceCell<Arc<SearchIndex>>,
    cache: crate::search_cache::SearchCache,
}

/// A server mostly indexes a few products at a time, but also follows bulk imports: two
/// indexing threads with a modest buffer (allocated only as documents arrive).
fn server_options() -> IndexOptions {
    IndexOptions {
        writer_memory_bytes: 96 * 1024 * 1024,
        writer_threads: 2,
    }
}

/// An import indexed as it is written shares the machine with the import's own threads. Two
/// indexing threads keep up with the database on two cores (one fell 1.6–2.9 s behind it on a
/// million products), and a large buffer makes few, large segments.
fn import_options() -> IndexOptions {
    IndexOptions {
        writer_memory_bytes: 256 * 1024 * 1024,
        writer_threads: 2,
    }
}

/// What a batch of outbox entries asks to re-index.
#[derive(Default)]
struct Work {
    products: BTreeSet<Uuid>,
    ranges: Vec<(Uuid, Uuid)>,
    sellers: BTreeSet<Uuid>,
}

impl Work {
    fn add(&mut self, kind: &str, subject: &str) {
        match kind {
            PRODUCT_CHANGED => self.products.extend(subject.parse::<Uuid>().ok()),
            PRODUCTS_IMPORTED => {
                if let Some((first, last)) = subject.split_once("..")
                    && let (Ok(first), Ok(last)) = (first.parse(), last.parse())
                {
                    self.ranges.push((first, last));
                }
            }
            SELLER_LISTING_CHANGED => self.sellers.extend(subject.parse::<Uuid>().ok()),
            _ => {}
        }
    }
}

/// Which products a stream of pages reads.
#[derive(Clone, Copy)]
enum Pages {
    /// Every product within the bounds.
    Range(IdBounds),
    /// One seller's products.
    Seller(Uuid),
}

/// Reads `pages` from the store a page at a time, up to [`READ_AHEAD`] pages ahead of their
/// consumer, which thereby builds and indexes one page's documents while the next ones are
/// read. The stream ends after the last page, or after an error; it stops early if the
/// receiver is dropped.
fn read_ahead(store: &Store, pages: Pages) -> mpsc::Receiver<StoreResult<Vec<ProductToIndex>>> {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let store = store.clone();
    tokio::spawn(async move {
        let mut after: Option<Uuid> = None;
        loop {
            let page = match pages {
                Pages::Range(bounds) => {
                    let bounds = match after {
                        Some(id) => bounds.continuing_after(id),
                        None => bounds,
                    };
                    store.products_to_index(bounds, PAGE).await
                }
                Pages::Seller(seller) => store.seller_products_to_index(seller, after, PAGE).await,
            };
            let last = match &page {
                Ok(page) => match page.last() {
                    Some(p) => Some(p.id),
                    None => return,
                },
                Err(_) => None,
            };
            if tx.send(page).await.is_err() || last.is_none() {
                return;
            }
            after = last;
        }
    });
    rx
}

/// Builds the documents of a page and applies them to the index (not yet committed): live
/// products are upserted, archived ones and the ids in `gone` deleted. The context goes to the
/// blocking thread that does it and comes back.
async fn apply_page(
    store: &Store,
    index: &Arc<SearchIndex>,
    mut context: Box<DocumentContext>,
    products: Vec<ProductToIndex>,
    mut gone: Vec<String>,
) -> Result<Box<DocumentContext>, IndexError> {
    context.load_missing(store, &products).await?;
    let index = index.clone();
    blocking(move || {
        let mut upserts = Vec::with_capacity(products.len());
        for p in products {
            if p.archived {
                gone.push(p.id.to_string());
            } else {
                upserts.push(context.document(p));
            }
        }
        index.upsert(&upserts)?;
        index.delete(gone)?;
        Ok(context)
    })
    .await
}

/// The documents of a page's live products, built on a blocking thread (the context goes there
/// and comes back).
async fn live_documents(
    store: &Store,
    mut context: Box<DocumentContext>,
    products: Vec<ProductToIndex>,
) -> Result<(Box<DocumentContext>, Vec<ProductDocument>), IndexError> {
    context.load_missing(store, &products).await?;
    tokio::task::spawn_blocking(move || {
        let docs = products
            .into_iter()
            .filter(|p| !p.archived)
            .map(|p| context.document(p))
            .collect();
        (context, docs)
    })
    .await
    .map_err(|e| IndexError::Join(e.to_string()))
}

/// Applies every page of `pages` (see [`read_ahead`]).
async fn apply_pages(
    store: &Store,
    index: &Arc<SearchIndex>,
    mut context: Box<DocumentContext>,
    pages: Pages,
) -> Result<Box<DocumentContext>, IndexError> {
    let mut pages = read_ahead(store, pages);
    while let Some(page) = pages.recv().await {
        context = apply_page(store, index, context, page?, Vec::new()).await?;
    }
    Ok(context)
}

impl Indexer {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            index: tokio::sync::OnceCell::new(),
            cache: crate::search_cache::SearchCache::default(),
        }
    }

    /// Runs a search, or reuses a recent answer to the same search (see
    /// [`crate::search_cache`]).
    pub async fn search(
        &self,
        request: SearchRequest,
    ) -> Result<Arc<SearchResults>, pavilion_search::Error> {
        let index = self
            .index()
            .await
            .map_err(|e| pavilion_search::Error::Source(e.to_string().into()))?;
        self.cache.search(index, request).await
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
        if self.index.get().is_none() && store.outbox_after(&KINDS, 0, 1).await?.is_empty() {
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

    /// Applies the outbox entries the index has not seen; returns how many entries it applied.
    ///
    /// Each pass re-reads a window below the index's position; the entries of that window it
    /// applied are recorded with the position (see [`Position`]), so neither a later pass nor a
    /// restarted process applies them again.
    pub async fn catch_up(
        &self,
        store: &Store,
        index: &Arc<SearchIndex>,
    ) -> Result<usize, IndexError> {
        catch_up(store, index, &BTreeSet::new()).await
    }
}

/// One catch-up pass (see [`Indexer::catch_up`]); the entries numbered in `done` are already in
/// the index (not yet committed): they count as applied without being read again.
async fn catch_up(
    store: &Store,
    index: &Arc<SearchIndex>,
    done: &BTreeSet<i64>,
) -> Result<usize, IndexError> {
    let committed = index.position().unwrap_or_default();
    let position = i64::try_from(committed.head).unwrap_or(i64::MAX);
    let mut applied: BTreeSet<i64> = committed
        .applied_below
        .iter()
        .filter_map(|seq| i64::try_from(*seq).ok())
        .collect();
    let floor = (position - LOOKBACK).max(0);
    let entries = store.outbox_after(&KINDS, floor, PAGE).await?;
    let fresh: Vec<_> = entries
        .into_iter()
        .filter(|e| !applied.contains(&e.seq))
        .collect();
    let Some(head) = fresh.iter().map(|e| e.seq).max() else {
        return Ok(0);
    };
    let mut work = Work::default();
    for e in fresh.iter().filter(|e| !done.contains(&e.seq)) {
        work.add(&e.kind, &e.subject_id);
    }
    let mut context = Box::new(DocumentContext::new(store.category_tree().await?));
    let ids: Vec<Uuid> = work.products.iter().copied().collect();
    for chunk in ids.chunks(PAGE as usize) {
        let found = store.products_to_index_by_ids(chunk).await?;
        // Ids the store no longer has leave the index too.
        let present: HashSet<Uuid> = found.iter().map(|p| p.id).collect();
        let gone: Vec<String> = chunk
            .iter()
            .filter(|id| !present.contains(id))
            .map(Uuid::to_string)
            .collect();
        context = apply_page(store, index, context, found, gone).await?;
    }
    for (first, last) in &work.ranges {
        let range = Pages::Range(IdBounds::between(*first, *last));
        context = apply_pages(store, index, context, range).await?;
    }
    for seller in &work.sellers {
        context = apply_pages(store, index, context, Pages::Seller(*seller)).await?;
    }
    let new_head = head.max(position);
    applied.extend(fresh.iter().map(|e| e.seq));
    applied.retain(|seq| *seq > new_head - LOOKBACK);
    let committing = index.clone();
    let at = position_at(new_head, &applied);
    blocking(move || committing.commit_at(at)).await?;
    Ok(fresh.len())
}

/// Indexes a bulk import's products while the import writes them, in a process that has this
/// configuration's index to itself (`pavilion import products` while no server runs on it).
/// A server started afterwards finds the import searchable instead of indexing it then.
///
/// The products are indexed from the import's rows as they are prepared (nothing is read back)
/// and committed to the index only after the import committed, with the import's outbox entry
/// recorded as applied. If the import fails they are dropped; if the process stops before the
/// index commits, the next process to open the index applies the import's outbox entry as
/// usual.
pub struct ImportIndexing {
    index: Arc<SearchIndex>,
    sender: Option<tokio::sync::mpsc::UnboundedSender<Vec<ProductToIndex>>>,
    worker: tokio::task::JoinHandle<Result<u64, IndexError>>,
}

impl ImportIndexing {
    /// Opens the index in `dir` for an import: `Ok(None)` when another process (a server)
    /// holds it, which then follows the import's outbox entry instead. An index that is new (or
    /// was recreated for a new schema) is first rebuilt from the store.
    pub async fn start(store: &Store, dir: &std::path::Path) -> Result<Option<Self>, IndexError> {
        let opening = dir.to_owned();
        let index = match tokio::task::spawn_blocking(move || {
            SearchIndex::open_or_create_with(&opening, &import_options())
        })
        .await
        .map_err(|e| IndexError::Join(e.to_string()))?
        {
            Ok(index) => Arc::new(index),
            Err(pavilion_search::Error::Locked { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if index.last_applied().is_none() {
            rebuild(store, &index).await?;
        }
        let mut context = DocumentContext::new(store.category_tree().await?);
        // Unbounded, so that the database never waits for the index: it commits while the index
        // catches up. What waits is the import's own data (the drafts' fields moved, not
        // copied).
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<ProductToIndex>>();
        let (indexing, store) = (index.clone(), store.clone());
        let worker = tokio::spawn(async move {
            let mut indexed = 0;
            while let Some(batch) = receiver.recv().await {
                context.load_missing(&store, &batch).await?;
                let index = indexing.clone();
                let (back, n) = blocking(move || {
                    let docs: Vec<ProductDocument> =
                        batch.into_iter().map(|p| context.document(p)).collect();
                    index.upsert(&docs)?;
                    Ok((context, docs.len() as u64))
                })
                .await?;
                context = back;
                indexed += n;
            }
            Ok(indexed)
        });
        Ok(Some(ImportIndexing {
            index,
            sender: Some(sender),
            worker,
        }))
    }

    /// What to hand to [`Store::import_rows`] (once).
    pub fn observer(&mut self) -> Option<ImportObserver> {
        let sender = self.sender.take()?;
        // Once indexing failed, batches are dropped: the import goes on, and the index will
        // follow its outbox entry.
        Some(Box::new(move |batch| {
            let _ = sender.send(batch);
        }))
    }

    /// After the import committed (its `products.imported` entry is `outbox_seq`): indexes the
    /// last batches, catches up with the entries the index has not seen, the import's own
    /// counted as applied, and commits. Returns how many products of the import were indexed.
    pub async fn finish(mut self, store: &Store, outbox_seq: i64) -> Result<u64, IndexError> {
        self.sender = None;
        let indexed = match self.worker.await {
            Ok(outcome) => outcome,
            Err(e) => Err(IndexError::Join(e.to_string())),
        };
        let indexed = match indexed {
            Ok(n) => n,
            Err(e) => {
                let index = self.index.clone();
                blocking(move || index.rollback()).await?;
                return Err(e);
            }
        };
        let done = BTreeSet::from([outbox_seq]);
        // A pass reads a page of entries: more than one when others came before the import's.
        while self
            .index
            .last_applied()
            .is_none_or(|head| head < u64::try_from(outbox_seq).unwrap_or(0))
        {
            if catch_up(store, &self.index, &done).await? == 0 {
                break;
            }
        }
        Ok(indexed)
    }

    /// After a failed import: drops what was indexed of it.
    pub async fn abandon(mut self) -> Result<(), IndexError> {
        self.sender = None;
        let _ = self.worker.await;
        let index = self.index.clone();
        blocking(move || index.rollback()).await
    }
}

/// Rebuilds the index from the store's catalogue (for `pavilion reindex`, or a new index).
/// Pages of products stream from the store into the index while it indexes, so memory stays
/// bounded whatever the size of the catalogue.
pub async fn rebuild(store: &Store, index: &Arc<SearchIndex>) -> Result<u64, IndexError> {
    // The rebuild reads the catalogue as it is now; entries up to the head that are visible now
    // are thereby applied (one that commits late is applied by the next catch-up).
    let head = store.outbox_head().await?;
    let visible: BTreeSet<i64> = store
        .outbox_after(&KINDS, (head - LOOKBACK).max(0), PAGE)
        .await?
        .iter()
        .map(|e| e.seq)
        .filter(|seq| *seq <= head)
        .collect();
    let head = position_at(head, &visible);
    // Read before the writer starts: a failure here leaves the index as it was.
    let mut context = Box::new(DocumentContext::new(store.category_tree().await?));
    let (tx, mut rx) = mpsc::channel::<Result<Vec<ProductDocument>, IndexError>>(READ_AHEAD);
    let writer = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            let docs = std::iter::from_fn(move || rx.blocking_recv()).flat_map(|page| match page {
                Ok(docs) => docs.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            });
            index.try_rebuild(docs, head)
        })
    };
    // Every failure is sent to the writer, which then drops the rebuild: the stream's end alone
    // would commit the documents sent so far.
    let mut pages = read_ahead(store, Pages::Range(IdBounds::default()));
    while let Some(page) = pages.recv().await {
        let built = match page {
            Ok(page) => live_documents(store, context, page).await,
            Err(e) => Err(e.into()),
        };
        match built {
            Ok((back, docs)) => {
                context = back;
                if tx.send(Ok(docs)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                break;
            }
        }
    }
    drop(tx);
    writer
        .await
        .map_err(|e| IndexError::Join(e.to_string()))?
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pavilion_domain::accounts::OrganisationKind;
    use pavilion_domain::catalogue::CategoryDraft;
    use pavilion_domain::catalogue::csv::{ImportRow, parse_products_csv};
    use pavilion_domain::market_access::parse_rules_csv;
    use pavilion_domain::text::Name;
    use pavilion_search::FacetField;
    use pavilion_store::Backend;
    use pavilion_store::accounts::NewOrganisation;
    use pavilion_store::audit::AuditContext;
    use pavilion_store::testing::TestDatabase;

    const HEADER: &str = "seller_id,kind,original_locale,title_zh-CN,title_en,title_es,title_fr,description_zh-CN,description_en,description_es,description_fr,hs,category,origin,unit,weight_kg_per_unit,volume_l_per_unit,cold_chain,shelf_life_days,retail_price,currency,moq,tiers,stock,departures,variants";

    async fn import(store: &Store, seller: Uuid, n: usize) {
        let mut text = String::from(HEADER);
        for i in 0..n {
            text.push_str(&format!(
                "\n{seller},goods,en,,Pailin longan box {i},,,,,,,0810.90.30,,KH,piece,5,,true,21,18.00,USD,,,10,,"
            ));
        }
        let rows = parse_products_csv(&text, time::macros::date!(2026 - 11 - 23), None).unwrap();
        store
            .import_products(&AuditContext::default(), rows, |_| {})
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_restarted_index_does_not_apply_again_what_it_applied_before() {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let store = db.store().await;
        let seller = store
            .create_organisation(
                &AuditContext::default(),
                &NewOrganisation {
                    kind: OrganisationKind::Seller,
                    name: Name::parse("Pailin Longan Cooperative").unwrap(),
                    country: "KH".parse().unwrap(),
                },
            )
            .await
            .unwrap()
            .id;
        import(&store, seller, 3).await;
        let dir = tempfile::tempdir().unwrap();

        let indexer = Indexer::new(dir.path().to_owned());
        indexer.step(&store).await.unwrap(); // a new index: rebuilt
        let index = indexer.index().await.unwrap();
        assert_eq!(index.num_docs(), 3);
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 0);
        import(&store, seller, 2).await;
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 1);
        assert_eq!(index.num_docs(), 5);
        drop((index, indexer));

        // A new process on the same index: both imports are behind it, the entries of the window
        // below its head included.
        let indexer = Indexer::new(dir.path().to_owned());
        let index = indexer.index().await.unwrap();
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 0);
        import(&store, seller, 1).await;
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 1);
        assert_eq!(index.num_docs(), 6);
    }

    async fn seller(store: &Store, name: &str) -> Uuid {
        store
            .create_organisation(
                &AuditContext::default(),
                &NewOrganisation {
                    kind: OrganisationKind::Seller,
                    name: Name::parse(name).unwrap(),
                    country: "KH".parse().unwrap(),
                },
            )
            .await
            .unwrap()
            .id
    }

    /// The shipped market-access rules and a two-level category tree.
    async fn rules_and_categories(store: &Store) {
        let rules = parse_rules_csv(include_str!("../../../rules/market_access.csv")).unwrap();
        store
            .upsert_access_rules(&AuditContext::default(), &rules)
            .await
            .unwrap();
        for (slug, parent, en, zh) in [
            ("fresh-fruit", None, "Fresh fruit", "新鲜水果"),
            ("longan", Some("fresh-fruit"), "Longan", "龙眼"),
            ("coffee", None, "Coffee", "咖啡"),
        ] {
            let draft = CategoryDraft {
                slug: slug.into(),
                parent: parent.map(Into::into),
                names: [(Locale::En, en.to_owned()), (Locale::ZhCn, zh.to_owned())].into(),
                position: 0,
            };
            store
                .create_category(&AuditContext::default(), &draft)
                .await
                .unwrap();
        }
    }

    /// A SQLite store with the shipped market-access rules, the categories and two sellers (the
    /// database lives as long as the first value).
    async fn two_sellers() -> (TestDatabase, Store, [Uuid; 2]) {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let store = db.store().await;
        rules_and_categories(&store).await;
        let sellers = [
            seller(&store, "Pailin Longan Cooperative").await,
            seller(&store, "Kampot Pepper Farm").await,
        ];
        (db, store, sellers)
    }

    /// `n` products of every shape for two sellers: origins with and without rules, HS codes
    /// allowed, refused or not cleared, categories at both levels or none, retail, wholesale,
    /// bulk and travel.
    async fn import_mixed(store: &Store, sellers: [Uuid; 2], n: usize) {
        let mut text = String::from(HEADER);
        for i in 0..n {
            let s = sellers[i % 2];
            let row = match i % 6 {
                0 => format!(
                    "{s},goods,en,柬埔寨拜林龙眼 {i},Pailin longan {i},,,,Sweet.,,,0810.90.30,longan,KH,piece,5,,true,21,18.00,USD,,,10,,"
                ),
                1 => format!(
                    "{s},goods,es,,Hass avocados {i},Aguacates Hass {i},,,,Cremosos.,,0804.40,fresh-fruit,MX,piece,,,true,20,21.00,USD,100,100:15.00;1000:13.00,40,,"
                ),
                2 => format!(
                    "{s},bulk_commodity,fr,,,,Café vert {i},,,,Lavé.,0901.11,coffee,RW,t,,,false,365,,USD,2,2:2600.00;20:2400.00,,,"
                ),
                3 => format!(
                    "{s},travel_package,en,,Angkor sunrise tour {i},,,,,,,9999.00,,KH,seat,,,false,,150.00,EUR,,,,2030-03-01:12,"
                ),
                4 => format!(
                    "{s},goods,en,,Kampot pepper {i},,,,,,,0904.11,,KH,piece,0.2,,false,720,9.00,USD,,,100,,"
                ),
                _ => format!(
                    "{s},goods,fr,,,,Homard vivant {i},,,,,0306.32,,CA,kg,,,true,5,38.00,USD,10,10:30.00,5,,"
                ),
            };
            text.push('\n');
            text.push_str(&row);
        }
        let rows = parse_products_csv(&text, time::macros::date!(2026 - 11 - 23), None).unwrap();
        store
            .import_products(&AuditContext::default(), rows, |_| {})
            .await
            .unwrap();
    }

    async fn all_to_index(store: &Store) -> Vec<ProductToIndex> {
        let (mut out, mut bounds) = (Vec::new(), IdBounds::default());
        loop {
            let page = store.products_to_index(bounds, 500).await.unwrap();
            let Some(last) = page.last() else {
                return out;
            };
            bounds = bounds.continuing_after(last.id);
            out.extend(page);
        }
    }

    #[tokio::test]
    async fn documents_of_a_pass_equal_documents_built_alone() {
        let (_db, store, sellers) = two_sellers().await;
        import_mixed(&store, sellers, 60).await;
        let products = all_to_index(&store).await;
        assert_eq!(products.len(), 60);

        // One context for the whole pass (what it remembers is reused) against a new context for
        // each product.
        let mut pass = DocumentContext::new(store.category_tree().await.unwrap());
        pass.load_missing(&store, &products).await.unwrap();
        for p in &products {
            let mut alone = DocumentContext::new(store.category_tree().await.unwrap());
            alone
                .load_missing(&store, std::slice::from_ref(p))
                .await
                .unwrap();
            assert_eq!(pass.document(p.clone()), alone.document(p.clone()));
        }
        let longan = pass.document(products[0].clone());
        assert_eq!(longan.category, ["fresh-fruit", "longan"]);
        assert!(longan.category_names.contains(&"龙眼".to_owned()));
        assert!(longan.destinations.contains(&"CN".to_owned()));
        assert_eq!(longan.seller_name, "Pailin Longan Cooperative");
        let coffee = pass.document(products[2].clone());
        assert_eq!(coffee.channels, [Channel::Wholesale]);
        assert_eq!(coffee.price_minor, None);
        let tour = pass.document(products[3].clone());
        assert_eq!(
            (tour.channels.as_slice(), tour.price_minor),
            (&[Channel::Travel][..], None)
        );
        assert!(pass.document(products[4].clone()).destinations.is_empty());
    }

    /// Every hit of a request (ids sorted), its total and its facets.
    fn everything(index: &SearchIndex, mut request: SearchRequest) -> (usize, Vec<String>, String) {
        request.limit = 100;
        request.facets = vec![
            FacetField::Origin,
            FacetField::Category,
            FacetField::Kind,
            FacetField::Channel,
        ];
        let first = index.search(&request).unwrap();
        let mut ids = Vec::new();
        let mut page = first.clone();
        loop {
            ids.extend(page.hits.iter().map(|h| h.product_id.clone()));
            let Some(next) = page.next_offset else { break };
            request.offset = next;
            page = index.search(&request).unwrap();
        }
        ids.sort();
        (first.total, ids, format!("{:?}", first.facets))
    }

    #[tokio::test]
    async fn catching_up_on_imports_finds_what_a_rebuild_finds() {
        let (_db, store, sellers) = two_sellers().await;
        import_mixed(&store, sellers, 6).await;
        let followed = tempfile::tempdir().unwrap();
        let indexer = Indexer::new(followed.path().to_owned());
        indexer.step(&store).await.unwrap(); // a new index: rebuilt
        // Imports of several pages each, one product archived, one changed: caught up.
        import_mixed(&store, sellers, 2 * PAGE as usize + 7).await;
        import_mixed(&store, sellers, 300).await;
        let products = all_to_index(&store).await;
        let archived = products[10].id;
        store
            .archive_product(&AuditContext::default(), archived)
            .await
            .unwrap();
        indexer.step(&store).await.unwrap();
        let index = indexer.index().await.unwrap();
        assert_eq!(index.num_docs(), products.len() as u64 - 1);

        let rebuilt_dir = tempfile::tempdir().unwrap();
        let rebuilt = Arc::new(SearchIndex::open_or_create(rebuilt_dir.path()).unwrap());
        assert_eq!(
            rebuild(&store, &rebuilt).await.unwrap(),
            products.len() as u64 - 1
        );
        let requests = [
            SearchRequest::default(),
            SearchRequest::text("龙眼"),
            SearchRequest::text("café"),
            SearchRequest {
                filters: pavilion_search::Filters {
                    destination: Some("CN".into()),
                    ..Default::default()
                },
                ..SearchRequest::default()
            },
            SearchRequest {
                filters: pavilion_search::Filters {
                    category: vec!["fresh-fruit".into()],
                    channels: vec![Channel::Wholesale],
                    ..Default::default()
                },
                ..SearchRequest::text("avocados")
            },
        ];
        for request in requests {
            let followed = everything(&index, request.clone());
            assert!(followed.0 > 0, "{request:?}");
            assert_eq!(
                followed,
                everything(&rebuilt, request.clone()),
                "{request:?}"
            );
            assert!(!followed.1.contains(&archived.to_string()));
        }
    }

    fn mixed_rows(sellers: [Uuid; 2], n: usize) -> Vec<ImportRow> {
        let mut text = String::from(HEADER);
        for i in 0..n {
            let s = sellers[i % 2];
            text.push_str(&format!(
                "\n{s},goods,en,柬埔寨拜林龙眼 {i},Pailin longan {i},,,,Sweet.,,,0810.90.30,longan,KH,piece,5,,true,21,18.00,USD,100,100:12.00,10,,"
            ));
        }
        parse_products_csv(&text, time::macros::date!(2026 - 11 - 23), None).unwrap()
    }

    /// What an import indexed as it went, against a rebuild of the same catalogue.
    async fn same_as_rebuilt(store: &Store, index: &SearchIndex) {
        let dir = tempfile::tempdir().unwrap();
        let rebuilt = Arc::new(SearchIndex::open_or_create(dir.path()).unwrap());
        rebuild(store, &rebuilt).await.unwrap();
        assert_eq!(index.num_docs(), rebuilt.num_docs());
        for request in [
            SearchRequest::default(),
            SearchRequest::text("龙眼"),
            SearchRequest {
                filters: pavilion_search::Filters {
                    destination: Some("CN".into()),
                    category: vec!["fresh-fruit".into()],
                    ..Default::default()
                },
                ..SearchRequest::text("longan")
            },
        ] {
            assert_eq!(
                everything(index, request.clone()),
                everything(&rebuilt, request.clone()),
                "{request:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_import_indexed_as_it_is_written_is_searchable_and_not_applied_again() {
        let (_db, store, sellers) = two_sellers().await;
        import_mixed(&store, sellers, 6).await;
        let dir = tempfile::tempdir().unwrap();

        // A new index: rebuilt first, then the import is indexed while it is written. A product
        // changed meanwhile (its entry comes before the import's) is applied too.
        let rows = mixed_rows(sellers, 4500);
        let mut indexing = ImportIndexing::start(&store, dir.path())
            .await
            .unwrap()
            .expect("nobody else holds the index");
        let changed = all_to_index(&store).await[0].id;
        store
            .archive_product(&AuditContext::default(), changed)
            .await
            .unwrap();
        let summary = store
            .import_rows(
                &AuditContext::default(),
                rows.into_iter().map(Ok),
                |_| {},
                indexing.observer(),
            )
            .await
            .unwrap();
        let seq = summary.outbox_seq.unwrap();
        assert_eq!(indexing.finish(&store, seq).await.unwrap(), 4500);

        let indexer = Indexer::new(dir.path().to_owned());
        let index = indexer.index().await.unwrap();
        assert_eq!(index.num_docs(), 4500 + 6 - 1);
        assert!(index.last_applied().unwrap() >= u64::try_from(seq).unwrap());
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 0);
        same_as_rebuilt(&store, &index).await;
        // The index follows later changes as usual.
        import_mixed(&store, sellers, 12).await;
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 1);
        assert_eq!(index.num_docs(), 4500 + 6 - 1 + 12);
    }

    #[tokio::test]
    async fn an_import_that_fails_or_stops_leaves_the_index_to_the_outbox() {
        let (_db, store, sellers) = two_sellers().await;
        import_mixed(&store, sellers, 6).await;
        let dir = tempfile::tempdir().unwrap();
        {
            let indexer = Indexer::new(dir.path().to_owned());
            indexer.step(&store).await.unwrap();
            // While a server holds the index, the import leaves it alone.
            let held = ImportIndexing::start(&store, dir.path()).await;
            assert!(held.unwrap().is_none());
        }

        // A failed import: what was indexed of it is dropped.
        let mut rows = mixed_rows(sellers, 2500);
        let mut indexing = ImportIndexing::start(&store, dir.path())
            .await
            .unwrap()
            .unwrap();
        // A SKU twice: the database refuses the second batch, after the first was indexed.
        let variant = pavilion_domain::catalogue::Variant {
            sku: "LONGAN-A".into(),
            attributes: [("grade".to_owned(), "A".to_owned())].into(),
            retail_price: None,
            stock: Some(3),
            weight_kg_per_unit: None,
        };
        rows[2400].draft.stock = None;
        rows[2400].draft.variants = vec![variant.clone(), variant];
        let failed = store
            .import_rows(
                &AuditContext::default(),
                rows.into_iter().map(Ok),
                |_| {},
                indexing.observer(),
            )
            .await;
        assert!(
            matches!(
                failed,
                Err(pavilion_store::catalogue_import::ImportError::Store(_))
            ),
            "{failed:?}"
        );
        indexing.abandon().await.unwrap();

        // An import indexed but not committed to the index (the process stopped): the next
        // process applies the import's outbox entry.
        let rows = mixed_rows(sellers, 1500);
        let mut indexing = ImportIndexing::start(&store, dir.path())
            .await
            .unwrap()
            .unwrap();
        store
            .import_rows(
                &AuditContext::default(),
                rows.into_iter().map(Ok),
                |_| {},
                indexing.observer(),
            )
            .await
            .unwrap();
        drop(indexing);
        tokio::task::yield_now().await;
        let indexer = Indexer::new(dir.path().to_owned());
        let index = loop {
            // The stopped import's writer lets go of the index once its thread ends.
            match indexer.index().await {
                Ok(index) => break index,
                Err(IndexError::Search(pavilion_search::Error::Locked { .. })) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(index.num_docs(), 6);
        assert_eq!(indexer.catch_up(&store, &index).await.unwrap(), 1);
        assert_eq!(index.num_docs(), 6 + 1500);
        same_as_rebuilt(&store, &index).await;
    }
}
