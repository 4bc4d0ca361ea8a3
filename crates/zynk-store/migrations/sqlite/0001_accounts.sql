-- Accounts: users, their profiles, devices, sessions and rotated refresh tokens.
--
-- Conventions of every SQLite migration (the PostgreSQL folder mirrors this
-- schema table for table, column for column, so that one SQL text per
-- statement runs on both backends):
-- * STRICT tables: a value of the wrong storage class is an error, not a
--   silent conversion.
-- * Ids are UUIDs as sqlx encodes them for SQLite: a 16-byte BLOB. Never bind
--   a UUID as text here, or lookups will silently miss.
-- * Timestamps are TEXT as sqlx encodes `DateTime<Utc>`: RFC 3339 with a
--   `+00:00` offset and 0, 3 or 6 fraction digits (the store truncates to
--   microseconds). All values share the offset, so text order is time order.
--   They are always bound from Rust; never write `datetime('now')`, whose
--   format does not compare with these.
-- * Enumerations are TEXT with a CHECK listing the values (the same as on
--   PostgreSQL, where text + CHECK was preferred to CREATE TYPE for the same
--   reason: one schema, one set of statements).
-- * A child row that cannot outlive its parent is deleted with it
--   (ON DELETE CASCADE); sqlx turns `PRAGMA foreign_keys` on for every
--   connection.

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL CHECK (length(username) BETWEEN 3 AND 64),
    -- PHC string (PBKDF2-SHA256).
    password_hash TEXT NOT NULL,
    -- The user's identity key, base64.
    public_key    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- Usernames are unique regardless of case: "Alice" and "alice" would be two
-- accounts nobody can tell apart. Lookups use the same expression.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- One row per user, created with the user.
CREATE TABLE user_profiles (
    user_id          BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name     TEXT,
    avatar_url       TEXT,
    bio              TEXT,
    last_seen_at     TEXT,
    -- JSON: online status, last seen and read receipts (zynk_proto::PrivacySettings).
    privacy_settings TEXT NOT NULL
        DEFAULT '{"online_status":"everyone","last_seen":"everyone","read_receipts":true}'
        CHECK (json_valid(privacy_settings))
) STRICT;

CREATE TABLE devices (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_name        TEXT NOT NULL CHECK (length(device_name) BETWEEN 1 AND 64),
    device_fingerprint TEXT NOT NULL CHECK (length(device_fingerprint) BETWEEN 8 AND 128),
    platform           TEXT NOT NULL
        CHECK (platform IN ('android', 'ios', 'web', 'desktop', 'cli')),
    -- The device's identity key, base64.
    public_key         TEXT NOT NULL,
    -- FCM/APNs token: a credential, never echoed to clients.
    push_token         TEXT,
    last_active_at     TEXT,
    created_at         TEXT NOT NULL,
    CONSTRAINT devices_fingerprint_key UNIQUE (device_fingerprint),
    -- Lets sessions reference (user, device) together, so that a session can
    -- never sit on another user's device; also the index of "devices of a user".
    CONSTRAINT devices_user_id_key UNIQUE (user_id, id)
) STRICT;

-- The model's session_token and refresh_token hold SHA-256 hashes (64
-- lowercase hex characters) of the tokens, never the tokens themselves: a
-- copy of the database must not yield working credentials. The CHECKs guard
-- the shape, so a raw token cannot be stored by mistake unless it looks like
-- a hash.
CREATE TABLE sessions (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL,
    device_id          BLOB NOT NULL,
    session_token      TEXT NOT NULL
        CHECK (length(session_token) = 64 AND NOT session_token GLOB '*[^0-9a-f]*'),
    refresh_token      TEXT NOT NULL
        CHECK (length(refresh_token) = 64 AND NOT refresh_token GLOB '*[^0-9a-f]*'),
    expires_at         TEXT NOT NULL,
    refresh_expires_at TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    last_used_at       TEXT NOT NULL,
    CONSTRAINT sessions_session_token_key UNIQUE (session_token),
    CONSTRAINT sessions_refresh_token_key UNIQUE (refresh_token),
    -- Deleting a device (or, through it, a user) deletes its sessions.
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
) STRICT;

-- Serves "sessions of a user" and the cascade from devices.
CREATE INDEX sessions_user_device_idx ON sessions (user_id, device_id);
-- Serves purge_expired_sessions.
CREATE INDEX sessions_refresh_expires_idx ON sessions (refresh_expires_at);

-- Refresh tokens a session has rotated away from (hashes, as above). Seeing
-- one of these again means a copy of the token was stolen: the session is
-- deleted. Rows go with their session.
CREATE TABLE refresh_token_history (
    token_hash TEXT PRIMARY KEY
        CHECK (length(token_hash) = 64 AND NOT token_hash GLOB '*[^0-9a-f]*'),
    session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    rotated_at TEXT NOT NULL
) STRICT;

CREATE INDEX refresh_token_history_session_idx ON refresh_token_history (session_id);
