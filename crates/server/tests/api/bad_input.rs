//! One test per class of bad input: each gets a 4xx problem+json naming the field, never a 500.

use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

fn sign_up_body() -> serde_json::Value {
    json!({"email": "new@x.test", "password": PASSWORD, "display_name": "New", "role": "seller",
           "organisation": {"name": "New Exports", "country": "KH"}})
}

async fn post_sign_up(app: &TestApp, body: serde_json::Value) -> reqwest::Response {
    browser()
        .post(app.url("/auth/sign-up"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

on_both_backends! {
    async fn malformed_json_is_400(app: TestApp) {
        let res = browser().post(app.url("/auth/sign-up"))
            .header("content-type", "application/json").body("{\"email\": ").send().await.unwrap();
        expect_problem(res, StatusCode::BAD_REQUEST, None).await;
    }

    async fn a_body_that_is_not_json_is_415(app: TestApp) {
        let res = browser().post(app.url("/auth/sign-up"))
            .header("content-type", "text/plain").body("email=x").send().await.unwrap();
        expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")).await;
    }

    async fn wrong_types_name_the_field(app: TestApp) {
        let mut body = sign_up_body();
        body["organisation"]["name"] = json!(42);
        expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("organisation.name")).await;
    }

    async fn unknown_fields_are_refused(app: TestApp) {
        let mut body = sign_up_body();
        body["is_admin"] = json!(true);
        expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("is_admin")).await;
    }

    async fn missing_fields_are_named(app: TestApp) {
        let mut body = sign_up_body();
        body.as_object_mut().unwrap().remove("email");
        expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("email")).await;
    }

    async fn bodies_over_the_limit_are_413(app: TestApp) {
        let mut body = sign_up_body();
        body["display_name"] = json!("x".repeat(20 * 1024));
        expect_problem(post_sign_up(&app, body).await, StatusCode::PAYLOAD_TOO_LARGE, None).await;
    }

    async fn invalid_iso_codes_are_refused(app: TestApp) {
        for bad in ["XX", "kh", "KHM"] {
            let mut body = sign_up_body();
            body["organisation"]["country"] = json!(bad);
            let problem = expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("organisation.country")).await;
            assert!(problem["detail"].as_str().unwrap().contains("ISO 3166-1"), "{problem}");
        }
    }

    async fn over_long_strings_are_refused(app: TestApp) {
        let mut body = sign_up_body();
        body["display_name"] = json!("x".repeat(201));
        let problem = expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("display_name")).await;
        assert!(problem["detail"].as_str().unwrap().contains("200"), "{problem}");
    }

    async fn invalid_emails_and_short_passwords_are_refused(app: TestApp) {
        let mut body = sign_up_body();
        body["email"] = json!("not-an-email");
        expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("email")).await;
        let mut body = sign_up_body();
        body["password"] = json!("short");
        expect_problem(post_sign_up(&app, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("password")).await;
    }

    async fn negative_numbers_are_refused(app: TestApp) {
        let (seller, _) = app.seller("neg@x.test", "KH").await;
        let res = seller.post(app.url("/tokens")).json(&json!({"name": "t", "expires_in_days": -5})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("expires_in_days")).await;
    }

    async fn bad_path_and_query_parameters_are_named(app: TestApp) {
        let admin = app.admin().await;
        let res = admin.get(app.url("/organisations/not-a-uuid")).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
        let res = admin.get(app.url("/organisations?limit=0")).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("limit")).await;
        let res = admin.get(app.url("/organisations?country=XX")).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("country")).await;
        let res = admin.get(app.url("/organisations?colour=red")).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, None).await;
        let res = admin.patch(app.url("/organisations/0190f3f0-0000-7000-8000-000000000000"))
            .header("If-Match", "yesterday").json(&json!({})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("If-Match")).await;
    }

    async fn unknown_routes_and_methods_are_problems_too(app: TestApp) {
        let res = browser().get(app.url("/api/v1/nothing-here")).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
        let res = browser().delete(app.url("/me")).send().await.unwrap();
        expect_problem(res, StatusCode::METHOD_NOT_ALLOWED, None).await;
    }
}
