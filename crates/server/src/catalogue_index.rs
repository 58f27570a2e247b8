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

use pavilion_domain::Country;
use pavilion_domain::catalogue::{Locale, ProductKind};
use pavilion_domain::market_access::{AccessRule, decide};
use pavilion_domain::programmes::Channel as PavilionChannel;
use pavilion_search::{
    Channel, IndexOptions, Localized, Position, ProductDocument, SearchIndex, SearchRequest,
    SearchResults,
};
use pavilion_store::catalogue::{PRODUCTS_IMPORTED, Product};
use pavilion_store::categories::CategoryTree;
use pavilion_store::events::SELLER_LISTING_CHANGED;
use pavilion_store::{Store, StoreError};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

/// Entries read behind the index's position on every pass (see the module comment).
const LOOKBACK: i64 = 1000;
const PAGE: u32 = 1000;
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

fn localized(texts: &pavilion_domain::catalogue::Localized) -> Localized {
    let mut out = Localized::default();
    for (l, text) in texts {
        out.set(locale(*l), text.clone());
    }
    out
}

fn channels_of(product: &Product) -> Vec<Channel> {
    let d = &product.draft;
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
    channels
}

fn search_channel(c: PavilionChannel) -> Channel {
    match c {
        PavilionChannel::Wholesale => Channel::Wholesale,
        PavilionChannel::Retail => Channel::Retail,
        PavilionChannel::Travel => Channel::Travel,
    }
}

/// What documents need beyond the product itself, read once for a whole batch of products: the
/// sellers' names and pavilions, the category tree, and the market-access rules of each origin.
pub struct DocumentContext {
    sellers: HashMap<Uuid, String>,
    pavilions: HashMap<Uuid, Vec<(Uuid, PavilionChannel)>>,
    categories: Arc<CategoryTree>,
    rules: HashMap<Country, Vec<AccessRule>>,
    today: time::Date,
}

