//! The SQL text of key distribution (`KeyStore`), in the conventions of
//! `queries`: `$n` placeholders, timestamps bound from Rust, one text for
//! both backends except where row locking differs (`_PG` / `_SQLITE`).

macro_rules! device_keys_cols {
    () => {
        "device_id, user_id, curve25519, ed25519, signature, updated_at"
    };
}

/// device id, user id: whether the user has the device.
pub(crate) const DEVICE_OF_USER: &str =
    "SELECT count(*) FROM devices WHERE id = $1 AND user_id = $2";

/// device id, user id, curve25519, ed25519, signature or NULL, now.
/// No row when the device already has *different* keys: keys are permanent.
/// The same keys again may add or replace the signature; NULL keeps it.
pub(crate) const UPSERT_DEVICE_KEYS: &str = concat!(
    "INSERT INTO device_keys (",
    device_keys_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (device_id) DO UPDATE SET \
     signature = COALESCE(excluded.signature, device_keys.signature), \
     updated_at = excluded.updated_at \
     WHERE device_keys.curve25519 = excluded.curve25519 \
     AND device_keys.ed25519 = excluded.ed25519 RETURNING ",
    device_keys_cols!()
);

/// user id: every device of the user with its keys (NULLs when none).
pub(crate) const DEVICES_WITH_KEYS: &str = "SELECT d.id, d.user_id, d.device_name, \
     d.device_fingerprint, d.platform, d.public_key, d.push_token, d.last_active_at, \
     d.created_at, k.curve25519, k.ed25519, k.signature, k.updated_at AS keys_updated_at \
     FROM devices d LEFT JOIN device_keys k ON k.device_id = d.id \
     WHERE d.user_id = $1 ORDER BY d.created_at, d.id";

/// user id, include unsigned: the claimable devices' keys, oldest device first.
pub(crate) const CLAIMABLE_DEVICE_KEYS: &str = "SELECT k.device_id, k.user_id, k.curve25519, \
     k.ed25519, k.signature, k.updated_at \
     FROM device_keys k JOIN devices d ON d.id = k.device_id \
     WHERE k.user_id = $1 AND ($2 OR k.signature IS NOT NULL) \
     ORDER BY d.created_at, d.id";

/// device id, key id, key, signature, now. A known key id is ignored.
pub(crate) const INSERT_ONE_TIME_KEY: &str = "INSERT INTO one_time_keys \
     (device_id, key_id, key, signature, created_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (device_id, key_id) DO NOTHING";

/// device id, key id, key, signature, now.
pub(crate) const UPSERT_FALLBACK_KEY: &str = "INSERT INTO fallback_keys \
     (device_id, key_id, key, signature, created_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (device_id) DO UPDATE SET key_id = excluded.key_id, key = excluded.key, \
     signature = excluded.signature, created_at = excluded.created_at";

/// device id: (unclaimed one-time keys, fallback keys).
pub(crate) const KEY_COUNTS: &str = "SELECT \
     (SELECT count(*) FROM one_time_keys WHERE device_id = $1) AS one_time_keys, \
     (SELECT count(*) FROM fallback_keys WHERE device_id = $1) AS fallback_keys";

/// device id: deletes and returns the device's oldest one-time key. A key
/// another transaction is claiming (locked) is skipped, so concurrent claims
/// take different keys and none waits.
pub(crate) const CLAIM_ONE_TIME_KEY_PG: &str = "DELETE FROM one_time_keys \
     WHERE (device_id, key_id) IN (SELECT device_id, key_id FROM one_time_keys \
     WHERE device_id = $1 ORDER BY created_at, key_id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING key_id, key, signature";

/// As `CLAIM_ONE_TIME_KEY_PG`; SQLite has one writer (`BEGIN IMMEDIATE`), so
/// claims cannot interleave.
pub(crate) const CLAIM_ONE_TIME_KEY_SQLITE: &str = "DELETE FROM one_time_keys \
     WHERE device_id = $1 AND key_id = (SELECT key_id FROM one_time_keys \
     WHERE device_id = $1 ORDER BY created_at, key_id LIMIT 1) \
     RETURNING key_id, key, signature";

/// device id.
pub(crate) const FALLBACK_KEY: &str =
    "SELECT key_id, key, signature FROM fallback_keys WHERE device_id = $1";
