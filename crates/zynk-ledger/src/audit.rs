//! [`Ledger::verify`]: re-checks everything stored, trusting only the ledger's
//! public key.
//!
//! 1. Walks the blocks from 0: decoding, number, hash-chain link, time order,
//!    checkpoint signature, and that each block's transactions are the next
//!    leaves. Each transaction is re-hashed from its stored bytes, its position
//!    record and `leaf:` entry checked, and the log is rebuilt in memory from
//!    the leaves so every block's size and root can be compared.
//! 2. Replays identity registrations and rotations.
//! 3. Scans every key: stored nodes must equal the rebuilt tree, identity state
//!    the replay, anchor batches their key and a `message_anchor`, `meta:` the
//!    head; nothing may be stored that the chain does not account for.
//!
//! Every failure names the key (and so the block or transaction) at fault.

use std::collections::{HashMap, HashSet};

use rusty_leveldb::LdbIterator as _;

use crate::Hash;
use crate::anchor::AnchorBatch;
use crate::block::verify_checkpoint;
use crate::merkle::{MemoryLog, NodeStore as _};
use crate::records::keys;
use crate::store::{IdentityState, Ledger, LedgerError, TxRecord, arr8, read_block};
use crate::tx::{Transaction, TxHash};

/// What a successful audit checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub blocks: u64,
    pub transactions: u64,
    pub identities: usize,
    pub anchors: usize,
    pub nodes: u64,
    pub root: Hash,
}

/// Why the ledger failed its audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The value stored under `key` is wrong.
    #[error("{key}: {problem}")]
    Corrupt { key: String, problem: String },
    /// LevelDB could not be read.
    #[error("leveldb: {0}")]
    Db(String),
}

fn bad(key: impl Into<String>, problem: impl Into<String>) -> AuditError {
    AuditError::Corrupt {
        key: key.into(),
        problem: problem.into(),
    }
}

impl From<LedgerError> for AuditError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Corrupt { key, problem } => Self::Corrupt { key, problem },
            other => Self::Db(other.to_string()),
        }
    }
}

/// State rebuilt by walking the chain.
#[derive(Default)]
struct Replay {
    log: MemoryLog,
    blocks: u64,
    head_hash: Hash,
    identities: HashMap<String, IdentityState>,
    anchors: HashMap<Hash, u32>,
    tx_keys: HashSet<String>,
}

impl Ledger {
    /// Re-checks the whole ledger; see the module doc of [`crate::audit`].
    pub fn verify(&mut self) -> Result<Report, AuditError> {
        let replay = self.walk_blocks()?;
        let counts = self.scan_keys(&replay)?;
        Ok(Report {
            blocks: replay.blocks,
            transactions: replay.log.len(),
            identities: replay.identities.len(),
            anchors: counts.anchors,
            nodes: counts.nodes,
            root: replay.log.current_root(),
        })
    }

    fn walk_blocks(&mut self) -> Result<Replay, AuditError> {
        let public = self.key.public_key();
        let origin = self.key.name().to_owned();
        let mut r = Replay::default();
        let mut last_time = i64::MIN;
        while let Some(block) = read_block(&mut self.db, r.blocks)? {
            let n = r.blocks;
            let bk = keys::block(n);
            if block.number != n {
                return Err(bad(bk, format!("claims number {}", block.number)));
            }
            if n > 0 && block.prev_hash != r.head_hash {
                return Err(bad(
                    bk,
                    format!("previous hash does not match block:{}", n - 1),
                ));
            }
            if n == 0 && block.prev_hash != [0; 32] {
                return Err(bad(bk, "first block has a previous hash"));
            }
            if block.time < last_time {
                return Err(bad(bk, "time goes backwards"));
            }
            verify_checkpoint(&public, &block.checkpoint(&origin))
                .map_err(|e| bad(&bk, format!("checkpoint signature: {e}")))?;
            if block.size != r.log.len() + block.tx_hashes.len() as u64 {
                return Err(bad(bk, "size does not match its transaction count"));
            }
            for hash in &block.tx_hashes {
                self.check_tx(&mut r, n, hash)?;
            }
            if r.log.current_root() != block.root {
                return Err(bad(
                    bk,
                    "root does not match the tree rebuilt from the leaves",
                ));
            }
            last_time = block.time;
            r.head_hash = block.hash();
            r.blocks += 1;
        }
        Ok(r)
    }

