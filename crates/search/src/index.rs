//! [`SearchIndex`]: the index, its single writer, and searching.

use std::collections::HashSet;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, FacetCollector, FacetCounts, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::UserOperation;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, Field, IndexRecordOption, Value};
use tantivy::store::Compressor;
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, Order, ReloadPolicy, Searcher,
    TantivyDocument, TantivyError, Term,
};

use crate::analysis::{self, QueryAnalyzers};
use crate::document::{Locale, ProductDocument, ProductKind};
use crate::error::{Error, Result};
use crate::request::{
    FacetCount, FacetField, Facets, MAX_FACET_VALUES, MAX_OFFSET, MAX_QUERY_WORDS, SearchHit,
    SearchRequest, SearchResults, Sort,
};
use crate::schema::{self, CATEGORY, CHANNEL, CREATED_AT, Fields, KIND, LOCALES, ORIGIN, PRICE};

/// Weight of a title match.
const TITLE_BOOST: f32 = 3.0;
/// Weight of a category or seller-name match.
const CATEGORY_BOOST: f32 = 1.5;
/// Weight of a seller-name match.
const SELLER_BOOST: f32 = 1.5;
/// Weight of a description or HS-code match.
const DESCRIPTION_BOOST: f32 = 1.0;

/// How the writer of an index is sized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOptions {
    /// Memory the writer may buffer before it flushes a segment, shared by its threads; each
    /// thread needs at least 15 MB. Larger budgets mean fewer, larger segments and faster bulk
    /// indexing. Default 256 MB.
    pub writer_memory_bytes: usize,
    /// Indexing threads, 1 to 16. Default: the available parallelism, at most 4.
    pub writer_threads: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        IndexOptions {
            writer_memory_bytes: 256 * 1024 * 1024,
            writer_threads: cores.clamp(1, 4),
        }
    }
}

/// Minimum writer memory per thread (tantivy's floor).
const MIN_MEMORY_PER_THREAD: usize = 15_000_000;
/// Maximum writer memory per thread (tantivy's ceiling is just under 4 GiB).
const MAX_MEMORY_PER_THREAD: usize = 3_000_000_000;

impl IndexOptions {
    fn check(&self) -> Result<()> {
        if !(1..=16).contains(&self.writer_threads) {
            return Err(Error::InvalidOption {
                field: "writer_threads",
                reason: format!("must be between 1 and 16, not {}", self.writer_threads),
            });
        }
        let per_thread = self.writer_memory_bytes / self.writer_threads;
        if !(MIN_MEMORY_PER_THREAD..=MAX_MEMORY_PER_THREAD).contains(&per_thread) {
            return Err(Error::InvalidOption {
                field: "writer_memory_bytes",
                reason: format!(
                    "gives {per_thread} bytes per thread; each of the {} threads needs between \
                     {MIN_MEMORY_PER_THREAD} and {MAX_MEMORY_PER_THREAD}",
                    self.writer_threads
                ),
            });
        }
        Ok(())
    }
}

/// How far the index has followed the outbox, recorded in each commit.
///
/// Every entry up to `head` is applied, except that an entry numbered below the head may become
/// visible late (its transaction committed after a later one's): a follower re-reads a window
/// below the head, and `applied_below` lists the entries of that window already applied, so that
/// a restarted follower does not apply them (a bulk import's whole range, say) a second time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    pub head: u64,
    pub applied_below: Vec<u64>,
}

impl From<u64> for Position {
    fn from(head: u64) -> Self {
        Position {
            head,
            applied_below: Vec::new(),
        }
    }
}

/// What the index records in each commit.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    schema_version: u32,
    #[serde(default)]
    outbox_position: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    applied_below: Vec<u64>,
}

struct WriterState {
    writer: IndexWriter<TantivyDocument>,
    /// Hashes of the product ids added since the last commit (a superset is harmless, so two
    /// ids with one hash only cost a needless delete): an upserted id that is neither here nor in
    /// the committed index needs no delete, which keeps bulk loads of new products as fast as a
    /// rebuild. Eight bytes an id, where the ids themselves took about sixty.
    added_since_commit: HashSet<u64, IdHash>,
}

