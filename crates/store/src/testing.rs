//! Test support: a fresh database on either backend, and one macro that runs a test on both.
//!
//! PostgreSQL tests need `PAVILION_TEST_PG_URL`, the URL of a server where the test user may
//! create databases (`scripts/test` starts a throwaway cluster and sets it). Each test gets a
//! database of its own, so tests run in parallel without seeing each other's rows.

use crate::{Backend, Store, StoreOptions};
use sqlx::{Connection, Executor};
use std::future::Future;

pub const PG_URL_VAR: &str = "PAVILION_TEST_PG_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/pavilion.db", dir.path().display());
                Self {
                    url,
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
                    panic!("{PG_URL_VAR} is not set: run the suite with scripts/test, which starts PostgreSQL")
                });
                sqlx::any::install_default_drivers();
                let name = format!("pavilion_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL");
                if !SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    drop_stale_databases(&mut admin).await;
                }
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    backend,
                    _dir: None,
                }
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

/// Whether this process has dropped the test databases left from earlier runs.
static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How old a test database must be before a later run drops it: far longer than any test.
const STALE_AFTER_SECONDS: u64 = 3600;

/// A test's database outlives it (dropping one needs every connection of the test's pool gone,
/// and those close in the background), so on a long-lived development cluster they pile up:
/// thousands of them, tens of gigabytes. The first test of each process drops those made over
/// an hour ago (their names carry the time they were made).
async fn drop_stale_databases(admin: &mut sqlx::AnyConnection) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'pavilion_test_%'",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for (name,) in names {
        if stale(&name, now) {
            // Another process may drop it first, or a leftover connection hold it: either way
            // the next run tries again.
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        }
    }
}

/// Whether `name` is a test database made more than [`STALE_AFTER_SECONDS`] before `now` (Unix
/// seconds); a name that does not carry its time is left alone.
fn stale(name: &str, now: u64) -> bool {
    name.strip_prefix("pavilion_test_")
        .and_then(|id| uuid::Uuid::try_parse(id).ok())
        .and_then(|id| id.get_timestamp())
        .is_some_and(|made| made.to_unix().0 + STALE_AFTER_SECONDS < now)
}

/// What a backend-parametrised test receives.
pub trait Fixture: Sized {
    fn start(backend: Backend) -> impl Future<Output = Self>;
}

/// A migrated store on a fresh database; the database lives as long as the fixture.
pub struct StoreFixture {
    pub store: Store,
    pub db: TestDatabase,
}

impl Fixture for StoreFixture {
    async fn start(backend: Backend) -> Self {
        let db = TestDatabase::create(backend).await;
        Self {
            store: db.store().await,
            db,
        }
    }
}

/// Runs one test body on SQLite and on PostgreSQL, as `name::sqlite` and `name::postgres`.
///
/// ```ignore
/// on_both_backends! {
///     async fn signs_up(fx: StoreFixture) { … }
/// }
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($( $(#[$meta:meta])* async fn $name:ident($fx:ident : $ty:ty) $body:block )*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn run($fx: $ty) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(<$ty as $crate::testing::Fixture>::start($crate::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(<$ty as $crate::testing::Fixture>::start($crate::Backend::Postgres).await).await
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_test_databases_over_an_hour_old_are_stale() {
        let made_at = |secs: u64| {
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, 0);
            format!("pavilion_test_{}", uuid::Uuid::new_v7(ts).simple())
        };
        let now = 1_800_000_000;
        assert!(stale(&made_at(now - STALE_AFTER_SECONDS - 1), now));
        assert!(!stale(&made_at(now - STALE_AFTER_SECONDS), now));
        assert!(!stale(&made_at(now - 5), now));
        assert!(!stale("pavilion_test_notauuid", now));
        assert!(!stale("postgres", now));
        // A UUID without a time in it (v4) is not a test database's name.
        assert!(!stale(
            &format!("pavilion_test_{}", uuid::Uuid::nil().simple()),
            now
        ));
    }
}
