//! Payments through the sandbox provider, refunds and cancellation, and the money reconciliation.

use crate::checkout::{NATIONAL_ID, guest_cart, order_body, place, shop};
use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Another seller's product in the same shop (rates and rules already loaded by `shop`).
async fn second_product(app: &TestApp, stock: u32, price: &str) -> (Client, String) {
    let (seller, _) = app
        .seller(
            &format!("weaver-{}@kigali.test", uuid::Uuid::now_v7()),
            "RW",
        )
        .await;
    let (status, product) = app.post(&seller, "/products", json!({
        "kind": "goods", "original_locale": "en", "titles": {"en": "Kigali espresso beans, 100 g", "zh-CN": "卢旺达浓缩咖啡豆"},
        "hs": "0901.21", "origin": "RW", "unit": "piece", "weight_kg_per_unit": "0.1",
        "retail_price": {"amount": price, "currency": "USD"}, "stock": stock
    })).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    (seller, product["id"].as_str().unwrap().to_owned())
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

/// A guest's placed order; returns (order, order token).
async fn placed_order(app: &TestApp, product: &str, quantity: u32, key: &str) -> (Value, String) {
    let (token, cart) = guest_cart(app, product, quantity).await;
    let res = place(app, &token, key, &order_body(&cart, Some(NATIONAL_ID))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let order: Value = res.json().await.unwrap();
    let order_token = order["order_token"].as_str().unwrap().to_owned();
    (order, order_token)
}

async fn pay(
    app: &TestApp,
    order: &Value,
    token: &str,
    key: &str,
    method: &str,
) -> reqwest::Response {
    Client::new()
        .post(app.url(&format!(
            "/orders/{}/payments",
            order["id"].as_str().unwrap()
        )))
        .header("x-order-token", token)
        .header("idempotency-key", key)
        .json(&json!({"provider": "sandbox", "payment_method": method}))
        .send()
        .await
        .unwrap()
}

async fn capture(
    app: &TestApp,
    order: &Value,
    payment: &Value,
    token: &str,
    key: &str,
) -> reqwest::Response {
    Client::new()
        .post(app.url(&format!(
            "/orders/{}/payments/{}/capture",
            order["id"].as_str().unwrap(),
            payment["id"].as_str().unwrap()
        )))
        .header("x-order-token", token)
        .header("idempotency-key", key)
        .send()
        .await
        .unwrap()
}

/// Authorises and captures the order with `sandbox_card_ok`; returns the captured payment.
async fn pay_in_full(app: &TestApp, order: &Value, token: &str) -> Value {
    let res = pay(app, order, token, "pay", "sandbox_card_ok").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let payment: Value = res.json().await.unwrap();
    let res = capture(app, order, &payment, token, "capture").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn refund(
    app: &TestApp,
    client: &Client,
    order: &Value,
    key: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(app.url(&format!(
            "/orders/{}/refunds",
            order["id"].as_str().unwrap()
        )))
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn payments_of(app: &TestApp, order: &Value, token: &str) -> Value {
    let res = Client::new()
        .get(app.url(&format!(
            "/orders/{}/payments",
            order["id"].as_str().unwrap()
        )))
        .header("x-order-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Polls the order's payments until `done` holds (webhooks and refunds arrive in the background).
async fn wait_for(
    app: &TestApp,
    order: &Value,
    token: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let payments = payments_of(app, order, token).await;
        if done(&payments) {
            return payments;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}: {payments}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has_webhook(payments: &Value, kind: &str) -> bool {
    payments["payments"].as_array().unwrap().iter().any(|p| {
        p["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == kind)
    })
}

fn minor(money: &Value) -> i64 {
    let s = money["amount"].as_str().unwrap();
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<2}");
    whole.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

/// The platform's books, checked in the database: captures − refunds = Σ orders (captured −
/// refunded) = Σ payments (captured − refunded).
async fn assert_reconciled(app: &TestApp) -> i64 {
    let (net, orders, payments) = app.store.money_reconciliation().await.unwrap();
    assert_eq!(
        net, orders,
        "captures − refunds ≠ Σ orders (captured − refunded)"
    );
    assert_eq!(
        net, payments,
        "captures − refunds ≠ Σ payments (captured − refunded)"
    );
    net
}

on_both_backends! {
    /// Guest cart → order → sandbox authorisation → capture → the sandbox's webhooks come back
    /// → a seller refunds part of their line, then all of it → the other seller's line too →
    /// the order is refunded and its stock back.
    async fn an_order_is_paid_through_the_sandbox_and_refunded_line_by_line(app: TestApp) {
        let (coffee_seller, coffee) = shop(&app, 10, "14.00").await;
        let (tea_seller, tea) = second_product(&app, 10, "9.00").await;
        let (token, cart) = guest_cart(&app, &coffee, 2).await;
        let cart_id = cart["id"].as_str().unwrap();
        let cart: Value = Client::new().put(app.url(&format!("/carts/{cart_id}/lines"))).header("x-cart-token", &token)
            .json(&json!({"product_id": tea, "quantity": 1})).send().await.unwrap().json().await.unwrap();
        let res = place(&app, &token, "o1", &order_body(&cart, Some(NATIONAL_ID))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let order: Value = res.json().await.unwrap();
        let order_token = order["order_token"].as_str().unwrap().to_owned();
        let id = order["id"].as_str().unwrap().to_owned();
        assert_eq!((stock(&app, &coffee).await, stock(&app, &tea).await), (8, 9));

        // No key, no credentials, unknown provider or method: refused by name.
        let res = Client::new().post(app.url(&format!("/orders/{id}/payments"))).header("x-order-token", &order_token)
            .json(&json!({"provider": "sandbox", "payment_method": "sandbox_card_ok"})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        let res = Client::new().post(app.url(&format!("/orders/{id}/payments"))).header("idempotency-key", "x")
            .json(&json!({"provider": "sandbox", "payment_method": "sandbox_card_ok"})).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let res = Client::new().post(app.url(&format!("/orders/{id}/payments"))).header("x-order-token", &order_token)
            .header("idempotency-key", "x").json(&json!({"provider": "visa", "payment_method": "sandbox_card_ok"})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("provider")).await;
        let res = pay(&app, &order, &order_token, "x", "4111111111111111").await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("payment_method")).await;
        // The seller cannot pay for the buyer.
        let res = coffee_seller.post(app.url(&format!("/orders/{id}/payments"))).header("idempotency-key", "x")
            .json(&json!({"provider": "sandbox", "payment_method": "sandbox_card_ok"})).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        // Authorise: a sandbox payment of the order's total.
        let res = pay(&app, &order, &order_token, "p1", "sandbox_card_ok").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let payment: Value = res.json().await.unwrap();
        assert_eq!(payment["provider"], "sandbox");
        assert_eq!(payment["status"], "authorised");
        assert_eq!(payment["amount"], order["total"]);
        assert!(payment["provider_ref"].as_str().unwrap().starts_with("sbx_pay_"), "{payment}");
        // The same request again: the same answer. A second payment while one is live: 409.
        let again: Value = pay(&app, &order, &order_token, "p1", "sandbox_card_ok").await.json().await.unwrap();
        assert_eq!(again, payment);
        let res = pay(&app, &order, &order_token, "p2", "sandbox_card_ok").await;
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("authorised"), "{problem}");

        // Capture: the order is paid; a retry with the key gets the same answer, another key 409.
        let res = capture(&app, &order, &payment, &order_token, "c1").await;
        assert_eq!(res.status(), StatusCode::OK);
        let captured: Value = res.json().await.unwrap();
        assert_eq!(captured["status"], "captured");
        assert_eq!(captured["captured"], order["total"]);
        let retried = capture(&app, &order, &payment, &order_token, "c1").await;
        assert_eq!(retried.status(), StatusCode::OK);
        assert_eq!(retried.json::<Value>().await.unwrap(), captured);
        let res = capture(&app, &order, &payment, &order_token, "c2").await;
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("captured"), "{problem}");
        let paid: Value = Client::new().get(app.url(&format!("/orders/{id}"))).header("x-order-token", &order_token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["captured"], order["total"]);

        // The sandbox's signed webhooks reach the server's own endpoint.
        wait_for(&app, &order, &order_token, "the capture webhook", |p| has_webhook(p, "payment.authorised") && has_webhook(p, "payment.captured")).await;

        // Who may refund: not the buyer, not a consumer, not a seller for another's line.
        let lines = paid["lines"].as_array().unwrap();
        let coffee_line = lines.iter().find(|l| l["product_id"] == coffee.as_str()).unwrap();
        let tea_line = lines.iter().find(|l| l["product_id"] == tea.as_str()).unwrap();
        let coffee_no = coffee_line["line_no"].as_u64().unwrap();
        let tea_no = tea_line["line_no"].as_u64().unwrap();
        let partial = json!({"lines": [{"line_no": coffee_no, "amount": "10.00"}], "reason": "one bag arrived torn"});
        let res = Client::new().post(app.url(&format!("/orders/{id}/refunds"))).header("x-order-token", &order_token)
            .header("idempotency-key", "r").json(&partial).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let res = Client::new().post(app.url(&format!("/orders/{id}/refunds"))).header("idempotency-key", "r").json(&partial).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let (consumer, _) = app.consumer("nosy@buyer.test").await;
        expect_problem(refund(&app, &consumer, &order, "r", partial.clone()).await, StatusCode::FORBIDDEN, None).await;
        expect_problem(refund(&app, &tea_seller, &order, "r", partial.clone()).await, StatusCode::FORBIDDEN, None).await;
        let (stranger, _) = app.seller("stranger@elsewhere.test", "KH").await;
        expect_problem(refund(&app, &stranger, &order, "r", partial.clone()).await, StatusCode::FORBIDDEN, None).await;
        // Bad amounts are named.
        let too_much = json!({"lines": [{"line_no": coffee_no, "amount": "100000.00"}], "reason": "x"});
        expect_problem(refund(&app, &coffee_seller, &order, "r", too_much).await, StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].amount")).await;
        let not_money = json!({"lines": [{"line_no": coffee_no, "amount": "ten"}], "reason": "x"});
        expect_problem(refund(&app, &coffee_seller, &order, "r", not_money).await, StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].amount")).await;
        let no_line = json!({"lines": [{"line_no": 99, "amount": "1.00"}], "reason": "x"});
        expect_problem(refund(&app, &coffee_seller, &order, "r", no_line).await, StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].line_no")).await;

        // The coffee seller refunds part of their line; a retry is the same answer.
        let res = refund(&app, &coffee_seller, &order, "r1", partial.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first: Value = res.json().await.unwrap();
        assert_eq!(first["provider"], "sandbox");
        assert_eq!(first["order"]["status"], "paid");
        assert_eq!(first["order"]["refunded"]["amount"], "10.00");
        let again: Value = refund(&app, &coffee_seller, &order, "r1", partial.clone()).await.json().await.unwrap();
        assert_eq!(again, first);
        // Then the rest of their line, then the administrator the tea line: everything is back.
        let rest = json!({"lines": [{"line_no": coffee_no}], "reason": "the whole order was lost"});
        let res = refund(&app, &coffee_seller, &order, "r2", rest).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let second: Value = res.json().await.unwrap();
        assert_eq!(second["order"]["status"], "paid");
        let admin = app.sign_in("admin@platform.test").await;
        let res = refund(&app, &admin, &order, "r3", json!({"lines": [{"line_no": tea_no}], "reason": "lost in transit"})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let last: Value = res.json().await.unwrap();
        assert_eq!(last["order"]["status"], "refunded");
        assert_eq!(last["order"]["refunded"], order["total"]);
        assert_eq!((stock(&app, &coffee).await, stock(&app, &tea).await), (10, 10));
        // Nothing is left to refund.
        let res = refund(&app, &admin, &order, "r4", json!({"lines": [{"line_no": tea_no, "amount": "0.01"}], "reason": "x"})).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].amount")).await;

        // The provider took every refund and said so by webhook; each seller sees their lines'.
        let payments = wait_for(&app, &order, &order_token, "the refunds to be sent and confirmed", |p| {
            p["refunds"].as_array().unwrap().iter().all(|r| r["sent_at"].is_string())
                && p["payments"][0]["webhooks"].as_array().unwrap().iter().filter(|w| w["kind"] == "payment.refunded").count() == 3
        }).await;
        assert_eq!(payments["refunds"].as_array().unwrap().len(), 3);
        let (_, seen) = app.get(&tea_seller, &format!("/orders/{id}/payments")).await;
        assert_eq!(seen["refunds"].as_array().unwrap().len(), 1, "{seen}");
        let (status, _) = app.get(&stranger, &format!("/orders/{id}/payments")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(assert_reconciled(&app).await, 0);
    }

    /// A declined card is a 402 naming the payment method, recorded as a failed attempt that
    /// does not block paying with another method.
    async fn a_declined_card_is_refused_and_another_can_pay(app: TestApp) {
        let (_, product) = shop(&app, 10, "14.00").await;
        let (order, token) = placed_order(&app, &product, 1, "o1").await;
        let res = pay(&app, &order, &token, "d1", "sandbox_card_declined").await;
        let problem = expect_problem(res, StatusCode::PAYMENT_REQUIRED, Some("payment_method")).await;
        assert!(problem["detail"].as_str().unwrap().contains("sandbox"), "{problem}");
        // The retry is answered the same; the order still waits for a payment.
        let res = pay(&app, &order, &token, "d1", "sandbox_card_declined").await;
        let again = expect_problem(res, StatusCode::PAYMENT_REQUIRED, Some("payment_method")).await;
        assert_eq!(again, problem);
        // The same key with another request: 422.
        let res = pay(&app, &order, &token, "d1", "sandbox_card_ok").await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        let payment = pay_in_full(&app, &order, &token).await;
        assert_eq!(payment["status"], "captured");
        let payments = payments_of(&app, &order, &token).await;
        let statuses: Vec<&str> = payments["payments"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["failed", "captured"]);
        wait_for(&app, &order, &token, "the decline webhook", |p| has_webhook(p, "payment.declined")).await;
    }

    /// The buyer cancels a paid order before shipment: everything is refunded through the
    /// sandbox and the stock goes back. After shipment the buyer gets 409 naming the state;
    /// an authorised (not captured) order is cancelled and its authorisation voided.
    async fn the_buyer_cancels_a_paid_order_before_shipment(app: TestApp) {
        let (_, product) = shop(&app, 10, "14.00").await;
        let (order, token) = placed_order(&app, &product, 2, "o1").await;
        let id = order["id"].as_str().unwrap();
        pay_in_full(&app, &order, &token).await;
        assert_eq!(stock(&app, &product).await, 8);
        let res = Client::new().post(app.url(&format!("/orders/{id}/cancel"))).header("x-order-token", &token)
            .json(&json!({"reason": "changed my mind"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let cancelled: Value = res.json().await.unwrap();
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["refunded"], order["total"]);
        assert_eq!(stock(&app, &product).await, 10);
        wait_for(&app, &order, &token, "the refund", |p| has_webhook(p, "payment.refunded")).await;

        // Shipped (as the shipments module will mark it): the buyer may no longer cancel.
        let (shipped, shipped_token) = placed_order(&app, &product, 1, "o2").await;
        pay_in_full(&app, &shipped, &shipped_token).await;
        sqlx::query("UPDATE orders SET status = 'shipped' WHERE id = $1")
            .bind(shipped["id"].as_str().unwrap().to_owned())
            .execute(app.store.pool()).await.unwrap();
        let res = Client::new().post(app.url(&format!("/orders/{}/cancel", shipped["id"].as_str().unwrap())))
            .header("x-order-token", &shipped_token).json(&json!({"reason": "too late"})).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("shipped"), "{problem}");

        // Authorised only: cancelled, and the sandbox authorisation voided.
        let (held, held_token) = placed_order(&app, &product, 1, "o3").await;
        let res = pay(&app, &held, &held_token, "p", "sandbox_card_ok").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = Client::new().post(app.url(&format!("/orders/{}/cancel", held["id"].as_str().unwrap())))
            .header("x-order-token", &held_token).json(&json!({"reason": "found it cheaper"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let payments = wait_for(&app, &held, &held_token, "the void webhook", |p| has_webhook(p, "payment.voided")).await;
        assert_eq!(payments["payments"][0]["status"], "voided");
        assert_eq!(stock(&app, &product).await, 9);
        assert_reconciled(&app).await;
    }

    /// Webhooks must be signed with the platform's key, recently; a repeated event is applied
    /// once.
    async fn sandbox_webhooks_are_verified_and_applied_once(app: TestApp) {
        let doc: Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
        assert_eq!(doc["components"]["securitySchemes"]["sandbox_signature"]["name"], "Pavilion-Sandbox-Signature");
        let op = &doc["paths"]["/payments/webhooks/sandbox"]["post"];
        assert!(op["description"].as_str().unwrap().starts_with("Permission: the sandbox payment provider (signed webhook)"));
        let url = app.url("/payments/webhooks/sandbox");
        let body = r#"{"id":"sbx_evt_forged","type":"payment.captured","payment":{"id":"sbx_pay_x"}}"#;
        let post = |signature: Option<String>, body: String| {
            let mut req = Client::new().post(&url).header("content-type", "application/json").body(body);
            if let Some(s) = signature {
                req = req.header("pavilion-sandbox-signature", s);
            }
            req.send()
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        expect_problem(post(None, body.into()).await.unwrap(), StatusCode::UNAUTHORIZED, None).await;
        let forged = pavilion_server::payments::sandbox::signature("not the key", now, body.as_bytes());
        expect_problem(post(Some(forged), body.into()).await.unwrap(), StatusCode::UNAUTHORIZED, None).await;
        expect_problem(post(Some("v1=abc".into()), body.into()).await.unwrap(), StatusCode::BAD_REQUEST, Some("Pavilion-Sandbox-Signature")).await;

        // A real event, applied already by the platform: re-sent, it changes nothing; signed
        // long ago, it is refused. (The sandbox marks its row delivered only after the
        // platform's answer, so the row is read whatever its delivery mark.)
        let (_, product) = shop(&app, 10, "14.00").await;
        let (order, token) = placed_order(&app, &product, 1, "o1").await;
        pay_in_full(&app, &order, &token).await;
        wait_for(&app, &order, &token, "the capture webhook", |p| has_webhook(p, "payment.captured")).await;
        let (event,): (String,) = sqlx::query_as("SELECT body FROM sandbox_webhooks WHERE event = 'payment.captured'")
            .fetch_one(app.store.pool()).await.unwrap();
        let key = app.store.server_secret("sandbox_webhooks", "unused".into()).await.unwrap();
        let sign = |t: i64| pavilion_server::payments::sandbox::signature(&key, t, event.as_bytes());
        let res = post(Some(sign(now)), event.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let ack: Value = res.json().await.unwrap();
        assert_eq!(ack["applied"], false, "{ack}");
        expect_problem(post(Some(sign(now - 3600)), event.clone()).await.unwrap(), StatusCode::UNAUTHORIZED, None).await;
        // A valid signature over another body is forged.
        let tampered = event.replace("payment.captured", "payment.voided");
        expect_problem(post(Some(sign(now)), tampered).await.unwrap(), StatusCode::UNAUTHORIZED, None).await;
        let payments = payments_of(&app, &order, &token).await;
        assert_eq!(payments["payments"][0]["webhooks"].as_array().unwrap().iter().filter(|w| w["kind"] == "payment.captured").count(), 1);
    }

    /// Over several orders with captures, partial and full refunds and a cancellation, the
    /// platform's books reconcile in the database, and the sandbox's books agree with them.
    async fn money_reconciles_over_many_orders(app: TestApp) {
        let (seller, product) = shop(&app, 100, "14.00").await;
        let mut expected = 0;
        for i in 0..5 {
            let (order, token) = placed_order(&app, &product, 1 + i % 2, &format!("o{i}")).await;
            pay_in_full(&app, &order, &token).await;
            let total = minor(&order["total"]);
            expected += total;
            let line = order["lines"][0]["line_no"].as_u64().unwrap();
            match i {
                0 => {}
                1 | 2 => {
                    let res = refund(&app, &seller, &order, &format!("r{i}"), json!({"lines": [{"line_no": line, "amount": "3.25"}], "reason": "damaged"})).await;
                    assert_eq!(res.status(), StatusCode::CREATED);
                    expected -= 325;
                }
                3 => {
                    let res = refund(&app, &seller, &order, &format!("r{i}"), json!({"lines": [{"line_no": line}], "reason": "lost"})).await;
                    assert_eq!(res.status(), StatusCode::CREATED);
                    expected -= total;
                }
                _ => {
                    let res = Client::new().post(app.url(&format!("/orders/{}/cancel", order["id"].as_str().unwrap())))
                        .header("x-order-token", &token).json(&json!({"reason": "no longer needed"})).send().await.unwrap();
                    assert_eq!(res.status(), StatusCode::OK);
                    expected -= total;
                }
            }
            assert_eq!(assert_reconciled(&app).await, expected);
        }
        // An unpaid order counts nothing.
        placed_order(&app, &product, 1, "unpaid").await;
        assert_eq!(assert_reconciled(&app).await, expected);
        // The sandbox's own books (once every refund reached it) say the same.
        let start = Instant::now();
        loop {
            let (unsent,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM refunds WHERE sent_at IS NULL")
                .fetch_one(app.store.pool()).await.unwrap();
            if unsent == 0 { break; }
            assert!(start.elapsed() < Duration::from_secs(20), "refunds not sent");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (sandbox,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(captured_minor - refunded_minor), 0) AS BIGINT) FROM sandbox_payments")
            .fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(sandbox, expected);
    }
}

on_both_backends! {
    /// A buyer who authorises and never captures does not hold the goods for ever: past the
    /// order's deadline the order is cancelled, the stock goes back and the authorisation is voided.
    async fn an_authorisation_never_captured_is_released(app: TestApp) {
        let (_, product) = shop(&app, 5, "14.00").await;
        let (order, token) = placed_order(&app, &product, 2, "k-unc").await;
        let res = pay(&app, &order, &token, "p-unc", "sandbox_card_ok").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(stock(&app, &product).await, 3);
        // Move the order's deadline into the past, as if the buyer had walked away.
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind("2000-01-01T00:00:00.000000Z")
            .bind(order["id"].as_str().unwrap())
            .execute(app.store.pool())
            .await
            .unwrap();
        let url = app.url(&format!("/orders/{}", order["id"].as_str().unwrap()));
        let mut seen = Value::Null;
        for _ in 0..150 {
            seen = Client::new().get(&url).header("x-order-token", &token).send().await.unwrap().json().await.unwrap();
            if seen["status"] == "cancelled" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen["status"], "cancelled", "{seen}");
        assert_eq!(stock(&app, &product).await, 5);
        let payments = wait_for(&app, &order, &token, "the void", |p| p["payments"][0]["status"] == "voided").await;
        assert_eq!(payments["payments"][0]["status"], "voided", "{payments}");
    }
}
