use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ECB: &str = "Date, USD, CNY, MXN, \n2026-09-01, 1.0800, 7.7000, 20.10, \n";

fn chili(date: &str) -> Value {
    json!({
        "date": date, "destination": "CN", "buyer": "consumer", "incoterm": "DDP", "currency": "USD",
        "freight": {"amount": "20.00", "currency": "USD"},
        "lines": [{"hs": "0904.21", "origin": "RW", "quantity": {"value": "2", "unit": "kg"},
                   "unit_value": {"amount": "15.00", "currency": "USD"}}]
    })
}

async fn with_rates(app: &TestApp) {
    let admin = app.admin().await;
    let res = admin
        .post(app.url("/fx-rates?format=ecb"))
        .header("content-type", "text/csv")
        .body(ECB)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

on_both_backends! {
    async fn quotes_use_stored_rates_and_are_kept_for_checkout(app: TestApp) {
        with_rates(&app).await;
        let client = reqwest::Client::new();
        let res = client.post(app.url("/quotes")).json(&chili("2026-09-03")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let quote: Value = res.json().await.unwrap();
        for total in ["duty", "consumption_tax", "vat", "total_tax", "freight", "insurance", "landed"] {
            assert_eq!(quote["totals"][total]["currency"], "USD", "{total}: {quote}");
        }
        assert_eq!(quote["regime"]["name"], "cbec_retail", "{quote}");
        assert!(!quote["explanation"].as_array().unwrap().is_empty());
        // Each figure names its rule by position in `rules`, which lists every row once.
        let vat_rule = &quote["rules"][quote["lines"][0]["vat"]["rule"].as_u64().unwrap() as usize];
        assert!(vat_rule["id"].as_str().unwrap().starts_with("cn-vat"), "{quote}");
        assert!(vat_rule["source"].is_string() && vat_rule["confidence"].is_string(), "{vat_rule}");
        assert_eq!(quote["expired"], false);
        let rate_source = quote["rates"][0]["source"].as_str().unwrap();
        assert!(rate_source.contains("ECB 2026-09-01") && rate_source.contains("cross via EUR"), "{rate_source}");

        let id = quote["id"].as_str().unwrap();
        let again: Value = client.get(app.url(&format!("/quotes/{id}"))).send().await.unwrap().json().await.unwrap();
        assert_eq!(again["totals"], quote["totals"]);
        assert_eq!(again["expires_at"], quote["expires_at"]);
    }

    async fn quote_input_errors_name_the_field(app: TestApp) {
        with_rates(&app).await;
        let client = reqwest::Client::new();
        let cases: Vec<(Value, &str)> = vec![
            ({ let mut q = chili("2026-09-03"); q["lines"][0]["hs"] = json!("09042"); q }, "lines[0].hs"),
            ({ let mut q = chili("2026-09-03"); q["incoterm"] = json!("XYZ"); q }, "incoterm"),
            ({ let mut q = chili("2026-09-03"); q["destination"] = json!("ZZ"); q }, "destination"),
            ({ let mut q = chili("2026-09-03"); q["lines"][0]["unit_value"]["amount"] = json!("-1.00"); q }, "lines[0].unit_value"),
            ({ let mut q = chili("2026-09-03"); q["currency"] = json!("JPY"); q }, "currency"),
            ({
                let mut q = chili("2026-09-03");
                q["lines"][0] = json!({"hs": "2208.90.90", "origin": "MX", "quantity": {"value": "2", "unit": "bottle"},
                                       "unit_value": {"amount": "30.00", "currency": "USD"}});
                q["regime"] = json!("general_trade");
                q
            }, "lines[0].measures.litres_per_unit"),
        ];
        for (body, field) in cases {
            let res = client.post(app.url("/quotes")).json(&body).send().await.unwrap();
            let status = res.status();
            let problem: Value = res.json().await.unwrap();
            assert!(status.is_client_error(), "{field}: {status} {problem}");
            assert!(problem["field"].as_str().unwrap_or("").starts_with(field), "expected {field}: {problem}");
        }
        // A day no rule covers: the answer names the date (and the field it trips on).
        let mut early = chili("1999-01-01");
        early["rates"] = json!([{"base": "USD", "quote": "CNY", "rate": "7.0", "source": "test"}]);
        let res = client.post(app.url("/quotes")).json(&early).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("1999-01-01"), "{problem}");

        let res = client.get(app.url("/quotes/0190f3f0-0000-7000-8000-000000000000")).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
    }
}

on_both_backends! {
    /// A pack imported by another process reaches this one's rule book on its next refresh.
    async fn imported_rule_packs_are_picked_up_by_every_process(app: TestApp) {
        let rules = pavilion_server::rules::Rules::load(&app.store).await.unwrap();
        assert!(!rules.refresh(&app.store).await.unwrap(), "nothing imported yet");
        let before = rules.current();
        let files = std::collections::BTreeMap::from([(
            "vat.csv".to_owned(),
            include_str!("../../../../rules/cn/vat.csv").to_owned(),
        )]);
        let other_process = app.db_store().await;
        other_process.import_rule_pack(&Default::default(), "cn", &files).await.unwrap();
        assert!(rules.refresh(&app.store).await.unwrap());
        assert!(!std::sync::Arc::ptr_eq(&before, &rules.current()));
        assert!(!rules.refresh(&app.store).await.unwrap(), "only once per import");
    }
}

on_both_backends! {
    /// Quote responses are documented down to each figure, not as a bare object.
    async fn the_openapi_document_describes_the_quote_output(app: TestApp) {
        let doc: Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
        let schemas = &doc["components"]["schemas"];
        let response = |path: &str, method: &str, status: &str| {
            doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} {status}: {}", doc["paths"][path]))
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        };
        for (path, method, status) in [("/quotes", "post", "201"), ("/quotes/{id}", "get", "200")] {
            let name = response(path, method, status);
            let body = serde_json::to_string(&schemas[&name]).unwrap();
            assert!(body.contains("#/components/schemas/Quote\""), "{name} must include Quote: {body}");
            assert!(body.contains("expires_at"), "{body}");
        }
        let quote = &schemas["Quote"]["properties"];
        for field in ["regime", "lines", "totals", "explanation", "rules"] {
            assert!(quote[field].is_object(), "Quote.{field}: {quote}");
        }
        let totals = &schemas["Totals"]["properties"];
        for total in ["duty", "consumption_tax", "vat", "total_tax", "freight", "insurance", "landed"] {
            assert_eq!(totals[total]["$ref"], "#/components/schemas/Money", "{total}: {totals}");
        }
        for name in ["LineQuote", "Duty", "Vat", "ConsumptionTax", "RegimeDecision", "Refusal", "Rule", "Explanation", "RefusalReason"] {
            assert!(schemas[name].is_object(), "schema {name} missing");
        }
        assert!(schemas["Rule"]["properties"]["confidence"].is_object());
    }
}
