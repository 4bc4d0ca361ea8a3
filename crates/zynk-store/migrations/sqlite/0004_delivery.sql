-- Delivery (DESIGN §4): per-device delivery inbox, per-user receipts, the
-- device-to-device inbox, and the pair table that makes 1:1 conversations
-- unique. Conventions: see 0001_accounts.sql; the PostgreSQL twin has the
-- same tables and columns.
--
-- Rows that belong to a message go with it (ON DELETE CASCADE). The
-- message_created_at columns are not needed here for the key, but PostgreSQL
-- needs them to reference its partitioned messages table.

-- One row per (device, message) the device has not acknowledged yet: the
-- device's durable queue, replayed oldest first on every (re)connect.
CREATE TABLE deliveries (
    device_id          BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    message_id         BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    message_created_at TEXT NOT NULL,
    conversation_id    BLOB NOT NULL,
    PRIMARY KEY (device_id, message_id)
) STRICT;

-- Catch-up in message order, from a cursor.
CREATE INDEX deliveries_device_order_idx
    ON deliveries (device_id, message_created_at, message_id);
-- The cascade from messages, and "drop the deliveries of this message".
CREATE INDEX deliveries_message_idx ON deliveries (message_id, message_created_at);

-- A user has received a message (on at least one device). Only recipients,
-- never the sender, get receipts.
CREATE TABLE message_receipts (
    message_id         BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    message_created_at TEXT NOT NULL,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivered_at       TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
) STRICT;

CREATE INDEX message_receipts_user_idx ON message_receipts (user_id);

-- Opaque device-to-device messages (key exchange, sync), kept until acked or
-- 30 days old.
CREATE TABLE device_messages (
    id                  BLOB PRIMARY KEY,
    recipient_device_id BLOB NOT NULL,
    recipient_user_id   BLOB NOT NULL,
    -- No foreign keys on the sender: the message outlives them.
    sender_id           BLOB NOT NULL,
    sender_device_id    BLOB NOT NULL,
    payload             BLOB NOT NULL,
    created_at          TEXT NOT NULL,
    FOREIGN KEY (recipient_user_id, recipient_device_id)
        REFERENCES devices (user_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX device_messages_recipient_idx
    ON device_messages (recipient_device_id, created_at, id);
CREATE INDEX device_messages_created_idx ON device_messages (created_at);

-- At most one 1:1 conversation per pair of users: user_low < user_high (UUID
-- byte order), so both orders of a pair hit the same key.
CREATE TABLE one_to_one_conversations (
    user_low        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_high       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    PRIMARY KEY (user_low, user_high),
    CONSTRAINT one_to_one_conversations_conversation_key UNIQUE (conversation_id),
    CHECK (user_low < user_high)
) STRICT;

CREATE INDEX one_to_one_conversations_high_idx ON one_to_one_conversations (user_high);
