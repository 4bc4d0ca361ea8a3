//! Streaming file encryption: AES-256-GCM in 64 KiB chunks with the STREAM
//! construction (as in age and `aead::stream`).
//!
//! Each file gets a fresh random 32-byte key and 7-byte nonce prefix
//! ([`FileKey`]). The plaintext is cut into [`CHUNK_SIZE`] chunks (the final
//! one holds 0..=64 KiB; an empty file is one empty final chunk), and chunk `i`
//! is sealed with nonce `prefix (7) ‖ i as u32 big-endian (4) ‖ last (1 byte:
//! 1 for the final chunk, else 0)`. The ciphertext is the chunks' ciphertexts
//! (each plaintext + 16-byte tag) back to back, with no header. Reordered,
//! dropped, truncated or appended chunks fail authentication.
//!
//! [`decrypt_stream`] writes each chunk as soon as it authenticates: if it
//! returns an error, discard everything it wrote.

use std::fmt;
use std::io::{ErrorKind, Read, Write};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use vodozemac::{base64_decode, base64_encode};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, Result};

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// AES-GCM tag bytes added to each chunk.
pub const TAG_SIZE: usize = 16;
/// Length of the per-file nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
const FILE_KEY_LEN: usize = 32 + NONCE_PREFIX_LEN;

/// A file's key and nonce prefix. Zeroized on drop; `Debug` redacts. Goes
/// into the E2EE message as unpadded base64 of `key (32) ‖ prefix (7)`
/// (also its serde form).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct FileKey {
    key: [u8; 32],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl FileKey {
    /// A fresh random key and prefix.
    pub fn generate() -> Self {
        let mut key = Self {
            key: [0; 32],
            nonce_prefix: [0; NONCE_PREFIX_LEN],
        };
        rand::fill(&mut key.key);
        rand::fill(&mut key.nonce_prefix);
        key
    }

    /// `key ‖ prefix` as unpadded base64.
    pub fn to_base64(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; FILE_KEY_LEN]);
        bytes[..32].copy_from_slice(&self.key);
        bytes[32..].copy_from_slice(&self.nonce_prefix);
        Zeroizing::new(base64_encode(bytes.as_ref()))
    }

    /// Parse [`Self::to_base64`] (padded base64 accepted too).
    pub fn from_base64(b64: &str) -> Result<Self> {
        let bytes = Zeroizing::new(base64_decode(b64).map_err(|_| CryptoError::BadBase64)?);
        if bytes.len() != FILE_KEY_LEN {
            return Err(CryptoError::BadKey("file key length"));
        }
        let mut key = Self {
            key: [0; 32],
            nonce_prefix: [0; NONCE_PREFIX_LEN],
        };
        key.key.copy_from_slice(&bytes[..32]);
        key.nonce_prefix.copy_from_slice(&bytes[32..]);
        Ok(key)
    }

    fn cipher(&self) -> Result<Aes256Gcm> {
        Aes256Gcm::new_from_slice(&self.key).map_err(|_| CryptoError::BadKey("aes key"))
    }

    fn nonce(&self, counter: u32, last: bool) -> Nonce<aes_gcm::aead::consts::U12> {
        let mut nonce = [0u8; 12];
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        nonce[NONCE_PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
        nonce[11] = u8::from(last);
        Nonce::from(nonce)
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

impl Serialize for FileKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for FileKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let b64 = Zeroizing::new(String::deserialize(deserializer)?);
        Self::from_base64(&b64).map_err(serde::de::Error::custom)
    }
}

/// The ciphertext length for a plaintext of `plaintext_len` bytes.
pub fn ciphertext_len(plaintext_len: u64) -> u64 {
    let chunk = CHUNK_SIZE as u64;
    let chunks = plaintext_len.div_ceil(chunk).max(1);
    plaintext_len + chunks * TAG_SIZE as u64
}

/// Encrypt everything `reader` yields into `writer` under a fresh key.
/// Returns the key, the lowercase hex SHA-256 of the ciphertext (the
/// `content_hash` the server checks) and the ciphertext length.
pub fn encrypt_stream<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
) -> Result<(FileKey, String, u64)> {
    let key = FileKey::generate();
    let cipher = key.cipher()?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut current = Zeroizing::new(vec![0u8; CHUNK_SIZE]);
    let mut next = Zeroizing::new(vec![0u8; CHUNK_SIZE]);
    let mut len = read_full(&mut reader, &mut current)?;
    let mut counter = 0u32;
    loop {
        let (last, next_len) = if len < CHUNK_SIZE {
            (true, 0)
        } else {
            let n = read_full(&mut reader, &mut next)?;
            (n == 0, n)
        };
        let sealed = cipher
            .encrypt(&key.nonce(counter, last), &current[..len])
            .map_err(|_| CryptoError::TooLarge)?;
        hasher.update(&sealed);
        writer.write_all(&sealed)?;
        written += sealed.len() as u64;
        if last {
            break;
        }
        std::mem::swap(&mut current, &mut next);
        len = next_len;
        counter = counter.checked_add(1).ok_or(CryptoError::TooLarge)?;
    }
    writer.flush()?;
    Ok((key, to_hex(&hasher.finalize()), written))
}

/// Decrypt a stream made by [`encrypt_stream`]; returns the plaintext length.
/// Errors: [`CryptoError::Truncated`] (final chunk missing),
/// [`CryptoError::Reordered`], [`CryptoError::TrailingData`], otherwise
/// [`CryptoError::Decryption`].
pub fn decrypt_stream<R: Read, W: Write>(
    key: &FileKey,
    mut reader: R,
    mut writer: W,
) -> Result<u64> {
    let cipher = key.cipher()?;
    let mut current = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut next = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut len = read_full(&mut reader, &mut current)?;
    let mut counter = 0u32;
    let mut written = 0u64;
    loop {
        if len < TAG_SIZE {
            return Err(CryptoError::Truncated);
        }
        let (last, next_len) = if len < ENCRYPTED_CHUNK_SIZE {
            (true, 0)
        } else {
            let n = read_full(&mut reader, &mut next)?;
            (n == 0, n)
        };
        let chunk = &current[..len];
        let plaintext = match cipher.decrypt(&key.nonce(counter, last), chunk) {
            Ok(p) => Zeroizing::new(p),
            Err(_) => return Err(diagnose(key, &cipher, chunk, counter, last)),
        };
        writer.write_all(&plaintext)?;
        written += plaintext.len() as u64;
        if last {
            break;
        }
        std::mem::swap(&mut current, &mut next);
        len = next_len;
        counter = counter.checked_add(1).ok_or(CryptoError::TooLarge)?;
    }
    writer.flush()?;
    Ok(written)
}

/// Name the failure of chunk `counter`: only probes on the error path.
fn diagnose(
    key: &FileKey,
    cipher: &Aes256Gcm,
    chunk: &[u8],
    counter: u32,
    last: bool,
) -> CryptoError {
    let opens = |i: u32, l: bool| cipher.decrypt(&key.nonce(i, l), chunk).is_ok();
    if opens(counter, !last) {
        return if last {
            CryptoError::Truncated
        } else {
            CryptoError::TrailingData
        };
    }
    let neighbours = [counter.checked_sub(1), counter.checked_add(1)];
    if neighbours
        .into_iter()
        .flatten()
        .any(|i| opens(i, false) || opens(i, true))
    {
        return CryptoError::Reordered;
    }
    CryptoError::Decryption
}

/// Fill `buf` as far as the reader allows; fewer bytes only at end of input.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}
