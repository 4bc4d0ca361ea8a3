//! End-to-end encryption on top of `Client`: the `Messenger`.
//!
//! - `state`   — the local state and its sealed, atomic persistence.
//! - `olm`     — pairwise Olm sessions: claiming keys, encrypting to and
//!   decrypting from one device.
//! - `send`    — 1:1 envelopes (one Olm ciphertext per device) and group
//!   messages (Megolm, keys shared over Olm through the device inbox).
//! - `receive` — frames in: key shares, identity transfer, message decryption.
//! - `trust`   — contacts' identity keys (pinned on first use), safety
//!   numbers, device approval.
//!
//! The server only ever sees ciphertext: every plaintext is encrypted here
//! before it leaves, and the state on disk is sealed with a key derived from
//! the passphrase.

mod attachments;
pub mod cli_support;
mod ledger;
mod olm;
mod receive;
mod send;
pub mod state;
mod trust;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zynk_crypto::{
    DeviceAccount, InboundGroup, OlmSession, OutboundGroup, RotationPolicy, StateKey, UserIdentity,
};
use zynk_proto::{
    ConversationId, DeviceId, KeyCounts, Login, NewDevice, Platform, Register, Secret, UploadKeys,
    UserId,
};

pub use attachments::{FileDescriptor, ThumbnailDescriptor, mime_type_of};
pub use ledger::LedgerHead;
pub use receive::Incoming;
pub use state::ProfileInfo;

use crate::{Client, Result, SdkError};
use state::State;

/// One-time keys kept published on the server.
pub const ONE_TIME_KEYS: u32 = 50;

/// The plaintext inside every encrypted message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Plain {
    pub v: u8,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub body: String,
}

/// The plaintext inside every Olm-encrypted device message.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToDevice {
    /// A Megolm session key for a conversation.
    RoomKey {
        conversation_id: ConversationId,
        session_id: String,
        session_key: String,
    },
    /// The user identity secret, sent to a newly approved device of the same user.
    Identity { secret: String },
}

/// An end-to-end encrypting client for one account on one device.
pub struct Messenger {
    client: Client,
    dir: PathBuf,
    key: StateKey,
    info: ProfileInfo,
    identity: Option<UserIdentity>,
    account: DeviceAccount,
    sessions: HashMap<String, Vec<OlmSession>>,
    outbound: HashMap<ConversationId, (OutboundGroup, Vec<DeviceId>)>,
    inbound: HashMap<String, (InboundGroup, state::InboundRecord)>,
    state: State,
    policy: RotationPolicy,
}

