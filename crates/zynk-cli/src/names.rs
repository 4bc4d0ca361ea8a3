//! From arguments to ids (`@alice`, a group name, an id) and from ids back
//! to names for display, with a small cache.

use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};
use zynk_proto::{Conversation, ConversationId, ConversationKind, PublicProfile, UserId};
use zynk_sdk::Client;

/// A user argument: `@alice` (or `alice`, or a user id).
pub async fn user(client: &Client, arg: &str) -> Result<PublicProfile> {
    let name = arg.trim().trim_start_matches('@');
    if name.is_empty() {
        bail!("expected a user such as @alice, not {arg:?}");
    }
    match client.user(name).await {
        Ok(p) => Ok(p),
        Err(e) if e.status() == Some(404) => bail!("no user @{name}"),
        Err(e) => Err(e.into()),
    }
}

/// A conversation argument: `@alice` → the 1:1 conversation with her
/// (created if there is none), else a group (see `group`) or any
/// conversation by id.
pub async fn conversation(client: &Client, arg: &str) -> Result<ConversationId> {
    if arg.trim().starts_with('@') {
        let other = user(client, arg).await?;
        let me = client.tokens().map(|t| t.user_id);
        if Some(other.user_id) == me {
            bail!("that is you: pick someone else");
        }
        return Ok(client.create_conversation(other.user_id).await?.id);
    }
    Ok(group_or_id(client, arg, false).await?.id)
}

/// A group argument: a group conversation's id, or its name (optionally
/// written `#name`). Ambiguous names are an error listing the ids.
pub async fn group(client: &Client, arg: &str) -> Result<Conversation> {
    group_or_id(client, arg, true).await
}

async fn group_or_id(client: &Client, arg: &str, groups_only: bool) -> Result<Conversation> {
    let arg = arg.trim();
    let conversations = client.conversations().await?;
    if let Ok(id) = arg.parse::<ConversationId>()
        && let Some(c) = conversations
            .iter()
            .find(|c| c.id == id && (!groups_only || c.kind == ConversationKind::Group))
    {
        return Ok(c.clone());
    }
    let name = arg.strip_prefix('#').unwrap_or(arg);
    let matching: Vec<&Conversation> = conversations
        .iter()
        .filter(|c| c.kind == ConversationKind::Group && c.group_name.as_deref() == Some(name))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(anyhow!(
            "no group {arg:?} among your conversations (a person is written @name; \
             `zynk group list` shows your groups)"
        )),
        many => {
            let ids: Vec<String> = many.iter().map(|c| c.id.to_string()).collect();
            bail!(
                "several groups are named {name:?}; use one of their ids: {}",
                ids.join(", ")
            )
        }
    }
}

/// Display names, looked up once each.
#[derive(Default)]
pub struct Names {
    users: HashMap<UserId, String>,
    conversations: HashMap<ConversationId, String>,
}

impl Names {
    /// A user's username (`?<id>` if it cannot be looked up).
    pub async fn user(&mut self, client: &Client, id: UserId) -> String {
        if let Some(n) = self.users.get(&id) {
            return n.clone();
        }
        let name = match client.user(&id.to_string()).await {
            Ok(p) => p.username,
            Err(_) => format!("?{id}"),
        };
        self.users.insert(id, name.clone());
        name
    }

    /// `@other` for a 1:1 conversation, `#name` for a group.
    pub async fn conversation(&mut self, client: &Client, id: ConversationId) -> String {
        if let Some(n) = self.conversations.get(&id) {
            return n.clone();
        }
        let name = match client.conversation(id).await {
            Ok(c) => self.describe(client, &c).await,
            Err(_) => id.to_string(),
        };
        self.conversations.insert(id, name.clone());
        name
    }

    /// The name of a conversation as listed (fetches participants for 1:1).
    pub async fn describe(&mut self, client: &Client, c: &Conversation) -> String {
        if c.kind == ConversationKind::Group {
            return format!("#{}", c.group_name.as_deref().unwrap_or("(unnamed group)"));
        }
        let participants = match &c.participants {
            Some(p) => p.clone(),
            None => match client.conversation(c.id).await {
                Ok(full) => full.participants.unwrap_or_default(),
                Err(_) => Vec::new(),
            },
        };
        let me = client.tokens().map(|t| t.user_id);
        match participants.iter().find(|p| Some(p.user_id) != me) {
            Some(p) => format!("@{}", self.user(client, p.user_id).await),
            None => c.id.to_string(),
        }
    }
}
