//! The test harness: a real `zynkd` (the library's `serve`) on a loopback
//! port, on either backend pair, and SDK clients talking to it.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use zynk_proto::{NewDevice, Platform, Register, Secret};
use zynk_sdk::Client;
use zynk_server::{AppState, Config};

/// Which backends a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite + in-process realtime (the embedded default).
    Embedded,
    /// PostgreSQL + Redis (production).
    Production,
}

/// The URLs of the production leg: `Some` when `ZYNK_TEST_POSTGRES_URL` and
/// `ZYNK_TEST_REDIS_URL` are set. With `ZYNK_TEST_REQUIRE_BACKENDS=1` (CI)
/// their absence fails the test instead of skipping the leg.
pub fn production_urls() -> Option<(String, String)> {
    let pg = std::env::var("ZYNK_TEST_POSTGRES_URL").ok();
    let redis = std::env::var("ZYNK_TEST_REDIS_URL").ok();
    match (pg, redis) {
        (Some(p), Some(r)) => Some((p, r)),
        _ if std::env::var("ZYNK_TEST_REQUIRE_BACKENDS").as_deref() == Ok("1") => {
            panic!(
                "ZYNK_TEST_REQUIRE_BACKENDS=1 but ZYNK_TEST_POSTGRES_URL / ZYNK_TEST_REDIS_URL are not both set"
            )
        }
        _ => {
            eprintln!(
                "production leg skipped: ZYNK_TEST_POSTGRES_URL / ZYNK_TEST_REDIS_URL not set"
            );
            None
        }
    }
}

/// Runs a test function once per backend pair.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::Backend::Embedded).await })*
        }
        mod production {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if $crate::common::production_urls().is_some() {
                    super::$name($crate::common::Backend::Production).await
                }
            })*
        }
    };
}

/// A configuration for tests on `backend`: fast hashing, fresh storage.
pub async fn config(backend: Backend, dir: &std::path::Path) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        pbkdf2_iterations: 1000,
        log: "warn".into(),
        ..Config::default()
    };
    if backend == Backend::Production {
        let (pg, redis) = production_urls().expect("production leg");
        c.database_url = Some(
            zynk_store::testing::fresh_postgres(&pg)
                .await
                .expect("fresh database"),
        );
        c.redis_url = Some(redis);
        c.redis_key_prefix = format!("t{}:", uuid::Uuid::new_v4().simple());
    }
    c
}

/// A running server.
pub struct TestServer {
    pub url: String,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on `backend`, after `tweak` adjusts the configuration.
    pub async fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(backend, dir.path()).await;
        tweak(&mut c);
        let mut s = Self::with_config(c).await;
        s._dir = Some(dir);
        s
    }

    /// Starts a server with exactly this configuration.
    pub async fn with_config(config: Config) -> Self {
        let listener = TcpListener::bind(config.listen).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::build(config).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(zynk_server::serve(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        Self {
            url,
            state,
            stop: Some(stop),
            task,
            _dir: None,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A unique name with `prefix`.
pub fn unique(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{prefix}{}{}",
        &random[..12],
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// The Ed25519 base point: a valid identity public key.
pub const IDENTITY_KEY: &str = "WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=";
/// 32 bytes of base64, a device key.
pub const DEVICE_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

pub fn device(name: &str) -> NewDevice {
    NewDevice {
        name: name.into(),
        fingerprint: unique("fp-"),
        platform: Platform::Cli,
        public_key: DEVICE_KEY.into(),
        push_token: None,
    }
}

pub fn registration(username: &str) -> Register {
    Register {
        username: username.into(),
        password: Secret("correct horse battery".into()),
        identity_key: IDENTITY_KEY.into(),
        device: device("laptop"),
    }
}

/// A registered, logged-in client with a fresh username.
pub async fn user(server: &TestServer) -> (Client, Register) {
    let mut c = server.client();
    let reg = registration(&unique("user"));
    c.register(&reg).await.unwrap();
    (c, reg)
}

/// Logs `reg`'s user in again from a new device; returns that client.
pub async fn second_device(server: &TestServer, reg: &Register, name: &str) -> Client {
    let mut c = server.client();
    c.login(&zynk_proto::Login {
        username: reg.username.clone(),
        password: reg.password.clone(),
        device: device(name),
    })
    .await
    .unwrap();
    c
}

/// The user id of a logged-in client.
pub fn uid(c: &Client) -> zynk_proto::UserId {
    c.tokens().unwrap().user_id
}

/// Waits (up to 10 s) for the first frame matching `pred`, skipping others.
pub async fn expect_frame(
    ws: &mut zynk_sdk::Connection,
    what: &str,
    mut pred: impl FnMut(&zynk_proto::ServerFrame) -> bool,
) -> zynk_proto::ServerFrame {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_timeout(left).await {
            Ok(Some(f)) if pred(&f) => return f,
            Ok(Some(_)) => {}
            other => panic!("waiting for {what}: {other:?}"),
        }
    }
}

/// Asserts that no frame matching `pred` arrives within `wait`.
pub async fn expect_no_frame(
    ws: &mut zynk_sdk::Connection,
    wait: std::time::Duration,
    mut pred: impl FnMut(&zynk_proto::ServerFrame) -> bool,
) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        match ws.next_timeout(left).await {
            Ok(Some(f)) => assert!(!pred(&f), "unexpected frame {f:?}"),
            Ok(None) => return,
            Err(e) if e.is_timeout() => return,
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Receives `message.new` frames until `n` distinct messages have arrived
/// (duplicates on the wire are dropped, as the SDK's inbox does), acking each.
pub async fn receive_messages(ws: &mut zynk_sdk::Connection, n: usize) -> Vec<zynk_proto::Message> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while out.len() < n {
        let f = expect_frame(ws, &format!("message {} of {n}", out.len() + 1), |f| {
            matches!(f, zynk_proto::ServerFrame::MessageNew { .. })
        })
        .await;
        if let zynk_proto::ServerFrame::MessageNew { message } = f {
            ws.ack(vec![message.id.0]).await.unwrap();
            if seen.insert(message.id) {
                out.push(message);
            }
        }
    }
    out
}

/// An opaque "ciphertext" for tests.
pub fn outgoing(text: &str) -> zynk_proto::SendMessage {
    zynk_sdk::outgoing(text.as_bytes(), zynk_proto::MessageType::Text)
}
