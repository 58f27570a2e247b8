//! Shipments: each seller ships their own lines of an order under a carrier's waybill, and the
//! carrier's tracking events follow it to delivery. The order moves with them — paid → shipped
//! with the first shipment, shipped → delivered when every seller's shipment is delivered — and
//! a move the order's state does not allow is a 409 naming that state (see the store's
//! `checkout::shipments`).

use crate::checkout::holder::{Holder, OrderToken};
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::orders::{Viewer, reach_order};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::checkout::{OrderStatus, ShipmentStatus, TrackingStatus};
use pavilion_store::checkout::shipments::{
    NewShipment, NewTrackingEvent, Shipment, Shipped, TrackingEvent,
};
use pavilion_store::{StoreError, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_shipment, list_shipments))
        .routes(routes!(add_tracking_event))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShipment {
    /// The carrier's name, 1 to 64 characters.
    #[schema(example = "SF Express")]
    pub carrier: String,
    /// 1 to 64 letters, digits and hyphens; kept in upper case. Unique per carrier.
    #[schema(example = "SF1234567890")]
    pub waybill: String,
    /// Whose goods ship: a seller ships their own (leave it out); an administrator names the
    /// seller when the order has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTrackingEvent {
    #[schema(value_type = String, example = "in_transit",
        pattern = "^(in_transit|out_for_delivery|delivered|exception)$")]
    pub status: TrackingStatus,
    /// Where the carrier saw the parcel, 1 to 200 characters.
    #[schema(example = "Hangzhou sorting centre")]
    pub location: String,
    /// Up to 500 characters.
    #[serde(default)]
    pub note: String,
    /// When it happened (RFC 3339); now when left out. At most 5 minutes ahead of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingEventView {
    pub id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = String, example = "in_transit")]
    pub status: TrackingStatus,
    pub location: String,
    pub note: String,
}

/// A seller's shipment of an order, its tracking events in time order, and the order's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub seller_id: Uuid,
    pub carrier: String,
    pub waybill: String,
    /// `in_transit` until a `delivered` event.
    #[schema(value_type = String, example = "in_transit")]
    pub status: ShipmentStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    pub events: Vec<TrackingEventView>,
    /// The order's state now (`shipped`, `delivered`, …).
    #[schema(value_type = String, example = "shipped")]
    pub order_status: OrderStatus,
}

impl ShipmentView {
    fn new(s: Shipment, order_status: OrderStatus) -> Self {
        ShipmentView {
            id: s.id,
            order_id: s.order_id,
            seller_id: s.seller_id,
            carrier: s.carrier,
            waybill: s.waybill,
            status: s.status,
            created_at: s.created_at,
            delivered_at: s.delivered_at,
            events: s.events.into_iter().map(TrackingEventView::from).collect(),
            order_status,
        }
    }
}

impl From<TrackingEvent> for TrackingEventView {
    fn from(e: TrackingEvent) -> Self {
        TrackingEventView {
            id: e.id,
            at: e.at,
            status: e.status,
            location: e.location,
            note: e.note,
        }
    }
}

impl From<Shipped> for ShipmentView {
    fn from(s: Shipped) -> Self {
        ShipmentView::new(s.shipment, s.order_status)
    }
}

fn actor(holder: &Holder<OrderToken>) -> Option<String> {
    holder.caller.as_ref().map(|c| c.user_id().to_string())
}

/// Ship a seller's goods in an order; the first shipment moves the order from paid to shipped.
#[utoipa::path(post, path = "/orders/{id}/shipments", tag = "checkout",
    params(("id" = Uuid, Path)), request_body = CreateShipment,
    description = "Permission: a seller with goods in the order (for their own lines) and administrators. \
        Only a paid order ships (or a shipped one, for the other sellers of a multi-seller order); each seller ships once.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = ShipmentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The order cannot ship in its state (the detail names it), the seller has shipped already, or the carrier's waybill is taken (`field` = `waybill`)", body = Problem),
        (status = 422, description = "Bad carrier, waybill or seller_id (`field` names it)", body = Problem)))]
