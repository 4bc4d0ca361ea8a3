//! The SQL text of the messaging half (`MessagingStore`), in the conventions
//! of `queries`: `$n` placeholders, timestamps bound from Rust, one text for
//! both backends. Where the dialects differ (row locks, JSON access) a
//! statement comes in a `_PG` and a `_SQLITE` version. Statements over a
//! list of ids are completed at run time with `placeholders`.

macro_rules! message_cols {
    () => {
        "id, conversation_id, sender_id, sender_device_id, client_message_id, \
         encrypted_content, content_hash, message_type, metadata, status, expires_at, \
         created_at, edited_at, deleted_at"
    };
}

macro_rules! group_cols {
    () => {
        "id, name, description, avatar_url, max_members, created_by, created_at, updated_at"
    };
}

macro_rules! member_cols {
    () => {
        "user_id, role, joined_at, invited_by"
    };
}

macro_rules! device_message_cols {
    () => {
        "id, recipient_device_id, recipient_user_id, sender_id, sender_device_id, payload, \
         created_at"
    };
}

/// `$first, $first+1, …` (`n` placeholders), for `IN (…)`.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// --- conversations ---

/// user id (existence check).
pub(crate) const USER_EXISTS: &str = "SELECT count(*) FROM users WHERE id = $1";
/// user low, user high: the pair's conversation.
pub(crate) const ONE_TO_ONE: &str = "SELECT c.id, c.type, c.created_at, c.updated_at \
     FROM one_to_one_conversations o JOIN conversations c ON c.id = o.conversation_id \
     WHERE o.user_low = $1 AND o.user_high = $2";
/// user low, user high, conversation id. No row when the pair already has one.
pub(crate) const INSERT_ONE_TO_ONE: &str = "INSERT INTO one_to_one_conversations \
     (user_low, user_high, conversation_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// id, type, now.
pub(crate) const INSERT_CONVERSATION: &str = "INSERT INTO conversations \
     (id, type, created_at, updated_at) VALUES ($1, $2, $3, $3)";
/// conversation id, user id, role, joined_at.
pub(crate) const INSERT_PARTICIPANT: &str = "INSERT INTO conversation_participants \
     (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)";
/// conversation id, now.
pub(crate) const TOUCH_CONVERSATION: &str =
    "UPDATE conversations SET updated_at = $2 WHERE id = $1";
/// conversation id (PostgreSQL: serialises receipts and read markers of it).
/// `NO KEY UPDATE`, not `UPDATE`: it must not wait for the key-share locks
/// that inserting a message takes on its conversation.
pub(crate) const LOCK_CONVERSATION_PG: &str =
    "SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE";

/// The user's conversations with their summaries; `$1` user, `$2` now. The
/// newest message and the unread count come from the history index.
macro_rules! summaries {
    ($filter:literal) => {
        concat!(
            "SELECT * FROM (SELECT c.id, c.type, c.created_at, c.updated_at, \
             g.name AS group_name, \
             (SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id \
             AND m.deleted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > $2)) \
             AS last_message_at, \
             (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id \
             AND m.sender_id <> $1 AND m.deleted_at IS NULL \
             AND (m.expires_at IS NULL OR m.expires_at > $2) \
             AND (p.last_read_at IS NULL OR m.created_at > p.last_read_at)) AS unread_count \
             FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id \
             LEFT JOIN groups g ON g.conversation_id = c.id WHERE p.user_id = $1",
            $filter,
            ") s ORDER BY COALESCE(s.last_message_at, s.updated_at) DESC, s.id DESC"
        )
    };
}
/// user id, now.
pub(crate) const CONVERSATIONS_OF: &str = summaries!("");
/// user id, now, conversation id.
pub(crate) const CONVERSATION_OF: &str = summaries!(" AND c.id = $3");
/// conversation id.
pub(crate) const PARTICIPANTS: &str = "SELECT user_id, role, joined_at, last_read_at \
     FROM conversation_participants WHERE conversation_id = $1 ORDER BY joined_at, user_id";
/// user id.
pub(crate) const CONTACTS: &str = "SELECT DISTINCT b.user_id FROM conversation_participants a \
     JOIN conversation_participants b ON b.conversation_id = a.conversation_id \
     WHERE a.user_id = $1 AND b.user_id <> $1 ORDER BY b.user_id";

