//! End-to-end encryption key distribution: uploading a device's keys,
//! listing a user's devices with their keys, and claiming one-time keys.
//!
//! The server verifies every signature before it stores anything, so a
//! stored signature is a verified one:
//! - device keys: by the user's identity key (`users.public_key`) over
//!   `DeviceKeys::signing_bytes()`; absent while the device awaits approval;
//! - one-time and fallback keys: by the device's Ed25519 key over
//!   `OneTimeKey::signing_bytes(device_id)`.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use chrono::Utc;
use ed25519_dalek::{Signature, VerifyingKey};
use zynk_proto::{
    ClaimKeys, ClaimedKeys, DeviceId, DeviceKeys, KeyBundle, KeyCounts, OneTimeKey, UploadKeys,
    UserDevice, UserId,
};
use zynk_store::{DeviceKeysRecord, NewDeviceKeys, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::state::AppState;
use crate::validate;

/// One-time keys per upload.
pub const MAX_ONE_TIME_KEYS: usize = 100;
/// Devices named in one claim.
pub const MAX_CLAIM_DEVICES: usize = 100;

fn bad_signature(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-signature", detail)
}

/// A valid Ed25519 public key (base64 of 32 bytes).
fn ed25519_key(field: &str, raw: &str) -> ApiResult<VerifyingKey> {
    let bytes = validate::key32(field, raw)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| ApiError::invalid(field, "is not an Ed25519 key"))
}

/// Verifies a base64 Ed25519 signature (strict: no malleable signatures).
fn verify(key: &VerifyingKey, message: &[u8], signature: &str, what: &str) -> ApiResult<()> {
    let bytes = STANDARD
        .decode(signature)
        .or_else(|_| STANDARD_NO_PAD.decode(signature))
        .map_err(|_| bad_signature(format!("{what}: signature is not base64")))?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| bad_signature(format!("{what}: signature must be 64 bytes")))?;
    key.verify_strict(message, &signature)
        .map_err(|_| bad_signature(format!("{what}: signature does not verify")))
}

/// Validates a one-time or fallback key and verifies its signature.
fn check_one_time_key(
    field: &str,
    key: &OneTimeKey,
    device: DeviceId,
    signer: &VerifyingKey,
) -> ApiResult<()> {
    validate::text(&format!("{field}.key_id"), &key.key_id, 1, 64)?;
    validate::key32(&format!("{field}.key"), &key.key)?;
    verify(
        signer,
        &key.signing_bytes(device),
        &key.signature,
        &format!("{field} {:?}", key.key_id),
    )
}

fn wire_keys(k: DeviceKeysRecord) -> DeviceKeys {
    DeviceKeys {
        user_id: k.user_id,
        device_id: k.device_id,
        curve25519: k.curve25519,
        ed25519: k.ed25519,
        signature: k.signature,
    }
}

/// The user, or 404.
async fn require_user(state: &AppState, id: UserId) -> ApiResult<zynk_store::User> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// `PUT /v1/keys`: the calling device's keys. Everything is validated and
/// every signature verified before anything is stored.
pub async fn upload(state: &AppState, auth: &Auth, body: UploadKeys) -> ApiResult<KeyCounts> {
    let device = auth.device_id;
    if body.one_time_keys.len() > MAX_ONE_TIME_KEYS {
        return Err(ApiError::invalid(
            "one_time_keys",
            format!("at most {MAX_ONE_TIME_KEYS} per upload"),
        ));
    }
    let mut signer = None;
    if let Some(keys) = &body.device_keys {
        if keys.user_id != auth.user_id || keys.device_id != device {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "keys may only be uploaded for the calling device",
            ));
        }
        validate::key32("device_keys.curve25519", &keys.curve25519)?;
        let ed25519 = ed25519_key("device_keys.ed25519", &keys.ed25519)?;
        if let Some(signature) = &keys.signature {
            let user = require_user(state, auth.user_id).await?;
            let identity =
                VerifyingKey::from_bytes(&validate::key32("identity_key", &user.public_key)?)
                    .map_err(|_| {
                        ApiError::internal(anyhow::anyhow!("stored identity key is invalid"))
                    })?;
            verify(&identity, &keys.signing_bytes(), signature, "device_keys")?;
        }
        signer = Some(ed25519);
    }
    if !body.one_time_keys.is_empty() || body.fallback_key.is_some() {
        let signer = match signer {
            Some(key) => key,
            None => stored_signing_key(state, auth).await?,
        };
        for key in &body.one_time_keys {
            check_one_time_key("one_time_keys", key, device, &signer)?;
        }
        if let Some(key) = &body.fallback_key {
            check_one_time_key("fallback_key", key, device, &signer)?;
        }
    }

    let now = Utc::now();
    if let Some(keys) = body.device_keys {
        let new = NewDeviceKeys {
            curve25519: keys.curve25519,
            ed25519: keys.ed25519,
            signature: keys.signature,
        };
        match state
            .store
            .set_device_keys(auth.user_id, device, &new, now)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::conflict(
                    "device-keys-conflict",
                    "this device already has different keys; device keys are permanent",
                ));
            }
            Err(StoreError::Missing(_)) => return Err(ApiError::not_found("device")),
            Err(e) => return Err(e.into()),
        }
    }
    if !body.one_time_keys.is_empty() {
        state
            .store
            .add_one_time_keys(device, &body.one_time_keys, now)
            .await?;
    }
    if let Some(key) = &body.fallback_key {
        state.store.set_fallback_key(device, key, now).await?;
    }
    let (one_time_keys, fallback_key) = state.store.key_counts(device).await?;
    Ok(KeyCounts {
        one_time_keys,
        fallback_key,
    })
}

