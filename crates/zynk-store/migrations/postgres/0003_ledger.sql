-- The queryable cache of the ledger (data model §3). The LevelDB Merkle log
-- is the permanent record; these rows can be rebuilt from it, which is why
-- deleting a user may cascade into them.
-- Conventions: see 0001_accounts.sql. Transaction hashes are '0x' + 64
-- lowercase hex characters (SHA-256 of the stored transaction bytes).

CREATE TABLE blockchain_identities (
    -- did:zynk:{user_id}
    did                      text PRIMARY KEY CHECK (did LIKE 'did:zynk:%'),
    user_id                  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key               text NOT NULL,
    trust_score              integer NOT NULL DEFAULT 50 CHECK (trust_score BETWEEN 0 AND 100),
    is_verified              boolean NOT NULL DEFAULT false,
    -- NULL until the registration is in a block.
    transaction_hash         text CHECK (transaction_hash ~ '^0x[0-9a-f]{64}$'),
    block_number             bigint CHECK (block_number >= 0),
    blockchain_registered_at timestamptz,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    CONSTRAINT blockchain_identities_user_key UNIQUE (user_id)
);

CREATE TABLE trust_score_history (
    id               uuid PRIMARY KEY,
    did              text NOT NULL REFERENCES blockchain_identities (did) ON DELETE CASCADE,
    old_score        integer NOT NULL CHECK (old_score BETWEEN 0 AND 100),
    new_score        integer NOT NULL CHECK (new_score BETWEEN 0 AND 100),
    change_reason    text NOT NULL CHECK (change_reason IN
        ('verified_by_community', 'spam_report', 'account_age_milestone')),
    transaction_hash text CHECK (transaction_hash ~ '^0x[0-9a-f]{64}$'),
    -- The user who caused the change; NULL for the system (e.g. account age).
    changed_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL
);

CREATE INDEX trust_score_history_did_idx ON trust_score_history (did, created_at);

-- The audit trail outlives the users it mentions (user_id is set to NULL).
CREATE TABLE blockchain_transactions (
    id                uuid PRIMARY KEY,
    transaction_hash  text NOT NULL CHECK (transaction_hash ~ '^0x[0-9a-f]{64}$'),
    transaction_type  text NOT NULL CHECK (transaction_type IN ('identity_registration',
        'identity_key_rotation', 'trust_score_update', 'message_anchor')),
    from_address      text,
    to_address        text,
    block_number      bigint CHECK (block_number >= 0),
    block_hash        text,
    gas_used          bigint CHECK (gas_used >= 0),
    user_id           uuid REFERENCES users (id) ON DELETE SET NULL,
    -- The identity, message anchor, … the transaction is about (no FK: it
    -- points into different tables by type).
    related_entity_id uuid,
    status            text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'failed')),
    created_at        timestamptz NOT NULL,
    confirmed_at      timestamptz,
    CONSTRAINT blockchain_transactions_hash_key UNIQUE (transaction_hash)
);

CREATE INDEX blockchain_transactions_user_idx ON blockchain_transactions (user_id);
CREATE INDEX blockchain_transactions_block_idx ON blockchain_transactions (block_number);
CREATE INDEX blockchain_transactions_pending_idx ON blockchain_transactions (created_at)
    WHERE status = 'pending';

CREATE TABLE message_anchors (
    id               uuid PRIMARY KEY,
    -- SHA-256, lowercase hex.
    merkle_root      text NOT NULL CHECK (merkle_root ~ '^[0-9a-f]{64}$'),
    message_count    integer NOT NULL CHECK (message_count > 0),
    transaction_hash text CHECK (transaction_hash ~ '^0x[0-9a-f]{64}$'),
    block_number     bigint CHECK (block_number >= 0),
    anchored_at      timestamptz NOT NULL,
    CONSTRAINT message_anchors_merkle_root_key UNIQUE (merkle_root)
);

-- message_id is the key, as in the model; message_created_at is there because
-- a foreign key to the partitioned messages table must name its whole
-- primary key (id, created_at).
CREATE TABLE message_merkle_proofs (
    message_id         uuid PRIMARY KEY,
    message_created_at timestamptz NOT NULL,
    content_hash       text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    -- Anchors are permanent: an anchor with proofs cannot be deleted.
    merkle_root_id     uuid NOT NULL REFERENCES message_anchors (id),
    -- JSON array of sibling hashes.
    proof              jsonb NOT NULL CHECK (jsonb_typeof(proof) = 'array'),
    leaf_index         bigint NOT NULL CHECK (leaf_index >= 0),
    created_at         timestamptz NOT NULL,
    FOREIGN KEY (message_id, message_created_at)
        REFERENCES messages (id, created_at) ON DELETE CASCADE
);

CREATE INDEX message_merkle_proofs_root_idx ON message_merkle_proofs (merkle_root_id);
CREATE INDEX message_merkle_proofs_message_idx ON message_merkle_proofs (message_id, message_created_at);
