//! Conversations, groups, messages, the device inbox and WebSocket frames.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Call, CallId, ConversationId, DeviceId, DeviceMessageId, GroupId, MessageId, Problem, UserId,
};

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $(#[serde(rename = $text)] $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// `conversations.type`.
    ConversationKind { OneToOne = "one_to_one", Group = "group" }
);
wire_enum!(
    /// Role in a conversation or group.
    Role { Admin = "admin", Member = "member" }
);
wire_enum!(
    /// `messages.message_type`.
    MessageType { Text = "text", Image = "image", File = "file", Audio = "audio", Video = "video" }
);
wire_enum!(
    /// `messages.status`; moves only forward: sent → delivered → read.
    MessageStatus { Sent = "sent", Delivered = "delivered", Read = "read", Failed = "failed" }
);

/// `POST /v1/conversations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    pub user_id: UserId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    pub last_read_at: Option<DateTime<Utc>>,
}

/// A conversation as a participant sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Time of the newest message, if any.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Messages from others after the caller's read marker.
    pub unread_count: u64,
    /// For group conversations: the group's name (its id is the conversation id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// Present in `GET /v1/conversations/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<Participant>>,
    /// Participants typing now (`GET /v1/conversations/{id}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing: Option<Vec<UserId>>,
}

/// `POST /v1/groups`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub member_ids: Vec<UserId>,
}

/// `PATCH /v1/groups/{id}`. Absent fields stay; `null` clears.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::account::double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::account::double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub avatar_url: Option<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMember {
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    pub invited_by: Option<UserId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    /// Also the id of the group's conversation.
    pub id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub max_members: u32,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub members: Vec<GroupMember>,
}

/// `POST /v1/groups/{id}/members`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub user_id: UserId,
}

/// `PATCH /v1/groups/{id}/members/{user_id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub role: Role,
}

/// Server-visible message metadata (data model: reply_to, mentions, reactions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// emoji → users who reacted with it. Changed only through the reaction endpoints.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, Vec<UserId>>,
}

/// What a sender may set in `metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMessageMetadata {
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    #[serde(default)]
    pub mentions: Vec<UserId>,
}

/// `POST /v1/conversations/{id}/messages` (and the `send` frame).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Chosen by the sending device; a retry with the same id returns the first message.
    pub client_message_id: Uuid,
    /// Ciphertext, base64.
    pub encrypted_content: String,
    /// Lowercase hex SHA-256 of the ciphertext bytes.
    pub content_hash: String,
    pub message_type: MessageType,
    #[serde(default)]
    pub metadata: Option<NewMessageMetadata>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The answer to a send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub client_message_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub status: MessageStatus,
}

/// `PATCH /v1/messages/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    pub encrypted_content: String,
    pub content_hash: String,
}

/// A stored message. `encrypted_content` is absent once deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub sender_device_id: Option<DeviceId>,
    pub client_message_id: Option<Uuid>,
    pub encrypted_content: Option<String>,
    pub content_hash: String,
    pub message_type: MessageType,
    pub metadata: MessageMetadata,
    pub status: MessageStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One page of history, newest first; pass `next_before` as `before` for the next.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub next_before: Option<String>,
}

/// One entry of `POST /v1/devices/messages`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutgoingDeviceMessage {
    pub device_id: DeviceId,
    /// Opaque (client-encrypted) payload, base64.
    pub payload: String,
}

/// `POST /v1/devices/messages`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendDeviceMessages {
    pub messages: Vec<OutgoingDeviceMessage>,
}

