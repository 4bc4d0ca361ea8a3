//! The messaging half of the store: conversations, groups, messages, the
//! per-device delivery inbox, receipts, the device-to-device inbox and the
//! message lifecycle. `Store` requires it, so `Arc<dyn Store>` offers both.
//!
//! Delivery model: when a message is inserted, one *delivery* row is written
//! per device that must receive it (every device of every other participant,
//! and the sender's other devices), in the same transaction. A device's
//! pending deliveries are its durable queue: it is sent them on every
//! (re)connect, oldest first, until it acks them. An ack deletes the rows and
//! records a per-user receipt; `status` becomes `delivered` when every other
//! participant has a receipt, and `read` when every other participant's
//! read marker (`last_read_at`) has passed the message and all of them allow
//! read receipts. Status never moves backwards.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::{
    ConversationId, ConversationKind, DeviceId, DeviceMessageId, GroupId, MessageId,
    MessageMetadata, MessageStatus, MessageType, Role, UserId,
};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantRecord {
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    pub last_read_at: Option<DateTime<Utc>>,
}

/// A conversation in a user's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSummary {
    pub conversation: ConversationRecord,
    /// The group's name for group conversations.
    pub group_name: Option<String>,
    /// `created_at` of the newest message that is neither deleted nor expired.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Messages from others, not deleted or expired, newer than the user's `last_read_at`.
    pub unread_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    /// Equal to the id of the group's conversation.
    pub id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub max_members: u32,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMemberRecord {
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    pub invited_by: Option<UserId>,
}

#[derive(Clone, Debug)]
pub struct NewGroup {
    /// Used as both the group id and its conversation id.
    pub id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    /// Becomes admin.
    pub created_by: UserId,
    /// Other initial members (the creator may be listed; duplicates are ignored).
    pub member_ids: Vec<UserId>,
    pub max_members: u32,
}

/// `PATCH` of a group: absent fields stay, `Some(None)` clears.
#[derive(Clone, Debug, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