impl std::fmt::Debug for Messenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messenger")
            .field("user", &self.info.username)
            .field("device", &self.info.device_id)
            .field("approved", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

fn new_device(name: &str, account: &DeviceAccount) -> NewDevice {
    NewDevice {
        name: name.to_owned(),
        fingerprint: format!(
            "zynk-{}",
            account.curve25519_base64().replace(['+', '/', '='], "")
        ),
        platform: Platform::Cli,
        public_key: account.ed25519_base64(),
        push_token: None,
    }
}

impl Messenger {
    /// Creates an account (identity key, first device) and a profile in `dir`.
    pub async fn register(
        server: &str,
        dir: &Path,
        passphrase: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Self> {
        let identity = UserIdentity::generate();
        let account = DeviceAccount::new();
        let mut client = Client::new(server);
        let tokens = client
            .register(&Register {
                username: username.to_owned(),
                password: Secret(password.to_owned()),
                identity_key: identity.public_key_base64(),
                device: new_device(device_name, &account),
            })
            .await?;
        let mut m = Self::create(
            client,
            dir,
            passphrase,
            username,
            tokens,
            Some(identity),
            account,
        )?;
        m.publish_keys().await?;
        Ok(m)
    }

    /// Logs in from a new device. The device can receive and send only after
    /// an existing device approves it (`approve_device`), which hands it the
    /// user identity key encrypted to this device.
    pub async fn login(
        server: &str,
        dir: &Path,
        passphrase: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Self> {
        let account = DeviceAccount::new();
        let mut client = Client::new(server);
        let tokens = client
            .login(&Login {
                username: username.to_owned(),
                password: Secret(password.to_owned()),
                device: new_device(device_name, &account),
            })
            .await?;
        let mut m = Self::create(client, dir, passphrase, username, tokens, None, account)?;
        m.publish_keys().await?;
        Ok(m)
    }

    fn create(
        mut client: Client,
        dir: &Path,
        passphrase: &str,
        username: &str,
        tokens: zynk_proto::AuthTokens,
        identity: Option<UserIdentity>,
        account: DeviceAccount,
    ) -> Result<Self> {
        let salt = StateKey::generate_salt();
        let key = StateKey::derive(passphrase.as_bytes(), &salt).map_err(SdkError::Crypto)?;
        let info = ProfileInfo {
            server: client_base(&client),
            username: username.to_owned(),
            user_id: tokens.user_id,
            device_id: tokens.device_id,
            salt: B64.encode(salt),
        };
        client.set_tokens(Some(tokens.clone()));
        let state = State {
            tokens,
            identity: identity.as_ref().map(|i| B64.encode(*i.secret_bytes())),
            account: String::new(),
            olm: Default::default(),
            outbound: Default::default(),
            inbound: Default::default(),
            contacts: Default::default(),
            devices: Default::default(),
            seen: Default::default(),
            waiting: Vec::new(),
            sent: Default::default(),
            ledger_head: None,
            ledger_checked: Default::default(),
        };
        let m = Self {
            client,
            dir: dir.to_path_buf(),
            key,
            info,
            identity,
            account,
            sessions: HashMap::new(),
            outbound: HashMap::new(),
            inbound: HashMap::new(),
            state,
            policy: RotationPolicy {
                max_messages: 100,
                max_age_secs: 7 * 86_400,
            },
        };
        m.save()?;
        Ok(m)
    }

    /// Opens an existing profile.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Self> {
        let info = state::read_info(dir)?;
        let key = state::derive_key(&info, passphrase)?;
        let st = state::load(dir, &key)?;
        let live = Live::from_state(&st, key.as_pickle_key())?;
        let mut client = Client::new(&info.server);
        client.set_tokens(Some(st.tokens.clone()));
        Ok(Self {
            client,
            dir: dir.to_path_buf(),
            key,
            info,
            identity: live.identity,
            account: live.account,
            sessions: live.sessions,
            outbound: live.outbound,
            inbound: live.inbound,
            state: st,
            policy: RotationPolicy {
                max_messages: 100,
                max_age_secs: 7 * 86_400,
            },
        })
    }

    /// Writes the state (sealed) to the profile directory.
    pub fn save(&self) -> Result<()> {
        let pk = self.key.as_pickle_key();
        let mut st = self.state.clone();
        st.account = self.account.pickle(pk);
        st.identity = self
            .identity
            .as_ref()
            .map(|i| B64.encode(*i.secret_bytes()));
        if let Some(t) = self.client.tokens() {
            st.tokens = t.clone();
        }
        st.olm = self
            .sessions
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|s| s.pickle(pk)).collect()))
            .collect();
        st.outbound = Default::default();
        for (c, (g, shared)) in &self.outbound {
            let record = state::OutboundRecord {
                pickle: g.pickle(pk)?,
                shared_with: shared.clone(),
            };
            st.outbound.insert(*c, record);
        }
        st.inbound = Default::default();
        for (id, (g, rec)) in &self.inbound {
            st.inbound.insert(
                id.clone(),
                state::InboundRecord {
                    pickle: g.pickle(pk)?,
                    ..rec.clone()
                },
            );
        }
        state::store(&self.dir, &self.info, &self.key, &st)
    }

    /// The HTTP client (logged in).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    pub fn info(&self) -> &ProfileInfo {
        &self.info
    }

    pub fn user_id(&self) -> UserId {
        self.info.user_id
    }

    pub fn device_id(&self) -> DeviceId {
        self.info.device_id
    }

    /// Whether this device holds the user identity key (registered here, or approved).
    pub fn is_approved(&self) -> bool {
        self.identity.is_some()
    }

    /// Sets how often group sessions rotate (tests use small numbers).
    pub fn set_rotation_policy(&mut self, policy: RotationPolicy) {
        self.policy = policy;
    }

    /// Uploads this device's keys (signed when the identity is known) and
    /// tops one-time keys up to `ONE_TIME_KEYS`; returns the server's counts.
    pub async fn publish_keys(&mut self) -> Result<KeyCounts> {
        let mut device_keys = self
            .account
            .device_keys(self.info.user_id, self.info.device_id);
        if let Some(identity) = &self.identity {
            identity.sign_device_keys(&mut device_keys);
        }
        let first = self
            .client
            .upload_keys(&UploadKeys {
                device_keys: Some(device_keys),
                one_time_keys: Vec::new(),
                fallback_key: Some(self.account.fallback_key(self.info.device_id)?),
            })
            .await?;
        let counts = self.top_up(first).await?;
        self.save()?;
        Ok(counts)
    }

    async fn top_up(&mut self, counts: KeyCounts) -> Result<KeyCounts> {
        if counts.one_time_keys >= ONE_TIME_KEYS {
            return Ok(counts);
        }
        let keys = self.account.generate_one_time_keys(
            self.info.device_id,
            (ONE_TIME_KEYS - counts.one_time_keys) as usize,
        );
        let counts = self
            .client
            .upload_keys(&UploadKeys {
                device_keys: None,
                one_time_keys: keys,
                fallback_key: None,
            })
            .await?;
        self.account.mark_keys_as_published();
        Ok(counts)
    }

    /// Re-reads the server's key count and replenishes one-time keys.
    pub async fn replenish_keys(&mut self) -> Result<KeyCounts> {
        let counts = self.client.upload_keys(&UploadKeys::default()).await?;
        let counts = self.top_up(counts).await?;
        self.save()?;
        Ok(counts)
    }
}

