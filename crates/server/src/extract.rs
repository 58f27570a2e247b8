//! Query-string and path extractors whose rejections are problem+json naming the parameter.

use crate::problem::{ApiError, ProblemKind};
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Like `axum::extract::Query`, with the offending parameter named on failure.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let field = err.path().to_string();
                let detail = err.into_inner().to_string();
                let mut e = ApiError::new(
                    ProblemKind::InvalidField,
                    format!("query parameter: {detail}"),
                );
                e.field = (field != ".").then_some(field);
                e
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// Like `axum::extract::Path`, with the offending segment named on failure.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    axum::extract::path::ErrorKind::ParseErrorAtKey { key, .. }
                    | axum::extract::path::ErrorKind::InvalidUtf8InPathParam { key }
                    | axum::extract::path::ErrorKind::DeserializeError { key, .. } => {
                        Some(key.clone())
                    }
                    _ => None,
                };
                let mut err = ApiError::new(ProblemKind::InvalidField, e.body_text());
                err.field = field;
                Err(err)
            }
            Err(other) => Err(ApiError::internal(&other.body_text())),
        }
    }
}

/// A `text/csv` request body, as UTF-8 text.
pub struct CsvBody(pub String);

impl<S: Send + Sync> axum::extract::FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let is_csv = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"));
        if !is_csv {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "send the file as text/csv",
            )
            .with_field("Content-Type"));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ProblemKind::PayloadTooLarge,
                        "the file exceeds the size limit; use the command line",
                    )
                } else {
                    ApiError::invalid("body", r.body_text())
                }
            })?;
        String::from_utf8(bytes.to_vec())
            .map(CsvBody)
            .map_err(|e| ApiError::invalid("body", format!("the file is not UTF-8: {e}")))
    }
}

/// Every bad line of a refused file, as a 422 naming each line.
pub fn file_problem(errors: pavilion_domain::fx::FileErrors) -> ApiError {
    let mut e = ApiError::new(
        ProblemKind::InvalidField,
        format!("{} bad line(s); nothing was imported", errors.0.len()),
    )
    .with_field("body");
    e.issues = errors
        .0
        .into_iter()
        .map(|r| crate::problem::FieldIssue {
            line: Some(r.line),
            field: r.field,
            message: r.message,
        })
        .collect();
    e
}
