//! The SDK's side of the ledger: contacts' identity keys checked against
//! their DIDs, and every newer signed head checked for consistency with the
//! last one seen — a server that rewrites history is caught.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Backend, TestServer, unique};
use zynk_sdk::{Messenger, SdkError};

/// One ledger key for two servers with different histories.
const LEDGER_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

backend_tests!(clients_check_identities_and_heads_against_the_ledger);

async fn register(server: &TestServer, dir: &Path) -> Messenger {
    Messenger::register(
        &server.url,
        dir,
        "passphrase",
        &unique("u"),
        "correct horse battery",
        "laptop",
    )
    .await
    .unwrap()
}

/// Waits until `user`'s identity is confirmed on the ledger as `m` trusts it
/// (the writer seals every 100 ms).
async fn confirmed(m: &mut Messenger, user: zynk_proto::UserId) {
    let mut last = None;
    for _ in 0..100 {
        match m.check_identity_on_ledger(user).await {
            Ok(()) => return,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("identity of {user} never confirmed: {last:?}");
}

async fn clients_check_identities_and_heads_against_the_ledger(b: Backend) {
    let ledger = |c: &mut zynk_server::Config| {
        c.ledger_interval_ms = 100;
        c.ledger_key = Some(LEDGER_KEY.into());
    };
    let server = TestServer::start(b, ledger).await;
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut alice = register(&server, dirs[0].path()).await;
    let bob = register(&server, dirs[1].path()).await;
    let bob_id = bob.user_id();

    // Bob's identity key, as alice trusts it, is the one on the public ledger.
    confirmed(&mut alice, bob_id).await;
    let first = alice.check_ledger().await.unwrap();
    assert!(first.size >= 2, "two registrations sealed: {first:?}");

    // A newer head is accepted once proved consistent with the old one.
    let _carol = register(&server, dirs[2].path()).await;
    let mut grown = first.clone();
    for _ in 0..100 {
        grown = alice.check_ledger().await.unwrap();
        if grown.size > first.size {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(grown.size > first.size, "the log grew");

    // Another server with the same ledger key but a different history: its
    // heads verify as signatures, but are not consistent with what alice saw.
    let other = TestServer::start(Backend::Embedded, ledger).await;
    let mut stranger = register(&other, dirs[3].path()).await;
    let stranger_id = stranger.user_id();
    confirmed(&mut stranger, stranger_id).await;
    drop(alice);
    let profile = dirs[0].path().join("profile.json");
    let mut info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    info["server"] = serde_json::Value::String(other.url.clone());
    std::fs::write(&profile, serde_json::to_vec(&info).unwrap()).unwrap();
    let mut alice = Messenger::open(dirs[0].path(), "passphrase").unwrap();
    match alice.check_ledger().await {
        Err(SdkError::Ledger(msg)) => assert!(msg.contains("INCONSISTENT"), "{msg}"),
        other => panic!("a rewritten history must be refused: {other:?}"),
    }
}
