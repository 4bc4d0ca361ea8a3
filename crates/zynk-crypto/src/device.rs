//! A device's Olm account: identity keys, one-time and fallback keys, and the
//! opening of Olm sessions.

use std::collections::HashSet;
use std::fmt;

use vodozemac::olm::{Account, AccountPickle, OlmMessage, SessionConfig, SessionCreationError};
use vodozemac::{Curve25519PublicKey, KeyId};
use zynk_proto::{DeviceId, DeviceKeys, KeyBundle, OneTimeKey, UserId};

use crate::identity::{parse_curve25519, verify_signature};
use crate::olm::{OlmCiphertext, OlmSession, map_decryption_error};
use crate::{CryptoError, Result};

/// Prefix of fallback key ids: vodozemac numbers one-time and fallback keys
/// with separate counters, so the bare ids could collide.
pub const FALLBACK_KEY_ID_PREFIX: &str = "fb-";

/// The Olm session version every Zynk session uses (full-length MACs).
fn session_config() -> SessionConfig {
    SessionConfig::version_2()
}

/// A device's Olm account. Secret keys are zeroized on drop (by vodozemac);
/// `Debug` shows only the public identity keys.
pub struct DeviceAccount(Account);

impl Default for DeviceAccount {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceAccount {
    /// A new account with fresh identity keys and no one-time keys.
    pub fn new() -> Self {
        Self(Account::new())
    }

    /// The Olm identity key (Curve25519), unpadded base64.
    pub fn curve25519_base64(&self) -> String {
        self.0.curve25519_key().to_base64()
    }

    /// The device signing key (Ed25519), unpadded base64.
    pub fn ed25519_base64(&self) -> String {
        self.0.ed25519_key().to_base64()
    }

    /// Sign `message` with the device Ed25519 key; unpadded base64.
    pub fn sign(&self, message: &[u8]) -> String {
        self.0.sign(message).to_base64()
    }

    /// This device's keys, unsigned: the user identity signs them
    /// (`UserIdentity::sign_device_keys`).
    pub fn device_keys(&self, user_id: UserId, device_id: DeviceId) -> DeviceKeys {
        DeviceKeys {
            user_id,
            device_id,
            curve25519: self.curve25519_base64(),
            ed25519: self.ed25519_base64(),
            signature: None,
        }
    }

    /// The number of one-time keys to keep published on the server.
    pub fn max_one_time_keys(&self) -> usize {
        self.0.max_number_of_one_time_keys()
    }

    /// Generate `count` new one-time keys, each signed by the device key over
    /// `OneTimeKey::signing_bytes(device_id)`. Upload them, then call
    /// [`Self::mark_keys_as_published`].
    pub fn generate_one_time_keys(&mut self, device_id: DeviceId, count: usize) -> Vec<OneTimeKey> {
        let created: HashSet<Curve25519PublicKey> = self
            .0
            .generate_one_time_keys(count)
            .created
            .into_iter()
            .collect();
        let mut keys: Vec<(KeyId, Curve25519PublicKey)> = self
            .0
            .one_time_keys()
            .into_iter()
            .filter(|(_, key)| created.contains(key))
            .collect();
        keys.sort_by_key(|(id, _)| *id);
        keys.into_iter()
            .map(|(id, key)| self.signed_key(device_id, id.to_base64(), key))
            .collect()
    }

    /// The unpublished fallback key, generating a new one if every fallback
    /// key has been published. Its `key_id` starts with [`FALLBACK_KEY_ID_PREFIX`].
    pub fn fallback_key(&mut self, device_id: DeviceId) -> Result<OneTimeKey> {
        if self.0.fallback_key().is_empty() {
            self.0.generate_fallback_key();
        }
        // Never empty after generate_fallback_key; no panic path all the same.
        let (id, key) = self
            .0
            .fallback_key()
            .into_iter()
            .next()
            .ok_or(CryptoError::BadKey("no fallback key"))?;
        let key_id = format!("{FALLBACK_KEY_ID_PREFIX}{}", id.to_base64());
        Ok(self.signed_key(device_id, key_id, key))
    }

    /// Mark every generated one-time and fallback key as uploaded.
    pub fn mark_keys_as_published(&mut self) {
        self.0.mark_keys_as_published();
    }

    fn signed_key(
        &self,
        device_id: DeviceId,
        key_id: String,
        key: Curve25519PublicKey,
    ) -> OneTimeKey {
        let mut otk = OneTimeKey {
            key_id,
            key: key.to_base64(),
            signature: String::new(),
        };
        otk.signature = self.sign(&otk.signing_bytes(device_id));
        otk
    }

    /// Open an Olm session to the device in `bundle`. The one-time key's
    /// signature by the bundle's device Ed25519 key is checked first; the
    /// caller checks the device keys' user signature ([`crate::verify_device_keys`]).
    pub fn create_outbound_session(&self, bundle: &KeyBundle) -> Result<OlmSession> {
        let device = &bundle.device_keys;
        let otk = &bundle.one_time_key;
        verify_signature(
            &device.ed25519,
            &otk.signing_bytes(device.device_id),
            &otk.signature,
        )?;
        let identity_key = parse_curve25519(&device.curve25519)?;
        let one_time_key = parse_curve25519(&otk.key)?;
        let session = self
            .0
            .create_outbound_session(session_config(), identity_key, one_time_key)
            .map_err(map_creation_error)?;
        Ok(OlmSession::new(session))
    }

    /// Open the session a pre-key message from `sender_curve25519_b64` started
    /// and decrypt that message. The one-time key it used is consumed, so the
    /// same message cannot open a second session (unless it used the fallback
    /// key: route pre-key messages with [`OlmSession::matches_prekey`] first).
    pub fn create_inbound_session(
        &mut self,
        sender_curve25519_b64: &str,
        ciphertext: &OlmCiphertext,
    ) -> Result<(OlmSession, Vec<u8>)> {
        let sender = parse_curve25519(sender_curve25519_b64)?;
        let OlmMessage::PreKey(message) = ciphertext.to_message()? else {
            return Err(CryptoError::Malformed("not a pre-key message"));
        };
        let result = self
            .0
            .create_inbound_session(session_config(), sender, &message)
            .map_err(map_creation_error)?;
        Ok((OlmSession::new(result.session), result.plaintext))
    }

    /// The whole account, encrypted with `pickle_key` (vodozemac pickle).
    pub fn pickle(&self, pickle_key: &[u8; 32]) -> String {
        self.0.pickle().encrypt(pickle_key)
    }

    /// Restore an account from [`Self::pickle`].
    pub fn from_pickle(pickle: &str, pickle_key: &[u8; 32]) -> Result<Self> {
        let pickle =
            AccountPickle::from_encrypted(pickle, pickle_key).map_err(|_| CryptoError::Pickle)?;
        Ok(Self(Account::from_pickle(pickle)))
    }
}

impl fmt::Debug for DeviceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAccount")
            .field("curve25519", &self.curve25519_base64())
            .field("ed25519", &self.ed25519_base64())
            .finish_non_exhaustive()
    }
}

fn map_creation_error(e: SessionCreationError) -> CryptoError {
    match e {
        SessionCreationError::MissingOneTimeKey(_) => CryptoError::UnknownSession,
        SessionCreationError::MismatchedIdentityKey(..) => CryptoError::SenderMismatch,
        SessionCreationError::MismatchedSessionConfig { .. } => {
            CryptoError::Malformed("unsupported Olm version")
        }
        SessionCreationError::Decryption(e) => map_decryption_error(e),
        SessionCreationError::NonContributoryKey => CryptoError::BadKey("non-contributory key"),
    }
}
