//! Membership plans and their promotions.

use crate::auth::{Admin, Caller};
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::Money;
use pavilion_domain::programmes::{DateRange, Percent, Promotion};
use pavilion_domain::text::Name;
use pavilion_store::membership::{MembershipPlan, NewPlan, StoredPromotion};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

pub use pavilion_domain::openapi::MoneySchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlanRequest {
    /// Short stable name, e.g. `gold`.
    #[schema(value_type = String)]
    pub tier: Name,
    #[schema(value_type = String)]
    pub name: Name,
    #[schema(value_type = MoneySchema)]
    pub annual_fee: Money,
    pub listing_limit: Option<u32>,
    pub wholesale_access: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub id: Uuid,
    pub tier: String,
    pub name: String,
    #[schema(value_type = MoneySchema)]
    pub annual_fee: Money,
    pub listing_limit: Option<i64>,
    pub wholesale_access: bool,
    pub promotions: Vec<PromotionView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromotionRequest {
    #[schema(value_type = String)]
    pub name: Name,
    /// e.g. "50" for half price.
    #[schema(value_type = String, example = "50")]
    pub percent_off: Percent,
    pub starts_on: Date,
    pub ends_on: Date,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionView {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = String)]
    pub percent_off: Percent,
    pub starts_on: Date,
    pub ends_on: Date,
}

impl From<StoredPromotion> for PromotionView {
    fn from(p: StoredPromotion) -> Self {
        Self {
            id: p.id,
            name: p.name,
            percent_off: p.percent_off,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
        }
    }
}

fn view(plan: MembershipPlan, promotions: Vec<StoredPromotion>) -> PlanView {
    PlanView {
        id: plan.id,
        tier: plan.tier,
        name: plan.name,
        annual_fee: plan.annual_fee,
        listing_limit: plan.listing_limit,
        wholesale_access: plan.wholesale_access,
        promotions: promotions.into_iter().map(Into::into).collect(),
    }
}

/// Create a membership plan.
#[utoipa::path(post, path = "/membership-plans", tag = "programmes", request_body = CreatePlanRequest,
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = PlanView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_plan(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiJson(req): ApiJson<CreatePlanRequest>,
) -> ApiResult<(StatusCode, axum::Json<PlanView>)> {
    if req.annual_fee.is_negative() {
        return Err(ApiError::invalid(
            "annual_fee",
            "the annual fee must not be negative",
        ));
    }
    if req.listing_limit == Some(0) {
        return Err(ApiError::invalid(
            "listing_limit",
            "a listing limit must be at least 1 (omit it for unlimited)",
        ));
    }
    let plan = state
        .store
        .create_plan(
            &admin.audit(),
            &NewPlan {
                tier: req.tier.into(),
                name: req.name.into(),
                annual_fee: req.annual_fee,
                listing_limit: req.listing_limit.map(i64::from),
                wholesale_access: req.wholesale_access,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(plan, Vec::new()))))
}

/// Membership plans with their promotions, cheapest first.
#[utoipa::path(get, path = "/membership-plans", tag = "programmes",
    description = "Permission: any signed-in user.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<PlanView>), (status = 401, body = Problem)))]
pub async fn list_plans(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<axum::Json<Vec<PlanView>>> {
    let mut out = Vec::new();
    for plan in state.store.plans().await? {
        let promotions = state.store.promotions(plan.id).await?;
        out.push(view(plan, promotions));
    }
    Ok(axum::Json(out))
}

/// Add a promotion (a discount inside a date window) to a plan.
#[utoipa::path(post, path = "/membership-plans/{id}/promotions", tag = "programmes",
    request_body = CreatePromotionRequest, params(("id" = Uuid, Path)),
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = PromotionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_promotion(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiPath(plan_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CreatePromotionRequest>,
) -> ApiResult<(StatusCode, axum::Json<PromotionView>)> {
    let window = DateRange::new(req.starts_on, req.ends_on)
        .map_err(|e| ApiError::invalid("ends_on", e.to_string()))?;
    if req.percent_off.value().is_zero() {
        return Err(ApiError::invalid(
            "percent_off",
            "a promotion takes more than 0% off",
        ));
    }
    let promotion = Promotion {
        name: req.name.into(),
        percent_off: req.percent_off,
        window,
    };
    let stored = state
        .store
        .add_promotion(&admin.audit(), plan_id, &promotion)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(stored.into())))
}
