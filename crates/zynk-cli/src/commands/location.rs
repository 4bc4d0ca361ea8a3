//! location share|stop|show: live positions in a conversation. The server
//! keeps a position for at most 5 minutes; `share --follow` keeps sending
//! it until `--duration` is over.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use tokio::time::Instant;
use zynk_proto::{ConversationId, LiveLocation, ShareLocation};
use zynk_sdk::Client;

use crate::cli::LocationCommand;
use crate::context::Ctx;
use crate::names::{self, Names};
use crate::output::local;

/// The server's default sharing time (seconds).
const DEFAULT_DURATION: u32 = 300;
/// How often `--follow` sends the position again.
const REFRESH: Duration = Duration::from_secs(60);

pub async fn run(ctx: &Ctx, action: LocationCommand) -> Result<()> {
    match action {
        LocationCommand::Share {
            conversation,
            latitude,
            longitude,
            accuracy,
            duration,
            follow,
        } => {
            let body = ShareLocation {
                latitude,
                longitude,
                accuracy,
                duration_s: duration,
            };
            share(ctx, &conversation, &body, follow).await
        }
        LocationCommand::Stop { conversation } => stop(ctx, &conversation).await,
        LocationCommand::Show { conversation } => show(ctx, &conversation).await,
    }
}

fn refused(e: zynk_sdk::SdkError) -> anyhow::Error {
    if e.kind() == Some("validation-failed") {
        anyhow::anyhow!(
            "the server refused the position: latitude −85.05…85.05, longitude −180…180, \
             accuracy 0…100000 m, duration 60…28800 s ({e})"
        )
    } else {
        e.into()
    }
}

async fn share(ctx: &Ctx, arg: &str, body: &ShareLocation, follow: bool) -> Result<()> {
    let mut s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), arg).await?;
    let loc =
        s.m.client()
            .share_location(conversation, body)
            .await
            .map_err(refused)?;
    let wanted = body.duration_s.unwrap_or(DEFAULT_DURATION);
    ctx.out.emit(
        format!(
            "Sharing your position ({:.5}, {:.5}) with {arg} until {}.",
            loc.latitude,
            loc.longitude,
            local(loc.expires_at)
        ),
        json!({
            "type": "location.shared",
            "conversation_id": conversation,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
            "accuracy": loc.accuracy,
            "expires_at": loc.expires_at,
            "duration_s": wanted,
        }),
    );
    if !follow {
        if wanted > DEFAULT_DURATION && !ctx.out.json {
            eprintln!(
                "note: the server keeps a position for 5 minutes; run this again to refresh \
                 it, or pass --follow to keep sending it for {wanted} s"
            );
        }
        return Ok(());
    }
    s.unlock();
    let client = s.m.client();
    let end = Instant::now() + Duration::from_secs(u64::from(wanted));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let next = (Instant::now() + REFRESH).min(end);
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep_until(next) => {}
        }
        if Instant::now() >= end {
            break;
        }
        client
            .share_location(conversation, body)
            .await
            .map_err(refused)?;
    }
    client.stop_location(conversation).await?;
    ctx.out.emit(
        format!("Stopped sharing your position with {arg}."),
        json!({"type": "location.stopped", "conversation_id": conversation}),
    );
    Ok(())
}

async fn stop(ctx: &Ctx, arg: &str) -> Result<()> {
    let s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), arg).await?;
    s.m.client().stop_location(conversation).await?;
    ctx.out.emit(
        format!("Stopped sharing your position with {arg}."),
        json!({"type": "location.stopped", "conversation_id": conversation}),
    );
    Ok(())
}

/// `1.2 km` or `350 m`.
pub fn distance(metres: f64) -> String {
    if metres >= 1000.0 {
        format!("{:.1} km", metres / 1000.0)
    } else {
        format!("{metres:.0} m")
    }
}

/// One position as a line: `@alice at (lat, lon) ±10 m, 1.2 km away, until …`.
pub async fn describe(
    client: &Client,
    names: &mut Names,
    conversation: ConversationId,
    loc: &LiveLocation,
) -> (String, serde_json::Value) {
    let me = client.tokens().map(|t| t.user_id);
    let user = names.user(client, loc.user_id).await;
    let who = if Some(loc.user_id) == me {
        format!("{user} (you)")
    } else {
        user.clone()
    };
    let accuracy = loc
        .accuracy
        .map(|a| format!(" ±{}", distance(a)))
        .unwrap_or_default();
    let away = match loc.distance_m {
        Some(d) if Some(loc.user_id) != me => format!(", {} away", distance(d)),
        _ => String::new(),
    };
    let text = format!(
        "{who} at ({:.5}, {:.5}){accuracy}{away}, until {}",
        loc.latitude,
        loc.longitude,
        local(loc.expires_at)
    );
    let value = json!({
        "type": "location",
        "conversation_id": conversation,
        "user_id": loc.user_id,
        "user": user,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "accuracy": loc.accuracy,
        "distance_m": loc.distance_m,
        "expires_at": loc.expires_at,
    });
    (text, value)
}

async fn show(ctx: &Ctx, arg: &str) -> Result<()> {
    let s = ctx.open().await?;
    let client = s.m.client();
    let conversation = names::conversation(client, arg).await?;
    let locations = client.locations(conversation).await?;
    if locations.is_empty() {
        if !ctx.out.json {
            println!("Nobody shares a position in {arg} right now.");
        }
        return Ok(());
    }
    let mut names = Names::default();
    for loc in &locations {
        let (text, value) = describe(client, &mut names, conversation, loc).await;
        ctx.out.emit(text, value);
    }
    Ok(())
}
