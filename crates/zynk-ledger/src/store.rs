//! [`Ledger`]: the log, blocks and state in LevelDB (`rusty-leveldb`, the LevelDB
//! on-disk format).
//!
//! # Keys and values (integers big-endian)
//!
//! | key                        | value                                                     |
//! |----------------------------|-----------------------------------------------------------|
//! | `block:{n}` (decimal)      | the block's canonical encoding ([`crate::block`])         |
//! | `tx:0x{hex hash}`          | leaf index u64 ‖ block number u64 ‖ transaction bytes     |
//! | `leaf:{index}`             | transaction hash (32 bytes)                                     |
//! | `node:{level}:{index}`     | complete-subtree hash (32 bytes) (level 0 = leaf hashes)        |
//! | `state:identity:{did}`     | identity key (32 bytes) ‖ version u32 ‖ last transaction hash (32 bytes) |
//! | `merkle:{hex root}`        | a message-anchor batch ([`crate::anchor::AnchorBatch`])   |
//! | `meta:size`                | log size u64                                              |
//! | `meta:head`                | head block number u64 ‖ head block hash (32 bytes)              |
//! | `meta:key`                 | ledger public key (32 bytes) ‖ key name (UTF-8)                 |
//!
//! Everything a block changes is written in **one** `WriteBatch` with `sync`, so a
//! crash leaves the ledger at the previous block or the new one, never between
//! (`tests/crash.rs` SIGKILLs a writer to check it). rusty-leveldb's `sync` hands
//! the log record to the OS but does not `fsync`: after a power cut the last
//! blocks may be missing, never half-written (log records are checksummed).
//! The data model's "JSON" values are replaced by these fixed binary layouts: the
//! transaction bytes must be exactly what was hashed.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusty_leveldb::{DB, Options, WriteBatch};

use crate::Hash;
use crate::anchor::AnchorBatch;
use crate::block::{Block, LedgerKey};
use crate::merkle::{
    self, MerkleError, NodeStore, append_leaf_hash, hash_leaf, root_from_frontier,
};
use crate::records::keys;
pub use crate::records::{IdentityState, TxRecord};
pub(crate) use crate::records::{arr8, hash32};
use crate::tx::{Transaction, TxError, TxHash};

/// Errors of the persistent ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("leveldb: {0}")]
    Db(String),
    #[error("transaction {index}: {source}")]
    Tx { index: usize, source: TxError },
    #[error("rejected: {0}")]
    Rejected(String),
    #[error("corrupt value at {key}: {problem}")]
    Corrupt { key: String, problem: String },
    #[error("the ledger was created with another key ({0})")]
    KeyMismatch(String),
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

impl From<rusty_leveldb::Status> for LedgerError {
    fn from(s: rusty_leveldb::Status) -> Self {
        Self::Db(s.to_string())
    }
}

