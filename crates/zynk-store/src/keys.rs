//! End-to-end encryption key distribution: each device's identity keys
//! (permanent), its one-time keys (each handed out exactly once) and its
//! fallback key (handed out, not consumed, once the one-time keys have run
//! out). `Store` requires `KeyStore`, so `Arc<dyn Store>` offers it.
//!
//! The store checks no signatures: the server verifies them before it
//! writes, so a stored signature is a verified one. Every key row goes with
//! its device (foreign keys with `ON DELETE CASCADE`).
//!
//! Its SQL is in `keys_queries.rs`, its methods in the `impl_keys!` macro of
//! `keys_impl.rs` that each backend expands.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zynk_proto::{DeviceId, OneTimeKey, UserId};

use crate::{DeviceRecord, Result};

/// The identity keys a device uploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDeviceKeys {
    /// Olm identity key (Curve25519), base64.
    pub curve25519: String,
    /// Device signing key (Ed25519), base64.
    pub ed25519: String,
    /// Signature by the user identity key (verified by the caller), base64.
    pub signature: Option<String>,
}

/// A row of `device_keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceKeysRecord {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub curve25519: String,
    pub ed25519: String,
    pub signature: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// One device's keys from a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub keys: DeviceKeysRecord,
    /// A one-time key (now deleted), or the fallback key when `fallback`.
    pub one_time_key: OneTimeKey,
    /// The device had no one-time key left: this is its fallback key.
    pub fallback: bool,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores the device's identity keys. Keys are permanent: different
    /// `curve25519`/`ed25519` for a device that has keys is
    /// `Conflict("device_keys")`; the same keys again may add (or replace)
    /// the signature, and an absent signature keeps the stored one.
    /// `Missing("device")` if the user has no such device.
    async fn set_device_keys(
        &self,
        user: UserId,
        device: DeviceId,
        keys: &NewDeviceKeys,
        now: DateTime<Utc>,
    ) -> Result<DeviceKeysRecord>;
    /// Every device of the user (oldest first) with its keys, if uploaded.
    async fn device_keys_of(
        &self,
        user: UserId,
    ) -> Result<Vec<(DeviceRecord, Option<DeviceKeysRecord>)>>;
    /// Adds one-time keys; a `key_id` the device already has is ignored.
    /// Returns how many unclaimed one-time keys the device has after.
    /// `Missing("device")` if the device does not exist.
    async fn add_one_time_keys(
        &self,
        device: DeviceId,
        keys: &[OneTimeKey],
        now: DateTime<Utc>,
    ) -> Result<u32>;
    /// Sets (or replaces) the device's fallback key. `Missing("device")`.
    async fn set_fallback_key(
        &self,
        device: DeviceId,
        key: &OneTimeKey,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Unclaimed one-time keys, and whether a fallback key is set.
    async fn key_counts(&self, device: DeviceId) -> Result<(u32, bool)>;
    /// For each device of the user that has device keys — signed ones only
    /// unless `include_unsigned`, and only those in `devices` when given —
    /// takes exactly one one-time key (oldest first), atomically: concurrent
    /// claims never get the same key. A device without one-time keys gives
    /// its fallback key (not consumed, `fallback = true`); a device with
    /// neither is left out. Devices oldest first.
    async fn claim_keys(
        &self,
        user: UserId,
        devices: Option<&[DeviceId]>,
        include_unsigned: bool,
    ) -> Result<Vec<Claimed>>;
}
