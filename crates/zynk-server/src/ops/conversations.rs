//! Conversations: 1:1 get-or-create, the caller's list, one conversation,
//! and the participant check every conversation-scoped use case starts with.

use axum::http::StatusCode;
use chrono::Utc;
use zynk_proto::{
    Conversation, ConversationId, ConversationKind, CreateConversation, Participant, UserId,
};
use zynk_store::{ConversationSummary, ParticipantRecord, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::state::AppState;

/// The participant ids of a conversation, through the `group_members:{id}`
/// cache (a group's id is its conversation's id; 1:1 conversations are
/// cached under the same key scheme).
pub async fn participant_ids(state: &AppState, id: ConversationId) -> ApiResult<Vec<UserId>> {
    match state.realtime.group_members_get(id.0).await {
        Ok(Some(ids)) => return Ok(ids),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "participant cache unavailable"),
    }
    let load = || async {
        let rows = state.store.participants(id).await?;
        let mut ids: Vec<UserId> = rows.into_iter().map(|p| p.user_id).collect();
        ids.sort();
        Ok::<Vec<UserId>, ApiError>(ids)
    };
    let ids = load().await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    if let Err(e) = state.realtime.group_members_put(id.0, &ids).await {
        tracing::warn!(error = %e, "cannot cache participants");
        return Ok(ids);
    }
    // A membership change may have invalidated the cache between our read
    // and our write: read again, and drop the entry if it is already stale.
    let fresh = load().await?;
    if fresh != ids {
        forget_participants(state, id).await;
    }
    Ok(fresh)
}

/// Drops the cached participant set after a membership change.
pub async fn forget_participants(state: &AppState, id: ConversationId) {
    if let Err(e) = state.realtime.group_members_del(id.0).await {
        tracing::error!(error = %e, conversation = %id, "cannot invalidate the participant cache");
    }
}

/// The participants, if the caller is one; otherwise 404 (never 403: an
/// outsider learns nothing, not even that the conversation exists).
pub async fn require_participant(
    state: &AppState,
    user: UserId,
    id: ConversationId,
) -> ApiResult<Vec<UserId>> {
    let ids = participant_ids(state, id).await?;
    if ids.contains(&user) {
        Ok(ids)
    } else {
        Err(ApiError::not_found("conversation"))
    }
}

fn wire(s: ConversationSummary) -> Conversation {
    Conversation {
        id: s.conversation.id,
        kind: s.conversation.kind,
        created_at: s.conversation.created_at,
        updated_at: s.conversation.updated_at,
        last_message_at: s.last_message_at,
        unread_count: s.unread_count,
        group_name: s.group_name,
        participants: None,
        typing: None,
    }
}

fn participant(p: ParticipantRecord) -> Participant {
    Participant {
        user_id: p.user_id,
        role: p.role,
        joined_at: p.joined_at,
        last_read_at: p.last_read_at,
    }
}

/// `POST /v1/conversations`: the 1:1 conversation with `user_id`, created if
/// new (201), or the existing one (200).
pub async fn open(
    state: &AppState,
    auth: &Auth,
    body: CreateConversation,
) -> ApiResult<(StatusCode, Conversation)> {
    if body.kind != ConversationKind::OneToOne {
        return Err(ApiError::invalid(
            "type",
            "only one_to_one here; groups are created with POST /v1/groups",
        ));
    }
    if body.user_id == auth.user_id {
        return Err(ApiError::invalid(
            "user_id",
            "cannot open a conversation with yourself",
        ));
    }
    let now = Utc::now();
    let record = state
        .store
        .one_to_one(auth.user_id, body.user_id, now)
        .await
        .map_err(|e| match e {
            StoreError::Missing(_) => ApiError::not_found("user"),
            other => other.into(),
        })?;
    // The store stamps a new conversation with `now` (to the microsecond).
    let created = (record.created_at - now)
        .num_microseconds()
        .is_some_and(|d| d.abs() < 1);
    let summary = state
        .store
        .conversation_of(auth.user_id, record.id, now)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, wire(summary)))
}

/// `GET /v1/conversations`.
pub async fn list(state: &AppState, auth: &Auth) -> ApiResult<Vec<Conversation>> {
    let rows = state
        .store
        .conversations_of(auth.user_id, Utc::now())
        .await?;
    Ok(rows.into_iter().map(wire).collect())
}

/// `GET /v1/conversations/{id}`: with participants and who is typing.
pub async fn get(state: &AppState, auth: &Auth, id: ConversationId) -> ApiResult<Conversation> {
    let summary = state
        .store
        .conversation_of(auth.user_id, id, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    let participants = state.store.participants(id).await?;
    let others: Vec<UserId> = participants
        .iter()
        .map(|p| p.user_id)
        .filter(|u| *u != auth.user_id)
        .collect();
    let typing = state.realtime.typing_users(id.0, &others).await?;
    let mut c = wire(summary);
    c.participants = Some(participants.into_iter().map(participant).collect());
    c.typing = Some(typing);
    Ok(c)
}
