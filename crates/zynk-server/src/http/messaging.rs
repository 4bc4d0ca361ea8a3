//! `/v1/conversations`, `/v1/groups`, `/v1/messages`, `/v1/devices/messages`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use zynk_proto::{
    AddMember, Conversation, ConversationId, CreateConversation, CreateGroup, EditMessage, Group,
    GroupId, Message, MessageId, MessagePage, Problem, SendDeviceMessages, SendMessage,
    SentMessage, SetRole, UpdateGroup, UserId,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ops;
use crate::state::AppState;

/// Open (or find) the 1:1 conversation with a user.
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations", security(("bearer" = [])),
    request_body = CreateConversation, responses(
    (status = 201, description = "created", body = Conversation), (status = 200, description = "existing", body = Conversation),
    (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_conversation(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateConversation>,
) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let (status, c) = ops::conversations::open(&state, &auth, body).await?;
    Ok((status, Json(c)))
}

/// The caller's conversations, most recently active first.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Conversation>)))]
pub async fn list_conversations(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Conversation>>> {
    Ok(Json(ops::conversations::list(&state, &auth).await?))
}

/// One conversation with its participants and who is typing.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), responses((status = 200, body = Conversation), (status = 404, body = Problem)))]
pub async fn get_conversation(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(ops::conversations::get(&state, &auth, id).await?))
}

/// Send a message (ciphertext). A retry with the same client_message_id
/// from the same device returns the first message (200).
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), request_body = SendMessage, responses(
    (status = 201, body = SentMessage), (status = 200, description = "a retry", body = SentMessage),
    (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn send_message(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<SendMessage>,
) -> ApiResult<(StatusCode, Json<SentMessage>)> {
    let (sent, created) = ops::messages::send(&state, &auth, id, body).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(sent),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// `next_before` of the previous page.
    before: Option<String>,
    /// 1–200, default 50.
    limit: Option<u32>,
}

/// History, newest first, with a stable cursor.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = ConversationId, Path), HistoryQuery), responses((status = 200, body = MessagePage), (status = 404, body = Problem)))]
pub async fn list_messages(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<MessagePage>> {
    let Query(q) = query.map_err(|r| ApiError::bad_request("invalid-query", r.body_text()))?;
    Ok(Json(
        ops::messages::history(&state, &auth, id, q.before.as_deref(), q.limit).await?,
    ))
}

/// Edit a message (sender only).
#[utoipa::path(patch, path = "/v1/messages/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = MessageId, Path)), request_body = EditMessage, responses(
    (status = 200, body = Message), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn edit_message(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MessageId>,
    ApiJson(body): ApiJson<EditMessage>,
) -> ApiResult<Json<Message>> {
    Ok(Json(ops::messages::edit(&state, &auth, id, body).await?))
}

/// Delete a message (sender, or a group admin); its content is no longer served.
#[utoipa::path(delete, path = "/v1/messages/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = MessageId, Path)), responses(
    (status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_message(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MessageId>,
) -> ApiResult<StatusCode> {
    ops::messages::delete(&state, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add the caller's reaction.
#[utoipa::path(put, path = "/v1/messages/{id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = MessageId, Path), ("emoji" = String, Path)), responses((status = 200, body = Message), (status = 404, body = Problem)))]
pub async fn add_reaction(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, emoji)): ApiPath<(MessageId, String)>,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        ops::messages::react(&state, &auth, id, &emoji, true).await?,
    ))
}

/// Remove the caller's reaction.
#[utoipa::path(delete, path = "/v1/messages/{id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = MessageId, Path), ("emoji" = String, Path)), responses((status = 200, body = Message), (status = 404, body = Problem)))]
pub async fn remove_reaction(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, emoji)): ApiPath<(MessageId, String)>,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        ops::messages::react(&state, &auth, id, &emoji, false).await?,
    ))
}

/// Create a group (and its conversation); the caller becomes admin.
#[utoipa::path(post, path = "/v1/groups", tag = "groups", security(("bearer" = [])), request_body = CreateGroup,
    responses((status = 201, body = Group), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    Ok((
        StatusCode::CREATED,
        Json(ops::groups::create(&state, &auth, body).await?),
    ))
}

/// A group with its members (members only).
#[utoipa::path(get, path = "/v1/groups/{id}", tag = "groups", security(("bearer" = [])),
    params(("id" = GroupId, Path)), responses((status = 200, body = Group), (status = 404, body = Problem)))]
pub async fn get_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<GroupId>,
) -> ApiResult<Json<Group>> {
    Ok(Json(ops::groups::get(&state, &auth, id).await?))
}

/// Rename or describe a group (admins).
#[utoipa::path(patch, path = "/v1/groups/{id}", tag = "groups", security(("bearer" = [])),
    params(("id" = GroupId, Path)), request_body = UpdateGroup, responses((status = 200, body = Group), (status = 403, body = Problem)))]
pub async fn update_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<GroupId>,
    ApiJson(body): ApiJson<UpdateGroup>,
) -> ApiResult<Json<Group>> {
    Ok(Json(ops::groups::update(&state, &auth, id, body).await?))
}

/// Add a member (admins).
#[utoipa::path(post, path = "/v1/groups/{id}/members", tag = "groups", security(("bearer" = [])),
    params(("id" = GroupId, Path)), request_body = AddMember, responses(
    (status = 200, body = Group), (status = 403, body = Problem), (status = 409, description = "full or already a member", body = Problem)))]
pub async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<GroupId>,
    ApiJson(body): ApiJson<AddMember>,
) -> ApiResult<Json<Group>> {
    Ok(Json(
        ops::groups::add(&state, &auth, id, body.user_id).await?,
    ))
}

/// Remove a member (admins) or leave (oneself).
#[utoipa::path(delete, path = "/v1/groups/{id}/members/{user_id}", tag = "groups", security(("bearer" = [])),
    params(("id" = GroupId, Path), ("user_id" = UserId, Path)), responses((status = 204, description = "removed"), (status = 403, body = Problem)))]
pub async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, user)): ApiPath<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    ops::groups::remove(&state, &auth, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a member's role (admins).
#[utoipa::path(patch, path = "/v1/groups/{id}/members/{user_id}", tag = "groups", security(("bearer" = [])),
    params(("id" = GroupId, Path), ("user_id" = UserId, Path)), request_body = SetRole, responses(
    (status = 200, body = Group), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn set_member_role(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, user)): ApiPath<(GroupId, UserId)>,
    ApiJson(body): ApiJson<SetRole>,
) -> ApiResult<Json<Group>> {
    Ok(Json(
        ops::groups::set_role(&state, &auth, id, user, body.role).await?,
    ))
}

/// Queue messages for devices (delivered as `device_message`, kept until acked, at most 30 days).
#[utoipa::path(post, path = "/v1/devices/messages", tag = "devices", security(("bearer" = [])),
    request_body = SendDeviceMessages, responses((status = 202, description = "stored"), (status = 422, body = Problem)))]
pub async fn send_device_messages(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<SendDeviceMessages>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let n = ops::delivery::send_device_messages(&state, &auth, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "stored": n })),
    ))
}
