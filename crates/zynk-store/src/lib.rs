//! The relational store: everything Zynk keeps in SQL.
//!
//! Layout:
//! - `lib.rs`      — the `Store` trait, its record types and `StoreError`.
//! - `connect.rs`  — `connect(url)`: picks the backend by the URL's scheme.
//! - `queries.rs`  — the SQL text, one statement for both backends.
//! - `store_impl.rs` — the `Store` methods, written once as a macro that
//!   each backend expands; `common.rs` — row types and error mapping they share.
//! - `messaging.rs` — the `MessagingStore` trait and its records; its SQL is
//!   in `msg_queries.rs`, its rows in `msg_rows.rs`, its methods in the
//!   `msg_*.rs` macros that `msg_impl.rs` assembles for each backend.
//! - `keys.rs` — the `KeyStore` trait (E2EE key distribution) and its
//!   records; its SQL is in `keys_queries.rs`, its methods and rows in
//!   `keys_impl.rs`.
//! - `files.rs` — the `FileStore` trait (encrypted file rows) and its
//!   record; its SQL is in `files_queries.rs`, its methods and rows in
//!   `files_impl.rs`.
//! - `calls.rs` — the `CallStore` trait (calls and their participants) and
//!   its records; its SQL is in `calls_queries.rs`, its methods, rows and
//!   transition rules in `calls_impl.rs`.
//! - `push.rs` — the `PushStore` trait (devices with push tokens, removal
//!   of invalid tokens); its SQL, methods and rows in `push_impl.rs`.
//! - `ledger.rs` — the `LedgerStore` trait (the ledger writer's queue of
//!   pending transactions, the `blockchain_identities` mirror); its SQL,
//!   methods and rows in `ledger_impl.rs`.
//! - `sqlite.rs`   — the embedded backend (default).
//! - `postgres.rs` — the production backend (monthly `messages` partitions,
//!   kept by `postgres/partitions.rs`).
//! - `testing.rs`  — (feature `testing`) fresh databases for tests.
//! - `migrations/{sqlite,postgres}` — one migration folder per backend.
//!
//! Tests: `tests/conformance` runs one suite against SQLite always and
//! against PostgreSQL when `ZYNK_TEST_POSTGRES_URL` is set.
//!
//! Architecture invariant: only this crate contains SQL. It knows nothing of
//! HTTP, tokens or Redis; callers pass hashes of secrets, never secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zynk_proto::{DeviceId, Platform, PrivacySettings, SessionId, UpdateProfile, UserId};

pub mod calls;
mod common;
pub mod files;
pub mod keys;
pub mod ledger;
pub mod messaging;
pub mod push;
pub mod trust;
pub use calls::*;
pub use files::*;
pub use keys::*;
pub use ledger::*;
pub use messaging::*;
pub use push::*;
pub use trust::*;
mod calls_impl;
mod calls_queries;
mod connect;
mod files_impl;
mod files_queries;
mod keys_impl;
mod keys_queries;
mod ledger_impl;
mod msg_conversations;
mod msg_delivery;
mod msg_groups;
mod msg_impl;
mod msg_messages;
mod msg_queries;
mod msg_rows;
mod push_impl;
mod store_impl;
mod trust_impl;
// Backends come after `store_impl`, whose macro they expand.
mod postgres;
pub mod queries;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use connect::connect;

/// Errors of the store. `Conflict` and `NotFound` are expected outcomes the
/// server maps to 409/404; `Backend` is a fault (logged, answered with 500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the field names which (`username`, `fingerprint`, …).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database url: {0}")]
    Url(String),
    /// A referenced row does not exist (`user`, `group`, `device`, …).
    #[error("no such {0}")]
    Missing(&'static str),
    /// A limit would be exceeded (`max_members`).
    #[error("limit reached: {0}")]
    Limit(&'static str),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a store is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A row of `users`.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    /// PHC string (`$pbkdf2-sha256$i=…`).
    pub password_hash: String,
    /// The user's Ed25519 identity key, base64.
    pub public_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("public_key", &self.public_key)
            .finish()
    }
}

/// A new user row (with its empty profile).
#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
    pub public_key: String,
    /// The identity registration to queue for the ledger, in the same
    /// transaction as the user.
    pub ledger_tx: Option<NewLedgerTx>,
}

/// A row of `user_profiles`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRecord {
    pub user_id: UserId,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub privacy_settings: PrivacySettings,
}

