//! Olm (Double Ratchet) sessions between two devices.

use std::fmt;

use serde::{Deserialize, Serialize};
use vodozemac::olm::{DecryptionError, OlmMessage, Session, SessionPickle};
use vodozemac::{base64_decode, base64_encode};

use crate::{CryptoError, Result};

/// One Olm message on the wire: `message_type` 0 = pre-key (opens a session),
/// 1 = normal; `body` = unpadded base64 of vodozemac's message bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OlmCiphertext {
    pub message_type: u8,
    pub body: String,
}

impl OlmCiphertext {
    /// Message type of a pre-key message.
    pub const PRE_KEY: u8 = 0;
    /// Message type of a normal message.
    pub const NORMAL: u8 = 1;

    /// Whether this is a pre-key message (one that can open a session).
    pub fn is_pre_key(&self) -> bool {
        self.message_type == Self::PRE_KEY
    }

    pub(crate) fn from_message(message: &OlmMessage) -> Self {
        let (message_type, bytes) = message.to_parts();
        Self {
            // vodozemac's types are 0 and 1.
            message_type: u8::try_from(message_type).unwrap_or(Self::NORMAL),
            body: base64_encode(bytes),
        }
    }

    pub(crate) fn to_message(&self) -> Result<OlmMessage> {
        let bytes = base64_decode(&self.body).map_err(|_| CryptoError::BadBase64)?;
        OlmMessage::from_parts(usize::from(self.message_type), &bytes)
            .map_err(|_| CryptoError::Malformed("olm message"))
    }
}

/// An Olm session with one other device. Its ratchet state is secret and
/// zeroized on drop (by vodozemac); `Debug` shows only the session id.
pub struct OlmSession(Session);

impl OlmSession {
    pub(crate) fn new(session: Session) -> Self {
        Self(session)
    }

    /// The globally unique session id (base64 SHA-256 of the opening keys).
    pub fn session_id(&self) -> String {
        self.0.session_id()
    }

    /// Whether we have decrypted anything from the other side yet. Until
    /// then, [`Self::encrypt`] yields pre-key messages.
    pub fn has_received_message(&self) -> bool {
        self.0.has_received_message()
    }

    /// Encrypt `plaintext` for the other device.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<OlmCiphertext> {
        let message = self
            .0
            .encrypt(plaintext)
            .map_err(|_| CryptoError::BadKey("non-contributory ratchet key"))?;
        Ok(OlmCiphertext::from_message(&message))
    }

    /// Decrypt a message from the other device. Out-of-order messages are
    /// fine (within vodozemac's skipped-key window); a message whose key was
    /// already used gives [`CryptoError::Replay`].
    pub fn decrypt(&mut self, ciphertext: &OlmCiphertext) -> Result<Vec<u8>> {
        let message = ciphertext.to_message()?;
        self.0.decrypt(&message).map_err(map_decryption_error)
    }

    /// Whether `ciphertext` is a pre-key message that was sent on this session
    /// (same identity, base and one-time keys). Use it to route a pre-key
    /// message to an existing session before opening a new one.
    pub fn matches_prekey(&self, ciphertext: &OlmCiphertext) -> bool {
        match ciphertext.to_message() {
            Ok(OlmMessage::PreKey(m)) => m.session_keys() == self.0.session_keys(),
            _ => false,
        }
    }

    /// The session state, encrypted with `pickle_key` (vodozemac pickle).
    pub fn pickle(&self, pickle_key: &[u8; 32]) -> String {
        self.0.pickle().encrypt(pickle_key)
    }

    /// Restore a session from [`Self::pickle`].
    pub fn from_pickle(pickle: &str, pickle_key: &[u8; 32]) -> Result<Self> {
        let pickle =
            SessionPickle::from_encrypted(pickle, pickle_key).map_err(|_| CryptoError::Pickle)?;
        Ok(Self(Session::from_pickle(pickle)))
    }
}

impl fmt::Debug for OlmSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OlmSession")
            .field("session_id", &self.session_id())
            .finish_non_exhaustive()
    }
}

pub(crate) fn map_decryption_error(e: DecryptionError) -> CryptoError {
    match e {
        DecryptionError::MissingMessageKey(_) => CryptoError::Replay,
        DecryptionError::NonContributoryKey => CryptoError::BadKey("non-contributory ratchet key"),
        _ => CryptoError::Decryption,
    }
}
