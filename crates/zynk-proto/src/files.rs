//! Encrypted files: what an upload declares and what the server tells
//! about a stored file. The server only ever holds ciphertext; the file key
//! travels to the other participants inside an end-to-end encrypted message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ConversationId, FileId, UserId};

/// The request header of `POST /v1/files` holding the [`FileUpload`] as
/// JSON in ASCII (non-ASCII characters as `\uXXXX` escapes). The body is
/// the raw ciphertext (`application/octet-stream`).
pub const FILE_METADATA_HEADER: &str = "zynk-file-metadata";

/// Optional request header of `PUT /v1/files/{id}/thumbnail`: the lowercase
/// hex SHA-256 of the body, checked by the server.
pub const CONTENT_HASH_HEADER: &str = "zynk-content-hash";

/// Shortest and longest `expires_in` (one hour, 30 days).
pub const FILE_EXPIRES_IN_MIN: u64 = 3600;
pub const FILE_EXPIRES_IN_MAX: u64 = 30 * 86_400;

/// The metadata of an upload (`Zynk-File-Metadata` header).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FileUpload {
    pub conversation_id: ConversationId,
    /// 1–255 characters, no control characters.
    pub filename: String,
    /// `type/subtype` of the plaintext, e.g. `image/jpeg`.
    pub mime_type: String,
    /// Lowercase hex SHA-256 of the ciphertext (the request body).
    pub content_hash: String,
    /// The file key sealed for the uploader (opaque to the server), base64.
    pub encryption_key_encrypted: String,
    /// Dimensions, duration, … (a JSON object, ≤ 8 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// Seconds until the file is deleted: 3600 to 2,592,000 (30 days);
    /// absent = kept until deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// A stored file (`GET /v1/files/{id}`, and the answer to an upload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    pub id: FileId,
    pub conversation_id: ConversationId,
    pub uploader_id: UserId,
    pub filename: String,
    /// Bytes of ciphertext.
    pub file_size: u64,
    pub mime_type: String,
    pub content_hash: String,
    /// Base64, as uploaded.
    pub encryption_key_encrypted: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// Whether `GET /v1/files/{id}/thumbnail` has something to serve.
    pub has_thumbnail: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
