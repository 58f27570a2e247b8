//! Payments on the platform's books: no double authorisation or capture under concurrency,
//! refunds never past what was paid, webhook events applied once, and the books reconcile.

use crate::checkout::{order_for, product_with_stock};
use pavilion_domain::Currency;
use pavilion_domain::checkout::OrderStatus;
use pavilion_store::checkout::orders::{Order, Placed};
use pavilion_store::checkout::payments::{
    Applied, NewPayment, NewSandboxPayment, Payment, PaymentStatus, Recorded, RefundOutcome,
    RefundRequest, SandboxPayment,
};
use pavilion_store::testing::StoreFixture;
use pavilion_store::{Store, StoreError, on_both_backends};
use uuid::Uuid;

fn answer(p: &Payment) -> (u16, String) {
    (201, serde_json::to_string(p).unwrap())
}

fn refund_answer(o: &RefundOutcome) -> (u16, String) {
    (201, serde_json::to_string(&o.refunds).unwrap())
}

fn authorisation(order: Uuid, provider_ref: &str) -> NewPayment {
    NewPayment {
        order_id: order,
        provider: "sandbox".into(),
        provider_ref: provider_ref.into(),
        status: PaymentStatus::Authorised,
        amount_minor: 6500,
        currency: Currency::CNY,
        failure: None,
    }
}

async fn placed(store: &Store, product: Uuid, seller: Uuid) -> Order {
    let Placed::New(order) = store
        .place_order(None, order_for(product, seller, 1, None))
        .await
        .unwrap()
    else {
        panic!("a replay without a key")
    };
    // The order answered is the order as stored (it is built from what was written).
    assert_eq!(*order, store.order(order.id).await.unwrap());
    *order
}

fn sandbox_card(n: u32) -> NewSandboxPayment {
    NewSandboxPayment {
        id: format!("sbx_pay_{n}"),
        request_ref: format!("req-{n}"),
        merchant_ref: format!("order-{n}"),
        method: "sandbox_card_ok".into(),
        amount_minor: 6500,
        currency: "CNY".into(),
        status: "authorised".into(),
        decline_reason: None,
    }
}

fn hook_body(payment: &SandboxPayment, event: &str, id: &str) -> String {
    format!("{id} {event} {}", payment.id)
}

fn reconciled(books: (i64, i64, i64)) -> i64 {
    assert_eq!(books.0, books.1, "captures − refunds ≠ Σ orders");
    assert_eq!(books.0, books.2, "captures − refunds ≠ Σ payments");
    books.0
}