/// The catalogue index: one per process (one writer per index directory), shared by the
/// process's request handlers (`Arc<SearchIndex>`; all methods take `&self`).
///
/// Changes ([`upsert`](Self::upsert), [`delete`](Self::delete)) become visible to
/// [`search`](Self::search) at the next [`commit`](Self::commit) or
/// [`commit_at`](Self::commit_at). Searching and indexing are CPU-bound and synchronous: call
/// them from `spawn_blocking` in async code.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    writer: Mutex<WriterState>,
    /// The committed outbox position, apart from the writer so that reading it never waits for
    /// a rebuild.
    applied: Mutex<Option<Position>>,
    path: Option<PathBuf>,
    analyzers: QueryAnalyzers,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .field("num_docs", &self.num_docs())
            .field("last_applied", &self.last_applied())
            .finish()
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Lz4,
        ..IndexSettings::default()
    }
}

fn read_payload(index: &Index) -> Result<Option<Payload>> {
    let metas = index.load_metas()?;
    match metas.payload {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Payload(format!("{e}: {text:?}"))),
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the directory and an empty index when there is none.
    ///
    /// The directory belongs to the index. If it holds an index written with another
    /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION) (or another schema), it is cleared and recreated
    /// empty; [`last_applied`](Self::last_applied) is then `None`, telling the caller to
    /// [`rebuild`](Self::rebuild). Fails with [`Error::Locked`] if another writer (another
    /// process) has the directory.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_or_create_with(dir, &IndexOptions::default())
    }

    /// [`open_or_create`](Self::open_or_create) with explicit writer options.
    pub fn open_or_create_with(dir: impl AsRef<Path>, options: &IndexOptions) -> Result<Self> {
        options.check()?;
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let (schema, fields) = schema::build();
        let directory = MmapDirectory::open(dir).map_err(|e| Error::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(e),
        })?;
        let exists = Index::exists(&directory).map_err(|e| Error::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(e),
        })?;
        let mut existing = None;
        if exists {
            let index = Index::open(directory.clone())?;
            let compatible = index.schema() == schema
                && matches!(read_payload(&index), Ok(Some(ref p)) if p.schema_version == schema::SCHEMA_VERSION);
            if compatible {
                existing = Some(index);
            } else {
                // Take the writer lock before clearing, so that a directory in use by another
                // process is never removed from under it.
                let writer = index
                    .writer_with_num_threads::<TantivyDocument>(1, MIN_MEMORY_PER_THREAD)
                    .map_err(|e| lock_error(e, dir))?;
                drop(writer);
                drop(index);
                drop(directory);
                std::fs::remove_dir_all(dir).map_err(io_error(dir))?;
                std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
        }
        let index = match existing {
            Some(index) => index,
            None => {
                let directory = MmapDirectory::open(dir).map_err(|e| Error::Io {
                    path: dir.to_owned(),
                    source: std::io::Error::other(e),
                })?;
                Index::builder()
                    .schema(schema)
                    .settings(settings())
                    .open_or_create(directory)?
            }
        };
        Self::from_index(index, fields, options, Some(dir.to_owned()))
    }

    /// An index in memory, for tests and tools (one indexing thread, 32 MB).
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema::build();
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .create_in_ram()?;
        let options = IndexOptions {
            writer_memory_bytes: 32_000_000,
            writer_threads: 1,
        };
        Self::from_index(index, fields, &options, None)
    }

    fn from_index(
        index: Index,
        fields: Fields,
        options: &IndexOptions,
        path: Option<PathBuf>,
    ) -> Result<Self> {
        analysis::register(&index);
        let lock_path = path.clone().unwrap_or_default();
        let writer = index
            .writer_with_num_threads(options.writer_threads, options.writer_memory_bytes)
            .map_err(|e| lock_error(e, &lock_path))?;
        let last_applied = read_payload(&index)?.and_then(|p| {
            p.outbox_position.map(|head| Position {
                head,
                applied_below: p.applied_below,
            })
        });
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut analyzers = QueryAnalyzers::new();
        // Load jieba's dictionary now rather than on the first query.
        let _ = analysis::tokens(&mut analyzers.zh, "龙眼");
        let search = SearchIndex {
            index,
            reader,
            fields,
            writer: Mutex::new(WriterState {
                writer,
                added_since_commit: HashSet::default(),
            }),
            applied: Mutex::new(last_applied),
            path,
            analyzers,
        };
        // A fresh index gets a first commit, so that its payload names the schema version.
        if read_payload(&search.index)?.is_none() {
            search.commit()?;
        }
        Ok(search)
    }

    /// The index directory, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of products visible to searches (as of the last commit).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The outbox position recorded by the last commit: events up to it are in the index.
    /// `None` for a new or recreated index, which needs a [`rebuild`](Self::rebuild).
    pub fn last_applied(&self) -> Option<u64> {
        self.position().map(|p| p.head)
    }

    /// The whole position recorded by the last commit (see [`Position`]).
    pub fn position(&self) -> Option<Position> {
        self.applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn lock(&self) -> MutexGuard<'_, WriterState> {
        // A panic while holding the lock cannot leave the writer half-updated in a way a later
        // commit or rollback does not handle, so a poisoned lock is used as is.
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds the documents, replacing any indexed product with the same id. Idempotent. All
    /// documents are validated first: if one is invalid, none is added. Visible after the next
    /// commit. Each document goes to the writer as it is built, so a batch costs no more memory
    /// than its documents.
    pub fn upsert(&self, docs: &[ProductDocument]) -> Result<()> {
        let mut checked = Vec::with_capacity(docs.len());
        for doc in docs {
            checked.push(doc.check()?);
        }
        if checked.is_empty() {
            return Ok(());
        }
        let mut state = self.lock();
        // Taken under the writer lock: commits (which reload the reader) cannot slip in between.
        let searcher = self.reader.searcher();
        for checked in &checked {
            let id = &checked.doc.product_id;
            let term = Term::from_field_text(self.fields.product_id, id);
            let fresh = state.added_since_commit.insert(id_key(id));
            if !fresh || searcher.doc_freq(&term)? > 0 {
                state.writer.delete_term(term);
            }
            state
                .writer
                .add_document(self.fields.build_document(checked))?;
        }
        Ok(())
    }

    /// Removes the products with these ids (unknown ids are ignored). Idempotent. Visible after
    /// the next commit.
    pub fn delete<I, S>(&self, product_ids: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let ops: Vec<UserOperation<TantivyDocument>> = product_ids
            .into_iter()
            .map(|id| {
                UserOperation::Delete(Term::from_field_text(self.fields.product_id, id.as_ref()))
            })
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        self.lock().writer.run(ops)?;
        Ok(())
    }

    /// Commits pending changes, keeping the recorded outbox position, and makes them visible.
    pub fn commit(&self) -> Result<()> {
        let mut state = self.lock();
        let position = self.position();
        self.commit_locked(&mut state, position)
    }

    /// Commits pending changes together with the outbox position they bring the index up to, in
    /// one atomic commit, and makes them visible. After a crash, the index reopens at the last
    /// such commit and [`last_applied`](Self::last_applied) says where to resume.
    pub fn commit_at(&self, position: impl Into<Position>) -> Result<()> {
        let mut state = self.lock();
        self.commit_locked(&mut state, Some(position.into()))
    }

    /// Drops the changes made since the last commit.
    pub fn rollback(&self) -> Result<()> {
        let mut state = self.lock();
        state.writer.rollback()?;
        state.added_since_commit.clear();
        Ok(())
    }

    fn commit_locked(&self, state: &mut WriterState, position: Option<Position>) -> Result<()> {
        let payload = serde_json::to_string(&Payload {
            schema_version: schema::SCHEMA_VERSION,
            outbox_position: position.as_ref().map(|p| p.head),
            applied_below: position
                .as_ref()
                .map(|p| p.applied_below.clone())
                .unwrap_or_default(),
        })
        .map_err(|e| Error::Payload(e.to_string()))?;
        let mut prepared = state.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        state.added_since_commit.clear();
        // The reader first, then the position: an answer found at a position (and kept under it
        // by the server's cache) then always includes everything up to that position.
        self.reader.reload()?;
        *self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = position;
        Ok(())
    }

    /// Replaces the whole index with `docs` and records `position`, the outbox position the
    /// documents are current as of (read it before reading the products; later events are then
    /// applied on top, idempotently). Searches see the old index until the new one is committed
    /// at the end. Returns the number of documents indexed. On an invalid document nothing
    /// changes. Pending uncommitted changes are discarded.
    pub fn rebuild<I>(&self, docs: I, position: impl Into<Position>) -> Result<u64>
    where
        I: IntoIterator<Item = ProductDocument>,
    {
        self.try_rebuild(docs.into_iter().map(Ok::<_, Infallible>), position)
    }

    /// [`rebuild`](Self::rebuild) from a fallible source (e.g. rows streamed from the store);
    /// a source error aborts the rebuild with [`Error::Source`] and nothing changes.
    pub fn try_rebuild<I, E>(&self, docs: I, position: impl Into<Position>) -> Result<u64>
    where
        I: IntoIterator<Item = std::result::Result<ProductDocument, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let position = position.into();
        let mut state = self.lock();
        let added = (|| {
            state.writer.delete_all_documents()?;
            let mut added = 0u64;
            for doc in docs {
                let doc = doc.map_err(|e| Error::Source(e.into()))?;
                let checked = doc.check()?;
                state
                    .writer
                    .add_document(self.fields.build_document(&checked))?;
                added += 1;
            }
            Ok::<_, Error>(added)
        })();
        let outcome = added.and_then(|added| {
            self.commit_locked(&mut state, Some(position))
                .map(|()| added)
        });
        if outcome.is_err() {
            // Back to the last commit: the old index, untouched.
            let _ = state.writer.rollback();
            state.added_since_commit.clear();
        }
        outcome
    }

    /// Runs a search. Bad requests are [`Error::InvalidRequest`] naming the field.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let checked = request.check()?;
        let mut analyzers = self.analyzers.clone();
        let text = self.text_query(&request.text, &mut analyzers)?;
        let filters = self.filter_queries(request, &checked);
        let query = combine(text.as_deref(), &filters, None);
        let searcher = self.reader.searcher();

        let wants = |f: FacetField| request.facets.contains(&f);
        let filtered = |f: FacetField| filters.iter().any(|(dim, _)| *dim == Some(f));
        // Facets counted with the main query: category always, the others when their own filter
        // is not set (otherwise they get a query without it, below).
        let inline = |f: FacetField| wants(f) && (f == FacetField::Category || !filtered(f));
        let category_root = Facet::from_path(&request.filters.category);
        let side = (
            Count,
            (
                inline(FacetField::Origin).then(|| facet_collector(ORIGIN, Facet::root())),
                inline(FacetField::Category)
                    .then(|| facet_collector(CATEGORY, category_root.clone())),
                inline(FacetField::Kind).then(|| facet_collector(KIND, Facet::root())),
                inline(FacetField::Channel).then(|| facet_collector(CHANNEL, Facet::root())),
            ),
        );
        let top = TopDocs::with_limit(request.limit).and_offset(request.offset);
        let by_score = text.is_some() && request.sort == Sort::Relevance;
        let (hits, (total, (origin, category, kind, channel))) = if by_score {
            let (top, side) = searcher.search(&*query, &(top.order_by_score(), side))?;
            let hits: Vec<_> = top.into_iter().map(|(s, a)| (Some(s), a)).collect();
            (hits, side)
        } else if matches!(request.sort, Sort::PriceAsc | Sort::PriceDesc) {
            let order = if request.sort == Sort::PriceAsc {
                Order::Asc
            } else {
                Order::Desc
            };
            let collector = (top.order_by_fast_field::<u64>(PRICE, order), side);
            let (top, side) = searcher.search(&*query, &collector)?;
            (top.into_iter().map(|(_, a)| (None, a)).collect(), side)
        } else {
            let collector = (
                top.order_by_fast_field::<i64>(CREATED_AT, Order::Desc),
                side,
            );
            let (top, side) = searcher.search(&*query, &collector)?;
            (top.into_iter().map(|(_, a)| (None, a)).collect(), side)
        };

        let disjunctive = |f: FacetField, field: &str| -> Result<Option<Vec<FacetCount>>> {
            if !wants(f) || !filtered(f) {
                return Ok(None);
            }
            let query = combine(text.as_deref(), &filters, Some(f));
            let counts = searcher.search(&*query, &facet_collector(field, Facet::root()))?;
            Ok(Some(facet_counts(&counts, &Facet::root())))
        };
        let facets = Facets {
            origin: match origin {
                Some(counts) => Some(facet_counts(&counts, &Facet::root())),
                None => disjunctive(FacetField::Origin, ORIGIN)?,
            },
            category: category.map(|counts| facet_counts(&counts, &category_root)),
            kind: match kind {
                Some(counts) => Some(facet_counts(&counts, &Facet::root())),
                None => disjunctive(FacetField::Kind, KIND)?,
            },
            channel: match channel {
                Some(counts) => Some(facet_counts(&counts, &Facet::root())),
                None => disjunctive(FacetField::Channel, CHANNEL)?,
            },
        };

        let hits = hits
            .into_iter()
            .map(|(score, address)| self.hit(&searcher, address, score, request.locale))
            .collect::<Result<Vec<_>>>()?;
        let end = request.offset + hits.len();
        let next_offset = (!hits.is_empty() && end < total && end <= MAX_OFFSET).then_some(end);
        Ok(SearchResults {
            total,
            hits,
            next_offset,
            facets,
        })
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        score: Option<f32>,
        locale: Locale,
    ) -> Result<SearchHit> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let (title, title_locale) = std::iter::once(locale)
            .chain(Locale::ALL)
            .find_map(|l| {
                doc.get_first(self.fields.titles[schema::slot(l)])
                    .and_then(|v| v.as_str())
                    .filter(|t| !t.is_empty())
                    .map(|t| (t.to_owned(), l))
            })
            .unwrap_or((String::new(), locale));
        Ok(SearchHit {
            product_id: text(self.fields.product_id),
            score,
            title,
            title_locale,
            seller_id: text(self.fields.seller_id),
            seller_name: text(self.fields.seller_name),
            origin: text(self.fields.origin_code),
            kind: ProductKind::parse(&text(self.fields.kind_code)).unwrap_or(ProductKind::Goods),
            price_minor: doc.get_first(self.fields.price).and_then(|v| v.as_u64()),
        })
    }

    /// Every query word must match in at least one field; within a field, all of the word's
    /// tokens under that field's analyser must be present.
    fn text_query(
        &self,
        text: &str,
        analyzers: &mut QueryAnalyzers,
    ) -> Result<Option<Box<dyn Query>>> {
        let words = analysis::query_words(text, &mut analyzers.zh);
        if words.len() > MAX_QUERY_WORDS {
            return Err(Error::request(
                "text",
                format!("has more than {MAX_QUERY_WORDS} words"),
            ));
        }
        let f = &self.fields;
        let mut must: Vec<Box<dyn Query>> = Vec::with_capacity(words.len());
        for word in &words {
            let mut should: Vec<Box<dyn Query>> = Vec::new();
            for locale in LOCALES {
                let tokens = analysis::tokens(analyzers.for_locale(locale), word);
                let slot = schema::slot(locale);
                push_field(&mut should, f.titles[slot], &tokens, TITLE_BOOST);
                push_field(
                    &mut should,
                    f.descriptions[slot],
                    &tokens,
                    DESCRIPTION_BOOST,
                );
            }
            let tokens = analysis::tokens(&mut analyzers.generic, word);
            push_field(&mut should, f.seller_name, &tokens, SELLER_BOOST);
            push_field(&mut should, f.category_text, &tokens, CATEGORY_BOOST);
            if (2..=10).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit()) {
                push_field(
                    &mut should,
                    f.hs_prefix,
                    std::slice::from_ref(word),
                    DESCRIPTION_BOOST,
                );
            }
            if !should.is_empty() {
                must.push(Box::new(BooleanQuery::union(should)));
            }
        }
        Ok(match must.len() {
            0 => None,
            1 => must.pop(),
            _ => Some(Box::new(BooleanQuery::intersection(must))),
        })
    }

    fn filter_queries(
        &self,
        request: &SearchRequest,
        checked: &crate::request::Checked,
    ) -> Vec<(Option<FacetField>, Box<dyn Query>)> {
        let f = &self.fields;
        let r = &request.filters;
        let mut filters: Vec<(Option<FacetField>, Box<dyn Query>)> = Vec::new();
        let mut add = |dim: Option<FacetField>, terms: Vec<Term>| {
            if let Some(query) = any_of(terms) {
                filters.push((dim, Box::new(ConstScoreQuery::new(query, 0.0))));
            }
        };
        let facet_terms = |field: Field, values: &mut dyn Iterator<Item = &str>| -> Vec<Term> {
            values
                .map(|v| Term::from_facet(field, &schema::value_facet(v)))
                .collect()
        };
        add(
            Some(FacetField::Origin),
            facet_terms(f.origin, &mut checked.origins.iter().map(String::as_str)),
        );
        add(
            Some(FacetField::Kind),
            facet_terms(f.kind, &mut r.kinds.iter().map(|k| k.as_str())),
        );
        add(
            Some(FacetField::Channel),
            facet_terms(f.channel, &mut r.channels.iter().map(|c| c.as_str())),
        );
        if !r.category.is_empty() {
            add(
                Some(FacetField::Category),
                vec![Term::from_facet(f.category, &Facet::from_path(&r.category))],
            );
        }
        if let Some(destination) = &checked.destination {
            add(
                None,
                vec![Term::from_field_text(f.destination, destination)],
            );
        }
        if let Some(pavilion) = &r.pavilion {
            add(None, vec![Term::from_field_text(f.pavilion, pavilion)]);
        }
        if let Some(seller) = &r.seller_id {
            add(None, vec![Term::from_field_text(f.seller_id, seller)]);
        }
        if let Some(prefix) = &checked.hs_prefix {
            add(None, vec![Term::from_field_text(f.hs_prefix, prefix)]);
        }
        if r.price_min.is_some() || r.price_max.is_some() {
            let bound = |v: Option<u64>| match v {
                Some(v) => std::ops::Bound::Included(Term::from_field_u64(f.price, v)),
                None => std::ops::Bound::Unbounded,
            };
            let range = RangeQuery::new(bound(r.price_min), bound(r.price_max));
            filters.push((None, Box::new(ConstScoreQuery::new(Box::new(range), 0.0))));
        }
        filters
    }
}

