//! Usage errors, `--help` everywhere, missing secrets and bad arguments.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Server;

const SUBCOMMANDS: &[&[&str]] = &[
    &[],
    &["register"],
    &["login"],
    &["logout"],
    &["whoami"],
    &["devices"],
    &["devices", "list"],
    &["devices", "approve"],
    &["devices", "remove"],
    &["send"],
    &["listen"],
    &["history"],
    &["conversations"],
    &["group"],
    &["group", "create"],
    &["group", "add"],
    &["group", "remove"],
    &["group", "leave"],
    &["group", "list"],
    &["group", "info"],
    &["safety-number"],
    &["trust"],
    &["react"],
    &["edit"],
    &["delete"],
    &["read"],
    &["send-file"],
    &["download"],
    &["call"],
    &["call", "accept"],
    &["call", "decline"],
    &["call", "hangup"],
    &["calls"],
    &["location"],
    &["location", "share"],
    &["location", "stop"],
    &["location", "show"],
];

#[test]
fn help_and_usage_errors() {
    let server = Server::start();
    let d = server.device();
    for path in SUBCOMMANDS {
        let mut args = path.to_vec();
        args.push("--help");
        let out = d.ok(&args);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let top = d.ok(&["--help"]);
    for cmd in ["register", "listen", "safety-number", "group"] {
        assert!(top.contains(cmd), "{top}");
    }
    for bad in [
        &["frobnicate"][..],
        &["send"],
        &["listen", "--bogus"],
        &["history", "@x", "--limit", "0"],
        &["group"],
        &["call"],
        &["location", "share", "@x", "1"],
    ] {
        let e = d.fails(bad);
        assert!(e.contains("error") || e.contains("Usage"), "{bad:?}: {e}");
    }
    assert!(d.fails(&["frobnicate"]).contains("unrecognized subcommand"));
}

#[test]
fn secrets_profiles_and_bad_targets() {
    let server = Server::start();
    let alice = server.device();
    assert!(alice.fails(&["whoami"]).contains("no account"));

    // No password, no terminal: the error names the variable.
    let r = alice.run_with(&["register", "alice"], None, false);
    assert!(!r.ok);
    assert!(r.stderr.contains("ZYNK_PASSWORD"), "{}", r.stderr);
    alice.ok(&["register", "alice"]);
    let r = alice.run_with(&["whoami"], None, false);
    assert!(!r.ok);
    assert!(r.stderr.contains("ZYNK_PASSPHRASE"), "{}", r.stderr);
    assert!(!r.stderr.contains(common::PASSWORD));

    // A wrong passphrase does not open the profile.
    let mut cmd_env = std::process::Command::new(env!("CARGO_BIN_EXE_zynk"));
    let out = cmd_env
        .args(["--profile"])
        .arg(alice.path())
        .arg("whoami")
        .env("ZYNK_PASSPHRASE", "not the passphrase")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));

    // The profile holds one account.
    assert!(
        alice
            .fails(&["register", "alice2"])
            .contains("already holds")
    );
    // Taken username, unknown users and groups, oneself.
    let other = server.device();
    assert!(other.fails(&["register", "alice"]).contains("409"));
    assert!(
        alice
            .fails(&["send", "@nobody", "hi"])
            .contains("no user @nobody")
    );
    assert!(alice.fails(&["send", "nogroup", "hi"]).contains("no group"));
    assert!(
        alice
            .fails(&["send", "@alice", "hi"])
            .contains("that is you")
    );
    assert!(
        alice
            .fails(&["safety-number", "@nobody"])
            .contains("no user")
    );
    let r = alice.run_with(&["send", "@nobody"], Some("  \n"), true);
    assert!(!r.ok && r.stderr.contains("empty"), "{}", r.stderr);

    // A server that is not there.
    let gone = common::Device {
        server: "http://127.0.0.1:9".into(),
        dir: tempfile::tempdir().unwrap(),
    };
    let e = gone.fails(&["register", "dave"]);
    assert!(e.contains("server running"), "{e}");

    // Secrets never show up in any output.
    let all = [
        alice.ok(&["whoami"]),
        alice.ok(&["--json", "whoami"]),
        alice.ok(&["devices"]),
    ]
    .concat();
    assert!(!all.contains(common::PASSWORD) && !all.contains(common::PASSPHRASE));
}
