//! Shipments and their tracking. Each seller ships their own lines of an order in one shipment
//! (a carrier and a waybill unique for that carrier). The order's state follows its shipments:
//!
//! - the first shipment moves it paid → shipped, in the same transaction; a later seller's
//!   shipment of a multi-seller order leaves it shipped (the buyer cannot cancel once anything
//!   has left a seller);
//! - a `delivered` tracking event marks its shipment delivered, and the order becomes delivered
//!   once every seller of the order has shipped and every shipment is delivered;
//! - a delivered shipment takes no more events.
//!
//! Every step locks the order's row first (`FOR UPDATE` on PostgreSQL; SQLite's write
//! transactions are already serial), so two sellers shipping at once, or two deliveries at once,
//! see each other: one paid → shipped, one shipped → delivered, never two.

use super::orders::{Order, order_in, transition};
use crate::sql::{self, Conn, row_struct};
use crate::values::uuid;
use crate::{Backend, Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::checkout::OrderStatus;
use pavilion_domain::checkout::shipment::{self, ShipmentStatus, TrackingStatus};
use serde::Serialize;
use uuid::Uuid;

const T: &str = "shipments";

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackingEvent {
    pub id: Uuid,
    pub at: Timestamp,
    pub status: TrackingStatus,
    pub location: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shipment {
    pub id: Uuid,
    pub order_id: Uuid,
    /// The seller whose lines of the order this shipment carries.
    pub seller_id: Uuid,
    pub carrier: String,
    pub waybill: String,
    pub status: ShipmentStatus,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// In the order they happened (by `at`, then as recorded).
    pub events: Vec<TrackingEvent>,
}

#[derive(Debug, Clone)]
pub struct NewShipment {
    pub order_id: Uuid,
    pub seller_id: Uuid,
    pub carrier: String,
    pub waybill: String,
}

#[derive(Debug, Clone)]
pub struct NewTrackingEvent {
    pub status: TrackingStatus,
    pub location: String,
    pub note: String,
    /// When the carrier saw it; at most a few minutes ahead of the server's clock.
    pub at: Timestamp,
}

/// A shipment and the state of its order after the change.
#[derive(Debug, Clone)]
pub struct Shipped {
    pub shipment: Shipment,
    pub order_status: OrderStatus,
}

/// How far ahead of the server's clock a carrier's event may be dated.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

row_struct! {
    struct ShipmentRow {
        id: String,
        order_id: String,
        seller_id: String,
        carrier: String,
        waybill: String,
        status: String,
        created_at: String,
        delivered_at: Option<String>,
    }
}

row_struct! {
    struct EventRow {
        id: String,
        shipment_id: String,
        at: String,
        status: String,
        location: String,
        note: String,
    }
}

const COLUMNS: &str = "id, order_id, seller_id, carrier, waybill, status, created_at, delivered_at";

fn timestamp(text: &str) -> StoreResult<Timestamp> {
    Timestamp::from_stored(text).map_err(bad)
}

impl ShipmentRow {
    fn into_shipment(self, events: Vec<TrackingEvent>) -> StoreResult<Shipment> {
        Ok(Shipment {
            id: uuid(T, &self.id)?,
            order_id: uuid(T, &self.order_id)?,
            seller_id: uuid(T, &self.seller_id)?,
            carrier: self.carrier,
            waybill: self.waybill,
            status: ShipmentStatus::parse(&self.status).ok_or_else(|| bad(&self.status))?,
            created_at: timestamp(&self.created_at)?,
            delivered_at: self.delivered_at.as_deref().map(timestamp).transpose()?,
            events,
        })
    }
}

impl EventRow {
    fn into_event(self) -> StoreResult<TrackingEvent> {
        Ok(TrackingEvent {
            id: uuid(T, &self.id)?,
            at: timestamp(&self.at)?,
            status: TrackingStatus::parse(&self.status).ok_or_else(|| bad(&self.status))?,
            location: self.location,
            note: self.note,
        })
    }
}

/// Reads an order with its row locked until the transaction ends.
async fn locked_order(tx: &mut Conn, backend: Backend, id: Uuid) -> StoreResult<Order> {
    if backend == Backend::Postgres {
        sql::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?;
    }
    order_in(tx, id).await
}

/// The order's shipments (all, or one seller's) with their events.
async fn shipments_in(
    tx: &mut Conn,
    order_id: Uuid,
    only: Option<Uuid>,
) -> StoreResult<Vec<Shipment>> {
    let rows: Vec<ShipmentRow> = sql::query_as(&format!(
        "SELECT {COLUMNS} FROM shipments WHERE order_id = $1 ORDER BY created_at, id"
    ))
    .bind(order_id.to_string())
    .fetch_all(tx)
    .await?;
    let events: Vec<EventRow> = sql::query_as(
        "SELECT e.id, e.shipment_id, e.at, e.status, e.location, e.note FROM tracking_events e \
         JOIN shipments s ON s.id = e.shipment_id WHERE s.order_id = $1 ORDER BY e.at, e.id",
    )
    .bind(order_id.to_string())
    .fetch_all(tx)
    .await?;
    let mut events = events
        .into_iter()
        .map(|e| Ok((e.shipment_id.clone(), e.into_event()?)))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let seller = uuid(T, &row.seller_id)?;
        if only.is_some_and(|s| s != seller) {
            continue;
        }
        // Stable: each shipment's events stay in time order.
        let (own, rest): (Vec<_>, Vec<_>) = events.into_iter().partition(|(s, _)| *s == row.id);
        events = rest;
        out.push(row.into_shipment(own.into_iter().map(|(_, e)| e).collect())?);
    }
    Ok(out)
}

async fn shipment_in(tx: &mut Conn, order_id: Uuid, id: Uuid) -> StoreResult<Shipment> {
    shipments_in(tx, order_id, None)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(StoreError::NotFound { entity: "shipment" })
}

/// 1 to `max` characters (`0` to `max` when `may_be_empty`), trimmed, without control characters
/// (newlines allowed when `lines`).
fn text(
    field: &'static str,
    value: &str,
    max: usize,
    may_be_empty: bool,
    lines: bool,
) -> StoreResult<String> {
    let t = value.trim();
    let n = t.chars().count();
    let control = t.chars().any(|c| c.is_control() && !(lines && c == '\n'));
    if (n == 0 && !may_be_empty) || n > max || control {
        let min = if may_be_empty { 0 } else { 1 };
        return Err(StoreError::Rule {
            field,
            detail: format!("{min} to {max} characters, no control characters"),
        });
    }
    Ok(t.to_owned())
}

/// Ships inside a write job (see [`Store::create_shipment`]).
async fn ship_in(
    tx: &mut Conn,
    backend: Backend,
    new: &NewShipment,
    carrier: &str,
    waybill: &str,
    actor: Option<&str>,
) -> StoreResult<Shipped> {
    let order = locked_order(tx, backend, new.order_id).await?;
    if !order.sellers().any(|s| s == new.seller_id) {
        return Err(StoreError::Rule {
            field: "seller_id",
            detail: "the order has no goods of this seller".into(),
        });
    }
    let shipped: Option<(String,)> =
        sql::query_as("SELECT waybill FROM shipments WHERE order_id = $1 AND seller_id = $2")
            .bind(order.id.to_string())
            .bind(new.seller_id.to_string())
            .fetch_optional(tx)
            .await?;
    if let Some((earlier,)) = shipped {
        return Err(StoreError::InvalidState {
            detail: format!(
                "the order is {}; this seller's goods in it already shipped (waybill {earlier})",
                order.status
            ),
        });
    }
    match order.status {
        OrderStatus::Paid => {
            let note = format!("shipped with {carrier}, waybill {waybill}");
            transition(tx, &order, OrderStatus::Shipped, &note, actor).await?;
        }
        // Another seller's goods of the order have left already.
        OrderStatus::Shipped => {}
        other => {
            return Err(StoreError::InvalidState {
                detail: format!("the order is {other}; it cannot become shipped"),
            });
        }
    }
    let id = Uuid::now_v7();
    sql::query(
        "INSERT INTO shipments (id, order_id, seller_id, carrier, waybill, status, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'in_transit', $6, $7)",
    )
    .bind(id.to_string())
    .bind(order.id.to_string())
    .bind(new.seller_id.to_string())
    .bind(carrier)
    .bind(waybill)
    .bind(actor.map(str::to_owned))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("waybill"))?;
    let shipment = shipment_in(tx, order.id, id).await?;
    let order_status = order_in(tx, order.id).await?.status;
    Ok(Shipped {
        shipment,
        order_status,
    })
}