    fn check_tx(&mut self, r: &mut Replay, block: u64, hash: &TxHash) -> Result<(), AuditError> {
        let index = r.log.len();
        let tk = keys::tx(hash);
        let v = self
            .db
            .get(tk.as_bytes())
            .ok_or_else(|| bad(keys::block(block), format!("transaction {hash} is missing")))?;
        let rec = TxRecord::decode(&tk, &v)?;
        if rec.hash != *hash {
            return Err(bad(tk, format!("stored bytes hash to {}", rec.hash)));
        }
        if rec.index != index || rec.block != block {
            return Err(bad(
                tk,
                format!("position says leaf {} block {}", rec.index, rec.block),
            ));
        }
        let lk = keys::leaf(index);
        if self.db.get(lk.as_bytes()).as_deref() != Some(&hash.0[..]) {
            return Err(bad(lk, format!("does not name {hash}")));
        }
        r.log.append(&rec.bytes);
        r.tx_keys.insert(tk.clone());
        match rec.tx {
            Transaction::IdentityRegistration {
                did,
                user_identity_key,
                ..
            } => {
                if r.identities.contains_key(&did) {
                    return Err(bad(tk, format!("registers {did} twice")));
                }
                r.identities.insert(
                    did,
                    IdentityState {
                        key: user_identity_key,
                        version: 1,
                        last_tx: *hash,
                    },
                );
            }
            Transaction::IdentityKeyRotation {
                did,
                old_key,
                new_key,
                ..
            } => {
                let Some(s) = r.identities.get_mut(&did).filter(|s| s.key == old_key) else {
                    return Err(bad(
                        tk,
                        format!("rotates {did} from a key it does not have"),
                    ));
                };
                *s = IdentityState {
                    key: new_key,
                    version: s.version + 1,
                    last_tx: *hash,
                };
            }
            Transaction::MessageAnchor {
                merkle_root,
                message_count,
                ..
            } => {
                r.anchors.insert(merkle_root, message_count);
            }
            Transaction::TrustScoreUpdate { .. } => {}
        }
        Ok(())
    }

    fn scan_keys(&mut self, r: &Replay) -> Result<Counts, AuditError> {
        let mut log = r.log.clone();
        let mut counts = Counts::default();
        let (mut txs, mut identities) = (0usize, 0usize);
        let mut it = self
            .db
            .new_iter()
            .map_err(|e| AuditError::Db(e.to_string()))?;
        while let Some((k, v)) = it.next() {
            let key = String::from_utf8_lossy(&k).into_owned();
            let (prefix, rest) = key.split_once(':').unwrap_or((&key, ""));
            match prefix {
                "block" => {
                    if rest.parse::<u64>().map_or(true, |n| n >= r.blocks) {
                        return Err(bad(key, "block beyond the chain"));
                    }
                }
                "tx" => {
                    if !r.tx_keys.contains(&key) {
                        return Err(bad(key, "transaction in no block"));
                    }
                    txs += 1;
                }
                "leaf" => {
                    if rest.parse::<u64>().map_or(true, |i| i >= log.len()) {
                        return Err(bad(key, "leaf beyond the log"));
                    }
                }
                "node" => {
                    let (level, index) = rest.split_once(':').unwrap_or(("", ""));
                    let want = match (level.parse(), index.parse()) {
                        (Ok(l), Ok(i)) => log.node(l, i).ok(),
                        _ => None,
                    };
                    match want {
                        Some(h) if h[..] == v[..] => counts.nodes += 1,
                        Some(_) => {
                            return Err(bad(key, "differs from the tree rebuilt from the leaves"));
                        }
                        None => return Err(bad(key, "node outside the tree")),
                    }
                }
                "state" => {
                    let did = rest.strip_prefix("identity:").unwrap_or_default();
                    match r.identities.get(did) {
                        Some(s) if s.encode() == v[..] => identities += 1,
                        Some(_) => {
                            return Err(bad(
                                key,
                                "differs from the replayed registrations and rotations",
                            ));
                        }
                        None => return Err(bad(key, "identity never registered")),
                    }
                }
                "merkle" => {
                    let batch = AnchorBatch::decode(&v)
                        .ok_or_else(|| bad(&key, "malformed anchor batch"))?;
                    if keys::merkle(&batch.root) != key {
                        return Err(bad(key, "stored leaves do not hash to the key's root"));
                    }
                    if r.anchors.get(&batch.root) != Some(&(batch.commitments.len() as u32)) {
                        return Err(bad(key, "no message_anchor with this root and count"));
                    }
                    counts.anchors += 1;
                }
                "meta" => {
                    self.check_meta(&key, &v, r)?;
                    counts.meta += 1;
                }
                _ => return Err(bad(key, "unknown key")),
            }
        }
        let expected_nodes = log.nodes().count() as u64;
        if counts.nodes != expected_nodes {
            return Err(bad(
                "node:*",
                format!("{} stored, {expected_nodes} expected", counts.nodes),
            ));
        }
        if txs as u64 != log.len() {
            return Err(bad("tx:*", format!("{txs} stored, {} expected", log.len())));
        }
        if r.blocks > 0 && counts.meta != 3 {
            return Err(bad("meta:*", "meta:size, meta:head or meta:key is missing"));
        }
        if identities != r.identities.len() {
            return Err(bad("state:identity:*", "an identity's state is missing"));
        }
        Ok(counts)
    }

    fn check_meta(&self, key: &str, v: &[u8], r: &Replay) -> Result<(), AuditError> {
        let ok = match key.as_bytes() {
            keys::SIZE => v == r.log.len().to_be_bytes(),
            keys::HEAD => {
                v.len() == 40
                    && r.blocks > 0
                    && u64::from_be_bytes(arr8(v)) == r.blocks - 1
                    && v[8..] == r.head_hash
            }
            keys::KEY => {
                v.len() >= 32
                    && v[..32] == self.key.public_key().as_bytes()[..]
                    && &v[32..] == self.key.name().as_bytes()
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(bad(key, "does not match the chain"))
        }
    }
}

#[derive(Default)]
struct Counts {
    meta: usize,
    nodes: u64,
    anchors: usize,
}
