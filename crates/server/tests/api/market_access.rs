use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SHIPPED: &str = include_str!("../../../../rules/market_access.csv");

on_both_backends! {
    async fn the_registry_is_imported_edited_and_checked(app: TestApp) {
        let admin = app.admin().await;
        let res = admin.post(app.url("/market-access/rules")).header("content-type", "text/csv").body(SHIPPED).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let anyone = reqwest::Client::new();
        let check = |q: &str| {
            let url = app.url(&format!("/market-access/check?{q}"));
            let client = anyone.clone();
            async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let longan = check("origin=KH&destination=CN&hs=0810.90.30&date=2026-01-01").await;
        assert_eq!(longan["allowed"], true, "{longan}");
        assert!(longan["rule"]["requirements"].as_array().unwrap().iter().any(|r| r == "registered_packhouse"));
        let early = check("origin=KH&destination=CN&hs=081090&date=2022-03-15").await;
        assert_eq!(early["status"], "not_yet");
        assert!(early["reason"].as_str().unwrap().contains("2022-03-16"));
        let durian = check("origin=KH&destination=CN&hs=081060").await;
        assert_eq!((durian["allowed"].as_bool(), durian["status"].as_str()), (Some(false), Some("not_cleared")));

        // An administrator refuses a line more specifically; the longest prefix wins.
        let res = admin.put(app.url("/market-access/rule")).json(&json!({
            "origin": "KH", "destination": "CN", "hs_prefix": "08109030", "status": "refused",
            "requirements": [], "source": "suspension notice (test)", "confidence": "M"
        })).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(check("origin=KH&destination=CN&hs=0810.90.30").await["status"], "refused");
        assert_eq!(check("origin=KH&destination=CN&hs=0810.90.90").await["status"], "allowed");
        let res = admin.delete(app.url("/market-access/rules/KH/CN/08109030")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(check("origin=KH&destination=CN&hs=0810.90.30").await["status"], "allowed");

        let res = anyone.get(app.url("/market-access/check?origin=KH&destination=CN&hs=0810.9")).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("hs")).await;
        let (seller, _) = app.seller("s@ma.test", "KH").await;
        let res = seller.post(app.url("/market-access/rules")).header("content-type", "text/csv").body(SHIPPED).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let bad = format!("{}\nKH,CN,0810,allowed,2022-13-01,,x,H\n", SHIPPED.trim_end());
        let res = admin.post(app.url("/market-access/rules")).header("content-type", "text/csv").body(bad).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        assert_eq!(problem["errors"][0]["line"], SHIPPED.trim_end().lines().count() + 1);
        assert_eq!(problem["errors"][0]["field"], "allowed_from");
    }
}
