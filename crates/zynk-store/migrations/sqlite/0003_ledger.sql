-- The queryable cache of the ledger (data model §3). The LevelDB Merkle log
-- is the permanent record; these rows can be rebuilt from it, which is why
-- deleting a user may cascade into them.
-- Conventions: see 0001_accounts.sql. Transaction hashes are '0x' + 64
-- lowercase hex characters (SHA-256 of the stored transaction bytes).

CREATE TABLE blockchain_identities (
    -- did:zynk:{user_id}
    did                      TEXT PRIMARY KEY CHECK (did LIKE 'did:zynk:%'),
    user_id                  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key               TEXT NOT NULL,
    trust_score              INTEGER NOT NULL DEFAULT 50 CHECK (trust_score BETWEEN 0 AND 100),
    is_verified              INTEGER NOT NULL DEFAULT 0 CHECK (is_verified IN (0, 1)),
    -- NULL until the registration is in a block.
    transaction_hash         TEXT CHECK (transaction_hash IS NULL OR (
        length(transaction_hash) = 66 AND substr(transaction_hash, 1, 2) = '0x'
        AND NOT substr(transaction_hash, 3) GLOB '*[^0-9a-f]*')),
    block_number             INTEGER CHECK (block_number >= 0),
    blockchain_registered_at TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    CONSTRAINT blockchain_identities_user_key UNIQUE (user_id)
) STRICT;

CREATE TABLE trust_score_history (
    id               BLOB PRIMARY KEY,
    did              TEXT NOT NULL REFERENCES blockchain_identities (did) ON DELETE CASCADE,
    old_score        INTEGER NOT NULL CHECK (old_score BETWEEN 0 AND 100),
    new_score        INTEGER NOT NULL CHECK (new_score BETWEEN 0 AND 100),
    change_reason    TEXT NOT NULL CHECK (change_reason IN
        ('verified_by_community', 'spam_report', 'account_age_milestone')),
    transaction_hash TEXT CHECK (transaction_hash IS NULL OR (
        length(transaction_hash) = 66 AND substr(transaction_hash, 1, 2) = '0x'
        AND NOT substr(transaction_hash, 3) GLOB '*[^0-9a-f]*')),
    -- The user who caused the change; NULL for the system (e.g. account age).
    changed_by       BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL
) STRICT;

CREATE INDEX trust_score_history_did_idx ON trust_score_history (did, created_at);

-- The audit trail outlives the users it mentions (user_id is set to NULL).
CREATE TABLE blockchain_transactions (
    id                BLOB PRIMARY KEY,
    transaction_hash  TEXT NOT NULL CHECK (
        length(transaction_hash) = 66 AND substr(transaction_hash, 1, 2) = '0x'
        AND NOT substr(transaction_hash, 3) GLOB '*[^0-9a-f]*'),
    transaction_type  TEXT NOT NULL CHECK (transaction_type IN ('identity_registration',
        'identity_key_rotation', 'trust_score_update', 'message_anchor')),
    from_address      TEXT,
    to_address        TEXT,
    block_number      INTEGER CHECK (block_number >= 0),
    block_hash        TEXT,
    gas_used          INTEGER CHECK (gas_used >= 0),
    user_id           BLOB REFERENCES users (id) ON DELETE SET NULL,
    -- The identity, message anchor, … the transaction is about (no FK: it
    -- points into different tables by type).
    related_entity_id BLOB,
    status            TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'failed')),
    created_at        TEXT NOT NULL,
    confirmed_at      TEXT,
    CONSTRAINT blockchain_transactions_hash_key UNIQUE (transaction_hash)
) STRICT;

CREATE INDEX blockchain_transactions_user_idx ON blockchain_transactions (user_id);
CREATE INDEX blockchain_transactions_block_idx ON blockchain_transactions (block_number);
CREATE INDEX blockchain_transactions_pending_idx ON blockchain_transactions (created_at)
    WHERE status = 'pending';

CREATE TABLE message_anchors (
    id               BLOB PRIMARY KEY,
    -- SHA-256, lowercase hex.
    merkle_root      TEXT NOT NULL
        CHECK (length(merkle_root) = 64 AND NOT merkle_root GLOB '*[^0-9a-f]*'),
    message_count    INTEGER NOT NULL CHECK (message_count > 0),
    transaction_hash TEXT CHECK (transaction_hash IS NULL OR (
        length(transaction_hash) = 66 AND substr(transaction_hash, 1, 2) = '0x'
        AND NOT substr(transaction_hash, 3) GLOB '*[^0-9a-f]*')),
    block_number     INTEGER CHECK (block_number >= 0),
    anchored_at      TEXT NOT NULL,
    CONSTRAINT message_anchors_merkle_root_key UNIQUE (merkle_root)
) STRICT;

-- message_created_at is not needed for the key here, but PostgreSQL needs it
-- to reference the partitioned messages table, and both schemas keep the
-- same columns.
CREATE TABLE message_merkle_proofs (
    message_id         BLOB PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    message_created_at TEXT NOT NULL,
    content_hash       TEXT NOT NULL
        CHECK (length(content_hash) = 64 AND NOT content_hash GLOB '*[^0-9a-f]*'),
    -- Anchors are permanent: an anchor with proofs cannot be deleted.
    merkle_root_id     BLOB NOT NULL REFERENCES message_anchors (id),
    -- JSON array of sibling hashes.
    proof              TEXT NOT NULL CHECK (json_valid(proof) AND json_type(proof) = 'array'),
    leaf_index         INTEGER NOT NULL CHECK (leaf_index >= 0),
    created_at         TEXT NOT NULL
) STRICT;

CREATE INDEX message_merkle_proofs_root_idx ON message_merkle_proofs (merkle_root_id);
