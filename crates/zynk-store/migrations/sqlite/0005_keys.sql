-- End-to-end encryption key distribution: each device's identity keys, its
-- one-time keys (each handed out once) and its fallback key (handed out when
-- the one-time keys have run out). Conventions: see 0001_accounts.sql; the
-- PostgreSQL twin has the same tables and columns.
--
-- Every key row goes with its device (ON DELETE CASCADE): removing a device
-- removes every key by which others could still reach it.

-- A device's identity keys, permanent once uploaded (the store refuses
-- different ones). signature: by the user identity key over the device keys,
-- stored only once the server has verified it; NULL while the device waits
-- for approval.
CREATE TABLE device_keys (
    device_id  BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL,
    curve25519 TEXT NOT NULL,
    ed25519    TEXT NOT NULL,
    signature  TEXT,
    updated_at TEXT NOT NULL,
    -- (user, device) together: keys can never sit on another user's device.
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX device_keys_user_idx ON device_keys (user_id);

-- Unclaimed one-time keys; a claim deletes the oldest one.
CREATE TABLE one_time_keys (
    device_id  BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key_id     TEXT NOT NULL CHECK (length(key_id) BETWEEN 1 AND 64),
    key        TEXT NOT NULL,
    signature  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key_id)
) STRICT;

-- Claim order: oldest first.
CREATE INDEX one_time_keys_order_idx ON one_time_keys (device_id, created_at, key_id);

-- At most one fallback key per device; an upload replaces it. Never consumed.
CREATE TABLE fallback_keys (
    device_id  BLOB PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    key_id     TEXT NOT NULL CHECK (length(key_id) BETWEEN 1 AND 64),
    key        TEXT NOT NULL,
    signature  TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
