//! The commands, grouped: `account` (register, login, logout, whoami,
//! devices), `messages` (send, history, conversations, react, edit,
//! delete, read), `listen`, `groups`, `trust` (safety numbers), `files`
//! (send-file, download), `calls` (call, calls), `location`, `verify`
//! (a message's ledger anchor).

mod account;
mod calls;
mod files;
mod groups;
mod listen;
mod location;
mod messages;
mod trust;
mod verify;

use anyhow::Result;

use crate::cli::{CallCommand, Cli, Command};
use crate::context::Ctx;

pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx::new(&cli)?;
    match cli.command {
        Command::Register { username } => account::register(&ctx, &username).await,
        Command::Login { username } => account::login(&ctx, &username).await,
        Command::Logout => account::logout(&ctx).await,
        Command::Whoami => account::whoami(&ctx).await,
        Command::Devices { action } => account::devices(&ctx, action).await,
        Command::Send { to, text } => messages::send(&ctx, &to, text).await,
        Command::Listen(args) => listen::listen(&ctx, &args).await,
        Command::History {
            conversation,
            limit,
        } => messages::history(&ctx, &conversation, limit).await,
        Command::Conversations => messages::conversations(&ctx).await,
        Command::Group { action } => groups::run(&ctx, action).await,
        Command::SafetyNumber { user } => trust::safety_number(&ctx, &user).await,
        Command::Trust { user } => trust::trust(&ctx, &user).await,
        Command::React {
            message_id,
            emoji,
            remove,
        } => messages::react(&ctx, &message_id, &emoji, remove).await,
        Command::Edit { message_id, text } => messages::edit(&ctx, &message_id, text).await,
        Command::Delete { message_id } => messages::delete(&ctx, &message_id).await,
        Command::Verify { message_id } => verify::verify(&ctx, &message_id).await,
        Command::Read { conversation } => messages::read(&ctx, &conversation).await,
        Command::SendFile { to, path } => files::send_file(&ctx, &to, &path).await,
        Command::Download {
            id,
            path,
            force,
            thumbnail,
        } => files::download(&ctx, &id, path, force, thumbnail).await,
        Command::Call(args) => match (args.action, args.to) {
            (Some(CallCommand::Accept { call_id }), _) => calls::accept(&ctx, &call_id).await,
            (Some(CallCommand::Decline { call_id }), _) => calls::decline(&ctx, &call_id).await,
            (Some(CallCommand::Hangup { call_id }), _) => calls::hangup(&ctx, &call_id).await,
            (None, Some(to)) => calls::call(&ctx, &to, args.video).await,
            (None, None) => anyhow::bail!("whom to call? `zynk call @user`"),
        },
        Command::Calls { limit } => calls::history(&ctx, limit).await,
        Command::Location { action } => location::run(&ctx, action).await,
    }
}
