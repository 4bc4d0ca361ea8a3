//! call, call accept|decline|hangup, calls: call signaling only (the
//! command-line client carries no audio or video).
//!
//! `zynk call @bob` connects the WebSocket first (so no update is missed),
//! creates the call, then prints every status change of it until it is
//! over (ended, missed or declined); Ctrl-C hangs up. The profile is
//! unlocked while it waits, so `zynk call hangup` works from another terminal.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use zynk_proto::{Call, CallId, CallStatus, CallType, ServerFrame};
use zynk_sdk::Client;

use crate::context::{Ctx, parse_id};
use crate::names::{self, Names};
use crate::output::{Output, local};

/// How long one wait for a frame may take before looping.
const WAIT: Duration = Duration::from_secs(3600);

/// A call's JSON record (`kind`: `call`, `call.incoming`, `call.updated`).
pub async fn call_json(client: &Client, names: &mut Names, kind: &str, call: &Call) -> Value {
    let conversation = names.conversation(client, call.conversation_id).await;
    let initiator = names.user(client, call.initiator_id).await;
    json!({
        "type": kind,
        "id": call.id,
        "call_id": call.id,
        "conversation_id": call.conversation_id,
        "conversation": conversation,
        "initiator_id": call.initiator_id,
        "initiator": initiator,
        "call_type": call.call_type,
        "status": call.status,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "duration_seconds": call.duration_seconds,
        "created_at": call.created_at,
    })
}

/// `1m 05s`.
fn duration(secs: u32) -> String {
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// A call's state in one line: `call <id> in @bob (audio): in_progress`.
pub async fn describe(client: &Client, names: &mut Names, call: &Call) -> String {
    let conversation = names.conversation(client, call.conversation_id).await;
    let took = match (call.status, call.duration_seconds) {
        (CallStatus::Ended, Some(d)) => format!(" after {}", duration(d)),
        _ => String::new(),
    };
    format!(
        "call {} in {conversation} ({}): {}{took}",
        call.id,
        call.call_type.as_str(),
        call.status.as_str()
    )
}

async fn emit(out: &Output, client: &Client, names: &mut Names, kind: &str, call: &Call) {
    let text = format!(
        "[{}] {}",
        local(chrono::Utc::now()),
        describe(client, names, call).await
    );
    let value = call_json(client, names, kind, call).await;
    out.emit(text, value);
}

pub async fn call(ctx: &Ctx, to: &str, video: bool) -> Result<()> {
    let mut s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), to).await?;
    let mut ws = s.m.client().connect().await?;
    let call_type = if video {
        CallType::Video
    } else {
        CallType::Audio
    };
    let created = match s.m.client().create_call(conversation, call_type).await {
        Ok(c) => c,
        Err(e) if e.kind() == Some("call-in-progress") => {
            let _ = ws.close().await;
            bail!("there is already a call in {to}: `zynk calls` shows it")
        }
        Err(e) => return Err(e.into()),
    };
    s.unlock();
    let client = s.m.client();
    let mut names = Names::default();
    emit(&ctx.out, client, &mut names, "call", &created).await;
    if !ctx.out.json {
        eprintln!(
            "Ringing… Ctrl-C hangs up (or `zynk call hangup {}`).",
            created.id
        );
    }
    let mut status = created.status;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while status.is_active() {
        let frame = tokio::select! {
            _ = &mut ctrl_c => {
                let ended = client.hangup_call(created.id).await?;
                emit(&ctx.out, client, &mut names, "call", &ended).await;
                break;
            }
            r = ws.next_timeout(WAIT) => r,
        };
        match frame {
            Ok(Some(ServerFrame::CallUpdated { call })) if call.id == created.id => {
                if call.status != status {
                    status = call.status;
                    emit(&ctx.out, client, &mut names, "call", &call).await;
                }
            }
            // Messages stay pending for `zynk listen` (not acked here).
            Ok(Some(_)) => {}
            Ok(None) => bail!("the server closed the connection"),
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let _ = ws.close().await;
    Ok(())
}

async fn step(ctx: &Ctx, id: &str, what: &str) -> Result<()> {
    let id: CallId = parse_id("call id", id)?;
    let s = ctx.open().await?;
    let client = s.m.client();
    let result = match what {
        "accept" => client.accept_call(id).await,
        "decline" => client.decline_call(id).await,
        _ => client.hangup_call(id).await,
    };
    let call = match result {
        Ok(c) => c,
        Err(e) if e.status() == Some(404) => bail!("no call {id} in your conversations"),
        Err(e) if e.kind() == Some("invalid-call-state") => {
            bail!("cannot {what} call {id} now: `zynk calls` shows its state")
        }
        Err(e) => return Err(e.into()),
    };
    let mut names = Names::default();
    emit(&ctx.out, client, &mut names, "call", &call).await;
    Ok(())
}

pub async fn accept(ctx: &Ctx, id: &str) -> Result<()> {
    step(ctx, id, "accept").await
}

pub async fn decline(ctx: &Ctx, id: &str) -> Result<()> {
    step(ctx, id, "decline").await
}

pub async fn hangup(ctx: &Ctx, id: &str) -> Result<()> {
    step(ctx, id, "hang up").await
}

pub async fn history(ctx: &Ctx, limit: u32) -> Result<()> {
    let s = ctx.open().await?;
    let client = s.m.client();
    let mut names = Names::default();
    let calls = client.calls(None, Some(limit)).await?;
    if calls.is_empty() && !ctx.out.json {
        println!("No calls.");
    }
    for call in &calls {
        let initiator = names.user(client, call.initiator_id).await;
        let text = format!(
            "[{}] {} — by {initiator}",
            local(call.created_at),
            describe(client, &mut names, call).await
        );
        let value = call_json(client, &mut names, "call", call).await;
        ctx.out.emit(text, value);
    }
    Ok(())
}
