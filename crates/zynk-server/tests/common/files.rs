//! Helpers of the file tests, and the storage cases that run on every
//! blob store (local directory and S3).

#![allow(dead_code, clippy::unwrap_used)]

use chrono::Utc;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use zynk_proto::{ConversationId, FileInfo, FileUpload};
use zynk_sdk::files::{FileSpec, receive_file, send_file};
use zynk_sdk::{ByteRange, Client};

use crate::common::{TestServer, uid, user};

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Pseudo-random bytes (xorshift; fast, incompressible enough).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = rand::random::<u64>() | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Two users and their 1:1 conversation: (alice, conversation, bob).
pub async fn pair(server: &TestServer) -> (Client, ConversationId, Client) {
    let (alice, _) = user(server).await;
    let (bob, _) = user(server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    (alice, conv.id, bob)
}

/// Upload metadata for `body` (as ciphertext) in `conv`.
pub fn upload_of(conv: ConversationId, body: &[u8]) -> FileUpload {
    FileUpload {
        conversation_id: conv,
        filename: "photo – été.jpg".into(),
        mime_type: "image/jpeg".into(),
        content_hash: sha256_hex(body),
        encryption_key_encrypted: "c2VhbGVkIGtleQ==".into(),
        metadata: Some(serde_json::json!({"width": 640, "height": 480})),
        expires_in: None,
    }
}

pub async fn upload(client: &Client, conv: ConversationId, body: &[u8]) -> FileInfo {
    client
        .upload_file_from(
            &upload_of(conv, body),
            std::io::Cursor::new(body.to_vec()),
            Some(body.len() as u64),
            None,
        )
        .await
        .unwrap()
}

/// Every object key of the server's blob store; on a local store, also
/// checks that no staging file of an upload is left on disk.
pub async fn objects(server: &TestServer) -> Vec<String> {
    let far = Utc::now() + chrono::Duration::days(1);
    let keys: Vec<String> = server
        .state
        .blobs
        .older_than(far)
        .map_ok(|o| o.key)
        .try_collect()
        .await
        .unwrap();
    if server.state.blobs.kind == "local" {
        let on_disk = files_under(&server.state.config.data_dir.join("files"));
        assert_eq!(
            on_disk.len(),
            keys.len(),
            "stray files on disk: {on_disk:?}"
        );
    }
    keys
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Writes an object directly (no row).
pub async fn put_object(server: &TestServer, key: &str, bytes: &'static [u8]) {
    let body = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
        bytes::Bytes::from_static(bytes),
    )]);
    server
        .state
        .blobs
        .write_stream(key, body, 1 << 20, None)
        .await
        .unwrap();
}

/// `(endpoint, bucket)` of the S3 leg; `None` (skip) when unset, a failure
/// when `ZYNK_TEST_REQUIRE_BACKENDS=1`.
pub fn s3_settings() -> Option<(String, String)> {
    let endpoint = std::env::var("ZYNK_TEST_S3_ENDPOINT").ok();
    let bucket = std::env::var("ZYNK_TEST_S3_BUCKET").ok();
    match (endpoint, bucket) {
        (Some(e), Some(b)) => Some((e, b)),
        _ if std::env::var("ZYNK_TEST_REQUIRE_BACKENDS").as_deref() == Ok("1") => {
            panic!(
                "ZYNK_TEST_REQUIRE_BACKENDS=1 but ZYNK_TEST_S3_ENDPOINT / ZYNK_TEST_S3_BUCKET are not set"
            )
        }
        _ => {
            eprintln!("S3 leg skipped: ZYNK_TEST_S3_ENDPOINT / ZYNK_TEST_S3_BUCKET not set");
            None
        }
    }
}

