//! The SQL text of files (`FileStore`), in the conventions of `queries`:
//! `$n` placeholders, timestamps bound from Rust, one text for both backends.

macro_rules! file_cols {
    () => {
        "id, uploader_id, conversation_id, filename, file_size, mime_type, storage_path, \
         encryption_key_encrypted, content_hash, thumbnail_path, metadata, expires_at, \
         created_at, deleted_at"
    };
}

/// id, uploader, conversation, filename, size, mime type, storage path, key,
/// hash, metadata or NULL, expires at or NULL, now.
pub(crate) const INSERT_FILE: &str = "INSERT INTO files (id, uploader_id, conversation_id, \
     filename, file_size, mime_type, storage_path, encryption_key_encrypted, content_hash, \
     metadata, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// id.
pub(crate) const FILE: &str = concat!(
    "SELECT ",
    file_cols!(),
    " FROM files WHERE id = $1 AND deleted_at IS NULL"
);

/// id, thumbnail path.
pub(crate) const SET_THUMBNAIL: &str = concat!(
    "UPDATE files SET thumbnail_path = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
    file_cols!()
);

/// now, limit.
pub(crate) const EXPIRED_FILES: &str = concat!(
    "SELECT ",
    file_cols!(),
    " FROM files WHERE expires_at IS NOT NULL AND expires_at <= $1 \
     ORDER BY expires_at, id LIMIT $2"
);

/// Followed by a parenthesised list of ids.
pub(crate) const DELETE_FILES_IN: &str = "DELETE FROM files WHERE id IN ";

/// conversation id.
pub(crate) const CONVERSATION_FILES: &str = concat!(
    "SELECT ",
    file_cols!(),
    " FROM files WHERE conversation_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
);

/// Followed by a parenthesised list of ids.
pub(crate) const FILES_IN: &str = concat!("SELECT ", file_cols!(), " FROM files WHERE id IN ");
