//! Encrypted files: streamed upload (size and SHA-256 checked on the way,
//! nothing left behind when refused), metadata, streamed and ranged
//! download of the ciphertext and its thumbnail, delete.
//!
//! Authorization: every use case starts with the participant check of the
//! file's conversation, so an outsider gets 404 for everything; uploading a
//! thumbnail is the uploader's, deleting the uploader's or a group admin's.
//! Expired files are never served, even before the expiry job removes them.

use std::ops::Range;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use chrono::{SubsecRound, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use zynk_proto::{
    FILE_EXPIRES_IN_MAX, FILE_EXPIRES_IN_MIN, FileId, FileInfo, FileUpload, Role, UserId,
};
use zynk_store::{FileRecord, StoreError};

use crate::blobs::{Blobs, WriteError};
use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::conversations::require_participant;
use crate::state::AppState;

/// Largest sealed file key and largest `metadata` (serialized), in bytes.
const MAX_SEALED_KEY: usize = 4096;
const MAX_METADATA: usize = 8192;
/// After a body over the limit, this much more is read (and dropped) so that
/// the client sees the 413 instead of a reset connection; the 413 also
/// closes the connection (`Connection: close`, `http::files`).
const DRAIN_BYTES: u64 = 8 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Which object of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Content,
    Thumbnail,
}

/// A download: the whole object or one byte range of it.
pub enum Download {
    /// `range` is `None` for the whole object.
    Bytes {
        range: Option<Range<u64>>,
        total: u64,
        /// The content hash (an `ETag`), for the file's content.
        etag: Option<String>,
        stream: BoxStream<'static, Result<Bytes, object_store::Error>>,
    },
    /// The requested range lies outside the object (416).
    Unsatisfiable { total: u64 },
}

/// The wire form of a file row.
pub fn wire(f: &FileRecord) -> FileInfo {
    FileInfo {
        id: f.id,
        conversation_id: f.conversation_id,
        uploader_id: f.uploader_id,
        filename: f.filename.clone(),
        file_size: f.file_size,
        mime_type: f.mime_type.clone(),
        content_hash: f.content_hash.clone(),
        encryption_key_encrypted: B64.encode(&f.encryption_key_encrypted),
        metadata: f.metadata.clone(),
        has_thumbnail: f.thumbnail_path.is_some(),
        expires_at: f.expires_at,
        created_at: f.created_at,
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file-too-large",
        format!("the body is over {limit} bytes"),
    )
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses and checks the `Zynk-File-Metadata` header.
fn parse_upload(header: Option<&str>) -> ApiResult<(FileUpload, Vec<u8>)> {
    let header = header.ok_or_else(|| {
        ApiError::bad_request(
            "missing-file-metadata",
            "the Zynk-File-Metadata header (JSON) is required",
        )
    })?;
    let meta: FileUpload = serde_json::from_str(header).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            format!("Zynk-File-Metadata: {e}"),
        )
    })?;
    let name_len = meta.filename.chars().count();
    if !(1..=255).contains(&name_len) || meta.filename.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "filename",
            "must be 1 to 255 characters without control characters",
        ));
    }
    let mime = &meta.mime_type;
    if mime.is_empty()
        || mime.len() > 255
        || !mime.contains('/')
        || !mime.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::invalid(
            "mime_type",
            "must look like type/subtype",
        ));
    }
    if !is_sha256_hex(&meta.content_hash) {
        return Err(ApiError::invalid(
            "content_hash",
            "must be 64 lowercase hex characters (SHA-256)",
        ));
    }
    let key = B64
        .decode(&meta.encryption_key_encrypted)
        .ok()
        .filter(|k| (1..=MAX_SEALED_KEY).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::invalid(
                "encryption_key_encrypted",
                format!("must be base64 of 1 to {MAX_SEALED_KEY} bytes"),
            )
        })?;
    if let Some(m) = &meta.metadata
        && (!m.is_object() || m.to_string().len() > MAX_METADATA)
    {
        return Err(ApiError::invalid(
            "metadata",
            format!("must be a JSON object of at most {MAX_METADATA} bytes"),
        ));
    }
    if let Some(secs) = meta.expires_in
        && !(FILE_EXPIRES_IN_MIN..=FILE_EXPIRES_IN_MAX).contains(&secs)
    {
        return Err(ApiError::invalid(
            "expires_in",
            "must be 3600 (one hour) to 2592000 (30 days) seconds, or absent",
        ));
    }
    Ok((meta, key))
}

/// The body must be `application/octet-stream` (or untyped).
fn check_octet_stream(content_type: Option<&str>) -> ApiResult<()> {
    match content_type {
        None => Ok(()),
        Some(ct) if ct.trim().eq_ignore_ascii_case("application/octet-stream") => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the body must be application/octet-stream (ciphertext)",
        )),
    }
}

