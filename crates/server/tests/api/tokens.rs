use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends! {
    async fn a_revoked_token_stops_working_at_once(app: TestApp) {
        let (seller, _) = app.seller("seller@tokens.test", "RW").await;
        let token = app.token(&seller).await;
        let api = reqwest::Client::new();
        let me = api.get(app.url("/me")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);

        let listed: Vec<Value> = seller.get(app.url("/tokens")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].get("token").is_none(), "the secret is shown only once");
        assert!(token.starts_with(listed[0]["prefix"].as_str().unwrap()));
        let id = listed[0]["id"].as_str().unwrap();

        let res = seller.delete(app.url(&format!("/tokens/{id}"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let me = api.get(app.url("/me")).bearer_auth(&token).send().await.unwrap();
        expect_problem(me, StatusCode::UNAUTHORIZED, Some("Authorization")).await;
    }

    async fn a_user_cannot_revoke_or_list_someone_elses_tokens(app: TestApp) {
        let (alice, _) = app.seller("alice@tokens.test", "KH").await;
        let (bob, _) = app.seller("bob@tokens.test", "KH").await;
        app.token(&alice).await;
        let alices: Vec<Value> = alice.get(app.url("/tokens")).send().await.unwrap().json().await.unwrap();
        let id = alices[0]["id"].as_str().unwrap();
        let res = bob.delete(app.url(&format!("/tokens/{id}"))).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
        let bobs: Vec<Value> = bob.get(app.url("/tokens")).send().await.unwrap().json().await.unwrap();
        assert!(bobs.is_empty());
    }

    async fn tokens_are_stored_only_as_hashes_and_garbage_tokens_get_401(app: TestApp) {
        let (seller, _) = app.seller("hash@tokens.test", "KH").await;
        let token = app.token(&seller).await;
        let rows: Vec<(String,)> = sqlx_rows(&app, "SELECT token_hash FROM api_tokens").await;
        assert!(rows.iter().all(|(h,)| h.len() == 64 && !h.contains(&token)));
        let api = reqwest::Client::new();
        let res = api.get(app.url("/me")).bearer_auth("pvl_not-a-real-token").send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, Some("Authorization")).await;
        let res = api.get(app.url("/me")).header("Authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, Some("Authorization")).await;
        let res = api.post(app.url("/tokens")).bearer_auth(&token)
            .json(&json!({"name": "x", "expires_in_days": 0})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("expires_in_days")).await;
    }
}

pub async fn sqlx_rows(app: &TestApp, sql: &'static str) -> Vec<(String,)> {
    sqlx::query_as(sql)
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}
