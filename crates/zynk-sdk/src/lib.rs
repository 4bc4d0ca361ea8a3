//! The Zynk client library.
//!
//! Layout:
//! - `client.rs`    — `Client`, the HTTP API client: accounts, sessions,
//!   devices, profiles. It holds the current token pair and sends the bearer
//!   token.
//! - `messaging.rs` — conversations, groups, messages and the device inbox
//!   over HTTP, and `outgoing` (a `SendMessage` for some bytes).
//! - `calls.rs`     — calls (signaling endpoints) and live location.
//! - `files.rs`     — encrypted files: streamed upload and ranged download,
//!   and `send_file` / `receive_file` (encrypt + upload, download + verify + decrypt).
//! - `ws.rs`        — `Client::connect` and `Connection`, the realtime
//!   WebSocket (`/v1/ws`).
//! - `inbox.rs`     — `Inbox`, the client side of the delivery contract
//!   (dedupe of redelivered messages), used by `Connection::next_new`.
//! - `e2ee/`        — `Messenger`: end-to-end encryption (Olm, Megolm) on top
//!   of `Client`, with the local state sealed at rest.
//! - `SdkError`     — transport failures and the server's problem documents.
//!
//! Later issues add the end-to-end encryption state; until then callers pass
//! opaque bytes (`outgoing`). Architecture invariant: the SDK never logs or
//! `Debug`-prints a secret.

use std::time::Duration;

use zynk_proto::Problem;

mod calls;
mod client;
pub mod e2ee;
pub mod files;
mod inbox;
mod keys;
mod messaging;
mod ws;

pub use crate::client::{Client, RawResponse};
pub use crate::e2ee::{FileDescriptor, Incoming, Messenger};
pub use crate::files::{ByteRange, Downloaded, Progress};
pub use crate::inbox::Inbox;
pub use crate::messaging::outgoing;
pub use crate::ws::{Connection, ws_url};

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The server answered with a problem document (4xx/5xx over HTTP, or an
    /// `error` frame instead of `ready` on the WebSocket).
    #[error("server refused ({status}): {}", problem.detail.as_deref().unwrap_or(&problem.title))]
    Api { status: u16, problem: Problem },
    #[error("transport: {0}")]
    Http(#[from] reqwest::Error),
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent something this client does not understand (a frame
    /// that does not parse, or not the frame the protocol calls for).
    #[error("protocol: {0}")]
    Protocol(String),
    /// Nothing arrived in time (`Connection::next_timeout`, `connect`).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The base URL cannot be turned into a WebSocket URL.
    #[error("invalid url: {0}")]
    Url(String),
    #[error("not logged in")]
    NotLoggedIn,
    /// Encryption or decryption failed (tampered, replayed, bad signature, …).
    #[error("crypto: {0}")]
    Crypto(#[from] zynk_crypto::CryptoError),
    /// A contact's identity key changed; sending is blocked until `trust`.
    #[error("the identity key of user {0} changed: compare safety numbers, then trust it")]
    IdentityChanged(zynk_proto::UserId),
    /// A message or key share from a device that is not a verified device of its sender.
    #[error("message from an unknown or unverified device")]
    UnknownDevice,
    /// A message this device cannot read (and why).
    #[error("unable to decrypt: {0}")]
    Undecryptable(String),
    /// A group message whose session key has not arrived (yet).
    #[error("group session key not received")]
    MissingKey,
    /// The local profile cannot be read or written.
    #[error("local state: {0}")]
    State(String),
    /// The public ledger contradicts itself or this client's view of it
    /// (a bad signature, an inconsistent head, a key not on the ledger).
    #[error("ledger: {0}")]
    Ledger(String),
    /// This device has not been approved by an existing device of the user yet.
    #[error("this device is not approved yet: run `zynk devices approve` on an existing device")]
    NotApproved,
    /// Reading or writing a local file failed.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// A downloaded file's ciphertext is not what its content hash says.
    #[error("the downloaded file does not match its content hash")]
    HashMismatch,
}

impl SdkError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            SdkError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem slug of an API error (`rate-limited`, `username-taken`, …).
    pub fn kind(&self) -> Option<&str> {
        match self {
            SdkError::Api { problem, .. } => Some(problem.slug()),
            _ => None,
        }
    }
}

pub type Result<T, E = SdkError> = std::result::Result<T, E>;
