-- The ledger writer's queue: a pending transaction carries its exact encoded
-- bytes (what the log hashes), and a failed one says why it was rejected.
ALTER TABLE blockchain_transactions ADD COLUMN tx_bytes bytea;
ALTER TABLE blockchain_transactions ADD COLUMN failure_reason text;
