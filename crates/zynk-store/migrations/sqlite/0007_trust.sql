-- Trust scores: who verified or reported whom (one row per pair), which
-- age milestones were granted, and the salt that opens each update's
-- commitment (SHA-256 of changed_by || salt), for the operator only.
ALTER TABLE trust_score_history ADD COLUMN commitment_salt BLOB;

CREATE TABLE trust_verifications (
    verifier   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (verifier, target)
) STRICT;

CREATE TABLE trust_reports (
    reporter   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    -- Set when the report counted towards a spam_report update.
    used_at    TEXT,
    PRIMARY KEY (reporter, target)
) STRICT;

CREATE INDEX trust_reports_target_idx ON trust_reports (target) WHERE used_at IS NULL;

CREATE TABLE trust_milestones (
    did        TEXT NOT NULL REFERENCES blockchain_identities (did) ON DELETE CASCADE,
    days       INTEGER NOT NULL CHECK (days > 0),
    created_at TEXT NOT NULL,
    PRIMARY KEY (did, days)
) STRICT;
