//! Programmes: an agency's partnership with its terms, renewals, targets, sponsorship and KPIs.

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::membership::MoneySchema;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::accounts::{OrganisationKind, Role};
use pavilion_domain::programmes::targets::progress;
use pavilion_domain::programmes::{
    DateRange, Metric, Percent, ProgrammeStatus, TargetPeriod, TermKind,
};
use pavilion_domain::text::Name;
use pavilion_domain::{Country, Currency, Money};
use pavilion_store::accounts::Organisation;
use pavilion_store::programmes::{NewProgramme, NewSponsorship, NewTarget, Programme, StoredTerm};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Admins manage every programme; an agency officer manages their own agency's.
pub fn manages(caller: &Caller, programme: &Programme) -> bool {
    match caller.account.user.role {
        Role::Admin => true,
        Role::AgencyOfficer => caller
            .account
            .organisation
            .as_ref()
            .is_some_and(|o| o.id == programme.agency_id),
        _ => false,
    }
}

pub async fn managed_programme(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<Programme> {
    let programme = state.store.programme(id).await?;
    if !manages(caller, &programme) {
        return Err(ApiError::forbidden(
            "only the programme's agency officers or an administrator may do this",
        ));
    }
    Ok(programme)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetRequest {
    #[schema(value_type = String, example = "approved_exporters")]
    pub metric: Metric,
    #[schema(value_type = String, example = "100")]
    pub target: Decimal,
    #[schema(value_type = String, example = "programme")]
    pub period: TargetPeriod,
    /// For trade targets: the HS code prefix counted (e.g. `0904` for dried chili).
    pub hs_prefix: Option<String>,
    /// For `trade_value`: the currency of the target.
    #[schema(value_type = Option<String>, example = "USD")]
    pub currency: Option<Currency>,
    #[schema(value_type = String)]
    pub label: Name,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgrammeRequest {
    #[schema(value_type = String)]
    pub title: Name,
    /// The agency (administrators only; an officer's programme is their own agency's).
    pub agency_id: Option<Uuid>,
    pub signed_on: Option<Date>,
    pub starts_on: Date,
    pub ends_on: Date,
    #[serde(default)]
    pub targets: Vec<TargetRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTermRequest {
    /// `renewal` or `extension`.
    #[schema(value_type = String, example = "renewal")]
    pub kind: TermKind,
    pub starts_on: Date,
    pub ends_on: Date,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SponsorshipRequest {
    #[schema(value_type = String)]
    pub name: Name,
    /// Share of each discounted fee the agency pays, 0–100.
    #[schema(value_type = String, example = "50")]
    pub percent: Percent,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    #[schema(value_type = Option<MoneySchema>)]
    pub cap_per_seller: Option<Money>,
    #[schema(value_type = Option<MoneySchema>)]
    pub budget: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TermView {
    #[schema(value_type = String)]
    pub kind: TermKind,
    pub starts_on: Date,
    pub ends_on: Date,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub metric: Metric,
    #[schema(value_type = String)]
    pub target: Decimal,
    pub unit: String,
    #[schema(value_type = String)]
    pub period: TargetPeriod,
    pub hs_prefix: Option<String>,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SponsorshipView {
    pub name: String,
    #[schema(value_type = String)]
    pub percent: Percent,
    #[schema(value_type = Option<MoneySchema>)]
    pub cap_per_seller: Option<Money>,
    #[schema(value_type = Option<MoneySchema>)]
    pub budget: Option<Money>,
    #[schema(value_type = MoneySchema)]
    pub spent: Money,
    #[schema(value_type = Option<MoneySchema>)]
    pub remaining: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeView {
    pub id: Uuid,
    pub agency_id: Uuid,
    #[schema(value_type = String, example = "RW")]
    pub country: Country,
    pub title: String,
    pub signed_on: Option<Date>,
    /// `draft`, `signed`, `active` or `expired`, derived from the dates.
    pub status: String,
    pub terms: Vec<TermView>,
    pub targets: Vec<TargetView>,
    pub sponsorship: Option<SponsorshipView>,
    pub version: i64,
}

impl From<Programme> for ProgrammeView {
    fn from(p: Programme) -> Self {
        let status = ProgrammeStatus::on(today(), p.signed_on, &p.domain_terms());
        Self {
            id: p.id,
            agency_id: p.agency_id,
            country: p.country,
            title: p.title,
            signed_on: p.signed_on,
            status: status.as_str().to_owned(),
            terms: p
                .terms
                .into_iter()
                .map(|t| TermView {
                    kind: t.kind,
                    starts_on: t.starts_on,
                    ends_on: t.ends_on,
                    note: t.note,
                })
                .collect(),
            targets: p
                .targets
                .into_iter()
                .map(|t| TargetView {
                    id: t.id,
                    metric: t.metric,
                    target: t.target,
                    unit: t.unit,
                    period: t.period,
                    hs_prefix: t.hs_prefix,
                    label: t.label,
                })
                .collect(),
            sponsorship: p.sponsorship.map(|s| SponsorshipView {
                remaining: s.remaining(),
                name: s.name,
                percent: s.percent,
                cap_per_seller: s.cap_per_seller,
                budget: s.budget,
                spent: s.spent,
            }),
            version: p.version,
        }
    }
}

fn target(i: usize, t: TargetRequest) -> ApiResult<NewTarget> {
    let field = |f: &str| format!("targets[{i}].{f}");
    if t.target <= Decimal::ZERO {
        return Err(ApiError::invalid(
            field("target"),
            "a target must be greater than 0",
        ));
    }
    let unit = match (t.metric, t.currency) {
        (Metric::ApprovedExporters, None) => "exporter".to_owned(),
        (Metric::Trainees, None) => "trainee".to_owned(),
        (Metric::TradeWeight, None) => "t".to_owned(),
        (Metric::TradeValue, Some(c)) => c.code().to_owned(),
        (Metric::TradeValue, None) => {
            return Err(ApiError::invalid(
                field("currency"),
                "a trade_value target needs a currency",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                field("currency"),
                "only trade_value targets take a currency",
            ));
        }
    };
    if let Some(prefix) = &t.hs_prefix {
        let valid = matches!(prefix.len(), 2 | 4 | 6 | 8 | 10)
            && prefix.chars().all(|c| c.is_ascii_digit());
        if !valid || !matches!(t.metric, Metric::TradeWeight | Metric::TradeValue) {
            return Err(ApiError::invalid(
                field("hs_prefix"),
                "an HS prefix is 2, 4, 6, 8 or 10 digits and applies to trade targets only",
            ));
        }
    }
    Ok(NewTarget {
        metric: t.metric,
        target: t.target,
        unit,
        period: t.period,
        hs_prefix: t.hs_prefix,
        label: t.label.into(),
    })
}

/// The agency an administrator (naming it) or an agency officer (their own) acts for when
/// creating a programme or a course.
pub async fn acting_agency(
    state: &AppState,
    caller: &Caller,
    requested: Option<Uuid>,
) -> ApiResult<Organisation> {
    let agency_id = match (
        caller.account.user.role,
        &caller.account.organisation,
        requested,
    ) {
        (Role::Admin, _, Some(id)) => id,
        (Role::Admin, _, None) => return Err(ApiError::invalid("agency_id", "name the agency")),
        (Role::AgencyOfficer, Some(own), None) => own.id,
        (Role::AgencyOfficer, Some(own), Some(id)) if id == own.id => id,
        (Role::AgencyOfficer, _, Some(_)) => {
            return Err(
                ApiError::forbidden("an officer acts for their own agency").with_field("agency_id")
            );
        }
        (role, _, _) => {
            return Err(ApiError::forbidden(format!(
                "this is done by agencies; you are {role}"
            )));
        }
    };
    let agency = state
        .store
        .organisation(agency_id)
        .await
        .map_err(|e| ApiError::from(e).with_field("agency_id"))?;
    if agency.kind != OrganisationKind::Agency {
        return Err(ApiError::invalid(
            "agency_id",
            format!("{} is not an agency", agency.name),
        ));
    }
    Ok(agency)
}

/// Create a programme (a partnership) for an agency.
#[utoipa::path(post, path = "/programmes", tag = "programmes", request_body = CreateProgrammeRequest,
    description = "Permission: administrators (for any agency) and agency officers (for their own agency).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = ProgrammeView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_programme(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateProgrammeRequest>,
) -> ApiResult<(StatusCode, axum::Json<ProgrammeView>)> {
    let agency_id = acting_agency(&state, &caller, req.agency_id).await?.id;
    let initial_term = DateRange::new(req.starts_on, req.ends_on)
        .map_err(|e| ApiError::invalid("ends_on", e.to_string()))?;
    let targets = req
        .targets
        .into_iter()
        .enumerate()
        .map(|(i, t)| target(i, t))
        .collect::<ApiResult<_>>()?;
    let programme = state
        .store
        .create_programme(
            &caller.audit(),
            &NewProgramme {
                agency_id,
                title: req.title.into(),
                signed_on: req.signed_on,
                initial_term,
                targets,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(programme.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProgrammeQuery {
    #[param(value_type = Option<String>)]
    pub country: Option<Country>,
}

/// Programmes, optionally of one country (exporters look here for programmes to apply to).
#[utoipa::path(get, path = "/programmes", tag = "programmes", params(ProgrammeQuery),
    description = "Permission: any signed-in user.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<ProgrammeView>), (status = 401, body = Problem)))]
pub async fn list_programmes(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ProgrammeQuery>,
) -> ApiResult<axum::Json<Vec<ProgrammeView>>> {
    let programmes = state.store.list_programmes(q.country).await?;
    Ok(axum::Json(programmes.into_iter().map(Into::into).collect()))
}

/// One programme.
#[utoipa::path(get, path = "/programmes/{id}", tag = "programmes", params(("id" = Uuid, Path)),
    description = "Permission: any signed-in user.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ProgrammeView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_programme(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<ProgrammeView>> {
    Ok(axum::Json(state.store.programme(id).await?.into()))
}

/// Renew or extend a programme; the new term must start after the current last one ends.
#[utoipa::path(post, path = "/programmes/{id}/terms", tag = "programmes", request_body = AddTermRequest,
    params(("id" = Uuid, Path)),
    description = "Permission: the programme's agency officers and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = ProgrammeView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_term(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<AddTermRequest>,
) -> ApiResult<(StatusCode, axum::Json<ProgrammeView>)> {
    managed_programme(&state, &caller, id).await?;
    if req.kind == TermKind::Initial {
        return Err(ApiError::invalid(
            "kind",
            "a programme has one initial term; add a renewal or an extension",
        ));
    }
    DateRange::new(req.starts_on, req.ends_on)
        .map_err(|e| ApiError::invalid("ends_on", e.to_string()))?;
    let term = StoredTerm {
        kind: req.kind,
        starts_on: req.starts_on,
        ends_on: req.ends_on,
        note: req.note,
    };
    match state.store.add_term(&caller.audit(), id, term).await? {
        Ok(p) => Ok((StatusCode::CREATED, axum::Json(p.into()))),
        Err(e) => Err(ApiError::invalid("starts_on", e.to_string())),
    }
}

/// Set the agency's sponsorship of its exporters' membership fees.
#[utoipa::path(put, path = "/programmes/{id}/sponsorship", tag = "programmes", request_body = SponsorshipRequest,
    params(("id" = Uuid, Path)),
    description = "Permission: the programme's agency officers and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ProgrammeView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_sponsorship(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<SponsorshipRequest>,
) -> ApiResult<axum::Json<ProgrammeView>> {
    managed_programme(&state, &caller, id).await?;
    for (field, m) in [
        ("cap_per_seller", req.cap_per_seller),
        ("budget", req.budget),
    ] {
        if let Some(m) = m {
            if m.currency() != req.currency {
                return Err(ApiError::invalid(
                    field,
                    format!("must be in {}", req.currency.code()),
                ));
            }
            if m.is_negative() {
                return Err(ApiError::invalid(field, "must not be negative"));
            }
        }
    }
    let terms = NewSponsorship {
        name: req.name.into(),
        percent: req.percent,
        currency: req.currency,
        cap_per_seller: req.cap_per_seller,
        budget: req.budget,
    };
    let programme = state
        .store
        .set_sponsorship(&caller.audit(), id, &terms)
        .await
        .map_err(|e| match e {
            pavilion_store::StoreError::Conflict { field: "budget" } => ApiError::invalid(
                "budget",
                "the budget is below what the agency has already paid",
            ),
            pavilion_store::StoreError::Conflict { field: "currency" } => ApiError::new(
                ProblemKind::Conflict,
                "the sponsorship's currency cannot change once set",
            )
            .with_field("currency"),
            other => other.into(),
        })?;
    Ok(axum::Json(programme.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiView {
    pub target_id: Uuid,
    pub label: String,
    #[schema(value_type = String)]
    pub metric: Metric,
    #[schema(value_type = String)]
    pub target: Decimal,
    pub unit: String,
    /// Measured so far; absent for trade targets until orders and contracts are recorded.
    #[schema(value_type = Option<String>)]
    pub measured: Option<Decimal>,
    /// measured ÷ target (1.0 = met); absent when not measured.
    #[schema(value_type = Option<String>)]
    pub progress: Option<Decimal>,
    /// How the figure is measured.
    pub rule: String,
}

/// Each target with its measured value and progress.
#[utoipa::path(get, path = "/programmes/{id}/kpis", tag = "programmes", params(("id" = Uuid, Path)),
    description = "Permission: the programme's agency officers and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<KpiView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn kpis(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<Vec<KpiView>>> {
    let programme = managed_programme(&state, &caller, id).await?;
    let (approved, trainees) = state.store.programme_measures(id).await?;
    let out = programme
        .targets
        .into_iter()
        .map(|t| {
            let (measured, rule) = match t.metric {
                Metric::ApprovedExporters => (
                    Some(Decimal::from(approved)),
                    "exporters whose application is approved now".to_owned(),
                ),
                Metric::Trainees => (
                    Some(Decimal::from(trainees)),
                    "completed enrollments in the programme's cohorts".to_owned(),
                ),
                Metric::TradeWeight | Metric::TradeValue => (
                    None,
                    "measured from orders and contract deliveries once they are recorded"
                        .to_owned(),
                ),
            };
            KpiView {
                target_id: t.id,
                label: t.label,
                metric: t.metric,
                target: t.target,
                unit: t.unit,
                progress: measured.map(|m| progress(m, t.target)),
                measured,
                rule,
            }
        })
        .collect();
    Ok(axum::Json(out))
}
