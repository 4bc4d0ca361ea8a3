//! What the `zynk` command-line client needs beyond the core `Messenger`:
//!
//! - `TextCache`: the plaintexts of received messages, sealed at rest
//!   (`received.bin`, same key as the state). Olm and Megolm refuse to
//!   decrypt a message twice (replay protection), so reading history again
//!   needs the plaintext kept from the first decryption.
//! - `handle_cached` / `decrypt_cached`: `handle` / `decrypt` that fill and
//!   use that cache.
//! - `reload`: re-reads the sealed state from disk with the key already
//!   derived, so a long-running process (`zynk listen`) can pick up what
//!   another process (`zynk send`) wrote in between.
//! - `changed_safety_number`: the safety number with a contact's new,
//!   not yet trusted identity key (the one to compare before `trust`).
//! - `forget`: deletes the profile's files (after logout).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zynk_proto::{Message, MessageId, ServerFrame, UserId};

use super::state::{self, SEEN_CAPACITY};
use super::{Incoming, Messenger};
use crate::{Result, SdkError};

/// Received plaintexts kept at most (the oldest by `created_at` go first).
pub const TEXT_CACHE_CAPACITY: usize = 20_000;

/// Files in a profile directory (`state.rs` owns `profile.json` and `state.bin`).
const RECEIVED_FILE: &str = "received.bin";
const STATE_FILE: &str = "state.bin";
const PROFILE_FILE: &str = "profile.json";

#[derive(Clone, Serialize, Deserialize)]
struct CachedText {
    text: String,
    /// `content_hash` of the ciphertext the text came from (an edit changes it).
    content_hash: String,
    created_at: DateTime<Utc>,
}

/// Plaintexts of received messages, by message id. Load with
/// `Messenger::text_cache`, write back with `Messenger::save_text_cache`.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TextCache {
    entries: BTreeMap<MessageId, CachedText>,
}