/// The key of a product id in [`WriterState::added_since_commit`]. A fast hash (not one that
/// resists chosen collisions) is enough: a collision only costs a needless delete.
fn id_key(id: &str) -> u64 {
    use std::hash::BuildHasher;
    IdHash::default().hash_one(id.as_bytes())
}

/// One fixed hash function for ids, and for the set of their keys.
type IdHash = foldhash::fast::FixedState;

fn lock_error(error: TantivyError, path: &Path) -> Error {
    match error {
        TantivyError::LockFailure(..) => Error::Locked {
            path: path.to_owned(),
        },
        other => Error::Tantivy(other),
    }
}

fn term_query(term: Term, option: IndexRecordOption) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, option))
}

fn any_of(terms: Vec<Term>) -> Option<Box<dyn Query>> {
    let mut queries: Vec<Box<dyn Query>> = terms
        .into_iter()
        .map(|t| term_query(t, IndexRecordOption::Basic))
        .collect();
    match queries.len() {
        0 => None,
        1 => queries.pop(),
        _ => Some(Box::new(BooleanQuery::union(queries))),
    }
}

fn push_field(should: &mut Vec<Box<dyn Query>>, field: Field, tokens: &[String], boost: f32) {
    let mut terms: Vec<Box<dyn Query>> = tokens
        .iter()
        .map(|t| {
            term_query(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqs,
            )
        })
        .collect();
    let query = match terms.len() {
        0 => return,
        1 => terms.pop(),
        _ => Some(Box::new(BooleanQuery::intersection(terms)) as Box<dyn Query>),
    };
    if let Some(query) = query {
        should.push(Box::new(BoostQuery::new(query, boost)));
    }
}

fn combine(
    text: Option<&dyn Query>,
    filters: &[(Option<FacetField>, Box<dyn Query>)],
    without: Option<FacetField>,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(text) = text {
        clauses.push((Occur::Must, text.box_clone()));
    }
    for (dim, filter) in filters {
        if without.is_some() && *dim == without {
            continue;
        }
        clauses.push((Occur::Must, filter.box_clone()));
    }
    if clauses.is_empty() {
        Box::new(AllQuery)
    } else {
        Box::new(BooleanQuery::new(clauses))
    }
}

fn facet_collector(field: &str, root: Facet) -> FacetCollector {
    let mut collector = FacetCollector::for_field(field);
    collector.add_facet(root);
    collector
}

fn facet_counts(counts: &FacetCounts, root: &Facet) -> Vec<FacetCount> {
    let mut out: Vec<FacetCount> = counts
        .get(root.clone())
        .filter_map(|(facet, count)| {
            facet.to_path().last().map(|value| FacetCount {
                value: (*value).to_owned(),
                count,
            })
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out.truncate(MAX_FACET_VALUES);
    out
}
