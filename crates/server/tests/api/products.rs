use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn longan() -> Value {
    json!({
        "kind": "goods", "original_locale": "en",
        "titles": {"en": "Fresh Pailin longan, 5 kg box", "zh-CN": "柬埔寨拜林龙眼 5公斤装"},
        "descriptions": {"en": "Hand-picked, cold chain from the packhouse."},
        "hs": "0810.90.30", "origin": "KH", "unit": "piece", "weight_kg_per_unit": "5", "cold_chain": true,
        "shelf_life_days": 21,
        "retail_price": {"amount": "18.00", "currency": "USD"},
        "wholesale": {"moq": "100", "tiers": [
            {"min_quantity": "100", "unit_price": {"amount": "12.00", "currency": "USD"}},
            {"min_quantity": "1000", "unit_price": {"amount": "10.50", "currency": "USD"}}]},
        "stock": 500
    })
}

on_both_backends! {
    async fn sellers_list_and_edit_their_own_products(app: TestApp) {
        let (seller, account) = app.seller("dara@pailin.test", "KH").await;
        let res = seller.post(app.url("/products")).json(&longan()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.headers()["etag"], "\"1\"");
        let product: Value = res.json().await.unwrap();
        let id = product["id"].as_str().unwrap();
        assert_eq!(product["titles"]["zh-CN"], "柬埔寨拜林龙眼 5公斤装");
        assert_eq!(product["stock"], 500);

        let public: Value = reqwest::get(app.url(&format!("/products/{id}"))).await.unwrap().json().await.unwrap();
        assert_eq!(public["hs"], "08109030");
        let seller_id = account["organisation"]["id"].as_str().unwrap();
        let page: Value = reqwest::get(app.url(&format!("/organisations/{seller_id}/products"))).await.unwrap().json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);

        let mut edited = longan();
        edited["stock"] = json!(420);
        let res = seller.put(app.url(&format!("/products/{id}"))).header("If-Match", "\"1\"").json(&edited).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = seller.put(app.url(&format!("/products/{id}"))).header("If-Match", "\"1\"").json(&edited).send().await.unwrap();
        expect_problem(res, StatusCode::PRECONDITION_FAILED, None).await;

        let (other, _) = app.seller("other@mango.test", "KH").await;
        let res = other.put(app.url(&format!("/products/{id}"))).json(&edited).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let res = other.delete(app.url(&format!("/products/{id}"))).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let (consumer, _) = app.consumer("c@products.test").await;
        let res = consumer.post(app.url("/products")).json(&longan()).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        let res = seller.delete(app.url(&format!("/products/{id}"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let events = app.store.events_about("product", id).await.unwrap();
        assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["product.changed"; 3]);
        assert_eq!(events[2].payload["archived"], true);
    }

    async fn bad_products_get_every_problem_named(app: TestApp) {
        let (seller, _) = app.seller("bad@pailin.test", "KH").await;
        let mut bad = longan();
        bad["titles"]["fr"] = json!("x".repeat(201));
        bad["wholesale"]["moq"] = json!("0");
        bad["wholesale"]["tiers"] = json!([
            {"min_quantity": "1000", "unit_price": {"amount": "10.50", "currency": "USD"}},
            {"min_quantity": "100", "unit_price": {"amount": "12.00", "currency": "USD"}}]);
        bad.as_object_mut().unwrap().remove("stock");
        let res = seller.post(app.url("/products")).json(&bad).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("titles.fr")).await;
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["titles.fr", "wholesale.moq", "wholesale.tiers[0].min_quantity", "wholesale.tiers[1].min_quantity", "stock"]);

        let yesterday = (OffsetDateTime::now_utc().date() - Duration::days(1)).to_string();
        let tour = json!({
            "kind": "travel_package", "original_locale": "en", "titles": {"en": "Gorilla trek"},
            "hs": "9999.00", "origin": "RW", "unit": "seat",
            "retail_price": {"amount": "1500.00", "currency": "USD"},
            "departures": [{"date": yesterday, "seats": 8}], "shelf_life_days": null, "wholesale": null, "stock": null
        });
        let res = seller.post(app.url("/products")).json(&tour).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("departures[0].date")).await;
        assert!(problem["detail"].as_str().unwrap().contains("1 problem"));

        let mut shape = longan();
        shape["hs"] = json!("0810.9");
        let res = seller.post(app.url("/products")).json(&shape).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("hs")).await;
        let mut over_precise = longan();
        over_precise["retail_price"]["amount"] = json!("18.001");
        let res = seller.post(app.url("/products")).json(&over_precise).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("retail_price")).await;
    }

    async fn pavilions_feature_products_of_their_approved_exporters(app: TestApp) {
        let admin = app.admin().await;
        let (status, pavilion) = app.post(&admin, "/pavilions", json!({"country": "KH", "channel": "retail", "title": "Cambodia", "threshold": 5})).await;
        assert_eq!(status, StatusCode::CREATED, "{pavilion}");
        assert_eq!(pavilion["featured_products"], json!([]));
        let (seller, seller_account) = app.seller("feat@pailin.test", "KH").await;
        let seller_id = seller_account["organisation"]["id"].clone();
        let (_, product) = app.post(&seller, "/products", longan()).await;
        let id = product["id"].as_str().unwrap();
        // Not yet an approved exporter: refused.
        let res = admin.put(app.url("/pavilions/kh-retail/featured-products")).json(&json!({"product_ids": [id]})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("product_ids")).await;
        let res = admin.put(app.url("/pavilions/kh-retail/featured")).json(&json!({"seller_ids": [seller_id]})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("seller_ids")).await;
        // Approve the seller under a programme, then feature the product.
        let officer = app.officer("officer@feat.test", "KH").await;
        let (_, plan) = app.post(&admin, "/membership-plans", json!({"tier": "basic", "name": "Basic", "annual_fee": {"amount": "100.00", "currency": "USD"}, "wholesale_access": false})).await;
        let today = OffsetDateTime::now_utc().date();
        let (_, programme) = app.post(&officer, "/programmes", json!({"title": "P", "starts_on": (today - Duration::days(1)).to_string(), "ends_on": (today + Duration::days(365)).to_string()})).await;
        let (_, application) = app.post(&seller, &format!("/programmes/{}/applications", programme["id"].as_str().unwrap()), json!({
            "plan_id": plan["id"], "registration_number": "R", "address": "A", "channels": ["retail"]})).await;
        let aid = application["id"].as_str().unwrap();
        for status in ["verified", "approved"] {
            let (s, _) = app.post(&officer, &format!("/applications/{aid}/decisions"), json!({"status": status, "reason": "ok"})).await;
            assert_eq!(s, StatusCode::OK);
        }
        let res = officer.put(app.url("/pavilions/kh-retail/featured-products")).json(&json!({"product_ids": [id]})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let pav: Value = res.json().await.unwrap();
        assert_eq!(pav["featured_products"], json!([id]));
        let res = officer.put(app.url("/pavilions/kh-retail/featured")).json(&json!({"seller_ids": [seller_id]})).send().await.unwrap();
        let pav: Value = res.json().await.unwrap();
        assert_eq!(pav["featured_sellers"], json!([seller_id]));
        assert_eq!(pav["featured_products"], json!([id]), "featuring sellers leaves products alone");
        let mx_officer_client = app.officer("officer@mx-feat.test", "MX").await;
        let res = mx_officer_client.put(app.url("/pavilions/kh-retail/featured")).json(&json!({"seller_ids": []})).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
    }
}

