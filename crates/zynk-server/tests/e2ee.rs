//! End-to-end encryption through a real `zynkd` with the SDK's `Messenger`:
//! two users with two devices each, 1:1 both ways, a group of four with a
//! member added and one removed, and the server never seeing plaintext.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Backend, TestServer, unique};
use zynk_proto::{CreateGroup, ServerFrame};
use zynk_sdk::{Connection, Incoming, Messenger, SdkError};

const PASS: &str = "correct horse battery staple";

backend_tests!(
    two_users_two_devices_and_a_group,
    tampering_replay_and_unknown_devices,
    state_survives_restart_and_keys_replenish
);

async fn register(server: &TestServer, dir: &Path, name: &str) -> Messenger {
    Messenger::register(&server.url, dir, "passphrase", name, PASS, "laptop")
        .await
        .unwrap()
}

/// Reads frames, lets the messenger handle them and acks, until `want`
/// messages were decrypted (or `extra` time passed after that, to catch surprises).
async fn pump(m: &mut Messenger, ws: &mut Connection, want: usize) -> Vec<Incoming> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while out.len() < want {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = match ws.next_timeout(left).await {
            Ok(Some(f)) => f,
            other => panic!(
                "{:?}: waiting for message {} of {want}: {other:?}",
                m,
                out.len() + 1
            ),
        };
        let ids: Vec<uuid::Uuid> = match &frame {
            ServerFrame::MessageNew { message } => vec![message.id.0],
            ServerFrame::DeviceMessage { message } => vec![message.id.0],
            _ => Vec::new(),
        };
        out.extend(m.handle(&frame).await.unwrap());
        if !ids.is_empty() {
            ws.ack(ids).await.unwrap();
        }
    }
    out
}

/// A second device of `m`'s user, approved by `m`.
async fn linked_device(server: &TestServer, m: &mut Messenger, dir: &Path) -> Messenger {
    let mut second = Messenger::login(
        &server.url,
        dir,
        "passphrase",
        &m.info().username,
        PASS,
        "phone",
    )
    .await
    .unwrap();
    assert!(!second.is_approved());
    assert!(matches!(
        second
            .send_text(zynk_proto::ConversationId::new(), "x")
            .await,
        Err(SdkError::NotApproved)
    ));
    let pending = m.pending_devices().await.unwrap();
    assert_eq!(pending.len(), 1);
    m.approve_device(second.device_id()).await.unwrap();
    let mut ws = second.client().connect().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !second.is_approved() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let f = ws.next_timeout(left).await.unwrap().expect("open");
        second.handle(&f).await.unwrap();
        if let ServerFrame::DeviceMessage { message } = &f {
            ws.ack(vec![message.id.0]).await.unwrap();
        }
    }
    ws.close().await.unwrap();
    assert!(
        m.pending_devices().await.unwrap().is_empty(),
        "now signed and verified"
    );
    second
}

fn texts(v: &[Incoming]) -> Vec<&str> {
    v.iter().map(|i| i.text.as_str()).collect()
}