impl std::fmt::Debug for TextCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextCache")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl TextCache {
    /// Remembers the plaintext of `message`.
    pub fn remember(&mut self, message: &Message, text: &str) {
        self.entries.insert(
            message.id,
            CachedText {
                text: text.to_owned(),
                content_hash: message.content_hash.clone(),
                created_at: message.created_at,
            },
        );
        while self.entries.len() > TEXT_CACHE_CAPACITY {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, c)| c.created_at)
                .map(|(id, _)| *id);
            match oldest {
                Some(id) => self.entries.remove(&id),
                None => break,
            };
        }
    }

    /// The remembered plaintext of message `id`, if any.
    pub fn get(&self, id: &MessageId) -> Option<&str> {
        self.entries.get(id).map(|c| c.text.as_str())
    }

    /// Every remembered plaintext, by message id.
    pub fn iter(&self) -> impl Iterator<Item = (&MessageId, &str)> {
        self.entries.iter().map(|(id, c)| (id, c.text.as_str()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn io(e: std::io::Error) -> SdkError {
    SdkError::State(format!("profile directory: {e}"))
}

impl Messenger {
    fn received_path(&self) -> PathBuf {
        self.dir.join(RECEIVED_FILE)
    }

    /// The sealed cache of received plaintexts (empty if there is none yet).
    pub fn text_cache(&self) -> Result<TextCache> {
        let sealed = match std::fs::read(self.received_path()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TextCache::default());
            }
            Err(e) => return Err(io(e)),
        };
        let plain =
            zeroize::Zeroizing::new(zynk_crypto::open(&self.key, &sealed).map_err(|_| {
                SdkError::State("cannot open the message cache: damaged or another key".into())
            })?);
        serde_json::from_slice(&plain).map_err(|e| SdkError::State(format!("message cache: {e}")))
    }

    /// Writes the cache, sealed, atomically (temp file + rename).
    pub fn save_text_cache(&self, cache: &TextCache) -> Result<()> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(cache).map_err(|e| SdkError::State(e.to_string()))?,
        );
        let sealed = zynk_crypto::seal(&self.key, &plain).map_err(SdkError::Crypto)?;
        let path = self.received_path();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, sealed).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
        }
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// `handle`, remembering every plaintext it yields in `cache` (with the
    /// message it came from, including group messages a key share unlocked).
    pub async fn handle_cached(
        &mut self,
        cache: &mut TextCache,
        frame: &ServerFrame,
    ) -> Result<Vec<Incoming>> {
        let mut messages: HashMap<MessageId, Message> = self
            .state
            .waiting
            .iter()
            .map(|m| (m.id, m.clone()))
            .collect();
        if let ServerFrame::MessageNew { message } | ServerFrame::MessageEdited { message } = frame
        {
            messages.insert(message.id, message.clone());
        }
        let out = self.handle(frame).await?;
        for i in &out {
            if let Some(m) = messages.get(&i.id) {
                cache.remember(m, &i.text);
            }
        }
        Ok(out)
    }

    /// `decrypt` for history: the remembered plaintext if this ciphertext was
    /// decrypted before (a second decryption would be refused as a replay),
    /// else a decryption, remembered, and marked as seen so that its later
    /// live delivery is not decrypted (and refused) again. A failing
    /// decryption of an edit falls back to the remembered original text.
    pub async fn decrypt_cached(
        &mut self,
        cache: &mut TextCache,
        message: &Message,
    ) -> Result<Incoming> {
        let cached = cache.entries.get(&message.id).cloned();
        let from_cache = |text: String| Incoming {
            id: message.id,
            conversation_id: message.conversation_id,
            sender_id: message.sender_id,
            sender_device_id: message.sender_device_id,
            text,
            created_at: message.created_at,
            edited: message.edited_at.is_some(),
        };
        if let Some(c) = &cached
            && c.content_hash == message.content_hash
        {
            return Ok(from_cache(c.text.clone()));
        }
        match self.decrypt(message).await {
            Ok(i) => {
                cache.remember(message, &i.text);
                if message.sender_device_id != Some(self.info.device_id)
                    && !self.state.seen.contains(&message.id)
                {
                    self.state.seen.push_back(message.id);
                    while self.state.seen.len() > SEEN_CAPACITY {
                        self.state.seen.pop_front();
                    }
                }
                Ok(i)
            }
            Err(e) => match cached {
                Some(c) => Ok(from_cache(c.text)),
                None => Err(e),
            },
        }
    }

    /// Re-reads the sealed state from the profile directory (written by
    /// another process since this one opened it), with the key already derived.
    pub fn reload(&mut self) -> Result<()> {
        let st = state::load(&self.dir, &self.key)?;
        let live = super::Live::from_state(&st, self.key.as_pickle_key())?;
        self.client.set_tokens(Some(st.tokens.clone()));
        self.account = live.account;
        self.identity = live.identity;
        self.sessions = live.sessions;
        self.outbound = live.outbound;
        self.inbound = live.inbound;
        self.state = st;
        Ok(())
    }

    /// When `user`'s identity key changed and the change is not trusted yet:
    /// the safety number computed with the new key (`safety_number` keeps
    /// using the pinned one until `trust`). `None` when nothing changed.
    pub async fn changed_safety_number(&mut self, user: UserId) -> Result<Option<String>> {
        if !self.identity_changed(user).await? {
            return Ok(None);
        }
        let Some(new) = self
            .state
            .contacts
            .get(&user)
            .and_then(|c| c.changed_to.clone())
        else {
            return Ok(None);
        };
        let mine = self.trusted_identity(self.info.user_id).await?;
        Ok(Some(zynk_crypto::safety_number(
            &self.info.user_id.to_string(),
            &mine,
            &user.to_string(),
            &new,
        )?))
    }

    /// Deletes this profile's files: the sealed state, the message cache and
    /// `profile.json` (call after logging out; nothing usable is left).
    pub fn forget(self) -> Result<()> {
        for name in [STATE_FILE, RECEIVED_FILE, PROFILE_FILE] {
            match std::fs::remove_file(self.dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zynk_proto::{ConversationId, MessageMetadata, MessageStatus, MessageType};

    fn message(hash: &str, created_at: DateTime<Utc>) -> Message {
        Message {
            id: MessageId::new(),
            conversation_id: ConversationId::new(),
            sender_id: UserId::new(),
            sender_device_id: None,
            client_message_id: None,
            encrypted_content: Some(String::new()),
            content_hash: hash.into(),
            message_type: MessageType::Text,
            metadata: MessageMetadata::default(),
            status: MessageStatus::Sent,
            expires_at: None,
            created_at,
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn text_cache_remembers_and_evicts_the_oldest() {
        let mut cache = TextCache::default();
        let start = Utc::now();
        let oldest = message("h0", start - chrono::Duration::days(1));
        cache.remember(&oldest, "first");
        assert_eq!(cache.get(&oldest.id), Some("first"));
        cache.remember(&oldest, "edited");
        assert_eq!(cache.get(&oldest.id), Some("edited"));
        for i in 0..TEXT_CACHE_CAPACITY {
            let m = message("h", start + chrono::Duration::seconds(i as i64));
            cache.remember(&m, "x");
        }
        assert_eq!(cache.len(), TEXT_CACHE_CAPACITY);
        assert_eq!(cache.get(&oldest.id), None, "the oldest went first");
        assert!(format!("{cache:?}").contains("entries"));
    }
}
