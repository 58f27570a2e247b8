//! Product images: uploaded raw, checked from their bytes, stored in the database, served with
//! caching headers.

use crate::helpers::*;
use pavilion_domain::catalogue::image::{MAX_IMAGE_BYTES, samples};
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn draft() -> Value {
    json!({
        "kind": "goods", "original_locale": "en",
        "titles": {"en": "Fresh Pailin longan, 5 kg box"},
        "hs": "0810.90.30", "origin": "KH", "unit": "piece", "weight_kg_per_unit": "5",
        "retail_price": {"amount": "18.00", "currency": "USD"}, "stock": 500
    })
}

async fn product_of(app: &TestApp, seller: &Client) -> String {
    let (status, product) = app.post(seller, "/products", draft()).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    product["id"].as_str().unwrap().to_owned()
}

async fn upload(
    app: &TestApp,
    client: &Client,
    product: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/products/{product}/images")))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

on_both_backends! {
    async fn sellers_upload_list_fetch_and_delete_images(app: TestApp) {
        let (seller, _) = app.seller("img@pailin.test", "KH").await;
        let id = product_of(&app, &seller).await;
        let png = samples::png(3, 2, false);

        let res = seller.post(app.url(&format!("/products/{id}/images?alt=A%205%20kg%20box%20of%20longan")))
            .header("content-type", "image/png").body(png.clone()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let first: Value = res.json().await.unwrap();
        assert_eq!(location, first["url"].as_str().unwrap());
        assert_eq!(first["content_type"], "image/png");
        assert_eq!((first["width"].as_u64(), first["height"].as_u64()), (Some(3), Some(2)));
        assert_eq!(first["byte_size"], png.len());
        assert_eq!(first["sha256"], hex_sha256(&png));
        assert_eq!(first["alt"], "A 5 kg box of longan");
        assert_eq!(first["position"], 0);

        // The stored type comes from the bytes, not from the declared Content-Type.
        let res = upload(&app, &seller, &id, "image/png", samples::webp_lossless(40, 30)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let webp: Value = res.json().await.unwrap();
        assert_eq!(webp["content_type"], "image/webp");
        assert!(webp["alt"].is_null());
        let res = upload(&app, &seller, &id, "image/jpeg", samples::jpeg(640, 480)).await;
        assert_eq!(res.status(), StatusCode::CREATED);

        let list: Value = reqwest::get(app.url(&format!("/products/{id}/images"))).await.unwrap().json().await.unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.iter().map(|i| i["position"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(items.iter().map(|i| i["content_type"].as_str().unwrap()).collect::<Vec<_>>(),
            ["image/png", "image/webp", "image/jpeg"]);

        // The product's own description lists them, and its version moved with each change.
        let res = reqwest::get(app.url(&format!("/products/{id}"))).await.unwrap();
        assert_eq!(res.headers()["etag"], "\"4\"");
        let product: Value = res.json().await.unwrap();
        assert_eq!(product["images"].as_array().unwrap().len(), 3, "{product}");
        assert_eq!(product["images"][0]["id"], first["id"]);

        // Anyone may fetch the bytes, cached for good and never sniffed as anything else.
        let url = format!("{}{location}", app.base);
        let res = reqwest::get(&url).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let etag = format!("\"{}\"", hex_sha256(&png));
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.bytes().await.unwrap().as_ref(), png.as_slice());
        let client = Client::new();
        let res = client.get(&url).header("if-none-match", format!("\"other\", W/{etag}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
        assert!(res.bytes().await.unwrap().is_empty());
        let res = client.get(&url).header("if-none-match", "\"other\"").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        // Deleting leaves the others in place; the deleted one is gone.
        let res = seller.delete(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = reqwest::get(&url).await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
        let res = seller.delete(&url).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
        let list: Value = reqwest::get(app.url(&format!("/products/{id}/images"))).await.unwrap().json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert_eq!(list["items"][0]["id"], webp["id"]);
        // An image is addressed under its own product only.
        let other = product_of(&app, &seller).await;
        let res = reqwest::get(app.url(&format!("/products/{other}/images/{}", webp["id"].as_str().unwrap()))).await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
        let res = reqwest::get(app.url("/products/0190f3f0-0000-7000-8000-000000000000/images")).await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, None).await;

        // Every change was published for the search index, and audited.
        let events = app.store.events_about("product", &id).await.unwrap();
        assert_eq!(events.len(), 5, "create, three uploads, one deletion");
        assert!(events.iter().all(|e| e.kind == "product.changed"));
        assert_eq!(events[4].payload["version"], 5);
        let admin = app.admin().await;
        let (status, audit) = app.get(&admin, &format!("/audit?entity_type=product&entity_id={id}")).await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "product.image.add").count(), 3, "{actions:?}");
        assert!(actions.contains(&"product.image.delete"), "{actions:?}");
    }

    async fn bad_images_are_refused_naming_the_field(app: TestApp) {
        let (seller, _) = app.seller("bad-img@pailin.test", "KH").await;
        let id = product_of(&app, &seller).await;

        let res = upload(&app, &seller, &id, "image/png", b"this is not an image at all".to_vec()).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("image")).await;
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
        let res = upload(&app, &seller, &id, "image/png", svg.clone()).await;
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("image")).await;
        assert!(problem["detail"].as_str().unwrap().contains("SVG"), "{problem}");
        let res = upload(&app, &seller, &id, "image/svg+xml", svg).await;
        expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")).await;
        let res = upload(&app, &seller, &id, "image/gif", b"GIF89a\x01\x00\x01\x00".to_vec()).await;
        expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")).await;
        let res = seller.post(app.url(&format!("/products/{id}/images"))).body(samples::png(1, 1, false)).send().await.unwrap();
        expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("Content-Type")).await;

        let mut damaged = samples::png(4, 4, false);
        damaged[18] ^= 0x40;
        let res = upload(&app, &seller, &id, "image/png", damaged).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("image")).await;
        let res = upload(&app, &seller, &id, "image/png", samples::png(9000, 10, true)).await;
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("image")).await;
        assert!(problem["detail"].as_str().unwrap().contains("9000"), "{problem}");
        let res = upload(&app, &seller, &id, "image/webp", Vec::new()).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("image")).await;

        // Over the limit (far above the server's limit for JSON bodies): 413.
        let mut big = samples::png(1, 1, false);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        let res = upload(&app, &seller, &id, "image/png", big).await;
        expect_problem(res, StatusCode::PAYLOAD_TOO_LARGE, Some("image")).await;
        // Just under it is not refused for its size (the server-wide body limit does not apply).
        let mut large = samples::png(1, 1, false);
        large.resize(64 * 1024, 0);
        let res = upload(&app, &seller, &id, "image/png", large).await;
        assert_eq!(res.status(), StatusCode::CREATED);

        let res = seller.post(app.url(&format!("/products/{id}/images?alt=%07bell"))).header("content-type", "image/png")
            .body(samples::png(1, 1, false)).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("alt")).await;
        let res = seller.post(app.url(&format!("/products/{id}/images?caption=x"))).header("content-type", "image/png")
            .body(samples::png(1, 1, false)).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, None).await;
        let res = upload(&app, &seller, "0190f3f0-0000-7000-8000-000000000000", "image/png", samples::png(1, 1, false)).await;
        expect_problem(res, StatusCode::NOT_FOUND, None).await;
        let res = upload(&app, &seller, "not-a-uuid", "image/png", samples::png(1, 1, false)).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;

        let list: Value = reqwest::get(app.url(&format!("/products/{id}/images"))).await.unwrap().json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "only the good image was stored: {list}");
    }

    async fn only_the_seller_and_admins_change_images(app: TestApp) {
        let (seller, _) = app.seller("own-img@pailin.test", "KH").await;
        let id = product_of(&app, &seller).await;
        let anonymous = Client::new();
        let res = upload(&app, &anonymous, &id, "image/png", samples::png(1, 1, false)).await;
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;

        let (other, _) = app.seller("other-img@mango.test", "KH").await;
        let res = upload(&app, &other, &id, "image/png", samples::png(1, 1, false)).await;
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let (consumer, _) = app.consumer("buyer@img.test").await;
        let res = upload(&app, &consumer, &id, "image/png", samples::png(1, 1, false)).await;
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let officer = app.officer("officer@img.test", "KH").await;
        let res = upload(&app, &officer, &id, "image/png", samples::png(1, 1, false)).await;
        expect_problem(res, StatusCode::FORBIDDEN, None).await;

        let res = upload(&app, &seller, &id, "image/png", samples::png(1, 1, false)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let url = format!("{}{}", app.base, res.json::<Value>().await.unwrap()["url"].as_str().unwrap());
        let res = anonymous.delete(&url).send().await.unwrap();
        expect_problem(res, StatusCode::UNAUTHORIZED, None).await;
        let res = other.delete(&url).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        let res = consumer.delete(&url).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
        // A bearer token acts for the seller as its session does.
        let token = app.token(&seller).await;
        let res = anonymous.post(app.url(&format!("/products/{id}/images"))).bearer_auth(&token)
            .header("content-type", "image/webp").body(samples::webp_lossy(2, 2)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);

        let admin = app.admin().await;
        let res = admin.delete(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = upload(&app, &admin, &id, "image/jpeg", samples::jpeg(8, 8)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    async fn a_product_has_at_most_twelve_images(app: TestApp) {
        let (seller, _) = app.seller("many-img@pailin.test", "KH").await;
        let id = product_of(&app, &seller).await;
        let mut urls = Vec::new();
        for n in 1..=12u32 {
            let res = upload(&app, &seller, &id, "image/png", samples::png(n, n, false)).await;
            assert_eq!(res.status(), StatusCode::CREATED, "image {n}");
            urls.push(res.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned());
        }
        let res = upload(&app, &seller, &id, "image/png", samples::png(13, 13, false)).await;
        let problem = expect_problem(res, StatusCode::CONFLICT, Some("image")).await;
        assert!(problem["detail"].as_str().unwrap().contains("12"), "{problem}");

        // Freeing a slot makes room again, and the new image takes the freed slot.
        let res = seller.delete(format!("{}{}", app.base, urls[4])).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = upload(&app, &seller, &id, "image/png", samples::png(13, 13, false)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.json::<Value>().await.unwrap()["position"], 4);
        let res = upload(&app, &seller, &id, "image/png", samples::png(14, 14, false)).await;
        expect_problem(res, StatusCode::CONFLICT, Some("image")).await;
    }

    async fn concurrent_uploads_never_exceed_the_limit(app: TestApp) {
        let (seller, _) = app.seller("race-img@pailin.test", "KH").await;
        let id = product_of(&app, &seller).await;
        // Two server processes on one database, each taking uploads at once.
        let (second, _server, _dir) = app.second_server().await;
        let token = app.token(&seller).await;
        let client = Client::new();
        let mut uploads = Vec::new();
        for n in 0..16u32 {
            let base = if n % 2 == 0 { app.base.clone() } else { second.clone() };
            let req = client.post(format!("{base}/api/v1/products/{id}/images")).bearer_auth(&token)
                .header("content-type", "image/png").body(samples::png(n + 1, 1, false));
            uploads.push(tokio::spawn(async move { req.send().await.unwrap().status() }));
        }
        let mut created = 0;
        for upload in uploads {
            match upload.await.unwrap() {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(created, 12);
        let list: Value = reqwest::get(app.url(&format!("/products/{id}/images"))).await.unwrap().json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 12);
    }
}
