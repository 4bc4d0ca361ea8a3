//! The client's local state and how it is kept on disk.
//!
//! A profile directory holds `profile.json` (not secret: server URL, ids,
//! the Argon2id salt) and `state.bin`: the whole `State` as JSON, sealed
//! with AES-256-GCM under a key derived from the passphrase
//! (`zynk_crypto::StateKey`, Argon2id). vodozemac objects inside are
//! pickled with the same key. Writes go to a temporary file that is renamed
//! over the old one, so a crash leaves either the old or the new state.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zynk_crypto::StateKey;
use zynk_proto::{AuthTokens, ConversationId, DeviceId, DeviceKeys, MessageId, UserId};

use crate::{Result, SdkError};

/// Non-secret facts about a profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileInfo {
    pub server: String,
    pub username: String,
    pub user_id: UserId,
    pub device_id: DeviceId,
    /// Argon2id salt of the state key, base64.
    pub salt: String,
}

/// A pinned contact identity (trust on first use).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Contact {
    /// The identity key this client trusts for the user.
    pub identity_key: String,
    /// A different key the server now presents, not yet acknowledged.
    #[serde(default)]
    pub changed_to: Option<String>,
}

/// An outbound Megolm session of one conversation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboundRecord {
    pub pickle: String,
    /// Devices the session key was shared with.
    pub shared_with: Vec<DeviceId>,
}

/// An inbound Megolm session and who it came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InboundRecord {
    pub pickle: String,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub sender_device: DeviceId,
}

/// Everything secret, sealed at rest.
#[derive(Clone, Serialize, Deserialize)]
pub struct State {
    pub tokens: AuthTokens,
    /// The user identity secret (base64); `None` on a device still waiting
    /// for approval by an existing device.
    pub identity: Option<String>,
    pub account: String,
    /// Olm sessions by the peer device's Curve25519 key, newest first.
    pub olm: BTreeMap<String, Vec<String>>,
    pub outbound: BTreeMap<ConversationId, OutboundRecord>,
    pub inbound: BTreeMap<String, InboundRecord>,
    pub contacts: BTreeMap<UserId, Contact>,
    /// Verified device keys seen per user.
    pub devices: BTreeMap<UserId, Vec<DeviceKeys>>,
    /// Ids of messages already handed to the app (dedupe), oldest first.
    pub seen: VecDeque<MessageId>,
    /// Group messages whose key has not arrived yet.
    #[serde(default)]
    pub waiting: Vec<zynk_proto::Message>,
    /// Plaintexts this device sent (it cannot decrypt its own Olm envelopes).
    #[serde(default)]
    pub sent: BTreeMap<MessageId, String>,
    /// The newest verified ledger head (and the pinned ledger key).
    #[serde(default)]
    pub ledger_head: Option<super::ledger::LedgerHead>,
    /// Contacts whose pinned identity key was found on the ledger.
    #[serde(default)]
    pub ledger_checked: std::collections::BTreeSet<UserId>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("approved", &self.identity.is_some())
            .field("olm_peers", &self.olm.len())
            .field("outbound", &self.outbound.len())
            .field("inbound", &self.inbound.len())
            .finish_non_exhaustive()
    }
}

/// How many message ids `seen` remembers.
pub const SEEN_CAPACITY: usize = 100_000;
/// How many own sent plaintexts are kept.
pub const SENT_CAPACITY: usize = 10_000;

pub(crate) fn profile_path(dir: &Path) -> PathBuf {
    dir.join("profile.json")
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.bin")
}

fn io(e: std::io::Error) -> SdkError {
    SdkError::State(format!("profile directory: {e}"))
}

/// Reads the profile facts.
pub fn read_info(dir: &Path) -> Result<ProfileInfo> {
    let text = std::fs::read_to_string(profile_path(dir)).map_err(io)?;
    serde_json::from_str(&text).map_err(|e| SdkError::State(format!("profile.json: {e}")))
}

/// The state key of a profile, from its salt and the passphrase.
pub fn derive_key(info: &ProfileInfo, passphrase: &str) -> Result<StateKey> {
    let salt = B64
        .decode(&info.salt)
        .map_err(|_| SdkError::State("bad salt in profile.json".into()))?;
    let salt: [u8; 16] = salt
        .try_into()
        .map_err(|_| SdkError::State("bad salt in profile.json".into()))?;
    StateKey::derive(passphrase.as_bytes(), &salt).map_err(SdkError::Crypto)
}

/// Loads and opens the sealed state.
pub fn load(dir: &Path, key: &StateKey) -> Result<State> {
    let sealed = std::fs::read(state_path(dir)).map_err(io)?;
    let plain = zynk_crypto::open(key, &sealed).map_err(|_| {
        SdkError::State("cannot open the profile: wrong passphrase or damaged state".into())
    })?;
    serde_json::from_slice(&plain).map_err(|e| SdkError::State(format!("state: {e}")))
}

/// Writes profile facts and sealed state atomically (temp file + rename).
pub fn store(dir: &Path, info: &ProfileInfo, key: &StateKey, state: &State) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io)?;
    restrict(dir);
    let info_json = serde_json::to_vec_pretty(info).map_err(|e| SdkError::State(e.to_string()))?;
    write_atomic(&profile_path(dir), &info_json)?;
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(state).map_err(|e| SdkError::State(e.to_string()))?,
    );
    let sealed = zynk_crypto::seal(key, &plain).map_err(SdkError::Crypto)?;
    write_atomic(&state_path(dir), &sealed)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    restrict(&tmp);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}
