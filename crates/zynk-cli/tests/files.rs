//! Files with the real `zynk` binary: send-file (an image with its
//! thumbnail, a 3 MB file), download on the other side with the bytes
//! checked, file messages in listen and history, and the failures
//! (unknown id, existing destination, ciphertext altered on the server).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{Server, of_type};
use sha2::{Digest, Sha256};

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A 600×400 PNG gradient.
fn write_png(path: &Path) {
    let img = image::RgbImage::from_fn(600, 400, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    img.save(path).unwrap();
}

/// `len` pseudo-random bytes (xorshift; no repetition a compressor could use).
fn write_random(path: &Path, len: usize) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    std::fs::write(path, bytes).unwrap();
}

/// The stored ciphertext of a file in the server's data directory.
fn stored(dir: &Path, file_id: &str) -> PathBuf {
    let name = format!("{file_id}.enc");
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name.as_str()) {
                return p;
            }
        }
    }
    panic!("no stored object {name} under {}", dir.display());
}

#[test]
fn send_and_download_files() {
    let server = Server::start();
    let alice = server.device();
    let bob = server.device();
    alice.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);
    let work = tempfile::tempdir().unwrap();
    let png = work.path().join("cat.png");
    write_png(&png);
    let big = work.path().join("big.bin");
    write_random(&big, 3 * 1024 * 1024 + 123);

    let sent_png = alice.json(&["send-file", "@bob", png.to_str().unwrap()]);
    assert_eq!(sent_png[0]["type"], "sent");
    assert_eq!(sent_png[0]["mime_type"], "image/png");
    assert_eq!(sent_png[0]["has_thumbnail"], true);
    let sent_big = alice.json(&["send-file", "@bob", big.to_str().unwrap()]);
    assert_eq!(sent_big[0]["has_thumbnail"], false);
    assert_eq!(sent_big[0]["size"], 3 * 1024 * 1024 + 123);
    let png_msg = sent_png[0]["id"].as_str().unwrap().to_owned();
    let big_file = sent_big[0]["file_id"].as_str().unwrap().to_owned();

    // Bob receives two file messages: descriptors without keys.
    let r = bob.run(&["--json", "listen", "--count", "2", "--timeout", "60"]);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        !r.stdout.contains("\"key\""),
        "no key is printed: {}",
        r.stdout
    );
    let got: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let messages = of_type(&got, "message");
    assert_eq!(messages.len(), 2, "{got:?}");
    assert_eq!(messages[0]["id"].as_str(), Some(png_msg.as_str()));
    assert_eq!(messages[0]["file"]["filename"], "cat.png");
    assert_eq!(messages[0]["file"]["thumbnail"]["width"], 256);
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("📎 cat.png (")
    );
    assert_eq!(messages[1]["file"]["file_id"].as_str(), Some(&*big_file));
    assert_eq!(messages[1]["file"]["size"], 3 * 1024 * 1024 + 123);

    // Downloads: by message id into the current directory, by file id to a path.
    let inbox = tempfile::tempdir().unwrap();
    let out = bob.ok_in(inbox.path(), &["download", &png_msg]);
    assert!(out.contains("Saved cat.png"), "{out}");
    assert_eq!(sha256(&inbox.path().join("cat.png")), sha256(&png));
    let e = bob.fails(&[
        "download",
        &png_msg,
        inbox.path().join("cat.png").to_str().unwrap(),
    ]);
    assert!(e.contains("--force"), "{e}");
    bob.ok_in(inbox.path(), &["download", &png_msg, "--force"]);
    let dest = inbox.path().join("copy.bin");
    let d = bob.json(&["download", &big_file, dest.to_str().unwrap()]);
    assert_eq!(d[0]["type"], "downloaded");
    assert_eq!(sha256(&dest), sha256(&big));

    // The thumbnail: a JPEG of at most 256 px.
    let thumb = inbox.path().join("thumb.jpg");
    bob.ok(&["download", "--thumbnail", &png_msg, thumb.to_str().unwrap()]);
    let t = image::open(&thumb).unwrap();
    assert_eq!((t.width(), t.height()), (256, 171));
    let e = bob.fails(&[
        "download",
        "--thumbnail",
        &big_file,
        inbox.path().join("x.jpg").to_str().unwrap(),
    ]);
    assert!(e.contains("no thumbnail"), "{e}");

    // History shows files readably; the sender downloads her own file too.
    let h = bob.ok(&["history", "@alice"]);
    assert!(h.contains("alice: 📎 cat.png ("), "{h}");
    assert!(h.contains("📎 big.bin (3.0 MiB)"), "{h}");
    let mine = alice.path().join("mine.png");
    alice.ok(&["download", &png_msg, mine.to_str().unwrap()]);
    assert_eq!(sha256(&mine), sha256(&png));

    // Unknown ids fail clearly.
    let unknown = uuid::Uuid::new_v4().to_string();
    let e = bob.fails(&["download", &unknown]);
    assert!(e.contains("no file message"), "{e}");
    let e = bob.fails(&["download", "not-an-id"]);
    assert!(e.contains("UUID"), "{e}");

    // Ciphertext altered on the server: refused, nothing written.
    let object = stored(&server.data_dir().join("files"), &big_file);
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&object, bytes).unwrap();
    let dest = inbox.path().join("tampered.bin");
    let e = bob.fails(&["download", &big_file, dest.to_str().unwrap()]);
    assert!(e.contains("altered"), "{e}");
    assert!(!dest.exists());
}

#[test]
fn send_file_errors() {
    let server = Server::start();
    let alice = server.device();
    alice.ok(&["register", "alice"]);
    let e = alice.fails(&["send-file", "@alice", "/nonexistent/file.txt"]);
    assert!(e.contains("not a file"), "{e}");
}
