//! Conversations, groups, messages and the device inbox over HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zynk_proto::*;

use crate::{Client, Result};

/// A `SendMessage` carrying `bytes` (ciphertext, once the E2EE layer exists;
/// opaque bytes until then): `encrypted_content` is their standard base64,
/// `content_hash` the lowercase hex SHA-256 of the bytes, and
/// `client_message_id` a fresh random (v4) id. No metadata, no expiry; set
/// those fields on the result as needed. Resending the same value is an
/// idempotent retry.
pub fn outgoing(bytes: &[u8], message_type: MessageType) -> SendMessage {
    SendMessage {
        client_message_id: Uuid::new_v4(),
        encrypted_content: STANDARD.encode(bytes),
        content_hash: sha256_hex(bytes),
        message_type,
        metadata: None,
        expires_at: None,
    }
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// One path segment or query value, percent-encoded.
fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, NON_ALPHANUMERIC).to_string()
}

/// `?before=…&limit=…` (empty when neither is given).
fn history_query(before: Option<&str>, limit: Option<u32>) -> String {
    let mut params = Vec::new();
    if let Some(before) = before {
        params.push(format!("before={}", encode(before)));
    }
    if let Some(limit) = limit {
        params.push(format!("limit={limit}"));
    }
    if params.is_empty() {
        String::new()
    } else {
        format!("?{}", params.join("&"))
    }
}

impl Client {
    // Conversations

    /// Opens (or finds) the one-to-one conversation with `user_id`.
    pub async fn create_conversation(&self, user_id: UserId) -> Result<Conversation> {
        let body = CreateConversation {
            kind: ConversationKind::OneToOne,
            user_id,
        };
        self.call_json(Method::POST, "/v1/conversations", Some(&body))
            .await
    }

    /// The caller's conversations.
    pub async fn conversations(&self) -> Result<Vec<Conversation>> {
        self.call_json::<(), _>(Method::GET, "/v1/conversations", None)
            .await
    }

    /// One conversation, with its participants and who is typing.
    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation> {
        let path = format!("/v1/conversations/{id}");
        self.call_json::<(), _>(Method::GET, &path, None).await
    }

    // Groups

    pub async fn create_group(&self, body: &CreateGroup) -> Result<Group> {
        self.call_json(Method::POST, "/v1/groups", Some(body)).await
    }

    pub async fn group(&self, id: GroupId) -> Result<Group> {
        let path = format!("/v1/groups/{id}");
        self.call_json::<(), _>(Method::GET, &path, None).await
    }

    pub async fn update_group(&self, id: GroupId, body: &UpdateGroup) -> Result<Group> {
        let path = format!("/v1/groups/{id}");
        self.call_json(Method::PATCH, &path, Some(body)).await
    }

    pub async fn add_member(&self, group: GroupId, user_id: UserId) -> Result<Group> {
        let path = format!("/v1/groups/{group}/members");
        let body = AddMember { user_id };
        self.call_json(Method::POST, &path, Some(&body)).await
    }

    /// Removes a member (or, with the caller's own id, leaves the group).
    pub async fn remove_member(&self, group: GroupId, user_id: UserId) -> Result<()> {
        let path = format!("/v1/groups/{group}/members/{user_id}");
        self.call_unit::<()>(Method::DELETE, &path, None).await
    }

    pub async fn set_role(&self, group: GroupId, user_id: UserId, role: Role) -> Result<Group> {
        let path = format!("/v1/groups/{group}/members/{user_id}");
        let body = SetRole { role };
        self.call_json(Method::PATCH, &path, Some(&body)).await
    }

    // Messages

    /// Sends a message (see `outgoing`); a retry with the same
    /// `client_message_id` returns the first send's answer.
    pub async fn send_message(
        &self,
        conversation: ConversationId,
        body: &SendMessage,
    ) -> Result<SentMessage> {
        let path = format!("/v1/conversations/{conversation}/messages");
        self.call_json(Method::POST, &path, Some(body)).await
    }

