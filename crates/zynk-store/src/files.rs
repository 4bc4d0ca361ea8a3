//! Encrypted files (data model §2.4): one row per uploaded ciphertext,
//! naming its object (`storage_path`) and, once uploaded, its thumbnail's
//! (`thumbnail_path`). The objects themselves live in the server's blob
//! storage; this store only knows their keys. `Store` requires `FileStore`,
//! so `Arc<dyn Store>` offers it.
//!
//! Its SQL is in `files_queries.rs`, its methods and rows in the
//! `impl_files!` macro of `files_impl.rs` that each backend expands.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zynk_proto::{ConversationId, FileId, UserId};

use crate::Result;

/// A row of `files`.
#[derive(Clone, PartialEq)]
pub struct FileRecord {
    pub id: FileId,
    pub uploader_id: UserId,
    pub conversation_id: ConversationId,
    pub filename: String,
    /// Bytes of ciphertext (1 to 2 GiB).
    pub file_size: u64,
    pub mime_type: String,
    /// The object key of the ciphertext (unique).
    pub storage_path: String,
    /// The file key sealed for the uploader; opaque.
    pub encryption_key_encrypted: Vec<u8>,
    /// Lowercase hex SHA-256 of the ciphertext.
    pub content_hash: String,
    pub thumbnail_path: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for FileRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRecord")
            .field("id", &self.id)
            .field("conversation_id", &self.conversation_id)
            .field("file_size", &self.file_size)
            .field("storage_path", &self.storage_path)
            .field("thumbnail_path", &self.thumbnail_path)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait FileStore: Send + Sync {
    /// Inserts a file row (`thumbnail_path` and `deleted_at` are ignored).
    /// `Missing("conversation")` when the conversation or the uploader is
    /// gone; `Conflict("storage_path")` when the key is taken.
    async fn insert_file(&self, file: &FileRecord) -> Result<()>;
    /// The file, unless deleted (expired ones included: callers decide).
    async fn file(&self, id: FileId) -> Result<Option<FileRecord>>;
    /// Sets the thumbnail's object key; the updated row, or `None` if the
    /// file does not exist (any more).
    async fn set_file_thumbnail(&self, id: FileId, path: &str) -> Result<Option<FileRecord>>;
    /// Deletes the rows; returns how many existed.
    async fn delete_files(&self, ids: &[FileId]) -> Result<u64>;
    /// Up to `limit` files whose `expires_at` is at or before `now`, the
    /// longest expired first.
    async fn expired_files(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<FileRecord>>;
    /// The rows of those ids that exist (any order).
    async fn files_by_ids(&self, ids: &[FileId]) -> Result<Vec<FileRecord>>;
    /// The conversation's files (expired ones included), oldest first.
    async fn conversation_files(&self, conversation: ConversationId) -> Result<Vec<FileRecord>>;
}