/// Encrypt (zynk-crypto), upload, download, verify, decrypt, compare.
pub async fn round_trip_on(server: &TestServer) {
    let (alice, conv, bob) = pair(server).await;
    let dir = tempfile::tempdir().unwrap();
    // Several 64 KiB chunks and a ragged end; more than one 5 MiB part.
    let plaintext = random_bytes(6 * 1024 * 1024 + 12_345);
    let source = dir.path().join("plain.bin");
    std::fs::write(&source, &plaintext).unwrap();
    let spec = FileSpec {
        conversation_id: conv,
        filename: "plain.bin".into(),
        mime_type: "application/octet-stream".into(),
        metadata: None,
        expires_in: None,
    };
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = progress.clone();
    let sent = send_file(
        &alice,
        &source,
        spec,
        |_key| Ok(b"sealed to alice".to_vec()),
        Some(std::sync::Arc::new(move |done, _| {
            seen.store(done, std::sync::atomic::Ordering::Relaxed);
        })),
    )
    .await
    .unwrap();
    let ciphertext_len = zynk_crypto::ciphertext_len(plaintext.len() as u64);
    assert_eq!(sent.info.file_size, ciphertext_len);
    assert_eq!(
        progress.load(std::sync::atomic::Ordering::Relaxed),
        ciphertext_len
    );
    assert_eq!(sent.info.content_hash, sent.content_hash);
    let row = server
        .state
        .store
        .file(sent.info.id)
        .await
        .unwrap()
        .unwrap();
    let key = zynk_server::blobs::Blobs::file_key(sent.info.id, sent.info.created_at);
    assert_eq!(row.storage_path, key);
    assert!(key.starts_with(&format!(
        "encrypted/{}/",
        sent.info.created_at.format("%Y/%m")
    )));

    let info = bob.file(sent.info.id).await.unwrap();
    assert_eq!(info, sent.info);
    assert_eq!(info.filename, "plain.bin");
    let dest = dir.path().join("received.bin");
    let n = receive_file(
        &bob,
        info.id,
        &sent.key,
        Some(&sent.content_hash),
        &dest,
        None,
    )
    .await
    .unwrap();
    assert_eq!(n, plaintext.len() as u64);
    assert!(
        std::fs::read(&dest).unwrap() == plaintext,
        "plaintext differs"
    );
    // A wrong expected hash is refused before anything is written.
    let other = dir.path().join("other.bin");
    let e = receive_file(
        &bob,
        info.id,
        &sent.key,
        Some(&"0".repeat(64)),
        &other,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, zynk_sdk::SdkError::HashMismatch), "{e:?}");
    assert!(!other.exists());
}

/// 206 with Content-Range for `a-b`, `a-`, `-n`; 416 beyond the end; 200
/// with Content-Length and Accept-Ranges without a Range.
pub async fn ranges_on(server: &TestServer) {
    let (alice, conv, bob) = pair(server).await;
    let body = random_bytes(10_000);
    let info = upload(&alice, conv, &body).await;
    let http = reqwest::Client::new();
    let token = bob.tokens().unwrap().session_token.expose().to_owned();
    let url = format!("{}/v1/files/{}/content", server.url, info.id);
    let get = |range: Option<&'static str>| {
        let mut req = http.get(&url).bearer_auth(&token);
        if let Some(r) = range {
            req = req.header("range", r);
        }
        req.send()
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };

    let r = get(None).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "accept-ranges").as_deref(), Some("bytes"));
    assert_eq!(header(&r, "content-length").as_deref(), Some("10000"));
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), body.as_slice());

    let cases = [
        ("bytes=0-99", 0..100, "bytes 0-99/10000"),
        ("bytes=9990-20000", 9990..10_000, "bytes 9990-9999/10000"),
        ("bytes=5000-", 5000..10_000, "bytes 5000-9999/10000"),
        ("bytes=-256", 9744..10_000, "bytes 9744-9999/10000"),
    ];
    for (range, want, content_range) in cases {
        let r = get(Some(range)).await.unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(header(&r, "content-range").as_deref(), Some(content_range));
        let len = want.end - want.start;
        assert_eq!(
            header(&r, "content-length"),
            Some(len.to_string()),
            "{range}"
        );
        assert_eq!(header(&r, "accept-ranges").as_deref(), Some("bytes"));
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[want], "{range}");
    }

    for range in ["bytes=10000-", "bytes=20000-30000", "bytes=-0"] {
        let r = get(Some(range)).await.unwrap();
        assert_eq!(r.status(), 416, "{range}");
        assert_eq!(
            header(&r, "content-range").as_deref(),
            Some("bytes */10000")
        );
        assert_eq!(
            header(&r, "content-type").as_deref(),
            Some("application/problem+json")
        );
    }
    // Several ranges, or nonsense: served whole.
    let r = get(Some("bytes=0-1,5-6")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 10_000);

    // Through the SDK.
    let mut got = Vec::new();
    let d = bob
        .download_file(
            info.id,
            Some(ByteRange::Span { start: 10, end: 19 }),
            &mut got,
            None,
        )
        .await
        .unwrap();
    assert_eq!((d.status, d.bytes), (206, 10));
    assert_eq!(got, body[10..20]);
}

/// A body that does not match its declared hash: 422, no object, no row.
pub async fn mismatch_on(server: &TestServer) {
    let (alice, conv, _) = pair(server).await;
    let before = objects(server).await;
    let body = random_bytes(7 * 1024 * 1024);
    let mut meta = upload_of(conv, &body);
    meta.content_hash = sha256_hex(b"something else");
    let e = alice
        .upload_file_from(&meta, std::io::Cursor::new(body), None, None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.kind()),
        (Some(422), Some("content-hash-mismatch")),
        "{e:?}"
    );
    assert_eq!(objects(server).await, before, "no object left");
    let rows = server.state.store.conversation_files(conv).await.unwrap();
    assert!(rows.is_empty(), "no row left");
}
