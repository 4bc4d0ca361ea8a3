//! Trust scores: verifications (once per pair), spam reports (one update
//! at the threshold), the public trust view with inclusion proofs, no user
//! ids in the ledger, and account age milestones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, TestServer, uid, user};
use serde_json::Value;
use zynk_ledger::merkle::hash_leaf;
use zynk_proto::UserId;
use zynk_sdk::Client;

backend_tests!(
    a_verification_counts_once_per_pair,
    three_reporters_take_ten_points_once,
    milestones_are_granted_once_each,
);

fn fast(c: &mut zynk_server::Config) {
    c.ledger_interval_ms = 100;
}

fn token(c: &Client) -> String {
    c.tokens().unwrap().session_token.expose().to_owned()
}

async fn call(server: &TestServer, method: &str, as_: &Client, path: &str) -> (u16, Value) {
    let url = format!("{}{path}", server.url);
    let http = reqwest::Client::new();
    let req = match method {
        "post" => http.post(url),
        _ => http.get(url),
    };
    let r = req.bearer_auth(token(as_)).send().await.unwrap();
    let status = r.status().as_u16();
    if status >= 400 {
        let ct = r.headers().get("content-type").unwrap().to_str().unwrap();
        assert_eq!(ct, "application/problem+json");
    }
    (status, r.json().await.unwrap())
}

fn did(id: UserId) -> String {
    format!("did:zynk:{}", id.0)
}

/// Waits until `id` is on the ledger with `score` (10 s at most).
async fn score_is(server: &TestServer, id: UserId, score: i32) {
    let mut last = None;
    for _ in 0..200 {
        last = server.state.store.ledger_identity(&did(id)).await.unwrap();
        if let Some(i) = &last
            && i.block_number.is_some()
            && i.trust_score == score
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id:?}: expected {score}, got {last:?}");
}

/// The queued transaction's bytes hold neither form of `actor`'s id.
async fn no_user_id(server: &TestServer, hash: &str, actor: UserId) {
    let tx = server.state.store.ledger_tx(hash).await.unwrap().unwrap();
    assert_eq!(tx.user_id, None);
    let bytes = tx.bytes.unwrap();
    let id = actor.0;
    let forms: [Vec<u8>; 3] = [
        id.as_bytes().to_vec(),
        id.to_string().into_bytes(),
        id.simple().to_string().into_bytes(),
    ];
    for f in forms {
        assert!(!bytes.windows(f.len()).any(|w| w == f.as_slice()));
    }
}

async fn a_verification_counts_once_per_pair(backend: Backend) {
    let server = TestServer::start(backend, fast).await;
    let (a, _) = user(&server).await;
    let (b, _) = user(&server).await;
    score_is(&server, uid(&a), 50).await;
    score_is(&server, uid(&b), 50).await;
    let path = format!("/v1/users/{}/verify", uid(&b).0);
    let (status, body) = call(&server, "post", &a, &path).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["queued"], true);
    no_user_id(&server, body["transaction_hash"].as_str().unwrap(), uid(&a)).await;
    let (status, _) = call(&server, "post", &a, &path).await;
    assert_eq!(status, 409);
    let own = format!("/v1/users/{}/verify", uid(&a).0);
    assert_eq!(call(&server, "post", &a, &own).await.0, 422);
    let nobody = format!("/v1/users/{}/verify", uuid::Uuid::new_v4());
    assert_eq!(call(&server, "post", &a, &nobody).await.0, 404);
    score_is(&server, uid(&b), 55).await;
    // Still once after sealing.
    assert_eq!(call(&server, "post", &a, &path).await.0, 409);
    server.stop().await;
}

async fn three_reporters_take_ten_points_once(backend: Backend) {
    let server = TestServer::start(backend, fast).await;
    let (t, _) = user(&server).await;
    score_is(&server, uid(&t), 50).await;
    let path = format!("/v1/users/{}/report", uid(&t).0);
    let mut hash = String::new();
    let mut reporters = Vec::new();
    for i in 0..3 {
        let (r, _) = user(&server).await;
        let (status, body) = call(&server, "post", &r, &path).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["queued"], i == 2, "{body}");
        if i == 2 {
            hash = body["transaction_hash"].as_str().unwrap().to_owned();
        }
        reporters.push(r);
    }
    assert_eq!(call(&server, "post", &reporters[0], &path).await.0, 409);
    assert_eq!(call(&server, "post", &t, &path).await.0, 422);
    for r in &reporters {
        no_user_id(&server, &hash, uid(r)).await;
    }
    score_is(&server, uid(&t), 40).await;

    let (status, view) = call(
        &server,
        "get",
        &t,
        &format!("/v1/users/{}/trust", uid(&t).0),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["did"], did(uid(&t)));
    assert_eq!(view["score"], 40);
    let history = view["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{view}");
    assert_eq!(history[0]["old_score"], 50);
    assert_eq!(history[0]["new_score"], 40);
    assert_eq!(history[0]["reason"], "spam_report");
    assert_eq!(history[0]["status"], "confirmed");
    assert_eq!(history[0]["transaction_hash"], hash.as_str());
    assert!(history[0].get("changed_by").is_none());
    let proofs = view["proofs"].as_array().unwrap();
    assert_eq!(proofs.len(), 1);
    let p = &proofs[0];
    let bytes = server
        .state
        .store
        .ledger_tx(&hash)
        .await
        .unwrap()
        .unwrap()
        .bytes
        .unwrap();
    let proof: Vec<[u8; 32]> = p["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let r = reqwest::get(format!("{}/v1/ledger/head", server.url))
        .await
        .unwrap();
    let head: Value = r.json().await.unwrap();
    assert_eq!(head["size"], p["tree_size"]);
    assert_eq!(head["root"], p["root"]);
    let root: [u8; 32] = STANDARD
        .decode(head["root"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    zynk_ledger::verify_inclusion(
        &hash_leaf(&bytes),
        p["leaf_index"].as_u64().unwrap(),
        p["tree_size"].as_u64().unwrap(),
        &proof,
        &root,
    )
    .unwrap();
    server.stop().await;
}

async fn milestones_are_granted_once_each(backend: Backend) {
    let server = TestServer::start(backend, fast).await;
    let (a, _) = user(&server).await;
    score_is(&server, uid(&a), 50).await;
    let now = chrono::Utc::now();
    let n = zynk_server::ops::trust::milestones(&server.state, now)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let later = now + chrono::Duration::days(400);
    let n = zynk_server::ops::trust::milestones(&server.state, later)
        .await
        .unwrap();
    assert_eq!(n, 3);
    let n = zynk_server::ops::trust::milestones(&server.state, later)
        .await
        .unwrap();
    assert_eq!(n, 0);
    score_is(&server, uid(&a), 65).await;
    let history = server
        .state
        .store
        .trust_history(&did(uid(&a)))
        .await
        .unwrap();
    let steps: Vec<(i32, i32, &str)> = history
        .iter()
        .map(|h| (h.old_score, h.new_score, h.reason.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (50, 55, "account_age_milestone"),
            (55, 60, "account_age_milestone"),
            (60, 65, "account_age_milestone"),
        ]
    );
    server.stop().await;
}
