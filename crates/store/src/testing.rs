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