pub async fn create_shipment(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CreateShipment>,
) -> ApiResult<(StatusCode, axum::Json<ShipmentView>)> {
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    let seller_id = match viewer {
        Viewer::Buyer => {
            return Err(ApiError::forbidden(
                "the order's sellers ship it, not its buyer",
            ));
        }
        Viewer::Seller(org) => {
            if req.seller_id.is_some_and(|s| s != org) {
                return Err(ApiError::forbidden("a seller ships only their own goods"));
            }
            org
        }
        Viewer::Admin => {
            let mut sellers: Vec<Uuid> = order.sellers().collect();
            sellers.sort();
            sellers.dedup();
            match (req.seller_id, sellers.as_slice()) {
                (Some(s), _) if sellers.contains(&s) => s,
                (Some(_), _) => {
                    return Err(ApiError::invalid(
                        "seller_id",
                        "the order has no goods of this seller",
                    ));
                }
                (None, [only]) => *only,
                (None, _) => {
                    return Err(ApiError::invalid(
                        "seller_id",
                        "the order has goods of several sellers: say whose goods ship",
                    ));
                }
            }
        }
    };
    let new = NewShipment {
        order_id: id,
        seller_id,
        carrier: req.carrier,
        waybill: req.waybill,
    };
    let shipped = match state
        .store
        .create_shipment(&new, actor(&holder).as_deref())
        .await
    {
        Err(StoreError::Conflict { field }) => {
            return Err(ApiError::new(
                ProblemKind::Conflict,
                "this carrier's waybill is already on another shipment",
            )
            .with_field(field));
        }
        other => other?,
    };
    Ok((StatusCode::CREATED, axum::Json(shipped.into())))
}

/// Record a carrier's tracking event; `delivered` ends the shipment, and the order when all its
/// shipments are delivered.
#[utoipa::path(post, path = "/orders/{id}/shipments/{shipment_id}/events", tag = "checkout",
    params(("id" = Uuid, Path), ("shipment_id" = Uuid, Path)), request_body = AddTrackingEvent,
    description = "Permission: the seller who shipped it, and administrators (a carrier integration uses an administrator's API token).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = ShipmentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The shipment is delivered and takes no more events (the detail names the order's state)", body = Problem),
        (status = 422, description = "Bad status, location, note or time (`field` names it)", body = Problem)))]
pub async fn add_tracking_event(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath((id, shipment_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<AddTrackingEvent>,
) -> ApiResult<(StatusCode, axum::Json<ShipmentView>)> {
    let (_, viewer) = reach_order(&state, id, &holder).await?;
    let shipment = state.store.shipment(id, shipment_id).await?;
    match viewer {
        Viewer::Admin => {}
        Viewer::Seller(org) if org == shipment.seller_id => {}
        Viewer::Seller(_) => {
            return Err(ApiError::forbidden(
                "another seller's shipment: only the seller who shipped it reports on it",
            ));
        }
        Viewer::Buyer => {
            return Err(ApiError::forbidden(
                "the seller or the carrier reports on a shipment, not the buyer",
            ));
        }
    }
    let event = NewTrackingEvent {
        status: req.status,
        location: req.location,
        note: req.note,
        at: req.at.unwrap_or_else(Timestamp::now),
    };
    let shipped = state
        .store
        .add_tracking_event(id, shipment_id, &event, actor(&holder).as_deref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(shipped.into())))
}

/// An order's shipments with their tracking events.
#[utoipa::path(get, path = "/orders/{id}/shipments", tag = "checkout", params(("id" = Uuid, Path)),
    description = "Permission: the buyer (signed in, or with the order's X-Order-Token), sellers with goods in it (their own shipments only), administrators.",
    security(("session" = []), ("bearer" = []), ("order_token" = [])),
    responses((status = 200, body = Vec<ShipmentView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn list_shipments(
    State(state): State<AppState>,
    holder: Holder<OrderToken>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<Vec<ShipmentView>>> {
    let (order, viewer) = reach_order(&state, id, &holder).await?;
    let only = match viewer {
        Viewer::Seller(org) => Some(org),
        Viewer::Buyer | Viewer::Admin => None,
    };
    let shipments = state.store.shipments_of_order(id, only).await?;
    Ok(axum::Json(
        shipments
            .into_iter()
            .map(|s| ShipmentView::new(s, order.status))
            .collect(),
    ))
}
