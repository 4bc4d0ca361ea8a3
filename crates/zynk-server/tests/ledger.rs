//! The ledger in `zynkd`: registrations become confirmed identity
//! transactions, DID documents resolve with proofs that verify offline
//! against the signed head, failed transactions say why, several instances
//! have one writer, and `zynkd ledger verify` audits the LevelDB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, IDENTITY_KEY, TestServer, uid, user};
use ed25519_dalek::VerifyingKey;
use serde_json::Value;
use zynk_ledger::merkle::hash_leaf;
use zynk_ledger::{Checkpoint, Transaction, TxHash, verify_checkpoint};
use zynk_store::{IdentityRecord, NewLedgerTx};

backend_tests!(
    registrations_are_confirmed_and_dids_resolve,
    a_rejected_transaction_fails_with_a_reason,
    a_sealed_trust_score_update_sets_the_score,
    two_instances_on_one_ledger_have_one_writer,
);

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = r.json().await.unwrap();
    if status >= 400 {
        assert_eq!(ct.as_deref(), Some("application/problem+json"), "{path}");
    }
    (status, body)
}

/// Polls until `did` is mirrored as confirmed (10 s at most).
async fn confirmed(server: &TestServer, did: &str) -> IdentityRecord {
    for _ in 0..200 {
        if let Some(i) = server.state.store.ledger_identity(did).await.unwrap()
            && i.block_number.is_some()
        {
            return i;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{did} not confirmed");
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h).try_into().unwrap())
        .collect()
}

async fn ledger_key(server: &TestServer) -> VerifyingKey {
    let (status, key) = get(server, "/v1/ledger/key").await;
    assert_eq!(status, 200);
    assert_eq!(key["name"], "zynk");
    VerifyingKey::from_bytes(&b64(&key["public_key"]).try_into().unwrap()).unwrap()
}

/// The head, with its checkpoint verified by the ledger key.
async fn head(server: &TestServer, key: &VerifyingKey) -> Checkpoint {
    let (status, head) = get(server, "/v1/ledger/head").await;
    assert_eq!(status, 200, "{head}");
    verify_checkpoint(key, head["checkpoint"].as_str().unwrap()).unwrap()
}

fn fast(c: &mut zynk_server::Config) {
    c.ledger_interval_ms = 100;
}

