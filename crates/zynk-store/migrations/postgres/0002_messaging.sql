-- Conversations, messages, groups, files and calls (data model §2.2–§2.5).
-- Conventions: see 0001_accounts.sql.

CREATE TABLE conversations (
    id         uuid PRIMARY KEY,
    type       text NOT NULL CHECK (type IN ('one_to_one', 'group')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE conversation_participants (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    joined_at       timestamptz NOT NULL,
    last_read_at    timestamptz,
    PRIMARY KEY (conversation_id, user_id)
);

-- "Conversations of a user", and the first half of shares_conversation.
CREATE INDEX conversation_participants_user_idx
    ON conversation_participants (user_id, conversation_id);

-- Partitioned by month of created_at (§9): history queries touch only the
-- months they ask for, and old months are dropped or archived whole.
-- Partitions `messages_YYYY_MM` and `messages_default` (a safety net for rows
-- outside every month) are not created here: the store's partition
-- maintenance creates them (or pg_partman, when installed, with its own
-- names), and `migrate()` runs it, so a fresh database accepts messages at
-- once.
-- The primary key must contain the partition key, hence (id, created_at);
-- ids are random v4 UUIDs, so id alone is unique in practice.
CREATE TABLE messages (
    id                uuid NOT NULL,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The device that sent it, and the id that device gave the message (for
    -- idempotent retries, see message_idempotency). No foreign key: a message
    -- outlives the device that sent it, and the FK would make every device
    -- removal search every partition.
    sender_device_id  uuid,
    client_message_id uuid,
    -- Ciphertext only (an E2EE envelope); the server never sees plaintext.
    encrypted_content bytea NOT NULL,
    -- SHA-256 of encrypted_content, lowercase hex.
    content_hash      text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    message_type      text NOT NULL
        CHECK (message_type IN ('text', 'image', 'file', 'audio', 'video')),
    -- reply_to, mentions, reactions.
    metadata          jsonb,
    status            text NOT NULL DEFAULT 'sent'
        CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    -- Self-destruct time: never served after it.
    expires_at        timestamptz,
    created_at        timestamptz NOT NULL,
    edited_at         timestamptz,
    deleted_at        timestamptz,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- History pages (queries::MESSAGE_HISTORY) are answered from this index alone
-- (an index-only scan, §10.1). id is a key column, not only included, so
-- pages can break ties of equal timestamps; expires_at and deleted_at are
-- included so that the query can leave out expired and deleted messages
-- without visiting the table (both are NULL for most rows, which costs
-- nothing in an index tuple).
CREATE INDEX messages_conversation_created_idx ON messages
    (conversation_id, created_at DESC, id DESC)
    INCLUDE (sender_id, message_type, status, expires_at, deleted_at);
CREATE INDEX messages_sender_idx ON messages (sender_id);
-- Undelivered messages (30-day retention, redelivery): small, partial (§10.2).
CREATE INDEX messages_undelivered_idx ON messages (status, created_at) WHERE status = 'sent';
-- Self-destruct and soft-delete purges.
CREATE INDEX messages_expires_idx ON messages (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX messages_deleted_idx ON messages (deleted_at) WHERE deleted_at IS NOT NULL;

-- Idempotent sends: a retry of (device, client message id) finds the message
-- it already created. A separate table because a unique index of the
-- partitioned `messages` must contain the partition key, which would let a
-- retry in another month create a duplicate. `created_at` is the message's:
-- with message_id it references the message (and names its partition).
-- Note for retention: a partition can only be detached once no row here or
-- in message_merkle_proofs references it.
CREATE TABLE message_idempotency (
    sender_device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    client_message_id uuid NOT NULL,
    message_id        uuid NOT NULL,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (sender_device_id, client_message_id),
    FOREIGN KEY (message_id, created_at) REFERENCES messages (id, created_at) ON DELETE CASCADE
);

CREATE INDEX message_idempotency_message_idx ON message_idempotency (message_id, created_at);

-- Group metadata. The model does not say how a group meets its messages; here
-- every group owns exactly one conversation of type 'group'.
CREATE TABLE groups (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    description     text,
    avatar_url      text,
    max_members     integer NOT NULL DEFAULT 256 CHECK (max_members > 0),
    -- NULL once the creator's account is gone; the group stays.
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT groups_conversation_key UNIQUE (conversation_id)
);

CREATE TABLE group_members (
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    joined_at  timestamptz NOT NULL,
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_user_idx ON group_members (user_id);

-- Encrypted attachments; the bytes live in the blob store at storage_path.
CREATE TABLE files (
    id                       uuid PRIMARY KEY,
    uploader_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id          uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    filename                 text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    -- Hard limit 2 GiB; the configured limit (100 MB in the MVP) is lower.
    file_size                bigint NOT NULL CHECK (file_size > 0 AND file_size <= 2147483648),
    mime_type                text NOT NULL,
    storage_path             text NOT NULL,
    -- The file key sealed to the uploader's own key (opaque to the server).
    encryption_key_encrypted bytea NOT NULL,
    -- SHA-256 of the ciphertext, lowercase hex.
    content_hash             text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    thumbnail_path           text,
    -- dimensions, duration, …
    metadata                 jsonb,
    expires_at               timestamptz,
    created_at               timestamptz NOT NULL,
    deleted_at               timestamptz,
    CONSTRAINT files_storage_path_key UNIQUE (storage_path)
);

CREATE INDEX files_conversation_idx ON files (conversation_id, created_at);
CREATE INDEX files_uploader_idx ON files (uploader_id);
CREATE INDEX files_expires_idx ON files (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE calls (
    id               uuid PRIMARY KEY,
    initiator_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_type        text NOT NULL CHECK (call_type IN ('audio', 'video')),
    status           text NOT NULL DEFAULT 'initiated'
        CHECK (status IN ('initiated', 'ringing', 'in_progress', 'ended', 'missed', 'declined')),
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    started_at       timestamptz,
    ended_at         timestamptz,
    duration_seconds integer CHECK (duration_seconds >= 0),
    created_at       timestamptz NOT NULL
);

CREATE INDEX calls_conversation_idx ON calls (conversation_id, created_at);
CREATE INDEX calls_initiator_idx ON calls (initiator_id);

CREATE TABLE call_participants (
    call_id   uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at timestamptz,
    left_at   timestamptz,
    PRIMARY KEY (call_id, user_id)
);

CREATE INDEX call_participants_user_idx ON call_participants (user_id);
