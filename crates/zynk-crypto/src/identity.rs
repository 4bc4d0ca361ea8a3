//! The user identity key (Ed25519), signatures, and safety numbers.
//!
//! The user identity key signs each device's keys (`DeviceKeys::signing_bytes`);
//! the server and other users check that signature with [`verify_device_keys`].

use std::fmt;

use sha2::{Digest, Sha512};
use vodozemac::{Curve25519PublicKey, Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature};
use zeroize::{Zeroize, Zeroizing};
use zynk_proto::DeviceKeys;

use crate::{CryptoError, Result};

/// A user's long-term Ed25519 identity key (secret half).
///
/// Zeroized on drop (the inner `ed25519_dalek::SigningKey` zeroizes itself).
/// `Debug` shows only the public key.
pub struct UserIdentity(Ed25519SecretKey);

impl UserIdentity {
    /// A fresh random identity key.
    pub fn generate() -> Self {
        Self(Ed25519SecretKey::new())
    }

    /// Restore from the 32 secret bytes (as given by [`Self::secret_bytes`]).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Self {
        Self(Ed25519SecretKey::from_slice(bytes))
    }

    /// The 32 secret bytes, for handing to another device of the same user.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut boxed = self.0.to_bytes();
        let out = Zeroizing::new(*boxed);
        boxed.zeroize();
        out
    }

    /// The public key, unpadded standard base64 (`users.public_key`).
    pub fn public_key_base64(&self) -> String {
        self.0.public_key().to_base64()
    }

    /// Sign `message`; the signature as unpadded base64.
    pub fn sign(&self, message: &[u8]) -> String {
        self.0.sign(message).to_base64()
    }

    /// Fill `keys.signature` with this identity's signature over
    /// `keys.signing_bytes()`.
    pub fn sign_device_keys(&self, keys: &mut DeviceKeys) {
        keys.signature = Some(self.sign(&keys.signing_bytes()));
    }
}

impl fmt::Debug for UserIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserIdentity")
            .field("public_key", &self.public_key_base64())
            .finish_non_exhaustive()
    }
}

pub(crate) fn parse_ed25519(b64: &str) -> Result<Ed25519PublicKey> {
    Ed25519PublicKey::from_base64(b64).map_err(|_| CryptoError::BadKey("ed25519 public key"))
}

pub(crate) fn parse_curve25519(b64: &str) -> Result<Curve25519PublicKey> {
    Curve25519PublicKey::from_base64(b64).map_err(|_| CryptoError::BadKey("curve25519 public key"))
}

/// Check an Ed25519 signature (strict verification: no malleable signatures,
/// no small-order keys). Base64 may be padded or not.
pub fn verify_signature(public_b64: &str, message: &[u8], signature_b64: &str) -> Result<()> {
    let key = parse_ed25519(public_b64)?;
    let signature =
        Ed25519Signature::from_base64(signature_b64).map_err(|_| CryptoError::BadSignature)?;
    key.verify(message, &signature)
        .map_err(|_| CryptoError::BadSignature)
}

/// Check that `keys` carries a valid signature by the user identity key
/// `user_identity_b64`, and that both device keys are well-formed.
pub fn verify_device_keys(user_identity_b64: &str, keys: &DeviceKeys) -> Result<()> {
    parse_curve25519(&keys.curve25519)?;
    parse_ed25519(&keys.ed25519)?;
    let signature = keys.signature.as_deref().ok_or(CryptoError::BadSignature)?;
    verify_signature(user_identity_b64, &keys.signing_bytes(), signature)
}

/// Iterations of SHA-512 per party, as in Signal's numeric fingerprints.
pub const SAFETY_NUMBER_ITERATIONS: usize = 5200;
/// The version prefix hashed first (big-endian u16).
pub const SAFETY_NUMBER_VERSION: u16 = 0;

/// The 60-digit safety number two users compare out of band, formatted as 12
/// groups of 5 digits separated by single spaces.
///
/// Construction (Signal's numeric fingerprint, with raw Ed25519 keys):
/// for each party, `h = version (2 bytes, big-endian 0) ‖ key (32 raw bytes) ‖
/// user id (UTF-8)`, then 5200 times `h = SHA-512(h ‖ key)`. The first 30
/// bytes of `h` give 6 chunks of 5 bytes; each chunk, read as a big-endian
/// 40-bit integer, mod 100000, zero-padded to 5 digits: 30 digits per party.
/// The two 30-digit halves are concatenated in ascending (string) order, so
/// both sides compute the same number whichever of them is "a".
pub fn safety_number(
    user_a: &str,
    key_a_b64: &str,
    user_b: &str,
    key_b_b64: &str,
) -> Result<String> {
    let a = fingerprint_digits(user_a, &parse_ed25519(key_a_b64)?)?;
    let b = fingerprint_digits(user_b, &parse_ed25519(key_b_b64)?)?;
    let joined = if a <= b { a + &b } else { b + &a };
    let groups: Vec<&str> = (0..12)
        .filter_map(|i| joined.get(i * 5..i * 5 + 5))
        .collect();
    Ok(groups.join(" "))
}

