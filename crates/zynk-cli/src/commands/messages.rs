//! send, history, conversations, react, edit, delete, read.

use std::io::Read as _;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::json;
use zynk_proto::{Message, MessageId, ServerFrame};
use zynk_sdk::{Client, SdkError};

use crate::context::{Ctx, parse_id};
use crate::names::{self, Names};
use crate::output::{self, local};

use super::trust::identity_changed_warning;

/// Pages of history searched per conversation to find a message by id.
const SEARCH_PAGES: usize = 5;
const PAGE: u32 = 200;

/// The words given, or all of standard input (one trailing newline dropped).
fn text_or_stdin(words: Vec<String>) -> Result<String> {
    let text = if words.is_empty() {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the message from standard input")?;
        let trimmed = s.strip_suffix('\n').unwrap_or(&s);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned()
    } else {
        words.join(" ")
    };
    if text.trim().is_empty() {
        bail!("nothing to send: the message is empty");
    }
    Ok(text)
}

pub async fn send(ctx: &Ctx, to: &str, words: Vec<String>) -> Result<()> {
    let text = text_or_stdin(words)?;
    let mut s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), to).await?;
    let sent = match s.m.send_text(conversation, &text).await {
        Ok(sent) => sent,
        Err(SdkError::IdentityChanged(user)) => {
            return Err(anyhow!(identity_changed_warning(&s.m, user).await));
        }
        Err(e) => return Err(e.into()),
    };
    ctx.out.emit(
        format!("Sent to {to} (message {}).", sent.id),
        json!({
            "type": "sent",
            "id": sent.id,
            "conversation_id": sent.conversation_id,
            "created_at": sent.created_at,
        }),
    );
    Ok(())
}

pub async fn history(ctx: &Ctx, arg: &str, limit: u32) -> Result<()> {
    let mut s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), arg).await?;
    let mut messages: Vec<Message> = Vec::new();
    let mut before: Option<String> = None;
    while messages.len() < limit as usize {
        let want = (limit - messages.len() as u32).min(PAGE);
        let page =
            s.m.client()
                .messages(conversation, before.as_deref(), Some(want))
                .await?;
        let empty = page.messages.is_empty();
        messages.extend(page.messages);
        match page.next_before {
            Some(next) if !empty => before = Some(next),
            _ => break,
        }
    }
    messages.truncate(limit as usize);
    messages.reverse();
    let mut cache = s.m.text_cache()?;
    let mut names = Names::default();
    let conv_name = names.conversation(s.m.client(), conversation).await;
    for message in &messages {
        let sender = names.user(s.m.client(), message.sender_id).await;
        match s.m.decrypt_cached(&mut cache, message).await {
            Ok(i) => output::message(&ctx.out, &i, &conv_name, &sender),
            Err(e) => ctx.out.warn(
                &format!(
                    "[{}] {conv_name} {sender}: cannot decrypt message {}: {e}",
                    local(message.created_at),
                    message.id
                ),
                json!({
                    "id": message.id,
                    "conversation_id": message.conversation_id,
                    "sender_id": message.sender_id,
                    "sender": sender,
                    "created_at": message.created_at,
                }),
            ),
        }
    }
    s.m.save()?;
    s.m.save_text_cache(&cache)?;
    Ok(())
}

pub async fn conversations(ctx: &Ctx) -> Result<()> {
    let s = ctx.open().await?;
    let client = s.m.client();
    let mut names = Names::default();
    for c in client.conversations().await? {
        let name = names.describe(client, &c).await;
        let last = c
            .last_message_at
            .map(local)
            .unwrap_or_else(|| "no messages".into());
        let unread = if c.unread_count > 0 {
            format!("{} unread", c.unread_count)
        } else {
            "read".into()
        };
        ctx.out.emit(
            format!("{name:<24} {unread:<10} last {last:<20} {}", c.id),
            json!({
                "type": "conversation",
                "id": c.id,
                "kind": c.kind,
                "name": name,
                "unread_count": c.unread_count,
                "last_message_at": c.last_message_at,
            }),
        );
    }
    Ok(())
}

