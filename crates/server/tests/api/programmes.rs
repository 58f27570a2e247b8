//! The agency side: programmes, memberships, onboarding, invoices, pavilions, training, KPIs.

use crate::helpers::*;
use pavilion_store::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn day(offset_days: i64) -> String {
    (OffsetDateTime::now_utc().date() + Duration::days(offset_days)).to_string()
}

fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// A plan at USD 2,999 a year, half price around today.
async fn plan(app: &TestApp, admin: &Client) -> String {
    let (status, plan) = app
        .post(
            admin,
            "/membership-plans",
            json!({
                "tier": "wholesale", "name": "Wholesale membership", "annual_fee": usd("2999.00"),
                "listing_limit": 500, "wholesale_access": true
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    let id = plan["id"].as_str().unwrap().to_owned();
    let (status, promo) = app
        .post(admin, &format!("/membership-plans/{id}/promotions"), json!({
            "name": "Half price for five months", "percent_off": "50", "starts_on": day(-30), "ends_on": day(120)
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{promo}");
    id
}

/// A Cambodian programme run by `officer`'s agency.
async fn programme(app: &TestApp, officer: &Client) -> Value {
    let (status, programme) = app
        .post(officer, "/programmes", json!({
            "title": "Cambodia on the wholesale platform", "signed_on": day(-60),
            "starts_on": day(-30), "ends_on": day(3 * 365),
            "targets": [
                {"metric": "approved_exporters", "target": "100", "period": "programme", "label": "Exporters approved"},
                {"metric": "trainees", "target": "40", "period": "programme", "label": "Entrepreneurs trained"},
                {"metric": "trade_weight", "target": "20000", "period": "year", "hs_prefix": "0810", "label": "Fresh longan"}
            ]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{programme}");
    assert_eq!(programme["status"], "active");
    programme
}

async fn applied(
    app: &TestApp,
    email: &str,
    programme_id: &str,
    plan_id: &str,
) -> (Client, Value, String) {
    let (seller, account) = app.seller(email, "KH").await;
    let (status, application) = app
        .post(&seller, &format!("/programmes/{programme_id}/applications"), json!({
            "plan_id": plan_id, "registration_number": "KH-REG-0001", "address": "Pailin, Cambodia",
            "categories": ["fresh fruit"], "certificates": [{"kind": "registered_packhouse", "number": "PH-22-014"}],
            "channels": ["wholesale"]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{application}");
    (
        seller,
        account,
        application["id"].as_str().unwrap().to_owned(),
    )
}

async fn decide(
    app: &TestApp,
    officer: &Client,
    application: &str,
    status: &str,
) -> (StatusCode, Value) {
    app.post(
        officer,
        &format!("/applications/{application}/decisions"),
        json!({"status": status, "reason": "documents checked"}),
    )
    .await
}

fn amount(v: &Value) -> &str {
    v["amount"].as_str().unwrap()
}

on_both_backends! {
    /// The trade-body story: half-price membership, the agency pays the rest, a pavilion that
    /// launches when enough exporters are approved.
    async fn onboarding_invoices_and_pavilion_launch(app: TestApp) {
        let admin = app.admin().await;
        let plan_id = plan(&app, &admin).await;
        let officer = app.officer("officer@moc.test", "KH").await;
        let programme = programme(&app, &officer).await;
        let pid = programme["id"].as_str().unwrap();
        let (status, body) = app.client_put(&officer, &format!("/programmes/{pid}/sponsorship"), json!({
            "name": "Ministry sponsorship", "percent": "100", "currency": "USD", "budget": usd("2000.00")
        })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, pavilion) = app.post(&officer, "/pavilions", json!({
            "country": "KH", "channel": "wholesale", "title": "Cambodia Pavilion", "threshold": 2,
            "story": {"en": "Fresh longan from Pailin", "zh-CN": "来自拜林的新鲜龙眼"}
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{pavilion}");
        assert_eq!((pavilion["status"].as_str(), pavilion["slug"].as_str()), (Some("recruiting"), Some("kh-wholesale")));

        let (seller_a, account_a, a) = applied(&app, "a@longan.test", pid, &plan_id).await;
        let (_, _, b) = applied(&app, "b@mango.test", pid, &plan_id).await;
        let (_, _, c) = applied(&app, "c@banana.test", pid, &plan_id).await;

        // Verification comes before approval.
        let (status, problem) = decide(&app, &officer, &a, "approved").await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(problem["field"], "status");
        assert_eq!(decide(&app, &officer, &a, "verified").await.0, StatusCode::OK);
        let (status, first) = decide(&app, &officer, &a, "approved").await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let invoice = &first["invoice"];
        assert_eq!(amount(&invoice["list_fee"]), "2999.00");
        assert_eq!(amount(&invoice["discount"]), "1499.50");
        assert_eq!(amount(&invoice["total"]), "1499.50");
        assert_eq!(invoice["lines"].as_array().unwrap().len(), 1);
        assert_eq!(invoice["lines"][0]["payer"], "agency");
        assert!(invoice["discount_rule"].as_str().unwrap().contains("Half price"));
        assert!(first["launched_pavilions"].as_array().unwrap().is_empty());
        let (_, pav) = app.get(&admin, "/pavilions/kh-wholesale").await;
        assert_eq!((pav["status"].as_str(), pav["approved_exporters"].as_u64()), (Some("recruiting"), Some(1)));

        // Approving twice is refused.
        assert_eq!(decide(&app, &officer, &a, "approved").await.0, StatusCode::CONFLICT);

        // The second approval crosses the threshold, and the budget runs short.
        decide(&app, &officer, &b, "verified").await;
        let (_, second) = decide(&app, &officer, &b, "approved").await;
        assert_eq!(second["launched_pavilions"][0]["slug"], "kh-wholesale");
        assert_eq!(second["launched_pavilions"][0]["status"], "live");
        let lines = second["invoice"]["lines"].as_array().unwrap();
        assert_eq!(second["invoice"]["budget_exhausted"], true);
        assert_eq!((amount(&lines[0]["amount"]), lines[0]["payer"].as_str()), ("999.00", Some("seller")));
        assert_eq!((amount(&lines[1]["amount"]), lines[1]["payer"].as_str()), ("500.50", Some("agency")));

        // Budget spent: the third exporter pays the discounted fee alone.
        decide(&app, &officer, &c, "verified").await;
        let (_, third) = decide(&app, &officer, &c, "approved").await;
        assert_eq!(third["invoice"]["lines"].as_array().unwrap().len(), 1);
        assert_eq!(amount(&third["invoice"]["lines"][0]["amount"]), "1499.50");
        assert!(third["launched_pavilions"].as_array().unwrap().is_empty(), "a pavilion launches once");

        let (_, prog) = app.get(&officer, &format!("/programmes/{pid}")).await;
        assert_eq!(amount(&prog["sponsorship"]["spent"]), "2000.00");
        assert_eq!(amount(&prog["sponsorship"]["remaining"]), "0.00");
        // A budget below what was already spent is refused (and the database's CHECK holds it
        // against any writer that skipped the check).
        let (status, problem) = app.client_put(&officer, &format!("/programmes/{pid}/sponsorship"), json!({
            "name": "Ministry sponsorship", "percent": "100", "currency": "USD", "budget": usd("1000.00")
        })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], "budget");

        // The seller sees their invoice; renewal issues the next year's.
        let seller_org = account_a["organisation"]["id"].as_str().unwrap();
        let (status, invoices) = app.get(&seller_a, &format!("/organisations/{seller_org}/invoices")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(invoices.as_array().unwrap().len(), 1);
        let (status, renewal) = app.post(&officer, &format!("/applications/{a}/renewals"), json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{renewal}");
        assert_eq!(renewal["period_start"].as_str().unwrap(), &(OffsetDateTime::now_utc().date().replace_year(OffsetDateTime::now_utc().year() + 1).unwrap()).to_string());

        // History and KPIs.
        let (_, detail) = app.get(&seller_a, &format!("/applications/{a}")).await;
        let steps: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|h| h["to_status"].as_str().unwrap()).collect();
        assert_eq!(steps, ["applied", "verified", "approved"]);
        let (_, kpis) = app.get(&officer, &format!("/programmes/{pid}/kpis")).await;
        assert_eq!(kpis[0]["measured"], "3");
        assert_eq!(kpis[0]["progress"], "0.03");
        assert!(kpis[2]["measured"].is_null());

        let events = app.store.events_about("pavilion", pavilion["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "pavilion.launched").count(), 1);

        // The pavilion's count of approved exporters follows a suspension and a seller's move to
        // another country.
        let approved = || async { app.get(&admin, "/pavilions/kh-wholesale").await.1["approved_exporters"].as_u64() };
        assert_eq!(approved().await, Some(3));
        assert_eq!(decide(&app, &officer, &c, "suspended").await.0, StatusCode::OK);
        assert_eq!(approved().await, Some(2));
        let moved = admin.patch(app.url(&format!("/organisations/{seller_org}"))).json(&json!({"country": "RW"})).send().await.unwrap();
        assert_eq!(moved.status(), StatusCode::OK);
        assert_eq!(approved().await, Some(1));
    }

    async fn officers_act_only_on_their_own_countrys_exporters(app: TestApp) {
        let admin = app.admin().await;
        let plan_id = plan(&app, &admin).await;
        let kh_officer = app.officer("officer@kh.test", "KH").await;
        let mx_officer = app.officer("officer@mx.test", "MX").await;
        let programme = programme(&app, &kh_officer).await;
        let pid = programme["id"].as_str().unwrap();
        let (seller, _, application) = applied(&app, "s@kh.test", pid, &plan_id).await;

        let (status, _) = decide(&app, &mx_officer, &application, "verified").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = decide(&app, &seller, &application, "verified").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app.get(&mx_officer, &format!("/applications?programme_id={pid}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app.post(&mx_officer, &format!("/programmes/{pid}/terms"), json!({"kind": "renewal", "starts_on": day(4000), "ends_on": day(5000)})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A Mexican exporter cannot join a Cambodian programme.
        let (mx_seller, _) = app.seller("s@mx.test", "MX").await;
        let (status, _) = app.post(&mx_seller, &format!("/programmes/{pid}/applications"), json!({
            "plan_id": plan_id, "registration_number": "MX-1", "address": "Michoacán", "channels": ["retail"]
        })).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Admin may decide anywhere.
        assert_eq!(decide(&app, &admin, &application, "verified").await.0, StatusCode::OK);
    }

    async fn programme_inputs_are_validated(app: TestApp) {
        let admin = app.admin().await;
        let officer = app.officer("officer@rw.test", "RW").await;
        let cases = [
            ("/membership-plans", json!({"tier": "t", "name": "n", "annual_fee": usd("-1.00"), "wholesale_access": false}), "annual_fee"),
            ("/membership-plans", json!({"tier": "t", "name": "n", "annual_fee": usd("10.001"), "wholesale_access": false}), "annual_fee"),
            ("/membership-plans", json!({"tier": "t", "name": "n", "annual_fee": {"amount": 10.5, "currency": "USD"}, "wholesale_access": false}), "annual_fee.amount"),
            ("/membership-plans", json!({"tier": "t", "name": "n", "annual_fee": {"amount": "10", "currency": "XYZ"}, "wholesale_access": false}), "annual_fee.currency"),
        ];
        for (path, body, field) in cases {
            let res = admin.post(app.url(path)).json(&body).send().await.unwrap();
            expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        let res = officer.post(app.url("/programmes")).json(&json!({
            "title": "Backwards", "starts_on": day(10), "ends_on": day(5)
        })).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("ends_on")).await;

        let (_, p) = app.post(&officer, "/programmes", json!({"title": "RDB partnership", "starts_on": day(-700), "ends_on": day(395)})).await;
        let pid = p["id"].as_str().unwrap();
        let res = officer.post(app.url(&format!("/programmes/{pid}/terms"))).json(&json!({
            "kind": "renewal", "starts_on": day(395), "ends_on": day(1490)
        })).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("starts_on")).await;
        let (status, renewed) = app.post(&officer, &format!("/programmes/{pid}/terms"), json!({
            "kind": "renewal", "starts_on": day(396), "ends_on": day(1491), "note": "three-year renewal"
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{renewed}");
        assert_eq!(renewed["terms"].as_array().unwrap().len(), 2);

        let res = app.client_put_raw(&officer, &format!("/programmes/{pid}/sponsorship"), json!({
            "name": "s", "percent": "100.5", "currency": "USD"
        })).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("percent")).await;
        let res = officer.post(app.url("/pavilions")).json(&json!({
            "country": "RW", "channel": "travel", "title": "Visit Rwanda", "threshold": 0
        })).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, Some("threshold")).await;
        let res = officer.post(app.url("/pavilions")).json(&json!({
            "country": "KH", "channel": "travel", "title": "Not mine", "threshold": 5
        })).send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, None).await;
    }

    /// Approvals racing across the threshold, through two server processes sharing the
    /// database: the pavilion launches exactly once.
    async fn concurrent_approvals_launch_the_pavilion_exactly_once(app: TestApp) {
        let admin = app.admin().await;
        let plan_id = plan(&app, &admin).await;
        let officer = app.officer("officer@race.test", "KH").await;
        let programme = programme(&app, &officer).await;
        let pid = programme["id"].as_str().unwrap().to_owned();
        app.post(&officer, "/pavilions", json!({"country": "KH", "channel": "wholesale", "title": "KH", "threshold": 4})).await;
        let mut applications = Vec::new();
        for i in 0..8 {
            let (_, _, a) = applied(&app, &format!("s{i}@race.test"), &pid, &plan_id).await;
            decide(&app, &officer, &a, "verified").await;
            applications.push(a);
        }
        let (second_base, _second, _second_data) = app.second_server().await;
        let other_officer = browser();
        let res = other_officer.post(format!("{second_base}/api/v1/auth/sign-in"))
            .json(&json!({"email": "officer@race.test", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut tasks = Vec::new();
        for (i, a) in applications.into_iter().enumerate() {
            let (client, base) = if i % 2 == 0 { (officer.clone(), app.base.clone()) } else { (other_officer.clone(), second_base.clone()) };
            tasks.push(tokio::spawn(async move {
                let res = client.post(format!("{base}/api/v1/applications/{a}/decisions"))
                    .json(&json!({"status": "approved", "reason": "race"})).send().await.unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap())
            }));
        }
        let mut launches = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            launches += body["launched_pavilions"].as_array().unwrap().len();
        }
        assert_eq!(launches, 1);
        let (_, pav) = app.get(&admin, "/pavilions/kh-wholesale").await;
        assert_eq!((pav["status"].as_str(), pav["approved_exporters"].as_u64()), (Some("live"), Some(8)));
        let events = app.store.events_about("pavilion", pav["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(events.len(), 1);
    }

    /// Training: seats are never oversold, even by concurrent enrollments; completions count.
    async fn cohorts_never_oversell_seats_and_completions_count(app: TestApp) {
        let officer = app.officer("officer@train.test", "KH").await;
        let programme = programme(&app, &officer).await;
        let pid = programme["id"].as_str().unwrap();
        let (status, course) = app.post(&officer, "/courses", json!({"title": "Netpreneur course", "description": "Selling online across the border"})).await;
        assert_eq!(status, StatusCode::CREATED, "{course}");
        let cid = course["id"].as_str().unwrap();
        let (status, cohort) = app.post(&officer, &format!("/courses/{cid}/cohorts"), json!({
            "programme_id": pid, "name": "2026 spring", "starts_on": day(-10), "ends_on": day(20), "seats": 3
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{cohort}");
        let cohort_id = cohort["id"].as_str().unwrap().to_owned();
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (client, url) = (officer.clone(), app.url(&format!("/cohorts/{cohort_id}/enrollments")));
            tasks.push(tokio::spawn(async move {
                let res = client.post(url).json(&json!({"participant_name": format!("Trainee {i}"), "participant_email": format!("t{i}@x.test")})).send().await.unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap())
            }));
        }
        let res = officer.post(app.url(&format!("/cohorts/{cohort_id}/enrollments")))
            .json(&json!({"participant_name": "Nobody", "participant_email": "n@x.test", "seller_id": "0190f3f0-0000-7000-8000-000000000000"}))
            .send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, Some("seller_id")).await;
        let mut enrolled = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                StatusCode::CREATED => enrolled.push(body["id"].as_str().unwrap().to_owned()),
                StatusCode::CONFLICT => assert!(body["detail"].as_str().unwrap().contains("full")),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(enrolled.len(), 3);
        for e in &enrolled[..2] {
            let res = officer.post(app.url(&format!("/enrollments/{e}/completion"))).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        }
        let res = officer.post(app.url(&format!("/enrollments/{}/completion", enrolled[0]))).send().await.unwrap();
        expect_problem(res, StatusCode::CONFLICT, None).await;
        let (_, kpis) = app.get(&officer, &format!("/programmes/{pid}/kpis")).await;
        assert_eq!(kpis[1]["measured"], "2");
        assert_eq!(kpis[1]["progress"], "0.05");
    }
}
