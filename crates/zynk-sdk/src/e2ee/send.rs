//! Sending: 1:1 envelopes and group (Megolm) messages.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use zynk_crypto::{ContentEnvelope, Envelope, GroupEnvelope, InboundGroup, OutboundGroup};
use zynk_proto::{
    ConversationId, ConversationKind, DeviceKeys, MessageType, OutgoingDeviceMessage,
    SendDeviceMessages, SendMessage, SentMessage, UserId,
};

use super::{Messenger, Plain, ToDevice, state::InboundRecord};
use crate::{Result, SdkError};

/// An Olm-encrypted device message payload.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SealedToDevice {
    pub sender_curve25519: String,
    pub ciphertext: zynk_crypto::OlmCiphertext,
}

impl Messenger {
    /// Encrypts `text` for everyone in the conversation and sends it.
    /// Refused while a participant's identity key changed and is not yet
    /// acknowledged (`trust`).
    pub async fn send_text(
        &mut self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<SentMessage> {
        self.send_typed(conversation, text, MessageType::Text).await
    }

    /// `send_text` with another `message_type` (files: `image` or `file`).
    pub(crate) async fn send_typed(
        &mut self,
        conversation: ConversationId,
        text: &str,
        message_type: MessageType,
    ) -> Result<SentMessage> {
        let message = self.seal_typed(conversation, text, message_type).await?;
        self.save()?;
        // Retry with the same client message id: the server deduplicates.
        let mut attempt = 0;
        loop {
            match self.client.send_message(conversation, &message).await {
                Ok(sent) => {
                    self.remember_sent(sent.id, text);
                    self.save()?;
                    return Ok(sent);
                }
                Err(SdkError::Http(e)) if attempt < 3 => {
                    attempt += 1;
                    tracing_free_sleep(attempt).await;
                    let _ = e;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Replaces the text of one of this user's messages (encrypted anew).
    pub async fn edit_text(
        &mut self,
        message: &zynk_proto::Message,
        text: &str,
    ) -> Result<zynk_proto::Message> {
        let sealed = self.seal_text(message.conversation_id, text).await?;
        let edit = zynk_proto::EditMessage {
            encrypted_content: sealed.encrypted_content,
            content_hash: sealed.content_hash,
        };
        let edited = self.client.edit_message(message.id, &edit).await?;
        self.remember_sent(message.id, text);
        self.save()?;
        Ok(edited)
    }

    fn remember_sent(&mut self, id: zynk_proto::MessageId, text: &str) {
        self.state.sent.insert(id, text.to_owned());
        while self.state.sent.len() > super::state::SENT_CAPACITY {
            self.state.sent.pop_first();
        }
    }

    /// Encrypts `text` for the conversation's devices (checking contacts'
    /// identity keys first) and returns the message to send.
    pub async fn seal_text(
        &mut self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<SendMessage> {
        self.seal_typed(conversation, text, MessageType::Text).await
    }

    /// `seal_text` with another `message_type`.
    pub(crate) async fn seal_typed(
        &mut self,
        conversation: ConversationId,
        text: &str,
        message_type: MessageType,
    ) -> Result<SendMessage> {
        self.require_identity()?;
        let conv = self.client.conversation(conversation).await?;
        let participants: Vec<UserId> = conv
            .participants
            .unwrap_or_default()
            .iter()
            .map(|p| p.user_id)
            .collect();
        for user in &participants {
            if *user != self.info.user_id {
                self.check_identity(*user).await?;
            }
        }
        let plain = serde_json::to_vec(&Plain {
            v: 1,
            conversation_id: conversation,
            sender_id: self.info.user_id,
            body: text.to_owned(),
        })
        .map_err(|e| SdkError::State(e.to_string()))?;
        let envelope = match conv.kind {
            ConversationKind::OneToOne => {
                ContentEnvelope::Pairwise(self.pairwise(&participants, &plain).await?)
            }
            ConversationKind::Group => {
                ContentEnvelope::Group(self.group(conversation, &participants, &plain).await?)
            }
        };
        let bytes = envelope.to_bytes();
        let message = SendMessage {
            client_message_id: uuid::Uuid::new_v4(),
            encrypted_content: B64.encode(&bytes),
            content_hash: Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            message_type,
            metadata: None,
            expires_at: None,
        };
        Ok(message)
    }

    /// Every verified device of the participants, except this one.
    async fn recipients(
        &mut self,
        participants: &[UserId],
    ) -> Result<Vec<(UserId, Vec<DeviceKeys>)>> {
        let mut out = Vec::new();
        for user in participants {
            let mut devices = self.verified_devices(*user).await?;
            devices.retain(|d| d.device_id != self.info.device_id);
            if !devices.is_empty() {
                out.push((*user, devices));
            }
        }
        Ok(out)
    }

    /// One Olm ciphertext per recipient device and per own other device.
    async fn pairwise(&mut self, participants: &[UserId], plain: &[u8]) -> Result<Envelope> {
        let mut ciphertexts = BTreeMap::new();
        for (user, devices) in self.recipients(participants).await? {
            self.ensure_sessions(user, &devices, false).await?;
            for d in &devices {
                if self.sessions.contains_key(&d.curve25519) {
                    ciphertexts.insert(d.device_id.to_string(), self.encrypt_to(d, plain)?);
                }
            }
        }
        Ok(Envelope {
            v: 1,
            sender_device: self.info.device_id.to_string(),
            sender_curve25519: self.account.curve25519_base64(),
            ciphertexts,
        })
    }

    /// Encrypts with the conversation's outbound Megolm session, rotating it
    /// when a device it was shared with is gone (a member left or was
    /// removed) or by policy, and sharing its key with devices that lack it.
    async fn group(
        &mut self,
        conversation: ConversationId,
        participants: &[UserId],
        plain: &[u8],
    ) -> Result<GroupEnvelope> {
        let recipients = self.recipients(participants).await?;
        let current: Vec<zynk_proto::DeviceId> = recipients
            .iter()
            .flat_map(|(_, d)| d.iter().map(|k| k.device_id))
            .collect();
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let rotate = match self.outbound.get(&conversation) {
            None => true,
            Some((g, shared)) => {
                g.should_rotate(&self.policy, now) || shared.iter().any(|d| !current.contains(d))
            }
        };
        if rotate {
            let group = OutboundGroup::new(now);
            // Keep an inbound copy so this device can read its own messages.
            let inbound =
                InboundGroup::from_session_key(&group.session_key()).map_err(SdkError::Crypto)?;
            let record = InboundRecord {
                pickle: String::new(),
                conversation_id: conversation,
                sender_id: self.info.user_id,
                sender_device: self.info.device_id,
            };
            self.inbound.insert(group.session_id(), (inbound, record));
            self.outbound.insert(conversation, (group, Vec::new()));
        }
        let (session_id, session_key, shared) = match self.outbound.get(&conversation) {
            Some((g, shared)) => (g.session_id(), g.session_key(), shared.clone()),
            None => return Err(SdkError::State("no outbound group session".into())),
        };
        let share = ToDevice::RoomKey {
            conversation_id: conversation,
            session_id: session_id.clone(),
            session_key: session_key.to_string(),
        };
        let share = zeroize::Zeroizing::new(
            serde_json::to_vec(&share).map_err(|e| SdkError::State(e.to_string()))?,
        );
        let mut messages = Vec::new();
        let mut newly = Vec::new();
        for (user, devices) in &recipients {
            let need: Vec<DeviceKeys> = devices
                .iter()
                .filter(|d| !shared.contains(&d.device_id))
                .cloned()
                .collect();
            if need.is_empty() {
                continue;
            }
            self.ensure_sessions(*user, &need, false).await?;
            for d in &need {
                if !self.sessions.contains_key(&d.curve25519) {
                    continue;
                }
                let ciphertext = self.encrypt_to(d, &share)?;
                messages.push(self.sealed_device_message(d, ciphertext)?);
                newly.push(d.device_id);
            }
        }
        if !messages.is_empty() {
            // Key shares go out (durably) before the message that needs them.
            for chunk in messages.chunks(500) {
                self.client
                    .send_device_messages(&SendDeviceMessages {
                        messages: chunk.to_vec(),
                    })
                    .await?;
            }
        }
        let (group, shared) = self
            .outbound
            .get_mut(&conversation)
            .ok_or_else(|| SdkError::State("no outbound group session".into()))?;
        shared.extend(newly);
        let ciphertext = group.encrypt(plain);
        Ok(GroupEnvelope {
            v: 1,
            sender_device: self.info.device_id.to_string(),
            session_id,
            ciphertext,
        })
    }

    pub(crate) fn sealed_device_message(
        &self,
        device: &DeviceKeys,
        ciphertext: zynk_crypto::OlmCiphertext,
    ) -> Result<OutgoingDeviceMessage> {
        let sealed = SealedToDevice {
            sender_curve25519: self.account.curve25519_base64(),
            ciphertext,
        };
        let json = serde_json::to_vec(&sealed).map_err(|e| SdkError::State(e.to_string()))?;
        Ok(OutgoingDeviceMessage {
            device_id: device.device_id,
            payload: B64.encode(json),
        })
    }

    pub(crate) fn require_identity(&self) -> Result<()> {
        if self.identity.is_none() {
            return Err(SdkError::NotApproved);
        }
        Ok(())
    }
}

async fn tracing_free_sleep(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
}
