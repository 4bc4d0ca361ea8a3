//! `zynkd`: the Zynk server binary.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use zynk_server::{AppState, Config};

#[derive(Parser)]
#[command(
    name = "zynkd",
    version,
    about = "The Zynk server. With no command: serve."
)]
struct Cli {
    /// Configuration file (default: ./zynk.toml if it exists).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and prepare partitions, then exit.
    Migrate,
    /// Print the default configuration, commented.
    Config,
    /// Ledger tools.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Re-check the whole ledger in {data_dir}/ledger (blocks, signatures,
    /// Merkle tree, identity state); exit 1 naming the bad key on failure.
    Verify,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Config) = cli.command {
        print!("{}", zynk_server::config::DEFAULT_TOML);
        return Ok(());
    }
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("ZYNK_"))
        .collect();
    let config = Config::load(cli.config.as_deref(), &env)?;
    tracing_subscriber::fmt()
        .with_env_filter(config.log.as_str())
        .init();
    tracing::debug!(config = ?config, "configuration");
    match cli.command {
        Some(Command::Ledger(LedgerCommand::Verify)) => verify_ledger(&config),
        Some(Command::Migrate) => {
            AppState::build(config).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        _ => {
            let listener = TcpListener::bind(config.listen).await.with_context(|| {
                format!("cannot listen on {} (listen / ZYNK_LISTEN)", config.listen)
            })?;
            let state = AppState::build(config).await?;
            tracing::info!(addr = %listener.local_addr()?, realtime = state.realtime.backend(), "zynkd listening");
            zynk_server::serve(state, listener, shutdown_signal()).await
        }
    }
}

/// `zynkd ledger verify`. Stop the writer first: LevelDB admits one process.
fn verify_ledger(config: &Config) -> anyhow::Result<()> {
    let mut ledger = zynk_server::ledger::open_direct(config)?;
    match ledger.verify() {
        Ok(r) => {
            println!(
                "ledger ok: {} blocks, {} transactions, {} identities, {} anchor batches, {} nodes, root {}",
                r.blocks,
                r.transactions,
                r.identities,
                r.anchors,
                r.nodes,
                zynk_ledger::hex::encode(&r.root)
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("ledger verification FAILED: {e}");
            std::process::exit(1);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
