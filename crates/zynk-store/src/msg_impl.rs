//! `MessagingStore`, written once and expanded by each backend, as
//! `store_impl` does for `Store`. One macro per area keeps each file small:
//!
//! - `msg_conversations` — 1:1 conversations, summaries, participants;
//! - `msg_groups` — groups and their members;
//! - `msg_messages` — sending (group commit), history, edit, delete, reactions;
//! - `msg_delivery` — the delivery inbox, receipts, read markers, the device
//!   inbox and the lifecycle.
//!
//! Each expands to a module of free functions over the backend's store;
//! `impl_messaging!` expands them all and the trait impl that calls them.
//!
//! Concurrency on PostgreSQL (SQLite has one writer, so none of this arises
//! there): status changes that depend on other participants' rows (receipts,
//! read markers) lock the conversation row first, so two of them in one
//! conversation take turns and the second sees what the first wrote;
//! `add_group_member`, `remove_group_member` and `set_group_role` lock the
//! group row; `set_reaction` locks the message row. Where a transaction takes
//! several conversation locks (an ack, a batch of sends touching
//! `updated_at`) it takes them in id order, so these never deadlock each
//! other. A lifecycle run deletes in whatever order it finds rows; should it
//! ever deadlock with an ack, PostgreSQL aborts one and the next run or ack
//! retries.

