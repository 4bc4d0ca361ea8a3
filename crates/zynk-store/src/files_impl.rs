//! `FileStore`, written once and expanded by each backend (as `store_impl`
//! does for `Store`), and the row type it reads.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;
use zynk_proto::{ConversationId, FileId, UserId};

use crate::{FileRecord, StoreError};

#[derive(sqlx::FromRow)]
pub(crate) struct FileRow {
    id: Uuid,
    uploader_id: Uuid,
    conversation_id: Uuid,
    filename: String,
    file_size: i64,
    mime_type: String,
    storage_path: String,
    encryption_key_encrypted: Vec<u8>,
    content_hash: String,
    thumbnail_path: Option<String>,
    metadata: Option<Json<serde_json::Value>>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl TryFrom<FileRow> for FileRecord {
    type Error = StoreError;

    fn try_from(r: FileRow) -> Result<Self, StoreError> {
        Ok(FileRecord {
            id: FileId(r.id),
            uploader_id: UserId(r.uploader_id),
            conversation_id: ConversationId(r.conversation_id),
            filename: r.filename,
            file_size: u64::try_from(r.file_size).map_err(|_| {
                StoreError::Backend(sqlx::Error::Decode("negative file_size".into()))
            })?,
            mime_type: r.mime_type,
            storage_path: r.storage_path,
            encryption_key_encrypted: r.encryption_key_encrypted,
            content_hash: r.content_hash,
            thumbnail_path: r.thumbnail_path,
            metadata: r.metadata.map(|m| m.0),
            expires_at: r.expires_at,
            created_at: r.created_at,
            deleted_at: r.deleted_at,
        })
    }
}

/// Maps the unique violation of `files_storage_path_key` to a conflict and a
/// foreign key violation to `Missing("conversation")`.
pub(crate) fn insert_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict("storage_path");
        }
        if db.is_foreign_key_violation() {
            return StoreError::Missing("conversation");
        }
    }
    StoreError::Backend(err)
}

/// `impl_files!(StoreType, sqlx::Database)` implements `FileStore`.
macro_rules! impl_files {
    ($store:ident, $db:ty) => {
        mod files_impl {
            use chrono::{DateTime, Utc};
            use sqlx::QueryBuilder;
            use sqlx::types::Json;
            use zynk_proto::{ConversationId, FileId};

            use super::$store;
            use $crate::common::micros;
            use $crate::files_impl::{FileRow, insert_error};
            use $crate::files_queries as q;
            use $crate::{FileRecord, FileStore, Result, StoreError};

            /// `(id, id, …)` after `head`; `None` for no ids.
            fn with_ids<'a>(head: &'a str, ids: &[FileId]) -> Option<QueryBuilder<'a, $db>> {
                if ids.is_empty() {
                    return None;
                }
                let mut b = QueryBuilder::new(head);
                b.push("(");
                let mut list = b.separated(", ");
                for id in ids {
                    list.push_bind(id.0);
                }
                b.push(")");
                Some(b)
            }

            fn records(rows: Vec<FileRow>) -> Result<Vec<FileRecord>> {
                rows.into_iter().map(FileRecord::try_from).collect()
            }

            #[async_trait::async_trait]
            impl FileStore for $store {
                async fn insert_file(&self, f: &FileRecord) -> Result<()> {
                    let size = i64::try_from(f.file_size).map_err(|_| {
                        StoreError::Backend(sqlx::Error::Encode("file_size".into()))
                    })?;
                    sqlx::query(q::INSERT_FILE)
                        .bind(f.id.0)
                        .bind(f.uploader_id.0)
                        .bind(f.conversation_id.0)
                        .bind(&f.filename)
                        .bind(size)
                        .bind(&f.mime_type)
                        .bind(&f.storage_path)
                        .bind(&f.encryption_key_encrypted)
                        .bind(&f.content_hash)
                        .bind(f.metadata.as_ref().map(Json))
                        .bind(f.expires_at.map(micros))
                        .bind(micros(f.created_at))
                        .execute(self.writer())
                        .await
                        .map_err(insert_error)?;
                    Ok(())
                }

                async fn file(&self, id: FileId) -> Result<Option<FileRecord>> {
                    let row: Option<FileRow> = sqlx::query_as(q::FILE)
                        .bind(id.0)
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(FileRecord::try_from).transpose()
                }

                async fn set_file_thumbnail(
                    &self,
                    id: FileId,
                    path: &str,
                ) -> Result<Option<FileRecord>> {
                    let row: Option<FileRow> = sqlx::query_as(q::SET_THUMBNAIL)
                        .bind(id.0)
                        .bind(path)
                        .fetch_optional(self.writer())
                        .await?;
                    row.map(FileRecord::try_from).transpose()
                }

                async fn delete_files(&self, ids: &[FileId]) -> Result<u64> {
                    let Some(mut query) = with_ids(q::DELETE_FILES_IN, ids) else {
                        return Ok(0);
                    };
                    let done = query.build().execute(self.writer()).await?;
                    Ok(done.rows_affected())
                }

                async fn expired_files(
                    &self,
                    now: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<FileRecord>> {
                    let rows: Vec<FileRow> = sqlx::query_as(q::EXPIRED_FILES)
                        .bind(micros(now))
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                    records(rows)
                }

                async fn files_by_ids(&self, ids: &[FileId]) -> Result<Vec<FileRecord>> {
                    let Some(mut query) = with_ids(q::FILES_IN, ids) else {
                        return Ok(Vec::new());
                    };
                    let rows: Vec<FileRow> =
                        query.build_query_as().fetch_all(self.reader()).await?;
                    records(rows)
                }

                async fn conversation_files(
                    &self,
                    conversation: ConversationId,
                ) -> Result<Vec<FileRecord>> {
                    let rows: Vec<FileRow> = sqlx::query_as(q::CONVERSATION_FILES)
                        .bind(conversation.0)
                        .fetch_all(self.reader())
                        .await?;
                    records(rows)
                }
            }
        }
    };
}

pub(crate) use impl_files;
