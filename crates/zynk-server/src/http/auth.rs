//! `/v1/auth/*` and `/v1/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use zynk_proto::{AuthTokens, Login, Problem, Refresh, Register, SessionId, SessionInfo};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ops;
use crate::state::AppState;

/// Create an account with its first device and session.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = Register, responses(
    (status = 201, body = AuthTokens),
    (status = 409, description = "username or device fingerprint taken", body = Problem),
    (status = 422, description = "invalid field", body = Problem),
    (status = 429, description = "rate limited", body = Problem)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Register>,
) -> ApiResult<(StatusCode, Json<AuthTokens>)> {
    let tokens = ops::accounts::register(&state, body).await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

/// Log in from a device (a known fingerprint of the user is reused).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = Login, responses(
    (status = 200, body = AuthTokens),
    (status = 401, description = "invalid username or password", body = Problem),
    (status = 429, description = "rate limited", body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Json<AuthTokens>> {
    Ok(Json(ops::accounts::login(&state, body).await?))
}

/// Exchange a refresh token for a new token pair. Reusing a rotated refresh
/// token revokes the session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = Refresh, responses(
    (status = 200, body = AuthTokens),
    (status = 401, description = "invalid, expired or reused refresh token", body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Refresh>,
) -> ApiResult<Json<AuthTokens>> {
    Ok(Json(ops::sessions::refresh(&state, body).await?))
}

/// Revoke the current session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "revoked"), (status = 401, body = Problem)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    ops::sessions::logout(&state, &auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Vec<SessionInfo>), (status = 401, body = Problem)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    Ok(Json(ops::sessions::list(&state, &auth).await?))
}

/// Revoke one of the caller's sessions.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = SessionId, Path)), responses(
    (status = 204, description = "revoked"), (status = 404, body = Problem)))]
pub async fn delete_session(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<StatusCode> {
    ops::sessions::revoke(&state, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
