//! Messages: send (idempotent, group-committed), history, edit, delete and
//! reactions. Each change is published once to the conversation's participants.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use zynk_proto::{
    ConversationId, EditMessage, Message, MessageId, MessageMetadata, MessagePage, SendMessage,
    SentMessage, ServerFrame, UserId,
};
use zynk_store::{Inserted, MessageRecord, NewMessage};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::conversations::require_participant;
use crate::push;
use crate::realtime::fanout::publish;
use crate::state::AppState;

/// The wire form of a stored message (no content once deleted).
pub fn wire(m: MessageRecord) -> Message {
    Message {
        id: m.id,
        conversation_id: m.conversation_id,
        sender_id: m.sender_id,
        sender_device_id: m.sender_device_id,
        client_message_id: m.client_message_id,
        encrypted_content: m
            .deleted_at
            .is_none()
            .then(|| B64.encode(&m.encrypted_content)),
        content_hash: m.content_hash,
        message_type: m.message_type,
        metadata: m.metadata,
        status: m.status,
        expires_at: m.expires_at,
        created_at: m.created_at,
        edited_at: m.edited_at,
        deleted_at: m.deleted_at,
    }
}

fn sent(m: &MessageRecord) -> SentMessage {
    SentMessage {
        id: m.id,
        conversation_id: m.conversation_id,
        client_message_id: m.client_message_id.unwrap_or_default(),
        created_at: m.created_at,
        status: m.status,
    }
}

/// Decodes `encrypted_content` and checks it against `content_hash` and the size limit.
fn ciphertext(state: &AppState, content: &str, hash: &str) -> ApiResult<Vec<u8>> {
    let bytes = B64
        .decode(content)
        .map_err(|_| ApiError::invalid("encrypted_content", "must be base64"))?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("encrypted_content", "must not be empty"));
    }
    if bytes.len() > state.config.max_message_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "message-too-large",
            format!(
                "ciphertext is over {} bytes",
                state.config.max_message_bytes
            ),
        ));
    }
    if hash.len() != 64
        || !hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ApiError::invalid(
            "content_hash",
            "must be 64 lowercase hex characters (SHA-256)",
        ));
    }
    let actual: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != hash {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "content-hash-mismatch",
            "content_hash is not the SHA-256 of encrypted_content",
        ));
    }
    Ok(bytes)
}

/// Sends a message (HTTP and the WebSocket `send` frame). Returns whether it
/// is new (`false`: a retry of an earlier send, answered with that message).
pub async fn send(
    state: &AppState,
    auth: &Auth,
    conversation: ConversationId,
    body: SendMessage,
) -> ApiResult<(SentMessage, bool)> {
    let participants = require_participant(state, auth.user_id, conversation).await?;
    let content = ciphertext(state, &body.encrypted_content, &body.content_hash)?;
    let now = Utc::now();
    if let Some(at) = body.expires_at
        && (at <= now || at > now + Duration::days(366))
    {
        return Err(ApiError::invalid(
            "expires_at",
            "must be in the future and within a year",
        ));
    }
    let meta = body.metadata.unwrap_or_default();
    if meta.mentions.len() > 256 || meta.mentions.iter().any(|u| !participants.contains(u)) {
        return Err(ApiError::invalid(
            "metadata.mentions",
            "must be participants of the conversation",
        ));
    }
    if let Some(reply_to) = meta.reply_to {
        let target = state.store.message(reply_to).await?;
        if target.is_none_or(|t| t.conversation_id != conversation) {
            return Err(ApiError::invalid(
                "metadata.reply_to",
                "must be a message of this conversation",
            ));
        }
    }
    let message = NewMessage {
        id: MessageId::new(),
        conversation_id: conversation,
        sender_id: auth.user_id,
        sender_device_id: auth.device_id,
        client_message_id: body.client_message_id,
        encrypted_content: content,
        content_hash: body.content_hash,
        message_type: body.message_type,
        metadata: MessageMetadata {
            reply_to: meta.reply_to,
            mentions: meta.mentions,
            reactions: Default::default(),
        },
        expires_at: body.expires_at,
    };
    match state
        .committer
        .insert(message)
        .await
        .map_err(ApiError::internal)?
    {
        Inserted::Created(m) => {
            let answer = sent(&m);
            let frame = ServerFrame::MessageNew { message: wire(m) };
            // The other participants' devices and the sender's other devices.
            let woken = participants.clone();
            publish(state, participants, None, Some(auth.device_id), frame).await;
            push::notify_users(state, woken, Some(auth.device_id), push::Kind::Message);
            Ok((answer, true))
        }
        Inserted::Duplicate(m) => Ok((sent(&m), false)),
    }
}

