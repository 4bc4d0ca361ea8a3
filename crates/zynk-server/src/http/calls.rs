//! `/v1/calls` (signaling; see `ops::calls`) and live location
//! (`/v1/conversations/{id}/location(s)`, see `ops::location`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use zynk_proto::{
    Call, CallId, ConversationId, CreateCall, IceServers, LiveLocation, Problem, ShareLocation,
};
use zynk_store::CallAction;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ops;
use crate::state::AppState;

/// Start a call in a conversation: every other participant's devices get
/// `call.incoming`.
#[utoipa::path(post, path = "/v1/calls", tag = "calls", security(("bearer" = [])),
    request_body = CreateCall, responses(
    (status = 201, body = Call), (status = 404, body = Problem),
    (status = 409, description = "the conversation already has an active call", body = Problem),
    (status = 422, body = Problem)))]
pub async fn create_call(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateCall>,
) -> ApiResult<(StatusCode, Json<Call>)> {
    Ok((
        StatusCode::CREATED,
        Json(ops::calls::create(&state, &auth, body).await?),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallHistoryQuery {
    /// Only calls created before this time (RFC 3339): the oldest `created_at` of the previous page.
    before: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    limit: Option<u32>,
}

/// The caller's call history (calls of their conversations), newest first.
#[utoipa::path(get, path = "/v1/calls", tag = "calls", security(("bearer" = [])),
    params(CallHistoryQuery), responses((status = 200, body = Vec<Call>), (status = 422, body = Problem)))]
pub async fn list_calls(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<CallHistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<Call>>> {
    let Query(q) = query.map_err(|r| ApiError::bad_request("invalid-query", r.body_text()))?;
    Ok(Json(
        ops::calls::history(&state, &auth, q.before, q.limit).await?,
    ))
}

/// STUN/TURN servers for WebRTC, with TURN credentials for the caller
/// (coturn REST API scheme).
#[utoipa::path(get, path = "/v1/calls/ice-servers", tag = "calls", security(("bearer" = [])),
    responses((status = 200, body = IceServers)))]
pub async fn ice_servers(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<IceServers>> {
    Ok(Json(ops::calls::ice_servers(&state, &auth)?))
}

async fn act(state: AppState, auth: Auth, id: CallId, action: CallAction) -> ApiResult<Json<Call>> {
    Ok(Json(ops::calls::act(&state, &auth, id, action).await?))
}

/// A callee's device rings: initiated → ringing.
#[utoipa::path(post, path = "/v1/calls/{id}/ringing", tag = "calls", security(("bearer" = [])),
    params(("id" = CallId, Path)), responses(
    (status = 200, body = Call), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn ring(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<Call>> {
    act(state, auth, id, CallAction::Ring).await
}

/// A callee answers: → in_progress; they join.
#[utoipa::path(post, path = "/v1/calls/{id}/accept", tag = "calls", security(("bearer" = [])),
    params(("id" = CallId, Path)), responses(
    (status = 200, body = Call), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn accept(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<Call>> {
    act(state, auth, id, CallAction::Accept).await
}

/// A callee declines; the call is declined once every callee has.
#[utoipa::path(post, path = "/v1/calls/{id}/decline", tag = "calls", security(("bearer" = [])),
    params(("id" = CallId, Path)), responses(
    (status = 200, body = Call), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decline(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<Call>> {
    act(state, auth, id, CallAction::Decline).await
}

/// Hang up: before an answer the initiator cancels (→ missed) and a callee
/// declines; in progress the caller leaves (a 1:1 call ends, a group call
/// ends when its last participant leaves).
#[utoipa::path(post, path = "/v1/calls/{id}/hangup", tag = "calls", security(("bearer" = [])),
    params(("id" = CallId, Path)), responses(
    (status = 200, body = Call), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn hangup(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<Call>> {
    act(state, auth, id, CallAction::Leave).await
}

/// Join a call in progress (group calls; again after leaving).
#[utoipa::path(post, path = "/v1/calls/{id}/join", tag = "calls", security(("bearer" = [])),
    params(("id" = CallId, Path)), responses(
    (status = 200, body = Call), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn join(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<Call>> {
    act(state, auth, id, CallAction::Join).await
}

/// Leave a call (the same as hang-up).
#[utoipa::path(post, path = "/v1/calls/{id}/leave", tag = "calls", security(("bearer" = [])),
    params(("id" = CallId, Path)), responses(
    (status = 200, body = Call), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn leave(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<Call>> {
    act(state, auth, id, CallAction::Leave).await
}

/// Share (or refresh) the caller's live position with the conversation.
#[utoipa::path(put, path = "/v1/conversations/{id}/location", tag = "location", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), request_body = ShareLocation, responses(
    (status = 200, body = LiveLocation), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn share_location(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<ShareLocation>,
) -> ApiResult<Json<LiveLocation>> {
    Ok(Json(ops::location::share(&state, &auth, id, body).await?))
}

/// Stop sharing the caller's position.
#[utoipa::path(delete, path = "/v1/conversations/{id}/location", tag = "location", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), responses(
    (status = 204, description = "stopped"), (status = 404, body = Problem)))]
pub async fn stop_location(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<StatusCode> {
    ops::location::stop(&state, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The participants' live positions (with `distance_m` from the caller's own).
#[utoipa::path(get, path = "/v1/conversations/{id}/locations", tag = "location", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), responses(
    (status = 200, body = Vec<LiveLocation>), (status = 404, body = Problem)))]
pub async fn list_locations(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<Json<Vec<LiveLocation>>> {
    Ok(Json(ops::location::list(&state, &auth, id).await?))
}
