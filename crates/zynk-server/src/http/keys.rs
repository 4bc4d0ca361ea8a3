//! `/v1/keys` and `/v1/users/{id}/devices`: end-to-end encryption key
//! distribution (see `ops::keys` for the signing rules).

use axum::Json;
use axum::extract::State;
use zynk_proto::{ClaimKeys, ClaimedKeys, KeyCounts, Problem, UploadKeys, UserDevice, UserId};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ops;
use crate::state::AppState;

/// Upload the calling device's keys: device keys (permanent), one-time keys
/// (at most 100 per upload) and a fallback key (replaces the previous one).
#[utoipa::path(put, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    request_body = UploadKeys, responses(
    (status = 200, body = KeyCounts), (status = 403, description = "not the calling device", body = Problem),
    (status = 409, description = "the device already has different keys", body = Problem),
    (status = 422, description = "invalid key or bad signature", body = Problem)))]
pub async fn upload_keys(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<UploadKeys>,
) -> ApiResult<Json<KeyCounts>> {
    Ok(Json(ops::keys::upload(&state, &auth, body).await?))
}

/// A user's devices with their keys; `verified` when signed by the user identity key.
/// Device names are shown to their owner only.
#[utoipa::path(get, path = "/v1/users/{id}/devices", tag = "keys", security(("bearer" = [])),
    params(("id" = UserId, Path)), responses(
    (status = 200, body = Vec<UserDevice>), (status = 404, body = Problem)))]
pub async fn user_devices(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Vec<UserDevice>>> {
    Ok(Json(ops::keys::user_devices(&state, &auth, id).await?))
}

/// Claim one one-time key (or the fallback key) per device of a user:
/// verified devices only, except for the caller's own user (never the calling device).
#[utoipa::path(post, path = "/v1/keys/claim", tag = "keys", security(("bearer" = [])),
    request_body = ClaimKeys, responses(
    (status = 200, body = ClaimedKeys), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn claim_keys(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<ClaimKeys>,
) -> ApiResult<Json<ClaimedKeys>> {
    Ok(Json(ops::keys::claim(&state, &auth, body).await?))
}