on_both_backends! {
    async fn products_are_offered_only_where_market_access_allows(app: TestApp) {
        let admin = app.admin().await;
        let rules = include_str!("../../../../rules/market_access.csv");
        let res = admin.post(app.url("/market-access/rules")).header("content-type", "text/csv").body(rules).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let (seller, _) = app.seller("offer@pailin.test", "KH").await;
        let (_, product) = app.post(&seller, "/products", longan()).await;
        let id = product["id"].as_str().unwrap();
        let offer = |q: String| async move { reqwest::get(q).await.unwrap().json::<Value>().await.unwrap() };

        let china = offer(app.url(&format!("/products/{id}/offer?destination=CN&date=2026-01-01"))).await;
        assert_eq!(china["allowed"], true, "{china}");
        let early = offer(app.url(&format!("/products/{id}/offer?destination=CN&date=2022-01-01"))).await;
        assert_eq!(early["status"], "not_yet");
        let us = offer(app.url(&format!("/products/{id}/offer?destination=US"))).await;
        assert_eq!((us["allowed"].as_bool(), us["status"].as_str()), (Some(false), Some("not_cleared")));
        assert!(us["reason"].as_str().unwrap().contains("0810.90.30"));

        seller.delete(app.url(&format!("/products/{id}"))).send().await.unwrap();
        let archived = offer(app.url(&format!("/products/{id}/offer?destination=CN&date=2026-01-01"))).await;
        assert_eq!((archived["allowed"].as_bool(), archived["status"].as_str()), (Some(false), Some("archived")));
        let res = reqwest::get(app.url(&format!("/products/{id}/offer?destination=XX"))).await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("destination")).await;
    }
}