fn client_base(client: &Client) -> String {
    client.base_url().to_owned()
}

pub(crate) fn identity_from_b64(secret: &str) -> Result<UserIdentity> {
    let bytes = zeroize::Zeroizing::new(
        B64.decode(secret)
            .map_err(|_| SdkError::State("bad identity secret".into()))?,
    );
    let arr: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SdkError::State("bad identity secret length".into()))?;
    Ok(UserIdentity::from_secret_bytes(arr))
}

/// The live (unpickled) objects of a sealed state.
pub(crate) struct Live {
    pub account: DeviceAccount,
    pub identity: Option<UserIdentity>,
    pub sessions: HashMap<String, Vec<OlmSession>>,
    pub outbound: HashMap<ConversationId, (OutboundGroup, Vec<DeviceId>)>,
    pub inbound: HashMap<String, (InboundGroup, state::InboundRecord)>,
}

impl Live {
    /// Unpickles everything in `st` with the pickle key `pk`.
    pub(crate) fn from_state(st: &State, pk: &[u8; 32]) -> Result<Self> {
        let account = DeviceAccount::from_pickle(&st.account, pk).map_err(SdkError::Crypto)?;
        let identity = match &st.identity {
            Some(secret) => Some(identity_from_b64(secret)?),
            None => None,
        };
        let mut sessions = HashMap::new();
        for (curve, pickles) in &st.olm {
            let list = pickles
                .iter()
                .map(|p| OlmSession::from_pickle(p, pk))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(SdkError::Crypto)?;
            sessions.insert(curve.clone(), list);
        }
        let mut outbound = HashMap::new();
        for (conv, rec) in &st.outbound {
            let group = OutboundGroup::from_pickle(&rec.pickle, pk).map_err(SdkError::Crypto)?;
            outbound.insert(*conv, (group, rec.shared_with.clone()));
        }
        let mut inbound = HashMap::new();
        for (id, rec) in &st.inbound {
            let group = InboundGroup::from_pickle(&rec.pickle, pk).map_err(SdkError::Crypto)?;
            inbound.insert(id.clone(), (group, rec.clone()));
        }
        Ok(Self {
            account,
            identity,
            sessions,
            outbound,
            inbound,
        })
    }
}