async fn two_users_two_devices_and_a_group(b: Backend) {
    let server = TestServer::start(b, |c| c.ratelimit_auth_per_hour = 1000).await;
    let dirs: Vec<_> = (0..7).map(|_| tempfile::tempdir().unwrap()).collect();
    let (an, bn) = (unique("alice"), unique("bob"));
    let mut alice = register(&server, dirs[0].path(), &an).await;
    let mut bob = register(&server, dirs[1].path(), &bn).await;
    let mut alice2 = linked_device(&server, &mut alice, dirs[2].path()).await;
    let mut bob2 = linked_device(&server, &mut bob, dirs[3].path()).await;
    let secret = |s: &str| format!("{s}-{}", uuid::Uuid::new_v4());
    let mut plaintexts = Vec::new();

    let conv = alice
        .client()
        .create_conversation(bob.user_id())
        .await
        .unwrap();
    let (mut ws_a, mut ws_a2, mut ws_b, mut ws_b2) = (
        alice.client().connect().await.unwrap(),
        alice2.client().connect().await.unwrap(),
        bob.client().connect().await.unwrap(),
        bob2.client().connect().await.unwrap(),
    );
    let hello = secret("hello bob");
    plaintexts.push(hello.clone());
    alice.send_text(conv.id, &hello).await.unwrap();
    for (m, ws) in [
        (&mut bob, &mut ws_b),
        (&mut bob2, &mut ws_b2),
        (&mut alice2, &mut ws_a2),
    ] {
        assert_eq!(texts(&pump(m, ws, 1).await), vec![hello.as_str()]);
    }
    let reply = secret("hi alice");
    plaintexts.push(reply.clone());
    bob2.send_text(conv.id, &reply).await.unwrap();
    for (m, ws) in [
        (&mut alice, &mut ws_a),
        (&mut alice2, &mut ws_a2),
        (&mut bob, &mut ws_b),
    ] {
        assert_eq!(texts(&pump(m, ws, 1).await), vec![reply.as_str()]);
    }
    let sn_a = alice.safety_number(bob.user_id()).await.unwrap();
    assert_eq!(sn_a, bob.safety_number(alice.user_id()).await.unwrap());
    assert_eq!(sn_a.replace(' ', "").len(), 60);

    // A group: alice, bob, carol; then dave joins and carol is removed.
    let mut carol = register(&server, dirs[4].path(), &unique("carol")).await;
    let mut dave = register(&server, dirs[5].path(), &unique("dave")).await;
    let mut ws_c = carol.client().connect().await.unwrap();
    let mut ws_d = dave.client().connect().await.unwrap();
    let group = alice
        .client()
        .create_group(&CreateGroup {
            name: "four".into(),
            description: None,
            avatar_url: None,
            member_ids: vec![bob.user_id(), carol.user_id()],
        })
        .await
        .unwrap();
    let g1 = secret("group one");
    plaintexts.push(g1.clone());
    alice.send_text(group.id, &g1).await.unwrap();
    for (m, ws) in [
        (&mut bob, &mut ws_b),
        (&mut bob2, &mut ws_b2),
        (&mut carol, &mut ws_c),
        (&mut alice2, &mut ws_a2),
    ] {
        assert_eq!(texts(&pump(m, ws, 1).await), vec![g1.as_str()]);
    }
    alice
        .client()
        .add_member(group.id, dave.user_id())
        .await
        .unwrap();
    let g2 = secret("group two");
    plaintexts.push(g2.clone());
    bob.send_text(group.id, &g2).await.unwrap();
    for (m, ws) in [
        (&mut alice, &mut ws_a),
        (&mut carol, &mut ws_c),
        (&mut dave, &mut ws_d),
        (&mut bob2, &mut ws_b2),
        (&mut alice2, &mut ws_a2),
    ] {
        assert_eq!(texts(&pump(m, ws, 1).await), vec![g2.as_str()]);
    }
    // Dave cannot read what was sent before he joined.
    let history = dave.client().messages(group.id, None, None).await.unwrap();
    let first = history
        .messages
        .iter()
        .find(|m| m.created_at < history.messages[0].created_at)
        .unwrap()
        .clone();
    assert!(
        matches!(dave.decrypt(&first).await, Err(SdkError::MissingKey)),
        "a new member reads nothing earlier"
    );

    alice
        .client()
        .remove_member(group.id, carol.user_id())
        .await
        .unwrap();
    let g3 = secret("group three");
    plaintexts.push(g3.clone());
    alice.send_text(group.id, &g3).await.unwrap();
    for (m, ws) in [
        (&mut bob, &mut ws_b),
        (&mut dave, &mut ws_d),
        (&mut alice2, &mut ws_a2),
        (&mut bob2, &mut ws_b2),
    ] {
        assert_eq!(texts(&pump(m, ws, 1).await), vec![g3.as_str()]);
    }
    // Carol gets nothing from the server, and could not read it anyway: the session rotated.
    common::expect_no_frame(&mut ws_c, Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::MessageNew { .. })
    })
    .await;
    let latest = alice
        .client()
        .messages(group.id, None, Some(1))
        .await
        .unwrap()
        .messages
        .remove(0);
    assert!(
        matches!(carol.decrypt(&latest).await, Err(SdkError::MissingKey)),
        "removed member cannot decrypt"
    );

    // Nothing of any plaintext on the server: database, data directory, Redis.
    assert_no_plaintext(&server, &plaintexts, &an).await;
    // Nor in the clients' sealed profiles.
    for d in &dirs {
        assert_no_plaintext_in_dir(d.path(), &plaintexts);
    }
}

