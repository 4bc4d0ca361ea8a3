//! listen: the WebSocket, decrypted messages and events as they arrive.
//!
//! The profile is locked only while a frame is handled (re-read first,
//! saved after), so `zynk send` works from another terminal meanwhile.
//! Each message is acked after it was handled and printed; one that failed
//! for a passing reason (network, server error) is left unacked and comes
//! again with the next connection.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;
use tokio::time::Instant;
use zynk_proto::ServerFrame;
use zynk_sdk::Connection;

use crate::cli::ListenArgs;
use crate::context::{Ctx, Session, is_transient};
use crate::names::Names;
use crate::output::{self, local};

/// `--once`: this long without a frame ends the catch-up.
const IDLE: Duration = Duration::from_secs(2);
/// Without `--once`: how long one wait may take before looping.
const WAIT: Duration = Duration::from_secs(3600);

pub async fn listen(ctx: &Ctx, args: &ListenArgs) -> Result<()> {
    let mut s = ctx.open().await?;
    // Claims use up one-time keys: top them up for those who write next.
    if let Err(e) = s.m.replenish_keys().await {
        ctx.out.warn(
            &format!("cannot top up one-time keys: {e}"),
            json!({"during": "replenish_keys"}),
        );
    }
    let mut ws = s.m.client().connect().await?;
    s.unlock();
    eprintln!("Listening as {}… (Ctrl-C to stop)", s.m.info().username);
    if !s.m.is_approved() {
        eprintln!(
            "note: this device waits for approval (`zynk devices approve {}` on another device)",
            s.m.device_id()
        );
    }
    let deadline = args
        .timeout
        .map(|secs| Instant::now() + Duration::from_secs(secs));
    let mut names = Names::default();
    let mut shown: u64 = 0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if args.count.is_some_and(|n| shown >= n) {
            break;
        }
        let mut wait = if args.once { IDLE } else { WAIT };
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(Instant::now()));
        }
        let read = tokio::select! {
            _ = &mut ctrl_c => break,
            r = ws.next_timeout(wait) => r,
        };
        match read {
            Ok(Some(frame)) => {
                shown += handle(ctx, &mut s, &mut ws, &mut names, frame).await?;
            }
            Ok(None) => bail!("the server closed the connection"),
            Err(e) if e.is_timeout() => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = ws.close().await;
                    let want = args
                        .count
                        .map(|n| format!(" ({shown} of {n} messages)"))
                        .unwrap_or_default();
                    bail!("timed out{want}");
                }
                if args.once {
                    break;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    ws.close().await?;
    Ok(())
}