    /// A public ledger endpoint's JSON (`/v1/ledger/…`, `/v1/did/…`).
    pub async fn ledger_raw(&self, path: &str) -> Result<serde_json::Value> {
        self.call_json::<(), _>(Method::GET, path, None).await
    }

    /// `GET /v1/messages/{id}/proof`: the message's anchor proof bundle, as
    /// JSON; verify it offline with `zynk_ledger::verify_message_proof`.
    pub async fn message_proof(&self, id: MessageId) -> Result<serde_json::Value> {
        let path = format!("/v1/messages/{id}/proof");
        self.call_json::<(), _>(Method::GET, &path, None).await
    }

    /// One page of history, newest first; pass the page's `next_before` as
    /// `before` for the next one.
    pub async fn messages(
        &self,
        conversation: ConversationId,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<MessagePage> {
        let query = history_query(before, limit);
        let path = format!("/v1/conversations/{conversation}/messages{query}");
        self.call_json::<(), _>(Method::GET, &path, None).await
    }

    pub async fn edit_message(&self, id: MessageId, body: &EditMessage) -> Result<Message> {
        let path = format!("/v1/messages/{id}");
        self.call_json(Method::PATCH, &path, Some(body)).await
    }

    pub async fn delete_message(&self, id: MessageId) -> Result<()> {
        let path = format!("/v1/messages/{id}");
        self.call_unit::<()>(Method::DELETE, &path, None).await
    }

    /// Adds the caller's reaction `emoji`; returns the message as it is now.
    pub async fn react(&self, id: MessageId, emoji: &str) -> Result<Message> {
        let path = format!("/v1/messages/{id}/reactions/{}", encode(emoji));
        self.call_json::<(), _>(Method::PUT, &path, None).await
    }

    /// Removes the caller's reaction `emoji`; returns the message as it is now.
    pub async fn unreact(&self, id: MessageId, emoji: &str) -> Result<Message> {
        let path = format!("/v1/messages/{id}/reactions/{}", encode(emoji));
        self.call_json::<(), _>(Method::DELETE, &path, None).await
    }

    // Device inbox

    /// Queues opaque payloads for other devices (`202`/`204`).
    pub async fn send_device_messages(&self, body: &SendDeviceMessages) -> Result<()> {
        self.call_unit(Method::POST, "/v1/devices/messages", Some(body))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_encodes_and_hashes_the_bytes() {
        let m = outgoing(b"hello", MessageType::Text);
        assert_eq!(m.encrypted_content, "aGVsbG8=");
        assert_eq!(
            m.content_hash,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(m.message_type, MessageType::Text);
        assert_eq!(m.client_message_id.get_version_num(), 4);
        assert!(m.metadata.is_none() && m.expires_at.is_none());

        let again = outgoing(b"hello", MessageType::Text);
        assert_ne!(again.client_message_id, m.client_message_id, "fresh ids");
    }

    #[test]
    fn outgoing_handles_empty_and_binary_bytes() {
        let empty = outgoing(b"", MessageType::File);
        assert_eq!(empty.encrypted_content, "");
        assert_eq!(
            empty.content_hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let binary = outgoing(&[0xff, 0xfe, 0x00, 0x3e], MessageType::Image);
        assert_eq!(
            binary.encrypted_content, "//4APg==",
            "standard alphabet, padded"
        );
        assert_eq!(binary.content_hash.len(), 64);
        assert!(
            binary
                .content_hash
                .chars()
                .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        );
    }

    #[test]
    fn emoji_and_cursors_are_percent_encoded() {
        assert_eq!(encode("👍"), "%F0%9F%91%8D");
        assert_eq!(encode("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(history_query(None, None), "");
        assert_eq!(history_query(None, Some(20)), "?limit=20");
        assert_eq!(
            history_query(Some("2024-01-01T00:00:00Z+x/="), Some(5)),
            "?before=2024%2D01%2D01T00%3A00%3A00Z%2Bx%2F%3D&limit=5"
        );
    }
}
