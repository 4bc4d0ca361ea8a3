//! Row types of the messaging half and their conversions to the records of
//! `messaging` (see `common` for the approach). Enumerations are stored as
//! their wire text; an unknown text is a decode error, not a panic.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;
use zynk_proto::{
    ConversationId, ConversationKind, DeviceId, DeviceMessageId, MessageId, MessageMetadata,
    MessageStatus, MessageType, Role, UserId,
};

use crate::{
    ConversationRecord, ConversationSummary, DeviceMessageRecord, GroupMemberRecord, GroupRecord,
    MessageRecord, ParticipantRecord, StatusChange, StoreError,
};

/// Parses a stored enumeration, or fails as a decode error naming the column.
fn parse<T>(text: &str, parse: fn(&str) -> Option<T>, column: &str) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| {
        StoreError::Backend(sqlx::Error::Decode(
            format!("unknown value {text:?} in {column}").into(),
        ))
    })
}

/// Converts every row, failing on the first bad one.
pub(crate) fn all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ConversationRow> for ConversationRecord {
    type Error = StoreError;

    fn try_from(r: ConversationRow) -> Result<Self, StoreError> {
        Ok(ConversationRecord {
            id: ConversationId(r.id),
            kind: parse(&r.kind, ConversationKind::parse, "conversations.type")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    #[sqlx(flatten)]
    conversation: ConversationRow,
    group_name: Option<String>,
    last_message_at: Option<DateTime<Utc>>,
    unread_count: i64,
}

impl TryFrom<SummaryRow> for ConversationSummary {
    type Error = StoreError;

    fn try_from(r: SummaryRow) -> Result<Self, StoreError> {
        Ok(ConversationSummary {
            conversation: r.conversation.try_into()?,
            group_name: r.group_name,
            last_message_at: r.last_message_at,
            unread_count: u64::try_from(r.unread_count).unwrap_or(0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ParticipantRow {
    user_id: Uuid,
    role: String,
    joined_at: DateTime<Utc>,
    last_read_at: Option<DateTime<Utc>>,
}

impl TryFrom<ParticipantRow> for ParticipantRecord {
    type Error = StoreError;

    fn try_from(r: ParticipantRow) -> Result<Self, StoreError> {
        Ok(ParticipantRecord {
            user_id: UserId(r.user_id),
            role: parse(&r.role, Role::parse, "conversation_participants.role")?,
            joined_at: r.joined_at,
            last_read_at: r.last_read_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    avatar_url: Option<String>,
    max_members: i32,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<GroupRow> for GroupRecord {
    fn from(r: GroupRow) -> Self {
        GroupRecord {
            id: ConversationId(r.id),
            name: r.name,
            description: r.description,
            avatar_url: r.avatar_url,
            // The schema's CHECK keeps it positive.
            max_members: u32::try_from(r.max_members).unwrap_or(0),
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    user_id: Uuid,
    role: String,
    joined_at: DateTime<Utc>,
    invited_by: Option<Uuid>,
}

impl TryFrom<MemberRow> for GroupMemberRecord {
    type Error = StoreError;

    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(GroupMemberRecord {
            user_id: UserId(r.user_id),
            role: parse(&r.role, Role::parse, "group_members.role")?,
            joined_at: r.joined_at,
            invited_by: r.invited_by.map(UserId),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: Uuid,
    conversation_id: Uuid,
    sender_id: Uuid,
    sender_device_id: Option<Uuid>,
    client_message_id: Option<Uuid>,
    encrypted_content: Vec<u8>,
    content_hash: String,
    message_type: String,
    metadata: Option<Json<MessageMetadata>>,
    status: String,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    pub(crate) deleted_at: Option<DateTime<Utc>>,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = StoreError;

    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        Ok(MessageRecord {
            id: MessageId(r.id),
            conversation_id: ConversationId(r.conversation_id),
            sender_id: UserId(r.sender_id),
            sender_device_id: r.sender_device_id.map(DeviceId),
            client_message_id: r.client_message_id,
            encrypted_content: r.encrypted_content,
            content_hash: r.content_hash,
            message_type: parse(&r.message_type, MessageType::parse, "messages.message_type")?,
            metadata: r.metadata.map(|m| m.0).unwrap_or_default(),
            status: parse(&r.status, MessageStatus::parse, "messages.status")?,
            expires_at: r.expires_at,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StatusRow {
    id: Uuid,
    conversation_id: Uuid,
    sender_id: Uuid,
    status: String,
}

impl TryFrom<StatusRow> for StatusChange {
    type Error = StoreError;

    fn try_from(r: StatusRow) -> Result<Self, StoreError> {
        Ok(StatusChange {
            message_id: MessageId(r.id),
            conversation_id: ConversationId(r.conversation_id),
            sender_id: UserId(r.sender_id),
            status: parse(&r.status, MessageStatus::parse, "messages.status")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceMessageRow {
    id: Uuid,
    recipient_device_id: Uuid,
    recipient_user_id: Uuid,
    sender_id: Uuid,
    sender_device_id: Uuid,
    payload: Vec<u8>,
    created_at: DateTime<Utc>,
}

impl From<DeviceMessageRow> for DeviceMessageRecord {
    fn from(r: DeviceMessageRow) -> Self {
        DeviceMessageRecord {
            id: DeviceMessageId(r.id),
            recipient_device_id: DeviceId(r.recipient_device_id),
            recipient_user_id: UserId(r.recipient_user_id),
            sender_id: UserId(r.sender_id),
            sender_device_id: DeviceId(r.sender_device_id),
            payload: r.payload,
            created_at: r.created_at,
        }
    }
}

/// Maps a foreign-key violation to `Missing(what)`; anything else is a fault.
pub(crate) fn missing(err: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_foreign_key_violation()
    {
        return StoreError::Missing(what);
    }
    StoreError::Backend(err)
}