on_both_backends! {
    /// Two concurrent authorisations of one order: one is recorded, the other refused by the
    /// database (one live payment per order). Two concurrent captures: one succeeds.
    async fn an_order_is_authorised_and_captured_once_under_concurrency(fx: StoreFixture) {
        let (product, seller) = product_with_stock(&fx.store, 10).await;
        let order = placed(&fx.store, product, seller).await;
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let store = fx.store.clone();
                let new = authorisation(order.id, &format!("sbx_pay_{i}"));
                tokio::spawn(async move { store.record_authorisation(None, &new, answer).await })
            })
            .collect();
        let (mut won, mut refused, mut payment) = (0, 0, None);
        for t in tasks {
            match t.await.unwrap() {
                Ok(Recorded::New(p)) => { won += 1; payment = Some(p); }
                Err(StoreError::InvalidState { detail }) => {
                    assert!(detail.contains("live payment") || detail.contains("authorised"), "{detail}");
                    refused += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((won, refused), (1, 3));
        let payment = payment.unwrap();
        assert_eq!(payment, fx.store.payment(payment.id).await.unwrap());
        assert_eq!(fx.store.order(order.id).await.unwrap().status, OrderStatus::Authorised);

        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let store = fx.store.clone();
                let (o, p) = (order.id, payment.id);
                tokio::spawn(async move { store.capture_payment(None, o, p, None, answer).await })
            })
            .collect();
        let mut captured = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(Recorded::New(p)) => {
                    captured += 1;
                    assert_eq!(p.status, PaymentStatus::Captured);
                    assert_eq!(p, fx.store.payment(p.id).await.unwrap());
                }
                Err(StoreError::InvalidState { detail }) => assert!(detail.contains("captured"), "{detail}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(captured, 1);
        let paid = fx.store.order(order.id).await.unwrap();
        assert_eq!((paid.status, paid.captured.to_minor().unwrap()), (OrderStatus::Paid, 6500));
        assert_eq!(reconciled(fx.store.money_reconciliation().await.unwrap()), 6500);

        // A second payment is refused even once the first is captured.
        let err = fx.store.record_authorisation(None, &authorisation(order.id, "sbx_pay_late"), answer).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidState { .. }), "{err}");
    }

    /// Concurrent refunds of one line cannot together pass what was paid; a full refund marks the
    /// order refunded and gives its stock back; webhook events are applied once.
    async fn refunds_never_pass_what_was_paid(fx: StoreFixture) {
        let (product, seller) = product_with_stock(&fx.store, 10).await;
        let order = placed(&fx.store, product, seller).await;
        let Recorded::New(payment) = fx.store.record_authorisation(None, &authorisation(order.id, "sbx_pay_r"), answer).await.unwrap() else { panic!() };
        fx.store.capture_payment(None, order.id, payment.id, None, answer).await.unwrap();
        assert_eq!(fx.store.product(product).await.unwrap().draft.stock, Some(9));

        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let store = fx.store.clone();
                let req = RefundRequest { order_id: order.id, lines: vec![(1, 4000)], reason: "damaged".into(), actor: None, cancel: false };
                tokio::spawn(async move { store.refund(None, &req, refund_answer).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(Recorded::New(o)) => { ok += 1; assert_eq!(o.order.status, OrderStatus::Paid); }
                Err(StoreError::Exhausted { field, .. }) => assert_eq!(field, "lines[0].amount"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(reconciled(fx.store.money_reconciliation().await.unwrap()), 2500);

        let req = RefundRequest { order_id: order.id, lines: vec![(1, 2500)], reason: "lost".into(), actor: None, cancel: false };
        let Recorded::New(done) = fx.store.refund(None, &req, refund_answer).await.unwrap() else { panic!() };
        assert_eq!(done.order.status, OrderStatus::Refunded);
        assert_eq!(done.payment.refunded.to_minor().unwrap(), 6500);
        assert_eq!(fx.store.product(product).await.unwrap().draft.stock, Some(10));
        assert_eq!(reconciled(fx.store.money_reconciliation().await.unwrap()), 0);
        let err = fx.store.refund(None, &req, refund_answer).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidState { .. }), "{err}");

        // Unsent refunds are listed until marked sent.
        let later = pavilion_store::Timestamp::now().checked_add(time::Duration::seconds(1)).unwrap();
        let unsent = fx.store.unsent_refunds(later, 10).await.unwrap();
        assert_eq!(unsent.len(), 2);
        for u in &unsent {
            fx.store.mark_refund_sent(u.refund.id, "sbx_ref_x").await.unwrap();
        }
        assert!(fx.store.unsent_refunds(later, 10).await.unwrap().is_empty());

        // A webhook event is applied once; one about an unknown payment is NotFound.
        assert_eq!(fx.store.apply_payment_event("sandbox", "evt-1", "sbx_pay_r", "payment.refunded").await.unwrap(), Applied::Applied);
        assert_eq!(fx.store.apply_payment_event("sandbox", "evt-1", "sbx_pay_r", "payment.refunded").await.unwrap(), Applied::AlreadyApplied);
        let err = fx.store.apply_payment_event("sandbox", "evt-2", "sbx_pay_unknown", "payment.captured").await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    }

    /// A round of due webhooks is taken in one write: each only while it is still as it was
    /// read (another process may have taken it since), each with its own next due time.
    async fn due_webhooks_are_taken_once_each_with_their_own_next_attempt(fx: StoreFixture) {
        use pavilion_store::Timestamp;
        let now = Timestamp::now();
        let at = |ms: i64| now.checked_add(time::Duration::milliseconds(ms)).unwrap();
        for n in 0..3 {
            fx.store.sandbox_authorise(&sandbox_card(n), at(-1000), hook_body).await.unwrap();
        }
        let due = fx.store.sandbox_due_webhooks(now, 10).await.unwrap();
        assert_eq!(due.len(), 3);
        assert!(due.iter().all(|h| h.attempts == 0));
        assert!(fx.store.sandbox_take_webhooks(&[]).await.unwrap().is_empty());

        // The third was taken elsewhere since it was read: its claim is stale.
        let mut stale = due[2].clone();
        stale.due_at = at(-5000);
        let claims = [(&due[0], at(60_000)), (&due[1], at(-10)), (&stale, at(60_000))];
        let mut taken = fx.store.sandbox_take_webhooks(&claims).await.unwrap();
        taken.sort();
        let mut expected = vec![due[0].id.clone(), due[1].id.clone()];
        expected.sort();
        assert_eq!(taken, expected);
        // Taking the same round again takes nothing: the taken ones are due later now.
        assert!(fx.store.sandbox_take_webhooks(&claims[..2]).await.unwrap().is_empty());

        // Due now: the second (retry due already) and the untouched third, not the first.
        let again = fx.store.sandbox_due_webhooks(now, 10).await.unwrap();
        let mut ids: Vec<(&str, i64)> = again.iter().map(|h| (h.id.as_str(), h.attempts)).collect();
        ids.sort();
        let mut want = vec![(due[1].id.as_str(), 1), (due[2].id.as_str(), 0)];
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(again.iter().find(|h| h.id == due[1].id).unwrap().due_at, at(-10));

        fx.store.sandbox_webhooks_delivered(vec![due[1].id.clone(), due[2].id.clone()]).await.unwrap();
        assert!(fx.store.sandbox_due_webhooks(at(120_000), 10).await.unwrap().iter().all(|h| h.id == due[0].id));
    }

    /// The sandbox refunds a captured payment once per request reference; a refusal (too much, or
    /// a payment not captured) leaves nothing behind, so the reference can be used again.
    async fn sandbox_refunds_are_once_per_reference_and_refusals_leave_nothing(fx: StoreFixture) {
        use pavilion_store::Timestamp;
        use pavilion_store::checkout::payments::SandboxRefusal;
        let due = Timestamp::now();
        let card = sandbox_card(7);
        fx.store.sandbox_authorise(&card, due, hook_body).await.unwrap();
        let refused = fx.store.sandbox_refund(&card.id, "r-1", 100, due, hook_body).await.unwrap();
        assert_eq!(refused, Err(SandboxRefusal::State("authorised".into())));
        let captured = fx.store.sandbox_settle(&card.id, "authorised", "captured", Some(6500), due, hook_body).await.unwrap();
        assert!(captured.is_ok(), "{captured:?}");

        let too_much = fx.store.sandbox_refund(&card.id, "r-1", 6501, due, hook_body).await.unwrap();
        assert_eq!(too_much, Err(SandboxRefusal::TooMuch));
        let first = fx.store.sandbox_refund(&card.id, "r-1", 4000, due, hook_body).await.unwrap().unwrap();
        let again = fx.store.sandbox_refund(&card.id, "r-1", 4000, due, hook_body).await.unwrap().unwrap();
        assert_eq!(again, first);
        let past_the_rest = fx.store.sandbox_refund(&card.id, "r-2", 2501, due, hook_body).await.unwrap();
        assert_eq!(past_the_rest, Err(SandboxRefusal::TooMuch));
        let (rows, refunded): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM sandbox_refunds), (SELECT refunded_minor FROM sandbox_payments WHERE id = $1)",
        )
        .bind(card.id.clone())
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
        assert_eq!((rows, refunded), (1, 4000));
    }
}