impl DocumentContext {
    /// Loads what `products` need; `categories` is shared between batches of one pass.
    pub async fn load(
        store: &Store,
        products: &[Product],
        categories: Arc<CategoryTree>,
    ) -> Result<Self, StoreError> {
        let sellers: Vec<Uuid> = products
            .iter()
            .map(|p| p.seller_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut rules = HashMap::new();
        for origin in products
            .iter()
            .map(|p| p.draft.origin)
            .collect::<BTreeSet<_>>()
        {
            rules.insert(origin, store.access_rules(Some(origin), None).await?);
        }
        Ok(DocumentContext {
            sellers: store.organisation_names(&sellers).await?,
            pavilions: store.pavilions_of_sellers(&sellers).await?,
            categories,
            rules,
            today: time::OffsetDateTime::now_utc().date(),
        })
    }

    /// The product as the search index sees it. The price used for sorting and filtering is the
    /// retail price when it is in US dollars (the index's reference currency), else none.
    pub fn document(&self, product: &Product) -> ProductDocument {
        let d = &product.draft;
        let rules = self.rules.get(&d.origin).map(Vec::as_slice).unwrap_or(&[]);
        let destinations: BTreeSet<_> = rules.iter().map(|r| r.destination).collect();
        let destinations = destinations
            .into_iter()
            .filter(|dest| decide(rules, d.origin, *dest, &d.hs, self.today).is_allowed())
            .map(|c| c.code().to_owned())
            .collect();
        let channels = channels_of(product);
        let pavilions = self
            .pavilions
            .get(&product.seller_id)
            .into_iter()
            .flatten()
            .filter(|(_, channel)| channels.contains(&search_channel(*channel)))
            .map(|(id, _)| id.to_string())
            .collect();
        let path = d
            .category
            .as_deref()
            .map(|slug| self.categories.path(slug))
            .unwrap_or_default();
        let price_minor = d
            .retail_price
            .filter(|p| p.currency() == pavilion_domain::Currency::USD)
            .and_then(|p| p.to_minor().ok())
            .and_then(|m| u64::try_from(m).ok());
        ProductDocument {
            product_id: product.id.to_string(),
            seller_id: product.seller_id.to_string(),
            seller_name: self
                .sellers
                .get(&product.seller_id)
                .cloned()
                .unwrap_or_default(),
            kind: match d.kind {
                ProductKind::Goods => pavilion_search::ProductKind::Goods,
                ProductKind::BulkCommodity => pavilion_search::ProductKind::BulkCommodity,
                ProductKind::TravelPackage => pavilion_search::ProductKind::TravelPackage,
            },
            titles: localized(&d.titles),
            descriptions: localized(&d.descriptions),
            category: path.iter().map(|c| c.slug.clone()).collect(),
            category_names: path
                .iter()
                .flat_map(|c| c.names.values().cloned())
                .collect(),
            pavilions,
            origin: d.origin.code().to_owned(),
            destinations,
            channels,
            price_minor,
            hs_code: d.hs.digits().to_owned(),
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

/// Upserts the live products of a page and deletes the archived ones (not yet committed).
async fn apply_page(
    store: &Store,
    index: &Arc<SearchIndex>,
    categories: &Arc<CategoryTree>,
    products: Vec<Product>,
) -> Result<(), IndexError> {
    let context = DocumentContext::load(store, &products, categories.clone()).await?;
    let (mut upserts, mut deletes) = (Vec::new(), Vec::new());
    for p in &products {
        if p.archived {
            deletes.push(p.id.to_string());
        } else {
            upserts.push(context.document(p));
        }
    }
    let index = index.clone();
    blocking(move || {
        index.upsert(&upserts)?;
        index.delete(deletes)
    })
    .await
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
        for e in &fresh {
            work.add(&e.kind, &e.subject_id);
        }
        let categories = Arc::new(store.category_tree().await?);
        let ids: Vec<Uuid> = work.products.iter().copied().collect();
        for chunk in ids.chunks(PAGE as usize) {
            let found = store.products_by_ids(chunk).await?;
            // Ids the store no longer has leave the index too.
            let gone: Vec<String> = chunk
                .iter()
                .filter(|id| !found.iter().any(|p| p.id == **id))
                .map(Uuid::to_string)
                .collect();
            apply_page(store, index, &categories, found).await?;
            let index = index.clone();
            blocking(move || index.delete(gone)).await?;
        }
        for (first, last) in &work.ranges {
            // `after` is exclusive: start just below the range's first id.
            let mut after = Some(Uuid::from_u128(first.as_u128().saturating_sub(1)));
            loop {
                let page = store.products_in_range(after, Some(*last), PAGE).await?;
                let Some(end) = page.last().map(|p| p.id) else {
                    break;
                };
                apply_page(store, index, &categories, page).await?;
                after = Some(end);
            }
        }
        for seller in &work.sellers {
            let mut after = None;
            loop {
                let page = store.products_of(*seller, after, PAGE).await?;
                let Some(end) = page.last().map(|p| p.id) else {
                    break;
                };
                apply_page(store, index, &categories, page).await?;
                after = Some(end);
            }
        }
        let new_head = head.max(position);
        applied.extend(fresh.iter().map(|e| e.seq));
        applied.retain(|seq| *seq > new_head - LOOKBACK);
        let committing = index.clone();
        let at = position_at(new_head, &applied);
        blocking(move || committing.commit_at(at)).await?;
        Ok(fresh.len())
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
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<ProductDocument>, StoreError>>(4);
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
    let categories = Arc::new(store.category_tree().await?);
    let mut after = None;
    loop {
        let page = match store.products_page(after, PAGE).await {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                break;
            }
        };
        let Some(end) = page.last().map(|p| p.id) else {
            break;
        };
        after = Some(end);
        let docs = match DocumentContext::load(store, &page, categories.clone()).await {
            Ok(context) => Ok(page
                .iter()
                .filter(|p| !p.archived)
                .map(|p| context.document(p))
                .collect()),
            Err(e) => Err(e),
        };
        let failed = docs.is_err();
        if tx.send(docs).await.is_err() || failed {
            break;
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
    use pavilion_domain::catalogue::csv::parse_products_csv;
    use pavilion_domain::text::Name;
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
}