fn fingerprint_digits(user: &str, key: &Ed25519PublicKey) -> Result<String> {
    let key = key.as_bytes();
    let mut hash = Vec::with_capacity(2 + key.len() + user.len());
    hash.extend_from_slice(&SAFETY_NUMBER_VERSION.to_be_bytes());
    hash.extend_from_slice(key);
    hash.extend_from_slice(user.as_bytes());
    for _ in 0..SAFETY_NUMBER_ITERATIONS {
        let mut digest = Sha512::new();
        digest.update(&hash);
        digest.update(key);
        hash = digest.finalize().to_vec();
    }
    let mut out = String::with_capacity(30);
    for chunk in hash.chunks_exact(5).take(6) {
        let value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        out.push_str(&format!("{:05}", value % 100_000));
    }
    if out.len() != 30 {
        return Err(CryptoError::Malformed("short fingerprint hash"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zynk_proto::{DeviceId, UserId};

    #[test]
    fn sign_and_verify() {
        let id = UserIdentity::generate();
        let sig = id.sign(b"hello");
        verify_signature(&id.public_key_base64(), b"hello", &sig).unwrap();
        assert!(matches!(
            verify_signature(&id.public_key_base64(), b"hellO", &sig),
            Err(CryptoError::BadSignature)
        ));
        let other = UserIdentity::generate();
        assert!(verify_signature(&other.public_key_base64(), b"hello", &sig).is_err());
        assert!(matches!(
            verify_signature("not a key", b"hello", &sig),
            Err(CryptoError::BadKey(_))
        ));
    }

    #[test]
    fn secret_bytes_round_trip() {
        let id = UserIdentity::generate();
        let restored = UserIdentity::from_secret_bytes(&id.secret_bytes());
        assert_eq!(id.public_key_base64(), restored.public_key_base64());
    }

    fn device_keys() -> DeviceKeys {
        let account = crate::DeviceAccount::new();
        account.device_keys(UserId::new(), DeviceId::new())
    }

    #[test]
    fn device_keys_signature() {
        let id = UserIdentity::generate();
        let mut keys = device_keys();
        assert!(matches!(
            verify_device_keys(&id.public_key_base64(), &keys),
            Err(CryptoError::BadSignature)
        ));
        id.sign_device_keys(&mut keys);
        verify_device_keys(&id.public_key_base64(), &keys).unwrap();

        // Signed by somebody else.
        let mallory = UserIdentity::generate();
        assert!(verify_device_keys(&mallory.public_key_base64(), &keys).is_err());

        // A swapped device key no longer matches the signature.
        let mut swapped = keys.clone();
        swapped.curve25519 = crate::DeviceAccount::new().curve25519_base64();
        assert!(matches!(
            verify_device_keys(&id.public_key_base64(), &swapped),
            Err(CryptoError::BadSignature)
        ));
    }

    #[test]
    fn safety_numbers_are_symmetric_and_key_bound() {
        let (a, b) = (UserIdentity::generate(), UserIdentity::generate());
        let (ka, kb) = (a.public_key_base64(), b.public_key_base64());
        let ab = safety_number("alice", &ka, "bob", &kb).unwrap();
        let ba = safety_number("bob", &kb, "alice", &ka).unwrap();
        assert_eq!(ab, ba);
        assert_eq!(ab.len(), 12 * 5 + 11);
        let groups: Vec<&str> = ab.split(' ').collect();
        assert_eq!(groups.len(), 12);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit()))
        );

        let a2 = UserIdentity::generate().public_key_base64();
        assert_ne!(ab, safety_number("alice", &a2, "bob", &kb).unwrap());
        let b2 = UserIdentity::generate().public_key_base64();
        assert_ne!(ab, safety_number("alice", &ka, "bob", &b2).unwrap());
        assert_ne!(ab, safety_number("alicf", &ka, "bob", &kb).unwrap());
        assert!(safety_number("alice", "x", "bob", &kb).is_err());
    }

    /// Fixed vector, cross-checked against an independent Python
    /// implementation of the construction documented on `safety_number`.
    #[test]
    fn safety_number_vector() {
        let a = UserIdentity::from_secret_bytes(&[1; 32]).public_key_base64();
        let b = UserIdentity::from_secret_bytes(&[2; 32]).public_key_base64();
        assert_eq!(a, "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w");
        assert_eq!(
            safety_number("@alice:zynk", &a, "@bob:zynk", &b).unwrap(),
            "00574 29821 25851 90956 67213 50782 21424 74362 10895 28101 96789 77347"
        );
    }
}
