//! Training under a programme: courses, cohorts with seats, enrollments, completions.

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::programmes::{acting_agency, managed_programme};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::accounts::Role;
use pavilion_domain::programmes::DateRange;
use pavilion_domain::text::{Email, Name};
use pavilion_store::StoreError;
use pavilion_store::training::{Cohort, Course, Enrollment, NewEnrollment};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCourseRequest {
    #[schema(value_type = String)]
    pub title: Name,
    #[serde(default)]
    pub description: String,
    /// Administrators name the agency; an officer's course is their agency's.
    pub agency_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCohortRequest {
    pub programme_id: Uuid,
    #[schema(value_type = String)]
    pub name: Name,
    pub starts_on: Date,
    pub ends_on: Date,
    pub seats: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    #[schema(value_type = String)]
    pub participant_name: Name,
    #[schema(value_type = String, format = Email)]
    pub participant_email: Email,
    /// The exporter the participant works for, if any.
    pub seller_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseView {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub title: String,
    pub description: String,
}

impl From<Course> for CourseView {
    fn from(c: Course) -> Self {
        Self {
            id: c.id,
            agency_id: c.agency_id,
            title: c.title,
            description: c.description,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortView {
    pub id: Uuid,
    pub course_id: Uuid,
    pub programme_id: Uuid,
    pub name: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub seats: i64,
    pub enrolled: i64,
}

impl From<Cohort> for CohortView {
    fn from(c: Cohort) -> Self {
        Self {
            id: c.id,
            course_id: c.course_id,
            programme_id: c.programme_id,
            name: c.name,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            seats: c.seats,
            enrolled: c.enrolled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentView {
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub participant_name: String,
    pub participant_email: String,
    pub seller_id: Option<Uuid>,
    pub completed: bool,
}

impl From<Enrollment> for EnrollmentView {
    fn from(e: Enrollment) -> Self {
        Self {
            id: e.id,
            cohort_id: e.cohort_id,
            participant_name: e.participant_name,
            participant_email: e.participant_email,
            seller_id: e.seller_id,
            completed: e.completed,
        }
    }
}

async fn managed_course(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Course> {
    let course = state.store.course(id).await?;
    let allowed = match caller.account.user.role {
        Role::Admin => true,
        Role::AgencyOfficer => caller
            .account
            .organisation
            .as_ref()
            .is_some_and(|o| o.id == course.agency_id),
        _ => false,
    };
    if !allowed {
        return Err(ApiError::forbidden(
            "only the course's agency officers or administrators may do this",
        ));
    }
    Ok(course)
}

fn already_enrolled(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { field } => ApiError::new(
            ProblemKind::Conflict,
            format!("{field} is already enrolled"),
        )
        .with_field(field),
        other => other.into(),
    }
}

/// Create a course (e.g. a netpreneur course).
#[utoipa::path(post, path = "/courses", tag = "training", request_body = CreateCourseRequest,
    description = "Permission: administrators and agency officers (for their agency).",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = CourseView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_course(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCourseRequest>,
) -> ApiResult<(StatusCode, axum::Json<CourseView>)> {
    if req.description.chars().count() > 5000 {
        return Err(ApiError::invalid("description", "at most 5000 characters"));
    }
    let agency_id = acting_agency(&state, &caller, req.agency_id).await?.id;
    let course = state
        .store
        .create_course(
            &caller.audit(),
            agency_id,
            req.title.as_str(),
            &req.description,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(course.into())))
}

/// Schedule a cohort of a course under one of the agency's programmes.
#[utoipa::path(post, path = "/courses/{id}/cohorts", tag = "training", request_body = CreateCohortRequest,
    params(("id" = Uuid, Path)),
    description = "Permission: the course's agency officers and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = CohortView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_cohort(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(course_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CreateCohortRequest>,
) -> ApiResult<(StatusCode, axum::Json<CohortView>)> {
    let course = managed_course(&state, &caller, course_id).await?;
    let programme = managed_programme(&state, &caller, req.programme_id).await?;
    if programme.agency_id != course.agency_id {
        return Err(ApiError::invalid(
            "programme_id",
            "the programme belongs to another agency than the course",
        ));
    }
    if req.seats == 0 {
        return Err(ApiError::invalid("seats", "a cohort has at least 1 seat"));
    }
    let dates = DateRange::new(req.starts_on, req.ends_on)
        .map_err(|e| ApiError::invalid("ends_on", e.to_string()))?;
    let cohort = state
        .store
        .create_cohort(
            &caller.audit(),
            course_id,
            req.programme_id,
            req.name.as_str(),
            dates,
            req.seats,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(cohort.into())))
}

/// Enroll a participant; refused with 409 when the cohort is full.
#[utoipa::path(post, path = "/cohorts/{id}/enrollments", tag = "training", request_body = EnrollRequest,
    params(("id" = Uuid, Path)),
    description = "Permission: the programme's agency officers and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = EnrollmentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn enroll(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(cohort_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> ApiResult<(StatusCode, axum::Json<EnrollmentView>)> {
    let cohort = state.store.cohort(cohort_id).await?;
    managed_programme(&state, &caller, cohort.programme_id).await?;
    if let Some(seller_id) = req.seller_id {
        let seller = state
            .store
            .organisation(seller_id)
            .await
            .map_err(|e| ApiError::from(e).with_field("seller_id"))?;
        if seller.kind != pavilion_domain::accounts::OrganisationKind::Seller {
            return Err(ApiError::invalid(
                "seller_id",
                format!("{} is not an exporter", seller.name),
            ));
        }
    }
    let who = NewEnrollment {
        participant_name: req.participant_name.into(),
        participant_email: req.participant_email.into(),
        seller_id: req.seller_id,
    };
    let enrollment = state
        .store
        .enroll(&caller.audit(), cohort_id, &who)
        .await
        .map_err(already_enrolled)?;
    Ok((StatusCode::CREATED, axum::Json(enrollment.into())))
}

/// Record that a participant completed the course; counts towards the programme's trainees.
#[utoipa::path(post, path = "/enrollments/{id}/completion", tag = "training", params(("id" = Uuid, Path)),
    description = "Permission: the programme's agency officers and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let programme_id = state.store.enrollment_programme(id).await?;
    managed_programme(&state, &caller, programme_id).await?;
    state
        .store
        .complete_enrollment(&caller.audit(), id)
        .await
        .map_err(already_enrolled)?;
    Ok(StatusCode::NO_CONTENT)
}
