//! Message anchors: the writer anchors new messages' ciphertext hashes, a
//! participant fetches a message's proof bundle and verifies it offline with
//! `zynk_ledger::verify_message_proof`; outsiders get 404, and tampering with
//! any part of the bundle makes verification fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, TestServer, outgoing, uid, user};
use ed25519_dalek::VerifyingKey;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zynk_ledger::{Hash, MessageProof, MessageProofError, verify_message_proof};
use zynk_proto::MessageId;
use zynk_sdk::Client;

backend_tests!(
    anchored_messages_have_offline_verifiable_proofs,
    not_anchored_is_409_and_a_crashed_anchor_is_recorded_once,
);

fn token(c: &Client) -> String {
    c.tokens().unwrap().session_token.expose().to_owned()
}

async fn get_proof(server: &TestServer, as_: &Client, id: MessageId) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/v1/messages/{}/proof", server.url, id.0))
        .bearer_auth(token(as_))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status >= 400 {
        let ct = r.headers().get("content-type").unwrap().to_str().unwrap();
        assert_eq!(ct, "application/problem+json");
    }
    (status, r.json().await.unwrap())
}

/// Polls until the message is anchored (10 s at most).
async fn anchored(server: &TestServer, as_: &Client, id: MessageId) -> Value {
    for _ in 0..200 {
        let (status, body) = get_proof(server, as_, id).await;
        match status {
            200 => return body,
            409 => assert_eq!(
                body["type"].as_str().unwrap().rsplit('/').next(),
                Some("not-anchored"),
                "{body}"
            ),
            _ => panic!("{status}: {body}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id:?} not anchored");
}

fn hex32(v: &Value) -> Hash {
    zynk_ledger::hex::decode32(v.as_str().unwrap()).unwrap()
}

fn b64_32(v: &Value) -> Hash {
    STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// The bundle's parts, decoded.
#[derive(Clone)]
struct Parts {
    leaf_index: u64,
    batch_size: u64,
    path: Vec<Hash>,
    root: Hash,
    tx: Vec<u8>,
    tx_index: u64,
    size: u64,
    inclusion: Vec<Hash>,
    checkpoint: String,
}

impl Parts {
    fn of(b: &Value) -> Self {
        Self {
            leaf_index: b["leaf_index"].as_u64().unwrap(),
            batch_size: b["batch_size"].as_u64().unwrap(),
            path: b["batch_path"]
                .as_array()
                .unwrap()
                .iter()
                .map(hex32)
                .collect(),
            root: hex32(&b["merkle_root"]),
            tx: STANDARD
                .decode(b["transaction"]["bytes_base64"].as_str().unwrap())
                .unwrap(),
            tx_index: b["transaction"]["leaf_index_in_log"].as_u64().unwrap(),
            size: b["inclusion_proof"]["size"].as_u64().unwrap(),
            inclusion: b["inclusion_proof"]["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(b64_32)
                .collect(),
            checkpoint: b["block"]["checkpoint"].as_str().unwrap().to_owned(),
        }
    }

    fn verify(
        &self,
        id: MessageId,
        content: &Hash,
        key: &VerifyingKey,
    ) -> Result<zynk_ledger::Checkpoint, MessageProofError> {
        let p = MessageProof {
            leaf_index: self.leaf_index,
            batch_size: self.batch_size,
            batch_path: &self.path,
            merkle_root: &self.root,
            tx_bytes: &self.tx,
            tx_index: self.tx_index,
            log_size: self.size,
            inclusion_proof: &self.inclusion,
            checkpoint: &self.checkpoint,
        };
        verify_message_proof(&p, id.0.as_bytes(), content, key)
    }
}

/// Flips a bit of the signature in a signed note.
fn flip_signature(note: &str) -> String {
    let (head, b64) = note.trim_end().rsplit_once(' ').unwrap();
    let mut raw = STANDARD.decode(b64).unwrap();
    raw[10] ^= 1;
    format!("{head} {}\n", STANDARD.encode(raw))
}

async fn anchored_messages_have_offline_verifiable_proofs(backend: Backend) {
    let server = TestServer::start(backend, |c| c.ledger_interval_ms = 100).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (carol, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(
            alice
                .send_message(conv.id, &outgoing(text))
                .await
                .unwrap()
                .id,
        );
    }
    sent.push(
        bob.send_message(conv.id, &outgoing("four"))
            .await
            .unwrap()
            .id,
    );

    let (status, key) = {
        let r = reqwest::get(format!("{}/v1/ledger/key", server.url))
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    let key_bytes: [u8; 32] = b64_32(&key["public_key"]);
    let key = VerifyingKey::from_bytes(&key_bytes).unwrap();

    // What bob received: the content hash recomputed from the ciphertext.
    let page = bob.messages(conv.id, None, Some(100)).await.unwrap();
    for &id in &sent {
        let m = page.messages.iter().find(|m| m.id == id).unwrap();
        let ciphertext = STANDARD
            .decode(m.encrypted_content.as_deref().unwrap())
            .unwrap();
        let content: Hash = Sha256::digest(&ciphertext).into();
        let bundle = anchored(&server, &bob, id).await;
        assert_eq!(bundle["message_id"], id.0.to_string());
        assert_eq!(bundle["content_hash"], zynk_ledger::hex::encode(&content));
        assert_eq!(bundle["ledger_public_key"], STANDARD.encode(key_bytes));
        assert_eq!(
            hex32(&bundle["commitment"]),
            zynk_ledger::message_commitment(id.0.as_bytes(), &content)
        );
        let parts = Parts::of(&bundle);
        let cp = parts.verify(id, &content, &key).unwrap();
        assert_eq!(cp.number, bundle["block"]["number"].as_u64().unwrap());
        // The sender gets the same bundle.
        let (status, same) = get_proof(&server, &alice, id).await;
        assert_eq!((status, &same), (200, &bundle));
    }

    // Outsiders, unknown messages: 404.
    let (status, body) = get_proof(&server, &carol, sent[0]).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = get_proof(&server, &bob, MessageId::new()).await;
    assert_eq!(status, 404);

    // Tampering with any part fails verification.
    let id = sent[1];
    let bundle = anchored(&server, &bob, id).await;
    let good = Parts::of(&bundle);
    let content = hex32(&bundle["content_hash"]);
    good.verify(id, &content, &key).unwrap();
    let mut other = content;
    other[0] ^= 1;
    assert!(good.verify(id, &other, &key).is_err(), "content hash");
    assert!(good.verify(sent[0], &content, &key).is_err(), "message id");
    let mut t = good.clone();
    t.path[0][3] ^= 1;
    assert!(t.verify(id, &content, &key).is_err(), "path");
    let mut t = good.clone();
    t.root[0] ^= 1;
    assert!(t.verify(id, &content, &key).is_err(), "root");
    let mut t = good.clone();
    let n = t.tx.len();
    t.tx[n - 1] ^= 1;
    assert!(t.verify(id, &content, &key).is_err(), "tx bytes");
    let mut t = good.clone();
    t.checkpoint = flip_signature(&t.checkpoint);
    assert!(t.verify(id, &content, &key).is_err(), "block signature");
    let mut t = good.clone();
    if let Some(h) = t.inclusion.first_mut() {
        h[0] ^= 1;
    } else {
        t.tx_index += 1;
    }
    assert!(t.verify(id, &content, &key).is_err(), "inclusion proof");

    // A later message is anchored in a later batch; the anchors stay put.
    let late = alice
        .send_message(conv.id, &outgoing("five"))
        .await
        .unwrap()
        .id;
    let later = anchored(&server, &alice, late).await;
    assert_ne!(later["merkle_root"], bundle["merkle_root"]);
    let (_, again) = get_proof(&server, &bob, id).await;
    assert_eq!(again, bundle);
    server.stop().await;
}

/// Crash between the block and the SQL rows: the block of the exact batch
/// the writer would build is appended by hand ("the crashed run"); the next
/// run finds it in the log and only records it, with no second block.
async fn not_anchored_is_409_and_a_crashed_anchor_is_recorded_once(backend: Backend) {
    // The writer's first tick runs at start (nothing to do), the next in an hour.
    let server = TestServer::start(backend, |c| c.ledger_interval_ms = 3_600_000).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    // Seals the registrations; no message to anchor yet.
    assert!(zynk_server::ledger::writer::run_once(&server.state).await);
    let a = alice
        .send_message(conv.id, &outgoing("a"))
        .await
        .unwrap()
        .id;
    let b = bob.send_message(conv.id, &outgoing("b")).await.unwrap().id;
    let (status, body) = get_proof(&server, &bob, a).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["type"].as_str().unwrap().ends_with("not-anchored"),
        "{body}"
    );

    let queue = server
        .state
        .store
        .unanchored_messages(10_000)
        .await
        .unwrap();
    assert_eq!(queue.iter().map(|m| m.0).collect::<Vec<_>>(), vec![a, b]);
    let commitments: Vec<Hash> = queue
        .iter()
        .map(|(id, _, h)| {
            let h = zynk_ledger::hex::decode32(h).unwrap();
            zynk_ledger::message_commitment(id.0.as_bytes(), &h)
        })
        .collect();
    let tx = zynk_ledger::Transaction::MessageAnchor {
        merkle_root: zynk_ledger::anchor_batch(&commitments).0,
        message_count: 2,
        first_timestamp: queue[0].1.timestamp_millis(),
        last_timestamp: queue[1].1.timestamp_millis(),
    };
    let crashed = server
        .state
        .ledger
        .with(move |slot| {
            let l = slot.open().unwrap();
            let time = l.head().unwrap().map_or(0, |h| h.time);
            let batch = zynk_ledger::AnchorBatch::new(commitments);
            l.append_block_with_anchors(&[tx], &[batch], time)
                .unwrap()
                .number
        })
        .await
        .unwrap();
    assert_eq!(get_proof(&server, &bob, a).await.0, 409);

    assert!(zynk_server::ledger::writer::run_once(&server.state).await);
    for id in [a, b] {
        let (status, bundle) = get_proof(&server, &alice, id).await;
        assert_eq!(status, 200, "{bundle}");
        assert_eq!(bundle["block"]["number"].as_u64(), Some(crashed));
        assert_eq!(bundle["batch_size"], 2);
    }
    // No second block, nothing left to anchor.
    let head = server
        .state
        .ledger
        .with(|slot| slot.open().unwrap().head().unwrap().unwrap().number)
        .await
        .unwrap();
    assert_eq!(head, crashed);
    assert!(
        server
            .state
            .store
            .unanchored_messages(10)
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}
