//! The SQL text of the store: one text per statement, run by both backends.
//!
//! Every statement uses `$n` placeholders, which PostgreSQL and sqlx's SQLite
//! driver both accept (a number may repeat), binds every timestamp from Rust
//! instead of calling `now()`, and sticks to SQL both dialects share
//! (`RETURNING`, `ON CONFLICT … DO UPDATE`, row values). The comment above a
//! statement lists its binds in order.
//!
//! Statements used only inside this crate are `pub(crate)`; the ones other
//! code and tests must run verbatim are `pub`.

macro_rules! user_cols {
    () => {
        "id, username, password_hash, public_key, created_at, updated_at"
    };
}

macro_rules! profile_cols {
    () => {
        "user_id, display_name, avatar_url, bio, last_seen_at, privacy_settings"
    };
}

macro_rules! device_cols {
    () => {
        "id, user_id, device_name, device_fingerprint, platform, public_key, push_token, \
         last_active_at, created_at"
    };
}

macro_rules! session_cols {
    () => {
        "id, user_id, device_id, session_token, refresh_token, expires_at, refresh_expires_at, \
         created_at, last_used_at"
    };
}

/// One page of a conversation's history, newest first: the messages strictly
/// before the cursor `(created_at, id)` and not older than a lower bound,
/// leaving out soft-deleted and expired ones.
///
/// Binds: `$1` conversation id, `$2` cursor `created_at`, `$3` cursor id
/// (for the first page: now and the maximal UUID), `$4` lower bound of
/// `created_at` (the oldest month the client may page into), `$5` now,
/// `$6` page size.
///
/// Both bounds on `created_at` are plain comparisons, so PostgreSQL prunes
/// the partitions outside them; the redundant `created_at <= $2` is there
/// for pruning, since the row comparison alone does not prune. Every column
/// it reads is in `messages_conversation_created_idx`, so the PostgreSQL
/// plan is an index-only scan of that index (SQLite: a covering index), as
/// the conformance suite checks with `EXPLAIN`.
pub const MESSAGE_HISTORY: &str = "SELECT id, created_at, sender_id, message_type, status \
     FROM messages \
     WHERE conversation_id = $1 AND created_at <= $2 AND (created_at, id) < ($2, $3) \
     AND created_at >= $4 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $5) \
     ORDER BY created_at DESC, id DESC LIMIT $6";

// --- users and profiles ---

/// id, username, password_hash, public_key, now.
pub(crate) const INSERT_USER: &str = "INSERT INTO users \
     (id, username, password_hash, public_key, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";
/// id.
pub(crate) const USER_BY_ID: &str = concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1");
/// username (compared case-insensitively, like the unique index).
pub(crate) const USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_cols!(),
    " FROM users WHERE lower(username) = lower($1)"
);
/// id, hash, now.
pub(crate) const SET_PASSWORD_HASH: &str =
    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
/// id, now.
pub(crate) const TOUCH_USER: &str = "UPDATE users SET updated_at = $2 WHERE id = $1";
/// user id, privacy settings (JSON).
pub(crate) const INSERT_PROFILE: &str =
    "INSERT INTO user_profiles (user_id, privacy_settings) VALUES ($1, $2)";
/// user id.
pub(crate) const PROFILE: &str = concat!(
    "SELECT ",
    profile_cols!(),
    " FROM user_profiles WHERE user_id = $1"
);
/// user id, then (set?, value) for display_name, avatar_url and bio, then the
/// privacy settings or NULL to keep them.
pub(crate) const UPDATE_PROFILE: &str = concat!(
    "UPDATE user_profiles SET \
     display_name = CASE WHEN $2 THEN $3 ELSE display_name END, \
     avatar_url = CASE WHEN $4 THEN $5 ELSE avatar_url END, \
     bio = CASE WHEN $6 THEN $7 ELSE bio END, \
     privacy_settings = COALESCE($8, privacy_settings) \
     WHERE user_id = $1 RETURNING ",
    profile_cols!()
);
/// user id, time.
pub(crate) const SET_LAST_SEEN: &str =
    "UPDATE user_profiles SET last_seen_at = $2 WHERE user_id = $1";
/// user a, user b.
pub(crate) const SHARES_CONVERSATION: &str = "SELECT 1 FROM conversation_participants a \
     JOIN conversation_participants b ON b.conversation_id = a.conversation_id \
     WHERE a.user_id = $1 AND b.user_id = $2 LIMIT 1";

// --- devices ---