/// Cursor of a history page: `{created_at µs}.{id}`.
fn cursor(m: &MessageRecord) -> String {
    format!("{}.{}", m.created_at.timestamp_micros(), m.id)
}

fn parse_cursor(s: &str) -> ApiResult<(DateTime<Utc>, MessageId)> {
    let bad = || {
        ApiError::bad_request(
            "invalid-cursor",
            "before must be a next_before value from an earlier page",
        )
    };
    let (micros, id) = s.split_once('.').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// `GET /v1/conversations/{id}/messages?before=&limit=`: newest first.
pub async fn history(
    state: &AppState,
    auth: &Auth,
    conversation: ConversationId,
    before: Option<&str>,
    limit: Option<u32>,
) -> ApiResult<MessagePage> {
    require_participant(state, auth.user_id, conversation).await?;
    let before = before.map(parse_cursor).transpose()?;
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1 to 200"));
    }
    let page = state
        .store
        .history(conversation, before, limit, Utc::now())
        .await?;
    let next_before = (page.len() == limit as usize)
        .then(|| page.last().map(cursor))
        .flatten();
    Ok(MessagePage {
        messages: page.into_iter().map(wire).collect(),
        next_before,
    })
}

/// A live message of a conversation the caller is in (404 otherwise),
/// with the conversation's participants.
async fn visible(
    state: &AppState,
    user: UserId,
    id: MessageId,
) -> ApiResult<(MessageRecord, Vec<UserId>)> {
    let m = state
        .store
        .message(id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let participants = require_participant(state, user, m.conversation_id)
        .await
        .map_err(|_| ApiError::not_found("message"))?;
    let expired = m.expires_at.is_some_and(|at| at <= Utc::now());
    if m.deleted_at.is_some() || expired {
        return Err(ApiError::not_found("message"));
    }
    Ok((m, participants))
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

/// `PATCH /v1/messages/{id}`: the sender replaces the ciphertext.
pub async fn edit(
    state: &AppState,
    auth: &Auth,
    id: MessageId,
    body: EditMessage,
) -> ApiResult<Message> {
    let (m, participants) = visible(state, auth.user_id, id).await?;
    if m.sender_id != auth.user_id {
        return Err(forbidden("only the sender may edit a message"));
    }
    let content = ciphertext(state, &body.encrypted_content, &body.content_hash)?;
    let edited = state
        .store
        .edit_message(id, auth.user_id, content, &body.content_hash, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let message = wire(edited);
    publish(
        state,
        participants,
        None,
        Some(auth.device_id),
        ServerFrame::MessageEdited {
            message: message.clone(),
        },
    )
    .await;
    Ok(message)
}

/// `DELETE /v1/messages/{id}`: the sender, or an admin of the group.
pub async fn delete(state: &AppState, auth: &Auth, id: MessageId) -> ApiResult<()> {
    let (m, participants) = visible(state, auth.user_id, id).await?;
    if m.sender_id != auth.user_id {
        let is_admin = state
            .store
            .participants(m.conversation_id)
            .await?
            .iter()
            .any(|p| p.user_id == auth.user_id && p.role == zynk_proto::Role::Admin);
        if !is_admin {
            return Err(forbidden(
                "only the sender or a group admin may delete a message",
            ));
        }
    }
    state
        .store
        .delete_message(id, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let frame = ServerFrame::MessageDeleted {
        conversation_id: m.conversation_id,
        message_id: id,
    };
    publish(state, participants, None, Some(auth.device_id), frame).await;
    Ok(())
}

/// `PUT` / `DELETE /v1/messages/{id}/reactions/{emoji}`.
pub async fn react(
    state: &AppState,
    auth: &Auth,
    id: MessageId,
    emoji: &str,
    add: bool,
) -> ApiResult<Message> {
    let len = emoji.chars().count();
    if !(1..=16).contains(&len) || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(
            "emoji",
            "must be 1 to 16 characters without spaces",
        ));
    }
    let (_, participants) = visible(state, auth.user_id, id).await?;
    let m = state
        .store
        .set_reaction(id, auth.user_id, emoji, add)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let frame = ServerFrame::Reaction {
        conversation_id: m.conversation_id,
        message_id: id,
        reactions: m.metadata.reactions.clone(),
    };
    publish(state, participants, None, Some(auth.device_id), frame).await;
    Ok(wire(m))
}
