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