on_both_backends! {
    /// The index follows the catalogue through the outbox: new products become findable (in
    /// Chinese too), archived ones disappear.
    async fn the_search_index_follows_the_catalogue(app: TestApp) {
        let (seller, _) = app.seller("search@pailin.test", "KH").await;
        let (_, product) = app.post(&seller, "/products", longan()).await;
        let id = product["id"].as_str().unwrap().to_owned();
        let found = |q: &'static str| {
            let url = app.url(&format!("/search?{q}"));
            async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
        };
        let mut results = Value::Null;
        for _ in 0..100 {
            results = found("q=%E9%BE%99%E7%9C%BC&locale=zh-CN").await;
            if results["total"] == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(results["total"], 1, "{results}");
        assert_eq!(results["hits"][0]["product_id"], id.as_str());
        assert_eq!(results["hits"][0]["title"], "柬埔寨拜林龙眼 5公斤装");
        assert_eq!(found("q=longan&origin=KH&channel=retail").await["total"], 1);
        assert_eq!(found("q=longan&origin=MX").await["total"], 0);

        seller.delete(app.url(&format!("/products/{id}"))).send().await.unwrap();
        for _ in 0..100 {
            results = found("q=longan").await;
            if results["total"] == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(results["total"], 0, "{results}");
        let res = reqwest::get(app.url("/search?limit=0")).await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("limit")).await;
        let res = reqwest::get(app.url("/search?locale=klingon")).await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("locale")).await;
    }
}

on_both_backends! {
    async fn products_are_filed_in_the_category_tree_and_come_in_variants(app: TestApp) {
        let admin = app.admin().await;
        let food = json!({"slug": "food", "names": {"en": "Food", "zh-CN": "食品"}});
        let res = admin.post(app.url("/categories")).json(&food).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let fruit = json!({"slug": "fresh-fruit", "parent": "food", "names": {"en": "Fresh fruit", "zh-CN": "新鲜水果"}});
        assert_eq!(admin.post(app.url("/categories")).json(&fruit).send().await.unwrap().status(), StatusCode::CREATED);
        let res = admin.post(app.url("/categories")).json(&fruit).send().await.unwrap();
        expect_problem(res, StatusCode::CONFLICT, Some("slug")).await;
        let orphan = json!({"slug": "x", "parent": "nowhere", "names": {"en": "X"}});
        let res = admin.post(app.url("/categories")).json(&orphan).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("parent")).await;
        let res = admin.post(app.url("/categories")).json(&json!({"slug": "Bad Slug", "names": {"fr": "x"}})).send().await.unwrap();
        let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, None).await;
        assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
        let (seller, _) = app.seller("s@cat.test", "KH").await;
        let res = seller.post(app.url("/categories")).json(&json!({"slug": "y", "names": {"en": "Y"}})).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        let tree: Value = reqwest::get(app.url("/categories")).await.unwrap().json().await.unwrap();
        let slugs: Vec<_> = tree.as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["food", "fresh-fruit"]);
        assert_eq!(tree[1]["parent"], "food");

        let mut draft = longan();
        draft["category"] = json!("nowhere");
        let res = seller.post(app.url("/products")).json(&draft).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("category")).await;

        draft["category"] = json!("fresh-fruit");
        draft.as_object_mut().unwrap().remove("stock");
        draft["variants"] = json!([
            {"sku": "LG-5KG-A", "attributes": {"pack": "5 kg", "grade": "A"}, "stock": 40},
            {"sku": "LG-10KG-A", "attributes": {"pack": "10 kg", "grade": "A"}, "stock": 12,
             "retail_price": {"amount": "33.00", "currency": "USD"}, "weight_kg_per_unit": "10"}
        ]);
        let res = seller.post(app.url("/products")).json(&draft).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let product: Value = res.json().await.unwrap();
        assert_eq!(product["category"], "fresh-fruit");
        assert_eq!(product["variants"][0]["stock"], 40);
        assert_eq!(product["variants"][1]["stock"], 12);
        assert_eq!(product["variants"][1]["retail_price"]["amount"], "33.00");

        let id = product["id"].as_str().unwrap();
        draft["variants"][0]["stock"] = json!(39);
        draft["variants"].as_array_mut().unwrap().pop();
        let res = seller.put(app.url(&format!("/products/{id}"))).json(&draft).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let product: Value = reqwest::get(app.url(&format!("/products/{id}"))).await.unwrap().json().await.unwrap();
        assert_eq!(product["variants"].as_array().unwrap().len(), 1);
        assert_eq!(product["variants"][0]["stock"], 39);

        draft["variants"][0]["stock"] = Value::Null;
        let res = seller.put(app.url(&format!("/products/{id}"))).json(&draft).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("variants[0].stock")).await;
    }
}

