-- Delivery (DESIGN §4): per-device delivery inbox, per-user receipts, the
-- device-to-device inbox, and the pair table that makes 1:1 conversations
-- unique. Conventions: see 0001_accounts.sql.
--
-- Rows that belong to a message reference it by its whole primary key
-- (id, created_at), as a foreign key to the partitioned table must, and go
-- with it (ON DELETE CASCADE): purging or soft-deleting a message needs no
-- extra statements for them. As for message_idempotency, a partition can only
-- be detached once no row here references it.

-- One row per (device, message) the device has not acknowledged yet: the
-- device's durable queue, replayed oldest first on every (re)connect.
CREATE TABLE deliveries (
    device_id          uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    message_id         uuid NOT NULL,
    message_created_at timestamptz NOT NULL,
    conversation_id    uuid NOT NULL,
    PRIMARY KEY (device_id, message_id),
    FOREIGN KEY (message_id, message_created_at)
        REFERENCES messages (id, created_at) ON DELETE CASCADE
);

-- Catch-up in message order, from a cursor.
CREATE INDEX deliveries_device_order_idx
    ON deliveries (device_id, message_created_at, message_id);
-- The cascade from messages, and "drop the deliveries of this message".
CREATE INDEX deliveries_message_idx ON deliveries (message_id, message_created_at);

-- A user has received a message (on at least one device). Only recipients,
-- never the sender, get receipts.
CREATE TABLE message_receipts (
    message_id         uuid NOT NULL,
    message_created_at timestamptz NOT NULL,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivered_at       timestamptz NOT NULL,
    PRIMARY KEY (message_id, user_id),
    FOREIGN KEY (message_id, message_created_at)
        REFERENCES messages (id, created_at) ON DELETE CASCADE
);

CREATE INDEX message_receipts_user_idx ON message_receipts (user_id);

-- Opaque device-to-device messages (key exchange, sync), kept until acked or
-- 30 days old.
CREATE TABLE device_messages (
    id                  uuid PRIMARY KEY,
    recipient_device_id uuid NOT NULL,
    recipient_user_id   uuid NOT NULL,
    -- No foreign keys on the sender: the message outlives them.
    sender_id           uuid NOT NULL,
    sender_device_id    uuid NOT NULL,
    payload             bytea NOT NULL,
    created_at          timestamptz NOT NULL,
    FOREIGN KEY (recipient_user_id, recipient_device_id)
        REFERENCES devices (user_id, id) ON DELETE CASCADE
);

CREATE INDEX device_messages_recipient_idx
    ON device_messages (recipient_device_id, created_at, id);
CREATE INDEX device_messages_created_idx ON device_messages (created_at);

-- At most one 1:1 conversation per pair of users: user_low < user_high (UUID
-- byte order), so both orders of a pair hit the same key.
CREATE TABLE one_to_one_conversations (
    user_low        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_high       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    PRIMARY KEY (user_low, user_high),
    CONSTRAINT one_to_one_conversations_conversation_key UNIQUE (conversation_id),
    CHECK (user_low < user_high)
);

CREATE INDEX one_to_one_conversations_high_idx ON one_to_one_conversations (user_high);