/// `impl_messaging!(StoreType, sqlx::Database)` implements `MessagingStore`.
macro_rules! impl_messaging {
    ($store:ident, $db:ty) => {
        $crate::msg_conversations::impl_conversations!($store, $db);
        $crate::msg_groups::impl_groups!($store, $db);
        $crate::msg_messages::impl_messages!($store, $db);
        $crate::msg_delivery::impl_delivery!($store, $db);

        mod msg_store {
            use chrono::{DateTime, Utc};
            use zynk_proto::{
                ConversationId, DeviceId, DeviceMessageId, GroupId, MessageId, Role, UserId,
            };

            use super::{msg_conversations, msg_delivery, msg_groups, msg_messages, $store};
            use $crate::{
                ConversationRecord, ConversationSummary, DeviceMessageRecord, GroupMemberRecord,
                GroupRecord, GroupUpdate, Inserted, LifecycleReport, MemberRemoved, MessageRecord,
                MessagingStore, NewGroup, NewMessage, ParticipantRecord, Result, StatusChange,
            };

            #[async_trait::async_trait]
            impl MessagingStore for $store {
                async fn one_to_one(
                    &self,
                    a: UserId,
                    b: UserId,
                    now: DateTime<Utc>,
                ) -> Result<ConversationRecord> {
                    msg_conversations::one_to_one(self, a, b, now).await
                }

                async fn conversations_of(
                    &self,
                    user: UserId,
                    now: DateTime<Utc>,
                ) -> Result<Vec<ConversationSummary>> {
                    msg_conversations::conversations_of(self, user, now).await
                }

                async fn conversation_of(
                    &self,
                    user: UserId,
                    id: ConversationId,
                    now: DateTime<Utc>,
                ) -> Result<Option<ConversationSummary>> {
                    msg_conversations::conversation_of(self, user, id, now).await
                }

                async fn participants(&self, id: ConversationId) -> Result<Vec<ParticipantRecord>> {
                    msg_conversations::participants(self, id).await
                }

                async fn contacts(&self, user: UserId) -> Result<Vec<UserId>> {
                    msg_conversations::contacts(self, user).await
                }

                async fn create_group(
                    &self,
                    group: NewGroup,
                    now: DateTime<Utc>,
                ) -> Result<GroupRecord> {
                    msg_groups::create_group(self, group, now).await
                }

                async fn group(&self, id: GroupId) -> Result<Option<GroupRecord>> {
                    msg_groups::group(self, id).await
                }

                async fn group_members(&self, id: GroupId) -> Result<Vec<GroupMemberRecord>> {
                    msg_groups::group_members(self, id).await
                }

                async fn update_group(
                    &self,
                    id: GroupId,
                    update: &GroupUpdate,
                    now: DateTime<Utc>,
                ) -> Result<Option<GroupRecord>> {
                    msg_groups::update_group(self, id, update, now).await
                }

                async fn add_group_member(
                    &self,
                    id: GroupId,
                    user: UserId,
                    invited_by: UserId,
                    now: DateTime<Utc>,
                ) -> Result<GroupMemberRecord> {
                    msg_groups::add_group_member(self, id, user, invited_by, now).await
                }

                async fn remove_group_member(
                    &self,
                    id: GroupId,
                    user: UserId,
                    now: DateTime<Utc>,
                ) -> Result<Option<MemberRemoved>> {
                    msg_groups::remove_group_member(self, id, user, now).await
                }

                async fn set_group_role(
                    &self,
                    id: GroupId,
                    user: UserId,
                    role: Role,
                    now: DateTime<Utc>,
                ) -> Result<Option<GroupMemberRecord>> {
                    msg_groups::set_group_role(self, id, user, role, now).await
                }

                async fn insert_messages(
                    &self,
                    batch: Vec<NewMessage>,
                    now: DateTime<Utc>,
                ) -> Result<Vec<Inserted>> {
                    msg_messages::insert_messages(self, batch, now).await
                }

                async fn message(&self, id: MessageId) -> Result<Option<MessageRecord>> {
                    msg_messages::message(self, id).await
                }

                async fn history(
                    &self,
                    conversation: ConversationId,
                    before: Option<(DateTime<Utc>, MessageId)>,
                    limit: u32,
                    now: DateTime<Utc>,
                ) -> Result<Vec<MessageRecord>> {
                    msg_messages::history(self, conversation, before, limit, now).await
                }

                async fn edit_message(
                    &self,
                    id: MessageId,
                    sender: UserId,
                    content: Vec<u8>,
                    content_hash: &str,
                    now: DateTime<Utc>,
                ) -> Result<Option<MessageRecord>> {
                    msg_messages::edit_message(self, id, sender, content, content_hash, now).await
                }

                async fn delete_message(
                    &self,
                    id: MessageId,
                    now: DateTime<Utc>,
                ) -> Result<Option<MessageRecord>> {
                    msg_messages::delete_message(self, id, now).await
                }

                async fn set_reaction(
                    &self,
                    id: MessageId,
                    user: UserId,
                    emoji: &str,
                    add: bool,
                ) -> Result<Option<MessageRecord>> {
                    msg_messages::set_reaction(self, id, user, emoji, add).await
                }

                async fn pending_deliveries(
                    &self,
                    device: DeviceId,
                    after: Option<(DateTime<Utc>, MessageId)>,
                    limit: u32,
                    now: DateTime<Utc>,
                ) -> Result<Vec<MessageRecord>> {
                    msg_delivery::pending_deliveries(self, device, after, limit, now).await
                }

                async fn ack_deliveries(
                    &self,
                    device: DeviceId,
                    user: UserId,
                    ids: &[MessageId],
                    now: DateTime<Utc>,
                ) -> Result<Vec<StatusChange>> {
                    msg_delivery::ack_deliveries(self, device, user, ids, now).await
                }

                async fn mark_read(
                    &self,
                    user: UserId,
                    conversation: ConversationId,
                    up_to: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> Result<Option<Vec<StatusChange>>> {
                    msg_delivery::mark_read(self, user, conversation, up_to, now).await
                }

                async fn insert_device_messages(
                    &self,
                    batch: Vec<DeviceMessageRecord>,
                ) -> Result<Vec<DeviceMessageRecord>> {
                    msg_delivery::insert_device_messages(self, batch).await
                }

                async fn pending_device_messages(
                    &self,
                    device: DeviceId,
                    after: Option<(DateTime<Utc>, DeviceMessageId)>,
                    limit: u32,
                ) -> Result<Vec<DeviceMessageRecord>> {
                    msg_delivery::pending_device_messages(self, device, after, limit).await
                }

                async fn ack_device_messages(
                    &self,
                    device: DeviceId,
                    ids: &[DeviceMessageId],
                ) -> Result<u64> {
                    msg_delivery::ack_device_messages(self, device, ids).await
                }

                async fn run_lifecycle(
                    &self,
                    now: DateTime<Utc>,
                    undelivered_before: DateTime<Utc>,
                    deleted_before: DateTime<Utc>,
                    device_before: DateTime<Utc>,
                ) -> Result<LifecycleReport> {
                    msg_delivery::run_lifecycle(
                        self,
                        now,
                        undelivered_before,
                        deleted_before,
                        device_before,
                    )
                    .await
                }
            }
        }
    };
}

pub(crate) use impl_messaging;

/// The smallest cursor: every row comes after it.
pub(crate) fn start_cursor() -> (chrono::DateTime<chrono::Utc>, uuid::Uuid) {
    (chrono::DateTime::UNIX_EPOCH, uuid::Uuid::nil())
}

/// Caps a page size, so that a page never needs more binds than a backend allows.
pub(crate) fn page_size(limit: u32) -> i64 {
    i64::from(limit.min(1000))
}