/// What removing a member did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRemoved {
    /// The member who became admin because the last admin left, if any.
    pub promoted: Option<UserId>,
    /// Members remaining.
    pub remaining: u32,
}

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub sender_device_id: DeviceId,
    pub client_message_id: Uuid,
    pub encrypted_content: Vec<u8>,
    /// Lowercase hex SHA-256 of `encrypted_content` (checked by the caller).
    pub content_hash: String,
    pub message_type: MessageType,
    pub metadata: MessageMetadata,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub sender_device_id: Option<DeviceId>,
    pub client_message_id: Option<Uuid>,
    /// Empty once the message is soft-deleted (the ciphertext is wiped then).
    pub encrypted_content: Vec<u8>,
    pub content_hash: String,
    pub message_type: MessageType,
    pub metadata: MessageMetadata,
    pub status: MessageStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The outcome of one message of `insert_messages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new message (and its deliveries).
    Created(MessageRecord),
    /// The same `(sender_device_id, client_message_id)` was sent before: the first message.
    Duplicate(MessageRecord),
}

/// A message whose status moved forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub status: MessageStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceMessageRecord {
    pub id: DeviceMessageId,
    pub recipient_device_id: DeviceId,
    pub recipient_user_id: UserId,
    pub sender_id: UserId,
    pub sender_device_id: DeviceId,
    pub payload: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// Counts of one lifecycle run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    pub expired: u64,
    pub undelivered: u64,
    pub purged_deleted: u64,
    pub device_messages: u64,
}

#[async_trait]
pub trait MessagingStore: Send + Sync {
    // --- conversations ---
    /// The 1:1 conversation of `a` and `b`, created (with both as members) if
    /// missing. Race-safe: two concurrent calls get the same conversation.
    /// `Missing("user")` if `b` does not exist. `a == b` is the caller's to refuse.
    async fn one_to_one(
        &self,
        a: UserId,
        b: UserId,
        now: DateTime<Utc>,
    ) -> Result<ConversationRecord>;
    /// The user's conversations, most recently active first.
    async fn conversations_of(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ConversationSummary>>;
    /// One of the user's conversations; `None` if it does not exist or the user is not a participant.
    async fn conversation_of(
        &self,
        user: UserId,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> Result<Option<ConversationSummary>>;
    async fn participants(&self, id: ConversationId) -> Result<Vec<ParticipantRecord>>;
    /// Users who share at least one conversation with `user` (for presence).
    async fn contacts(&self, user: UserId) -> Result<Vec<UserId>>;

    // --- groups ---
    /// Creates group + conversation, the creator as admin and the members.
    /// `Missing("user")` if a member does not exist; `Limit("max_members")` if too many.
    async fn create_group(&self, group: NewGroup, now: DateTime<Utc>) -> Result<GroupRecord>;
    async fn group(&self, id: GroupId) -> Result<Option<GroupRecord>>;
    async fn group_members(&self, id: GroupId) -> Result<Vec<GroupMemberRecord>>;
    async fn update_group(
        &self,
        id: GroupId,
        update: &GroupUpdate,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRecord>>;
    /// Adds a member (also as conversation participant). Atomic with respect to
    /// `max_members` under concurrent adds. `Conflict("member")` if already in,
    /// `Limit("max_members")`, `Missing("user")`, `Missing("group")`.
    async fn add_group_member(
        &self,
        id: GroupId,
        user: UserId,
        invited_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<GroupMemberRecord>;
    /// Removes a member from group and conversation. If no admin remains and
    /// members do, the longest-standing member becomes admin. `None` if not a member.
    async fn remove_group_member(
        &self,
        id: GroupId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<MemberRemoved>>;
    /// Sets a member's role (in both tables). `Conflict("last_admin")` when it
    /// would leave the group without an admin. `None` if not a member.
    async fn set_group_role(
        &self,
        id: GroupId,
        user: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupMemberRecord>>;

    // --- messages ---
    /// Inserts a batch in ONE transaction (group commit): per message, either
    /// the first message of its `(sender_device_id, client_message_id)`, or a
    /// new message with its idempotency row and its delivery rows; bumps the
    /// conversation's `updated_at`. Results are in input order.
    async fn insert_messages(
        &self,
        batch: Vec<NewMessage>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Inserted>>;
    /// A message by id (deleted ones included, with empty content).
    async fn message(&self, id: MessageId) -> Result<Option<MessageRecord>>;
    /// Newest first, strictly before the `(created_at, id)` cursor, leaving out
    /// deleted and expired messages; ids by `queries::MESSAGE_HISTORY` (index only), then content.
    async fn history(
        &self,
        conversation: ConversationId,
        before: Option<(DateTime<Utc>, MessageId)>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageRecord>>;
    /// Replaces content and hash, sets `edited_at`; only the sender's, not deleted, not expired.
    async fn edit_message(
        &self,
        id: MessageId,
        sender: UserId,
        content: Vec<u8>,
        content_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageRecord>>;
    /// Soft delete: sets `deleted_at`, wipes the ciphertext, drops pending deliveries.
    async fn delete_message(
        &self,
        id: MessageId,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageRecord>>;
    /// Adds (`add`) or removes `user` under `emoji` in `metadata.reactions`,
    /// atomically (read-modify-write in one locked transaction).
    async fn set_reaction(
        &self,
        id: MessageId,
        user: UserId,
        emoji: &str,
        add: bool,
    ) -> Result<Option<MessageRecord>>;

    // --- delivery ---
    /// The device's pending deliveries, oldest first, after the `(created_at, id)` cursor.
    /// Deleted or expired messages are left out (and their deliveries dropped).
    async fn pending_deliveries(
        &self,
        device: DeviceId,
        after: Option<(DateTime<Utc>, MessageId)>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageRecord>>;
    /// Deletes the device's deliveries of `ids` (unknown ids are ignored),
    /// records receipts for `user`, and moves statuses to `delivered` where due.
    async fn ack_deliveries(
        &self,
        device: DeviceId,
        user: UserId,
        ids: &[MessageId],
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusChange>>;
    /// Moves the user's read marker forward to `up_to` (never back) and
    /// statuses to `read` where due. `None` if the user is not a participant.
    async fn mark_read(
        &self,
        user: UserId,
        conversation: ConversationId,
        up_to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<StatusChange>>>;

    // --- device inbox ---
    /// Stores messages for devices (`Missing("device")` if one does not exist), in one transaction.
    /// Returns the stored records with `recipient_user_id` filled in from the device row
    /// (callers pass any value there).
    async fn insert_device_messages(
        &self,
        batch: Vec<DeviceMessageRecord>,
    ) -> Result<Vec<DeviceMessageRecord>>;
    async fn pending_device_messages(
        &self,
        device: DeviceId,
        after: Option<(DateTime<Utc>, DeviceMessageId)>,
        limit: u32,
    ) -> Result<Vec<DeviceMessageRecord>>;
    async fn ack_device_messages(&self, device: DeviceId, ids: &[DeviceMessageId]) -> Result<u64>;

    // --- lifecycle (data model §8.1) ---
    /// Deletes messages past `expires_at`, undelivered (`status = 'sent'`)
    /// messages older than `undelivered_before`, soft-deleted ones deleted
    /// before `deleted_before`, and device messages older than `device_before`.
    async fn run_lifecycle(
        &self,
        now: DateTime<Utc>,
        undelivered_before: DateTime<Utc>,
        deleted_before: DateTime<Utc>,
        device_before: DateTime<Utc>,
    ) -> Result<LifecycleReport>;
}
