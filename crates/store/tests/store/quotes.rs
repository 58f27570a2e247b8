use pavilion_store::audit::AuditContext;
use pavilion_store::testing::StoreFixture;
use pavilion_store::{StoreError, Timestamp, on_both_backends};
use std::collections::BTreeMap;

on_both_backends! {
    async fn quotes_are_kept_as_quoted(fx: StoreFixture) {
        let input = serde_json::json!({"destination": "CN", "lines": []}).to_string();
        let output = serde_json::json!({"totals": {"landed": {"amount": "100.00", "currency": "CNY"}}}).to_string();
        let expires = Timestamp::now().checked_add(time::Duration::minutes(30)).unwrap();
        let saved = fx.store.save_quote(None, expires, input, output).await.unwrap();
        let loaded = fx.store.quote(saved.id).await.unwrap();
        assert_eq!(loaded, saved);
        assert!(matches!(fx.store.quote(uuid::Uuid::now_v7()).await, Err(StoreError::NotFound { .. })));
    }

    /// A quote's output is kept compressed; one written before that (as text) reads the same.
    async fn quote_outputs_are_kept_compressed_and_older_ones_still_read(fx: StoreFixture) {
        let lines: Vec<String> = (0..200).map(|i| format!("line {i}: duty at the MFN rate (CN tariff 2026)")).collect();
        let output = serde_json::json!({"explanation": lines}).to_string();
        let expires = Timestamp::now().checked_add(time::Duration::minutes(30)).unwrap();
        let saved = fx.store.save_quote(None, expires, "{}".into(), output.clone()).await.unwrap();
        let (text, packed): (String, i64) = sqlx::query_as(
            "SELECT output, CAST(LENGTH(output_lz4) AS BIGINT) FROM quotes WHERE id = $1",
        )
        .bind(saved.id.to_string())
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
        assert_eq!(text, "");
        assert!(packed > 0 && (packed as usize) < output.len() / 4, "{packed} of {}", output.len());
        assert_eq!(fx.store.quote(saved.id).await.unwrap(), saved);

        let older = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO quotes (id, created_at, expires_at, created_by, input, output) VALUES ($1, $2, $3, NULL, '{}', $4)",
        )
        .bind(older.to_string())
        .bind(saved.created_at.to_string())
        .bind(expires.to_string())
        .bind(output.clone())
        .execute(fx.store.pool())
        .await
        .unwrap();
        assert_eq!(fx.store.quote(older).await.unwrap().output, output);
    }

    /// Concurrent quotes through the writer land in shared transactions, every one of them.
    async fn the_quote_writer_batches_concurrent_quotes(fx: StoreFixture) {
        let writer = pavilion_store::quotes::QuoteWriter::spawn(fx.store.clone());
        let expires = Timestamp::now().checked_add(time::Duration::minutes(30)).unwrap();
        let saves = (0..100).map(|i| {
            let writer = writer.clone();
            let quote = pavilion_store::quotes::StoredQuote::new(None, expires, "{}".into(), format!("{{\"n\":{i}}}"));
            tokio::spawn(async move { writer.save(quote).await })
        });
        let mut ids = Vec::new();
        for save in saves.collect::<Vec<_>>() {
            ids.push(save.await.unwrap().unwrap().id);
        }
        for id in ids {
            assert!(fx.store.quote(id).await.is_ok());
        }
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM quotes").fetch_one(fx.store.pool()).await.unwrap();
        assert_eq!(n, 100);
    }

    async fn imported_rule_packs_replace_each_other_and_bump_the_version(fx: StoreFixture) {
        let ctx = AuditContext::default();
        assert_eq!(fx.store.rule_packs_version().await.unwrap(), 0);
        let files = BTreeMap::from([("tariffs.csv".to_owned(), "hs,rate\n".to_owned())]);
        fx.store.import_rule_pack(&ctx, "cn", &files).await.unwrap();
        let again = fx.store.import_rule_pack(&ctx, "cn", &files).await.unwrap();
        assert_eq!(again.version, 2);
        fx.store.import_rule_pack(&ctx, "eu", &files).await.unwrap();
        let (version, packs) = fx.store.imported_rule_packs().await.unwrap();
        assert_eq!(version, 3);
        assert_eq!(packs.iter().map(|p| p.pack.as_str()).collect::<Vec<_>>(), ["cn", "eu"]);
    }
}
