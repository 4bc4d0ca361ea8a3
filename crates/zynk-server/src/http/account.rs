//! `/v1/devices`, `/v1/me` and `/v1/users`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use zynk_proto::{
    Device, DeviceId, Me, Problem, Profile, PublicProfile, UpdateDevice, UpdateProfile,
};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ops;
use crate::state::AppState;

/// The caller's devices.
#[utoipa::path(get, path = "/v1/devices", tag = "devices", security(("bearer" = [])), responses(
    (status = 200, body = Vec<Device>), (status = 401, body = Problem)))]
pub async fn list_devices(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Device>>> {
    Ok(Json(ops::devices::list(&state, &auth).await?))
}

/// Rename a device or set / clear its push token.
#[utoipa::path(patch, path = "/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = DeviceId, Path)), request_body = UpdateDevice, responses(
    (status = 200, body = Device), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_device(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DeviceId>,
    ApiJson(body): ApiJson<UpdateDevice>,
) -> ApiResult<Json<Device>> {
    Ok(Json(ops::devices::update(&state, &auth, id, body).await?))
}

/// Remove a device and revoke its sessions.
#[utoipa::path(delete, path = "/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = DeviceId, Path)), responses(
    (status = 204, description = "removed"), (status = 404, body = Problem)))]
pub async fn delete_device(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DeviceId>,
) -> ApiResult<StatusCode> {
    ops::devices::remove(&state, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account and profile.
#[utoipa::path(get, path = "/v1/me", tag = "profile", security(("bearer" = [])), responses(
    (status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn get_me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Me>> {
    Ok(Json(ops::profiles::me(&state, &auth).await?))
}

/// Update the caller's profile and privacy settings.
#[utoipa::path(patch, path = "/v1/me/profile", tag = "profile", security(("bearer" = [])),
    request_body = UpdateProfile, responses((status = 200, body = Profile), (status = 422, body = Problem)))]
pub async fn update_profile(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<UpdateProfile>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(ops::profiles::update(&state, &auth, body).await?))
}

/// Another user's public profile; online status and last seen follow their privacy settings.
#[utoipa::path(get, path = "/v1/users/{username_or_id}", tag = "profile", security(("bearer" = [])),
    params(("username_or_id" = String, Path)), responses(
    (status = 200, body = PublicProfile), (status = 404, body = Problem)))]
pub async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<PublicProfile>> {
    Ok(Json(ops::profiles::public(&state, &auth, &key).await?))
}
