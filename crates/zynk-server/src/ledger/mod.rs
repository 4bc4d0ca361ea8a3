//! The ledger inside `zynkd`: the LevelDB log of `zynk-ledger` in
//! `{data_dir}/ledger`, signed with the ledger key (`ledger_key`, or
//! `{data_dir}/ledger.key` generated on first start).
//!
//! `zynk_ledger::Ledger` is not `Send` (rusty-leveldb keeps `Rc`s), so it
//! lives on one dedicated thread; [`LedgerHandle::with`] runs a closure
//! there and awaits its result, keeping LevelDB's synchronous IO off the
//! async workers.
//!
//! Who opens the LevelDB: the `writer` (the instance holding the
//! `ledger-writer` lease) keeps it open; any other instance opens it only
//! for the duration of one read and closes it again. LevelDB's file lock
//! (`flock`) admits one process at a time, so a second writer on the same
//! directory cannot open it at all; a read that meets the lock answers 503.

pub mod anchors;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ed25519_dalek::VerifyingKey;
use zeroize::Zeroizing;
use zynk_ledger::{Ledger, LedgerError, LedgerKey};

use crate::config::Config;

/// The ledger and how to open it; lives on the ledger thread.
pub struct Slot {
    path: PathBuf,
    origin: String,
    seed: Zeroizing<[u8; 32]>,
    ledger: Option<Ledger>,
    /// This instance holds the `ledger-writer` lease: keep the DB open.
    pub writer: bool,
}

impl Slot {
    /// The open ledger, opening it first if needed.
    pub fn open(&mut self) -> Result<&mut Ledger, LedgerError> {
        let ledger = match self.ledger.take() {
            Some(l) => l,
            None => {
                let key = LedgerKey::from_seed(&self.origin, &self.seed)
                    .ok_or_else(|| LedgerError::Rejected("invalid ledger_origin".into()))?;
                Ledger::open(&self.path, key)?
            }
        };
        Ok(self.ledger.insert(ledger))
    }

    /// Closes the LevelDB unless this instance is the writer.
    pub fn release(&mut self) {
        if !self.writer {
            self.ledger = None;
        }
    }
}

type Job = Box<dyn FnOnce(&mut Slot) + Send>;

/// A handle to the ledger thread. Cheap to clone; the thread (and the open
/// LevelDB) ends when the last handle is dropped.
#[derive(Clone)]
pub struct LedgerHandle {
    jobs: mpsc::Sender<Job>,
    public_key: VerifyingKey,
    name: String,
}

impl LedgerHandle {
    /// Starts the ledger thread for the ledger in `{data_dir}/ledger`.
    pub fn start(config: &Config) -> anyhow::Result<Self> {
        let seed = load_seed(config)?;
        let key =
            LedgerKey::from_seed(&config.ledger_origin, &seed).context("invalid ledger_origin")?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let mut slot = Slot {
            path: config.data_dir.join("ledger"),
            origin: config.ledger_origin.clone(),
            seed,
            ledger: None,
            writer: false,
        };
        std::thread::Builder::new()
            .name("zynk-ledger".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut slot);
                }
            })
            .context("cannot start the ledger thread")?;
        Ok(Self {
            jobs,
            public_key: key.public_key(),
            name: key.name().to_owned(),
        })
    }

    /// The ledger public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// The key name (checkpoint origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` on the ledger thread.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Slot) -> R + Send + 'static,
    ) -> anyhow::Result<R> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |slot| {
                let _ = tx.send(f(slot));
            }))
            .map_err(|_| anyhow::anyhow!("the ledger thread has stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the ledger thread dropped a job"))
    }
}

/// Decodes a base64 32-byte seed.
pub fn decode_seed(raw: &str) -> Option<Zeroizing<[u8; 32]>> {
    let raw = raw.trim();
    let bytes = Zeroizing::new(
        STANDARD
            .decode(raw)
            .or_else(|_| STANDARD_NO_PAD.decode(raw))
            .ok()?,
    );
    let seed: [u8; 32] = bytes.as_slice().try_into().ok()?;
    Some(Zeroizing::new(seed))
}

/// The ledger key's seed: `ledger_key`, else `{data_dir}/ledger.key`, written
/// (mode 0600) with a random key on first start.
pub fn load_seed(config: &Config) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    if let Some(raw) = &config.ledger_key {
        return decode_seed(raw).context("ledger_key is not base64 of 32 bytes");
    }
    let path = config.data_dir.join("ledger.key");
    if path.exists() {
        let text = Zeroizing::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
        return decode_seed(&text)
            .with_context(|| format!("{} is not base64 of 32 bytes", path.display()));
    }
    write_new_seed(&path)
}

fn write_new_seed(path: &Path) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let seed = Zeroizing::new(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let text = Zeroizing::new(STANDARD.encode(*seed));
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new ledger signing key");
    Ok(seed)
}

/// Opens the ledger of `config` directly (no thread), e.g. for `zynkd ledger verify`.
pub fn open_direct(config: &Config) -> anyhow::Result<Ledger> {
    let path = config.data_dir.join("ledger");
    anyhow::ensure!(path.exists(), "no ledger at {}", path.display());
    let seed = load_seed(config)?;
    let key =
        LedgerKey::from_seed(&config.ledger_origin, &seed).context("invalid ledger_origin")?;
    Ledger::open(&path, key)
        .with_context(|| format!("cannot open the ledger at {}", path.display()))
}

/// `did:zynk:{user_id}`.
pub fn did_of(user: zynk_proto::UserId) -> String {
    format!("did:zynk:{}", user.0)
}

/// Base58 (Bitcoin alphabet) of `bytes`.
pub fn base58btc(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    // Little-endian base-58 digits.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &b in &bytes[zeros..] {
        let mut carry = u32::from(b);
        for d in &mut digits {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(ALPHABET[d as usize])),
    );
    out
}

/// Multibase (`z` = base58btc) of the multicodec `ed25519-pub` (0xed01) key.
pub fn ed25519_multibase(key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(34);
    raw.extend_from_slice(&[0xed, 0x01]);
    raw.extend_from_slice(key);
    format!("z{}", base58btc(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_known_vectors() {
        assert_eq!(base58btc(b""), "");
        assert_eq!(base58btc(&[0, 0, 1]), "112");
        assert_eq!(base58btc(b"hello world"), "StV1DL6CwTryKyV");
    }

    #[test]
    fn multibase_is_an_ed25519_multikey() {
        // Every Ed25519 multikey (0xed01 prefix) starts with `z6Mk`.
        let m = ed25519_multibase(&[7; 32]);
        assert!(m.starts_with("z6Mk"), "{m}");
        assert_eq!(m.len(), 48);
    }
}