// --- groups ---

/// id (= conversation id), name, description, avatar url, max members, creator, now.
pub(crate) const INSERT_GROUP: &str = concat!(
    "INSERT INTO groups (id, conversation_id, name, description, avatar_url, max_members, \
     created_by, created_at, updated_at) VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
    group_cols!()
);
/// id.
pub(crate) const GROUP: &str = concat!("SELECT ", group_cols!(), " FROM groups WHERE id = $1");
/// id: the group's max_members, locking the group row on PostgreSQL.
pub(crate) const LOCK_GROUP_PG: &str = "SELECT max_members FROM groups WHERE id = $1 FOR UPDATE";
/// As `LOCK_GROUP_PG` (SQLite's write transaction already excludes others).
pub(crate) const LOCK_GROUP_SQLITE: &str = "SELECT max_members FROM groups WHERE id = $1";
/// id, name or NULL, set description?, description, set avatar?, avatar, now.
pub(crate) const UPDATE_GROUP: &str = concat!(
    "UPDATE groups SET name = COALESCE($2, name), \
     description = CASE WHEN $3 THEN $4 ELSE description END, \
     avatar_url = CASE WHEN $5 THEN $6 ELSE avatar_url END, updated_at = $7 \
     WHERE id = $1 RETURNING ",
    group_cols!()
);
/// group id, user id, role, joined_at, invited_by.
pub(crate) const INSERT_MEMBER: &str = concat!(
    "INSERT INTO group_members (group_id, user_id, role, joined_at, invited_by) \
     VALUES ($1, $2, $3, $4, $5) RETURNING ",
    member_cols!()
);
/// group id.
pub(crate) const MEMBERS: &str = concat!(
    "SELECT ",
    member_cols!(),
    " FROM group_members WHERE group_id = $1 ORDER BY joined_at, user_id"
);
/// group id, user id.
pub(crate) const MEMBER: &str = concat!(
    "SELECT ",
    member_cols!(),
    " FROM group_members WHERE group_id = $1 AND user_id = $2"
);
/// group id: (members, admins).
pub(crate) const MEMBER_COUNTS: &str = "SELECT count(*) AS members, \
     COALESCE(sum(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0) AS admins \
     FROM group_members WHERE group_id = $1";
/// group id, user id.
pub(crate) const DELETE_MEMBER: &str =
    "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2";
/// conversation id, user id.
pub(crate) const DELETE_PARTICIPANT: &str =
    "DELETE FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2";
/// group id: the longest-standing member.
pub(crate) const SENIOR_MEMBER: &str = "SELECT user_id FROM group_members WHERE group_id = $1 \
     ORDER BY joined_at, user_id LIMIT 1";
/// group id, user id, role.
pub(crate) const SET_MEMBER_ROLE: &str = concat!(
    "UPDATE group_members SET role = $3 WHERE group_id = $1 AND user_id = $2 RETURNING ",
    member_cols!()
);
/// conversation id, user id, role.
pub(crate) const SET_PARTICIPANT_ROLE: &str = "UPDATE conversation_participants SET role = $3 \
     WHERE conversation_id = $1 AND user_id = $2";

// --- messages ---

/// sender device id, client message id: the message this pair created.
pub(crate) const MESSAGE_BY_CLIENT_ID: &str = "SELECT m.id, m.conversation_id, m.sender_id, \
     m.sender_device_id, m.client_message_id, m.encrypted_content, m.content_hash, \
     m.message_type, m.metadata, m.status, m.expires_at, m.created_at, m.edited_at, \
     m.deleted_at FROM message_idempotency i \
     JOIN messages m ON m.id = i.message_id AND m.created_at = i.created_at \
     WHERE i.sender_device_id = $1 AND i.client_message_id = $2";
/// id, conversation id, sender id, sender device id, client message id,
/// content, hash, type, metadata, expires_at, now.
pub(crate) const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages (id, conversation_id, sender_id, sender_device_id, client_message_id, \
     encrypted_content, content_hash, message_type, metadata, status, expires_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'sent', $10, $11) RETURNING ",
    message_cols!()
);
/// sender device id, client message id, message id, created_at. No row if
/// a concurrent transaction took the pair first.
pub(crate) const INSERT_IDEMPOTENCY: &str = "INSERT INTO message_idempotency \
     (sender_device_id, client_message_id, message_id, created_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT DO NOTHING";
