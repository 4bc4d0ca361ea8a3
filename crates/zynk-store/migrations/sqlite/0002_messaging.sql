-- Conversations, messages, groups, files and calls (data model §2.2–§2.5).
-- Conventions: see 0001_accounts.sql. SQLite has no partitions: `messages`
-- is one table here; the PostgreSQL twin is partitioned by month.

CREATE TABLE conversations (
    id         BLOB PRIMARY KEY,
    type       TEXT NOT NULL CHECK (type IN ('one_to_one', 'group')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE conversation_participants (
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    joined_at       TEXT NOT NULL,
    last_read_at    TEXT,
    PRIMARY KEY (conversation_id, user_id)
) STRICT;

-- "Conversations of a user", and the first half of shares_conversation.
CREATE INDEX conversation_participants_user_idx
    ON conversation_participants (user_id, conversation_id);

CREATE TABLE messages (
    id                BLOB PRIMARY KEY,
    conversation_id   BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The device that sent it, and the id that device gave the message (for
    -- idempotent retries, see message_idempotency). No foreign key: a message
    -- outlives the device that sent it.
    sender_device_id  BLOB,
    client_message_id BLOB,
    -- Ciphertext only (an E2EE envelope); the server never sees plaintext.
    encrypted_content BLOB NOT NULL,
    -- SHA-256 of encrypted_content, lowercase hex.
    content_hash      TEXT NOT NULL
        CHECK (length(content_hash) = 64 AND NOT content_hash GLOB '*[^0-9a-f]*'),
    message_type      TEXT NOT NULL
        CHECK (message_type IN ('text', 'image', 'file', 'audio', 'video')),
    -- JSON: reply_to, mentions, reactions.
    metadata          TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
    status            TEXT NOT NULL DEFAULT 'sent'
        CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    -- Self-destruct time: never served after it.
    expires_at        TEXT,
    created_at        TEXT NOT NULL,
    edited_at         TEXT,
    deleted_at        TEXT
) STRICT;

-- History pages (queries::MESSAGE_HISTORY). SQLite has no INCLUDE, so the
-- covered columns are appended to the key; the query then never reads the
-- table (SQLite's "covering index").
CREATE INDEX messages_conversation_created_idx ON messages
    (conversation_id, created_at DESC, id DESC, sender_id, message_type, status,
     expires_at, deleted_at);
CREATE INDEX messages_sender_idx ON messages (sender_id);
-- Undelivered messages (30-day retention, redelivery): small, partial.
CREATE INDEX messages_undelivered_idx ON messages (status, created_at) WHERE status = 'sent';
-- Self-destruct and soft-delete purges.
CREATE INDEX messages_expires_idx ON messages (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX messages_deleted_idx ON messages (deleted_at) WHERE deleted_at IS NOT NULL;

-- Idempotent sends: a retry of (device, client message id) finds the message
-- it already created. A separate table because on PostgreSQL a unique index
-- of the partitioned `messages` must contain the partition key, which would
-- let a retry in another month create a duplicate. `created_at` is the
-- message's, so the row also locates its partition.
CREATE TABLE message_idempotency (
    sender_device_id  BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    client_message_id BLOB NOT NULL,
    message_id        BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (sender_device_id, client_message_id)
) STRICT;

CREATE INDEX message_idempotency_message_idx ON message_idempotency (message_id);

-- Group metadata. The model does not say how a group meets its messages; here
-- every group owns exactly one conversation of type 'group'.
CREATE TABLE groups (
    id              BLOB PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    description     TEXT,
    avatar_url      TEXT,
    max_members     INTEGER NOT NULL DEFAULT 256 CHECK (max_members > 0),
    -- NULL once the creator's account is gone; the group stays.
    created_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT groups_conversation_key UNIQUE (conversation_id)
) STRICT;

CREATE TABLE group_members (
    group_id   BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    joined_at  TEXT NOT NULL,
    invited_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (group_id, user_id)
) STRICT;

CREATE INDEX group_members_user_idx ON group_members (user_id);

-- Encrypted attachments; the bytes live in the blob store at storage_path.
CREATE TABLE files (
    id                       BLOB PRIMARY KEY,
    uploader_id              BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id          BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    filename                 TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    -- Hard limit 2 GiB; the configured limit (100 MB in the MVP) is lower.
    file_size                INTEGER NOT NULL CHECK (file_size > 0 AND file_size <= 2147483648),
    mime_type                TEXT NOT NULL,
    storage_path             TEXT NOT NULL,
    -- The file key sealed to the uploader's own key (opaque to the server).
    encryption_key_encrypted BLOB NOT NULL,
    -- SHA-256 of the ciphertext, lowercase hex.
    content_hash             TEXT NOT NULL
        CHECK (length(content_hash) = 64 AND NOT content_hash GLOB '*[^0-9a-f]*'),
    thumbnail_path           TEXT,
    -- JSON: dimensions, duration, …
    metadata                 TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
    expires_at               TEXT,
    created_at               TEXT NOT NULL,
    deleted_at               TEXT,
    CONSTRAINT files_storage_path_key UNIQUE (storage_path)
) STRICT;

CREATE INDEX files_conversation_idx ON files (conversation_id, created_at);
CREATE INDEX files_uploader_idx ON files (uploader_id);
CREATE INDEX files_expires_idx ON files (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE calls (
    id               BLOB PRIMARY KEY,
    initiator_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_type        TEXT NOT NULL CHECK (call_type IN ('audio', 'video')),
    status           TEXT NOT NULL DEFAULT 'initiated'
        CHECK (status IN ('initiated', 'ringing', 'in_progress', 'ended', 'missed', 'declined')),
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    started_at       TEXT,
    ended_at         TEXT,
    duration_seconds INTEGER CHECK (duration_seconds >= 0),
    created_at       TEXT NOT NULL
) STRICT;

CREATE INDEX calls_conversation_idx ON calls (conversation_id, created_at);
CREATE INDEX calls_initiator_idx ON calls (initiator_id);

CREATE TABLE call_participants (
    call_id   BLOB NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at TEXT,
    left_at   TEXT,
    PRIMARY KEY (call_id, user_id)
) STRICT;

CREATE INDEX call_participants_user_idx ON call_participants (user_id);
