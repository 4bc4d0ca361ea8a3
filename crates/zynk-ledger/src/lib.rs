//! Zynk's ledger: a tamper-evident, publicly verifiable log — not a blockchain.
//!
//! # Layout
//!
//! - [`merkle`] — the RFC 6962 / RFC 9162 append-only Merkle log: leaf and node
//!   hashing, roots, inclusion and consistency proofs over a [`merkle::NodeStore`]
//!   ([`merkle::MemoryLog`] in memory, [`Ledger`] in LevelDB).
//! - [`verify`] — proof verification. Pure functions, no IO: the client SDK uses it.
//! - [`tx`] — transactions (log entries) and their fixed, versioned binary encoding.
//! - [`block`] — blocks, the ledger signing key, signed checkpoints (C2SP
//!   tlog-checkpoint + signed-note) and [`block::verify_checkpoint`].
//! - [`anchor`] — message commitments and batch trees for `message_anchor`.
//! - [`store`] — [`Ledger`]: persistence in LevelDB, one atomic write batch per block.
//! - [`audit`] — [`Ledger::verify`]: re-checks everything stored.
//!
//! # Invariants
//!
//! - Entries never mutate: a transaction's bytes, its leaf and every stored
//!   complete-subtree hash are written once, in the batch of their block.
//! - A block is written whole or not at all (one LevelDB `WriteBatch`, synced):
//!   after a crash the ledger reopens at the last whole block.
//! - The log's leaf `i` is `SHA-256(0x00 ‖ bytes of transaction i)`; a block's
//!   signed checkpoint commits to the log size and root after the block.
//! - [`verify`], [`merkle`]'s algorithms, [`tx`], [`anchor`] and checkpoint
//!   verification do no IO; only [`store`] and [`audit`] touch LevelDB.
//! - No personal data in the log: DIDs name user ids; reporters and other private
//!   details are bound by hash commitments only; anchors commit to ciphertext
//!   hashes, never plaintext.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod anchor;
pub mod audit;
pub mod block;
pub mod hex;
pub mod merkle;
mod records;
pub mod store;
pub mod tx;
pub mod verify;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

pub use anchor::{
    AnchorBatch, MessageProof, MessageProofError, anchor_batch, message_commitment,
    verify_message_proof,
};
pub use audit::{AuditError, Report};
pub use block::{Block, Checkpoint, CheckpointError, LedgerKey, verify_checkpoint};
pub use store::{IdentityState, Ledger, LedgerError, TxRecord};
pub use tx::{Transaction, TrustReason, TxError, TxHash};
pub use verify::{VerifyError, root_from_inclusion, verify_consistency, verify_inclusion};
