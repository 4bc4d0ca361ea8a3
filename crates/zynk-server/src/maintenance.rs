//! Periodic housekeeping inside `zynkd`: future `messages` partitions,
//! sessions past their refresh lifetime, stale presence entries. Every task
//! is idempotent, so several instances may run it at once.

use std::time::Duration;

use chrono::Utc;

use crate::state::AppState;

/// One maintenance pass; each task's outcome is logged with counts.
pub async fn run_once(state: &AppState) {
    let now = Utc::now();
    match state.store.maintain_partitions(now).await {
        Ok(r) => {
            tracing::info!(manager = r.manager, created = ?r.created, "maintenance: partitions")
        }
        Err(e) => tracing::error!(error = %e, "maintenance: partitions failed"),
    }
    match state.store.purge_expired_sessions(now).await {
        Ok(n) => tracing::info!(deleted = n, "maintenance: expired sessions"),
        Err(e) => tracing::error!(error = %e, "maintenance: session purge failed"),
    }
    match state
        .realtime
        .presence_prune(now - chrono::Duration::days(1))
        .await
    {
        Ok(n) => tracing::info!(pruned = n, "maintenance: presence"),
        Err(e) => tracing::error!(error = %e, "maintenance: presence prune failed"),
    }
}

/// Runs `run_once` every `maintenance_interval_secs` until the task is dropped.
pub async fn run_forever(state: AppState) {
    let mut tick =
        tokio::time::interval(Duration::from_secs(state.config.maintenance_interval_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // start-up already prepared partitions
    loop {
        tick.tick().await;
        run_once(&state).await;
    }
}
