//! Realtime state: the data model's §4 structures behind one trait.
//!
//! Layout:
//! - `lib.rs`     — the `Realtime` trait, `Ttls`, `RealtimeError`.
//! - `memory.rs`  — the in-process backend (embedded default).
//! - `redis.rs`   — the Redis backend (several `zynkd` share one Redis).
//! - `connect`    — picks the backend: no Redis URL → memory, else Redis.
//!
//! Besides the §4 structures, the trait carries what several instances need
//! to cooperate: `publish`/`subscribe` (an event bus every instance hears,
//! Redis channel `{prefix}events`) and `try_lease` (`lock:{name}`, so one
//! instance at a time runs a singleton job such as the lifecycle scheduler).
//!
//! Key names (Redis) are a contract shared with operators' tooling:
//! `session:{token_hash}`, `online_users`, `typing:{conversation_id}:{user_id}`,
//! `queue:messages:{recipient}`, `locations` (+ `locations:expiry`, and
//! `location:{member}` for what a GEO index cannot hold),
//! `user:{user_id}`, `group_members:{group_id}`, `ratelimit:{ip}:{endpoint}`,
//! `lock:{name}`, `device_online:{device_id}` (a per-device connection
//! marker, `"1"` with a lifetime, refreshed while a WebSocket of that device
//! is open on some instance; push notifications go only to devices without
//! one), and the pub/sub channel `events`.
//! A `group_members` set always holds the sentinel member `""` (never a user
//! id) so that a cached *empty* group still exists as a key and is told apart
//! from a miss.
//!
//! Architecture invariant: nothing here is the source of truth. Everything
//! can be lost (FLUSHALL, restart) and rebuilt from the relational store;
//! callers must treat a miss as "ask the store".

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::UserId;

mod memory;
mod redis;

pub use crate::memory::MemoryRealtime;
pub use crate::redis::RedisRealtime;

/// The realtime backend for a deployment: in-process without a Redis URL
/// (embedded single instance), Redis (key prefix `""`) with one.
pub async fn connect(redis_url: Option<&str>, ttls: Ttls) -> Result<Arc<dyn Realtime>> {
    match redis_url {
        None => {
            tracing::info!("realtime state: in-process");
            Ok(Arc::new(MemoryRealtime::new(ttls)))
        }
        Some(url) => {
            let realtime = RedisRealtime::connect(url, ttls, "").await?;
            tracing::info!("realtime state: redis");
            Ok(Arc::new(realtime))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("invalid redis url: {0}")]
    Url(String),
    /// Outside what a Redis GEO index accepts (longitude ±180, latitude
    /// ±85.05112878, finite); both backends reject it the same way.
    #[error("invalid position: longitude {longitude}, latitude {latitude}")]
    InvalidPosition { longitude: f64, latitude: f64 },
}

pub type Result<T, E = RealtimeError> = std::result::Result<T, E>;

/// Lifetimes of the §4 structures. `Ttls::default()` is the data model's;
/// tests of the Redis backend shorten them instead of sleeping for minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttls {
    /// `session:{…}` — 30 days (callers may pass a shorter one per key).
    pub session: Duration,
    /// `typing:{conversation_id}:{user_id}` — 5 s.
    pub typing: Duration,
    /// A member of `locations` — 5 min.
    pub location: Duration,
    /// `user:{user_id}` — 1 h.
    pub user_cache: Duration,
    /// `group_members:{group_id}` — 10 min.
    pub group_members: Duration,
    /// `ratelimit:{ip}:{endpoint}` — the 1 h window.
    pub rate_window: Duration,
}

impl Default for Ttls {
    fn default() -> Self {
        Self {
            session: Duration::from_secs(2_592_000),
            typing: Duration::from_secs(5),
            location: Duration::from_secs(300),
            user_cache: Duration::from_secs(3600),
            group_members: Duration::from_secs(600),
            rate_window: Duration::from_secs(3600),
        }
    }
}

/// The result of counting one request against a rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateDecision {
    /// Requests counted in the current window, this one included.
    pub count: u64,
    /// Whether this request is within the limit.
    pub allowed: bool,
    /// Time until the window resets (for `Retry-After`).
    pub reset_in: Duration,
}

/// A live position in `locations`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    pub longitude: f64,
    pub latitude: f64,
}

impl Position {
    /// Redis GEO's latitude limit (Web Mercator).
    pub const MAX_LATITUDE: f64 = 85.051_128_78;

    /// Whether a Redis GEO index accepts this position.
    pub fn check(self) -> Result<Self> {
        let ok = (-180.0..=180.0).contains(&self.longitude)
            && (-Self::MAX_LATITUDE..=Self::MAX_LATITUDE).contains(&self.latitude);
        if ok {
            Ok(self)
        } else {
            Err(RealtimeError::InvalidPosition {
                longitude: self.longitude,
                latitude: self.latitude,
            })
        }
    }
}

/// Capacity of the `subscribe` channels: a receiver that falls this far
/// behind gets `RecvError::Lagged`.
pub const EVENT_CAPACITY: usize = 65_536;

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A payload published by some instance (this one included).
    Message(Arc<str>),
    /// Events may have been lost (subscription reconnected, or this receiver
    /// lagged): consumers must resynchronise from the store.
    Resync,
}