/// id, created_at.
pub(crate) const DELETE_MESSAGE_ROW: &str =
    "DELETE FROM messages WHERE id = $1 AND created_at = $2";
/// sending device, message id, created_at, conversation id: one delivery per
/// device of every participant, the sending device excepted.
pub(crate) const INSERT_DELIVERIES: &str = "INSERT INTO deliveries \
     (device_id, message_id, message_created_at, conversation_id) \
     SELECT d.id, $2, $3, $4 FROM conversation_participants p \
     JOIN devices d ON d.user_id = p.user_id WHERE p.conversation_id = $4 AND d.id <> $1";
/// id.
pub(crate) const MESSAGE: &str =
    concat!("SELECT ", message_cols!(), " FROM messages WHERE id = $1");
/// Prefix of the full rows of a history page: conversation id, oldest and
/// newest created_at of the page, then the ids (`placeholders(4, n)`) and `)`.
pub(crate) const MESSAGES_OF_PAGE: &str = concat!(
    "SELECT ",
    message_cols!(),
    " FROM messages WHERE conversation_id = $1 AND created_at >= $2 AND created_at <= $3 \
     AND id IN ("
);
/// id, sender, content, hash, now.
pub(crate) const EDIT_MESSAGE: &str = concat!(
    "UPDATE messages SET encrypted_content = $3, content_hash = $4, edited_at = $5 \
     WHERE id = $1 AND sender_id = $2 AND deleted_at IS NULL \
     AND (expires_at IS NULL OR expires_at > $5) RETURNING ",
    message_cols!()
);
/// message id.
pub(crate) const DELETE_MESSAGE_DELIVERIES: &str = "DELETE FROM deliveries WHERE message_id = $1";
/// id, now, empty content.
pub(crate) const SOFT_DELETE_MESSAGE: &str = concat!(
    "UPDATE messages SET deleted_at = COALESCE(deleted_at, $2), encrypted_content = $3 \
     WHERE id = $1 RETURNING ",
    message_cols!()
);
/// id: the metadata of a message not deleted, row-locked.
pub(crate) const MESSAGE_METADATA_PG: &str =
    "SELECT metadata FROM messages WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE";
/// As `MESSAGE_METADATA_PG`.
pub(crate) const MESSAGE_METADATA_SQLITE: &str =
    "SELECT metadata FROM messages WHERE id = $1 AND deleted_at IS NULL";
/// id, metadata.
pub(crate) const SET_METADATA: &str = concat!(
    "UPDATE messages SET metadata = $2 WHERE id = $1 RETURNING ",
    message_cols!()
);

// --- delivery ---

/// device id, cursor created_at, cursor id, limit: the device's pending
/// deliveries in message order (deleted and expired ones included: the
/// caller drops those).
pub(crate) const PENDING_DELIVERIES: &str = "SELECT m.id, m.conversation_id, m.sender_id, \
     m.sender_device_id, m.client_message_id, m.encrypted_content, m.content_hash, \
     m.message_type, m.metadata, m.status, m.expires_at, m.created_at, m.edited_at, \
     m.deleted_at FROM deliveries d \
     JOIN messages m ON m.id = d.message_id AND m.created_at = d.message_created_at \
     WHERE d.device_id = $1 AND (d.message_created_at, d.message_id) > ($2, $3) \
     ORDER BY d.message_created_at, d.message_id LIMIT $4";
/// Prefix of: device id, then the message ids (`placeholders(2, n)`) and `)`.
pub(crate) const DELETE_DEVICE_DELIVERIES: &str =
    "DELETE FROM deliveries WHERE device_id = $1 AND message_id IN (";
/// device id, message id.
pub(crate) const DELIVERY_CONVERSATION: &str =
    "SELECT conversation_id FROM deliveries WHERE device_id = $1 AND message_id = $2";
/// device id, message id: the message's created_at if the device had it pending.
pub(crate) const DELETE_DELIVERY: &str = "DELETE FROM deliveries \
     WHERE device_id = $1 AND message_id = $2 RETURNING message_created_at";
