use pavilion_store::on_both_backends;
use pavilion_store::sessions::DatabaseSessionStore;
use pavilion_store::testing::StoreFixture;
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

fn record(expires_in: Duration) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert(
        "user_id".to_owned(),
        serde_json::json!("0190f3f0-0000-7000-8000-000000000000"),
    );
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    }
}

on_both_backends! {
    async fn sessions_are_shared_between_processes_and_expire(fx: StoreFixture) {
        let here = DatabaseSessionStore::new(fx.store.clone());
        let there = DatabaseSessionStore::new(fx.db.store().await);
        let mut live = record(Duration::hours(1));
        here.create(&mut live).await.unwrap();
        let loaded = there.load(&live.id).await.unwrap().expect("visible to another process");
        assert_eq!(loaded.data, live.data);

        live.data.insert("k".into(), serde_json::json!(1));
        there.save(&live).await.unwrap();
        assert_eq!(here.load(&live.id).await.unwrap().unwrap().data.len(), 2);

        let mut stale = record(Duration::seconds(-5));
        here.create(&mut stale).await.unwrap();
        assert!(here.load(&stale.id).await.unwrap().is_none(), "expired sessions do not load");
        here.delete_expired().await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions").fetch_one(fx.store.pool()).await.unwrap();
        assert_eq!(n, 1);

        here.delete(&live.id).await.unwrap();
        assert!(there.load(&live.id).await.unwrap().is_none());
    }
}
