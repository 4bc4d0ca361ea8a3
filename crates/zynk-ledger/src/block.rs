//! Blocks, the ledger key and signed checkpoints.
//!
//! A block seals the transactions appended since the previous block. Its
//! signature is an Ed25519 signature by the ledger key over a *checkpoint* in the
//! C2SP `tlog-checkpoint` format, wrapped as a C2SP `signed-note`:
//!
//! ```text
//! <origin>\n                                   (the ledger key's name)
//! <log size after the block, decimal>\n
//! <base64 of the log root after the block>\n
//! zynk-block <number> <time, Unix ms> <hex of previous block hash>\n   (extension line)
//! \n
//! — <key name> <base64(key id (4 bytes) ‖ Ed25519 signature (64 bytes))>\n
//! ```
//!
//! The signature covers the body (the first four lines, with their newlines).
//! key id = `SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]` (0x01 = Ed25519).
//!
//! # Canonical block encoding (version 1), all integers big-endian
//!
//! ```text
//! version u8 = 1 ‖ number u64 ‖ prev_hash [32] ‖ size u64 ‖ root [32] ‖ time i64
//! ‖ tx_count u32 ‖ tx_hashes [32] × tx_count ‖ key_id [4] ‖ signature [64]
//! ```
//!
//! The block hash is `SHA-256` of this encoding; the first block (number 0) has
//! an all-zero `prev_hash`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Hash;
use crate::tx::TxHash;

const BLOCK_VERSION: u8 = 1;
const SIG_PREFIX: &str = "\u{2014} ";
const EXTENSION: &str = "zynk-block";

/// A sealed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 0 for the first block.
    pub number: u64,
    /// Hash of the previous block; zeros for block 0.
    pub prev_hash: Hash,
    /// Log size after this block.
    pub size: u64,
    /// Log root after this block.
    pub root: Hash,
    /// Sealing time, Unix milliseconds.
    pub time: i64,
    /// The transactions sealed, in log order (leaves `size - len .. size`).
    pub tx_hashes: Vec<TxHash>,
    /// The signer's 4-byte key id.
    pub key_id: [u8; 4],
    /// Ed25519 signature over the checkpoint body.
    pub signature: [u8; 64],
}

/// Why block bytes or a checkpoint are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("no signature by this key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
}

/// A verified checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub number: u64,
    pub time: i64,
    pub prev_hash: Hash,
}

/// The ledger's Ed25519 signing key and its name (the checkpoint origin).
///
/// The secret is zeroized on drop and never shown by `Debug`.
pub struct LedgerKey {
    name: String,
    signing: SigningKey,
}

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerKey")
            .field("name", &self.name)
            .field(
                "public_key",
                &crate::hex::encode(self.signing.verifying_key().as_bytes()),
            )
            .finish_non_exhaustive()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

impl LedgerKey {
    /// A key from a 32-byte seed. `None` if the name is not a valid note key name
    /// (empty, or containing whitespace or `+`).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Option<Self> {
        valid_name(name).then(|| Self {
            name: name.to_owned(),
            signing: SigningKey::from_bytes(seed),
        })
    }

    /// A fresh random key.
    pub fn generate(name: &str) -> Option<Self> {
        let seed = Zeroizing::new(rand::random::<[u8; 32]>());
        Self::from_seed(name, &seed)
    }

    /// The secret seed, for storing the key (zeroized when dropped).
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The key name, used as checkpoint origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The 4-byte key id of the signed-note spec.
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.public_key())
    }

    pub(crate) fn sign(&self, body: &str) -> [u8; 64] {
        self.signing.sign(body.as_bytes()).to_bytes()
    }
}

