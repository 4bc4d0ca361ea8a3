//! Encryption of the client's own state at rest (pickles, tokens, caches)
//! under a key derived from the user's passphrase.
//!
//! Sealed format: `version (1 byte, = 1) ‖ nonce (12 random bytes) ‖
//! AES-256-GCM(ciphertext ‖ 16-byte tag)`, with the version byte as
//! associated data.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use sha2::Sha256;
use vodozemac::{base64_decode, base64_encode};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, Result};

/// Argon2id memory cost in KiB: 19 MiB, OWASP's recommended minimum
/// (m = 19456 KiB, t = 2, p = 1).
pub const ARGON2_M_COST_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id lanes.
pub const ARGON2_P_COST: u32 = 1;
/// Salt length for [`StateKey::derive`].
pub const SALT_LEN: usize = 16;
/// The sealed format's version byte.
pub const SEAL_VERSION: u8 = 1;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The 32-byte key protecting local state. Zeroized on drop; `Debug` redacts.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StateKey([u8; 32]);

impl StateKey {
    /// Argon2id(passphrase, salt) with the constants above.
    pub fn derive(passphrase: &[u8], salt: &[u8; SALT_LEN]) -> Result<Self> {
        let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, Some(32))
            .map_err(|_| CryptoError::KeyDerivation)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut key = [0u8; 32];
        argon2
            .hash_password_into(passphrase, salt, &mut key)
            .map_err(|_| CryptoError::KeyDerivation)?;
        Ok(Self(key))
    }

    /// A fresh random salt, stored next to the sealed state.
    pub fn generate_salt() -> [u8; SALT_LEN] {
        let mut salt = [0u8; SALT_LEN];
        rand::fill(&mut salt);
        salt
    }

    /// Use a key obtained elsewhere (e.g. from the OS keychain).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key as vodozemac's pickle key.
    pub fn as_pickle_key(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(<redacted>)")
    }
}

/// Encrypt `plaintext` under `key` (format in the module docs).
pub fn seal(key: &StateKey, plaintext: &[u8]) -> Result<Vec<u8>> {
    aead_seal(&key.0, plaintext)
}

/// Decrypt what [`seal`] produced; a wrong key or any change gives
/// [`CryptoError::Decryption`].
pub fn open(key: &StateKey, sealed: &[u8]) -> Result<Vec<u8>> {
    aead_open(&key.0, sealed)
}

pub(crate) fn aead_seal(key: &[u8; 32], plaintext: &[u8]) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey("aes key"))?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let aad = [SEAL_VERSION];
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::TooLarge)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

pub(crate) fn aead_open(key: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>> {
    let (&version, rest) = sealed.split_first().ok_or(CryptoError::Truncated)?;
    if version != SEAL_VERSION {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Truncated);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Truncated)?;
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey("aes key"))?;
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &[version],
            },
        )
        .map_err(|_| CryptoError::Decryption)
}

/// Seal `plaintext` (serialised session state) under a subkey of a pickle
/// key: HKDF-SHA256(ikm = pickle key, info = `domain`). Unpadded base64.
pub(crate) fn seal_pickle(pickle_key: &[u8; 32], domain: &str, plaintext: &[u8]) -> Result<String> {
    let subkey = pickle_subkey(pickle_key, domain)?;
    Ok(base64_encode(aead_seal(&subkey, plaintext)?))
}

/// Inverse of [`seal_pickle`]; every failure is [`CryptoError::Pickle`].
pub(crate) fn open_pickle(
    pickle_key: &[u8; 32],
    domain: &str,
    pickle: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let subkey = pickle_subkey(pickle_key, domain)?;
    let sealed = base64_decode(pickle).map_err(|_| CryptoError::Pickle)?;
    aead_open(&subkey, &sealed)
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Pickle)
}

fn pickle_subkey(pickle_key: &[u8; 32], domain: &str) -> Result<Zeroizing<[u8; 32]>> {
    let mut subkey = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, pickle_key)
        .expand(domain.as_bytes(), subkey.as_mut())
        .map_err(|_| CryptoError::KeyDerivation)?;
    Ok(subkey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_wrong_passphrase() {
        let salt = StateKey::generate_salt();
        let key = StateKey::derive(b"correct horse battery staple", &salt).unwrap();
        let again = StateKey::derive(b"correct horse battery staple", &salt).unwrap();
        assert_eq!(key.as_pickle_key(), again.as_pickle_key());

        let sealed = seal(&key, b"account pickle").unwrap();
        assert_eq!(sealed[0], SEAL_VERSION);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 14 + TAG_LEN);
        assert_eq!(open(&again, &sealed).unwrap(), b"account pickle");
        // Fresh nonce each time.
        assert_ne!(seal(&key, b"account pickle").unwrap(), sealed);

        let wrong = StateKey::derive(b"Correct horse battery staple", &salt).unwrap();
        assert!(matches!(
            open(&wrong, &sealed),
            Err(CryptoError::Decryption)
        ));
        let other_salt = StateKey::derive(b"correct horse battery staple", &[0; 16]).unwrap();
        assert!(matches!(
            open(&other_salt, &sealed),
            Err(CryptoError::Decryption)
        ));

        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            open(&key, &tampered),
            Err(CryptoError::Decryption)
        ));
        let mut bad_version = sealed.clone();
        bad_version[0] = 9;
        assert!(matches!(
            open(&key, &bad_version),
            Err(CryptoError::UnsupportedVersion(9))
        ));
        assert!(matches!(
            open(&key, &sealed[..20]),
            Err(CryptoError::Truncated)
        ));
        assert!(matches!(open(&key, &[]), Err(CryptoError::Truncated)));
        assert_eq!(open(&key, &seal(&key, b"").unwrap()).unwrap(), b"");
    }

    #[test]
    fn pickle_domains_are_separate() {
        let key = StateKey::from_bytes([7; 32]);
        let sealed = seal_pickle(key.as_pickle_key(), "a", b"x").unwrap();
        assert_eq!(
            &*open_pickle(key.as_pickle_key(), "a", &sealed).unwrap(),
            b"x"
        );
        assert!(matches!(
            open_pickle(key.as_pickle_key(), "b", &sealed),
            Err(CryptoError::Pickle)
        ));
    }
}
