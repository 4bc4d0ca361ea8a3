//! The append-only Merkle log of RFC 6962 §2.1 / RFC 9162 §2.1.
//!
//! Hashing: `leaf = SHA-256(0x00 ‖ entry)`, `node = SHA-256(0x01 ‖ left ‖ right)`,
//! the empty tree hashes to `SHA-256("")`. Trees are not padded: a tree of `n > 1`
//! leaves splits at `k`, the largest power of two smaller than `n`.
//!
//! Storage: every *complete* subtree (`2^level` leaves starting at leaf
//! `index · 2^level`) has its hash stored once, keyed by `(level, index)`, as
//! soon as its last leaf is appended. Any root, inclusion proof or consistency
//! proof is then a handful of O(log n) look-ups through [`NodeStore`], which the
//! in-memory [`MemoryLog`] and the LevelDB [`crate::Ledger`] both implement.
//! Stored nodes never change after they are written.

use sha2::{Digest, Sha256};

use crate::Hash;

/// `SHA-256("")`, the root of the empty tree (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a leaf: `SHA-256(0x00 ‖ entry)`.
pub fn hash_leaf(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Errors of the log algorithms.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MerkleError {
    /// A requested index or size lies beyond the current log.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// A complete subtree the algorithm needs is not stored.
    #[error("node ({level}, {index}) is missing")]
    MissingNode { level: u32, index: u64 },
    /// The backend failed (LevelDB read error, corrupt value).
    #[error("node store: {0}")]
    Store(String),
}

/// Read access to the stored hashes of complete subtrees.
///
/// `node(level, index)` is the hash of leaves `[index·2^level, (index+1)·2^level)`.
pub trait NodeStore {
    /// The number of leaves in the log.
    fn size(&self) -> u64;
    /// The stored hash of a complete subtree.
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MerkleError>;
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The hash of the (possibly incomplete, right-edge) subtree over leaves `[lo, hi)`,
/// where `lo` is aligned to a power of two `≥ hi - lo` — the shape RFC 6962 gives
/// `MTH(D[lo:hi])`. Decomposes into complete subtrees, folds from the right.
fn range_hash<S: NodeStore + ?Sized>(store: &mut S, lo: u64, hi: u64) -> Result<Hash, MerkleError> {
    if lo == hi {
        return Ok(EMPTY_ROOT);
    }
    let mut parts: [(u32, u64); 64] = [(0, 0); 64];
    let mut count = 0;
    let mut at = lo;
    while at < hi {
        let remaining = hi - at;
        let mut level = 63 - remaining.leading_zeros();
        if at != 0 {
            level = level.min(at.trailing_zeros());
        }
        parts[count] = (level, at >> level);
        count += 1;
        at += 1u64 << level;
    }
    let (level, index) = parts[count - 1];
    let mut acc = store.node(level, index)?;
    for &(level, index) in parts[..count - 1].iter().rev() {
        acc = hash_children(&store.node(level, index)?, &acc);
    }
    Ok(acc)
}

/// The root hash of the first `size` leaves (`MTH(D[0:size])`), O(log n).
pub fn root<S: NodeStore + ?Sized>(store: &mut S, size: u64) -> Result<Hash, MerkleError> {
    if size > store.size() {
        return Err(MerkleError::OutOfRange(format!(
            "size {size} > log size {}",
            store.size()
        )));
    }
    range_hash(store, 0, size)
}

/// The inclusion proof (`PATH(index, D[0:size])`, RFC 6962 §2.1.1) of leaf `index`
/// in the tree of the first `size` leaves.
pub fn inclusion_proof<S: NodeStore + ?Sized>(
    store: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if size > store.size() || index >= size {
        return Err(MerkleError::OutOfRange(format!(
            "leaf {index} in tree of size {size} (log size {})",
            store.size()
        )));
    }
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0, size);
    // Walk down from the root, collecting siblings; reverse at the end so the
    // proof runs from the leaf upwards.
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            proof.push(range_hash(store, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(store, lo, lo + k)?);
            lo += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof (`PROOF(old, D[0:new])`, RFC 6962 §2.1.2) between the
/// trees of the first `old_size` and `new_size` leaves. Empty when
/// `old_size == 0` or `old_size == new_size`.
pub fn consistency_proof<S: NodeStore + ?Sized>(
    store: &mut S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if new_size > store.size() || old_size > new_size {
        return Err(MerkleError::OutOfRange(format!(
            "sizes {old_size} → {new_size} (log size {})",
            store.size()
        )));
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    // SUBPROOF(m, D[lo:hi], b), iteratively; hashes are pushed root-side first
    // and reversed at the end.
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new_size, old_size, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                proof.push(range_hash(store, lo, hi)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(range_hash(store, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(store, lo, lo + k)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Appends one leaf hash to a log whose complete-subtree hashes are reachable
/// through `frontier`: the hashes of the perfect subtrees of the current tree,
/// left to right (one per set bit of `size`). Calls `store` for every newly
/// completed node `(level, index, hash)`, the leaf itself first. O(log n).
pub fn append_leaf_hash(
    frontier: &mut Vec<Hash>,
    size: u64,
    leaf: Hash,
    mut store: impl FnMut(u32, u64, Hash),
) {
    store(0, size, leaf);
    let mut acc = leaf;
    let mut level = 0u32;
    let mut index = size;
    while index & 1 == 1 {
        // The trailing perfect subtree has the same level: merge.
        let left = frontier.pop().unwrap_or(EMPTY_ROOT);
        acc = hash_children(&left, &acc);
        level += 1;
        index >>= 1;
        store(level, index, acc);
    }
    frontier.push(acc);
}

/// Root of a tree given its frontier (perfect subtree roots, left to right).
pub fn root_from_frontier(frontier: &[Hash]) -> Hash {
    let Some((last, rest)) = frontier.split_last() else {
        return EMPTY_ROOT;
    };
    rest.iter()
        .rev()
        .fold(*last, |acc, left| hash_children(left, &acc))
}

/// An append-only Merkle log held in memory: every complete subtree hash, by level.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    /// `levels[l][i]` = hash of the complete subtree `(l, i)`.
    levels: Vec<Vec<Hash>>,
    frontier: Vec<Hash>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry (hashed as a leaf) and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_hash(hash_leaf(entry))
    }

    /// Appends an already computed leaf hash and returns its index.
    pub fn append_hash(&mut self, leaf: Hash) -> u64 {
        let size = self.len();
        let levels = &mut self.levels;
        append_leaf_hash(&mut self.frontier, size, leaf, |level, _, hash| {
            let level = level as usize;
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            levels[level].push(hash);
        });
        size
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current root, O(log n) from the frontier.
    pub fn current_root(&self) -> Hash {
        root_from_frontier(&self.frontier)
    }

    /// The root of the first `size` leaves.
    pub fn root(&mut self, size: u64) -> Result<Hash, MerkleError> {
        root(self, size)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        inclusion_proof(self, index, size)
    }

    /// The consistency proof between the trees of `old_size` and `new_size` leaves.
    pub fn consistency_proof(
        &mut self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, MerkleError> {
        consistency_proof(self, old_size, new_size)
    }

    /// All stored complete-subtree hashes as `(level, index, hash)`.
    pub fn nodes(&self) -> impl Iterator<Item = (u32, u64, &Hash)> {
        self.levels.iter().enumerate().flat_map(|(level, hashes)| {
            hashes
                .iter()
                .enumerate()
                .map(move |(index, h)| (level as u32, index as u64, h))
        })
    }
}

impl NodeStore for MemoryLog {
    fn size(&self) -> u64 {
        self.len()
    }

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MerkleError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(MerkleError::MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_matches_definition() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (7, 4),
            (8, 4),
            (9, 8),
            (28937, 16384),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let h: Hash = Sha256::digest([]).into();
        assert_eq!(h, EMPTY_ROOT);
        assert_eq!(MemoryLog::new().current_root(), EMPTY_ROOT);
    }

    #[test]
    fn frontier_root_equals_stored_root() {
        let mut log = MemoryLog::new();
        for i in 0..300u32 {
            log.append(&i.to_be_bytes());
            let size = log.len();
            assert_eq!(root(&mut log, size), Ok(log.current_root()), "size {size}");
        }
    }
}
