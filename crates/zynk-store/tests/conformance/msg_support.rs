//! Fixtures of the messaging cases: users with several devices, groups,
//! messages at chosen times, and the consistency of the membership tables.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use zynk_proto::{
    ConversationId, DeviceId, DeviceMessageId, GroupId, MessageMetadata, MessageType, UserId,
};
use zynk_store::{
    DeviceMessageRecord, DeviceRecord, GroupRecord, Inserted, MessageRecord, NewGroup, NewMessage,
    Store,
};

use crate::support::{Account, Harness, device, hash, micros, now, session};

/// A fixed point an hour ago, µs precision: cases place events after it.
pub fn base() -> DateTime<Utc> {
    micros(now()) - Duration::hours(1)
}

pub fn secs(base: DateTime<Utc>, s: i64) -> DateTime<Utc> {
    base + Duration::seconds(s)
}

/// Another device of the account's user.
pub async fn second_device(
    store: &dyn Store,
    account: &Account,
    fingerprint: &str,
) -> DeviceRecord {
    let t = now();
    store
        .login(account.user, device(fingerprint), session(t), t)
        .await
        .expect("login on a second device")
        .0
}

/// A message from the account's first device.
pub fn new_message(conversation: ConversationId, from: &Account) -> NewMessage {
    new_message_from(conversation, from.user, from.device.id)
}

pub fn new_message_from(
    conversation: ConversationId,
    user: UserId,
    device: DeviceId,
) -> NewMessage {
    NewMessage {
        id: zynk_proto::MessageId::new(),
        conversation_id: conversation,
        sender_id: user,
        sender_device_id: device,
        client_message_id: Uuid::new_v4(),
        encrypted_content: Uuid::new_v4().as_bytes().to_vec(),
        content_hash: hash(),
        message_type: MessageType::Text,
        metadata: MessageMetadata::default(),
        expires_at: None,
    }
}

pub fn created(inserted: &Inserted) -> &MessageRecord {
    match inserted {
        Inserted::Created(m) => m,
        Inserted::Duplicate(m) => panic!("expected a new message, got a duplicate of {:?}", m.id),
    }
}

/// Sends one message at `at` and returns it.
pub async fn send_at(store: &dyn Store, message: NewMessage, at: DateTime<Utc>) -> MessageRecord {
    let out = store
        .insert_messages(vec![message], at)
        .await
        .expect("insert_messages");
    assert_eq!(out.len(), 1);
    created(&out[0]).clone()
}

pub async fn send(
    store: &dyn Store,
    conversation: ConversationId,
    from: &Account,
    at: DateTime<Utc>,
) -> MessageRecord {
    send_at(store, new_message(conversation, from), at).await
}

pub fn new_group(creator: UserId, members: &[UserId], max_members: u32) -> NewGroup {
    NewGroup {
        id: GroupId::new(),
        name: "friends".to_owned(),
        description: Some("old friends".to_owned()),
        avatar_url: None,
        created_by: creator,
        member_ids: members.to_vec(),
        max_members,
    }
}

pub async fn group(
    store: &dyn Store,
    creator: UserId,
    members: &[UserId],
    at: DateTime<Utc>,
) -> GroupRecord {
    store
        .create_group(new_group(creator, members, 256), at)
        .await
        .expect("create_group")
}

/// `group_members` and `conversation_participants` hold the same users
/// with the same roles and join times.
pub async fn assert_consistent(store: &dyn Store, id: GroupId) {
    let members: Vec<_> = store
        .group_members(id)
        .await
        .expect("group_members")
        .into_iter()
        .map(|m| (m.user_id, m.role, m.joined_at))
        .collect();
    let participants: Vec<_> = store
        .participants(id)
        .await
        .expect("participants")
        .into_iter()
        .map(|p| (p.user_id, p.role, p.joined_at))
        .collect();
    assert_eq!(
        members, participants,
        "group_members and participants differ"
    );
}

/// Rows of a table that reference a message (`message_id` column).
pub async fn rows_of(h: &Harness, table: &str, message: &MessageRecord) -> i64 {
    h.raw
        .int(&format!(
            "SELECT count(*) FROM {table} WHERE message_id = {}",
            h.raw.uuid(message.id.0)
        ))
        .await
}

/// Delivery rows of one device.
pub async fn deliveries_of(h: &Harness, device: DeviceId) -> i64 {
    h.raw
        .int(&format!(
            "SELECT count(*) FROM deliveries WHERE device_id = {}",
            h.raw.uuid(device.0)
        ))
        .await
}

/// A device message from the account's first device (with a made-up
/// recipient user: the store fills in the device's owner).
pub fn device_message(
    to: DeviceId,
    from: &Account,
    at: chrono::DateTime<Utc>,
) -> DeviceMessageRecord {
    DeviceMessageRecord {
        id: DeviceMessageId::new(),
        recipient_device_id: to,
        recipient_user_id: UserId::new(),
        sender_id: from.user,
        sender_device_id: from.device.id,
        payload: b"sealed".to_vec(),
        created_at: at,
    }
}
