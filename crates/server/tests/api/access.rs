//! Every endpoint states who may call it; these tests hold the API to it.

use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends! {
    /// Walks the OpenAPI document: every operation that declares a security requirement
    /// answers 401 problem+json to a caller without credentials.
    async fn anonymous_callers_get_401_on_every_protected_operation(app: TestApp) {
        let doc: Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
        let client = reqwest::Client::new();
        let mut protected = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let description = op["description"].as_str().unwrap_or("");
                assert!(description.starts_with("Permission:"), "{method} {path} states no permission");
                if op.get("security").is_none() {
                    assert!(description.starts_with("Permission: public"), "{method} {path}");
                    continue;
                }
                protected += 1;
                let concrete = path.replace("{id}", "0190f3f0-0000-7000-8000-000000000000");
                let url = app.url(&format!("/api/v1{concrete}"));
                let req = client.request(method.to_uppercase().parse().unwrap(), &url);
                let req = if matches!(method.as_str(), "post" | "patch" | "put") { req.json(&json!({})) } else { req };
                let res = req.send().await.unwrap();
                expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
            }
        }
        assert!(protected >= 8, "only {protected} protected operations found");
    }

    async fn the_wrong_role_gets_403(app: TestApp) {
        let (seller, _) = app.seller("seller@a.test", "KH").await;
        let (consumer, _) = app.consumer("buyer@c.test").await;
        expect_problem(seller.get(app.url("/audit")).send().await.unwrap(), StatusCode::FORBIDDEN, None).await;
        let new_org = json!({"kind": "agency", "name": "Rogue agency", "country": "KH"});
        let res = seller.post(app.url("/organisations")).json(&new_org).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let res = consumer.get(app.url("/organisations")).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let new_user = json!({"email": "x@y.test", "password": PASSWORD, "display_name": "X",
                              "role": "admin", "organisation_id": null});
        let res = seller.post(app.url("/users")).json(&new_user).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
    }

    async fn a_sellers_token_cannot_reach_another_sellers_organisation(app: TestApp) {
        let (alice, alice_account) = app.seller("alice@longan.test", "KH").await;
        let (_, bob_account) = app.seller("bob@mango.test", "KH").await;
        let token = app.token(&alice).await;
        let api = reqwest::Client::new();
        let own = alice_account["organisation"]["id"].as_str().unwrap();
        let other = bob_account["organisation"]["id"].as_str().unwrap();

        let res = api.get(app.url(&format!("/organisations/{own}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let res = api.get(app.url(&format!("/organisations/{other}"))).bearer_auth(&token).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let res = api
            .patch(app.url(&format!("/organisations/{other}")))
            .bearer_auth(&token)
            .json(&json!({"name": "Hijacked"}))
            .send()
            .await
            .unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let stored = app.store.organisation(other.parse().unwrap()).await.unwrap();
        assert_eq!(stored.name.as_str(), "bob@mango.test exports");
    }

    async fn agency_officers_reach_only_their_own_countrys_sellers(app: TestApp) {
        let (_, kh) = app.seller("kh@seller.test", "KH").await;
        let (_, mx) = app.seller("mx@seller.test", "MX").await;
        let officer = app.officer("officer@moc.test", "KH").await;
        let kh_id = kh["organisation"]["id"].as_str().unwrap();
        let mx_id = mx["organisation"]["id"].as_str().unwrap();

        let res = officer.get(app.url(&format!("/organisations/{kh_id}"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = officer.get(app.url(&format!("/organisations/{mx_id}"))).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        let page: Value = officer.get(app.url("/organisations")).send().await.unwrap().json().await.unwrap();
        let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![kh_id]);
        let res = officer.get(app.url("/organisations?country=MX")).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
    }
}