/// Approves `seller` as an exporter of a programme of `country` on `channels`; returns the
/// application id.
async fn approve_exporter(
    app: &TestApp,
    admin: &reqwest::Client,
    seller: &reqwest::Client,
    country: &str,
    channels: Value,
) -> String {
    let officer = app
        .officer(
            &format!("officer-{}@approve.test", uuid::Uuid::now_v7()),
            country,
        )
        .await;
    let (_, plan) = app.post(admin, "/membership-plans", json!({"tier": "basic", "name": "Basic", "annual_fee": {"amount": "100.00", "currency": "USD"}, "wholesale_access": true})).await;
    let today = OffsetDateTime::now_utc().date();
    let (_, programme) = app.post(&officer, "/programmes", json!({"title": "P", "starts_on": (today - Duration::days(1)).to_string(), "ends_on": (today + Duration::days(365)).to_string()})).await;
    let (_, application) = app
        .post(
            seller,
            &format!(
                "/programmes/{}/applications",
                programme["id"].as_str().unwrap()
            ),
            json!({
        "plan_id": plan["id"], "registration_number": "R", "address": "A", "channels": channels}),
        )
        .await;
    let aid = application["id"].as_str().unwrap().to_owned();
    for status in ["verified", "approved"] {
        let (s, body) = app
            .post(
                &officer,
                &format!("/applications/{aid}/decisions"),
                json!({"status": status, "reason": "ok"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    aid
}

/// Polls `url` until `done` holds (the index follows the outbox a moment behind).
async fn eventually(url: String, done: impl Fn(&Value) -> bool) -> Value {
    let mut body = Value::Null;
    for _ in 0..200 {
        body = reqwest::get(&url).await.unwrap().json().await.unwrap();
        if done(&body) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    body
}

on_both_backends! {
    /// A pavilion lists the live products of its approved exporters on its channel, with facets;
    /// a suspended exporter's products leave it.
    async fn a_pavilion_lists_its_exporters_live_products_with_facets(app: TestApp) {
        let admin = app.admin().await;
        for category in [json!({"slug": "food", "names": {"en": "Food", "zh-CN": "食品"}}),
                         json!({"slug": "fresh-fruit", "parent": "food", "names": {"en": "Fresh fruit", "zh-CN": "新鲜水果"}})] {
            assert_eq!(admin.post(app.url("/categories")).json(&category).send().await.unwrap().status(), StatusCode::CREATED);
        }
        let (status, _) = app.post(&admin, "/pavilions", json!({"country": "KH", "channel": "retail", "title": "Cambodia", "threshold": 1})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (member, _) = app.seller("member@pailin.test", "KH").await;
        let (outsider, _) = app.seller("outsider@pailin.test", "KH").await;
        let mut fruit = longan();
        fruit["category"] = json!("fresh-fruit");
        let (_, listed) = app.post(&member, "/products", fruit.clone()).await;
        let mut wholesale_only = longan();
        wholesale_only.as_object_mut().unwrap().remove("retail_price");
        wholesale_only.as_object_mut().unwrap().remove("stock");
        let (s, _) = app.post(&member, "/products", wholesale_only).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = app.post(&outsider, "/products", fruit).await;
        assert_eq!(s, StatusCode::CREATED);
        let application = approve_exporter(&app, &admin, &member, "KH", json!(["retail"])).await;

        let url = app.url("/pavilions/kh-retail/products?locale=zh-CN");
        let page = eventually(url.clone(), |b| b["products"]["total"] == 1).await;
        assert_eq!(page["products"]["total"], 1, "{page}");
        assert_eq!(page["products"]["hits"][0]["product_id"], listed["id"]);
        assert_eq!(page["pavilion"]["slug"], "kh-retail");
        let facets = &page["products"]["facets"]["category"];
        assert!(facets.to_string().contains("food"), "{page}");
        // The category's names are searched, in Chinese too; a category filter takes a slug.
        let by_name = eventually(app.url("/search?q=%E6%B0%B4%E6%9E%9C"), |b| b["total"] == 2).await;
        assert_eq!(by_name["total"], 2, "{by_name}");
        let filtered: Value = reqwest::get(app.url("/pavilions/kh-retail/products?category=food")).await.unwrap().json().await.unwrap();
        assert_eq!(filtered["products"]["total"], 1, "{filtered}");
        let res = reqwest::get(app.url("/pavilions/kh-retail/products?category=nowhere")).await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("category")).await;
        let res = reqwest::get(app.url("/pavilions/zz-retail/products")).await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;

        let officer = app.officer("suspender@pailin.test", "KH").await;
        let (s, body) = app.post(&officer, &format!("/applications/{application}/decisions"), json!({"status": "suspended", "reason": "audit"})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let page = eventually(url, |b| b["products"]["total"] == 0).await;
        assert_eq!(page["products"]["total"], 0, "{page}");
    }
}