/// The calling device's stored Ed25519 key; 422 if it has none yet.
async fn stored_signing_key(state: &AppState, auth: &Auth) -> ApiResult<VerifyingKey> {
    let devices = state.store.device_keys_of(auth.user_id).await?;
    let keys = devices
        .into_iter()
        .find(|(d, _)| d.id == auth.device_id)
        .and_then(|(_, k)| k)
        .ok_or_else(|| {
            ApiError::invalid(
                "device_keys",
                "must be uploaded before (or with) one-time and fallback keys",
            )
        })?;
    ed25519_key("device_keys.ed25519", &keys.ed25519)
}

/// `GET /v1/users/{id}/devices`: any authenticated user may list them (to
/// encrypt to them); the human-readable device names only their owner sees.
pub async fn user_devices(state: &AppState, auth: &Auth, id: UserId) -> ApiResult<Vec<UserDevice>> {
    require_user(state, id).await?;
    let devices = state.store.device_keys_of(id).await?;
    Ok(devices
        .into_iter()
        .map(|(device, keys)| {
            let keys = keys.map(wire_keys);
            UserDevice {
                device_id: device.id,
                name: if auth.user_id == id {
                    device.name
                } else {
                    String::new()
                },
                // Only verified signatures are stored.
                verified: keys.as_ref().is_some_and(|k| k.signature.is_some()),
                keys,
            }
        })
        .collect())
}

/// `POST /v1/keys/claim`: one one-time (or fallback) key per device. Other
/// users' devices must be verified; the caller's own user's unsigned devices
/// are included (approving a new device needs to reach it), the calling
/// device never.
pub async fn claim(state: &AppState, auth: &Auth, body: ClaimKeys) -> ApiResult<ClaimedKeys> {
    if body
        .device_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > MAX_CLAIM_DEVICES)
    {
        return Err(ApiError::invalid(
            "device_ids",
            format!("at most {MAX_CLAIM_DEVICES}"),
        ));
    }
    require_user(state, body.user_id).await?;
    let own = body.user_id == auth.user_id;
    let wanted: Option<Vec<DeviceId>> = if own {
        let ids = match body.device_ids {
            Some(ids) => ids,
            None => state
                .store
                .devices(auth.user_id)
                .await?
                .into_iter()
                .map(|d| d.id)
                .collect(),
        };
        Some(ids.into_iter().filter(|id| *id != auth.device_id).collect())
    } else {
        body.device_ids
    };
    if wanted.as_ref().is_some_and(Vec::is_empty) {
        return Ok(ClaimedKeys {
            bundles: Vec::new(),
        });
    }
    let claimed = state
        .store
        .claim_keys(body.user_id, wanted.as_deref(), own)
        .await?;
    Ok(ClaimedKeys {
        bundles: claimed
            .into_iter()
            .map(|c| KeyBundle {
                device_keys: wire_keys(c.keys),
                one_time_key: c.one_time_key,
                fallback: c.fallback,
            })
            .collect(),
    })
}
