//! Transactions: the log entries, with a fixed, versioned binary encoding.
//!
//! # Byte layout (version 1)
//!
//! ```text
//! offset 0  version  u8   = 0x01
//! offset 1  type     u8   1 identity_registration   2 identity_key_rotation
//!                         3 trust_score_update      4 message_anchor
//! then each field of the type, in order, as  len: u16 big-endian ‖ len bytes
//! ```
//!
//! | type | fields (in order)                                                   |
//! |------|---------------------------------------------------------------------|
//! | 1    | did (UTF-8), user_identity_key (32), timestamp (8)                  |
//! | 2    | did, old_key (32), new_key (32), timestamp (8)                      |
//! | 3    | did, old_score (1), new_score (1), reason (1), commitment (32), timestamp (8) |
//! | 4    | merkle_root (32), message_count (4), first_timestamp (8), last_timestamp (8) |
//!
//! Integers are big-endian; timestamps are signed Unix milliseconds. A DID is
//! `did:zynk:` followed by at most 128 bytes of `[A-Za-z0-9._:-]` (the data model
//! uses `did:zynk:{user_id}`). Scores are 0..=100. Reasons: 1
//! verified_by_community, 2 spam_report, 3 account_age_milestone. Decoding
//! rejects an unknown version, type or reason, a field of the wrong length and
//! trailing bytes, so every value has exactly one encoding.
//!
//! No personal data: a DID names a user id, never a username; who reported or
//! vouched is bound only through the 32-byte `commitment` (a hash).
//!
//! The transaction hash is `SHA-256` of these exact bytes, shown as `0x` + hex.
//! [`Transaction::gas_used`] is a deterministic cost, `21 + 16 × encoded length`
//! units: a size measure for quotas, not a fee on any public chain.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::Hash;

/// Encoding version written by this code.
pub const TX_VERSION: u8 = 1;
const MAX_DID_SUFFIX: usize = 128;

/// Why trust changed (the data model's `change_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TrustReason {
    /// Verified by the community.
    VerifiedByCommunity = 1,
    /// A spam report was upheld.
    SpamReport = 2,
    /// The account reached an age milestone.
    AccountAgeMilestone = 3,
}

impl TrustReason {
    fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::VerifiedByCommunity),
            2 => Some(Self::SpamReport),
            3 => Some(Self::AccountAgeMilestone),
            _ => None,
        }
    }
}

/// A log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transaction {
    /// A DID is bound to a user identity key.
    IdentityRegistration {
        did: String,
        user_identity_key: [u8; 32],
        timestamp: i64,
    },
    /// A DID's identity key is replaced.
    IdentityKeyRotation {
        did: String,
        old_key: [u8; 32],
        new_key: [u8; 32],
        timestamp: i64,
    },
    /// A trust score changed; private details are bound by `commitment` only.
    TrustScoreUpdate {
        did: String,
        old_score: u8,
        new_score: u8,
        reason: TrustReason,
        commitment: [u8; 32],
        timestamp: i64,
    },
    /// A batch of message commitments, by the root of its Merkle tree.
    MessageAnchor {
        merkle_root: Hash,
        message_count: u32,
        first_timestamp: i64,
        last_timestamp: i64,
    },
}

/// Why bytes are not a valid transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("unknown encoding version {0}")]
    Version(u8),
    #[error("unknown transaction type {0}")]
    Type(u8),
    #[error("truncated transaction")]
    Truncated,
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
}

/// `0x` + hex of the SHA-256 of a transaction's encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxHash(pub Hash);

impl TxHash {
    /// The hash of encoded transaction bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses `0x` + 64 hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        crate::hex::decode32(s.strip_prefix("0x")?).map(Self)
    }
}

impl fmt::Display for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    // Every field is validated to be far below u16::MAX.
    out.extend_from_slice(&(field.len() as u16).to_be_bytes());
    out.extend_from_slice(field);
}

fn check_did(did: &str) -> Result<(), TxError> {
    let bad = |problem| {
        Err(TxError::Field {
            field: "did",
            problem,
        })
    };
    let Some(suffix) = did.strip_prefix("did:zynk:") else {
        return bad("must start with did:zynk:");
    };
    if suffix.is_empty() || suffix.len() > MAX_DID_SUFFIX {
        return bad("bad length");
    }
    if !suffix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
    {
        return bad("bad character");
    }
    Ok(())
}

fn check_score(field: &'static str, s: u8) -> Result<(), TxError> {
    if s > 100 {
        return Err(TxError::Field {
            field,
            problem: "score above 100",
        });
    }
    Ok(())
}

impl Transaction {
    /// The type byte.
    pub fn type_byte(&self) -> u8 {
        match self {
            Self::IdentityRegistration { .. } => 1,
            Self::IdentityKeyRotation { .. } => 2,
            Self::TrustScoreUpdate { .. } => 3,
            Self::MessageAnchor { .. } => 4,
        }
    }

