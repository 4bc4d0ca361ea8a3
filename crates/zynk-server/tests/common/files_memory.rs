//! The flat-memory check: a 200 MB upload and download through the real
//! `zynkd` binary (a child process), whose peak RSS (`VmHWM`) must grow by
//! less than 64 MiB.

#![allow(clippy::unwrap_used)]

use crate::common;
use crate::common::uid;
use crate::support::{random_bytes, upload, upload_of};

/// `VmHWM` (peak) and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A 200 MB upload and download through the real `zynkd`: streamed from a
/// temporary file on the client, and the server's peak RSS grows by less
/// than 64 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_file_keeps_server_memory_flat() {
    const SIZE: u64 = 200 * 1000 * 1000;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_zynkd"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ZYNK_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .current_dir(dir.path())
        .env("ZYNK_LISTEN", format!("127.0.0.1:{port}"))
        .env("ZYNK_DATA_DIR", dir.path().join("data"))
        .env("ZYNK_PBKDF2_ITERATIONS", "1000")
        .env("ZYNK_MAX_FILE_BYTES", (SIZE + 1).to_string())
        .env("ZYNK_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let url = format!("http://127.0.0.1:{port}");
    let probe = zynk_sdk::Client::new(&url);
    let mut up = false;
    for _ in 0..200 {
        if probe
            .raw("GET", "/readyz", None, Vec::new())
            .await
            .is_ok_and(|r| r.status == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "zynkd did not start");
    let mut alice = zynk_sdk::Client::new(&url);
    alice
        .register(&common::registration(&common::unique("big")))
        .await
        .unwrap();
    let mut bob = zynk_sdk::Client::new(&url);
    bob.register(&common::registration(&common::unique("big")))
        .await
        .unwrap();
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    // Warm up the upload and download paths with a small file.
    let small = random_bytes(6 << 20);
    let warm = upload(&alice, conv, &small).await;
    bob.download_file(warm.id, None, &mut tokio::io::sink(), None)
        .await
        .unwrap();

    // The big file, written to disk in 1 MiB blocks and hashed on the way.
    let path = dir.path().join("big.bin");
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block = random_bytes(1 << 20);
        let mut left = SIZE;
        let mut i = 0u8;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            let mut chunk = block[..n].to_vec();
            chunk[0] = i; // no two blocks alike
            i = i.wrapping_add(1);
            sha2::Digest::update(&mut hasher, &chunk);
            f.write_all(&chunk).unwrap();
            left -= n as u64;
        }
        f.flush().unwrap();
    }
    let hash: String = sha2::Digest::finalize(hasher)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (hwm_before, rss_before) = memory_kib(pid);
    let mut meta = upload_of(conv, b"");
    meta.content_hash = hash.clone();
    let started = std::time::Instant::now();
    let info = alice.upload_file(&meta, &path, None).await.unwrap();
    let upload_secs = started.elapsed().as_secs_f64();
    assert_eq!(info.file_size, SIZE);
    let (hwm_upload, rss_upload) = memory_kib(pid);
    let started = std::time::Instant::now();
    let mut sink = HashSink(<sha2::Sha256 as sha2::Digest>::new(), 0);
    let d = bob
        .download_file(info.id, None, &mut sink, None)
        .await
        .unwrap();
    let download_secs = started.elapsed().as_secs_f64();
    assert_eq!((d.status, d.bytes, sink.1), (200, SIZE, SIZE));
    let got: String = sha2::Digest::finalize(sink.0)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, hash);
    let (hwm_after, rss_after) = memory_kib(pid);
    eprintln!(
        "zynkd memory (KiB): before VmHWM {hwm_before} VmRSS {rss_before}; after upload \
         VmHWM {hwm_upload} VmRSS {rss_upload} ({upload_secs:.1} s); after download VmHWM \
         {hwm_after} VmRSS {rss_after} ({download_secs:.1} s); peak growth {} KiB",
        hwm_after - hwm_before
    );
    child.kill().ok();
    child.wait().ok();
    assert!(
        hwm_after - hwm_before < 64 * 1024,
        "peak RSS grew by {} KiB",
        hwm_after - hwm_before
    );
}

/// An `AsyncWrite` that hashes and counts what it is given.
struct HashSink(sha2::Sha256, u64);

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        sha2::Digest::update(&mut self.0, buf);
        self.1 += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
