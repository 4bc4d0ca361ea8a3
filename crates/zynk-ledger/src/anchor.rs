//! Message anchors: commitments to ciphertext hashes, batched in a Merkle tree.
//!
//! `commitment = SHA-256("zynk/msg/v1" ‖ message_id (16 bytes) ‖ content_hash (32 bytes))`,
//! where `content_hash` is the hash of the *ciphertext*; plaintext never reaches
//! the ledger. A batch is an RFC 6962 tree whose leaf `i` is
//! `SHA-256(0x00 ‖ commitment_i)`; its root goes into a `message_anchor`
//! transaction and its leaves are stored under `merkle:{hex root}` as
//! `count u32 BE ‖ commitment [32] × count`. No IO here.

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::block::{Checkpoint, CheckpointError, verify_checkpoint};
use crate::merkle::{MemoryLog, hash_leaf, inclusion_proof};
use crate::tx::Transaction;
use crate::verify::{VerifyError, root_from_inclusion};
use crate::{Hash, verify_inclusion};

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

/// A message's proof bundle, as `GET /v1/messages/{id}/proof` hands it out
/// (decoded): its place in the anchor batch, the `message_anchor`
/// transaction, that transaction's place in the log, and the signed
/// checkpoint of the block that holds it.
#[derive(Debug, Clone, Copy)]
pub struct MessageProof<'a> {
    /// Leaf index of the message's commitment in the batch tree.
    pub leaf_index: u64,
    /// Number of messages in the batch.
    pub batch_size: u64,
    /// Inclusion proof of the commitment in the batch tree.
    pub batch_path: &'a [Hash],
    /// The batch root the bundle claims.
    pub merkle_root: &'a Hash,
    /// The encoded `message_anchor` transaction (what the log leaf hashes).
    pub tx_bytes: &'a [u8],
    /// Leaf index of the transaction in the log.
    pub tx_index: u64,
    /// Log size the inclusion proof is for (the block's checkpoint size).
    pub log_size: u64,
    /// Inclusion proof of the transaction in the log of `log_size`.
    pub inclusion_proof: &'a [Hash],
    /// The block's signed checkpoint (C2SP signed note).
    pub checkpoint: &'a str,
}

/// Why a message proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageProofError {
    #[error("batch path: {0}")]
    BatchPath(VerifyError),
    #[error("the batch path leads to another root than the bundle's")]
    BatchRoot,
    #[error("the transaction is not a message_anchor")]
    NotAnAnchor,
    #[error("the anchor transaction commits to another root or batch size")]
    AnchorMismatch,
    #[error("log inclusion: {0}")]
    Inclusion(VerifyError),
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("the checkpoint is for another log size")]
    SizeMismatch,
}

