//! The delivery side: acks, read markers, typing, presence, the device
//! inbox, and the catch-up a device gets on every (re)connect.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::{
    ConversationId, DeviceId, DeviceMessage, DeviceMessageId, MessageId, MessageStatus,
    SendDeviceMessages, ServerFrame, UserId, Visibility,
};
use zynk_store::{DeviceMessageRecord, StatusChange, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::conversations::require_participant;
use crate::realtime::fanout::publish;
use crate::state::AppState;

/// Page size of catch-up reads.
pub const PAGE: u32 = 200;
/// Most entries in one `POST /v1/devices/messages`.
pub const MAX_DEVICE_BATCH: usize = 1000;
/// Largest device-message payload (decoded).
pub const MAX_DEVICE_PAYLOAD: usize = 64 * 1024;

/// Tells the senders of messages whose status moved (one frame per sender,
/// conversation and status).
async fn announce(state: &AppState, changes: Vec<StatusChange>) {
    let mut grouped: BTreeMap<(UserId, ConversationId, MessageStatus), Vec<MessageId>> =
        BTreeMap::new();
    for c in changes {
        grouped
            .entry((c.sender_id, c.conversation_id, c.status))
            .or_default()
            .push(c.message_id);
    }
    for ((sender, conversation_id, status), message_ids) in grouped {
        let frame = ServerFrame::Receipt {
            conversation_id,
            message_ids,
            status,
        };
        publish(state, vec![sender], None, None, frame).await;
    }
}

/// The `ack` frame: messages and device messages that the device has
/// handed to its app will not be sent again.
pub async fn ack(state: &AppState, auth: &Auth, ids: &[Uuid]) -> ApiResult<()> {
    if ids.len() > 10_000 {
        return Err(ApiError::invalid("ids", "at most 10000 per ack"));
    }
    let message_ids: Vec<MessageId> = ids.iter().copied().map(MessageId).collect();
    let changes = state
        .store
        .ack_deliveries(auth.device_id, auth.user_id, &message_ids, Utc::now())
        .await?;
    let device_ids: Vec<DeviceMessageId> = ids.iter().copied().map(DeviceMessageId).collect();
    state
        .store
        .ack_device_messages(auth.device_id, &device_ids)
        .await?;
    announce(state, changes).await;
    Ok(())
}

/// The `read` frame: moves the caller's read marker; senders learn of
/// messages that became `read` (only where readers' privacy allows).
pub async fn read(
    state: &AppState,
    auth: &Auth,
    conversation: ConversationId,
    up_to: DateTime<Utc>,
) -> ApiResult<()> {
    require_participant(state, auth.user_id, conversation).await?;
    let now = Utc::now();
    let changes = state
        .store
        .mark_read(auth.user_id, conversation, up_to.min(now), now)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    announce(state, changes).await;
    Ok(())
}

/// The `typing` frame: `typing:{conversation}:{user}` for 5 s, and a frame
/// to the other participants.
pub async fn typing(state: &AppState, auth: &Auth, conversation: ConversationId) -> ApiResult<()> {
    let participants = require_participant(state, auth.user_id, conversation).await?;
    state
        .realtime
        .typing_set(conversation.0, auth.user_id)
        .await?;
    let others: Vec<UserId> = participants
        .into_iter()
        .filter(|u| *u != auth.user_id)
        .collect();
    let frame = ServerFrame::Typing {
        conversation_id: conversation,
        user_id: auth.user_id,
    };
    publish(state, others, None, None, frame).await;
    Ok(())
}

/// Announces a user's presence to their contacts, if their privacy allows.
pub async fn announce_presence(
    state: &AppState,
    user: UserId,
    online: bool,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    let privacy = state
        .store
        .profile(user)
        .await?
        .map(|p| p.privacy_settings)
        .unwrap_or_default();
    if privacy.online_status == Visibility::Nobody {
        return Ok(());
    }
    let contacts = state.store.contacts(user).await?;
    let last_seen_at = (privacy.last_seen != Visibility::Nobody).then_some(at);
    publish(
        state,
        contacts,
        None,
        None,
        ServerFrame::Presence {
            user_id: user,
            online,
            last_seen_at,
        },
    )
    .await;
    Ok(())
}

fn device_wire(m: DeviceMessageRecord) -> DeviceMessage {
    DeviceMessage {
        id: m.id,
        sender_id: m.sender_id,
        sender_device_id: m.sender_device_id,
        payload: B64.encode(&m.payload),
        created_at: m.created_at,
    }
}

/// `POST /v1/devices/messages`: durable device-to-device messages (key shares).
pub async fn send_device_messages(
    state: &AppState,
    auth: &Auth,
    body: SendDeviceMessages,
) -> ApiResult<usize> {
    if body.messages.is_empty() || body.messages.len() > MAX_DEVICE_BATCH {
        return Err(ApiError::invalid(
            "messages",
            format!("must hold 1 to {MAX_DEVICE_BATCH} entries"),
        ));
    }
    let now = Utc::now();
    let mut batch = Vec::with_capacity(body.messages.len());
    for m in body.messages {
        let payload = B64
            .decode(&m.payload)
            .map_err(|_| ApiError::invalid("payload", "must be base64"))?;
        if payload.is_empty() || payload.len() > MAX_DEVICE_PAYLOAD {
            return Err(ApiError::invalid(
                "payload",
                format!("must be 1 to {MAX_DEVICE_PAYLOAD} bytes"),
            ));
        }
        batch.push(DeviceMessageRecord {
            id: DeviceMessageId::new(),
            recipient_device_id: m.device_id,
            // Filled in by the store from the device row.
            recipient_user_id: UserId(Uuid::nil()),
            sender_id: auth.user_id,
            sender_device_id: auth.device_id,
            payload,
            created_at: now,
        });
    }
    let count = batch.len();
    let mut woken: Vec<DeviceId> = batch.iter().map(|m| m.recipient_device_id).collect();
    let stored = state
        .store
        .insert_device_messages(batch)
        .await
        .map_err(|e| match e {
            StoreError::Missing(_) => ApiError::invalid("device_id", "no such device"),
            other => other.into(),
        })?;
    for m in stored {
        let (user, device) = (m.recipient_user_id, m.recipient_device_id);
        let frame = ServerFrame::DeviceMessage {
            message: device_wire(m),
        };
        publish(state, vec![user], Some(vec![device]), None, frame).await;
    }
    woken.sort_unstable();
    woken.dedup();
    crate::push::notify_devices(state, woken, crate::push::Kind::DeviceMessage);
    Ok(count)
}

/// Where a device's catch-up stands: its pending device messages, then its
/// pending messages, each walked oldest first by cursor.
#[derive(Clone, Copy, Debug)]
pub enum CatchUp {
    Messages(Option<(DateTime<Utc>, MessageId)>),
    DeviceMessages(Option<(DateTime<Utc>, DeviceMessageId)>),
    Done,
}

impl CatchUp {
    /// Device messages first: they carry the group keys later messages need.
    pub const START: CatchUp = CatchUp::DeviceMessages(None);
}

/// One page of a device's catch-up and where the next one starts.
pub async fn catch_up_page(
    state: &AppState,
    device: DeviceId,
    at: CatchUp,
) -> ApiResult<(Vec<ServerFrame>, CatchUp)> {
    match at {
        CatchUp::Messages(after) => {
            let page = state
                .store
                .pending_deliveries(device, after, PAGE, Utc::now())
                .await?;
            let next = match page.last() {
                Some(m) if page.len() == PAGE as usize => {
                    CatchUp::Messages(Some((m.created_at, m.id)))
                }
                _ => CatchUp::Done,
            };
            let frames = page.into_iter().map(|m| ServerFrame::MessageNew {
                message: super::messages::wire(m),
            });
            Ok((frames.collect(), next))
        }
        CatchUp::DeviceMessages(after) => {
            let page = state
                .store
                .pending_device_messages(device, after, PAGE)
                .await?;
            let next = match page.last() {
                Some(m) if page.len() == PAGE as usize => {
                    CatchUp::DeviceMessages(Some((m.created_at, m.id)))
                }
                _ => CatchUp::Messages(None),
            };
            let frames = page.into_iter().map(|m| ServerFrame::DeviceMessage {
                message: device_wire(m),
            });
            Ok((frames.collect(), next))
        }
        CatchUp::Done => Ok((Vec::new(), CatchUp::Done)),
    }
}
