//! `/v1/files`: streamed encrypted uploads and ranged downloads.
//!
//! These routes read their bodies as streams, so the router's JSON body
//! limit does not apply to them; `max_file_bytes` / `max_thumbnail_bytes`
//! are enforced while streaming (`ops::files`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use zynk_proto::{CONTENT_HASH_HEADER, FILE_METADATA_HEADER, FileId, FileInfo, Problem};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, Auth};
use crate::ops;
use crate::ops::files::{Download, Part, Upload};
use crate::state::AppState;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| {
                ApiError::bad_request("invalid-header", format!("{name} must be ASCII"))
            })
        })
        .transpose()
}

fn upload_of(headers: &HeaderMap, body: Body) -> ApiResult<Upload<'_>> {
    let content_length = header_str(headers, header::CONTENT_LENGTH.as_str())?
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                ApiError::bad_request("invalid-header", "Content-Length is not a number")
            })
        })
        .transpose()?;
    Ok(Upload {
        content_type: header_str(headers, header::CONTENT_TYPE.as_str())?,
        content_length,
        body,
    })
}

/// Upload an encrypted file: the body is the ciphertext
/// (`application/octet-stream`, streamed), the `Zynk-File-Metadata` header
/// its metadata as JSON (`FileUpload`).
#[utoipa::path(post, path = "/v1/files", tag = "files", security(("bearer" = [])),
    params(("Zynk-File-Metadata" = String, Header, description = "FileUpload as JSON (ASCII; \\uXXXX escapes)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the ciphertext"),
    responses((status = 201, body = FileInfo), (status = 400, body = Problem), (status = 404, body = Problem),
    (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_file(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileInfo>), Closing> {
    let metadata = header_str(&headers, FILE_METADATA_HEADER)?;
    let upload = upload_of(&headers, body)?;
    let info = ops::files::upload(&state, &auth, metadata, upload).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// A refused upload may leave part of its body unread: its answer closes
/// the connection, so that the client does not send another request on it.
#[derive(Debug)]
pub struct Closing(ApiError);

impl From<ApiError> for Closing {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Closing {
    fn into_response(self) -> Response {
        let mut r = self.0.into_response();
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    }
}

/// A file's metadata.
#[utoipa::path(get, path = "/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = FileId, Path)), responses((status = 200, body = FileInfo), (status = 404, body = Problem)))]
pub async fn get_file(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
) -> ApiResult<Json<FileInfo>> {
    Ok(Json(ops::files::info(&state, &auth, id).await?))
}

/// Delete a file (the uploader, or a group admin).
#[utoipa::path(delete, path = "/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = FileId, Path)), responses((status = 204, description = "deleted"),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_file(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
) -> ApiResult<StatusCode> {
    ops::files::delete(&state, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The ciphertext, streamed; one `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) gives 206.
#[utoipa::path(get, path = "/v1/files/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = FileId, Path), ("Range" = Option<String>, Header)),
    responses((status = 200, body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 206, body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn file_content(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let range = header_str(&headers, header::RANGE.as_str())?;
    let d = ops::files::download(&state, &auth, id, Part::Content, range).await?;
    Ok(respond(d))
}

/// The encrypted thumbnail, streamed, with `Range` as for the content.
#[utoipa::path(get, path = "/v1/files/{id}/thumbnail", tag = "files", security(("bearer" = [])),
    params(("id" = FileId, Path), ("Range" = Option<String>, Header)),
    responses((status = 200, body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 206, body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn file_thumbnail(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let range = header_str(&headers, header::RANGE.as_str())?;
    let d = ops::files::download(&state, &auth, id, Part::Thumbnail, range).await?;
    Ok(respond(d))
}

/// Store (or replace) the encrypted thumbnail (the uploader only); the
/// optional `Zynk-Content-Hash` header is checked against the body.
#[utoipa::path(put, path = "/v1/files/{id}/thumbnail", tag = "files", security(("bearer" = [])),
    params(("id" = FileId, Path), ("Zynk-Content-Hash" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = FileInfo), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn put_thumbnail(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<FileInfo>, Closing> {
    let expected = header_str(&headers, CONTENT_HASH_HEADER)?;
    let upload = upload_of(&headers, body)?;
    Ok(Json(
        ops::files::put_thumbnail(&state, &auth, id, expected, upload).await?,
    ))
}

/// 200 or 206 with a streamed body, or the 416 problem.
fn respond(d: Download) -> Response {
    match d {
        Download::Unsatisfiable { total } => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                format!("the object has {total} bytes"),
            )
            .into_response();
            insert(&mut r, header::CONTENT_RANGE, format!("bytes */{total}"));
            insert(&mut r, header::ACCEPT_RANGES, "bytes".into());
            r
        }
        Download::Bytes {
            range,
            total,
            etag,
            stream,
        } => {
            let body = Body::from_stream(stream.map_err(std::io::Error::other));
            let mut r = body.into_response();
            let length = match &range {
                Some(range) => {
                    *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                    let last = range.end.saturating_sub(1);
                    let value = format!("bytes {}-{last}/{total}", range.start);
                    insert(&mut r, header::CONTENT_RANGE, value);
                    range.end - range.start
                }
                None => total,
            };
            insert(&mut r, header::CONTENT_LENGTH, length.to_string());
            insert(
                &mut r,
                header::CONTENT_TYPE,
                "application/octet-stream".into(),
            );
            insert(&mut r, header::ACCEPT_RANGES, "bytes".into());
            if let Some(tag) = etag {
                insert(&mut r, header::ETAG, format!("\"{tag}\""));
            }
            r
        }
    }
}

fn insert(r: &mut Response, name: header::HeaderName, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(name, v);
    }
}
