//! safety-number, trust, and the warning shown when a contact's identity changed.

use anyhow::Result;
use serde_json::json;
use zynk_proto::UserId;
use zynk_sdk::Messenger;

use crate::context::Ctx;
use crate::names;

/// `12345 12345 …` (12 groups) as three lines of four groups.
fn lines(number: &str) -> String {
    let groups: Vec<&str> = number.split_whitespace().collect();
    groups
        .chunks(4)
        .map(|c| format!("    {}", c.join(" ")))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn safety_number(ctx: &Ctx, user: &str) -> Result<()> {
    let mut s = ctx.open().await?;
    let other = names::user(s.m.client(), user).await?;
    let name = other.username;
    let changed = s.m.changed_safety_number(other.user_id).await?;
    let (number, text) = match &changed {
        None => {
            let number = s.m.safety_number(other.user_id).await?;
            let text = format!(
                "Safety number with @{name}:\n\n{}\n\n\
                 Compare it with the one {name} sees (`zynk safety-number @<you>` on their side), \
                 in person or over a channel you trust. If they are the same, nobody is in \
                 between.",
                lines(&number)
            );
            (number, text)
        }
        Some(number) => {
            let text = format!(
                "The identity key of @{name} has CHANGED. The safety number with the new key:\n\n\
                 {}\n\n\
                 Compare it with the one {name} sees, in person or over a channel you trust. \
                 Only if they are the same, accept the new key with `zynk trust @{name}`.",
                lines(number)
            );
            (number.clone(), text)
        }
    };
    ctx.out.emit(
        text,
        json!({
            "type": "safety_number",
            "user": name,
            "user_id": other.user_id,
            "safety_number": number,
            "changed": changed.is_some(),
        }),
    );
    Ok(())
}

pub async fn trust(ctx: &Ctx, user: &str) -> Result<()> {
    let mut s = ctx.open().await?;
    let other = names::user(s.m.client(), user).await?;
    let changed = s.m.identity_changed(other.user_id).await?;
    s.m.trust(other.user_id).await?;
    let name = other.username;
    let text = if changed {
        format!("Accepted the new identity key of @{name}; messages to them are sent again.")
    } else {
        format!("The identity key of @{name} had not changed; it is trusted.")
    };
    ctx.out.emit(
        text,
        json!({"type": "trusted", "user": name, "user_id": other.user_id, "changed": changed}),
    );
    Ok(())
}

/// The prominent warning when sending is blocked by a changed identity key.
pub async fn identity_changed_warning(m: &Messenger, user: UserId) -> String {
    let name = match m.client().user(&user.to_string()).await {
        Ok(p) => p.username,
        Err(_) => user.to_string(),
    };
    let bar = "!".repeat(72);
    eprintln!(
        "{bar}\n\
         WARNING: the identity key of @{name} has CHANGED.\n\
         They may have re-installed, or someone may be impersonating them.\n\
         Nothing was sent. Check before sending again:\n\
         \n    zynk safety-number @{name}      (compare with {name}, in person or by a channel you trust)\n    \
         zynk trust @{name}              (only if the numbers are the same)\n\
         {bar}"
    );
    format!("message not sent: the identity key of @{name} changed")
}

#[cfg(test)]
mod tests {
    #[test]
    fn safety_numbers_print_as_three_lines_of_four_groups() {
        let number = (0..12)
            .map(|i| format!("{i:05}"))
            .collect::<Vec<_>>()
            .join(" ");
        let printed = super::lines(&number);
        let rows: Vec<&str> = printed.lines().collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], "    00000 00001 00002 00003");
        assert_eq!(
            printed.split_whitespace().collect::<Vec<_>>().join(" "),
            number
        );
    }
}