/// Whole milliseconds of a lifetime, as both backends count them.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The §4 structures. Every method is a single round trip (or an atomic
/// script) on Redis; nothing blocks on another caller.
#[async_trait]
pub trait Realtime: Send + Sync + 'static {
    /// `"memory"` or `"redis"`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<()>;

    // §4.1 `session:{token_hash}` → `{user_id}:{device_id}`
    /// Stores the entry for `min(ttl, Ttls::session)`.
    async fn session_put(&self, token_hash: &str, value: &str, ttl: Duration) -> Result<()>;
    async fn session_get(&self, token_hash: &str) -> Result<Option<String>>;
    async fn session_del(&self, token_hashes: &[String]) -> Result<()>;

    // §4.2 sorted set `online_users`, score = unix time in milliseconds
    async fn presence_touch(&self, user: UserId, at: DateTime<Utc>) -> Result<()>;
    async fn presence_remove(&self, user: UserId) -> Result<()>;
    /// Those of `users` whose last touch is at or after `since`.
    async fn presence_online(&self, users: &[UserId], since: DateTime<Utc>) -> Result<Vec<UserId>>;
    /// Removes members last touched before `before`; returns how many.
    async fn presence_prune(&self, before: DateTime<Utc>) -> Result<u64>;

    // §4.3 `typing:{conversation_id}:{user_id}` → "1" for `Ttls::typing`
    async fn typing_set(&self, conversation: Uuid, user: UserId) -> Result<()>;
    /// Those of `candidates` (the conversation's participants) typing now.
    async fn typing_users(&self, conversation: Uuid, candidates: &[UserId]) -> Result<Vec<UserId>>;

    // §4.4 list `queue:messages:{recipient}` of JSON strings, oldest first
    /// Appends; returns the new length.
    async fn queue_push(&self, recipient: &str, item: &str) -> Result<u64>;
    /// Up to `max` items from the head, without removing them.
    async fn queue_peek(&self, recipient: &str, max: usize) -> Result<Vec<String>>;
    /// Removes every occurrence of `item`.
    async fn queue_remove(&self, recipient: &str, item: &str) -> Result<()>;
    async fn queue_len(&self, recipient: &str) -> Result<u64>;
    async fn queue_clear(&self, recipient: &str) -> Result<()>;

    // §4.5 geo index `locations`, each member living `Ttls::location`
    /// Adds or refreshes a member's position (and its lifetime);
    /// `RealtimeError::InvalidPosition` if `position.check()` fails.
    async fn location_set(&self, member: &str, position: Position) -> Result<()>;
    /// Positions of the given members; `None` for absent or expired ones.
    async fn location_get(&self, members: &[String]) -> Result<Vec<Option<Position>>>;
    /// Distance in metres between two live members, if both are live.
    async fn location_distance(&self, a: &str, b: &str) -> Result<Option<f64>>;
    /// Removes the member and its details (`location_details_set`).
    async fn location_remove(&self, member: &str) -> Result<()>;
    /// `location:{member}` → `details` (the caller's text, e.g. accuracy and
    /// expiry as JSON) for `Ttls::location`, beside the member's position.
    async fn location_details_set(&self, member: &str, details: &str) -> Result<()>;
    /// The details of the given members; `None` for absent or expired ones.
    async fn location_details_get(&self, members: &[String]) -> Result<Vec<Option<String>>>;

    // §4.6 caches
    /// `user:{user_id}` → JSON for `Ttls::user_cache`.
    async fn user_cache_put(&self, user: UserId, json: &str) -> Result<()>;
    async fn user_cache_get(&self, user: UserId) -> Result<Option<String>>;
    async fn user_cache_del(&self, user: UserId) -> Result<()>;
    /// `group_members:{group_id}` → set of user ids for `Ttls::group_members`.
    async fn group_members_put(&self, group: Uuid, members: &[UserId]) -> Result<()>;
    async fn group_members_get(&self, group: Uuid) -> Result<Option<Vec<UserId>>>;
    async fn group_members_del(&self, group: Uuid) -> Result<()>;
    /// Counts one request in `ratelimit:{ip}:{endpoint}` (fixed window of
    /// `Ttls::rate_window`, starting at the first request) against `limit`.
    async fn rate_limit_hit(&self, ip: &str, endpoint: &str, limit: u64) -> Result<RateDecision>;

    // Cross-instance coordination
    /// Publishes one payload to every instance, this one included (Redis:
    /// `PUBLISH {prefix}events`). Delivery is best effort: a subscriber that
    /// misses events is told so with `Event::Resync`.
    async fn publish(&self, payload: &str) -> Result<()>;
    /// Every event published by any instance from now on, in publication
    /// order per publisher. A receiver that falls `EVENT_CAPACITY` events
    /// behind gets `RecvError::Lagged` from `recv`: treat it exactly like
    /// `Event::Resync` (events were lost; resynchronise from the store).
    /// `RecvError::Closed` means the backend was dropped.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event>;
    /// Takes or renews the lease `lock:{name}` for `owner` for `ttl` (Redis:
    /// one script, `SET NX PX`, or `PEXPIRE` when `owner` already holds it).
    /// True while `owner` holds it; false while someone else does.
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool>;

    // Per-device connection marker `device_online:{device_id}` → "1"
    /// Marks `device` connected (to some instance) for `ttl`; renewed by
    /// calling it again (Redis: `SET … PX`).
    async fn device_connected(&self, device: Uuid, ttl: Duration) -> Result<()>;
    /// Clears the marker (the device's last connection closed).
    async fn device_disconnected(&self, device: Uuid) -> Result<()>;
    /// Those of `devices` whose marker is live, in the given order (Redis:
    /// one `MGET`).
    async fn devices_connected(&self, devices: &[Uuid]) -> Result<Vec<Uuid>>;
}
