use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::Value;

const ECB: &str = "Date, USD, JPY, CNY, \n2026-11-20, 1.0535, 163.50, 7.6120, \n2026-11-19, 1.0500, 163.10, 7.6000, \n";

on_both_backends! {
    async fn rates_are_imported_by_admins_and_resolved_for_everyone(app: TestApp) {
        let admin = app.admin().await;
        let res = admin.post(app.url("/fx-rates?format=ecb")).header("content-type", "text/csv").body(ECB).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let summary: Value = res.json().await.unwrap();
        assert_eq!(summary["imported"], 6);
        assert_eq!(summary["last_date"], "2026-11-20");

        let (consumer, _) = app.consumer("c@fx.test").await;
        let (status, rate) = app.get(&consumer, "/fx-rates/rate?from=USD&to=CNY&date=2026-11-22").await;
        assert_eq!(status, StatusCode::OK, "{rate}");
        assert!(rate["rate"].as_str().unwrap().starts_with("7.225"), "{rate}");
        assert!(rate["source"].as_str().unwrap().contains("ECB 2026-11-20"), "{rate}");

        let res = consumer.get(app.url("/fx-rates/rate?from=USD&to=MXN&date=2026-11-22")).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, Some("to")).await;
        let res = consumer.get(app.url("/fx-rates/rate?from=USD&to=XYZ")).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("to")).await;
        let res = consumer.post(app.url("/fx-rates?format=ecb")).header("content-type", "text/csv").body(ECB).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
    }

    async fn a_bad_rate_file_is_refused_whole_with_every_bad_line(app: TestApp) {
        let admin = app.admin().await;
        let file = "date,base,quote,rate\n2026-11-20,USD,CNY,7.1\n2026-11-31,USD,CNY,7.1\n2026-11-20,USD,CNY,abc\n";
        let res = admin.post(app.url("/fx-rates?format=simple")).header("content-type", "text/csv").body(file).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        let lines: Vec<(u64, &str)> = problem["errors"].as_array().unwrap().iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap())).collect();
        assert_eq!(lines, vec![(3, "date"), (4, "rate")]);
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM fx_rates").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(n, 0, "nothing is half-imported");
        let res = admin.post(app.url("/fx-rates?format=simple")).header("content-type", "application/json").body("{}").send().await.unwrap();
        expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")).await;
        let res = admin.post(app.url("/fx-rates?format=xml")).header("content-type", "text/csv").body(file).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("format")).await;
    }
}