/// Finds a message by id in the recent history of the caller's conversations.
pub(super) async fn find_message(client: &Client, id: MessageId) -> Result<Message> {
    for c in client.conversations().await? {
        let mut before: Option<String> = None;
        for _ in 0..SEARCH_PAGES {
            let page = client.messages(c.id, before.as_deref(), Some(PAGE)).await?;
            if let Some(m) = page.messages.iter().find(|m| m.id == id) {
                return Ok(m.clone());
            }
            match page.next_before {
                Some(next) if !page.messages.is_empty() => before = Some(next),
                _ => break,
            }
        }
    }
    bail!("message {id} not found in the recent history of your conversations")
}

pub async fn edit(ctx: &Ctx, id: &str, words: Vec<String>) -> Result<()> {
    let id: MessageId = parse_id("message id", id)?;
    let text = text_or_stdin(words)?;
    let mut s = ctx.open().await?;
    let message = find_message(s.m.client(), id).await?;
    if message.sender_id != s.m.user_id() {
        bail!("message {id} is not yours: only its sender can edit it");
    }
    let edited = match s.m.edit_text(&message, &text).await {
        Ok(m) => m,
        Err(SdkError::IdentityChanged(user)) => {
            return Err(anyhow!(identity_changed_warning(&s.m, user).await));
        }
        Err(e) => return Err(e.into()),
    };
    ctx.out.emit(
        format!("Edited message {id}."),
        json!({
            "type": "edited",
            "id": id,
            "conversation_id": edited.conversation_id,
            "edited_at": edited.edited_at,
        }),
    );
    Ok(())
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let id: MessageId = parse_id("message id", id)?;
    let s = ctx.open().await?;
    s.m.client().delete_message(id).await?;
    ctx.out.emit(
        format!("Deleted message {id}."),
        json!({"type": "deleted", "id": id}),
    );
    Ok(())
}

pub async fn react(ctx: &Ctx, id: &str, emoji: &str, remove: bool) -> Result<()> {
    let id: MessageId = parse_id("message id", id)?;
    let s = ctx.open().await?;
    let client = s.m.client();
    let message = if remove {
        client.unreact(id, emoji).await?
    } else {
        client.react(id, emoji).await?
    };
    let mut names = Names::default();
    let mut summary = Vec::new();
    let mut reactions = serde_json::Map::new();
    for (e, users) in &message.metadata.reactions {
        let mut who = Vec::new();
        for u in users {
            who.push(names.user(client, *u).await);
        }
        summary.push(format!("{e} {}", who.join(", ")));
        reactions.insert(e.clone(), json!(who));
    }
    let verb = if remove { "Removed" } else { "Added" };
    let now = if summary.is_empty() {
        "no reactions".to_owned()
    } else {
        summary.join("; ")
    };
    ctx.out.emit(
        format!("{verb} {emoji} on message {id}; now: {now}"),
        json!({"type": "reactions", "id": id, "reactions": reactions}),
    );
    Ok(())
}

pub async fn read(ctx: &Ctx, arg: &str) -> Result<()> {
    let s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), arg).await?;
    let up_to = chrono::Utc::now();
    let mut ws = s.m.client().connect().await?;
    ws.read(conversation, up_to).await?;
    // Frames are handled in order: the pong comes after the read marker.
    ws.ping().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_timeout(left).await? {
            Some(ServerFrame::Pong) => break,
            Some(ServerFrame::Error { problem }) => {
                let _ = ws.close().await;
                bail!(
                    "the server refused the read marker: {}",
                    problem.detail.as_deref().unwrap_or(&problem.title)
                );
            }
            // Pending messages are left for `zynk listen` (not acked here).
            Some(_) => {}
            None => bail!("the server closed the connection"),
        }
    }
    ws.close().await?;
    ctx.out.emit(
        format!("Marked {arg} read."),
        json!({"type": "read", "conversation_id": conversation, "up_to": up_to}),
    );
    Ok(())
}
