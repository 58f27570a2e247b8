use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::Value;

const HEADER: &str = "seller_id,kind,original_locale,title_zh-CN,title_en,title_es,title_fr,description_zh-CN,description_en,description_es,description_fr,hs,category,origin,unit,weight_kg_per_unit,volume_l_per_unit,cold_chain,shelf_life_days,retail_price,currency,moq,tiers,stock,departures,variants";

fn longan(seller: &str, title: &str) -> String {
    format!(
        "{seller},goods,en,柬埔寨拜林龙眼,\"{title}\",,,,Hand-picked.,,,0810.90.30,,KH,piece,5,,true,21,18.00,USD,100,100:12.00;1000:10.50,500,,"
    )
}

fn soap(seller: &str) -> String {
    format!(
        "{seller},goods,es,,,Jabón de aguacate,,,,,,3401.11,,KH,piece,0.1,,,,5.00,USD,,,,,SOAP-L|scent=lima|5.50|40;SOAP-M|scent=menta||25"
    )
}

fn file(rows: &[String]) -> String {
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

async fn import(app: &TestApp, client: &Client, body: String) -> reqwest::Response {
    client
        .post(app.url("/products/import"))
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn product_count(app: &TestApp, seller: &str) -> usize {
    let page: Value = reqwest::get(app.url(&format!("/organisations/{seller}/products?limit=100")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

fn org_id(account: &Value) -> String {
    account["organisation"]["id"].as_str().unwrap().to_owned()
}

on_both_backends! {
    async fn sellers_import_and_export_their_catalogue(app: TestApp) {
        let (seller, account) = app.seller("dara@pailin-import.test", "KH").await;
        let own = org_id(&account);
        // An empty seller_id is the caller's own organisation.
        let res = import(&app, &seller, file(&[longan(&own, "Fresh longan, 5 kg"), longan("", "Longan, 10 kg"), soap("")])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let summary: Value = res.json().await.unwrap();
        assert_eq!(summary["imported"], 3);
        assert!(summary["first_id"].as_str().unwrap() < summary["last_id"].as_str().unwrap());
        assert_eq!(product_count(&app, &own).await, 3);
        let first: Value = reqwest::get(app.url(&format!("/products/{}", summary["first_id"].as_str().unwrap()))).await.unwrap().json().await.unwrap();
        assert_eq!(first["titles"]["en"], "Fresh longan, 5 kg");
        assert_eq!(first["wholesale"]["tiers"][1]["unit_price"]["amount"], "10.50");

        let res = seller.get(app.url("/products/export")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let exported = res.text().await.unwrap();
        assert!(exported.starts_with(HEADER), "{exported}");
        assert_eq!(exported.lines().count(), 4, "{exported}");
        assert!(exported.contains("SOAP-L|scent=lima|5.50|40;SOAP-M|scent=menta||25"), "{exported}");

        // What was exported imports back as the same products.
        let res = import(&app, &seller, exported.clone()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(product_count(&app, &own).await, 6);
        let again = seller.get(app.url("/products/export")).send().await.unwrap().text().await.unwrap();
        let rows: Vec<&str> = again.lines().skip(1).collect();
        assert_eq!(rows[..3], rows[3..], "{again}");
        assert_eq!(rows[..3].join("\n"), exported.lines().skip(1).collect::<Vec<_>>().join("\n"));

        // An administrator imports for any seller and exports one seller or all.
        let (_, other) = app.seller("ana@mango-import.test", "KH").await;
        let other = org_id(&other);
        let admin = app.admin().await;
        let res = import(&app, &admin, file(&[longan(&other, "Mango-farm longan")])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let one = admin.get(app.url(&format!("/products/export?seller_id={other}"))).send().await.unwrap().text().await.unwrap();
        assert_eq!(one.lines().count(), 2);
        let all = admin.get(app.url("/products/export")).send().await.unwrap().text().await.unwrap();
        assert_eq!(all.lines().count(), 8);
        // A seller cannot read another seller's export.
        let res = seller.get(app.url(&format!("/products/export?seller_id={other}"))).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
    }

    async fn a_file_with_bad_rows_is_refused_whole_with_every_line(app: TestApp) {
        let (seller, account) = app.seller("bad@pailin-import.test", "KH").await;
        let own = org_id(&account);
        let bad_hs = longan("", "x").replace("0810.90.30", "0810.9");
        let bad_tiers = longan("", "y").replace("100:12.00;1000:10.50", "1000:10.50;100:12.00");
        let no_stock = longan("", "z").replace(",500,", ",,");
        let body = file(&[longan("", "good"), bad_hs, bad_tiers, soap(""), no_stock]);
        let problem = expect_problem(import(&app, &seller, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        let found: Vec<(u64, &str)> = problem["errors"].as_array().unwrap().iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap())).collect();
        assert_eq!(found, [(3, "hs"), (4, "tiers[0].min_quantity"), (4, "tiers[1].min_quantity"), (6, "stock")]);
        assert_eq!(product_count(&app, &own).await, 0);

        // A wrong header is one error naming the expected columns.
        let body = format!("{}\n{}\n", HEADER.replace("title_en", "title"), longan("", "good"));
        let problem = expect_problem(import(&app, &seller, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
        assert_eq!((problem["errors"][0]["line"].as_u64(), problem["errors"][0]["field"].as_str()), (Some(1), Some("header")));
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains(HEADER));

        // A category that does not exist is a row error too.
        let body = file(&[longan("", "a").replace(",0810.90.30,,", ",0810.90.30,no-such-category,")]);
        let problem = expect_problem(import(&app, &seller, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        assert_eq!((problem["errors"][0]["line"].as_u64(), problem["errors"][0]["field"].as_str()), (Some(2), Some("category")));
        assert_eq!(product_count(&app, &own).await, 0);
    }

    async fn only_sellers_for_themselves_and_administrators_import(app: TestApp) {
        let (seller, account) = app.seller("own@pailin-import.test", "KH").await;
        let own = org_id(&account);
        let (_, other) = app.seller("rival@pailin-import.test", "KH").await;
        let other = org_id(&other);

        let anonymous = Client::new();
        expect_problem(import(&app, &anonymous, file(&[longan(&own, "x")])).await, StatusCode::UNAUTHORIZED, None).await;
        let res = anonymous.get(app.url("/products/export")).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let (consumer, _) = app.consumer("c@import.test").await;
        expect_problem(import(&app, &consumer, file(&[longan(&own, "x")])).await, StatusCode::FORBIDDEN, None).await;
        let res = consumer.get(app.url("/products/export")).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        // Another seller's id is refused on its line, and nothing of the file is written.
        let body = file(&[longan(&own, "mine"), longan(&other, "theirs")]);
        let problem = expect_problem(import(&app, &seller, body).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        assert_eq!((problem["errors"][0]["line"].as_u64(), problem["errors"][0]["field"].as_str()), (Some(3), Some("seller_id")));
        assert_eq!(product_count(&app, &own).await, 0);
        assert_eq!(product_count(&app, &other).await, 0);

        // An administrator must name the seller; an organisation that is not a seller is refused.
        let admin = app.admin().await;
        let problem = expect_problem(import(&app, &admin, file(&[longan("", "x")])).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        assert_eq!(problem["errors"][0]["field"], "seller_id");
        let res = import(&app, &admin, file(&[longan(&uuid::Uuid::now_v7().to_string(), "x")])).await;
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("body")).await;
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("no organisation"), "{problem}");

        let res = seller.post(app.url("/products/import")).header("content-type", "application/json").body("{}").send().await.unwrap();
        expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")).await;
    }
}
