//! Calls with the real `zynk` binary: alice calls bob (in the background),
//! bob's `listen` sees the incoming call, bob accepts, alice hangs up; a
//! declined call; `calls` lists them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, of_type};

#[test]
fn one_to_one_call() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);
    // The conversation exists before bob listens (`call.incoming` is live only).
    alice.ok(&["send", "@bob", "call you in a minute"]);
    let first = bob.json(&["listen", "--count", "1", "--timeout", "30"]);
    assert_eq!(of_type(&first, "message").len(), 1);

    let listening = bob.spawn(&["--json", "listen", "--count", "1", "--timeout", "60"]);
    listening.stderr_until("Listening as bob");
    let caller = alice.spawn(&["--json", "call", "@bob", "--video"]);
    let created = caller.json_until(|v| v["type"] == "call");
    assert_eq!(created["status"], "initiated");
    assert_eq!(created["call_type"], "video");
    let id = created["id"].as_str().unwrap().to_owned();

    let (ok, events) = listening.finish();
    assert!(ok, "{events:?}");
    let incoming = of_type(&events, "call.incoming");
    assert_eq!(incoming.len(), 1, "{events:?}");
    assert_eq!(incoming[0]["call_id"].as_str(), Some(id.as_str()));
    assert_eq!(incoming[0]["initiator"], "alice");
    // Bob's listening device rang.
    let ringing = caller.json_until(|v| v["type"] == "call");
    assert_eq!(ringing["status"], "ringing");

    let accepted = bob.json(&["call", "accept", &id]);
    assert_eq!(accepted[0]["status"], "in_progress");
    let seen = caller.json_until(|v| v["type"] == "call");
    assert_eq!(seen["status"], "in_progress");

    // The caller's profile is not locked while it waits: hang up from elsewhere.
    let ended = alice.json(&["call", "hangup", &id]);
    assert_eq!(ended[0]["status"], "ended");
    let last = caller.json_until(|v| v["type"] == "call");
    assert_eq!(last["status"], "ended");
    let (ok, _) = caller.finish();
    assert!(ok, "the caller exits once the call is over");

    // A declined call.
    let caller = alice.spawn(&["--json", "call", "@bob"]);
    let created = caller.json_until(|v| v["type"] == "call");
    let second = created["id"].as_str().unwrap().to_owned();
    let declined = bob.json(&["call", "decline", &second]);
    assert_eq!(declined[0]["status"], "declined");
    let last = caller.json_until(|v| v["type"] == "call" && v["status"] != "initiated");
    assert_eq!(last["status"], "declined");
    assert!(caller.finish().0);
    let e = bob.fails(&["call", "accept", &second]);
    assert!(e.contains("cannot accept"), "{e}");

    // History, newest first, on both sides.
    let calls = bob.json(&["calls"]);
    let ids: Vec<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), id.as_str()]);
    assert_eq!(calls[1]["status"], "ended");
    assert_eq!(calls[0]["status"], "declined");
    let text = alice.ok(&["calls"]);
    assert!(
        text.contains(&format!("call {id} in @bob (video): ended")),
        "{text}"
    );

    let e = alice.fails(&["call", "hangup", &uuid::Uuid::new_v4().to_string()]);
    assert!(e.contains("no call"), "{e}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_hangs_up() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);
    let caller = alice.spawn(&["--json", "call", "@bob"]);
    let created = caller.json_until(|v| v["type"] == "call");
    let id = created["id"].as_str().unwrap().to_owned();
    let status = std::process::Command::new("kill")
        .args(["-INT", &caller.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Before anyone answered, the caller's hang-up is a missed call.
    let last = caller.json_until(|v| v["type"] == "call" && v["status"] != "initiated");
    assert_eq!(last["status"], "missed");
    assert!(caller.finish().0);
    assert_eq!(bob.json(&["calls"])[0]["id"].as_str(), Some(id.as_str()));
}
