//! The file lifecycle (data model §8.2), run by the instance holding each
//! job's lease (`lock:files-expiry`, `lock:files-orphans`):
//!
//! - **expiry** (daily, `files_expiry_interval_secs`): files whose
//!   `expires_at` has passed lose their objects, then their rows. A crash in
//!   between leaves a row that is never served (it has expired) and is
//!   finished by the next run.
//! - **orphans** (weekly, `files_orphan_interval_secs`): objects that no row
//!   refers to are deleted — but only those older than
//!   `files_orphan_grace_secs`. An upload's object becomes visible when its
//!   multipart upload completes and its row is inserted right after, so a
//!   young unreferenced object may be an upload in flight, never an old one.
//!
//! Both functions take `now`, so tests run them directly.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use zynk_proto::FileId;

use crate::blobs::Blobs;
use crate::state::AppState;

/// Rows (or objects) handled per store round trip.
const BATCH: u32 = 500;

/// Deletes every file expired at `now` (objects, then rows); returns how
/// many files were deleted.
pub async fn delete_expired(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut deleted = 0;
    loop {
        let batch = state.store.expired_files(now, BATCH).await?;
        if batch.is_empty() {
            return Ok(deleted);
        }
        let mut ids = Vec::with_capacity(batch.len());
        for file in &batch {
            let keys = std::iter::once(&file.storage_path).chain(&file.thumbnail_path);
            let mut gone = true;
            for key in keys {
                if let Err(e) = state.blobs.delete(key).await {
                    tracing::warn!(error = %e, key, "files: cannot delete an expired object");
                    gone = false;
                }
            }
            // A row whose object is still there stays, for the next run.
            if gone {
                ids.push(file.id);
            }
        }
        if ids.is_empty() {
            anyhow::bail!("no expired file could be deleted");
        }
        deleted += state.store.delete_files(&ids).await?;
        if ids.len() < batch.len() {
            return Ok(deleted);
        }
    }
}

/// Deletes objects last written before `now - files_orphan_grace_secs` that
/// no file row refers to; returns how many.
pub async fn delete_orphans(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let grace = i64::try_from(state.config.files_orphan_grace_secs).unwrap_or(i64::MAX);
    let cutoff = now - chrono::Duration::seconds(grace);
    let mut objects = state.blobs.older_than(cutoff).chunks(BATCH as usize);
    let mut deleted = 0;
    while let Some(chunk) = objects.next().await {
        let chunk: Vec<_> = chunk.into_iter().collect::<Result<_, _>>()?;
        let ids: Vec<FileId> = chunk
            .iter()
            .filter_map(|o| Blobs::id_of_key(&o.key))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let referenced: HashSet<String> = state
            .store
            .files_by_ids(&ids)
            .await?
            .into_iter()
            .flat_map(|f| std::iter::once(f.storage_path).chain(f.thumbnail_path))
            .collect();
        for object in chunk.iter().filter(|o| !referenced.contains(&o.key)) {
            match state.blobs.delete(&object.key).await {
                Ok(()) => deleted += 1,
                Err(e) => {
                    tracing::warn!(error = %e, key = object.key, "files: cannot delete an orphan")
                }
            }
        }
    }
    Ok(deleted)
}

/// Runs `job` every `every` while this instance holds the lease `name`.
async fn scheduled<F, Fut>(state: AppState, name: &'static str, every: Duration, job: F)
where
    F: Fn(AppState) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u64>>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .realtime
            .try_lease(name, &state.instance, every.saturating_mul(2))
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, job = name, "files: lease unavailable");
                continue;
            }
        }
        match job(state.clone()).await {
            Ok(n) => tracing::info!(job = name, deleted = n, "files job run"),
            Err(e) => tracing::error!(error = format!("{e:#}"), job = name, "files job failed"),
        }
    }
}

/// Runs both jobs until dropped.
pub async fn run_forever(state: AppState) {
    let expiry = Duration::from_secs(state.config.files_expiry_interval_secs);
    let orphans = Duration::from_secs(state.config.files_orphan_interval_secs);
    tokio::join!(
        scheduled(state.clone(), "files-expiry", expiry, |s| async move {
            delete_expired(&s, Utc::now()).await
        }),
        scheduled(state, "files-orphans", orphans, |s| async move {
            delete_orphans(&s, Utc::now()).await
        }),
    );
}
