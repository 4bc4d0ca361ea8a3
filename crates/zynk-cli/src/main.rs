//! `zynk`, the command-line client of Zynk: a thin layer over `zynk-sdk`'s
//! `Messenger` (end-to-end encryption, sealed local profile).
//!
//! Layout: `cli` (the clap definitions), `context` (profile, lock,
//! secrets), `names` (arguments ↔ ids), `output` (text or JSON lines),
//! `progress` (a transfer's progress bar on a terminal),
//! `commands/` (one module per group of commands).

mod cli;
mod commands;
mod context;
mod names;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;
use zynk_sdk::SdkError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zynk: error: {e:#}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A suggestion for errors whose cure is not obvious from the message.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    let sdk = e.chain().find_map(|c| c.downcast_ref::<SdkError>())?;
    match sdk {
        SdkError::Api { status: 401, .. } => Some(
            "the session is no longer valid (logged out, or the device was removed): \
             run `zynk logout`, then `zynk login <username>`",
        ),
        SdkError::Http(_) => Some("is the server running? check --server / ZYNK_SERVER"),
        SdkError::NotApproved => Some(
            "approve this device from an existing one (`zynk devices approve <device-id>`), \
             then run `zynk listen --once` here",
        ),
        _ => None,
    }
}
