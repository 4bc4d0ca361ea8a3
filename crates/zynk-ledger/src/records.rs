//! Stored record layouts: LevelDB keys, identity state and transaction records
//! (the table in [`crate::store`]'s module doc).

use crate::Hash;
use crate::store::{LedgerError, corrupt};
use crate::tx::{Transaction, TxHash};

/// The LevelDB keys of the data model (§5) and of the log.
pub(crate) mod keys {
    use crate::Hash;
    use crate::tx::TxHash;

    pub const SIZE: &[u8] = b"meta:size";
    pub const HEAD: &[u8] = b"meta:head";
    pub const KEY: &[u8] = b"meta:key";

    pub fn block(n: u64) -> String {
        format!("block:{n}")
    }
    pub fn tx(h: &TxHash) -> String {
        format!("tx:{h}")
    }
    pub fn leaf(i: u64) -> String {
        format!("leaf:{i}")
    }
    pub fn node(level: u32, index: u64) -> String {
        format!("node:{level}:{index}")
    }
    pub fn identity(did: &str) -> String {
        format!("state:identity:{did}")
    }
    pub fn merkle(root: &Hash) -> String {
        format!("merkle:{}", crate::hex::encode(root))
    }
}

/// The latest state of a DID, replayed from registrations and rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityState {
    pub key: [u8; 32],
    /// 1 after registration, +1 per rotation.
    pub version: u32,
    pub last_tx: TxHash,
}

impl IdentityState {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(68);
        v.extend_from_slice(&self.key);
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.last_tx.0);
        v
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 68 {
            return None;
        }
        Some(Self {
            key: b[..32].try_into().ok()?,
            version: u32::from_be_bytes(b[32..36].try_into().ok()?),
            last_tx: TxHash(b[36..].try_into().ok()?),
        })
    }
}

/// A stored transaction with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    pub hash: TxHash,
    pub index: u64,
    pub block: u64,
    /// The exact stored bytes (hashed to `hash`).
    pub bytes: Vec<u8>,
    pub tx: Transaction,
}

impl TxRecord {
    pub(crate) fn decode(key: &str, v: &[u8]) -> Result<Self, LedgerError> {
        if v.len() < 16 {
            return Err(corrupt(key, "record shorter than its header"));
        }
        let index = u64::from_be_bytes(arr8(&v[..8]));
        let block = u64::from_be_bytes(arr8(&v[8..16]));
        let bytes = v[16..].to_vec();
        let tx =
            Transaction::decode(&bytes).map_err(|e| corrupt(key, format!("transaction: {e}")))?;
        Ok(Self {
            hash: TxHash::of(&bytes),
            index,
            block,
            bytes,
            tx,
        })
    }

    /// Deterministic cost, see [`Transaction::gas_used`].
    pub fn gas_used(&self) -> u64 {
        Transaction::gas_used(self.bytes.len())
    }
}

pub(crate) fn arr8(s: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&s[..8]);
    a
}

pub(crate) fn hash32(key: &str, v: &[u8]) -> Result<Hash, LedgerError> {
    v.try_into().map_err(|_| corrupt(key, "not a 32-byte hash"))
}
