//! Receiving: key shares, identity transfer and message decryption.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use zynk_crypto::{ContentEnvelope, InboundGroup};
use zynk_proto::{
    ConversationId, DeviceId, DeviceMessage, Message, MessageId, ServerFrame, UserId,
};

use super::send::SealedToDevice;
use super::state::{InboundRecord, SEEN_CAPACITY};
use super::{Messenger, Plain, ToDevice, identity_from_b64};
use crate::{Result, SdkError};

/// A decrypted message, ready for the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub sender_device_id: Option<DeviceId>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// An edit of an earlier message (same id).
    pub edited: bool,
}

/// Waiting group messages kept at most (a key share may arrive after its message).
const MAX_WAITING: usize = 1000;

impl Messenger {
    /// Processes one frame from the WebSocket. Returns the messages it made
    /// readable (a key share can unlock waiting ones). Already-seen messages
    /// are skipped; a message that fails authentication is an error.
    pub async fn handle(&mut self, frame: &ServerFrame) -> Result<Vec<Incoming>> {
        let out = match frame {
            ServerFrame::MessageNew { message } => {
                if self.state.seen.contains(&message.id) {
                    return Ok(Vec::new());
                }
                self.receive(message).await?.into_iter().collect()
            }
            ServerFrame::MessageEdited { message } => {
                self.receive(message).await?.into_iter().collect()
            }
            ServerFrame::DeviceMessage { message } => {
                self.device_message(message).await?;
                let waiting = std::mem::take(&mut self.state.waiting);
                let mut out = Vec::new();
                for m in waiting {
                    if let Some(i) = self.receive(&m).await? {
                        out.push(i);
                    }
                }
                out
            }
            _ => Vec::new(),
        };
        self.save()?;
        Ok(out)
    }

    /// Decrypts, or parks a group message whose key has not arrived yet.
    async fn receive(&mut self, m: &Message) -> Result<Option<Incoming>> {
        match self.decrypt(m).await {
            Ok(i) => {
                if !i.edited {
                    self.state.seen.push_back(i.id);
                    while self.state.seen.len() > SEEN_CAPACITY {
                        self.state.seen.pop_front();
                    }
                }
                Ok(Some(i))
            }
            Err(SdkError::MissingKey) => {
                if self.state.waiting.len() < MAX_WAITING
                    && !self.state.waiting.iter().any(|w| w.id == m.id)
                {
                    self.state.waiting.push(m.clone());
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Decrypts and authenticates one message.
    pub async fn decrypt(&mut self, m: &Message) -> Result<Incoming> {
        if m.sender_device_id == Some(self.info.device_id) {
            // Our own message: this device kept its plaintext when sending.
            let text = self.state.sent.get(&m.id).cloned().ok_or_else(|| {
                SdkError::Undecryptable(
                    "sent from this device; its plaintext is no longer kept".into(),
                )
            })?;
            return Ok(Incoming {
                id: m.id,
                conversation_id: m.conversation_id,
                sender_id: m.sender_id,
                sender_device_id: m.sender_device_id,
                text,
                created_at: m.created_at,
                edited: m.edited_at.is_some(),
            });
        }
        let content = m
            .encrypted_content
            .as_deref()
            .ok_or_else(|| SdkError::Undecryptable("message deleted".into()))?;
        let bytes = B64
            .decode(content)
            .map_err(|_| SdkError::Undecryptable("content is not base64".into()))?;
        let envelope = ContentEnvelope::from_bytes(&bytes).map_err(SdkError::Crypto)?;
        let plain = match envelope {
            ContentEnvelope::Pairwise(env) => {
                let sender_device: DeviceId = env
                    .sender_device
                    .parse()
                    .map_err(|_| SdkError::UnknownDevice)?;
                if m.sender_device_id.is_some_and(|d| d != sender_device) {
                    return Err(SdkError::UnknownDevice);
                }
                let keys = self.device_keys(m.sender_id, sender_device).await?;
                if keys.curve25519 != env.sender_curve25519 {
                    return Err(SdkError::UnknownDevice);
                }
                let ct = env
                    .ciphertexts
                    .get(&self.info.device_id.to_string())
                    .ok_or_else(|| {
                        SdkError::Undecryptable("not encrypted for this device".into())
                    })?;
                self.decrypt_from(&keys.curve25519, ct)?
            }
            ContentEnvelope::Group(env) => {
                let (group, record) = self
                    .inbound
                    .get_mut(&env.session_id)
                    .ok_or(SdkError::MissingKey)?;
                if record.conversation_id != m.conversation_id
                    || record.sender_id != m.sender_id
                    || record.sender_device.to_string() != env.sender_device
                {
                    return Err(SdkError::Undecryptable(
                        "group session does not belong to this sender".into(),
                    ));
                }
                group.decrypt(&env.ciphertext).map_err(SdkError::Crypto)?.0
            }
        };
        let plain: Plain = serde_json::from_slice(&plain)
            .map_err(|_| SdkError::Undecryptable("bad plaintext".into()))?;
        if plain.conversation_id != m.conversation_id || plain.sender_id != m.sender_id {
            return Err(SdkError::Undecryptable(
                "message was encrypted for another conversation or sender".into(),
            ));
        }
        Ok(Incoming {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            sender_device_id: m.sender_device_id,
            text: plain.body,
            created_at: m.created_at,
            edited: m.edited_at.is_some(),
        })
    }

    /// A device message: a group key share, or the identity key for this new device.
    async fn device_message(&mut self, dm: &DeviceMessage) -> Result<()> {
        let raw = B64
            .decode(&dm.payload)
            .map_err(|_| SdkError::Undecryptable("device message is not base64".into()))?;
        let sealed: SealedToDevice = serde_json::from_slice(&raw)
            .map_err(|_| SdkError::Undecryptable("bad device message".into()))?;
        let keys = self.device_keys(dm.sender_id, dm.sender_device_id).await?;
        if keys.curve25519 != sealed.sender_curve25519 {
            return Err(SdkError::UnknownDevice);
        }
        let plain =
            zeroize::Zeroizing::new(self.decrypt_from(&keys.curve25519, &sealed.ciphertext)?);
        let message: ToDevice = serde_json::from_slice(&plain)
            .map_err(|_| SdkError::Undecryptable("bad device message content".into()))?;
        match message {
            ToDevice::RoomKey {
                conversation_id,
                session_id,
                session_key,
            } => {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    self.inbound.entry(session_id)
                {
                    let group =
                        InboundGroup::from_session_key(&session_key).map_err(SdkError::Crypto)?;
                    if &group.session_id() != slot.key() {
                        return Err(SdkError::Undecryptable(
                            "key share for another session".into(),
                        ));
                    }
                    let record = InboundRecord {
                        pickle: String::new(),
                        conversation_id,
                        sender_id: dm.sender_id,
                        sender_device: dm.sender_device_id,
                    };
                    slot.insert((group, record));
                }
            }
            ToDevice::Identity { secret } => {
                if dm.sender_id != self.info.user_id {
                    return Err(SdkError::Undecryptable(
                        "identity key from another user".into(),
                    ));
                }
                let identity = identity_from_b64(&secret)?;
                let expected = self.trusted_identity(self.info.user_id).await?;
                if identity.public_key_base64() != expected {
                    return Err(SdkError::Undecryptable(
                        "identity key does not match the account".into(),
                    ));
                }
                self.identity = Some(identity);
                self.publish_keys().await?;
            }
        }
        Ok(())
    }
}
