//! Megolm group sessions: one outbound session per sending device and
//! conversation, shared over Olm; one inbound session per received key.
//!
//! Megolm's ratchet only turns forward: a member who receives the session key
//! at index N cannot decrypt messages before N, and a fresh [`OutboundGroup`]
//! (rotation) locks out anyone who does not receive its key.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use vodozemac::megolm::{
    DecryptionError, GroupSession, GroupSessionPickle, InboundGroupSession,
    InboundGroupSessionPickle, MegolmMessage, SessionConfig, SessionKey, SessionKeyDecodeError,
};
use zeroize::Zeroizing;

use crate::state::{open_pickle, seal_pickle};
use crate::{CryptoError, Result};

const OUTBOUND_PICKLE_DOMAIN: &str = "zynk-crypto/outbound-group-pickle/v1";
const INBOUND_PICKLE_DOMAIN: &str = "zynk-crypto/inbound-group-pickle/v1";

/// The Megolm version every Zynk group session uses (full-length MACs). The
/// session key does not carry it, so both sides must agree.
fn session_config() -> SessionConfig {
    SessionConfig::version_2()
}

/// When to replace an outbound session (and share a new key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    pub max_messages: u32,
    pub max_age_secs: u64,
}

impl Default for RotationPolicy {
    /// Matrix's defaults: 100 messages or one week.
    fn default() -> Self {
        Self {
            max_messages: 100,
            max_age_secs: 7 * 24 * 3600,
        }
    }
}

/// Our sending side of a Megolm session. Secret (ratchet and signing key),
/// zeroized on drop by vodozemac; `Debug` shows only public data.
pub struct OutboundGroup {
    session: GroupSession,
    created_at_unix: u64,
    messages_sent: u32,
}

#[derive(Serialize, Deserialize)]
struct OutboundPickle {
    session: GroupSessionPickle,
    created_at_unix: u64,
    messages_sent: u32,
}

impl OutboundGroup {
    /// A new session with a random ratchet, created at `now_unix` (seconds).
    pub fn new(now_unix: u64) -> Self {
        Self {
            session: GroupSession::new(session_config()),
            created_at_unix: now_unix,
            messages_sent: 0,
        }
    }

    /// The session id (the base64 Ed25519 key that signs its messages).
    pub fn session_id(&self) -> String {
        self.session.session_id()
    }

    /// The session key at the current index, base64, to share over Olm.
    /// Whoever holds it can decrypt this and every later message.
    pub fn session_key(&self) -> Zeroizing<String> {
        Zeroizing::new(self.session.session_key().to_base64())
    }

    /// The index the next message will carry.
    pub fn message_index(&self) -> u32 {
        self.session.message_index()
    }

    /// When the session was created (seconds since the Unix epoch).
    pub fn created_at_unix(&self) -> u64 {
        self.created_at_unix
    }

    /// How many messages this session has encrypted.
    pub fn messages_sent(&self) -> u32 {
        self.messages_sent
    }

    /// Encrypt `plaintext`; the Megolm message as unpadded base64.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> String {
        self.messages_sent = self.messages_sent.saturating_add(1);
        self.session.encrypt(plaintext).to_base64()
    }

    /// Whether the policy says to start a new session (also rotate whenever a
    /// member leaves or a device is removed: that is the caller's call).
    pub fn should_rotate(&self, policy: &RotationPolicy, now_unix: u64) -> bool {
        self.messages_sent >= policy.max_messages
            || now_unix.saturating_sub(self.created_at_unix) >= policy.max_age_secs
    }

    /// The session and its counters, sealed under `pickle_key`.
    pub fn pickle(&self, pickle_key: &[u8; 32]) -> Result<String> {
        let pickle = OutboundPickle {
            session: self.session.pickle(),
            created_at_unix: self.created_at_unix,
            messages_sent: self.messages_sent,
        };
        let json = Zeroizing::new(serde_json::to_vec(&pickle).map_err(|_| CryptoError::Pickle)?);
        seal_pickle(pickle_key, OUTBOUND_PICKLE_DOMAIN, &json)
    }

    /// Restore from [`Self::pickle`].
    pub fn from_pickle(pickle: &str, pickle_key: &[u8; 32]) -> Result<Self> {
        let json = open_pickle(pickle_key, OUTBOUND_PICKLE_DOMAIN, pickle)?;
        let p: OutboundPickle = serde_json::from_slice(&json).map_err(|_| CryptoError::Pickle)?;
        Ok(Self {
            session: GroupSession::from_pickle(p.session),
            created_at_unix: p.created_at_unix,
            messages_sent: p.messages_sent,
        })
    }
}