/// id, user id, name, fingerprint, platform, public key, push token, now.
pub(crate) const INSERT_DEVICE: &str = concat!(
    "INSERT INTO devices (",
    device_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
    device_cols!()
);
/// As `INSERT_DEVICE`. One statement, so it cannot race: a fingerprint of
/// the same user updates that device; one of another user returns no row.
pub(crate) const UPSERT_DEVICE: &str = concat!(
    "INSERT INTO devices (",
    device_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
     ON CONFLICT (device_fingerprint) DO UPDATE SET \
     device_name = excluded.device_name, platform = excluded.platform, \
     public_key = excluded.public_key, push_token = excluded.push_token, \
     last_active_at = excluded.last_active_at \
     WHERE devices.user_id = excluded.user_id RETURNING ",
    device_cols!()
);
/// user id.
pub(crate) const DEVICES_OF_USER: &str = concat!(
    "SELECT ",
    device_cols!(),
    " FROM devices WHERE user_id = $1 ORDER BY created_at, id"
);
/// device id, user id.
pub(crate) const DEVICE: &str = concat!(
    "SELECT ",
    device_cols!(),
    " FROM devices WHERE id = $1 AND user_id = $2"
);
/// device id, user id, name or NULL to keep it, set push token?, push token.
pub(crate) const UPDATE_DEVICE: &str = concat!(
    "UPDATE devices SET device_name = COALESCE($3, device_name), \
     push_token = CASE WHEN $4 THEN $5 ELSE push_token END \
     WHERE id = $1 AND user_id = $2 RETURNING ",
    device_cols!()
);
/// device id, user id.
pub(crate) const DELETE_DEVICE_SESSIONS: &str = concat!(
    "DELETE FROM sessions WHERE device_id = $1 AND user_id = $2 RETURNING ",
    session_cols!()
);
/// device id, user id.
pub(crate) const DELETE_DEVICE: &str = "DELETE FROM devices WHERE id = $1 AND user_id = $2";
/// device id, time.
pub(crate) const TOUCH_DEVICE: &str = "UPDATE devices SET last_active_at = $2 WHERE id = $1";

// --- sessions (token columns hold SHA-256 hex hashes) ---

/// id, user id, device id, session token hash, refresh token hash,
/// expires_at, refresh_expires_at, now.
pub(crate) const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
    session_cols!()
);
/// session token hash.
pub(crate) const SESSION_BY_TOKEN: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM sessions WHERE session_token = $1"
);
/// refresh token hash.
pub(crate) const SESSION_BY_REFRESH: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM sessions WHERE refresh_token = $1"
);
/// user id.
pub(crate) const SESSIONS_OF_USER: &str = "SELECT s.id, s.user_id, s.device_id, s.session_token, \
     s.refresh_token, s.expires_at, s.refresh_expires_at, s.created_at, s.last_used_at, \
     d.device_name FROM sessions s JOIN devices d ON d.id = s.device_id \
     WHERE s.user_id = $1 ORDER BY s.created_at, s.id";
/// session id, current refresh token hash, new session token hash, new
/// refresh token hash, expires_at, refresh_expires_at, now. Matches no row if
/// a concurrent rotation got there first.
pub(crate) const ROTATE_SESSION: &str = concat!(
    "UPDATE sessions SET session_token = $3, refresh_token = $4, expires_at = $5, \
     refresh_expires_at = $6, last_used_at = $7 \
     WHERE id = $1 AND refresh_token = $2 RETURNING ",
    session_cols!()
);
/// old refresh token hash, session id, now.
pub(crate) const INSERT_REFRESH_HISTORY: &str =
    "INSERT INTO refresh_token_history (token_hash, session_id, rotated_at) VALUES ($1, $2, $3)";
/// refresh token hash.
pub(crate) const REFRESH_HISTORY_SESSION: &str =
    "SELECT session_id FROM refresh_token_history WHERE token_hash = $1";
/// session id.
pub(crate) const DELETE_SESSION: &str = concat!(
    "DELETE FROM sessions WHERE id = $1 RETURNING ",
    session_cols!()
);
/// session id, user id.
pub(crate) const DELETE_USER_SESSION: &str = concat!(
    "DELETE FROM sessions WHERE id = $1 AND user_id = $2 RETURNING ",
    session_cols!()
);
/// session id, time.
pub(crate) const TOUCH_SESSION: &str = "UPDATE sessions SET last_used_at = $2 WHERE id = $1";
/// now.
pub(crate) const PURGE_EXPIRED_SESSIONS: &str =
    "DELETE FROM sessions WHERE refresh_expires_at <= $1";