/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`.
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The checkpoint body (the signed text) for a block.
pub fn checkpoint_body(
    origin: &str,
    number: u64,
    size: u64,
    root: &Hash,
    time: i64,
    prev: &Hash,
) -> String {
    format!(
        "{origin}\n{size}\n{}\n{EXTENSION} {number} {time} {}\n",
        B64.encode(root),
        crate::hex::encode(prev)
    )
}

impl Block {
    /// Builds and signs a block.
    pub(crate) fn seal(
        key: &LedgerKey,
        number: u64,
        prev_hash: Hash,
        size: u64,
        root: Hash,
        time: i64,
        tx_hashes: Vec<TxHash>,
    ) -> Self {
        let body = checkpoint_body(key.name(), number, size, &root, time, &prev_hash);
        Self {
            number,
            prev_hash,
            size,
            root,
            time,
            tx_hashes,
            key_id: key.key_id(),
            signature: key.sign(&body),
        }
    }

    /// The signed note: checkpoint body, blank line, signature line.
    pub fn checkpoint(&self, origin: &str) -> String {
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&self.key_id);
        sig.extend_from_slice(&self.signature);
        let body = checkpoint_body(
            origin,
            self.number,
            self.size,
            &self.root,
            self.time,
            &self.prev_hash,
        );
        format!("{body}\n{SIG_PREFIX}{origin} {}\n", B64.encode(sig))
    }

    /// The canonical encoding (see the module doc).
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(1 + 8 + 32 + 8 + 32 + 8 + 4 + 32 * self.tx_hashes.len() + 68);
        out.push(BLOCK_VERSION);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.time.to_be_bytes());
        out.extend_from_slice(&(self.tx_hashes.len() as u32).to_be_bytes());
        for h in &self.tx_hashes {
            out.extend_from_slice(&h.0);
        }
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes the canonical encoding; rejects other versions and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        const HEAD: usize = 1 + 8 + 32 + 8 + 32 + 8 + 4;
        let short = CheckpointError::Malformed("block encoding has the wrong length");
        if bytes.len() < HEAD + 68 {
            return Err(short);
        }
        if bytes[0] != BLOCK_VERSION {
            return Err(CheckpointError::Malformed("unknown block version"));
        }
        let u64_at = |o: usize| u64::from_be_bytes(arr(&bytes[o..o + 8]));
        let count = u32::from_be_bytes(arr(&bytes[HEAD - 4..HEAD])) as usize;
        if bytes.len() != HEAD + 32 * count + 68 {
            return Err(short);
        }
        let tx_hashes = bytes[HEAD..HEAD + 32 * count]
            .chunks_exact(32)
            .map(|c| TxHash(arr(c)))
            .collect();
        let tail = &bytes[HEAD + 32 * count..];
        Ok(Self {
            number: u64_at(1),
            prev_hash: arr(&bytes[9..41]),
            size: u64_at(41),
            root: arr(&bytes[49..81]),
            time: u64_at(81) as i64,
            tx_hashes,
            key_id: arr(&tail[..4]),
            signature: arr(&tail[4..]),
        })
    }

    /// `SHA-256` of the canonical encoding.
    pub fn hash(&self) -> Hash {
        Sha256::digest(self.encode()).into()
    }
}

/// Copies a slice of known length into an array (callers slice exactly `N`).
fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&s[..N]);
    a
}

/// Verifies a signed checkpoint by `public_key`, whose key name must be the origin.
pub fn verify_checkpoint(
    public_key: &VerifyingKey,
    text: &str,
) -> Result<Checkpoint, CheckpointError> {
    let split = text.rfind("\n\n").ok_or(CheckpointError::Malformed(
        "no blank line before signatures",
    ))?;
    let (body, sigs) = (&text[..=split], &text[split + 2..]);
    let cp = parse_body(body)?;
    let want_id = key_id(&cp.origin, public_key);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(CheckpointError::Malformed(
            "signature lines must end with a newline",
        ));
    }
    for line in sigs[..sigs.len() - 1].split('\n') {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(CheckpointError::Malformed("bad signature line"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(CheckpointError::Malformed("bad signature line"))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| CheckpointError::Malformed("signature is not base64"))?;
        if name != cp.origin || raw.len() < 4 || raw[..4] != want_id {
            continue;
        }
        let sig: [u8; 64] = raw[4..]
            .try_into()
            .map_err(|_| CheckpointError::BadSignature)?;
        return public_key
            .verify_strict(body.as_bytes(), &Signature::from_bytes(&sig))
            .map(|()| cp)
            .map_err(|_| CheckpointError::BadSignature);
    }
    Err(CheckpointError::UnknownKey)
}

fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
    let m = CheckpointError::Malformed;
    let lines: Vec<&str> = body[..body.len() - 1].split('\n').collect();
    let [origin, size, root, ext] = lines[..] else {
        return Err(m("checkpoint body must have 4 lines"));
    };
    if !valid_name(origin) {
        return Err(m("bad origin"));
    }
    let size = parse_canonical_u64(size).ok_or(m("bad size"))?;
    let root: Hash = B64
        .decode(root)
        .ok()
        .and_then(|r| r.try_into().ok())
        .ok_or(m("bad root"))?;
    let parts: Vec<&str> = ext.split(' ').collect();
    let [EXTENSION, number, time, prev] = parts[..] else {
        return Err(m("bad zynk-block line"));
    };
    let number = parse_canonical_u64(number).ok_or(m("bad block number"))?;
    let time: i64 = time.parse().map_err(|_| m("bad time"))?;
    let prev_hash = crate::hex::decode32(prev).ok_or(m("bad previous hash"))?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        number,
        time,
        prev_hash,
    })
}

fn parse_canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}