/// Verifies a message proof offline (no IO): recomputes the commitment to
/// `(message_id, content_hash)`, the batch root via the path, checks that the
/// transaction is a `message_anchor` of that root and batch size, that it is
/// in the log via the inclusion proof, that the log root is the checkpoint's,
/// and the checkpoint's signature by `public_key`. Returns the checkpoint.
pub fn verify_message_proof(
    proof: &MessageProof<'_>,
    message_id: &[u8; 16],
    content_hash: &Hash,
    public_key: &VerifyingKey,
) -> Result<Checkpoint, MessageProofError> {
    let leaf = hash_leaf(&message_commitment(message_id, content_hash));
    let root = root_from_inclusion(&leaf, proof.leaf_index, proof.batch_size, proof.batch_path)
        .map_err(MessageProofError::BatchPath)?;
    if &root != proof.merkle_root {
        return Err(MessageProofError::BatchRoot);
    }
    let Ok(Transaction::MessageAnchor {
        merkle_root,
        message_count,
        ..
    }) = Transaction::decode(proof.tx_bytes)
    else {
        return Err(MessageProofError::NotAnAnchor);
    };
    if merkle_root != root || u64::from(message_count) != proof.batch_size {
        return Err(MessageProofError::AnchorMismatch);
    }
    let checkpoint =
        verify_checkpoint(public_key, proof.checkpoint).map_err(MessageProofError::Checkpoint)?;
    if checkpoint.size != proof.log_size {
        return Err(MessageProofError::SizeMismatch);
    }
    verify_inclusion(
        &hash_leaf(proof.tx_bytes),
        proof.tx_index,
        proof.log_size,
        proof.inclusion_proof,
        &checkpoint.root,
    )
    .map_err(MessageProofError::Inclusion)?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ledger, LedgerKey};

    struct Fixture {
        ids: Vec<[u8; 16]>,
        hashes: Vec<Hash>,
        root: Hash,
        paths: Vec<Vec<Hash>>,
        tx_bytes: Vec<u8>,
        tx_index: u64,
        log_size: u64,
        inclusion: Vec<Hash>,
        checkpoint: String,
        key: VerifyingKey,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = LedgerKey::from_seed("zynk", &[9; 32]).unwrap();
        let public = key.public_key();
        let mut ledger = Ledger::open(dir.path(), key).unwrap();
        let ids: Vec<[u8; 16]> = (0..5u8).map(|i| [i; 16]).collect();
        let hashes: Vec<Hash> = (0..5u8).map(|i| [i + 100; 32]).collect();
        let commitments: Vec<Hash> = ids
            .iter()
            .zip(&hashes)
            .map(|(i, h)| message_commitment(i, h))
            .collect();
        let (root, paths) = anchor_batch(&commitments);
        let other = Transaction::MessageAnchor {
            merkle_root: [1; 32],
            message_count: 1,
            first_timestamp: 0,
            last_timestamp: 0,
        };
        ledger.append_block(&[other], 1).unwrap();
        let tx = Transaction::MessageAnchor {
            merkle_root: root,
            message_count: 5,
            first_timestamp: 1,
            last_timestamp: 2,
        };
        let batch = AnchorBatch::new(commitments);
        assert_eq!(batch.root, root);
        let block = ledger
            .append_block_with_anchors(std::slice::from_ref(&tx), &[batch], 2)
            .unwrap();
        let tx_hash = block.tx_hashes[0];
        let (tx_index, inclusion) = ledger.inclusion_proof(&tx_hash, block.size).unwrap();
        Fixture {
            ids,
            hashes,
            root,
            paths,
            tx_bytes: tx.encode().unwrap(),
            tx_index,
            log_size: block.size,
            inclusion,
            checkpoint: block.checkpoint("zynk"),
            key: public,
        }
    }

    fn check(f: &Fixture, i: usize) -> Result<Checkpoint, MessageProofError> {
        let p = MessageProof {
            leaf_index: i as u64,
            batch_size: 5,
            batch_path: &f.paths[i],
            merkle_root: &f.root,
            tx_bytes: &f.tx_bytes,
            tx_index: f.tx_index,
            log_size: f.log_size,
            inclusion_proof: &f.inclusion,
            checkpoint: &f.checkpoint,
        };
        verify_message_proof(&p, &f.ids[i], &f.hashes[i], &f.key)
    }

    /// Flips a bit of the signature (not the key id) in a signed note.
    fn flip_signature(note: &str) -> String {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        let (head, b64) = note.trim_end().rsplit_once(' ').unwrap();
        let mut raw = STANDARD.decode(b64).unwrap();
        raw[10] ^= 1;
        format!("{head} {}\n", STANDARD.encode(raw))
    }

    #[test]
    fn message_proofs_verify_and_tampering_fails() {
        let f = fixture();
        for i in 0..5 {
            let cp = check(&f, i).unwrap();
            assert_eq!((cp.number, cp.size), (1, 2));
        }
        // Another content hash.
        let mut t = fixture();
        t.hashes[2][0] ^= 1;
        assert_eq!(check(&t, 2), Err(MessageProofError::BatchRoot));
        // A tampered path.
        let mut t = fixture();
        t.paths[1][0][5] ^= 1;
        assert_eq!(check(&t, 1), Err(MessageProofError::BatchRoot));
        // Another claimed root.
        let mut t = fixture();
        t.root[0] ^= 1;
        assert_eq!(check(&t, 0), Err(MessageProofError::BatchRoot));
        // Tampered transaction bytes: another root, or undecodable.
        let mut t = fixture();
        let n = t.tx_bytes.len();
        t.tx_bytes[n - 1] ^= 1;
        assert!(matches!(check(&t, 0), Err(MessageProofError::Inclusion(_))));
        t.tx_bytes.truncate(3);
        assert_eq!(check(&t, 0), Err(MessageProofError::NotAnAnchor));
        // A tampered inclusion proof.
        let mut t = fixture();
        t.inclusion[0][0] ^= 1;
        assert!(matches!(check(&t, 0), Err(MessageProofError::Inclusion(_))));
        // A tampered checkpoint signature, or another key.
        let mut t = fixture();
        t.checkpoint = flip_signature(&t.checkpoint);
        assert_eq!(
            check(&t, 0),
            Err(MessageProofError::Checkpoint(CheckpointError::BadSignature))
        );
        let mut t = fixture();
        t.key = LedgerKey::from_seed("zynk", &[8; 32]).unwrap().public_key();
        assert!(matches!(
            check(&t, 0),
            Err(MessageProofError::Checkpoint(_))
        ));
        // A checkpoint of another size.
        let mut t = fixture();
        t.log_size = 1;
        assert!(check(&t, 0).is_err());
    }
}
