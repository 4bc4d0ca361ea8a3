//! Message anchors: commitments to ciphertext hashes, batched in a Merkle tree.
//!
//! `commitment = SHA-256("zynk/msg/v1" ‖ message_id (16 bytes) ‖ content_hash (32 bytes))`,
//! where `content_hash` is the hash of the *ciphertext*; plaintext never reaches
//! the ledger. A batch is an RFC 6962 tree whose leaf `i` is
//! `SHA-256(0x00 ‖ commitment_i)`; its root goes into a `message_anchor`
//! transaction and its leaves are stored under `merkle:{hex root}` as
//! `count u32 BE ‖ commitment [32] × count`. No IO here.

use sha2::{Digest, Sha256};

use crate::Hash;
use crate::merkle::{MemoryLog, inclusion_proof};

const DOMAIN: &[u8] = b"zynk/msg/v1";

/// The commitment to one message (see the module doc).
pub fn message_commitment(message_id: &[u8; 16], content_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(message_id);
    h.update(content_hash);
    h.finalize().into()
}

/// A batch of message commitments and its tree root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorBatch {
    pub root: Hash,
    pub commitments: Vec<Hash>,
}

impl AnchorBatch {
    /// Builds the batch tree.
    pub fn new(commitments: Vec<Hash>) -> Self {
        let mut log = MemoryLog::new();
        for c in &commitments {
            log.append(c);
        }
        Self {
            root: log.current_root(),
            commitments,
        }
    }

    /// The stored form: `count u32 BE ‖ commitments`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 32 * self.commitments.len());
        out.extend_from_slice(&(self.commitments.len() as u32).to_be_bytes());
        for c in &self.commitments {
            out.extend_from_slice(c);
        }
        out
    }

    /// Parses the stored form and recomputes the root. `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (count, rest) = bytes.split_first_chunk::<4>()?;
        let count = u32::from_be_bytes(*count) as usize;
        if rest.len() != count.checked_mul(32)? {
            return None;
        }
        let commitments = rest
            .chunks_exact(32)
            .map(|c| c.try_into().ok())
            .collect::<Option<Vec<Hash>>>()?;
        Some(Self::new(commitments))
    }
}

/// The root of the batch tree and each commitment's inclusion proof (for leaf
/// `i` in a tree of `commitments.len()` leaves; verify with
/// [`crate::verify_inclusion`] on `hash_leaf(commitment)`).
pub fn anchor_batch(commitments: &[Hash]) -> (Hash, Vec<Vec<Hash>>) {
    let mut log = MemoryLog::new();
    for c in commitments {
        log.append(c);
    }
    let size = log.len();
    let proofs = (0..size)
        .map(|i| inclusion_proof(&mut log, i, size).unwrap_or_default())
        .collect();
    (log.current_root(), proofs)
}