/// Reads and drops up to `DRAIN_BYTES` more of a refused body (for at most
/// `DRAIN_TIME`), so that the client reads the answer instead of a reset.
async fn drain<S, E>(mut stream: std::pin::Pin<&mut S>)
where
    S: futures_util::Stream<Item = Result<Bytes, E>>,
{
    let mut drained = 0u64;
    let all = async {
        while let Some(Ok(chunk)) = stream.next().await {
            drained += chunk.len() as u64;
            if drained > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, all).await;
}

/// A streamed request body and what its headers say about it.
pub struct Upload<'a> {
    pub content_type: Option<&'a str>,
    pub content_length: Option<u64>,
    pub body: Body,
}

/// Streams the body into `key`, mapping refusals to problems. On a body
/// over `limit`, reads on a little so that the client gets the answer.
async fn store_body(
    state: &AppState,
    key: &str,
    upload: Upload<'_>,
    limit: u64,
    expected: Option<&str>,
) -> ApiResult<u64> {
    check_octet_stream(upload.content_type)?;
    let mut stream = std::pin::pin!(upload.body.into_data_stream());
    if let Some(declared) = upload.content_length
        && declared > limit
    {
        if declared <= limit.saturating_add(DRAIN_BYTES) {
            drain(stream.as_mut()).await;
        }
        return Err(too_large(limit));
    }
    let result = state
        .blobs
        .write_stream(key, stream.as_mut(), limit, expected)
        .await;
    match result {
        Ok(written) => Ok(written.size),
        Err(WriteError::TooLarge(limit)) => {
            drain(stream.as_mut()).await;
            Err(too_large(limit))
        }
        Err(WriteError::Empty) => Err(ApiError::invalid("body", "must not be empty")),
        Err(WriteError::HashMismatch) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "content-hash-mismatch",
            "the body's SHA-256 is not the declared content hash",
        )),
        Err(WriteError::Body(e)) => Err(ApiError::bad_request("body-read-failed", e)),
        Err(WriteError::Store(e)) => Err(ApiError::internal(e)),
    }
}

/// `POST /v1/files`: checks the metadata and the caller's participation,
/// streams the body to `encrypted/{year}/{month}/{id}.enc`, then inserts the
/// row. Refused or failed, it leaves neither object nor row.
pub async fn upload(
    state: &AppState,
    auth: &Auth,
    metadata: Option<&str>,
    upload: Upload<'_>,
) -> ApiResult<FileInfo> {
    let (meta, sealed_key) = parse_upload(metadata)?;
    require_participant(state, auth.user_id, meta.conversation_id).await?;
    // Microseconds: what the store keeps, so the answer equals later reads.
    let now = Utc::now().trunc_subsecs(6);
    let id = FileId::new();
    let key = Blobs::file_key(id, now);
    let limit = state.config.max_file_bytes;
    let size = store_body(state, &key, upload, limit, Some(&meta.content_hash)).await?;
    let expires_in = meta.expires_in.and_then(|s| i64::try_from(s).ok());
    let record = FileRecord {
        id,
        uploader_id: auth.user_id,
        conversation_id: meta.conversation_id,
        filename: meta.filename,
        file_size: size,
        mime_type: meta.mime_type,
        storage_path: key.clone(),
        encryption_key_encrypted: sealed_key,
        content_hash: meta.content_hash,
        thumbnail_path: None,
        metadata: meta.metadata,
        expires_at: expires_in.map(|s| now + chrono::Duration::seconds(s)),
        created_at: now,
        deleted_at: None,
    };
    if let Err(e) = state.store.insert_file(&record).await {
        discard(state, &key).await;
        return Err(match e {
            StoreError::Missing(_) => ApiError::not_found("conversation"),
            other => other.into(),
        });
    }
    Ok(wire(&record))
}

/// Deletes an object no row will refer to; a failure is left to the orphan job.
async fn discard(state: &AppState, key: &str) {
    if let Err(e) = state.blobs.delete(key).await {
        tracing::warn!(error = %e, key, "cannot delete an unreferenced object; the orphan job will");
    }
}

/// The file, if it exists, has not expired and the caller is a participant
/// of its conversation (404 otherwise).
async fn visible(state: &AppState, user: UserId, id: FileId) -> ApiResult<FileRecord> {
    let file = state
        .store
        .file(id)
        .await?
        .filter(|f| f.expires_at.is_none_or(|at| at > Utc::now()))
        .ok_or_else(|| ApiError::not_found("file"))?;
    require_participant(state, user, file.conversation_id)
        .await
        .map_err(|_| ApiError::not_found("file"))?;
    Ok(file)
}

/// `GET /v1/files/{id}`.
pub async fn info(state: &AppState, auth: &Auth, id: FileId) -> ApiResult<FileInfo> {
    Ok(wire(&visible(state, auth.user_id, id).await?))
}

