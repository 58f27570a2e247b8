//! Shipments over HTTP: only a paid order ships, its sellers ship their own goods under a
//! carrier's waybill, tracking events follow it, delivery ends it; every move the order's state
//! does not allow is a 409 naming that state.

use crate::checkout::{NATIONAL_ID, guest_cart, order_body, place, shop};
use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Payments are built elsewhere: the test marks the order paid directly in the database, as a
/// captured payment leaves it (status `paid`, everything captured).
async fn mark_paid(app: &TestApp, order: &str) {
    let moved = sqlx::query(
        "UPDATE orders SET status = 'paid', captured_minor = total_minor WHERE id = $1 AND status = 'pending_payment'",
    )
    .bind(order.to_owned())
    .execute(app.store.pool())
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(moved, 1);
}

/// A guest's placed order of `quantity` of the product: (id, order token).
async fn placed(app: &TestApp, product: &str, key: &str) -> (String, String) {
    let (token, cart) = guest_cart(app, product, 1).await;
    let res = place(app, &token, key, &order_body(&cart, Some(NATIONAL_ID))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let order: Value = res.json().await.unwrap();
    (
        order["id"].as_str().unwrap().to_owned(),
        order["order_token"].as_str().unwrap().to_owned(),
    )
}

fn with_token(
    client: &Client,
    method: reqwest::Method,
    url: String,
    token: &str,
) -> reqwest::RequestBuilder {
    client.request(method, url).header("x-order-token", token)
}

async fn order_status(app: &TestApp, id: &str, token: &str) -> Value {
    let res = with_token(
        &Client::new(),
        reqwest::Method::GET,
        app.url(&format!("/orders/{id}")),
        token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["status"].clone()
}

/// A second seller's coffee (the market-access rules and rates of `shop` are already there).
async fn another_seller_with_coffee(app: &TestApp) -> (Client, String, String) {
    let (seller, account) = app.seller("roaster@kivu.test", "RW").await;
    let (status, product) = app.post(&seller, "/products", json!({
        "kind": "goods", "original_locale": "en", "titles": {"en": "Kivu roasted coffee, 250 g"},
        "hs": "0901.21", "origin": "RW", "unit": "piece", "weight_kg_per_unit": "0.25",
        "retail_price": {"amount": "12.00", "currency": "USD"}, "stock": 10
    })).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let org = account["organisation"]["id"].as_str().unwrap().to_owned();
    (seller, product["id"].as_str().unwrap().to_owned(), org)
}

on_both_backends! {
    /// The whole way: unpaid orders do not ship; shipping a paid order makes it shipped, the
    /// buyer can no longer cancel, tracking events come back in time order, delivery ends it.
    async fn a_paid_order_ships_and_is_delivered(app: TestApp) {
        let (seller, product) = shop(&app, 10, "14.00").await;
        let (id, token) = placed(&app, &product, "k1").await;
        let ship = format!("/orders/{id}/shipments");
        let parcel = json!({"carrier": "SF Express", "waybill": "sf-1001"});

        // Not paid: refused with the order's state.
        let res = seller.post(app.url(&ship)).json(&parcel).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("pending_payment"), "{problem}");

        mark_paid(&app, &id).await;

        // Who may ship: not anonymous callers, not the buyer, not another seller.
        let res = Client::new().post(app.url(&ship)).json(&parcel).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let res = with_token(&Client::new(), reqwest::Method::POST, app.url(&ship), &token).json(&parcel).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let (stranger, _) = app.seller("stranger@other.test", "KH").await;
        let res = stranger.post(app.url(&ship)).json(&parcel).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let (consumer, _) = app.consumer("nosy@buyer.test").await;
        let res = consumer.post(app.url(&ship)).json(&parcel).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        // Bad input names its field.
        for (body, field) in [
            (json!({"carrier": " ", "waybill": "SF1001"}), "carrier"),
            (json!({"carrier": "x".repeat(65), "waybill": "SF1001"}), "carrier"),
            (json!({"carrier": "SF Express", "waybill": "SF 1001"}), "waybill"),
            (json!({"carrier": "SF Express", "waybill": "1".repeat(65)}), "waybill"),
            (json!({"carrier": "SF Express"}), "waybill"),
        ] {
            let res = seller.post(app.url(&ship)).json(&body).send().await.unwrap();
            expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        assert_eq!(order_status(&app, &id, &token).await, "paid");

        // The seller ships: the order is shipped.
        let (status, shipment) = app.post(&seller, &ship, parcel.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{shipment}");
        assert_eq!(shipment["waybill"], "SF-1001");
        assert_eq!(shipment["status"], "in_transit");
        assert_eq!(shipment["order_status"], "shipped");
        assert_eq!(shipment["events"], json!([]));
        assert_eq!(order_status(&app, &id, &token).await, "shipped");
        let shipment_id = shipment["id"].as_str().unwrap().to_owned();

        // Once per seller; the buyer cannot cancel a shipped order.
        let res = seller.post(app.url(&ship)).json(&json!({"carrier": "DHL", "waybill": "D1"})).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("shipped"), "{problem}");
        let res = with_token(&Client::new(), reqwest::Method::POST, app.url(&format!("/orders/{id}/cancel")), &token)
            .json(&json!({"reason": "too slow"})).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("the order is shipped"), "{problem}");

        // A carrier's waybill is used once: another order cannot ship under it.
        let (other, _) = placed(&app, &product, "k2").await;
        mark_paid(&app, &other).await;
        let res = seller.post(app.url(&format!("/orders/{other}/shipments"))).json(&json!({"carrier": "SF Express", "waybill": "SF-1001"})).send().await.unwrap();
        expect_problem(res, StatusCode::CONFLICT, Some("waybill")).await;
        // Another carrier may have the same number.
        let (status, _) = app.post(&seller, &format!("/orders/{other}/shipments"), json!({"carrier": "EMS", "waybill": "SF-1001"})).await;
        assert_eq!(status, StatusCode::CREATED);

        // Tracking events, reported out of order, come back in time order.
        let events = format!("{ship}/{shipment_id}/events");
        let now = time::OffsetDateTime::now_utc();
        let at = |hours_ago: i64| {
            (now - time::Duration::hours(hours_ago)).format(&time::format_description::well_known::Rfc3339).unwrap()
        };
        for (status, location, when) in [
            ("in_transit", "Kigali airport", at(30)),
            ("exception", "Hangzhou customs", at(10)),
            ("in_transit", "Guangzhou hub", at(20)),
        ] {
            let (code, body) = app.post(&seller, &events, json!({"status": status, "location": location, "note": "", "at": when})).await;
            assert_eq!(code, StatusCode::CREATED, "{body}");
        }
        let (code, body) = app.post(&seller, &events, json!({"status": "out_for_delivery", "location": "Hangzhou", "note": "cleared customs"})).await;
        assert_eq!(code, StatusCode::CREATED, "{body}");
        let places: Vec<&str> = body["events"].as_array().unwrap().iter().map(|e| e["location"].as_str().unwrap()).collect();
        assert_eq!(places, ["Kigali airport", "Guangzhou hub", "Hangzhou customs", "Hangzhou"]);
        assert_eq!(body["order_status"], "shipped");

        // Bad events name their field; others than the shipping seller and admins may not report.
        let tomorrow = (now + time::Duration::days(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
        for (body, field) in [
            (json!({"status": "lost", "location": "Hangzhou"}), "status"),
            (json!({"status": "in_transit", "location": ""}), "location"),
            (json!({"status": "in_transit", "location": "Hangzhou", "note": "x".repeat(501)}), "note"),
            (json!({"status": "in_transit", "location": "Hangzhou", "at": tomorrow}), "at"),
            (json!({"status": "in_transit", "location": "Hangzhou", "at": "yesterday"}), "at"),
        ] {
            let res = seller.post(app.url(&events)).json(&body).send().await.unwrap();
            expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        let event = json!({"status": "in_transit", "location": "Hangzhou"});
        let res = stranger.post(app.url(&events)).json(&event).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let res = with_token(&Client::new(), reqwest::Method::POST, app.url(&events), &token).json(&event).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let res = Client::new().post(app.url(&events)).json(&event).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let res = seller.post(app.url(&format!("{ship}/{}/events", uuid::Uuid::now_v7()))).json(&event).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;

        // Who may read: the buyer, the seller, admins; not another seller, not anonymous callers.
        let res = with_token(&Client::new(), reqwest::Method::GET, app.url(&ship), &token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let listed: Value = res.json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["events"].as_array().unwrap().len(), 4);
        let (status, _) = app.get(&seller, &ship).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.get(&stranger, &ship).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let res = Client::new().get(app.url(&ship)).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;

        // An administrator (a carrier integration) reports the delivery: the order is delivered.
        let admin = app.sign_in("admin@platform.test").await;
        let (status, listed) = app.get(&admin, &ship).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let (code, body) = app.post(&admin, &events, json!({"status": "delivered", "location": "18 Wensan Road", "note": "signed by Li Na"})).await;
        assert_eq!(code, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "delivered");
        assert!(body["delivered_at"].is_string(), "{body}");
        assert_eq!(body["order_status"], "delivered");
        assert_eq!(order_status(&app, &id, &token).await, "delivered");

        // A delivered shipment takes no more events; the order stays delivered.
        let res = seller.post(app.url(&events)).json(&event).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("the order is delivered"), "{problem}");
        let res = with_token(&Client::new(), reqwest::Method::POST, app.url(&format!("/orders/{id}/cancel")), &token)
            .json(&json!({"reason": "late"})).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("the order is delivered"), "{problem}");
    }

    /// Two sellers in one order: each ships their own goods, sees only their own shipment, and
    /// the order is delivered when both shipments are.
    async fn each_seller_ships_their_own_goods(app: TestApp) {
        let (first, coffee) = shop(&app, 10, "14.00").await;
        let (second, other_coffee, second_org) = another_seller_with_coffee(&app).await;
        let (cart_token, cart) = guest_cart(&app, &coffee, 1).await;
        let res = Client::new()
            .put(app.url(&format!("/carts/{}/lines", cart["id"].as_str().unwrap())))
            .header("x-cart-token", &cart_token)
            .json(&json!({"product_id": other_coffee, "quantity": 2}))
            .send()
            .await
            .unwrap();
        let cart: Value = res.json().await.unwrap();
        let res = place(&app, &cart_token, "k1", &order_body(&cart, Some(NATIONAL_ID))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let order: Value = res.json().await.unwrap();
        let id = order["id"].as_str().unwrap();
        let token = order["order_token"].as_str().unwrap();
        mark_paid(&app, id).await;
        let ship = format!("/orders/{id}/shipments");

        // An administrator must say whose goods ship.
        let admin = app.sign_in("admin@platform.test").await;
        let res = admin.post(app.url(&ship)).json(&json!({"carrier": "DHL", "waybill": "D-1"})).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("seller_id")).await;

        let (status, a) = app.post(&first, &ship, json!({"carrier": "DHL", "waybill": "D-1"})).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(a["order_status"], "shipped");
        // A seller cannot ship as another.
        let res = first.post(app.url(&ship)).json(&json!({"carrier": "DHL", "waybill": "D-2", "seller_id": second_org})).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        // Each sees their own shipment; the buyer sees both once both have shipped.
        let (_, seen) = app.get(&second, &ship).await;
        assert_eq!(seen, json!([]));
        let delivered = json!({"status": "delivered", "location": "Hangzhou"});
        let (status, body) = app.post(&first, &format!("{ship}/{}/events", a["id"].as_str().unwrap()), delivered.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // The second seller's goods have not even left: the order is still shipped.
        assert_eq!(body["order_status"], "shipped");
        assert_eq!(order_status(&app, id, token).await, "shipped");

        let (status, b) = app.post(&second, &ship, json!({"carrier": "EMS", "waybill": "E-1"})).await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
        assert_eq!(b["order_status"], "shipped");
        let b_events = format!("{ship}/{}/events", b["id"].as_str().unwrap());
        // The first seller cannot report on the second's shipment.
        let res = first.post(app.url(&b_events)).json(&delivered).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let (_, seen) = app.get(&second, &ship).await;
        assert_eq!(seen.as_array().unwrap().len(), 1);
        assert_eq!(seen[0]["id"], b["id"]);

        let (status, body) = app.post(&second, &b_events, delivered).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["order_status"], "delivered");
        let res = with_token(&Client::new(), reqwest::Method::GET, app.url(&ship), token).send().await.unwrap();
        let all: Value = res.json().await.unwrap();
        assert_eq!(all.as_array().unwrap().len(), 2);
        assert!(all.as_array().unwrap().iter().all(|s| s["status"] == "delivered" && s["order_status"] == "delivered"), "{all}");
    }
}
