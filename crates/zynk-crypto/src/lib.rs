//! Zynk's client-side end-to-end encryption core.
//!
//! Layout:
//! - `identity` — the user identity key (Ed25519): signs device keys;
//!   signature checks; safety numbers.
//! - `device`   — `DeviceAccount`: a device's Olm account (identity keys,
//!   signed one-time and fallback keys) and the opening of Olm sessions.
//! - `olm`      — `OlmSession` (Double Ratchet) and its wire form `OlmCiphertext`.
//! - `envelope` — the JSON envelopes stored as `messages.encrypted_content`.
//! - `group`    — Megolm: `OutboundGroup` (rotation policy), `InboundGroup`
//!   (with replay detection).
//! - `file`     — streaming AES-256-GCM (STREAM construction, 64 KiB chunks).
//! - `state`    — `StateKey` (Argon2id from a passphrase) sealing local state;
//!   also the pickle key for every session pickle.
//! - `error`    — `CryptoError`, the crate's one error type.
//!
//! The primitives come from audited libraries: `vodozemac` (Olm v2 and Megolm
//! v2, i.e. full-length MACs) and RustCrypto (`aes-gcm`, `argon2`, `hkdf`,
//! `sha2`). Nothing here invents a primitive.
//!
//! Architecture invariant: **no IO.** No network, no files, no clock, no
//! tokio. State goes in and out as values and encrypted pickles; file
//! encryption takes the caller's `std::io::Read`/`Write`. The caller (the SDK)
//! decides where anything is stored or sent.
//!
//! Secrets are zeroized on drop and never appear in `Debug` output.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod device;
pub mod envelope;
pub mod error;
pub mod file;
pub mod group;
pub mod identity;
pub mod olm;
pub mod state;

pub use device::{DeviceAccount, FALLBACK_KEY_ID_PREFIX};
pub use envelope::{ContentEnvelope, ENVELOPE_VERSION, Envelope, GroupEnvelope};
pub use error::{CryptoError, Result};
pub use file::{FileKey, ciphertext_len, decrypt_stream, encrypt_stream};
pub use group::{InboundGroup, OutboundGroup, RotationPolicy};
pub use identity::{UserIdentity, safety_number, verify_device_keys, verify_signature};
pub use olm::{OlmCiphertext, OlmSession};
pub use state::{StateKey, open, seal};
