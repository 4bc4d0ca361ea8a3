//! Live location with the real `zynk` binary: share, show with distances,
//! the live frames in `listen`, stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, of_type};

#[test]
fn share_show_stop() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);
    alice.ok(&["send", "@bob", "where are you?"]);
    bob.json(&["listen", "--count", "1", "--timeout", "30"]);

    let listening = bob.spawn(&["--json", "listen", "--timeout", "60"]);
    listening.stderr_until("Listening as bob");
    // Alexanderplatz and the Brandenburg Gate: about 2.2 km apart.
    let shared = alice.json(&[
        "location",
        "share",
        "@bob",
        "52.5219",
        "13.4132",
        "--accuracy",
        "10",
        "--duration",
        "600",
    ]);
    assert_eq!(shared[0]["type"], "location.shared");
    let live = listening.json_until(|v| v["type"] == "location");
    assert_eq!(live["user"], "alice");
    assert_eq!(live["accuracy"], 10.0);
    drop(listening);
    bob.ok(&["location", "share", "@alice", "52.5163", "13.3777"]);

    let shown = bob.json(&["location", "show", "@alice"]);
    assert_eq!(shown.len(), 2, "{shown:?}");
    let a = shown.iter().find(|v| v["user"] == "alice").unwrap();
    let d = a["distance_m"].as_f64().unwrap();
    assert!((2000.0..2800.0).contains(&d), "{d}");
    let text = bob.ok(&["location", "show", "@alice"]);
    assert!(text.contains("alice at (52.52"), "{text}");
    assert!(text.contains(" km away"), "{text}");
    assert!(text.contains("bob (you)"), "{text}");

    alice.ok(&["location", "stop", "@bob"]);
    let shown = bob.json(&["location", "show", "@alice"]);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["user"], "bob");
    bob.ok(&["location", "stop", "@alice"]);
    assert!(
        bob.ok(&["location", "show", "@alice"])
            .contains("Nobody shares")
    );

    // Negative coordinates are numbers, not options; out of range is refused.
    alice.ok(&["location", "share", "@bob", "-33.8688", "-151.2093"]);
    let e = alice.fails(&["location", "share", "@bob", "91", "0"]);
    assert!(e.contains("refused"), "{e}");
    let got = bob.json(&["listen", "--once"]);
    assert!(of_type(&got, "message").is_empty());
}
