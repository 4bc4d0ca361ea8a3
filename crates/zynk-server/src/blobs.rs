//! `Blobs`: where file ciphertexts and thumbnails live, through the
//! `object_store` crate — the directory `{data_dir}/files` by default, any
//! S3-compatible store by configuration (`s3_bucket`, `s3_endpoint`, …),
//! asked for server-side encryption (AES-256).
//!
//! Keys follow the data model §6.1: `encrypted/{year}/{month}/{file_id}.enc`
//! and `thumbnails/{year}/{month}/{file_id}_thumb.jpg`, under
//! `files_key_prefix` when set.
//!
//! Writes stream: a body goes out in 5 MiB parts of a multipart upload (at
//! most two in flight), hashed and counted on the way, and the object
//! appears under its key only when the upload completes — after the size and
//! hash have been checked. A refused body aborts the upload, leaving nothing.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Utc};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart,
};
use sha2::{Digest, Sha256};
use zynk_proto::FileId;

use crate::config::Config;

/// Bytes per multipart part (S3's minimum is 5 MiB).
const PART_SIZE: usize = 5 << 20;
/// Parts uploading at once; with `PART_SIZE` this bounds an upload's memory.
const PARTS_IN_FLIGHT: usize = 2;

/// Why a streamed write stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("body is over {0} bytes")]
    TooLarge(u64),
    #[error("body is empty")]
    Empty,
    #[error("body does not match its SHA-256")]
    HashMismatch,
    #[error("reading the request body failed: {0}")]
    Body(String),
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
}

/// What a completed write stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// An object older than some cutoff (see [`Blobs::older_than`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub last_modified: DateTime<Utc>,
}

/// The blob storage of files and thumbnails.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// `local` or `s3`, for logs.
    pub kind: &'static str,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("kind", &self.kind).finish()
    }
}

impl Blobs {
    /// The store the configuration names (see the module documentation).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (store, kind): (Arc<dyn ObjectStore>, _) = match &config.s3_bucket {
            None => {
                let dir = config.data_dir.join("files");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let local = LocalFileSystem::new_with_prefix(&dir)
                    .with_context(|| format!("cannot use {}", dir.display()))?
                    .with_automatic_cleanup(true);
                (Arc::new(local), "local")
            }
            Some(bucket) => {
                // No overall request timeout: a download streams for as long
                // as the client reads. Connecting still times out.
                let options = ClientOptions::new()
                    .with_timeout_disabled()
                    .with_connect_timeout(Duration::from_secs(10));
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(&config.s3_region)
                    .with_client_options(options);
                if let Some(endpoint) = &config.s3_endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if config.s3_server_side_encryption == "AES256" {
                    // `x-amz-server-side-encryption: AES256` on every write.
                    let key: AmazonS3ConfigKey = "aws_server_side_encryption".parse()?;
                    builder = builder.with_config(key, "AES256");
                }
                let s3 = builder.build().context("invalid S3 configuration")?;
                (Arc::new(s3), "s3")
            }
        };
        let store = if config.files_key_prefix.is_empty() {
            store
        } else {
            Arc::new(PrefixStore::new(store, config.files_key_prefix.as_str()))
        };
        Ok(Self { store, kind })
    }

    /// `encrypted/{year}/{month}/{file_id}.enc` (month of `at`, two digits).
    pub fn file_key(id: FileId, at: DateTime<Utc>) -> String {
        format!("encrypted/{:04}/{:02}/{id}.enc", at.year(), at.month())
    }

    /// `thumbnails/{year}/{month}/{file_id}_thumb.jpg`.
    pub fn thumbnail_key(id: FileId, at: DateTime<Utc>) -> String {
        format!(
            "thumbnails/{:04}/{:02}/{id}_thumb.jpg",
            at.year(),
            at.month()
        )
    }

    /// The file id a key of either kind names (`None` for foreign keys).
    pub fn id_of_key(key: &str) -> Option<FileId> {
        let name = key.rsplit('/').next()?;
        let stem = name
            .strip_suffix(".enc")
            .or_else(|| name.strip_suffix("_thumb.jpg"))?;
        stem.parse().ok()
    }

    /// Streams `body` to `key`: refuses (storing nothing) a body over
    /// `limit` bytes, an empty one, or one whose SHA-256 is not
    /// `expected_sha256` (when given).
    pub async fn write_stream<S, E>(
        &self,
        key: &str,
        body: S,
        limit: u64,
        expected_sha256: Option<&str>,
    ) -> Result<Written, WriteError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let path = Path::from(key);
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        match feed(&mut writer, body, limit).await {
            Ok((size, sha256)) => {
                let refused = if size == 0 {
                    Some(WriteError::Empty)
                } else if expected_sha256.is_some_and(|h| h != sha256) {
                    Some(WriteError::HashMismatch)
                } else {
                    None
                };
                if let Some(e) = refused {
                    abort(writer, key).await;
                    return Err(e);
                }
                if let Err(e) = writer.finish().await {
                    // `finish` aborts on failure; make sure nothing is left.
                    self.delete(key).await.ok();
                    return Err(e.into());
                }
                Ok(Written { size, sha256 })
            }
            Err(e) => {
                abort(writer, key).await;
                Err(e)
            }
        }
    }

    /// The object's size, or `None` if it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, object_store::Error> {
        match self.store.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams the object, or the byte `range` of it, without buffering it.
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, object_store::Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Path::from(key), options).await?;
        Ok(result.into_stream())
    }

    /// Deletes the object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every object of ours (files and thumbnails) last written before
    /// `cutoff`, as a stream.
    pub fn older_than(
        &self,
        cutoff: DateTime<Utc>,
    ) -> BoxStream<'static, Result<StoredObject, object_store::Error>> {
        let lists = ["encrypted", "thumbnails"].map(|p| self.store.list(Some(&Path::from(p))));
        futures_util::stream::iter(lists)
            .flatten()
            .try_filter_map(move |meta| async move {
                Ok((meta.last_modified < cutoff).then(|| StoredObject {
                    key: meta.location.to_string(),
                    last_modified: meta.last_modified,
                }))
            })
            .boxed()
    }
}

/// Hashes, counts and writes the body; stops at the first byte over `limit`.
async fn feed<S, E>(
    writer: &mut WriteMultipart,
    body: S,
    limit: u64,
) -> Result<(u64, String), WriteError>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| WriteError::Body(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(WriteError::TooLarge(limit));
        }
        hasher.update(&chunk);
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.put(chunk);
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, sha256))
}

async fn abort(writer: WriteMultipart, key: &str) {
    if let Err(e) = writer.abort().await {
        tracing::warn!(error = %e, key, "cannot abort a refused upload; the orphan job will remove it");
    }
}
