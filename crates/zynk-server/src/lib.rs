//! The Zynk server (`zynkd`).
//!
//! Layout:
//! - `config`      — the one `Config` struct: defaults → zynk.toml → `ZYNK_*`.
//! - `state`       — `AppState`: config, store, realtime, token key, hasher.
//! - `blobs`       — `Blobs`: file objects in a local directory or S3.
//! - `error`       — `ApiError`, rendered as `application/problem+json`.
//! - `extract`     — extractors: JSON bodies, path ids, `Auth`, client IP.
//! - `validate`    — field rules (usernames, keys, text, URLs).
//! - `auth/`       — password hashing (PBKDF2, PHC) and tokens (JWT, refresh).
//! - `ops/`        — use cases, one function each, shared by HTTP and WebSocket.
//! - `http/`       — the route table, handlers, rate limits, OpenAPI.
//! - `realtime/`   — the hub of connected devices and cross-instance fan-out.
//! - `lifecycle`   — message lifecycle scheduler and presence heartbeats.
//! - `maintenance` — periodic housekeeping.
//! - `files_jobs`  — expired files and orphaned objects (§8.2).
//! - `push/`       — push notifications to devices that are not connected.
//! - `ledger/`     — the ledger thread, its key, and the block writer.
//!
//! Architecture invariants: only this crate knows HTTP status codes; handlers
//! hold no SQL and call one `ops` function; secrets never reach logs.

pub mod auth;
pub mod blobs;
pub mod config;
pub mod error;
pub mod extract;
pub mod files_jobs;
pub mod http;
pub mod ledger;
pub mod lifecycle;
pub mod maintenance;
pub mod ops;
pub mod push;
pub mod realtime;
pub mod state;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use config::Config;
pub use state::AppState;

/// Serves the API on `listener` until `shutdown` resolves; runs maintenance,
/// the lifecycle scheduler, presence heartbeats and the fan-out dispatcher
/// in the background meanwhile.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tasks = [
        tokio::spawn(maintenance::run_forever(state.clone())),
        tokio::spawn(lifecycle::run_forever(state.clone())),
        tokio::spawn(files_jobs::run_forever(state.clone())),
        tokio::spawn(ops::calls::run_forever(state.clone())),
        tokio::spawn(lifecycle::heartbeat(state.clone())),
        tokio::spawn(realtime::fanout::dispatch(state.clone())),
        tokio::spawn(ledger::writer::run_forever(state.clone())),
    ];
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    for task in tasks {
        task.abort();
    }
    Ok(result?)
}