/// A message in a device's inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceMessage {
    pub id: DeviceMessageId,
    pub sender_id: UserId,
    pub sender_device_id: DeviceId,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// Frames a client sends over `/v1/ws`. The first must be `auth`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Auth {
        token: String,
    },
    /// Acknowledges messages and device messages by id: they will not be sent again.
    Ack {
        ids: Vec<Uuid>,
    },
    Typing {
        conversation_id: ConversationId,
    },
    Read {
        conversation_id: ConversationId,
        up_to: DateTime<Utc>,
    },
    Ping,
    Send {
        conversation_id: ConversationId,
        message: SendMessage,
    },
    /// A callee's device is ringing (`initiated` → `ringing`).
    #[serde(rename = "call.ringing")]
    CallRinging {
        call_id: CallId,
    },
    #[serde(rename = "call.accept")]
    CallAccept {
        call_id: CallId,
    },
    #[serde(rename = "call.decline")]
    CallDecline {
        call_id: CallId,
    },
    #[serde(rename = "call.hangup")]
    CallHangup {
        call_id: CallId,
    },
    /// WebRTC signaling, relayed to the call's other devices (or `to_device`
    /// only); `payload` is opaque (client-encrypted).
    #[serde(rename = "call.offer")]
    CallOffer {
        call_id: CallId,
        #[serde(default)]
        to_device: Option<DeviceId>,
        payload: String,
    },
    #[serde(rename = "call.answer")]
    CallAnswer {
        call_id: CallId,
        #[serde(default)]
        to_device: Option<DeviceId>,
        payload: String,
    },
    #[serde(rename = "call.ice")]
    CallIce {
        call_id: CallId,
        #[serde(default)]
        to_device: Option<DeviceId>,
        payload: String,
    },
}

/// Frames the server sends over `/v1/ws`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    #[serde(rename = "ready")]
    Ready {
        user_id: UserId,
        device_id: DeviceId,
    },
    #[serde(rename = "message.new")]
    MessageNew { message: Message },
    #[serde(rename = "message.edited")]
    MessageEdited { message: Message },
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    #[serde(rename = "reaction")]
    Reaction {
        conversation_id: ConversationId,
        message_id: MessageId,
        reactions: BTreeMap<String, Vec<UserId>>,
    },
    #[serde(rename = "receipt")]
    Receipt {
        conversation_id: ConversationId,
        message_ids: Vec<MessageId>,
        status: MessageStatus,
    },
    #[serde(rename = "typing")]
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
    },
    #[serde(rename = "presence")]
    Presence {
        user_id: UserId,
        online: bool,
        last_seen_at: Option<DateTime<Utc>>,
    },
    #[serde(rename = "device_message")]
    DeviceMessage { message: DeviceMessage },
    /// The answer to a `send` frame.
    #[serde(rename = "sent")]
    Sent { message: SentMessage },
    #[serde(rename = "pong")]
    Pong,
    /// A call rings this user (every other participant of the conversation).
    #[serde(rename = "call.incoming")]
    CallIncoming { call: Call },
    /// A call's status or participants changed.
    #[serde(rename = "call.updated")]
    CallUpdated { call: Call },
    /// Relayed signaling (see `ClientFrame::CallOffer`).
    #[serde(rename = "call.offer")]
    CallOffer {
        call_id: CallId,
        from_user: UserId,
        from_device: DeviceId,
        payload: String,
    },
    #[serde(rename = "call.answer")]
    CallAnswer {
        call_id: CallId,
        from_user: UserId,
        from_device: DeviceId,
        payload: String,
    },
    #[serde(rename = "call.ice")]
    CallIce {
        call_id: CallId,
        from_user: UserId,
        from_device: DeviceId,
        payload: String,
    },
    /// A participant shared (or refreshed) their live position.
    #[serde(rename = "location")]
    Location {
        conversation_id: ConversationId,
        user_id: UserId,
        latitude: f64,
        longitude: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accuracy: Option<f64>,
        expires_at: DateTime<Utc>,
    },
    #[serde(rename = "location.stopped")]
    LocationStopped {
        conversation_id: ConversationId,
        user_id: UserId,
    },
    /// A refused client frame (the connection stays open unless auth failed).
    #[serde(rename = "error")]
    Error { problem: Problem },
}