pub(crate) fn corrupt(key: impl Into<String>, problem: impl Into<String>) -> LedgerError {
    LedgerError::Corrupt {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The persistent ledger. Reads take `&mut self` (LevelDB's API does); run it on
/// a blocking thread behind a mutex in async code.
pub struct Ledger {
    pub(crate) db: DB,
    pub(crate) key: LedgerKey,
    size: u64,
    frontier: Vec<Hash>,
    head: Option<(u64, Hash, i64)>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("key", &self.key)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Read access to the LevelDB node hashes, for the proof algorithms.
pub(crate) struct DbNodes<'a> {
    pub db: &'a mut DB,
    pub size: u64,
}

impl NodeStore for DbNodes<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MerkleError> {
        let k = keys::node(level, index);
        let v = self
            .db
            .get(k.as_bytes())
            .ok_or(MerkleError::MissingNode { level, index })?;
        (&v[..])
            .try_into()
            .map_err(|_| MerkleError::Store(format!("{k}: not a 32-byte hash")))
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in directory `path`, signing with `key`.
    pub fn open(path: impl AsRef<Path>, key: LedgerKey) -> Result<Self, LedgerError> {
        let opts = Options {
            create_if_missing: true,
            ..Options::default()
        };
        let mut db = DB::open(path.as_ref(), opts)?;
        if let Some(v) = db.get(keys::KEY)
            && (v.len() < 32
                || v[..32] != key.public_key().as_bytes()[..]
                || &v[32..] != key.name().as_bytes())
        {
            return Err(LedgerError::KeyMismatch(key.name().to_owned()));
        }
        let size = match db.get(keys::SIZE) {
            Some(v) => u64::from_be_bytes(
                v[..]
                    .try_into()
                    .map_err(|_| corrupt("meta:size", "not a u64"))?,
            ),
            None => 0,
        };
        let head = match db.get(keys::HEAD) {
            Some(v) if v.len() == 40 => {
                let number = u64::from_be_bytes(arr8(&v[..8]));
                let block = read_block(&mut db, number)?
                    .ok_or_else(|| corrupt("meta:head", "head block missing"))?;
                let hash = hash32("meta:head", &v[8..])?;
                if block.hash() != hash {
                    // Blame the block if its signature fails, else the head record.
                    return Err(blame_head(&mut db, &key, &block));
                }
                if block.size != size {
                    return Err(corrupt("meta:size", "differs from the head block's size"));
                }
                Some((number, hash, block.time))
            }
            Some(_) => return Err(corrupt("meta:head", "wrong length")),
            None => None,
        };
        // The frontier: one perfect subtree per set bit of `size`, left to right.
        let mut frontier = Vec::new();
        let mut nodes = DbNodes { db: &mut db, size };
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1 << level) != 0 {
                let node = nodes.node(level, start >> level);
                frontier.push(
                    node.map_err(|e| corrupt("meta:size", format!("no tree of this size: {e}")))?,
                );
                start += 1 << level;
            }
        }
        Ok(Self {
            db,
            key,
            size,
            frontier,
            head,
        })
    }

    /// The ledger key.
    pub fn key(&self) -> &LedgerKey {
        &self.key
    }

    /// Number of transactions in the log.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current log root.
    pub fn root(&self) -> Hash {
        root_from_frontier(&self.frontier)
    }

    /// Seals `transactions` into a new block, see [`Self::append_block_with_anchors`].
    pub fn append_block(
        &mut self,
        transactions: &[Transaction],
        time: i64,
    ) -> Result<Block, LedgerError> {
        self.append_block_with_anchors(transactions, &[], time)
    }

    /// Seals `transactions` into a new block, storing each batch of `anchors`
    /// under `merkle:{root}` (each must match a `message_anchor` in the block).
    /// Checks identity rules (a DID registers once; a rotation names the current
    /// key) and rejects duplicate transactions. Writes everything in one batch.
    pub fn append_block_with_anchors(
        &mut self,
        transactions: &[Transaction],
        anchors: &[AnchorBatch],
        time: i64,
    ) -> Result<Block, LedgerError> {
        if let Some((_, _, last)) = self.head
            && time < last
        {
            return Err(LedgerError::Rejected(format!(
                "block time {time} is before the previous block's {last}"
            )));
        }
        let number = self.head.map_or(0, |(n, _, _)| n + 1);
        let mut batch = WriteBatch::default();
        let mut hashes = Vec::with_capacity(transactions.len());
        let mut seen = HashSet::with_capacity(transactions.len());
        let mut states: HashMap<String, IdentityState> = HashMap::new();
        let mut anchored: HashMap<Hash, u32> = HashMap::new();
        let mut frontier = self.frontier.clone();
        let mut size = self.size;
        let mut record = Vec::with_capacity(128);
        for (i, tx) in transactions.iter().enumerate() {
            let bytes = tx
                .encode()
                .map_err(|source| LedgerError::Tx { index: i, source })?;
            let hash = TxHash::of(&bytes);
            let tx_key = keys::tx(&hash);
            if !seen.insert(hash) || self.db.get(tx_key.as_bytes()).is_some() {
                return Err(LedgerError::Rejected(format!(
                    "transaction {i} ({hash}) is already in the ledger"
                )));
            }
            self.apply_state(tx, hash, &mut states)?;
            if let Transaction::MessageAnchor {
                merkle_root,
                message_count,
                ..
            } = tx
            {
                anchored.insert(*merkle_root, *message_count);
            }
            record.clear();
            record.extend_from_slice(&size.to_be_bytes());
            record.extend_from_slice(&number.to_be_bytes());
            record.extend_from_slice(&bytes);
            batch.put(tx_key.as_bytes(), &record);
            batch.put(keys::leaf(size).as_bytes(), &hash.0);
            append_leaf_hash(&mut frontier, size, hash_leaf(&bytes), |level, index, h| {
                batch.put(keys::node(level, index).as_bytes(), &h);
            });
            size += 1;
            hashes.push(hash);
        }
        for a in anchors {
            if anchored.get(&a.root) != Some(&(a.commitments.len() as u32)) {
                return Err(LedgerError::Rejected(
                    "anchor batch without a matching message_anchor".into(),
                ));
            }
            let k = keys::merkle(&a.root);
            if self.db.get(k.as_bytes()).is_some() {
                return Err(LedgerError::Rejected(format!("{k} is already stored")));
            }
            batch.put(k.as_bytes(), &a.encode());
        }
        for (did, state) in &states {
            batch.put(keys::identity(did).as_bytes(), &state.encode());
        }
        let root = root_from_frontier(&frontier);
        let prev = self.head.map_or([0; 32], |(_, h, _)| h);
        let block = Block::seal(&self.key, number, prev, size, root, time, hashes);
        let block_hash = block.hash();
        batch.put(keys::block(number).as_bytes(), &block.encode());
        batch.put(keys::SIZE, &size.to_be_bytes());
        let mut head = number.to_be_bytes().to_vec();
        head.extend_from_slice(&block_hash);
        batch.put(keys::HEAD, &head);
        if self.head.is_none() {
            let mut k = self.key.public_key().as_bytes().to_vec();
            k.extend_from_slice(self.key.name().as_bytes());
            batch.put(keys::KEY, &k);
        }
        self.db.write(batch, true)?;
        self.size = size;
        self.frontier = frontier;
        self.head = Some((number, block_hash, time));
        Ok(block)
    }

    fn apply_state(
        &mut self,
        tx: &Transaction,
        hash: TxHash,
        states: &mut HashMap<String, IdentityState>,
    ) -> Result<(), LedgerError> {
        match tx {
            Transaction::IdentityRegistration {
                did,
                user_identity_key,
                ..
            } => {
                if states.contains_key(did) || self.identity(did)?.is_some() {
                    return Err(LedgerError::Rejected(format!(
                        "{did} is already registered"
                    )));
                }
                states.insert(
                    did.clone(),
                    IdentityState {
                        key: *user_identity_key,
                        version: 1,
                        last_tx: hash,
                    },
                );
            }
            Transaction::IdentityKeyRotation {
                did,
                old_key,
                new_key,
                ..
            } => {
                let current = match states.get(did) {
                    Some(s) => Some(s.clone()),
                    None => self.identity(did)?,
                };
                let Some(current) = current.filter(|s| &s.key == old_key) else {
                    return Err(LedgerError::Rejected(format!(
                        "{did}: rotation does not name the current key"
                    )));
                };
                let next = IdentityState {
                    key: *new_key,
                    version: current.version + 1,
                    last_tx: hash,
                };
                states.insert(did.clone(), next);
            }
            Transaction::TrustScoreUpdate { .. } | Transaction::MessageAnchor { .. } => {}
        }
        Ok(())
    }

    /// The block with this number.
    pub fn block(&mut self, number: u64) -> Result<Option<Block>, LedgerError> {
        read_block(&mut self.db, number)
    }

    /// The latest block.
    pub fn head(&mut self) -> Result<Option<Block>, LedgerError> {
        match self.head {
            Some((n, _, _)) => self.block(n),
            None => Ok(None),
        }
    }

    /// A transaction by hash.
    pub fn transaction(&mut self, hash: &TxHash) -> Result<Option<TxRecord>, LedgerError> {
        let k = keys::tx(hash);
        self.db
            .get(k.as_bytes())
            .map(|v| TxRecord::decode(&k, &v))
            .transpose()
    }

    /// The current identity state of a DID.
    pub fn identity(&mut self, did: &str) -> Result<Option<IdentityState>, LedgerError> {
        let k = keys::identity(did);
        match self.db.get(k.as_bytes()) {
            Some(v) => IdentityState::decode(&v)
                .map(Some)
                .ok_or_else(|| corrupt(k, "bad identity state")),
            None => Ok(None),
        }
    }

    /// A stored message-anchor batch.
    pub fn anchor(&mut self, root: &Hash) -> Result<Option<AnchorBatch>, LedgerError> {
        let k = keys::merkle(root);
        match self.db.get(k.as_bytes()) {
            Some(v) => AnchorBatch::decode(&v)
                .map(Some)
                .ok_or_else(|| corrupt(k, "bad anchor batch")),
            None => Ok(None),
        }
    }

    /// The root of the log at a past `size`.
    pub fn root_at(&mut self, size: u64) -> Result<Hash, LedgerError> {
        Ok(merkle::root(
            &mut DbNodes {
                db: &mut self.db,
                size: self.size,
            },
            size,
        )?)
    }

    /// The leaf index of a transaction and its inclusion proof in the tree of `size`.
    pub fn inclusion_proof(
        &mut self,
        hash: &TxHash,
        size: u64,
    ) -> Result<(u64, Vec<Hash>), LedgerError> {
        let rec = self
            .transaction(hash)?
            .ok_or_else(|| LedgerError::Rejected(format!("unknown transaction {hash}")))?;
        let proof = merkle::inclusion_proof(
            &mut DbNodes {
                db: &mut self.db,
                size: self.size,
            },
            rec.index,
            size,
        )?;
        Ok((rec.index, proof))
    }

    /// The inclusion proof of leaf `index` in the tree of `size`.
    pub fn inclusion_proof_at(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        let mut nodes = DbNodes {
            db: &mut self.db,
            size: self.size,
        };
        Ok(merkle::inclusion_proof(&mut nodes, index, size)?)
    }

    /// The consistency proof between two log sizes.
    pub fn consistency_proof(
        &mut self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        let mut nodes = DbNodes {
            db: &mut self.db,
            size: self.size,
        };
        Ok(merkle::consistency_proof(&mut nodes, old_size, new_size)?)
    }
}

pub(crate) fn read_block(db: &mut DB, number: u64) -> Result<Option<Block>, LedgerError> {
    let k = keys::block(number);
    match db.get(k.as_bytes()) {
        Some(v) => Block::decode(&v)
            .map(Some)
            .map_err(|e| corrupt(k, e.to_string())),
        None => Ok(None),
    }
}

/// The head block's hash differs from `meta:head`: find which of the two changed.
fn blame_head(db: &mut DB, key: &LedgerKey, block: &Block) -> LedgerError {
    let bk = keys::block(block.number);
    if let Err(e) =
        crate::block::verify_checkpoint(&key.public_key(), &block.checkpoint(key.name()))
    {
        return corrupt(bk, format!("checkpoint signature: {e}"));
    }
    let first = block.size.saturating_sub(block.tx_hashes.len() as u64);
    for (i, h) in (first..).zip(&block.tx_hashes) {
        if db.get(keys::leaf(i).as_bytes()).as_deref() != Some(&h.0[..]) {
            return corrupt(bk, format!("transaction list differs from leaf:{i}"));
        }
    }
    corrupt("meta:head", "hash differs from the head block's")
}
