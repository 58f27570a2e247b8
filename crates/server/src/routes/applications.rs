//! Exporters' applications to programmes, officers' decisions, and membership invoices.

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::membership::MoneySchema;
use crate::routes::pavilions::PavilionView;
use crate::routes::programmes::today;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::Money;
use pavilion_domain::accounts::Role;
use pavilion_domain::programmes::{ApplicationStatus, Channel, Payer};
use pavilion_domain::text::Name;
use pavilion_store::StoreError;
use pavilion_store::applications::{
    Application, ApplicationEvent, Certificate, Invoice, NewApplication,
};
use pavilion_store::programmes::Programme;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    /// e.g. `registered_packhouse`, `orchard_code`, `phytosanitary`.
    pub kind: String,
    pub number: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub plan_id: Uuid,
    #[schema(value_type = String)]
    pub registration_number: Name,
    #[schema(value_type = String)]
    pub address: Name,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub certificates: Vec<CertificateBody>,
    /// Where the exporter will sell: `wholesale`, `retail`, `travel` (at least one).
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<Channel>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `verified`, `approved`, `suspended` or `rejected`.
    #[schema(value_type = String, example = "approved")]
    pub status: ApplicationStatus,
    #[schema(value_type = String)]
    pub reason: Name,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub seller_id: Uuid,
    pub plan_id: Uuid,
    #[schema(value_type = String)]
    pub status: ApplicationStatus,
    pub registration_number: String,
    pub address: String,
    pub categories: Vec<String>,
    pub certificates: Vec<CertificateBody>,
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<Channel>,
    pub approved_on: Option<Date>,
    pub version: i64,
}

