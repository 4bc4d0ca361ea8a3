-- Trust scores: who verified or reported whom (one row per pair), which
-- age milestones were granted, and the salt that opens each update's
-- commitment (SHA-256 of changed_by || salt), for the operator only.
ALTER TABLE trust_score_history ADD COLUMN commitment_salt bytea;

CREATE TABLE trust_verifications (
    verifier   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (verifier, target)
);

CREATE TABLE trust_reports (
    reporter   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    -- Set when the report counted towards a spam_report update.
    used_at    timestamptz,
    PRIMARY KEY (reporter, target)
);

CREATE INDEX trust_reports_target_idx ON trust_reports (target) WHERE used_at IS NULL;

CREATE TABLE trust_milestones (
    did        text NOT NULL REFERENCES blockchain_identities (did) ON DELETE CASCADE,
    days       integer NOT NULL CHECK (days > 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (did, days)
);
