use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends! {
    async fn updates_use_etags_and_are_audited(app: TestApp) {
        let (seller, account) = app.seller("etag@x.test", "KH").await;
        let id = account["organisation"]["id"].as_str().unwrap().to_owned();
        let url = app.url(&format!("/organisations/{id}"));
        let res = seller.get(&url).send().await.unwrap();
        assert_eq!(res.headers()["etag"], "\"1\"");

        let res = seller.patch(&url).header("If-Match", "\"1\"")
            .json(&json!({"name": "Pailin Longan Packers"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], "\"2\"");

        let res = seller.patch(&url).header("If-Match", "\"1\"")
            .json(&json!({"name": "Stale write"})).send().await.unwrap();
        expect_problem(res, StatusCode::PRECONDITION_FAILED, None).await;

        let res = seller.patch(&url).json(&json!({"country": "TH"})).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, Some("country")).await;

        let admin = app.admin().await;
        let page: Value = admin.get(app.url(&format!("/audit?entity_type=organisation&entity_id={id}")))
            .send().await.unwrap().json().await.unwrap();
        let entries = page["items"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{page}");
        assert_eq!(entries[0]["action"], "organisation.update");
        assert_eq!(entries[0]["before"]["name"], "etag@x.test exports");
        assert_eq!(entries[0]["after"]["name"], "Pailin Longan Packers");
        assert_eq!(entries[0]["actor_user_id"], account["user"]["id"]);
        assert!(entries[0]["request_id"].is_string());
        assert_eq!(entries[1]["action"], "organisation.create");
    }

    async fn lists_are_paginated_with_cursors(app: TestApp) {
        for i in 0..5 {
            app.seller(&format!("s{i}@page.test"), "KH").await;
        }
        let admin = app.admin().await;
        let mut seen = Vec::new();
        let mut url = app.url("/organisations?kind=seller&limit=2");
        loop {
            let page: Value = admin.get(&url).send().await.unwrap().json().await.unwrap();
            seen.extend(page["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => url = app.url(&format!("/organisations?kind=seller&limit=2&cursor={c}")),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 5);
    }
}