/// `GET /v1/files/{id}/content` and `/thumbnail`, with an optional `Range`.
pub async fn download(
    state: &AppState,
    auth: &Auth,
    id: FileId,
    part: Part,
    range: Option<&str>,
) -> ApiResult<Download> {
    let file = visible(state, auth.user_id, id).await?;
    let (key, total, etag) = match part {
        Part::Content => (file.storage_path, file.file_size, Some(file.content_hash)),
        Part::Thumbnail => {
            let key = file
                .thumbnail_path
                .ok_or_else(|| ApiError::not_found("thumbnail"))?;
            let size = state
                .blobs
                .size(&key)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::not_found("thumbnail"))?;
            (key, size, None)
        }
    };
    let range = match range.map(|r| parse_range(r, total)) {
        None | Some(RangeRequest::Ignored) => None,
        Some(RangeRequest::Unsatisfiable) => return Ok(Download::Unsatisfiable { total }),
        Some(RangeRequest::Bytes(r)) => Some(r),
    };
    let stream = state
        .blobs
        .read(&key, range.clone())
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => ApiError::not_found("file"),
            other => ApiError::internal(other),
        })?;
    Ok(Download::Bytes {
        range,
        total,
        etag,
        stream,
    })
}

/// `PUT /v1/files/{id}/thumbnail`: the uploader stores (or replaces) the
/// encrypted thumbnail; `expected` is the optional `Zynk-Content-Hash`.
pub async fn put_thumbnail(
    state: &AppState,
    auth: &Auth,
    id: FileId,
    expected: Option<&str>,
    upload: Upload<'_>,
) -> ApiResult<FileInfo> {
    let file = visible(state, auth.user_id, id).await?;
    if file.uploader_id != auth.user_id {
        return Err(forbidden("only the uploader may set the thumbnail"));
    }
    if expected.is_some_and(|h| !is_sha256_hex(h)) {
        return Err(ApiError::invalid(
            "Zynk-Content-Hash",
            "must be 64 lowercase hex characters (SHA-256)",
        ));
    }
    let key = Blobs::thumbnail_key(id, file.created_at);
    let limit = state.config.max_thumbnail_bytes;
    store_body(state, &key, upload, limit, expected).await?;
    match state.store.set_file_thumbnail(id, &key).await? {
        Some(updated) => Ok(wire(&updated)),
        None => {
            discard(state, &key).await;
            Err(ApiError::not_found("file"))
        }
    }
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

/// `DELETE /v1/files/{id}`: the uploader, or an admin of the group. The row
/// goes first (the file stops being served), then its objects; an object
/// that cannot be deleted now is left to the orphan job.
pub async fn delete(state: &AppState, auth: &Auth, id: FileId) -> ApiResult<()> {
    let file = visible(state, auth.user_id, id).await?;
    if file.uploader_id != auth.user_id {
        let is_admin = state
            .store
            .participants(file.conversation_id)
            .await?
            .iter()
            .any(|p| p.user_id == auth.user_id && p.role == Role::Admin);
        if !is_admin {
            return Err(forbidden(
                "only the uploader or a group admin may delete a file",
            ));
        }
    }
    if state.store.delete_files(&[id]).await? == 0 {
        return Err(ApiError::not_found("file"));
    }
    discard(state, &file.storage_path).await;
    if let Some(thumb) = &file.thumbnail_path {
        discard(state, thumb).await;
    }
    Ok(())
}

/// What a `Range` header asks for, against an object of `total` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// One satisfiable range (end exclusive).
    Bytes(Range<u64>),
    /// Not one well-formed byte range (or several): served whole (RFC 9110
    /// lets a server ignore such a header).
    Ignored,
    /// Well-formed but outside the object: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2).
pub fn parse_range(header: &str, total: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match number(last) {
            None => RangeRequest::Ignored,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Bytes(total.saturating_sub(n)..total),
        },
        (false, _) => {
            let Some(start) = number(first) else {
                return RangeRequest::Ignored;
            };
            let end = if last.is_empty() {
                total
            } else {
                match number(last) {
                    Some(l) if l >= start => l.saturating_add(1).min(total),
                    _ => return RangeRequest::Ignored,
                }
            };
            if start >= total {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Bytes(start..end)
            }
        }
        (true, true) => RangeRequest::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Bytes(0..10));
        assert_eq!(parse_range("bytes=90-200", 100), Bytes(90..100));
        assert_eq!(parse_range("bytes=10-", 100), Bytes(10..100));
        assert_eq!(parse_range("bytes=-30", 100), Bytes(70..100));
        assert_eq!(parse_range("bytes=-300", 100), Bytes(0..100));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-2", 100), Ignored);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ignored);
        assert_eq!(parse_range("items=0-1", 100), Ignored);
        assert_eq!(parse_range("bytes=x-1", 100), Ignored);
    }
}
