//! Product images: uploaded as the raw request body, checked from their bytes, kept in the
//! database and served with long-lived caching (an image's bytes never change under its id).

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiError, ApiResult, Problem, ProblemKind};
use crate::routes::products::own_product;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pavilion_domain::catalogue::image::{self, ImageError, ImageFormat, MAX_IMAGE_BYTES};
use pavilion_store::StoreError;
use pavilion_store::product_images::{ImageRef, NewImage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// A year: the longest lifetime caches are asked to honour.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// The image routes, with a body limit of their own: the server-wide one is sized for JSON.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_image, list_images))
        .routes(routes!(get_image, delete_image))
        .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES))
}

/// An image's description and where to fetch it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub id: Uuid,
    /// Display order, from 0 (the main image).
    pub position: u32,
    /// `image/jpeg`, `image/png` or `image/webp`, as found in the bytes.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub byte_size: u64,
    /// SHA-256 of the bytes in hex; also the image's ETag.
    pub sha256: String,
    pub alt: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: pavilion_store::Timestamp,
    /// Where the bytes are served.
    pub url: String,
}

impl ImageView {
    fn new(product_id: Uuid, image: ImageRef) -> Self {
        Self {
            url: format!("/api/v1/products/{product_id}/images/{}", image.id),
            id: image.id,
            position: image.position,
            content_type: image.content_type,
            width: image.width,
            height: image.height,
            byte_size: image.byte_size,
            sha256: image.sha256,
            alt: image.alt,
            created_at: image.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageList {
    pub items: Vec<ImageView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Alternative text describing the image (at most 300 characters).
    pub alt: Option<String>,
}

fn image_problem(err: ImageError) -> ApiError {
    let kind = if err.is_too_large() {
        ProblemKind::PayloadTooLarge
    } else {
        ProblemKind::InvalidField
    };
    ApiError::new(kind, err.to_string()).with_field("image")
}

fn too_large() -> ApiError {
    ApiError::new(
        ProblemKind::PayloadTooLarge,
        format!("the image is over the limit of {MAX_IMAGE_BYTES} bytes (5 MiB)"),
    )
    .with_field("image")
}

/// The declared type must name an allowed format; the bytes decide what is stored.
fn declared_format(headers: &HeaderMap) -> ApiResult<ImageFormat> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ImageFormat::from_mime)
        .ok_or_else(|| {
            ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "send the image as the body with Content-Type image/jpeg, image/png or image/webp",
            )
            .with_field("Content-Type")
        })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Add an image to a product, sent as the raw body. The type is read from the bytes (JPEG, PNG
/// or WebP; never SVG), whatever the declared `Content-Type`; at most 5 MiB and 8000 pixels a
/// side, 12 images a product.
#[utoipa::path(post, path = "/products/{id}/images", tag = "catalogue",
    params(("id" = Uuid, Path), UploadQuery),
    request_body(description = "The image file",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
    description = "Permission: the product's seller and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = ImageView, headers(("Location" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The product already has 12 images", body = Problem),
        (status = 413, description = "Over 5 MiB", body = Problem),
        (status = 415, description = "Not declared as image/jpeg, image/png or image/webp", body = Problem),
        (status = 422, description = "The bytes are not an allowed image, or its dimensions are out of bounds (field `image`); or a bad `alt`", body = Problem)))]
pub async fn upload_image(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    request: Request,
) -> ApiResult<Response> {
    // Everything that can be refused without the body is, before it is read.
    own_product(&state, &caller, id).await?;
    declared_format(request.headers())?;
    let alt =
        image::check_alt(q.alt.as_deref()).map_err(|e| ApiError::invalid(e.field, e.message))?;
    // Read no further than the limit: a larger body is refused once it passes it (413).
    let bytes = Bytes::from_request(request, &state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::invalid("image", r.body_text())
        }
    })?;
    let info = image::inspect(&bytes).map_err(image_problem)?;
    let sha256 = sha256_hex(&bytes);
    let new = NewImage {
        info,
        sha256: &sha256,
        alt: alt.as_deref(),
        bytes: &bytes,
    };
    let added = state
        .store
        .add_product_image(&caller.audit(), id, &new)
        .await
        .map_err(|e| match e {
            // The limit of images per product is a matter of state; name the field all the same.
            StoreError::InvalidState { detail } => {
                ApiError::new(ProblemKind::Conflict, detail).with_field("image")
            }
            other => other.into(),
        })?;
    let view = ImageView::new(id, added);
    let location = HeaderValue::from_str(&view.url).ok();
    let mut response = (StatusCode::CREATED, axum::Json(view)).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A product's images in display order.
#[utoipa::path(get, path = "/products/{id}/images", tag = "catalogue", params(("id" = Uuid, Path)),
    description = "Permission: public.",
    responses((status = 200, body = ImageList), (status = 404, body = Problem)))]
pub async fn list_images(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<ImageList>> {
    let images = state.store.product_images(id).await?;
    Ok(axum::Json(ImageList {
        items: images.into_iter().map(|i| ImageView::new(id, i)).collect(),
    }))
}

/// Whether `If-None-Match` names this ETag (weak comparison, as RFC 9110 asks for it).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// One image's bytes, with its type, a strong ETag (its SHA-256) and caching for a year: the
/// bytes under an image id never change. Answers 304 to a matching `If-None-Match`.
#[utoipa::path(get, path = "/products/{id}/images/{image_id}", tag = "catalogue",
    params(("id" = Uuid, Path), ("image_id" = Uuid, Path), ("If-None-Match" = Option<String>, Header)),
    description = "Permission: public.",
    responses((status = 200, description = "The image",
            content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp")),
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified"), (status = 404, body = Problem)))]
pub async fn get_image(
    State(state): State<AppState>,
    ApiPath((id, image_id)): ApiPath<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let meta = state.store.product_image(id, image_id).await?;
    let etag = format!("\"{}\"", meta.sha256);
    let mut response = if matches_etag(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let bytes = state.store.product_image_bytes(id, image_id).await?;
        let mut response = bytes.into_response();
        let content_type =
            HeaderValue::from_str(&meta.content_type).map_err(|e| ApiError::internal(&e))?;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        response
    };
    let out = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_FOREVER),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Remove an image from a product; the others keep their order.
#[utoipa::path(delete, path = "/products/{id}/images/{image_id}", tag = "catalogue",
    params(("id" = Uuid, Path), ("image_id" = Uuid, Path)),
    description = "Permission: the product's seller and administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn delete_image(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, image_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    own_product(&state, &caller, id).await?;
    state
        .store
        .delete_product_image(&caller.audit(), id, image_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
