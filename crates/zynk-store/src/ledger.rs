//! The SQL side of the ledger (data model §3): the writer's queue of pending
//! transactions in `blockchain_transactions` and the `blockchain_identities`
//! mirror. `Store` requires `LedgerStore`, so `Arc<dyn Store>` offers it.
//!
//! The LevelDB log (crate `zynk-ledger`) is the record; these rows are its
//! queryable cache. Its SQL, methods and rows are in the `impl_ledger!` macro
//! of `ledger_impl.rs` that each backend expands.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::{MessageId, UserId};

use crate::Result;

/// A transaction to queue for the ledger (status `pending`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLedgerTx {
    pub id: Uuid,
    /// `0x` + 64 lowercase hex: SHA-256 of `bytes`.
    pub hash: String,
    /// `identity_registration`, `identity_key_rotation`, …
    pub kind: &'static str,
    /// The encoded transaction, exactly what the log hashes.
    pub bytes: Vec<u8>,
    pub user_id: Option<UserId>,
    /// Deterministic cost of the transaction (`gas_used`).
    pub gas_used: i64,
}

/// A row of `blockchain_transactions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerTxRecord {
    pub id: Uuid,
    pub hash: String,
    pub kind: String,
    /// `pending`, `confirmed` or `failed`.
    pub status: String,
    pub bytes: Option<Vec<u8>>,
    pub user_id: Option<UserId>,
    pub block_number: Option<i64>,
    pub block_hash: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// A transaction sealed into a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedTx {
    pub hash: String,
    pub block_number: i64,
    /// Lowercase hex of the block hash.
    pub block_hash: String,
}

/// A registration sealed into a block, mirrored into `blockchain_identities`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityMirror {
    pub did: String,
    pub user_id: UserId,
    /// Base64 of the identity key.
    pub public_key: String,
    pub hash: String,
    pub block_number: i64,
}

/// A sealed `trust_score_update`, mirrored into
/// `blockchain_identities.trust_score` (an absolute value, so re-applying it
/// after a crash is harmless).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustMirror {
    pub did: String,
    /// The new score, 0–100 (clamped again when applied).
    pub new_score: i32,
}

/// A row of `blockchain_identities`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRecord {
    pub did: String,
    pub user_id: UserId,
    pub public_key: String,
    pub trust_score: i32,
    pub transaction_hash: Option<String>,
    pub block_number: Option<i64>,
    pub registered_at: Option<DateTime<Utc>>,
}

/// A message not anchored yet: id, `created_at`, content hash (hex).
pub type UnanchoredMessage = (MessageId, DateTime<Utc>, String);

/// A row of `message_anchors`: one `message_anchor` transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRecord {
    pub id: Uuid,
    /// The batch tree's root, lowercase hex (unique).
    pub merkle_root: String,
    pub message_count: i32,
    /// `0x` + hex of the `message_anchor` transaction.
    pub transaction_hash: String,
    pub block_number: i64,
    pub anchored_at: DateTime<Utc>,
}

/// A row of `message_merkle_proofs`: a message's place in an anchor batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageProofRecord {
    pub message_id: MessageId,
    pub message_created_at: DateTime<Utc>,
    /// The ciphertext hash that was anchored, lowercase hex.
    pub content_hash: String,
    /// Leaf index in the batch tree.
    pub leaf_index: i64,
    /// Sibling hashes (RFC 9162 inclusion proof in the batch), lowercase hex.
    pub proof: Vec<String>,
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Queues a transaction (status `pending`).
    async fn insert_ledger_tx(&self, tx: &NewLedgerTx, now: DateTime<Utc>) -> Result<()>;
    /// Up to `limit` pending transactions, oldest first.
    async fn pending_ledger_txs(&self, limit: u32) -> Result<Vec<LedgerTxRecord>>;
    /// Marks `txs` confirmed (only those still pending), upserts
    /// `identities` (skipping users deleted meanwhile), then sets the
    /// `trust` scores in order, in one transaction.
    async fn confirm_ledger_txs(
        &self,
        txs: &[ConfirmedTx],
        identities: &[IdentityMirror],
        trust: &[TrustMirror],
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Marks a pending transaction failed with `reason`.
    async fn fail_ledger_tx(&self, hash: &str, reason: &str) -> Result<()>;
    /// A transaction by hash.
    async fn ledger_tx(&self, hash: &str) -> Result<Option<LedgerTxRecord>>;
    /// The mirrored identity of a DID.
    async fn ledger_identity(&self, did: &str) -> Result<Option<IdentityRecord>>;
    /// Up to `limit` messages without a `message_merkle_proofs` row, oldest
    /// first (`created_at`, then id); deleted messages are left out.
    async fn unanchored_messages(&self, limit: u32) -> Result<Vec<UnanchoredMessage>>;
    /// Records an anchor and its messages' proofs in one transaction. A
    /// message purged meanwhile is skipped; a `merkle_root` already recorded
    /// is `Conflict("merkle_root")` and changes nothing.
    async fn record_anchor(
        &self,
        anchor: &AnchorRecord,
        proofs: &[MessageProofRecord],
    ) -> Result<()>;
    /// A message's proof row and its anchor, if it is anchored.
    async fn message_proof(
        &self,
        message_id: MessageId,
    ) -> Result<Option<(MessageProofRecord, AnchorRecord)>>;
}
