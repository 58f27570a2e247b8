//! Answers of recent searches, so that a popular query or pavilion page is counted once, not once
//! per buyer.
//!
//! An answer is keyed by the whole request and by the outbox position of the index that found it:
//! - at the same position and younger than [`FRESH_FOR`], it is served as it is;
//! - at the same position but older, it is still served, and one background search replaces it
//!   (dates matter to market access, so an answer is not kept for ever even when nothing moved);
//! - at another position, or missing, it is searched for now, and requests for the same answer
//!   that arrive meanwhile wait for that one search instead of starting their own.
//!
//! So a page everyone reads is counted at most once per [`FRESH_FOR`] and never makes a buyer
//! wait for its recount, while a change to the catalogue shows on the next request.

use pavilion_search::{Error, SearchIndex, SearchRequest, SearchResults};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long an answer is served without a recount.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// Answers kept; past it, the oldest half is dropped.
const CAPACITY: usize = 4096;

type Answer = Arc<SearchResults>;

struct Entry {
    found_at: Instant,
    position: Option<u64>,
    answer: Answer,
    refreshing: bool,
}

#[derive(Default)]
struct Inner {
    answers: Mutex<HashMap<String, Entry>>,
    /// Searches under way, by key, that later requests for the same answer join.
    in_flight: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
}

#[derive(Clone, Default)]
pub struct SearchCache {
    inner: Arc<Inner>,
}

enum Lookup {
    Fresh(Answer),
    /// Served, and this caller starts the one recount.
    Stale(Answer),
    Missing,
}

impl SearchCache {
    /// The answer to `request` on `index` (see the module comment).
    pub async fn search(
        &self,
        index: Arc<SearchIndex>,
        request: SearchRequest,
    ) -> Result<Answer, Error> {
        let key = serde_json::to_string(&request).map_err(|e| Error::Source(e.into()))?;
        let position = index.last_applied();
        match self.lookup(&key, position) {
            Lookup::Fresh(answer) => Ok(answer),
            Lookup::Stale(answer) => {
                let cache = self.clone();
                tokio::spawn(async move {
                    // A failed recount leaves the old answer to be retried by a later request.
                    let found = run(index, request).await;
                    cache.settle(key, position, found.ok());
                });
                Ok(answer)
            }
            Lookup::Missing => self.search_once(key, position, index, request).await,
        }
    }

    fn lookup(&self, key: &str, position: Option<u64>) -> Lookup {
        let mut answers = self
            .inner
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match answers.get_mut(key) {
            Some(e) if e.position == position && e.found_at.elapsed() < FRESH_FOR => {
                Lookup::Fresh(e.answer.clone())
            }
            Some(e) if e.position == position && e.refreshing => Lookup::Fresh(e.answer.clone()),
            Some(e) if e.position == position => {
                e.refreshing = true;
                Lookup::Stale(e.answer.clone())
            }
            _ => Lookup::Missing,
        }
    }

    /// Searches, or joins the search for the same key already under way.
    async fn search_once(
        &self,
        key: String,
        position: Option<u64>,
        index: Arc<SearchIndex>,
        request: SearchRequest,
    ) -> Result<Answer, Error> {
        let cell = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        let found = cell.get_or_try_init(|| run(index, request)).await.cloned();
        if let Ok(answer) = &found {
            self.settle(key.clone(), position, Some(answer.clone()));
        }
        let mut in_flight = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if in_flight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            in_flight.remove(&key);
        }
        found
    }

    /// Records a new answer (or, with none, lets a later request try the recount again).
    fn settle(&self, key: String, position: Option<u64>, answer: Option<Answer>) {
        let mut answers = self
            .inner
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(answer) = answer else {
            if let Some(e) = answers.get_mut(&key) {
                e.refreshing = false;
            }
            return;
        };
        if answers.len() >= CAPACITY && !answers.contains_key(&key) {
            drop_oldest_half(&mut answers);
        }
        answers.insert(
            key,
            Entry {
                found_at: Instant::now(),
                position,
                answer,
                refreshing: false,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn drop_oldest_half(answers: &mut HashMap<String, Entry>) {
    let mut ages: Vec<Instant> = answers.values().map(|e| e.found_at).collect();
    ages.sort_unstable();
    let cutoff = ages[ages.len() / 2];
    answers.retain(|_, e| e.found_at > cutoff);
}

async fn run(index: Arc<SearchIndex>, request: SearchRequest) -> Result<Answer, Error> {
    tokio::task::spawn_blocking(move || index.search(&request))
        .await
        .map_err(|e| Error::Source(e.to_string().into()))?
        .map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(age: Duration) -> Entry {
        Entry {
            found_at: Instant::now() - age,
            position: Some(1),
            answer: Arc::new(SearchResults::default()),
            refreshing: false,
        }
    }

    #[test]
    fn an_old_answer_at_the_same_position_is_served_once_while_one_recount_runs() {
        let cache = SearchCache::default();
        cache
            .inner
            .answers
            .lock()
            .unwrap()
            .insert("k".into(), entry(FRESH_FOR * 2));
        assert!(matches!(cache.lookup("k", Some(1)), Lookup::Stale(_)));
        // The recount is under way: others get the old answer without starting another.
        assert!(matches!(cache.lookup("k", Some(1)), Lookup::Fresh(_)));
        // A failed recount lets the next request try again.
        cache.settle("k".into(), Some(1), None);
        assert!(matches!(cache.lookup("k", Some(1)), Lookup::Stale(_)));
    }

    #[test]
    fn an_answer_from_another_position_is_not_served() {
        let cache = SearchCache::default();
        cache
            .inner
            .answers
            .lock()
            .unwrap()
            .insert("k".into(), entry(Duration::ZERO));
        assert!(matches!(cache.lookup("k", Some(1)), Lookup::Fresh(_)));
        assert!(matches!(cache.lookup("k", Some(2)), Lookup::Missing));
        assert!(matches!(cache.lookup("other", Some(1)), Lookup::Missing));
    }

    #[test]
    fn a_full_cache_drops_its_oldest_half() {
        let cache = SearchCache::default();
        {
            let mut answers = cache.inner.answers.lock().unwrap();
            for i in 0..CAPACITY {
                answers.insert(format!("k{i}"), entry(Duration::from_millis(i as u64)));
            }
        }
        cache.settle(
            "new".into(),
            Some(1),
            Some(Arc::new(SearchResults::default())),
        );
        assert!(cache.len() <= CAPACITY / 2 + 1);
        let answers = cache.inner.answers.lock().unwrap();
        assert!(answers.contains_key("new"));
        // The youngest survive.
        assert!(answers.contains_key("k0"));
        assert!(!answers.contains_key(&format!("k{}", CAPACITY - 1)));
    }
}
