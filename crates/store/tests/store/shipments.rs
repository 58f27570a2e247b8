//! Shipments under concurrency: the order's state moves once however many shipments race.

use crate::checkout::{order_for, product_with_stock};
use pavilion_domain::checkout::{OrderStatus, TrackingStatus};
use pavilion_store::checkout::orders::Placed;
use pavilion_store::checkout::shipments::{NewShipment, NewTrackingEvent};
use pavilion_store::testing::StoreFixture;
use pavilion_store::{Store, StoreError, Timestamp, on_both_backends};
use uuid::Uuid;

/// A placed order with one line from each of two sellers: (order, first seller, second seller).
async fn two_seller_order(store: &Store) -> (Uuid, Uuid, Uuid) {
    let (p1, s1) = product_with_stock(store, 10).await;
    let (p2, s2) = product_with_stock(store, 10).await;
    let mut new = order_for(p1, s1, 1, None);
    let mut line = new.lines[0].clone();
    line.product_id = p2;
    line.seller_id = s2;
    new.lines.push(line);
    new.goods_minor *= 2;
    new.total_minor *= 2;
    let Placed::New(order) = store.place_order(None, new).await.unwrap() else {
        panic!("a new order")
    };
    (order.id, s1, s2)
}

/// Payments are built elsewhere: mark the order paid in the database, as a capture leaves it.
async fn mark_paid(store: &Store, order: Uuid) {
    sqlx::query("UPDATE orders SET status = 'paid', captured_minor = total_minor WHERE id = $1")
        .bind(order.to_string())
        .execute(store.pool())
        .await
        .unwrap();
}

async fn transitions(store: &Store, order: Uuid, from: &str, to: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND from_status = $2 AND to_status = $3",
    )
    .bind(order.to_string())
    .bind(from.to_owned())
    .bind(to.to_owned())
    .fetch_one(store.pool())
    .await
    .unwrap();
    n
}

fn parcel(order: Uuid, seller: Uuid, waybill: &str) -> NewShipment {
    NewShipment {
        order_id: order,
        seller_id: seller,
        carrier: "SF Express".into(),
        waybill: waybill.into(),
    }
}

on_both_backends! {
    /// Both sellers of an order and a duplicate request of the first ship at once: one shipment
    /// per seller, and the order's log holds exactly one paid → shipped.
    async fn racing_shipments_ship_the_order_once(fx: StoreFixture) {
        for round in 0..4 {
            let (order, s1, s2) = two_seller_order(&fx.store).await;
            mark_paid(&fx.store, order).await;
            let tasks: Vec<_> = [(s1, "A"), (s2, "B"), (s1, "C"), (s2, "D")]
                .into_iter()
                .map(|(seller, w)| {
                    let store = fx.store.clone();
                    let new = parcel(order, seller, &format!("{w}-{round}"));
                    tokio::spawn(async move { store.create_shipment(&new, None).await })
                })
                .collect();
            let (mut shipped, mut refused) = (Vec::new(), 0);
            for t in tasks {
                match t.await.unwrap() {
                    Ok(s) => {
                        assert_eq!(s.order_status, OrderStatus::Shipped);
                        shipped.push(s.shipment.seller_id);
                    }
                    Err(StoreError::InvalidState { detail }) => {
                        assert!(detail.contains("already shipped"), "{detail}");
                        refused += 1;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            shipped.sort();
            let mut both = vec![s1, s2];
            both.sort();
            assert_eq!((shipped, refused), (both, 2));
            assert_eq!(transitions(&fx.store, order, "paid", "shipped").await, 1);
            assert_eq!(fx.store.order(order).await.unwrap().status, OrderStatus::Shipped);
            assert_eq!(fx.store.shipments_of_order(order, None).await.unwrap().len(), 2);
        }
    }

    /// Both shipments delivered at once: the order becomes delivered exactly once.
    async fn racing_deliveries_deliver_the_order_once(fx: StoreFixture) {
        for round in 0..4 {
            let (order, s1, s2) = two_seller_order(&fx.store).await;
            mark_paid(&fx.store, order).await;
            let a = fx.store.create_shipment(&parcel(order, s1, &format!("A-{round}")), None).await.unwrap();
            let b = fx.store.create_shipment(&parcel(order, s2, &format!("B-{round}")), None).await.unwrap();
            let tasks: Vec<_> = [a.shipment.id, b.shipment.id]
                .into_iter()
                .map(|id| {
                    let store = fx.store.clone();
                    tokio::spawn(async move {
                        let event = NewTrackingEvent {
                            status: TrackingStatus::Delivered,
                            location: "Hangzhou".into(),
                            note: String::new(),
                            at: Timestamp::now(),
                        };
                        store.add_tracking_event(order, id, &event, None).await
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            assert_eq!(transitions(&fx.store, order, "shipped", "delivered").await, 1);
            assert_eq!(fx.store.order(order).await.unwrap().status, OrderStatus::Delivered);
        }
    }

    /// Shipping and cancelling a paid order at once: exactly one of them happens.
    async fn shipping_and_cancelling_race_to_one_outcome(fx: StoreFixture) {
        let (order, s1, _) = two_seller_order(&fx.store).await;
        let refused = fx.store.create_shipment(&parcel(order, s1, "X-1"), None).await.unwrap_err();
        assert!(matches!(&refused, StoreError::InvalidState { detail } if detail.contains("pending_payment")), "{refused}");
        for round in 0..4 {
            let (order, s1, _) = two_seller_order(&fx.store).await;
            mark_paid(&fx.store, order).await;
            let store = fx.store.clone();
            let ship = tokio::spawn(async move { store.create_shipment(&parcel(order, s1, &format!("S-{round}")), None).await });
            let store = fx.store.clone();
            let cancel = tokio::spawn(async move { store.cancel_order(order, "changed my mind", None).await });
            let (ship, cancel) = (ship.await.unwrap(), cancel.await.unwrap());
            let status = fx.store.order(order).await.unwrap().status;
            match (ship, cancel) {
                (Ok(_), Err(StoreError::InvalidState { detail })) => {
                    assert!(detail.contains("the order is shipped"), "{detail}");
                    assert_eq!(status, OrderStatus::Shipped);
                }
                (Err(StoreError::InvalidState { detail }), Ok(_)) => {
                    assert!(detail.contains("the order is cancelled"), "{detail}");
                    assert_eq!(status, OrderStatus::Cancelled);
                    assert!(fx.store.shipments_of_order(order, None).await.unwrap().is_empty());
                }
                (ship, cancel) => panic!("ship {ship:?}, cancel {cancel:?}"),
            }
        }
    }
}