/// Records a tracking event inside a write job (see [`Store::add_tracking_event`]).
async fn track_in(
    tx: &mut Conn,
    backend: Backend,
    order_id: Uuid,
    shipment_id: Uuid,
    (status, at, location, note): &(TrackingStatus, Timestamp, String, String),
    actor: Option<&str>,
) -> StoreResult<Shipped> {
    let order = locked_order(tx, backend, order_id).await?;
    let shipment = shipment_in(tx, order_id, shipment_id).await?;
    if shipment.status == ShipmentStatus::Delivered {
        return Err(StoreError::InvalidState {
            detail: format!(
                "the shipment is delivered and the order is {}: a delivered shipment takes no more tracking events",
                order.status
            ),
        });
    }
    sql::query(
        "INSERT INTO tracking_events (id, shipment_id, at, status, location, note) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(shipment_id.to_string())
    .bind(at.to_stored())
    .bind(status.as_str())
    .bind(location)
    .bind(note)
    .execute(tx)
    .await?;
    if *status == TrackingStatus::Delivered {
        sql::query(
            "UPDATE shipments SET status = 'delivered', delivered_at = $1 WHERE id = $2 AND status = 'in_transit'",
        )
        .bind(at.to_stored())
        .bind(shipment_id.to_string())
        .execute(tx)
        .await?;
        // Sellers of the order whose goods are not (all) delivered yet.
        let (waiting,): (i64,) = sql::query_as(
            "SELECT COUNT(DISTINCT l.seller_id) FROM order_lines l WHERE l.order_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM shipments s WHERE s.order_id = l.order_id AND s.seller_id = l.seller_id AND s.status = 'delivered')",
        )
        .bind(order_id.to_string())
        .fetch_one(tx)
        .await?;
        // A refunded order stays refunded; only a shipped one becomes delivered.
        if waiting == 0 && order.status == OrderStatus::Shipped {
            transition(
                tx,
                &order,
                OrderStatus::Delivered,
                "every shipment delivered",
                actor,
            )
            .await?;
        }
    }
    let shipment = shipment_in(tx, order_id, shipment_id).await?;
    let order_status = order_in(tx, order_id).await?.status;
    Ok(Shipped {
        shipment,
        order_status,
    })
}

impl Store {
    /// Ships a seller's lines of an order under a carrier's waybill. The first shipment moves a
    /// paid order to shipped; an order in any other state than paid or shipped is refused with
    /// its state. A seller ships an order once; a waybill is used once per carrier.
    pub async fn create_shipment(
        &self,
        new: &NewShipment,
        actor: Option<&str>,
    ) -> StoreResult<Shipped> {
        let carrier = shipment::carrier(&new.carrier).map_err(|e| StoreError::Rule {
            field: "carrier",
            detail: e.to_string(),
        })?;
        let waybill = shipment::waybill(&new.waybill).map_err(|e| StoreError::Rule {
            field: "waybill",
            detail: e.to_string(),
        })?;
        let state = (
            new.clone(),
            carrier,
            waybill,
            actor.map(str::to_owned),
            self.backend(),
        );
        self.write(state, |tx, (new, carrier, waybill, actor, backend)| {
            Box::pin(ship_in(
                tx,
                *backend,
                new,
                carrier,
                waybill,
                actor.as_deref(),
            ))
        })
        .await
    }

    /// Records what the carrier reports. `delivered` marks the shipment delivered, and the order
    /// too once every seller has shipped and every shipment is delivered. A delivered shipment
    /// takes no more events.
    pub async fn add_tracking_event(
        &self,
        order_id: Uuid,
        shipment_id: Uuid,
        event: &NewTrackingEvent,
        actor: Option<&str>,
    ) -> StoreResult<Shipped> {
        let location = text("location", &event.location, 200, false, false)?;
        let note = text("note", &event.note, 500, true, true)?;
        let at = Timestamp::from_datetime(event.at.datetime());
        if Timestamp::now()
            .checked_add(CLOCK_SKEW)
            .is_some_and(|latest| at > latest)
        {
            return Err(StoreError::Rule {
                field: "at",
                detail: "an event cannot be in the future".into(),
            });
        }
        let state = (
            (order_id, shipment_id, self.backend()),
            (event.status, at, location, note),
            actor.map(str::to_owned),
        );
        self.write(
            state,
            |tx, ((order_id, shipment_id, backend), event, actor)| {
                Box::pin(track_in(
                    tx,
                    *backend,
                    *order_id,
                    *shipment_id,
                    event,
                    actor.as_deref(),
                ))
            },
        )
        .await
    }

    /// An order's shipments with their tracking events, oldest first; with `seller`, only that
    /// seller's.
    pub async fn shipments_of_order(
        &self,
        order_id: Uuid,
        seller: Option<Uuid>,
    ) -> StoreResult<Vec<Shipment>> {
        let mut tx = self.snapshot().await?;
        let shipments = shipments_in(&mut tx, order_id, seller).await?;
        tx.commit().await?;
        Ok(shipments)
    }

    /// One shipment of an order.
    pub async fn shipment(&self, order_id: Uuid, id: Uuid) -> StoreResult<Shipment> {
        let mut tx = self.snapshot().await?;
        let shipment = shipment_in(&mut tx, order_id, id).await?;
        tx.commit().await?;
        Ok(shipment)
    }
}
