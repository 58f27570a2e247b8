use crate::helpers::*;
use crate::tokens::sqlx_rows;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends! {
    async fn sign_up_sign_in_and_sign_out_with_a_session_cookie(app: TestApp) {
        let (browser, account) = app.seller("dara@pailin.test", "KH").await;
        assert_eq!(account["user"]["role"], "seller");
        assert_eq!(account["organisation"]["kind"], "seller");
        assert_eq!(account["organisation"]["country"], "KH");

        let me: Value = browser.get(app.url("/me")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["user"]["email"], "dara@pailin.test");

        let res = browser.post(app.url("/auth/sign-out")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        expect_problem(browser.get(app.url("/me")).send().await.unwrap(), StatusCode::UNAUTHORIZED, None).await;

        let again = app.sign_in("DARA@pailin.test").await;
        assert_eq!(again.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn sign_up_refuses_taken_emails_and_staff_roles(app: TestApp) {
        app.consumer("li@consumer.test").await;
        let res = browser().post(app.url("/auth/sign-up"))
            .json(&json!({"email": "LI@consumer.test", "password": PASSWORD, "display_name": "Li", "role": "consumer"}))
            .send().await.unwrap();
        expect_problem(res, StatusCode::CONFLICT, Some("email")).await;

        let res = browser().post(app.url("/auth/sign-up"))
            .json(&json!({"email": "boss@x.test", "password": PASSWORD, "display_name": "Boss", "role": "admin"}))
            .send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, Some("role")).await;

        let res = browser().post(app.url("/auth/sign-up"))
            .json(&json!({"email": "s@x.test", "password": PASSWORD, "display_name": "S", "role": "seller"}))
            .send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("organisation")).await;
    }

    async fn passwords_are_never_stored_or_logged_in_clear(app: TestApp) {
        let secret = "longan-orchard-secret-7731";
        let client = browser();
        let res = client.post(app.url("/auth/sign-up"))
            .json(&json!({"email": "secret@x.test", "password": secret, "display_name": "S", "role": "consumer"}))
            .send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = client.post(app.url("/auth/sign-in"))
            .json(&json!({"email": "secret@x.test", "password": secret})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = client.post(app.url("/auth/sign-in"))
            .json(&json!({"email": "secret@x.test", "password": format!("{secret}-wrong")})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        let hashes = sqlx_rows(&app, "SELECT password_hash FROM users").await;
        assert!(hashes.iter().all(|(h,)| h.starts_with("$argon2id$") && !h.contains(secret)));
        for sql in [
            "SELECT COALESCE(after_json, '') FROM audit_log",
            "SELECT COALESCE(before_json, '') FROM audit_log",
            "SELECT data FROM sessions",
            "SELECT email FROM sign_in_failures",
        ] {
            for (text,) in sqlx_rows(&app, sql).await {
                assert!(!text.contains(secret) && !text.contains("argon2"), "{sql}: {text}");
            }
        }
        let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
        assert!(logs.contains("request"), "the log capture is not working");
        assert!(!logs.contains(secret), "a password reached the log");
    }

    async fn repeated_sign_in_failures_are_throttled(app: TestApp) {
        app.consumer("target@x.test").await;
        let client = browser();
        for _ in 0..5 {
            let res = client.post(app.url("/auth/sign-in"))
                .json(&json!({"email": "target@x.test", "password": "wrong password!"})).send().await.unwrap();
            expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        }
        let res = client.post(app.url("/auth/sign-in"))
            .json(&json!({"email": "target@x.test", "password": PASSWORD})).send().await.unwrap();
        assert!(res.headers().contains_key("retry-after"));
        expect_problem(res, StatusCode::TOO_MANY_REQUESTS, None).await;
        // Another address from the same client is not locked out by these five.
        app.consumer("other@x.test").await;
        app.sign_in("other@x.test").await;
    }

    async fn admins_create_agencies_and_their_officers(app: TestApp) {
        let admin = app.admin().await;
        let res = admin.post(app.url("/organisations"))
            .json(&json!({"kind": "agency", "name": "Rwanda Development Board", "country": "RW"}))
            .send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.headers()["etag"], "\"1\"");
        let agency: Value = res.json().await.unwrap();

        let officer = json!({"email": "aline@rdb.test", "password": PASSWORD, "display_name": "Aline",
                             "role": "agency_officer", "organisation_id": agency["id"]});
        let res = admin.post(app.url("/users")).json(&officer).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let officer_client = app.sign_in("aline@rdb.test").await;
        let me: Value = officer_client.get(app.url("/me")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["organisation"]["country"], "RW");

        let wrong_kind = json!({"email": "x@rdb.test", "password": PASSWORD, "display_name": "X",
                                "role": "seller", "organisation_id": agency["id"]});
        let res = admin.post(app.url("/users")).json(&wrong_kind).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("organisation_id")).await;
    }
}
