//! What both backends share besides the SQL text: row types, the mapping of
//! unique violations to conflicts, and the timestamp precision rule.
//!
//! Row types derive `sqlx::FromRow`, which is generic over the database, so
//! one struct reads a row of either backend. Columns keep the data model's
//! names (`device_name`, `session_token`, …); the conversions rename them to
//! the record types' fields.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::types::Json;
use uuid::Uuid;
use zynk_proto::{DeviceId, Platform, PrivacySettings, SessionId, UserId};

use crate::{DeviceRecord, ProfileRecord, SessionListing, SessionRecord, StoreError, User};

/// Truncates to microseconds, PostgreSQL's precision: every timestamp is
/// truncated before it is stored, so what a caller passes in compares equal
/// to what either backend gives back.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Maps a unique violation to the `Conflict` it means; anything else is a fault.
///
/// PostgreSQL names the violated constraint (the migrations name them after
/// what they protect); SQLite only says it in the message
/// (`UNIQUE constraint failed: devices.device_fingerprint`).
pub(crate) fn conflict(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        let what = db.constraint().unwrap_or_else(|| db.message());
        for field in ["username", "fingerprint", "token"] {
            if what.contains(field) {
                return StoreError::Conflict(field);
            }
        }
    }
    StoreError::Backend(err)
}

/// A PATCH field as two binds: whether to set it, and the value (`NULL` clears).
pub(crate) fn patch(field: &Option<Option<String>>) -> (bool, Option<&str>) {
    (field.is_some(), field.as_ref().and_then(|v| v.as_deref()))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    username: String,
    password_hash: String,
    public_key: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            password_hash: r.password_hash,
            public_key: r.public_key,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProfileRow {
    user_id: Uuid,
    display_name: Option<String>,
    avatar_url: Option<String>,
    bio: Option<String>,
    last_seen_at: Option<DateTime<Utc>>,
    privacy_settings: Json<PrivacySettings>,
}

impl From<ProfileRow> for ProfileRecord {
    fn from(r: ProfileRow) -> Self {
        ProfileRecord {
            user_id: UserId(r.user_id),
            display_name: r.display_name,
            avatar_url: r.avatar_url,
            bio: r.bio,
            last_seen_at: r.last_seen_at,
            privacy_settings: r.privacy_settings.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceRow {
    id: Uuid,
    user_id: Uuid,
    device_name: String,
    device_fingerprint: String,
    platform: String,
    public_key: String,
    push_token: Option<String>,
    last_active_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<DeviceRow> for DeviceRecord {
    type Error = StoreError;

    fn try_from(r: DeviceRow) -> Result<Self, StoreError> {
        let platform = Platform::parse(&r.platform).ok_or_else(|| {
            StoreError::Backend(sqlx::Error::Decode(
                format!("unknown platform {:?} in devices", r.platform).into(),
            ))
        })?;
        Ok(DeviceRecord {
            id: DeviceId(r.id),
            user_id: UserId(r.user_id),
            name: r.device_name,
            fingerprint: r.device_fingerprint,
            platform,
            public_key: r.public_key,
            push_token: r.push_token,
            last_active_at: r.last_active_at,
            created_at: r.created_at,
        })
    }
}

pub(crate) fn devices(rows: Vec<DeviceRow>) -> Result<Vec<DeviceRecord>, StoreError> {
    rows.into_iter().map(DeviceRecord::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: Uuid,
    user_id: Uuid,
    device_id: Uuid,
    pub(crate) session_token: String,
    refresh_token: String,
    expires_at: DateTime<Utc>,
    pub(crate) refresh_expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id: SessionId(r.id),
            user_id: UserId(r.user_id),
            device_id: DeviceId(r.device_id),
            session_token_hash: r.session_token,
            refresh_token_hash: r.refresh_token,
            expires_at: r.expires_at,
            refresh_expires_at: r.refresh_expires_at,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

pub(crate) fn sessions(rows: Vec<SessionRow>) -> Vec<SessionRecord> {
    rows.into_iter().map(SessionRecord::from).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionListingRow {
    #[sqlx(flatten)]
    session: SessionRow,
    device_name: String,
}

impl From<SessionListingRow> for SessionListing {
    fn from(r: SessionListingRow) -> Self {
        SessionListing {
            session: r.session.into(),
            device_name: r.device_name,
        }
    }
}