impl From<Application> for ApplicationView {
    fn from(a: Application) -> Self {
        Self {
            id: a.id,
            programme_id: a.programme_id,
            seller_id: a.seller_id,
            plan_id: a.plan_id,
            status: a.status,
            registration_number: a.registration_number,
            address: a.address,
            categories: a.categories,
            certificates: a
                .certificates
                .into_iter()
                .map(|c| CertificateBody {
                    kind: c.kind,
                    number: c.number,
                })
                .collect(),
            channels: a.channels,
            approved_on: a.approved_on,
            version: a.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    #[schema(value_type = Option<String>)]
    pub from_status: Option<ApplicationStatus>,
    #[schema(value_type = String)]
    pub to_status: ApplicationStatus,
    pub reason: String,
    pub actor_user_id: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub at: pavilion_store::Timestamp,
}

impl From<ApplicationEvent> for HistoryView {
    fn from(e: ApplicationEvent) -> Self {
        Self {
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason,
            actor_user_id: e.actor_user_id,
            at: e.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDetail {
    #[serde(flatten)]
    pub application: ApplicationView,
    pub history: Vec<HistoryView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineView {
    #[schema(value_type = String, example = "agency")]
    pub payer: Payer,
    pub payer_org_id: Uuid,
    #[schema(value_type = MoneySchema)]
    pub amount: Money,
    /// The rule that produced this line.
    pub rule: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    pub application_id: Uuid,
    pub seller_id: Uuid,
    pub plan_id: Uuid,
    pub period_start: Date,
    pub period_end: Date,
    #[schema(value_type = MoneySchema)]
    pub list_fee: Money,
    #[schema(value_type = MoneySchema)]
    pub discount: Money,
    pub discount_rule: Option<String>,
    #[schema(value_type = MoneySchema)]
    pub total: Money,
    /// The agency's sponsorship budget ran short: the seller pays more than the sponsorship promised.
    pub budget_exhausted: bool,
    pub lines: Vec<InvoiceLineView>,
}

impl From<Invoice> for InvoiceView {
    fn from(i: Invoice) -> Self {
        Self {
            id: i.id,
            application_id: i.application_id,
            seller_id: i.seller_id,
            plan_id: i.plan_id,
            period_start: i.period_start,
            period_end: i.period_end,
            list_fee: i.list_fee,
            discount: i.discount,
            discount_rule: i.discount_rule,
            total: i.total,
            budget_exhausted: i.budget_exhausted,
            lines: i
                .lines
                .into_iter()
                .map(|l| InvoiceLineView {
                    payer: l.payer,
                    payer_org_id: l.payer_org_id,
                    amount: l.amount,
                    rule: l.rule,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub application: ApplicationView,
    /// The first year's membership invoice, issued by the first approval.
    pub invoice: Option<InvoiceView>,
    /// Pavilions this approval launched by reaching their threshold.
    pub launched_pavilions: Vec<PavilionView>,
}

/// An officer of the programme's country, or an administrator.
fn oversees(caller: &Caller, programme: &Programme) -> bool {
    match caller.account.user.role {
        Role::Admin => true,
        Role::AgencyOfficer => caller
            .account
            .organisation
            .as_ref()
            .is_some_and(|o| o.country == programme.country),
        _ => false,
    }
}

fn own_seller(caller: &Caller) -> Option<Uuid> {
    match (caller.account.user.role, &caller.account.organisation) {
        (Role::Seller, Some(org)) => Some(org.id),
        _ => None,
    }
}

/// Apply, as an exporter, to a programme of the exporter's country.
#[utoipa::path(post, path = "/programmes/{id}/applications", tag = "programmes", request_body = ApplyRequest,
    params(("id" = Uuid, Path)),
    description = "Permission: sellers, for a programme of their own country.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = ApplicationView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(programme_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ApplyRequest>,
) -> ApiResult<(StatusCode, axum::Json<ApplicationView>)> {
    let seller_id = own_seller(&caller)
        .ok_or_else(|| ApiError::forbidden("only sellers apply to programmes"))?;
    let programme = state.store.programme(programme_id).await?;
    let seller_country = caller.account.organisation.as_ref().map(|o| o.country);
    if seller_country != Some(programme.country) {
        return Err(ApiError::forbidden(format!(
            "this programme is for exporters of {}",
            programme.country.code()
        )));
    }
    if req.channels.is_empty() {
        return Err(ApiError::invalid(
            "channels",
            "choose at least one channel: wholesale, retail or travel",
        ));
    }
    state
        .store
        .plan(req.plan_id)
        .await
        .map_err(|e| ApiError::from(e).with_field("plan_id"))?;
    for (i, c) in req.certificates.iter().enumerate() {
        if c.kind.trim().is_empty()
            || c.number.trim().is_empty()
            || c.kind.len() > 100
            || c.number.len() > 100
        {
            return Err(ApiError::invalid(
                format!("certificates[{i}]"),
                "a certificate has a kind and a number of 1 to 100 characters",
            ));
        }
    }
    if let Some(i) = req
        .categories
        .iter()
        .position(|c| c.trim().is_empty() || c.len() > 100)
    {
        return Err(ApiError::invalid(
            format!("categories[{i}]"),
            "a category has 1 to 100 characters",
        ));
    }
    let application = state
        .store
        .apply(
            &caller.audit(),
            &NewApplication {
                programme_id,
                seller_id,
                plan_id: req.plan_id,
                registration_number: req.registration_number.into(),
                address: req.address.into(),
                categories: req.categories,
                certificates: req
                    .certificates
                    .into_iter()
                    .map(|c| Certificate {
                        kind: c.kind,
                        number: c.number,
                    })
                    .collect(),
                channels: req.channels,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict {
                field: "programme_id",
            } => ApiError::new(
                ProblemKind::Conflict,
                "this exporter has already applied to this programme",
            )
            .with_field("programme_id"),
            StoreError::Conflict { field: "channels" } => {
                ApiError::invalid("channels", "a channel is listed twice")
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, axum::Json(application.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    pub programme_id: Option<Uuid>,
}

/// Applications: a seller sees their own; an officer those of a programme of their country
/// (`programme_id` required); an administrator any.
#[utoipa::path(get, path = "/applications", tag = "programmes", params(ApplicationQuery),
    description = "Permission: sellers (their own), agency officers (their country's programmes), administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<ApplicationView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn list_applications(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ApplicationQuery>,
) -> ApiResult<axum::Json<Vec<ApplicationView>>> {
    let (programme_id, seller_id) = match caller.account.user.role {
        Role::Admin => (q.programme_id, None),
        Role::Seller => (q.programme_id, own_seller(&caller)),
        Role::AgencyOfficer => {
            let id = q.programme_id.ok_or_else(|| {
                ApiError::invalid("programme_id", "officers list one programme's applications")
            })?;
            let programme = state.store.programme(id).await?;
            if !oversees(&caller, &programme) {
                return Err(ApiError::forbidden(
                    "this programme belongs to another country",
                ));
            }
            (Some(id), None)
        }
        role => {
            return Err(ApiError::forbidden(format!(
                "applications are not visible to a {role}"
            )));
        }
    };
    let list = state
        .store
        .list_applications(programme_id, seller_id)
        .await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

async fn visible_application(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<(Application, Programme)> {
    let application = state.store.application(id).await?;
    let programme = state.store.programme(application.programme_id).await?;
    if !(oversees(caller, &programme) || own_seller(caller) == Some(application.seller_id)) {
        return Err(ApiError::forbidden("this application is not yours to see"));
    }
    Ok((application, programme))
}

/// One application with its history of decisions.
#[utoipa::path(get, path = "/applications/{id}", tag = "programmes", params(("id" = Uuid, Path)),
    description = "Permission: the applicant seller, officers of the programme's country, administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ApplicationDetail), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_application(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<ApplicationDetail>> {
    let (application, _) = visible_application(&state, &caller, id).await?;
    let history = state.store.application_history(id).await?;
    Ok(axum::Json(ApplicationDetail {
        application: application.into(),
        history: history.into_iter().map(Into::into).collect(),
    }))
}

/// Decide on an application: verify, approve, suspend or reject it, with a reason. The first
/// approval issues the membership invoice and may launch the country's pavilions.
#[utoipa::path(post, path = "/applications/{id}/decisions", tag = "programmes", request_body = DecisionRequest,
    params(("id" = Uuid, Path)),
    description = "Permission: agency officers of the programme's country, administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = DecisionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "Not allowed from the current status", body = Problem),
        (status = 422, body = Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> ApiResult<axum::Json<DecisionView>> {
    let (_, programme) = visible_application(&state, &caller, id).await?;
    if !oversees(&caller, &programme) {
        return Err(ApiError::forbidden(format!(
            "decisions are taken by agency officers of {} or administrators",
            programme.country.code()
        )));
    }
    let decision = state
        .store
        .decide_application(
            &caller.audit(),
            id,
            req.status,
            req.reason.as_str(),
            today(),
        )
        .await
        .map_err(|e| match e {
            StoreError::InvalidState { detail } => {
                ApiError::new(ProblemKind::Conflict, detail).with_field("status")
            }
            other => other.into(),
        })?;
    Ok(axum::Json(DecisionView {
        application: decision.application.into(),
        invoice: decision.invoice.map(Into::into),
        launched_pavilions: decision.launched.into_iter().map(Into::into).collect(),
    }))
}

/// Issue the next membership year's invoice for an approved exporter.
#[utoipa::path(post, path = "/applications/{id}/renewals", tag = "programmes", params(("id" = Uuid, Path)),
    description = "Permission: agency officers of the programme's country, administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = InvoiceView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn renew(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, axum::Json<InvoiceView>)> {
    let (_, programme) = visible_application(&state, &caller, id).await?;
    if !oversees(&caller, &programme) {
        return Err(ApiError::forbidden(
            "renewals are issued by the programme's officers or administrators",
        ));
    }
    let invoice = state.store.renew_membership(&caller.audit(), id).await?;
    Ok((StatusCode::CREATED, axum::Json(invoice.into())))
}

/// An organisation's membership invoices, newest first.
#[utoipa::path(get, path = "/organisations/{id}/invoices", tag = "programmes", params(("id" = Uuid, Path)),
    description = "Permission: the organisation's members, agency officers of its country, administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<InvoiceView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn invoices(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<Vec<InvoiceView>>> {
    let org = state.store.organisation(id).await?;
    if !caller.actor().can_read_organisation(&org.scope()) {
        return Err(ApiError::forbidden("these invoices are not yours to see"));
    }
    let list = state.store.invoices_of(id).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}