/// Handles one frame; returns how many messages it showed.
async fn handle(
    ctx: &Ctx,
    s: &mut Session,
    ws: &mut Connection,
    names: &mut Names,
    frame: ServerFrame,
) -> Result<u64> {
    let out = &ctx.out;
    match &frame {
        ServerFrame::MessageNew { .. }
        | ServerFrame::MessageEdited { .. }
        | ServerFrame::DeviceMessage { .. } => return decrypt(ctx, s, ws, names, &frame).await,
        ServerFrame::MessageDeleted {
            conversation_id,
            message_id,
        } => {
            let conv = names.conversation(s.m.client(), *conversation_id).await;
            out.emit(
                format!("{conv}: message {message_id} was deleted"),
                json!({"type": "deleted", "conversation_id": conversation_id, "message_id": message_id}),
            );
        }
        ServerFrame::Reaction {
            conversation_id,
            message_id,
            reactions,
        } => {
            let conv = names.conversation(s.m.client(), *conversation_id).await;
            let mut parts = Vec::new();
            let mut named = serde_json::Map::new();
            for (emoji, users) in reactions {
                let mut who = Vec::new();
                for u in users {
                    who.push(names.user(s.m.client(), *u).await);
                }
                parts.push(format!("{emoji} {}", who.join(", ")));
                named.insert(emoji.clone(), json!(who));
            }
            let now = if parts.is_empty() {
                "none".to_owned()
            } else {
                parts.join("; ")
            };
            out.emit(
                format!("{conv}: reactions on {message_id}: {now}"),
                json!({"type": "reaction", "conversation_id": conversation_id,
                       "message_id": message_id, "reactions": named}),
            );
        }
        ServerFrame::Receipt {
            conversation_id,
            message_ids,
            status,
        } => {
            let conv = names.conversation(s.m.client(), *conversation_id).await;
            out.emit(
                format!(
                    "{conv}: {} message(s) {}",
                    message_ids.len(),
                    status.as_str()
                ),
                json!({"type": "receipt", "conversation_id": conversation_id,
                       "message_ids": message_ids, "status": status}),
            );
        }
        ServerFrame::Typing {
            conversation_id,
            user_id,
        } => {
            let conv = names.conversation(s.m.client(), *conversation_id).await;
            let user = names.user(s.m.client(), *user_id).await;
            out.emit(
                format!("{conv}: {user} is typing…"),
                json!({"type": "typing", "conversation_id": conversation_id,
                       "user_id": user_id, "user": user}),
            );
        }
        ServerFrame::Presence {
            user_id,
            online,
            last_seen_at,
        } => {
            let user = names.user(s.m.client(), *user_id).await;
            let state = if *online {
                "online".to_owned()
            } else {
                match last_seen_at {
                    Some(t) => format!("offline (last seen {})", local(*t)),
                    None => "offline".to_owned(),
                }
            };
            out.emit(
                format!("{user} is {state}"),
                json!({"type": "presence", "user_id": user_id, "user": user,
                       "online": online, "last_seen_at": last_seen_at}),
            );
        }
        ServerFrame::Error { problem } => out.warn(
            &format!(
                "the server refused a frame: {}",
                problem.detail.as_deref().unwrap_or(&problem.title)
            ),
            json!({"status": problem.status}),
        ),
        ServerFrame::CallIncoming { call } => {
            // This device rings (best effort: the caller sees `ringing`).
            let rung = s.m.client().call_ringing(call.id).await.ok();
            let call = rung.as_ref().unwrap_or(call);
            let client = s.m.client();
            let conv = names.conversation(client, call.conversation_id).await;
            let from = names.user(client, call.initiator_id).await;
            let value = super::calls::call_json(client, names, "call.incoming", call).await;
            out.emit(
                format!(
                    "📞 incoming {} call from {from} in {conv}: `zynk call accept {id}` \
                     or `zynk call decline {id}`",
                    call.call_type.as_str(),
                    id = call.id
                ),
                value,
            );
            return Ok(1);
        }
        ServerFrame::CallUpdated { call } => {
            let client = s.m.client();
            let text = super::calls::describe(client, names, call).await;
            let value = super::calls::call_json(client, names, "call.updated", call).await;
            out.emit(text, value);
        }
        ServerFrame::Location {
            conversation_id,
            user_id,
            latitude,
            longitude,
            accuracy,
            expires_at,
        } => {
            let loc = zynk_proto::LiveLocation {
                user_id: *user_id,
                latitude: *latitude,
                longitude: *longitude,
                accuracy: *accuracy,
                expires_at: *expires_at,
                distance_m: None,
            };
            let client = s.m.client();
            let conv = names.conversation(client, *conversation_id).await;
            let (text, value) =
                super::location::describe(client, names, *conversation_id, &loc).await;
            out.emit(format!("📍 {conv}: {text}"), value);
        }
        ServerFrame::LocationStopped {
            conversation_id,
            user_id,
        } => {
            let conv = names.conversation(s.m.client(), *conversation_id).await;
            let user = names.user(s.m.client(), *user_id).await;
            out.emit(
                format!("📍 {conv}: {user} stopped sharing their position"),
                json!({"type": "location.stopped", "conversation_id": conversation_id,
                       "user_id": user_id, "user": user}),
            );
        }
        // ready, sent, pong, relayed call signaling (no media here).
        _ => {}
    }
    Ok(0)
}

/// A message or device message: decrypt (profile locked), show, ack.
async fn decrypt(
    ctx: &Ctx,
    s: &mut Session,
    ws: &mut Connection,
    names: &mut Names,
    frame: &ServerFrame,
) -> Result<u64> {
    let (ack_id, sender, conversation) = match frame {
        ServerFrame::MessageNew { message } | ServerFrame::MessageEdited { message } => (
            matches!(frame, ServerFrame::MessageNew { .. }).then_some(message.id.0),
            message.sender_id,
            Some(message.conversation_id),
        ),
        ServerFrame::DeviceMessage { message } => (Some(message.id.0), message.sender_id, None),
        _ => return Ok(0),
    };
    s.relock()?;
    let was_approved = s.m.is_approved();
    let mut cache = s.m.text_cache()?;
    let result = s.m.handle_cached(&mut cache, frame).await;
    let saved = s.m.save().and_then(|()| s.m.save_text_cache(&cache));
    s.unlock();
    saved?;
    let mut shown = 0;
    let ack = match result {
        Ok(incoming) => {
            for i in &incoming {
                let conv = names.conversation(s.m.client(), i.conversation_id).await;
                let who = names.user(s.m.client(), i.sender_id).await;
                output::message(&ctx.out, i, &conv, &who);
                shown += 1;
            }
            true
        }
        Err(e) => {
            let who = names.user(s.m.client(), sender).await;
            let what = match conversation {
                Some(c) => format!(
                    "a message from {who} in {}",
                    names.conversation(s.m.client(), c).await
                ),
                None => format!("a device message from {who}"),
            };
            let transient = is_transient(&e);
            let later = if transient { " (will retry)" } else { "" };
            ctx.out.warn(
                &format!("cannot decrypt {what}: {e}{later}"),
                json!({"id": ack_id, "sender_id": sender, "sender": who,
                       "conversation_id": conversation, "retry": transient}),
            );
            !transient
        }
    };
    if !was_approved && s.m.is_approved() {
        ctx.out.emit(
            "This device is now approved: it holds the account's identity key.",
            json!({"type": "approved", "device_id": s.m.device_id()}),
        );
    }
    if ack && let Some(id) = ack_id {
        ws.ack([id]).await?;
    }
    Ok(shown)
}
