//! The JSON body extractor: every request body goes through here, so every bad body gets the
//! same problem+json answer naming the offending field.

use crate::problem::{ApiError, ProblemKind};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Like `axum::Json`, but rejections are problem+json with the path of the bad field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            )
            .with_field("Content-Type"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse(&bytes).map(ApiJson)
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ProblemKind::PayloadTooLarge,
            "the request body exceeds the size limit",
        )
    } else {
        ApiError::new(ProblemKind::MalformedJson, rejection.body_text())
    }
}

/// Deserialises a JSON body, telling syntax errors (400) from values of the wrong shape (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::new(ProblemKind::MalformedJson, format!("invalid JSON: {inner}"))
            }
            serde_json::error::Category::Data | serde_json::error::Category::Io => {
                let field = if path == "." { None } else { Some(path) };
                let detail = match &field {
                    Some(f) => format!("{f}: {}", strip_position(&inner.to_string())),
                    None => strip_position(&inner.to_string()),
                };
                let mut e = ApiError::new(ProblemKind::InvalidField, detail);
                e.field = field.or_else(|| missing_field_name(&inner.to_string()));
                e
            }
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(ProblemKind::MalformedJson, format!("invalid JSON: {e}")))?;
    Ok(value)
}

/// serde_json appends " at line 1 column 42"; the field path says more to an API user.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// For "missing field `x`" the path is the parent object; name the field itself.
fn missing_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_name_the_field() {
        let e = parse::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.kind, ProblemKind::MalformedJson);

        let e = parse::<Body>(br#"{"name": "x", "inner": {"count": "many"}}"#).unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_deref()),
            (ProblemKind::InvalidField, Some("inner.count"))
        );

        let e = parse::<Body>(br#"{"name": "x", "inner": {"count": 1}, "extra": 1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("extra"));

        let e = parse::<Body>(br#"{"inner": {"count": 1}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));

        let e = parse::<Body>(br#"{"name": "x", "inner": {"count": 1}} trailing"#).unwrap_err();
        assert_eq!(e.kind, ProblemKind::MalformedJson);
    }
}
