//! Zynk wire types shared by the server and the client SDK.
//!
//! Layout:
//! - `ids`     — newtype ids (`UserId`, `DeviceId`, `SessionId`).
//! - `auth`    — register / login / refresh bodies and the token pair.
//! - `account` — devices, sessions, profiles and privacy settings.
//! - `keys`    — E2EE key distribution (device keys, one-time keys, claims).
//! - `messaging` — conversations, groups, messages, device messages, WebSocket frames.
//! - `files`   — encrypted file uploads (metadata header, file info).
//! - `calls`   — call signaling (calls, ICE servers) and live location.
//! - `problem` — the RFC 9457 problem document every error uses.
//!
//! Architecture invariant: this crate knows serde and nothing else — no IO,
//! no HTTP status codes, no SQL.

pub mod account;
pub mod auth;
pub mod calls;
pub mod files;
pub mod ids;
pub mod keys;
pub mod messaging;
pub mod problem;

pub use account::*;
pub use auth::*;
pub use calls::*;
pub use files::*;
pub use ids::*;
pub use keys::*;
pub use messaging::*;
pub use problem::Problem;
