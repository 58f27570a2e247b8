use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// The published example of a Resident Identity Card number (GB 11643-1999).
pub const NATIONAL_ID: &str = "11010519491231002X";

/// Rates for today, market access, and a Rwandan roaster's coffee (retail, in stock).
pub async fn shop(app: &TestApp, stock: u32, price: &str) -> (Client, String) {
    let admin = app.admin().await;
    let today = time::OffsetDateTime::now_utc().date();
    let ecb = format!("Date, USD, CNY, \n{today}, 1.0800, 7.7000, \n");
    let res = admin
        .post(app.url("/fx-rates?format=ecb"))
        .header("content-type", "text/csv")
        .body(ecb)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rules = include_str!("../../../../rules/market_access.csv");
    let res = admin
        .post(app.url("/market-access/rules"))
        .header("content-type", "text/csv")
        .body(rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (seller, _) = app
        .seller(&format!("roaster-{}@huye.test", uuid::Uuid::now_v7()), "RW")
        .await;
    let (status, product) = app.post(&seller, "/products", json!({
        "kind": "goods", "original_locale": "en", "titles": {"en": "Huye roasted coffee, 250 g", "zh-CN": "卢旺达烘焙咖啡豆"},
        "hs": "0901.21", "origin": "RW", "unit": "piece", "weight_kg_per_unit": "0.25",
        "retail_price": {"amount": price, "currency": "USD"}, "stock": stock
    })).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    (seller, product["id"].as_str().unwrap().to_owned())
}

/// A guest's cart for China in yuan holding `quantity` of the product; returns (token, cart).
pub async fn guest_cart(app: &TestApp, product: &str, quantity: u32) -> (String, Value) {
    let client = Client::new();
    let res = client
        .post(app.url("/carts"))
        .json(&json!({"destination": "CN", "currency": "CNY"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let cart: Value = res.json().await.unwrap();
    let token = cart["token"].as_str().unwrap().to_owned();
    let id = cart["id"].as_str().unwrap();
    let res = client
        .put(app.url(&format!("/carts/{id}/lines")))
        .header("x-cart-token", &token)
        .json(&json!({"product_id": product, "quantity": quantity}))
        .send()
        .await
        .unwrap();
    let cart: Value = res.json().await.unwrap();
    assert!(cart["quote"]["id"].is_string(), "{cart}");
    (token, cart)
}

/// A valid number: 17 digits and their ISO 7064 MOD 11-2 check character.
pub fn national_id(first17: &str) -> String {
    format!(
        "{first17}{}",
        pavilion_domain::checkout::NationalId::check_character(first17).unwrap()
    )
}

pub fn order_body(cart: &Value, national_id: Option<&str>) -> Value {
    let mut buyer = json!({"name": "Li Na", "email": "li.na@example.test",
        "ship_to": {"name": "Li Na", "line1": "18 Wensan Road", "city": "Hangzhou", "country": "CN"}});
    if let Some(id) = national_id {
        buyer["national_id"] = json!(id);
    }
    json!({"cart_id": cart["id"], "quote_id": cart["quote"]["id"], "buyer": buyer})
}

pub async fn place(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    Client::new()
        .post(app.url("/orders"))
        .header("x-cart-token", token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn stock(app: &TestApp, product: &str) -> u64 {
    let p: Value = reqwest::get(app.url(&format!("/products/{product}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    p["stock"].as_u64().unwrap()
}

on_both_backends! {
    /// A guest's cart is priced by the engine; checkout charges that quote, reserves the stock,
    /// and answers a retry with the first answer.
    async fn a_guest_checks_out_the_quote_they_saw(app: TestApp) {
        let (seller, product) = shop(&app, 10, "14.00").await;
        let (token, cart) = guest_cart(&app, &product, 2).await;
        assert_eq!(cart["quote"]["quote"]["regime"]["name"], "cbec_retail", "{cart}");
        assert_eq!(cart["total"], cart["quote"]["quote"]["totals"]["landed"]);
        assert_eq!(cart["total"]["currency"], "CNY");
        let cart_id = cart["id"].as_str().unwrap();

        // The cart is the holder's alone.
        let res = reqwest::get(app.url(&format!("/carts/{cart_id}"))).await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let res = Client::new().get(app.url(&format!("/carts/{cart_id}"))).header("x-cart-token", "crt_wrong").send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        let body = order_body(&cart, Some(NATIONAL_ID));
        let res = Client::new().post(app.url("/orders")).header("x-cart-token", &token).json(&body).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        let res = place(&app, &token, "k1", &order_body(&cart, None)).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("buyer.national_id")).await;
        let res = place(&app, &token, "k1", &order_body(&cart, Some("110105194912310021"))).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("buyer.national_id")).await;

        let res = place(&app, &token, "k2", &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let order: Value = res.json().await.unwrap();
        assert_eq!(order["status"], "pending_payment");
        assert_eq!(order["total"], cart["total"], "{order}");
        assert_eq!(order["person_last4"], "002X");
        assert!(!order.to_string().contains(NATIONAL_ID));
        assert_eq!(stock(&app, &product).await, 8);
        let line_sum: i64 = order["lines"].as_array().unwrap().iter()
            .map(|l| (l["amount"]["amount"].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64).sum();
        assert_eq!(line_sum, (order["total"]["amount"].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64);

        // A retry gets the same answer; the same key for another request is refused.
        let again: Value = place(&app, &token, "k2", &body).await.json().await.unwrap();
        assert_eq!(again, order);
        assert_eq!(stock(&app, &product).await, 8);
        let mut other = body.clone();
        other["buyer"]["name"] = json!("Someone Else");
        let res = place(&app, &token, "k2", &other).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        // The cart is spent.
        let res = place(&app, &token, "k3", &body).await;
        expect_problem(res, StatusCode::CONFLICT, None).await;

        // The buyer reaches the order with its token; its seller sees it; others do not.
        let id = order["id"].as_str().unwrap();
        let order_token = order["order_token"].as_str().unwrap();
        let res = Client::new().get(app.url(&format!("/orders/{id}"))).header("x-order-token", order_token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = reqwest::get(app.url(&format!("/orders/{id}"))).await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let (seen_by_seller, _) = app.get(&seller, &format!("/orders/{id}")).await;
        assert_eq!(seen_by_seller, StatusCode::OK);
        let (other_seller, _) = app.seller("stranger@other.test", "KH").await;
        let (status, _) = app.get(&other_seller, &format!("/orders/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Cancelling before payment gives the stock back; twice is a 409 naming the state.
        let res = Client::new().post(app.url(&format!("/orders/{id}/cancel"))).header("x-order-token", order_token)
            .json(&json!({"reason": "changed my mind"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(stock(&app, &product).await, 10);
        let res = Client::new().post(app.url(&format!("/orders/{id}/cancel"))).header("x-order-token", order_token)
            .json(&json!({"reason": "again"})).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("cancelled"), "{problem}");
    }

    /// A quote that no longer matches the cart is refused with the price now.
    async fn a_stale_quote_is_refused_with_a_fresh_one(app: TestApp) {
        let (_, product) = shop(&app, 10, "14.00").await;
        let (token, cart) = guest_cart(&app, &product, 1).await;
        let id = cart["id"].as_str().unwrap();
        let changed: Value = Client::new().put(app.url(&format!("/carts/{id}/lines"))).header("x-cart-token", &token)
            .json(&json!({"product_id": product, "quantity": 3})).send().await.unwrap().json().await.unwrap();
        assert_ne!(changed["total"], cart["total"]);
        let res = place(&app, &token, "k1", &order_body(&cart, Some(NATIONAL_ID))).await;
        let problem = expect_problem(res, StatusCode::CONFLICT, Some("quote_id")).await;
        assert_eq!(problem["fresh_quote"]["quote"]["totals"], changed["quote"]["quote"]["totals"], "{problem}");
        let mut body = order_body(&changed, Some(NATIONAL_ID));
        body["quote_id"] = problem["fresh_quote"]["id"].clone();
        assert_eq!(place(&app, &token, "k2", &body).await.status(), StatusCode::CREATED);
    }

    /// Past a person's yearly cross-border allowance, the quote at checkout changes regime and
    /// the order is refused with the fresh quote, which says why.
    async fn the_yearly_allowance_is_counted_per_person(app: TestApp) {
        // USD 600 ≈ CNY 4,278 a coffee, about 4,650 with carriage and insurance: under the
        // CNY 5,000 per-order limit; five fit in the yearly 26,000, a sixth does not.
        let (_, product) = shop(&app, 100, "600.00").await;
        for i in 0..5 {
            let (token, cart) = guest_cart(&app, &product, 1).await;
            let res = place(&app, &token, &format!("k{i}"), &order_body(&cart, Some(NATIONAL_ID))).await;
            assert_eq!(res.status(), StatusCode::CREATED, "order {i}");
        }
        let (token, cart) = guest_cart(&app, &product, 1).await;
        assert_eq!(cart["quote"]["quote"]["regime"]["name"], "cbec_retail");
        let res = place(&app, &token, "k7", &order_body(&cart, Some(NATIONAL_ID))).await;
        let problem = expect_problem(res, StatusCode::CONFLICT, Some("quote_id")).await;
        let fresh = &problem["fresh_quote"]["quote"];
        assert_ne!(fresh["regime"]["name"], "cbec_retail", "{fresh}");
        // Another person is not affected.
        let (token, cart) = guest_cart(&app, &product, 1).await;
        let res = place(&app, &token, "k8", &order_body(&cart, Some(&national_id("44030419900101001")))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}
