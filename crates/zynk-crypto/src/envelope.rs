//! What the SDK stores as `messages.encrypted_content`: JSON envelopes around
//! Olm (pairwise) or Megolm (group) ciphertexts. Only ciphertext and public
//! routing data (device ids, the sender's public key, session id) appear.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::olm::OlmCiphertext;
use crate::{CryptoError, Result};

/// The envelope format version this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;

/// A 1:1 message: one Olm ciphertext per recipient device (including the
/// sender's other devices), keyed by recipient device id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u8,
    pub sender_device: String,
    /// The sender device's Curve25519 identity key (opens inbound sessions).
    pub sender_curve25519: String,
    pub ciphertexts: BTreeMap<String, OlmCiphertext>,
}

/// A group message: one Megolm ciphertext for every member device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEnvelope {
    pub v: u8,
    pub sender_device: String,
    /// The Megolm session id (picks the `InboundGroup`).
    pub session_id: String,
    /// The Megolm message, unpadded base64.
    pub ciphertext: String,
}

/// Either envelope, tagged by `"kind": "pairwise" | "group"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContentEnvelope {
    Pairwise(Envelope),
    Group(GroupEnvelope),
}

impl Envelope {
    /// An empty envelope (version [`ENVELOPE_VERSION`]) to add ciphertexts to.
    pub fn new(sender_device: impl Into<String>, sender_curve25519: impl Into<String>) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            sender_device: sender_device.into(),
            sender_curve25519: sender_curve25519.into(),
            ciphertexts: BTreeMap::new(),
        }
    }

    /// The ciphertext addressed to `device_id`, if any.
    pub fn ciphertext_for(&self, device_id: &str) -> Option<&OlmCiphertext> {
        self.ciphertexts.get(device_id)
    }

    /// JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_json(self)
    }

    /// Parse JSON bytes; rejects unknown versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let envelope: Self = from_json(bytes)?;
        check_version(envelope.v)?;
        Ok(envelope)
    }
}

impl GroupEnvelope {
    /// A group envelope of version [`ENVELOPE_VERSION`].
    pub fn new(
        sender_device: impl Into<String>,
        session_id: impl Into<String>,
        ciphertext: impl Into<String>,
    ) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            sender_device: sender_device.into(),
            session_id: session_id.into(),
            ciphertext: ciphertext.into(),
        }
    }

    /// JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_json(self)
    }

    /// Parse JSON bytes; rejects unknown versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let envelope: Self = from_json(bytes)?;
        check_version(envelope.v)?;
        Ok(envelope)
    }
}

impl ContentEnvelope {
    /// JSON bytes (with the `kind` tag).
    pub fn to_bytes(&self) -> Vec<u8> {
        to_json(self)
    }

    /// Parse JSON bytes; rejects unknown kinds and versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let envelope: Self = from_json(bytes)?;
        match &envelope {
            Self::Pairwise(e) => check_version(e.v)?,
            Self::Group(e) => check_version(e.v)?,
        }
        Ok(envelope)
    }
}

fn check_version(v: u8) -> Result<()> {
    if v == ENVELOPE_VERSION {
        Ok(())
    } else {
        Err(CryptoError::UnsupportedVersion(v))
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs with string keys: serde_json cannot fail on them.
    serde_json::to_vec(value).unwrap_or_default()
}

fn from_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|_| CryptoError::Malformed("envelope json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let mut e = Envelope::new("dev-a", "curveA");
        e.ciphertexts.insert(
            "dev-b".into(),
            OlmCiphertext {
                message_type: 0,
                body: "AAAA".into(),
            },
        );
        e
    }

    #[test]
    fn round_trips() {
        let e = sample();
        assert_eq!(Envelope::from_bytes(&e.to_bytes()).unwrap(), e);
        let g = GroupEnvelope::new("dev-a", "sess", "Zm9v");
        assert_eq!(GroupEnvelope::from_bytes(&g.to_bytes()).unwrap(), g);

        let c = ContentEnvelope::Pairwise(e);
        let json: serde_json::Value = serde_json::from_slice(&c.to_bytes()).unwrap();
        assert_eq!(json["kind"], "pairwise");
        assert_eq!(json["ciphertexts"]["dev-b"]["message_type"], 0);
        assert_eq!(ContentEnvelope::from_bytes(&c.to_bytes()).unwrap(), c);
        let c = ContentEnvelope::Group(g);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&c.to_bytes()).unwrap()["kind"],
            "group"
        );
        assert_eq!(ContentEnvelope::from_bytes(&c.to_bytes()).unwrap(), c);
    }

    #[test]
    fn rejects_bad_input() {
        let mut e = sample();
        e.v = 2;
        assert!(matches!(
            Envelope::from_bytes(&e.to_bytes()),
            Err(CryptoError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            ContentEnvelope::from_bytes(&ContentEnvelope::Pairwise(e).to_bytes()),
            Err(CryptoError::UnsupportedVersion(2))
        ));
        assert!(ContentEnvelope::from_bytes(b"{\"kind\":\"other\"}").is_err());
        assert!(Envelope::from_bytes(b"not json").is_err());
    }
}
