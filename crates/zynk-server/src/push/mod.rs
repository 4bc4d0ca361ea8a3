//! Push notifications: wake a device that is not connected when a message,
//! device message or call arrives for it.
//!
//! - The hook points (`ops::messages::send`, `ops::delivery::send_device_messages`,
//!   `ops::calls::create`) call `notify_users`/`notify_devices` after the
//!   commit. Those return at once: a background task reads the targets
//!   (devices with a push token, `zynk_store::PushStore`), drops the ones
//!   with a live `device_online:{id}` marker (`Realtime::devices_connected`;
//!   set by every instance for its WebSocket connections), and queues the
//!   rest on the `Pusher`.
//! - The `Pusher`'s queue is bounded; when it is full a push is dropped with
//!   a warning (the message itself is in the store either way).
//! - Its worker coalesces per device: within `push_coalesce_ms` of a push to
//!   a device, further pushes to it are dropped (a call still goes through
//!   after a message push) — the woken app catches up on everything.
//! - Each push is sent in its own task (at most `CONCURRENCY` at once) by the
//!   sender for the device's platform (`fcm`, `apns`, `webpush`), retried on
//!   transient failures (network, 5xx, 429 with `Retry-After`) with
//!   exponential backoff; a token the service calls invalid is cleared in
//!   the store (`clear_push_token`, only if unchanged).
//! - The payload carries no content: `{"type": "message"|"device_message"|"call", "v": 1}`.

mod apns;
mod fcm;
pub mod jwt;
mod senders;
mod webpush;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use zynk_proto::{DeviceId, UserId};
use zynk_store::{PushTarget, Store};

use crate::config::Config;
use crate::state::AppState;

pub use senders::{Outcome, Senders};

/// Pushes waiting for the worker, at most.
pub const QUEUE: usize = 10_000;
/// Pushes being sent at once, at most.
pub const CONCURRENCY: usize = 64;
/// Tries per push (the first one included).
pub const MAX_TRIES: u32 = 5;
/// The first retry's delay; each further one doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What woke the device; the only thing a push says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    DeviceMessage,
    Message,
    Call,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::DeviceMessage => "device_message",
            Kind::Call => "call",
        }
    }
}

/// One push to send.
#[derive(Clone, Debug)]
pub struct Job {
    pub target: PushTarget,
    pub kind: Kind,
}

/// The push queue (cheap to clone).
#[derive(Clone)]
pub struct Pusher {
    tx: mpsc::Sender<Job>,
}

impl Pusher {
    /// Builds the senders from `config` (reading their keys) and starts the
    /// worker. A sender without configuration is off (logged once).
    pub fn start(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let senders = Arc::new(Senders::from_config(config)?);
        let (tx, rx) = mpsc::channel(QUEUE);
        let window = Duration::from_millis(config.push_coalesce_ms);
        tokio::spawn(worker(rx, senders, store, window));
        Ok(Self { tx })
    }

    /// Queues a push; drops it (with a warning) when the queue is full.
    pub fn enqueue(&self, job: Job) {
        if let Err(e) = self.tx.try_send(job) {
            tracing::warn!(error = %e, "push queue full or closed; push dropped");
        }
    }
}

/// Pushes `kind` to the devices of `users` (except `except_device`) that are
/// not connected. Returns at once; the work runs in the background.
pub fn notify_users(
    state: &AppState,
    users: Vec<UserId>,
    except_device: Option<DeviceId>,
    kind: Kind,
) {
    if users.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let targets = state.store.push_targets(&users, except_device).await;
        enqueue_offline(&state, targets, kind).await;
    });
}

/// Pushes `kind` to those of `devices` that are not connected. Returns at once.
pub fn notify_devices(state: &AppState, devices: Vec<DeviceId>, kind: Kind) {
    if devices.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let targets = state.store.push_targets_for_devices(&devices).await;
        enqueue_offline(&state, targets, kind).await;
    });
}

async fn enqueue_offline(
    state: &AppState,
    targets: zynk_store::Result<Vec<PushTarget>>,
    kind: Kind,
) {
    let targets = match targets {
        Ok(t) if t.is_empty() => return,
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read push targets");
            return;
        }
    };
    let ids: Vec<uuid::Uuid> = targets.iter().map(|t| t.device_id.0).collect();
    let connected = match state.realtime.devices_connected(&ids).await {
        Ok(c) => c,
        Err(e) => {
            // Unknown: a spurious wake-up is better than a missed one.
            tracing::warn!(error = %e, "cannot read device markers; pushing to all");
            Vec::new()
        }
    };
    for target in targets {
        if !connected.contains(&target.device_id.0) {
            state.pusher.enqueue(Job { target, kind });
        }
    }
}

/// Coalesces per device and hands each push to its own sending task.
async fn worker(
    mut rx: mpsc::Receiver<Job>,
    senders: Arc<Senders>,
    store: Arc<dyn Store>,
    window: Duration,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    // Device → when it was last pushed and with what.
    let mut recent: HashMap<DeviceId, (Instant, Kind)> = HashMap::new();
    while let Some(job) = rx.recv().await {
        let now = Instant::now();
        if recent.len() > 10_000 {
            recent.retain(|_, (at, _)| now.duration_since(*at) < window);
        }
        if let Some((at, kind)) = recent.get(&job.target.device_id)
            && now.duration_since(*at) < window
            && (*kind == Kind::Call || job.kind != Kind::Call)
        {
            tracing::debug!(device = %job.target.device_id, "push coalesced");
            continue;
        }
        recent.insert(job.target.device_id, (now, job.kind));
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (senders, store) = (senders.clone(), store.clone());
        tokio::spawn(async move {
            deliver(&senders, store.as_ref(), job).await;
            drop(permit);
        });
    }
}

/// Sends one push with retries; clears an invalid token.
async fn deliver(senders: &Senders, store: &dyn Store, job: Job) {
    let device = job.target.device_id;
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_TRIES {
        match senders.send(&job.target, job.kind).await {
            Outcome::Sent => {
                tracing::debug!(%device, kind = job.kind.as_str(), "push sent");
                return;
            }
            Outcome::Skipped => return,
            Outcome::InvalidToken => {
                tracing::info!(%device, "push token rejected by the push service; removing it");
                if let Err(e) = store.clear_push_token(device, &job.target.push_token).await {
                    tracing::warn!(error = %e, %device, "cannot clear push token");
                }
                return;
            }
            Outcome::Failed(why) => {
                tracing::warn!(%device, %why, "push failed");
                return;
            }
            Outcome::Retry { why, after } if attempt < MAX_TRIES => {
                let delay = after.map_or(backoff, |a| a.min(MAX_RETRY_AFTER));
                tracing::debug!(%device, %why, attempt, ?delay, "push failed; retrying");
                tokio::time::sleep(delay).await;
                backoff *= 2;
            }
            Outcome::Retry { why, .. } => {
                tracing::warn!(%device, %why, tries = MAX_TRIES, "push failed; giving up");
            }
        }
    }
}
