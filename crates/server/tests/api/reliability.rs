//! Reliability under contention: many buyers racing for the last units, and one person's yearly
//! allowance raced from two servers. Each test runs two servers on one database (the main
//! `TestApp` and `second_server()`), nothing shared between them but the database.

use crate::checkout::{national_id, order_body, shop};
use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

/// A guest's cart for China in yuan holding `quantity` of the product, made on the server at
/// `base`; returns (cart token, cart with its fresh quote).
async fn cart_on(base: &str, product: &str, quantity: u32) -> (String, Value) {
    let client = Client::new();
    let res = client
        .post(format!("{base}/api/v1/carts"))
        .json(&json!({"destination": "CN", "currency": "CNY"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let cart: Value = res.json().await.unwrap();
    let token = cart["token"].as_str().unwrap().to_owned();
    let id = cart["id"].as_str().unwrap();
    let res = client
        .put(format!("{base}/api/v1/carts/{id}/lines"))
        .header("x-cart-token", &token)
        .json(&json!({"product_id": product, "quantity": quantity}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cart: Value = res.json().await.unwrap();
    assert_eq!(
        cart["quote"]["quote"]["regime"]["name"], "cbec_retail",
        "{cart}"
    );
    (token, cart)
}

/// Places the order on the server at `base`. A 503 ("the database is busy; retry", with
/// Retry-After) is retried with the same Idempotency-Key, as a client should; returns the final
/// status, the body and how many retries it took.
async fn place_on(base: &str, token: &str, key: &str, body: &Value) -> (StatusCode, Value, u32) {
    let client = Client::new();
    let mut retries = 0;
    loop {
        let res = client
            .post(format!("{base}/api/v1/orders"))
            .header("x-cart-token", token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status == StatusCode::SERVICE_UNAVAILABLE && retries < 100 {
            retries += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json", "{status} {body}");
            assert_eq!(body["status"], status.as_u16(), "{body}");
            assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{body}");
        }
        return (status, body, retries);
    }
}

async fn stock(base: &str, product: &str) -> u64 {
    let p: Value = reqwest::get(format!("{base}/api/v1/products/{product}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    p["stock"].as_u64().unwrap()
}

/// Orders by state, as the database holds them.
async fn orders_by_status(app: &TestApp) -> Vec<(String, i64)> {
    app.store.orders_by_status().await.unwrap()
}

/// Every (used, limit) row of `person_limits`, in minor units.
async fn person_limits(app: &TestApp) -> Vec<(i64, i64)> {
    sqlx::query_as("SELECT used_minor, limit_minor FROM person_limits")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}

on_both_backends! {
    /// 64 guests, each with their own cart and their own national ID, order the same product
    /// with 10 units left at the same moment, through two servers on one database: exactly ten
    /// get their order; every other one gets a 409 naming the cart line; nothing is oversold.
    async fn sixty_four_buyers_race_for_ten_units_across_two_servers(app: TestApp) {
        const BUYERS: usize = 64;
        const UNITS: u64 = 10;
        let (_, product) = shop(&app, UNITS as u32, "14.00").await;
        let (second, _second_server, _second_dir) = app.second_server().await;
        let servers = [app.base.clone(), second];

        // Every buyer's cart and quote first (half on each server), so each quote is fresh
        // when the race starts: the only thing that can run out is the stock.
        let mut carts = Vec::with_capacity(BUYERS);
        for i in 0..BUYERS {
            let base = servers[(i / 2) % 2].clone();
            let product = product.clone();
            carts.push(tokio::spawn(async move { cart_on(&base, &product, 1).await }));
        }
        let mut buyers = Vec::with_capacity(BUYERS);
        for c in carts {
            buyers.push(c.await.unwrap());
        }

        let start = Arc::new(Barrier::new(BUYERS));
        let mut racers = Vec::with_capacity(BUYERS);
        for (i, (token, cart)) in buyers.into_iter().enumerate() {
            // Each buyer orders through the server their cart was not made on, half the time.
            let base = servers[i % 2].clone();
            let start = start.clone();
            let body = order_body(&cart, Some(&national_id(&format!("11010519900101{i:03}"))));
            racers.push(tokio::spawn(async move {
                start.wait().await;
                place_on(&base, &token, &format!("race-{i}"), &body).await
            }));
        }
        let (mut created, mut refused, mut retries) = (Vec::new(), 0, 0);
        for r in racers {
            let (status, body, tries) = r.await.unwrap();
            retries += tries;
            match status {
                StatusCode::CREATED => {
                    assert_eq!(body["status"], "pending_payment", "{body}");
                    assert_eq!(body["lines"][0]["quantity"], 1, "{body}");
                    created.push(body["id"].as_str().unwrap().to_owned());
                }
                StatusCode::CONFLICT => {
                    assert_eq!(body["field"], "lines[0].quantity", "{body}");
                    assert!(body["detail"].as_str().unwrap().contains("stock"), "{body}");
                    refused += 1;
                }
                other => panic!("a buyer got {other}: {body}"),
            }
        }
        eprintln!("race: {} orders, {refused} refused, {retries} retries after a 503", created.len());
        assert_eq!(created.len() as u64, UNITS, "exactly the units in stock are sold");
        assert_eq!(refused, BUYERS - UNITS as usize);
        created.sort();
        created.dedup();
        assert_eq!(created.len() as u64, UNITS, "ten different orders");

        // Both servers see the product sold out; the database holds ten live orders, nothing
        // else, and the units they hold are the units that left the stock.
        for base in &servers {
            assert_eq!(stock(base, &product).await, 0);
        }
        assert_eq!(orders_by_status(&app).await, vec![("pending_payment".to_owned(), UNITS as i64)]);
        assert_eq!(app.store.stock_ledger().await.unwrap(), (UNITS as i64, 0));
    }

    /// One person orders twice at the same moment, once through each server, when their yearly
    /// cross-border allowance has room for one more order but not two: at most one is placed,
    /// the other is refused with a 409 that says why, and the person's counted amount never
    /// passes the limit.
    async fn two_orders_racing_past_a_yearly_limit_place_at_most_one(app: TestApp) {
        // USD 600 ≈ CNY 4,650 an order with carriage and insurance: four fill 18,600 of the
        // yearly CNY 26,000, a fifth fits (23,250), a sixth would not (27,900).
        let (_, product) = shop(&app, 100, "600.00").await;
        let (second, _second_server, _second_dir) = app.second_server().await;
        let servers = [app.base.clone(), second];
        for i in 0..4 {
            let (token, cart) = cart_on(&servers[i % 2], &product, 1).await;
            let (status, body, _) =
                place_on(&servers[i % 2], &token, &format!("k{i}"), &order_body(&cart, Some(crate::checkout::NATIONAL_ID))).await;
            assert_eq!(status, StatusCode::CREATED, "order {i}: {body}");
        }
        let limits = person_limits(&app).await;
        assert_eq!(limits.len(), 1, "{limits:?}");
        let (used_before, limit) = limits[0];
        assert_eq!(limit, 2_600_000, "CNY 26,000 a year");
        let per_order = used_before / 4;
        assert_eq!(per_order * 4, used_before);
        assert!(used_before + per_order <= limit && used_before + 2 * per_order > limit,
            "one more order must fit and two must not: {used_before} used, {per_order} an order, {limit} limit");

        // Both carts are quoted before either order: both quotes say cbec_retail.
        let (token_a, cart_a) = cart_on(&servers[0], &product, 1).await;
        let (token_b, cart_b) = cart_on(&servers[1], &product, 1).await;
        let start = Arc::new(Barrier::new(2));
        let mut racers = Vec::new();
        for (i, (base, token, cart)) in [(servers[0].clone(), token_a, cart_a), (servers[1].clone(), token_b, cart_b)]
            .into_iter()
            .enumerate()
        {
            let start = start.clone();
            let body = order_body(&cart, Some(crate::checkout::NATIONAL_ID));
            racers.push(tokio::spawn(async move {
                start.wait().await;
                place_on(&base, &token, &format!("race-{i}"), &body).await
            }));
        }
        let mut placed = 0;
        for r in racers {
            let (status, body, _) = r.await.unwrap();
            match status {
                StatusCode::CREATED => placed += 1,
                StatusCode::CONFLICT if body["field"] == "buyer.national_id" => {
                    assert!(body["detail"].as_str().unwrap().contains("yearly"), "{body}");
                    eprintln!("the second order was refused at the yearly limit");
                }
                StatusCode::CONFLICT if body["field"] == "quote_id" => {
                    // The price now: the order no longer fits the retail allowance.
                    let fresh = &body["fresh_quote"]["quote"];
                    assert_ne!(fresh["regime"]["name"], "cbec_retail", "{body}");
                    eprintln!("the second order was refused with a fresh quote");
                }
                other => panic!("unexpected answer {other}: {body}"),
            }
        }
        assert!(placed <= 1, "both orders were placed past the yearly limit");
        assert_eq!(placed, 1, "one more order fits the allowance: one of the two is placed");
        let limits = person_limits(&app).await;
        assert_eq!(limits.len(), 1, "{limits:?}");
        let (used, limit) = limits[0];
        assert!(used <= limit, "{used} counted past the limit {limit}");
        assert_eq!(used, used_before + placed * per_order, "the counted amount is what the placed orders charge");
        let live: i64 = orders_by_status(&app).await.iter().filter(|(s, _)| s != "cancelled" && s != "expired").map(|(_, n)| n).sum();
        assert_eq!(live, 4 + placed);
    }
}