async fn registrations_are_confirmed_and_dids_resolve(backend: Backend) {
    let server = TestServer::start(backend, fast).await;
    let key = ledger_key(&server).await;
    let (a, reg_a) = user(&server).await;
    let (b, _) = user(&server).await;
    let did_a = format!("did:zynk:{}", uid(&a).0);
    let did_b = format!("did:zynk:{}", uid(&b).0);
    let ia = confirmed(&server, &did_a).await;
    confirmed(&server, &did_b).await;
    assert_eq!(ia.public_key, IDENTITY_KEY);
    assert_eq!(ia.trust_score, 50);
    let row = server
        .state
        .store
        .ledger_tx(ia.transaction_hash.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.kind.as_str()),
        ("confirmed", "identity_registration")
    );
    assert!(row.confirmed_at.is_some() && row.block_hash.is_some());

    // The DID document, and its proof checked offline against the signed head.
    let (status, doc) = get(&server, &format!("/v1/did/{did_a}")).await;
    assert_eq!(status, 200, "{doc}");
    let d = &doc["didDocument"];
    assert_eq!(d["id"], did_a.as_str());
    let vm = &d["verificationMethod"][0];
    assert_eq!(vm["id"], format!("{did_a}#key-1"));
    assert_eq!(vm["type"], "Ed25519VerificationKey2020");
    let identity: [u8; 32] = STANDARD.decode(IDENTITY_KEY).unwrap().try_into().unwrap();
    assert_eq!(
        vm["publicKeyMultibase"],
        zynk_server::ledger::ed25519_multibase(&identity)
    );
    assert_eq!(d["authentication"][0], format!("{did_a}#key-1"));
    assert_eq!(doc["didDocumentMetadata"]["versionId"], "1");
    let proof = &doc["ledgerProof"];
    let bytes = b64(&proof["transaction"]["bytes"]);
    assert!(
        !String::from_utf8_lossy(&bytes).contains(&reg_a.username),
        "no username in the log"
    );
    match Transaction::decode(&bytes).unwrap() {
        Transaction::IdentityRegistration {
            did,
            user_identity_key,
            ..
        } => {
            assert_eq!((did, user_identity_key), (did_a.clone(), identity));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(TxHash::of(&bytes).to_string(), ia.transaction_hash.unwrap());
    let cp = verify_checkpoint(&key, proof["block"]["checkpoint"].as_str().unwrap()).unwrap();
    assert_eq!(cp.size, proof["tree_size"].as_u64().unwrap());
    zynk_ledger::verify_inclusion(
        &hash_leaf(&bytes),
        proof["leaf_index"].as_u64().unwrap(),
        cp.size,
        &hashes(&proof["inclusion_proof"]),
        &cp.root,
    )
    .unwrap();

    // The same leaf against the current head, through /proof/inclusion.
    let h1 = head(&server, &key).await;
    let index = proof["leaf_index"].as_u64().unwrap();
    let (status, p) = get(
        &server,
        &format!("/v1/ledger/proof/inclusion?index={index}&size={}", h1.size),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    zynk_ledger::verify_inclusion(
        &hash_leaf(&bytes),
        index,
        h1.size,
        &hashes(&p["proof"]),
        &h1.root,
    )
    .unwrap();

    // A later head is consistent with the earlier one.
    let (c, _) = user(&server).await;
    confirmed(&server, &format!("did:zynk:{}", uid(&c).0)).await;
    let h2 = head(&server, &key).await;
    assert!(h2.size > h1.size && h2.number > h1.number);
    let (status, p) = get(
        &server,
        &format!(
            "/v1/ledger/proof/consistency?from={}&to={}",
            h1.size, h2.size
        ),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    zynk_ledger::verify_consistency(h1.size, h2.size, &h1.root, &h2.root, &hashes(&p["proof"]))
        .unwrap();

    // Blocks and transactions by id.
    let (status, blk) = get(&server, &format!("/v1/ledger/blocks/{}", h2.number)).await;
    assert_eq!(status, 200);
    assert_eq!(blk["size"], h2.size);
    let tx_hash = proof["transaction"]["hash"].as_str().unwrap();
    let (status, tx) = get(&server, &format!("/v1/ledger/tx/{tx_hash}")).await;
    assert_eq!(
        (status, tx["type"].as_str()),
        (200, Some("identity_registration"))
    );

    // Errors are problems.
    let unknown = format!("/v1/did/did:zynk:{}", uuid::Uuid::new_v4());
    assert_eq!(get(&server, &unknown).await.0, 404);
    assert_eq!(get(&server, "/v1/did/did:web:example.com").await.0, 422);
    assert_eq!(get(&server, "/v1/ledger/blocks/999999").await.0, 404);
    assert_eq!(get(&server, "/v1/ledger/tx/0x12").await.0, 422);
    let missing = format!("/v1/ledger/tx/0x{}", "ab".repeat(32));
    assert_eq!(get(&server, &missing).await.0, 404);
    assert_eq!(
        get(&server, "/v1/ledger/proof/inclusion?index=x&size=1")
            .await
            .0,
        400
    );
    assert_eq!(
        get(&server, "/v1/ledger/proof/inclusion?index=5&size=5")
            .await
            .0,
        422
    );
    assert_eq!(
        get(&server, "/v1/ledger/proof/consistency?from=3&to=999999")
            .await
            .0,
        422
    );
    server.stop().await;
}

async fn a_rejected_transaction_fails_with_a_reason(backend: Backend) {
    let server = TestServer::start(backend, fast).await;
    let tx = Transaction::IdentityKeyRotation {
        did: format!("did:zynk:{}", uuid::Uuid::new_v4()),
        old_key: [1; 32],
        new_key: [2; 32],
        timestamp: 1,
    };
    let bytes = tx.encode().unwrap();
    let hash = TxHash::of(&bytes).to_string();
    let row = NewLedgerTx {
        id: uuid::Uuid::new_v4(),
        hash: hash.clone(),
        kind: tx.type_name(),
        bytes,
        user_id: None,
        gas_used: 0,
    };
    server
        .state
        .store
        .insert_ledger_tx(&row, chrono::Utc::now())
        .await
        .unwrap();
    // A valid registration in the same run is still sealed.
    let (a, _) = user(&server).await;
    confirmed(&server, &format!("did:zynk:{}", uid(&a).0)).await;
    let mut status = String::new();
    for _ in 0..200 {
        let r = server.state.store.ledger_tx(&hash).await.unwrap().unwrap();
        status = r.status.clone();
        if status != "pending" {
            assert_eq!(status, "failed");
            assert!(r.failure_reason.unwrap().contains("unknown DID"));
            assert!(r.block_number.is_none());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "failed");
    assert_eq!(get(&server, &format!("/v1/ledger/tx/{hash}")).await.0, 404);
    server.stop().await;
}

/// A `trust_score_update` queued for a registered DID is sealed, and its
/// `new_score` is mirrored into `blockchain_identities.trust_score`.
async fn a_sealed_trust_score_update_sets_the_score(backend: Backend) {
    let server = TestServer::start(backend, fast).await;
    let (a, _) = user(&server).await;
    let did = format!("did:zynk:{}", uid(&a).0);
    assert_eq!(confirmed(&server, &did).await.trust_score, 50);
    let tx = Transaction::TrustScoreUpdate {
        did: did.clone(),
        old_score: 50,
        new_score: 55,
        reason: zynk_ledger::TrustReason::VerifiedByCommunity,
        commitment: [7; 32],
        timestamp: 1,
    };
    let bytes = tx.encode().unwrap();
    let hash = TxHash::of(&bytes).to_string();
    let row = NewLedgerTx {
        id: uuid::Uuid::new_v4(),
        hash: hash.clone(),
        kind: tx.type_name(),
        bytes,
        user_id: Some(uid(&a)),
        gas_used: 0,
    };
    let store = &server.state.store;
    store
        .insert_ledger_tx(&row, chrono::Utc::now())
        .await
        .unwrap();
    let mut score = 0;
    for _ in 0..200 {
        score = store
            .ledger_identity(&did)
            .await
            .unwrap()
            .unwrap()
            .trust_score;
        if score == 55 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(score, 55);
    let r = store.ledger_tx(&hash).await.unwrap().unwrap();
    assert_eq!(r.status, "confirmed");
    server.stop().await;
}

/// Production only: two instances on one database, one Redis and ONE ledger
/// directory. The lease admits one writer; the ledger ends up consecutive,
/// with every registration exactly once.
async fn two_instances_on_one_ledger_have_one_writer(backend: Backend) {
    if backend == Backend::Embedded {
        return; // in-process leases are per instance: one instance per ledger
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(backend, dir.path()).await;
    fast(&mut config);
    let one = TestServer::with_config(config.clone()).await;
    let two = TestServer::with_config(config.clone()).await;
    let mut dids = Vec::new();
    for i in 0..6 {
        let server = if i % 2 == 0 { &one } else { &two };
        let (c, _) = user(server).await;
        dids.push(format!("did:zynk:{}", uid(&c).0));
    }
    let mut tx_hashes = Vec::new();
    for did in &dids {
        tx_hashes.push(confirmed(&one, did).await.transaction_hash.unwrap());
    }
    one.stop().await;
    two.stop().await;
    // The LevelDB lock is released once both ledger threads end.
    let mut ledger = None;
    for _ in 0..100 {
        match zynk_server::ledger::open_direct(&config) {
            Ok(l) => {
                ledger = Some(l);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let mut ledger = ledger.expect("ledger reopens");
    let report = ledger.verify().unwrap();
    assert_eq!(report.transactions, 6, "every registration exactly once");
    let mut seen = Vec::new();
    for n in 0..report.blocks {
        let b = ledger.block(n).unwrap().unwrap();
        assert_eq!(b.number, n);
        seen.extend(b.tx_hashes.iter().map(ToString::to_string));
    }
    seen.sort();
    tx_hashes.sort();
    assert_eq!(seen, tx_hashes);
}

#[test]
fn zynkd_ledger_verify_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let config = zynk_server::Config {
        data_dir: dir.path().to_path_buf(),
        ..zynk_server::Config::default()
    };
    let seed = zynk_server::ledger::load_seed(&config).unwrap();
    let key = zynk_ledger::LedgerKey::from_seed("zynk", &seed).unwrap();
    let path = dir.path().join("ledger");
    let tx = Transaction::IdentityRegistration {
        did: "did:zynk:someone".into(),
        user_identity_key: [9; 32],
        timestamp: 5,
    };
    let hash = TxHash::of(&tx.encode().unwrap());
    {
        let mut ledger = zynk_ledger::Ledger::open(&path, key).unwrap();
        ledger.append_block(&[tx], 10).unwrap();
    }
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zynkd"))
            .args(["ledger", "verify"])
            .env("ZYNK_DATA_DIR", dir.path())
            .env("ZYNK_LOG", "error")
            .output()
            .unwrap()
    };
    let ok = run();
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ledger ok: 1 blocks, 1 transactions"));

    // Flip a byte of the stored transaction.
    {
        let mut db = rusty_leveldb::DB::open(&path, rusty_leveldb::Options::default()).unwrap();
        let k = format!("tx:{hash}");
        let mut v = db.get(k.as_bytes()).unwrap().to_vec();
        let last = v.len() - 1;
        v[last] ^= 1;
        db.put(k.as_bytes(), &v).unwrap();
        db.flush().unwrap();
    }
    let bad = run();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(&format!("tx:{hash}")), "{err}");
}
