use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends! {
    async fn health_readiness_and_metrics_answer(app: TestApp) {
        let res = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().contains_key("x-request-id"));
        assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), StatusCode::OK);
        let metrics = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("http_requests_total"), "{metrics}");
        assert!(metrics.contains("route=\"/healthz\""), "{metrics}");
    }

    async fn readiness_fails_when_the_database_is_gone(app: TestApp) {
        app.store.close().await;
        let res = reqwest::get(app.url("/readyz")).await.unwrap();
        assert!(res.headers().contains_key("retry-after"));
        expect_problem(res, StatusCode::SERVICE_UNAVAILABLE, None).await;
    }

    async fn the_openapi_document_and_reference_page_are_served(app: TestApp) {
        let doc: Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["paths"]["/auth/sign-in"]["post"].is_object());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        let schemas = &doc["components"]["schemas"];
        for name in ["QuoteInput", "QuoteLine", "Measures", "Transport", "Incoterm", "Money", "Quantity", "ExchangeRate"] {
            assert!(schemas[name].is_object(), "schema {name} missing: {}", schemas.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(", "));
        }
        let page = reqwest::get(app.url("/api/docs/")).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(!html.contains("cdn."), "assets must be embedded, not loaded from a CDN");
        let asset = reqwest::get(app.url("/api/docs/swagger-ui-bundle.js")).await.unwrap();
        assert_eq!(asset.status(), StatusCode::OK);
    }
}
