//! The `zynkd` binary itself, as a newcomer runs it.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use std::process::{Command, Stdio};
use std::time::Duration;

use zynk_sdk::Client;

fn zynkd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zynkd"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ZYNK_")) {
        cmd.env_remove(k);
    }
    cmd
}

#[test]
fn config_prints_the_commented_default() {
    let out = zynkd().arg("config").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("listen = \"127.0.0.1:8080\"") && text.contains("# "),
        "{text}"
    );
}

#[test]
fn invalid_configuration_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = zynkd()
        .current_dir(dir.path())
        .env("ZYNK_PBKDF2_ITERATIONS", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ZYNK_PBKDF2_ITERATIONS"), "{err}");
}

/// `zynkd` with no configuration beyond a port: SQLite and the token key in
/// `./zynk-data`, a registration through the SDK, a clean shutdown.
#[tokio::test]
async fn zero_config_server_starts_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = zynkd()
        .current_dir(dir.path())
        .env("ZYNK_LISTEN", format!("127.0.0.1:{port}"))
        .env("ZYNK_PBKDF2_ITERATIONS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut client = Client::new(&format!("http://127.0.0.1:{port}"));
    let mut up = false;
    for _ in 0..100 {
        if client
            .raw("GET", "/readyz", None, Vec::new())
            .await
            .is_ok_and(|r| r.status == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = if up {
        let reg = serde_json::from_value::<zynk_proto::Register>(serde_json::json!({
            "username": "newcomer",
            "password": "a long enough password",
            "identity_key": "WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=",
            "device": {"name": "cli", "fingerprint": "fingerprint-1", "platform": "cli",
                       "public_key": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="}
        }))
        .unwrap();
        client.register(&reg).await.map(|_| ())
    } else {
        Ok(())
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "zynkd did not become ready");
    registered.unwrap();
    assert!(dir.path().join("zynk-data/zynk.db").exists());
    assert!(dir.path().join("zynk-data/jwt.key").exists());
}