/// message id, created_at, user id, now: a receipt, unless the user sent it.
pub(crate) const INSERT_RECEIPT: &str = "INSERT INTO message_receipts \
     (message_id, message_created_at, user_id, delivered_at) \
     SELECT id, created_at, $3, $4 FROM messages \
     WHERE id = $1 AND created_at = $2 AND sender_id <> $3 ON CONFLICT DO NOTHING";
/// message id, created_at: `delivered` once every other participant (who
/// was one when it was sent) has a receipt.
pub(crate) const MARK_DELIVERED: &str = "UPDATE messages SET status = 'delivered' \
     WHERE id = $1 AND created_at = $2 AND status = 'sent' AND NOT EXISTS (\
     SELECT 1 FROM conversation_participants p \
     WHERE p.conversation_id = messages.conversation_id \
     AND p.user_id <> messages.sender_id AND p.joined_at <= messages.created_at \
     AND NOT EXISTS (SELECT 1 FROM message_receipts r \
     WHERE r.message_id = messages.id AND r.user_id = p.user_id)) \
     RETURNING id, conversation_id, sender_id, status";
/// conversation id, user id: the user's read marker (no row: not a participant).
pub(crate) const READ_MARKER: &str = "SELECT last_read_at FROM conversation_participants \
     WHERE conversation_id = $1 AND user_id = $2";
/// conversation id, user id, marker.
pub(crate) const SET_READ_MARKER: &str = "UPDATE conversation_participants SET last_read_at = $3 \
     WHERE conversation_id = $1 AND user_id = $2";

/// `read` for the conversation's messages in (`$2`, `$3`] that every other
/// participant (who was one when it was sent) has read and allows read
/// receipts for; `$1` conversation id. `$rr` is the dialect's "allows read
/// receipts" of profile `u` (absent: yes).
macro_rules! mark_read {
    ($rr:literal) => {
        concat!(
            "UPDATE messages SET status = 'read' WHERE conversation_id = $1 \
             AND created_at > $2 AND created_at <= $3 AND status IN ('sent', 'delivered') \
             AND deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM conversation_participants p \
             LEFT JOIN user_profiles u ON u.user_id = p.user_id \
             WHERE p.conversation_id = messages.conversation_id \
             AND p.user_id <> messages.sender_id AND p.joined_at <= messages.created_at \
             AND (p.last_read_at IS NULL OR p.last_read_at < messages.created_at OR NOT ",
            $rr,
            ")) RETURNING id, conversation_id, sender_id, status"
        )
    };
}
pub(crate) const MARK_READ_PG: &str =
    mark_read!("COALESCE((u.privacy_settings ->> 'read_receipts')::boolean, true)");
pub(crate) const MARK_READ_SQLITE: &str =
    mark_read!("COALESCE(json_extract(u.privacy_settings, '$.read_receipts'), 1)");

// --- device inbox ---

/// id, recipient device, sender, sender device, payload, created_at; the
/// recipient user is the device's owner. No row if the device does not exist.
pub(crate) const INSERT_DEVICE_MESSAGE: &str = concat!(
    "INSERT INTO device_messages (",
    device_message_cols!(),
    ") SELECT $1, d.id, d.user_id, $3, $4, $5, $6 FROM devices d WHERE d.id = $2 RETURNING ",
    device_message_cols!()
);
/// device id, cursor created_at, cursor id, limit.
pub(crate) const PENDING_DEVICE_MESSAGES: &str = concat!(
    "SELECT ",
    device_message_cols!(),
    " FROM device_messages WHERE recipient_device_id = $1 AND (created_at, id) > ($2, $3) \
     ORDER BY created_at, id LIMIT $4"
);
/// device id, id.
pub(crate) const ACK_DEVICE_MESSAGE: &str =
    "DELETE FROM device_messages WHERE recipient_device_id = $1 AND id = $2";

// --- lifecycle (deliveries, receipts and idempotency rows cascade) ---

/// now.
pub(crate) const PURGE_EXPIRED: &str = "DELETE FROM messages WHERE expires_at <= $1";
/// bound.
pub(crate) const PURGE_UNDELIVERED: &str =
    "DELETE FROM messages WHERE status = 'sent' AND created_at < $1";
/// bound.
pub(crate) const PURGE_DELETED: &str = "DELETE FROM messages WHERE deleted_at < $1";
/// bound.
pub(crate) const PURGE_DEVICE_MESSAGES: &str = "DELETE FROM device_messages WHERE created_at < $1";