impl fmt::Debug for OutboundGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundGroup")
            .field("session_id", &self.session_id())
            .field("message_index", &self.message_index())
            .field("created_at_unix", &self.created_at_unix)
            .field("messages_sent", &self.messages_sent)
            .finish_non_exhaustive()
    }
}

/// A received Megolm session. Remembers which message indices it decrypted
/// and refuses them a second time ([`CryptoError::Replay`]).
pub struct InboundGroup {
    session: InboundGroupSession,
    seen: BTreeSet<u32>,
}

#[derive(Serialize, Deserialize)]
struct InboundPickle {
    session: InboundGroupSessionPickle,
    seen: BTreeSet<u32>,
}

impl InboundGroup {
    /// From a session key received over an Olm session with the sender
    /// (checks the key's self-signature).
    pub fn from_session_key(session_key_b64: &str) -> Result<Self> {
        let key = SessionKey::from_base64(session_key_b64).map_err(|e| match e {
            SessionKeyDecodeError::Base64(_) => CryptoError::BadBase64,
            SessionKeyDecodeError::Signature(_) => CryptoError::BadSignature,
            SessionKeyDecodeError::Version(_, got) => CryptoError::UnsupportedVersion(got),
            _ => CryptoError::BadKey("megolm session key"),
        })?;
        Ok(Self {
            session: InboundGroupSession::new(&key, session_config()),
            seen: BTreeSet::new(),
        })
    }

    /// The session id; matches the sender's [`OutboundGroup::session_id`].
    pub fn session_id(&self) -> String {
        self.session.session_id()
    }

    /// The first message index this member can decrypt.
    pub fn first_known_index(&self) -> u32 {
        self.session.first_known_index()
    }

    /// Decrypt a base64 Megolm message: the plaintext and its message index.
    pub fn decrypt(&mut self, ciphertext_b64: &str) -> Result<(Vec<u8>, u32)> {
        let message = MegolmMessage::from_base64(ciphertext_b64).map_err(|e| match e {
            vodozemac::DecodeError::Base64(_) => CryptoError::BadBase64,
            _ => CryptoError::Malformed("megolm message"),
        })?;
        let decrypted = self.session.decrypt(&message).map_err(|e| match e {
            DecryptionError::Signature(_) => CryptoError::BadSignature,
            DecryptionError::UnknownMessageIndex(first_known, index) => {
                CryptoError::UnknownMessageIndex { first_known, index }
            }
            _ => CryptoError::Decryption,
        })?;
        if !self.seen.insert(decrypted.message_index) {
            return Err(CryptoError::Replay);
        }
        Ok((decrypted.plaintext, decrypted.message_index))
    }

    /// The session and the seen indices, sealed under `pickle_key`.
    pub fn pickle(&self, pickle_key: &[u8; 32]) -> Result<String> {
        let pickle = InboundPickle {
            session: self.session.pickle(),
            seen: self.seen.clone(),
        };
        let json = Zeroizing::new(serde_json::to_vec(&pickle).map_err(|_| CryptoError::Pickle)?);
        seal_pickle(pickle_key, INBOUND_PICKLE_DOMAIN, &json)
    }

    /// Restore from [`Self::pickle`].
    pub fn from_pickle(pickle: &str, pickle_key: &[u8; 32]) -> Result<Self> {
        let json = open_pickle(pickle_key, INBOUND_PICKLE_DOMAIN, pickle)?;
        let p: InboundPickle = serde_json::from_slice(&json).map_err(|_| CryptoError::Pickle)?;
        Ok(Self {
            session: InboundGroupSession::from_pickle(p.session),
            seen: p.seen,
        })
    }
}

impl fmt::Debug for InboundGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundGroup")
            .field("session_id", &self.session_id())
            .field("first_known_index", &self.first_known_index())
            .field("seen", &self.seen.len())
            .finish_non_exhaustive()
    }
}
