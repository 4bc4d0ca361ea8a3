//! The README walk-through, run with the real `zynk` binary against a real
//! server: two users, safety numbers, 1:1 messages both ways, history,
//! conversations and read markers, then a group with a third user.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, of_type, texts};

/// The digit groups of a readable `safety-number` output.
fn digit_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit() || c == ' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_walkthrough() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();

    // Terminal 1 and terminal 2: one account each.
    assert!(
        alice
            .ok(&["register", "alice"])
            .contains("Registered alice")
    );
    assert!(bob.ok(&["register", "bob"]).contains("Registered bob"));

    let me = alice.json(&["whoami"]);
    assert_eq!(me[0]["username"], "alice");
    assert_eq!(me[0]["approved"], true);
    assert_eq!(me[0]["server"], server.url.as_str());
    assert!(alice.ok(&["whoami"]).contains("approved:  yes"));

    // Safety numbers: the same 60 digits on both sides.
    let sn_a = alice.json(&["safety-number", "@bob"]);
    let sn_b = bob.json(&["safety-number", "@alice"]);
    let number = sn_a[0]["safety_number"].as_str().unwrap().to_owned();
    assert_eq!(number, sn_b[0]["safety_number"].as_str().unwrap());
    assert_eq!(number.split(' ').count(), 12);
    assert_eq!(number.chars().filter(char::is_ascii_digit).count(), 60);
    let readable_a = digit_lines(&alice.ok(&["safety-number", "@bob"]));
    let readable_b = digit_lines(&bob.ok(&["safety-number", "@alice"]));
    assert_eq!(readable_a.len(), 3, "three lines of four groups");
    assert_eq!(readable_a, readable_b);
    assert_eq!(readable_a.join(" "), number);

    // Alice writes; bob listens.
    let sent = alice.json(&["send", "@bob", "hello"]);
    assert_eq!(sent[0]["type"], "sent");
    let got = bob.json(&["listen", "--count", "1", "--timeout", "30"]);
    assert_eq!(texts(&got), ["hello"]);
    let m = of_type(&got, "message")[0];
    assert_eq!(m["sender"], "alice");
    assert_eq!(m["conversation"], "@alice");
    assert_eq!(m["id"], sent[0]["id"]);
    for key in ["id", "conversation_id", "sender_id", "created_at"] {
        assert!(m[key].is_string(), "{key} in {m}");
    }

    // Bob replies from standard input; alice listens (readable output).
    let r = bob.run_with(&["send", "@alice"], Some("hi alice\n"), true);
    assert!(r.ok, "{}", r.stderr);
    let out = alice.ok(&["listen", "--count", "1", "--timeout", "30"]);
    assert!(out.contains("@bob bob: hi alice"), "{out}");

    // History: oldest first, own messages included, read again from the cache.
    for _ in 0..2 {
        let h = bob.json(&["history", "@alice"]);
        assert_eq!(texts(&h), ["hello", "hi alice"]);
    }
    let h = alice.ok(&["history", "@bob"]);
    let (first, second) = (
        h.find("alice: hello").unwrap(),
        h.find("bob: hi alice").unwrap(),
    );
    assert!(first < second, "{h}");
    assert_eq!(
        texts(&alice.json(&["history", "@bob", "--limit", "1"])),
        ["hi alice"]
    );

    // Conversations, unread counts and the read marker.
    let convs = bob.json(&["conversations"]);
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["name"], "@alice");
    assert_eq!(convs[0]["unread_count"], 1);
    bob.ok(&["read", "@alice"]);
    assert_eq!(bob.json(&["conversations"])[0]["unread_count"], 0);
    assert!(alice.ok(&["conversations"]).contains("@bob"));

    // A group with a third user.
    let carol = server.device();
    carol.ok(&["register", "carol"]);
    let group = alice.json(&[
        "group", "create", "team", "--member", "@bob", "--member", "@carol",
    ]);
    assert_eq!(group[0]["name"], "team");
    assert_eq!(group[0]["members"].as_array().unwrap().len(), 3);
    alice.ok(&["send", "team", "hello team"]);
    for member in [&bob, &carol] {
        let got = member.json(&["listen", "--count", "1", "--timeout", "30"]);
        assert_eq!(texts(&got), ["hello team"]);
        let m = of_type(&got, "message")[0];
        assert_eq!(m["conversation"], "#team");
        assert_eq!(m["sender"], "alice");
    }
    carol.ok(&["send", "#team", "hi from carol"]);
    for member in [&alice, &bob] {
        let got = member.json(&["listen", "--count", "1", "--timeout", "30"]);
        assert_eq!(texts(&got), ["hi from carol"]);
    }
    assert_eq!(
        texts(&bob.json(&["history", "team"])),
        ["hello team", "hi from carol"]
    );
    let list = carol.json(&["group", "list"]);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "team");
    let info = carol.ok(&["group", "info", "team"]);
    for who in ["@alice (admin)", "@bob (member)", "@carol (member)"] {
        assert!(info.contains(who), "{info}");
    }

    // Carol leaves; a later message reaches bob only.
    carol.ok(&["group", "leave", "team"]);
    assert!(carol.json(&["group", "list"]).is_empty());
    alice.ok(&["send", "team", "after carol left"]);
    assert_eq!(
        texts(&bob.json(&["listen", "--count", "1", "--timeout", "30"])),
        ["after carol left"]
    );
    assert!(texts(&carol.json(&["listen", "--once"])).is_empty());

    // Nothing more is pending: `--once` returns after the idle gap.
    assert!(texts(&bob.json(&["listen", "--once"])).is_empty());
}

#[test]
fn edit_react_delete() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);

    let sent = alice.json(&["send", "@bob", "helo"]);
    let id = sent[0]["id"].as_str().unwrap().to_owned();
    alice.ok(&["edit", &id, "hello"]);
    // Bob was offline: the pending message carries the edited text.
    let got = bob.json(&["listen", "--count", "1", "--timeout", "30"]);
    assert_eq!(texts(&got), ["hello"]);
    assert_eq!(of_type(&got, "message")[0]["edited"], true);
    assert_eq!(texts(&alice.json(&["history", "@bob"])), ["hello"]);
    let e = bob.fails(&["edit", &id, "mine now"]);
    assert!(e.contains("not yours"), "{e}");

    let r = bob.json(&["react", &id, "👍"]);
    assert_eq!(r[0]["reactions"]["👍"], serde_json::json!(["bob"]));
    let r = bob.json(&["react", "--remove", &id, "👍"]);
    assert!(r[0]["reactions"].as_object().unwrap().is_empty());

    alice.ok(&["delete", &id]);
    assert!(texts(&bob.json(&["history", "@alice"])).is_empty());
    let e = alice.fails(&["edit", "not-an-id", "x"]);
    assert!(e.contains("UUID"), "{e}");
}
