//! The one error type of the crate.
//!
//! Variants say *what* went wrong without echoing key material or plaintext.

use thiserror::Error;

/// Everything that can go wrong in `zynk-crypto`.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// Input that should be base64 is not.
    #[error("invalid base64")]
    BadBase64,
    /// A key has the wrong length or is not a valid curve point.
    #[error("invalid key: {0}")]
    BadKey(&'static str),
    /// A signature is missing, malformed or does not verify.
    #[error("missing or invalid signature")]
    BadSignature,
    /// Authentication of a ciphertext failed (tampered, wrong key or wrong session).
    #[error("decryption failed")]
    Decryption,
    /// This message was already decrypted once (or its one-time key is gone).
    #[error("replayed message")]
    Replay,
    /// No session (or one-time key) of ours matches this message.
    #[error("unknown session or one-time key")]
    UnknownSession,
    /// A pre-key message claims a different sender identity key than expected.
    #[error("sender identity key does not match the message")]
    SenderMismatch,
    /// A Megolm message older than the first index this member holds.
    #[error("message index {index} precedes the first known index {first_known}")]
    UnknownMessageIndex { first_known: u32, index: u32 },
    /// An encrypted stream ends before its final chunk.
    #[error("ciphertext truncated")]
    Truncated,
    /// Chunks of an encrypted stream are out of order.
    #[error("ciphertext chunks reordered")]
    Reordered,
    /// Bytes follow the final chunk of an encrypted stream.
    #[error("data after the final chunk")]
    TrailingData,
    /// The input is too large for the format (e.g. > 2^32 file chunks).
    #[error("input too large")]
    TooLarge,
    /// A structure (envelope, message, sealed blob) cannot be parsed.
    #[error("malformed input: {0}")]
    Malformed(&'static str),
    /// A format version this build does not know.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// A pickle cannot be decrypted (wrong key) or decoded.
    #[error("cannot restore pickle")]
    Pickle,
    /// Key derivation failed (e.g. invalid Argon2 parameters or salt).
    #[error("key derivation failed")]
    KeyDerivation,
    /// The caller's reader or writer failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