async fn tampering_replay_and_unknown_devices(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut alice = register(&server, dirs[0].path(), &unique("alice")).await;
    let mut bob = register(&server, dirs[1].path(), &unique("bob")).await;
    let conv = alice
        .client()
        .create_conversation(bob.user_id())
        .await
        .unwrap();
    alice.send_text(conv.id, "first").await.unwrap();
    let mut ws_b = bob.client().connect().await.unwrap();
    assert_eq!(texts(&pump(&mut bob, &mut ws_b, 1).await), vec!["first"]);
    let original = alice
        .client()
        .messages(conv.id, None, Some(1))
        .await
        .unwrap()
        .messages
        .remove(0);

    // Tampered: one byte of the ciphertext flipped.
    let mut tampered = original.clone();
    let mut bytes = base64_decode(tampered.encrypted_content.as_deref().unwrap());
    let n = bytes.len() - 10;
    bytes[n] ^= 0x01;
    tampered.encrypted_content = Some(base64_encode(&bytes));
    tampered.id = zynk_proto::MessageId::new();
    assert!(
        bob.decrypt(&tampered).await.is_err(),
        "tampered ciphertext refused"
    );

    // Replayed: the same ciphertext sent again as a new message.
    let replay = zynk_sdk::outgoing(
        &base64_decode(original.encrypted_content.as_deref().unwrap()),
        zynk_proto::MessageType::Text,
    );
    alice.client().send_message(conv.id, &replay).await.unwrap();
    let f = common::expect_frame(&mut ws_b, "replayed message", |f| {
        matches!(f, ServerFrame::MessageNew { .. })
    })
    .await;
    assert!(
        bob.handle(&f).await.is_err(),
        "a replayed message is refused"
    );

    // From an unknown device: alice's envelope claiming another sender device.
    let mut forged = original.clone();
    forged.id = zynk_proto::MessageId::new();
    forged.sender_device_id = Some(zynk_proto::DeviceId::new());
    assert!(matches!(
        bob.decrypt(&forged).await,
        Err(SdkError::UnknownDevice)
    ));

    // A device whose keys carry a bad signature is refused by the server.
    let mut mallory = register(&server, dirs[2].path(), &unique("mallory")).await;
    let me = mallory.user_id();
    let device = mallory.device_id();
    let mut keys = zynk_proto::DeviceKeys {
        user_id: me,
        device_id: device,
        curve25519: base64_encode(&[9u8; 32]),
        ed25519: base64_encode(&[8u8; 32]),
        signature: Some(base64_encode(&[7u8; 64])),
    };
    let e = mallory
        .client_mut()
        .upload_keys(&zynk_proto::UploadKeys {
            device_keys: Some(keys.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    keys.signature = None;
    let _ = keys;
}

async fn state_survives_restart_and_keys_replenish(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let an = unique("alice");
    let mut alice = register(&server, dirs[0].path(), &an).await;
    let mut bob = register(&server, dirs[1].path(), &unique("bob")).await;
    let conv = alice
        .client()
        .create_conversation(bob.user_id())
        .await
        .unwrap();
    alice.send_text(conv.id, "before restart").await.unwrap();
    let mut ws_b = bob.client().connect().await.unwrap();
    assert_eq!(
        texts(&pump(&mut bob, &mut ws_b, 1).await),
        vec!["before restart"]
    );
    let alice_id = alice.user_id();
    drop(alice);
    drop(bob);
    ws_b.close().await.unwrap();

    assert!(Messenger::open(dirs[0].path(), "wrong passphrase").is_err());
    let mut alice = Messenger::open(dirs[0].path(), "passphrase").unwrap();
    let mut bob = Messenger::open(dirs[1].path(), "passphrase").unwrap();
    assert_eq!(alice.user_id(), alice_id);
    bob.send_text(conv.id, "after restart").await.unwrap();
    alice.send_text(conv.id, "and back").await.unwrap();
    let mut ws_a = alice.client().connect().await.unwrap();
    let mut ws_b = bob.client().connect().await.unwrap();
    assert_eq!(
        texts(&pump(&mut alice, &mut ws_a, 1).await),
        vec!["after restart"]
    );
    assert_eq!(texts(&pump(&mut bob, &mut ws_b, 1).await), vec!["and back"]);

    // One-time keys: claims use them up; the client tops them up.
    let before = alice.replenish_keys().await.unwrap().one_time_keys;
    assert_eq!(before, zynk_sdk::e2ee::ONE_TIME_KEYS);
    for _ in 0..5 {
        bob.client()
            .claim_keys(&zynk_proto::ClaimKeys {
                user_id: alice_id,
                device_ids: None,
            })
            .await
            .unwrap();
    }
    let after = alice
        .client()
        .upload_keys(&zynk_proto::UploadKeys::default())
        .await
        .unwrap()
        .one_time_keys;
    assert_eq!(after, before - 5);
    assert_eq!(
        alice.replenish_keys().await.unwrap().one_time_keys,
        zynk_sdk::e2ee::ONE_TIME_KEYS
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// `grep -r -a -l -F` (fast, in C) over the raw bytes of every file below
/// `dirs`: whether any of `needles` occurs.
fn found_in(dirs: &[std::path::PathBuf], needles: &[String]) -> bool {
    let mut cmd = std::process::Command::new("grep");
    cmd.args(["-r", "-a", "-l", "-F"]);
    for p in needles {
        cmd.arg("-e").arg(p);
    }
    let out = cmd.args(dirs).output().unwrap();
    // grep: 0 = found, 1 = not found, 2 = trouble (e.g. unreadable files).
    assert_ne!(
        out.status.code(),
        Some(2),
        "grep failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(0) {
        eprintln!("found in: {}", String::from_utf8_lossy(&out.stdout));
    }
    out.status.code() == Some(0)
}

fn assert_no_plaintext_in_dir(dir: &Path, plaintexts: &[String]) {
    assert!(
        !found_in(&[dir.to_path_buf()], plaintexts),
        "plaintext found below {}",
        dir.display()
    );
}

/// The server's storage: data directory, and PostgreSQL's files of this database and its WAL.
fn storage_dirs(server: &TestServer) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![server.state.config.data_dir.clone()];
    if let Some(url) = &server.state.config.database_url
        && url.starts_with("postgres")
    {
        // Flush to disk, then read PostgreSQL's files.
        let out = std::process::Command::new("psql")
            .arg(url)
            .arg("-tAc")
            .arg("CHECKPOINT")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let q = "SELECT current_setting('data_directory') || '/base/' || oid FROM pg_database WHERE datname = current_database()";
        let dir = std::process::Command::new("psql")
            .arg(url)
            .arg("-tAc")
            .arg(q)
            .output()
            .unwrap();
        let dir = std::path::PathBuf::from(String::from_utf8(dir.stdout).unwrap().trim());
        assert!(
            dir.is_dir(),
            "cannot read PostgreSQL's database directory {}",
            dir.display()
        );
        let wal = dir.parent().and_then(Path::parent).unwrap().join("pg_wal");
        dirs.push(dir);
        dirs.push(wal);
    }
    dirs
}

/// Searches the raw bytes of the server's storage for any plaintext. The
/// search itself is checked: a username (stored in clear) must be found.
async fn assert_no_plaintext(server: &TestServer, plaintexts: &[String], control: &str) {
    let dirs = storage_dirs(server);
    assert!(
        found_in(&dirs, &[control.to_owned()]),
        "the search does not see the database (control {control:?})"
    );
    assert!(
        !found_in(&dirs, plaintexts),
        "plaintext found in the server's storage"
    );
    if let Some(url) = &server.state.config.redis_url {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", server.state.config.redis_key_prefix))
            .query_async(&mut con)
            .await
            .unwrap();
        for k in keys {
            let dump: Option<Vec<u8>> = redis::cmd("DUMP")
                .arg(&k)
                .query_async(&mut con)
                .await
                .unwrap();
            let dump = dump.unwrap_or_default();
            for p in plaintexts {
                assert!(!contains(&dump, p), "plaintext in redis key {k}");
            }
        }
    }
}
