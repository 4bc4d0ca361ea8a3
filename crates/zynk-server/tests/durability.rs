//! Delivery guarantees under failure: `kill -9` of the server mid-stream,
//! a flushed Redis, and two instances sharing PostgreSQL and Redis.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Backend, TestServer, config, outgoing, production_urls, receive_messages, uid, user};
use zynk_proto::{MessageId, ServerFrame};
use zynk_sdk::Client;

/// A `zynkd` process.
struct Zynkd {
    child: Child,
    env: Vec<(String, String)>,
}

impl Zynkd {
    fn spawn(env: Vec<(String, String)>) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zynkd"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ZYNK_")) {
            cmd.env_remove(k);
        }
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, env }
    }

    fn kill9(&mut self) {
        // SIGKILL: no shutdown path runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self) {
        *self = Self::spawn(self.env.clone());
    }
}

impl Drop for Zynkd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(url: &str) {
    let c = Client::new(url);
    for _ in 0..200 {
        if c.raw("GET", "/readyz", None, Vec::new())
            .await
            .is_ok_and(|r| r.status == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("zynkd at {url} did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

backend_tests!(exactly_once_across_kill_9);

/// Alice sends 120 messages (retrying each until acknowledged) while the
/// server is killed with SIGKILL and restarted; bob, reconnecting as needed,
/// ends with every acknowledged message exactly once and nothing else.
async fn exactly_once_across_kill_9(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let c = config(b, dir.path()).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut env = vec![
        ("ZYNK_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
        ("ZYNK_DATA_DIR".to_owned(), dir.path().display().to_string()),
        ("ZYNK_PBKDF2_ITERATIONS".to_owned(), "1000".to_owned()),
        ("ZYNK_LOG".to_owned(), "warn".to_owned()),
    ];
    if let Some(db) = &c.database_url {
        env.push(("ZYNK_DATABASE_URL".into(), db.clone()));
    }
    if let Some(r) = &c.redis_url {
        env.push(("ZYNK_REDIS_URL".into(), r.clone()));
        env.push(("ZYNK_REDIS_KEY_PREFIX".into(), c.redis_key_prefix.clone()));
    }
    let mut server = Zynkd::spawn(env);
    wait_ready(&url).await;
    let mut alice = Client::new(&url);
    alice
        .register(&common::registration(&common::unique("alice")))
        .await
        .unwrap();
    let mut bob = Client::new(&url);
    bob.register(&common::registration(&common::unique("bob")))
        .await
        .unwrap();
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();

    const N: usize = 120;
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sender = {
        let alice = alice.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..N {
                let m = outgoing(&format!("durable {i}"));
                loop {
                    match alice.send_message(conv.id, &m).await {
                        Ok(s) => {
                            acked.push(s.id);
                            progress.store(acked.len(), std::sync::atomic::Ordering::SeqCst);
                            break;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
            acked
        })
    };
    let receiver = {
        let bob = bob.clone();
        tokio::spawn(async move {
            let mut seen: HashSet<MessageId> = HashSet::new();
            let mut order = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while seen.len() < N && tokio::time::Instant::now() < deadline {
                let Ok(mut ws) = bob.connect().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                while let Ok(Some(f)) = ws.next_timeout(Duration::from_secs(2)).await {
                    if let ServerFrame::MessageNew { message } = f {
                        if ws.ack(vec![message.id.0]).await.is_err() {
                            break;
                        }
                        if seen.insert(message.id) {
                            order.push(message.id);
                        }
                        if seen.len() == N {
                            break;
                        }
                    }
                }
            }
            order
        })
    };
    // Kill mid-stream, twice: after 40 and after 80 acknowledged sends.
    for at in [40, 80] {
        while progress.load(std::sync::atomic::Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill9();
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.restart();
        wait_ready(&url).await;
    }
    let acked = sender.await.unwrap();
    let received = receiver.await.unwrap();
    assert_eq!(acked.len(), N);
    assert_eq!(
        acked.iter().collect::<HashSet<_>>().len(),
        N,
        "no retry created a second message"
    );
    assert_eq!(
        received.iter().collect::<HashSet<_>>(),
        acked.iter().collect::<HashSet<_>>(),
        "every acknowledged message, exactly once"
    );
    let mut history = Vec::new();
    let mut before = None;
    loop {
        let page = alice
            .messages(conv.id, before.as_deref(), Some(200))
            .await
            .unwrap();
        history.extend(page.messages.iter().map(|m| m.id));
        match page.next_before {
            Some(c) => before = Some(c),
            None => break,
        }
    }
    assert_eq!(history.len(), N, "the store holds each message once");
}

/// Flushing Redis loses nothing: undelivered messages come from the store,
/// sessions are re-validated against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushing_redis_loses_nothing() {
    let Some((_, redis_url)) = production_urls() else {
        return;
    };
    // A database of its own, so FLUSHDB touches no other test.
    let redis_url = format!("{}/9", redis_url.trim_end_matches('/'));
    let server = TestServer::start(Backend::Production, |c| {
        c.redis_url = Some(redis_url.clone())
    })
    .await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            alice
                .send_message(conv.id, &outgoing(&format!("before flush {i}")))
                .await
                .unwrap()
                .id,
        );
    }
    flushdb(&redis_url).await;
    let mut ws = bob.connect().await.unwrap();
    let got: Vec<_> = receive_messages(&mut ws, 20)
        .await
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(got, ids);
    flushdb(&redis_url).await;
    let after = alice
        .send_message(conv.id, &outgoing("after flush"))
        .await
        .unwrap();
    assert_eq!(receive_messages(&mut ws, 1).await[0].id, after.id);
    server.stop().await;
}

async fn flushdb(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut con).await.unwrap();
}

/// Two instances on one PostgreSQL and Redis: what is sent through one is
/// received in real time by a client connected to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_to_each_other() {
    if production_urls().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(Backend::Production, dir.path()).await;
    c.jwt_secret = Some("two instances share this secret, 32+ chars".into());
    let a = TestServer::with_config(c.clone()).await;
    let b = TestServer::with_config(c).await;
    let (alice, _) = user(&a).await;
    let (bob_on_a, _) = user(&a).await;
    let mut bob = b.client();
    bob.set_tokens(bob_on_a.tokens().cloned());
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut ws_bob = bob.connect().await.unwrap(); // on B
    let mut ws_alice = alice.connect().await.unwrap(); // on A
    let sent = alice
        .send_message(conv.id, &outgoing("across instances"))
        .await
        .unwrap();
    assert_eq!(receive_messages(&mut ws_bob, 1).await[0].id, sent.id);
    common::expect_frame(&mut ws_alice, "receipt via A", |f| {
        matches!(f, ServerFrame::Receipt { .. })
    })
    .await;
    ws_alice.typing(conv.id).await.unwrap();
    common::expect_frame(&mut ws_bob, "typing via B", |f| {
        matches!(f, ServerFrame::Typing { .. })
    })
    .await;
    a.stop().await;
    b.stop().await;
}
