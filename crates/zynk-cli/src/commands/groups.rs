//! group create / add / remove / leave / list / info.

use anyhow::Result;
use serde_json::json;
use zynk_proto::{ConversationKind, CreateGroup, Group};
use zynk_sdk::Client;

use crate::cli::GroupCommand;
use crate::context::Ctx;
use crate::names::{self, Names};

pub async fn run(ctx: &Ctx, action: GroupCommand) -> Result<()> {
    let s = ctx.open().await?;
    let client = s.m.client();
    match action {
        GroupCommand::Create { name, members } => {
            let mut member_ids = Vec::new();
            for m in &members {
                member_ids.push(names::user(client, m).await?.user_id);
            }
            let group = client
                .create_group(&CreateGroup {
                    name,
                    description: None,
                    avatar_url: None,
                    member_ids,
                })
                .await?;
            print_group(ctx, client, &group, "group_created").await;
        }
        GroupCommand::Add { group, user } => {
            let g = names::group(client, &group).await?;
            let u = names::user(client, &user).await?;
            let group = client.add_member(g.id, u.user_id).await?;
            print_group(ctx, client, &group, "group").await;
        }
        GroupCommand::Remove { group, user } => {
            let g = names::group(client, &group).await?;
            let u = names::user(client, &user).await?;
            client.remove_member(g.id, u.user_id).await?;
            ctx.out.emit(
                format!("Removed @{} from {group}.", u.username),
                json!({"type": "member_removed", "group_id": g.id, "user_id": u.user_id}),
            );
        }
        GroupCommand::Leave { group } => {
            let g = names::group(client, &group).await?;
            client.remove_member(g.id, s.m.user_id()).await?;
            ctx.out.emit(
                format!("Left {group}."),
                json!({"type": "left", "group_id": g.id}),
            );
        }
        GroupCommand::List => {
            for c in client.conversations().await? {
                if c.kind != ConversationKind::Group {
                    continue;
                }
                let name = c.group_name.clone().unwrap_or_default();
                ctx.out.emit(
                    format!("#{name:<24} {:>4} unread   {}", c.unread_count, c.id),
                    json!({
                        "type": "group",
                        "id": c.id,
                        "name": name,
                        "unread_count": c.unread_count,
                        "last_message_at": c.last_message_at,
                    }),
                );
            }
        }
        GroupCommand::Info { group } => {
            let g = names::group(client, &group).await?;
            let group = client.group(g.id).await?;
            print_group(ctx, client, &group, "group").await;
        }
    }
    Ok(())
}

async fn print_group(ctx: &Ctx, client: &Client, g: &Group, kind: &str) {
    let mut names = Names::default();
    let mut lines = Vec::new();
    let mut members = Vec::new();
    for m in &g.members {
        let name = names.user(client, m.user_id).await;
        lines.push(format!("  @{name} ({})", m.role.as_str()));
        members.push(json!({"user_id": m.user_id, "username": name, "role": m.role}));
    }
    let description = g
        .description
        .as_deref()
        .map(|d| format!("\n{d}"))
        .unwrap_or_default();
    ctx.out.emit(
        format!(
            "#{} ({}){description}\n{} member(s):\n{}",
            g.name,
            g.id,
            g.members.len(),
            lines.join("\n")
        ),
        json!({
            "type": kind,
            "id": g.id,
            "name": g.name,
            "description": g.description,
            "members": members,
        }),
    );
}
