//! `zynk verify`: a message's anchor proof, checked offline against the
//! ciphertext's recomputed hash; outsiders cannot get the proof.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::Server;

#[test]
fn verify_checks_a_message_anchor_offline() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();
    let carol = server.device();
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);
    carol.ok(&["register", "carol"]);
    let sent = alice.json(&["send", "@bob", "anchor me"]);
    let id = sent[0]["id"].as_str().unwrap().to_owned();

    // Anchored by the writer within a few of its runs (every second).
    let mut verified = None;
    for _ in 0..80 {
        let r = bob.run(&["--json", "verify", &id]);
        if r.ok {
            verified = Some(r.stdout);
            break;
        }
        assert!(r.stderr.contains("not anchored yet"), "{}", r.stderr);
        std::thread::sleep(Duration::from_millis(250));
    }
    let out: serde_json::Value = serde_json::from_str(verified.expect("anchored").trim()).unwrap();
    assert_eq!(out["type"], "verified");
    assert_eq!(out["message_id"], id.as_str());
    assert!(
        out["block"].is_u64() && out["log_size"].as_u64() > Some(0),
        "{out}"
    );

    let text = alice.ok(&["verify", &id]);
    assert!(text.starts_with("OK: message"), "{text}");
    assert!(text.contains(&format!("block {}", out["block"])), "{text}");

    let e = carol.fails(&["verify", &id]);
    assert!(e.contains("not found"), "{e}");
    let e = bob.fails(&["verify", "not-an-id"]);
    assert!(e.contains("message id"), "{e}");
}
