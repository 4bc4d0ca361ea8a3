//! The caller's devices.

use zynk_proto::{Device, DeviceId, UpdateDevice};
use zynk_store::{DeviceRecord, DeviceUpdate};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::sessions::end_sessions;
use crate::state::AppState;
use crate::validate;

fn wire(d: DeviceRecord, auth: &Auth) -> Device {
    Device {
        current: d.id == auth.device_id,
        id: d.id,
        name: d.name,
        fingerprint: d.fingerprint,
        platform: d.platform,
        public_key: d.public_key,
        has_push_token: d.push_token.is_some(),
        last_active_at: d.last_active_at,
        created_at: d.created_at,
    }
}

/// `GET /v1/devices`.
pub async fn list(state: &AppState, auth: &Auth) -> ApiResult<Vec<Device>> {
    let devices = state.store.devices(auth.user_id).await?;
    Ok(devices.into_iter().map(|d| wire(d, auth)).collect())
}

/// `PATCH /v1/devices/{id}`: name and push token.
pub async fn update(
    state: &AppState,
    auth: &Auth,
    id: DeviceId,
    body: UpdateDevice,
) -> ApiResult<Device> {
    if let Some(name) = &body.name {
        validate::device_name(name)?;
    }
    if let Some(Some(token)) = &body.push_token {
        validate::push_token(token.expose())?;
    }
    let update = DeviceUpdate {
        name: body.name,
        push_token: body.push_token.map(|t| t.map(|s| s.0)),
    };
    let device = state
        .store
        .update_device(auth.user_id, id, &update)
        .await?
        .ok_or_else(|| ApiError::not_found("device"))?;
    Ok(wire(device, auth))
}

/// `DELETE /v1/devices/{id}`: the device and every session on it.
pub async fn remove(state: &AppState, auth: &Auth, id: DeviceId) -> ApiResult<()> {
    let sessions = state
        .store
        .delete_device(auth.user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("device"))?;
    end_sessions(state, auth.user_id, &sessions).await;
    Ok(())
}