/// A row of `devices`.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub user_id: UserId,
    pub name: String,
    pub fingerprint: String,
    pub platform: Platform,
    pub public_key: String,
    pub push_token: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for DeviceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("platform", &self.platform)
            .field(
                "push_token",
                &self.push_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The device a register or login comes from. On login, a device of the same
/// user with the same fingerprint is reused (its name, key and push token are
/// updated); a fingerprint of another user's device is a `Conflict("fingerprint")`.
#[derive(Clone)]
pub struct DeviceSpec {
    /// Id used if a new device row is created.
    pub id: DeviceId,
    pub name: String,
    pub fingerprint: String,
    pub platform: Platform,
    pub public_key: String,
    pub push_token: Option<String>,
}

impl std::fmt::Debug for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSpec")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// `PATCH /v1/devices/{id}`: absent fields stay, `Some(None)` clears the push token.
#[derive(Clone, Debug, Default)]
pub struct DeviceUpdate {
    pub name: Option<String>,
    pub push_token: Option<Option<String>>,
}

/// A row of `sessions`. Tokens are stored only as SHA-256 hex hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub session_token_hash: String,
    pub refresh_token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

/// A new session, or the next token pair of a rotated one.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// Used only when a session is created.
    pub id: SessionId,
    pub session_token_hash: String,
    pub refresh_token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: the session now holds the new pair.
    /// `previous_session_token_hash` is the access token that stopped working.
    Rotated {
        session: SessionRecord,
        previous_session_token_hash: String,
    },
    /// The token had already been rotated away: theft is assumed, and the
    /// whole session has been deleted (returned so caches can be evicted).
    Reused(SessionRecord),
    /// The token was current but its refresh lifetime had passed; the session
    /// has been deleted.
    Expired(SessionRecord),
    /// No session ever had this token.
    Unknown,
}

/// A session listed for its owner, with its device's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionListing {
    pub session: SessionRecord,
    pub device_name: String,
}

/// What `maintain_partitions` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionReport {
    /// `"pg_partman"`, `"zynkd"` or `"none"` (SQLite has no partitions).
    pub manager: &'static str,
    /// Partitions created by this run.
    pub created: Vec<String>,
}

/// The relational store. Every method is one transaction: a failed call
/// leaves nothing half-written. Methods that take a `user` scope the lookup
/// to that user's rows, which is how authorization reaches the data.
#[async_trait]
pub trait Store:
    MessagingStore
    + KeyStore
    + FileStore
    + CallStore
    + PushStore
    + LedgerStore
    + TrustStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    /// Applies this backend's migrations (idempotent).
    async fn migrate(&self) -> Result<()>;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<()>;

    // --- users and profiles ---
    /// Creates user, empty profile, device and session at once.
    /// `Conflict("username")` or `Conflict("fingerprint")`.
    async fn register(
        &self,
        user: NewUser,
        device: DeviceSpec,
        session: NewSession,
        now: DateTime<Utc>,
    ) -> Result<(DeviceRecord, SessionRecord)>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
    async fn set_password_hash(&self, id: UserId, hash: &str, now: DateTime<Utc>) -> Result<()>;
    async fn profile(&self, user: UserId) -> Result<Option<ProfileRecord>>;
    /// Applies the update; `None` if the user does not exist.
    async fn update_profile(
        &self,
        user: UserId,
        update: &UpdateProfile,
        now: DateTime<Utc>,
    ) -> Result<Option<ProfileRecord>>;
    async fn set_last_seen(&self, user: UserId, at: DateTime<Utc>) -> Result<()>;
    /// Whether the two users are participants of at least one common conversation.
    async fn shares_conversation(&self, a: UserId, b: UserId) -> Result<bool>;

    // --- devices ---
    /// Upserts the device (see `DeviceSpec`) and creates a session on it.
    async fn login(
        &self,
        user: UserId,
        device: DeviceSpec,
        session: NewSession,
        now: DateTime<Utc>,
    ) -> Result<(DeviceRecord, SessionRecord)>;
    async fn devices(&self, user: UserId) -> Result<Vec<DeviceRecord>>;
    async fn device(&self, user: UserId, id: DeviceId) -> Result<Option<DeviceRecord>>;
    async fn update_device(
        &self,
        user: UserId,
        id: DeviceId,
        update: &DeviceUpdate,
    ) -> Result<Option<DeviceRecord>>;
    /// Deletes the device and its sessions; returns the deleted sessions,
    /// or `None` if the user has no such device.
    async fn delete_device(&self, user: UserId, id: DeviceId)
    -> Result<Option<Vec<SessionRecord>>>;
    async fn touch_device(&self, id: DeviceId, at: DateTime<Utc>) -> Result<()>;

    // --- sessions ---
    async fn session_by_token(&self, session_token_hash: &str) -> Result<Option<SessionRecord>>;
    async fn sessions(&self, user: UserId) -> Result<Vec<SessionListing>>;
    /// Rotates the session holding `refresh_token_hash` (see `RefreshOutcome`).
    /// Atomic: of two concurrent calls with one token, one rotates and the
    /// other sees `Reused`.
    async fn rotate_refresh(
        &self,
        refresh_token_hash: &str,
        next: NewSession,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome>;
    /// Deletes one of the user's sessions; `None` if the user has no such session.
    async fn delete_session(&self, user: UserId, id: SessionId) -> Result<Option<SessionRecord>>;
    async fn touch_session(&self, id: SessionId, at: DateTime<Utc>) -> Result<()>;
    /// Deletes sessions whose refresh lifetime has passed; returns how many.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;

    // --- maintenance ---
    /// Makes sure `messages` partitions exist for the current month and the
    /// next three (PostgreSQL; a no-op on SQLite).
    async fn maintain_partitions(&self, now: DateTime<Utc>) -> Result<PartitionReport>;
}
