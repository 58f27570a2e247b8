//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every failure a handler can meet becomes an [`ApiError`]; its `kind` fixes the stable `type`
//! URI and the status, `detail` says what happened in words, and `field` names the offending
//! input where there is one. Internal errors are logged and answered without their details.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The classes of problem the API reports. The slug is part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    MalformedJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidField,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ProblemKind {
    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::MalformedJson => "malformed-json",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::InvalidField => "invalid-field",
            ProblemKind::Unauthenticated => "unauthenticated",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::Conflict => "conflict",
            ProblemKind::PreconditionFailed => "precondition-failed",
            ProblemKind::TooManyRequests => "too-many-requests",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::MalformedJson => StatusCode::BAD_REQUEST,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::InvalidField => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ProblemKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            ProblemKind::MalformedJson => "The request body is not valid JSON",
            ProblemKind::UnsupportedMediaType => "The request body must be JSON",
            ProblemKind::PayloadTooLarge => "The request body is too large",
            ProblemKind::InvalidField => "A field has an invalid value",
            ProblemKind::Unauthenticated => "Authentication is required",
            ProblemKind::Forbidden => "You may not do this",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::Conflict => "Conflict with the current state",
            ProblemKind::PreconditionFailed => "The resource has changed",
            ProblemKind::TooManyRequests => "Too many requests",
            ProblemKind::Unavailable => "Temporarily unavailable",
            ProblemKind::Internal => "Internal error",
        }
    }
}

/// The problem+json body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI reference identifying the problem class, e.g. `/problems/invalid-field`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The offending input, as a dotted path into the request body or a parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found, when there are several: each names its field (and, for uploaded
    /// files, its line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldIssue>,
}

/// One of several problems with the input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldIssue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub kind: ProblemKind,
    pub detail: String,
    pub field: Option<String>,
    /// Seconds the client should wait, for 429 and 503.
    pub retry_after: Option<u64>,
    pub issues: Vec<FieldIssue>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            field: None,
            retry_after: None,
            issues: Vec::new(),
        }
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidField, detail).with_field(field)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unauthenticated, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ProblemKind::NotFound, format!("{what} not found"))
    }

    pub fn internal(err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            ProblemKind::Internal,
            "Something went wrong on our side; it has been logged.",
        )
    }

    /// A 422 listing every problem; `field` names the first.
    pub fn issues(detail: impl Into<String>, issues: Vec<FieldIssue>) -> Self {
        let mut e = Self::new(ProblemKind::InvalidField, detail);
        e.field = issues.first().map(|i| i.field.clone());
        e.issues = issues;
        e
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("/problems/{}", self.kind.slug()),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
            errors: self.issues.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.kind == ProblemKind::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity } => ApiError::not_found(entity),
            StoreError::Conflict { field } => {
                ApiError::new(ProblemKind::Conflict, format!("{field} is already taken"))
                    .with_field(field)
            }
            StoreError::VersionMismatch { entity, current } => ApiError::new(
                ProblemKind::PreconditionFailed,
                format!("{entity} changed since you read it; it is now at version {current}"),
            ),
            StoreError::Rule { field, detail } => ApiError::invalid(field, detail),
            StoreError::InvalidState { detail } => ApiError::new(ProblemKind::Conflict, detail),
            StoreError::Exhausted { field, detail } => {
                ApiError::new(ProblemKind::Conflict, detail).with_field(field)
            }
            StoreError::IdempotencyMismatch => ApiError::invalid(
                "Idempotency-Key",
                "this key was used for a different request; use a new key for a new request",
            ),
            busy if busy.is_busy() => {
                let mut e = ApiError::new(ProblemKind::Unavailable, "the database is busy; retry");
                e.retry_after = Some(1);
                e
            }
            other => ApiError::internal(&other),
        }
    }
}
