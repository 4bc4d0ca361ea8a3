//! The message lifecycle scheduler (data model §8.1) and presence heartbeats.
//!
//! Lifecycle: every `lifecycle_interval_secs`, the instance holding the
//! `lock:lifecycle` lease (one at a time across instances; in-process when
//! embedded) removes self-destructed messages, undelivered ones past their
//! retention, soft-deleted ones past theirs, and old device messages, and
//! logs the counts.

use std::time::Duration;

use chrono::Utc;

use crate::state::AppState;

/// How often connected users are re-marked online in `online_users`.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// Lifetime of a device's `device_online:{id}` marker (three heartbeats).
pub const DEVICE_ONLINE_TTL: Duration = Duration::from_secs(90);

/// One lifecycle pass if this instance holds the lease; returns whether it ran.
pub async fn run_once(state: &AppState) -> bool {
    let interval = Duration::from_secs(state.config.lifecycle_interval_secs);
    match state
        .realtime
        .try_lease("lifecycle", &state.instance, interval * 2)
        .await
    {
        Ok(true) => {}
        Ok(false) => return false,
        Err(e) => {
            tracing::warn!(error = %e, "lifecycle lease unavailable");
            return false;
        }
    }
    let now = Utc::now();
    let days = |d: u32| chrono::Duration::days(i64::from(d));
    let result = state
        .store
        .run_lifecycle(
            now,
            now - days(state.config.undelivered_retention_days),
            now - days(state.config.deleted_retention_days),
            now - chrono::Duration::days(30),
        )
        .await;
    match result {
        Ok(r) => tracing::info!(
            expired = r.expired,
            undelivered = r.undelivered,
            purged_deleted = r.purged_deleted,
            device_messages = r.device_messages,
            "lifecycle run"
        ),
        Err(e) => tracing::error!(error = %e, "lifecycle run failed"),
    }
    true
}

/// Runs the scheduler until dropped.
pub async fn run_forever(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(state.config.lifecycle_interval_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        run_once(&state).await;
    }
}

/// Re-marks this instance's connected users online and renews its connected
/// devices' markers (`DEVICE_ONLINE_TTL`), in one sweep per `HEARTBEAT` (no
/// per-connection timers, no database work).
pub async fn heartbeat(state: AppState) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let now = Utc::now();
        for user in state.hub.users() {
            if let Err(e) = state.realtime.presence_touch(user, now).await {
                tracing::warn!(error = %e, "presence heartbeat failed");
                break;
            }
        }
        for device in state.hub.devices() {
            if let Err(e) = state
                .realtime
                .device_connected(device.0, DEVICE_ONLINE_TTL)
                .await
            {
                tracing::warn!(error = %e, "device marker heartbeat failed");
                break;
            }
        }
    }
}