    /// The data model's `transaction_type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::IdentityRegistration { .. } => "identity_registration",
            Self::IdentityKeyRotation { .. } => "identity_key_rotation",
            Self::TrustScoreUpdate { .. } => "trust_score_update",
            Self::MessageAnchor { .. } => "message_anchor",
        }
    }

    /// Checks the field rules that decoding enforces.
    pub fn validate(&self) -> Result<(), TxError> {
        match self {
            Self::IdentityRegistration { did, .. } | Self::IdentityKeyRotation { did, .. } => {
                check_did(did)
            }
            Self::TrustScoreUpdate {
                did,
                old_score,
                new_score,
                ..
            } => {
                check_did(did)?;
                check_score("old_score", *old_score)?;
                check_score("new_score", *new_score)
            }
            Self::MessageAnchor {
                first_timestamp,
                last_timestamp,
                ..
            } => {
                if first_timestamp > last_timestamp {
                    return Err(TxError::Field {
                        field: "last_timestamp",
                        problem: "before first_timestamp",
                    });
                }
                Ok(())
            }
        }
    }

    /// The canonical encoding (see the module doc). Fails if a field is invalid.
    pub fn encode(&self) -> Result<Vec<u8>, TxError> {
        self.validate()?;
        let mut out = Vec::with_capacity(96);
        out.push(TX_VERSION);
        out.push(self.type_byte());
        match self {
            Self::IdentityRegistration {
                did,
                user_identity_key,
                timestamp,
            } => {
                put(&mut out, did.as_bytes());
                put(&mut out, user_identity_key);
                put(&mut out, &timestamp.to_be_bytes());
            }
            Self::IdentityKeyRotation {
                did,
                old_key,
                new_key,
                timestamp,
            } => {
                put(&mut out, did.as_bytes());
                put(&mut out, old_key);
                put(&mut out, new_key);
                put(&mut out, &timestamp.to_be_bytes());
            }
            Self::TrustScoreUpdate {
                did,
                old_score,
                new_score,
                reason,
                commitment,
                timestamp,
            } => {
                put(&mut out, did.as_bytes());
                put(&mut out, &[*old_score]);
                put(&mut out, &[*new_score]);
                put(&mut out, &[*reason as u8]);
                put(&mut out, commitment);
                put(&mut out, &timestamp.to_be_bytes());
            }
            Self::MessageAnchor {
                merkle_root,
                message_count,
                first_timestamp,
                last_timestamp,
            } => {
                put(&mut out, merkle_root);
                put(&mut out, &message_count.to_be_bytes());
                put(&mut out, &first_timestamp.to_be_bytes());
                put(&mut out, &last_timestamp.to_be_bytes());
            }
        }
        Ok(out)
    }

    /// Decodes exactly one transaction; rejects anything non-canonical.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let mut r = Reader { rest: bytes };
        let version = r.byte()?;
        if version != TX_VERSION {
            return Err(TxError::Version(version));
        }
        let tx = match r.byte()? {
            1 => Self::IdentityRegistration {
                did: r.did()?,
                user_identity_key: r.fixed("user_identity_key")?,
                timestamp: i64::from_be_bytes(r.fixed("timestamp")?),
            },
            2 => Self::IdentityKeyRotation {
                did: r.did()?,
                old_key: r.fixed("old_key")?,
                new_key: r.fixed("new_key")?,
                timestamp: i64::from_be_bytes(r.fixed("timestamp")?),
            },
            3 => Self::TrustScoreUpdate {
                did: r.did()?,
                old_score: r.fixed::<1>("old_score")?[0],
                new_score: r.fixed::<1>("new_score")?[0],
                reason: TrustReason::from_u8(r.fixed::<1>("reason")?[0]).ok_or(TxError::Field {
                    field: "reason",
                    problem: "unknown reason",
                })?,
                commitment: r.fixed("commitment")?,
                timestamp: i64::from_be_bytes(r.fixed("timestamp")?),
            },
            4 => Self::MessageAnchor {
                merkle_root: r.fixed("merkle_root")?,
                message_count: u32::from_be_bytes(r.fixed("message_count")?),
                first_timestamp: i64::from_be_bytes(r.fixed("first_timestamp")?),
                last_timestamp: i64::from_be_bytes(r.fixed("last_timestamp")?),
            },
            t => return Err(TxError::Type(t)),
        };
        if !r.rest.is_empty() {
            return Err(TxError::Trailing(r.rest.len()));
        }
        tx.validate()?;
        Ok(tx)
    }

    /// Deterministic cost in units: `21 + 16 × encoded length`.
    pub fn gas_used(encoded_len: usize) -> u64 {
        21 + 16 * encoded_len as u64
    }

    /// The DID this transaction is about, if any.
    pub fn did(&self) -> Option<&str> {
        match self {
            Self::IdentityRegistration { did, .. }
            | Self::IdentityKeyRotation { did, .. }
            | Self::TrustScoreUpdate { did, .. } => Some(did),
            Self::MessageAnchor { .. } => None,
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, TxError> {
        let (&b, rest) = self.rest.split_first().ok_or(TxError::Truncated)?;
        self.rest = rest;
        Ok(b)
    }

    fn field(&mut self) -> Result<&'a [u8], TxError> {
        if self.rest.len() < 2 {
            return Err(TxError::Truncated);
        }
        let len = u16::from_be_bytes([self.rest[0], self.rest[1]]) as usize;
        let rest = &self.rest[2..];
        if rest.len() < len {
            return Err(TxError::Truncated);
        }
        let (field, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(field)
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], TxError> {
        self.field()?.try_into().map_err(|_| TxError::Field {
            field,
            problem: "wrong length",
        })
    }

    fn did(&mut self) -> Result<String, TxError> {
        let raw = self.field()?;
        let did = std::str::from_utf8(raw)
            .map_err(|_| TxError::Field {
                field: "did",
                problem: "not UTF-8",
            })?
            .to_owned();
        check_did(&did)?;
        Ok(did)
    }
}
