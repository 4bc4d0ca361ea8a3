//! End-to-end encryption key distribution: device keys, one-time keys,
//! fallback keys, claims. All keys are base64 (standard, unpadded or padded).

use serde::{Deserialize, Serialize};

use crate::{DeviceId, UserId};

/// A device's identity keys, signed by the user's identity key (Ed25519).
/// `signature` is absent while a new device waits for approval by an
/// existing device of the same user (which hands it the user identity key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceKeys {
    pub user_id: UserId,
    pub device_id: DeviceId,
    /// Olm identity key (Curve25519).
    pub curve25519: String,
    /// Device signing key (Ed25519).
    pub ed25519: String,
    /// Ed25519 signature by the user identity key over `signing_bytes()`.
    #[serde(default)]
    pub signature: Option<String>,
}

impl DeviceKeys {
    /// The exact bytes the user identity key signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        format!(
            "zynk/device-keys/v1\n{}\n{}\n{}\n{}",
            self.user_id, self.device_id, self.curve25519, self.ed25519
        )
        .into_bytes()
    }
}

/// A one-time (or fallback) Curve25519 key, signed by the device's Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OneTimeKey {
    /// The device's own id for the key (unique per device), 1–64 characters.
    pub key_id: String,
    pub key: String,
    /// Ed25519 signature by the device key over `signing_bytes(device_id)`.
    pub signature: String,
}

impl OneTimeKey {
    /// The exact bytes the device key signs.
    pub fn signing_bytes(&self, device: DeviceId) -> Vec<u8> {
        format!(
            "zynk/one-time-key/v1\n{}\n{}\n{}",
            device, self.key_id, self.key
        )
        .into_bytes()
    }
}

/// `PUT /v1/keys`: any of the three parts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UploadKeys {
    #[serde(default)]
    pub device_keys: Option<DeviceKeys>,
    #[serde(default)]
    pub one_time_keys: Vec<OneTimeKey>,
    #[serde(default)]
    pub fallback_key: Option<OneTimeKey>,
}

/// What `PUT /v1/keys` answers: how many unclaimed one-time keys remain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyCounts {
    pub one_time_keys: u32,
    pub fallback_key: bool,
}

/// A device as listed by `GET /v1/users/{id}/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDevice {
    pub device_id: DeviceId,
    pub name: String,
    /// Absent until the device has uploaded keys.
    pub keys: Option<DeviceKeys>,
    /// Keys present and signed by the user identity key (verified by the server).
    pub verified: bool,
}

/// `POST /v1/keys/claim`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimKeys {
    pub user_id: UserId,
    /// Only these devices (default: every verified device of the user).
    #[serde(default)]
    pub device_ids: Option<Vec<DeviceId>>,
}

/// One device's keys for opening an Olm session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyBundle {
    pub device_keys: DeviceKeys,
    pub one_time_key: OneTimeKey,
    /// The one-time keys had run out: this is the device's fallback key.
    pub fallback: bool,
}

/// `POST /v1/keys/claim` answer: one bundle per device that has keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimedKeys {
    pub bundles: Vec<KeyBundle>,
}
