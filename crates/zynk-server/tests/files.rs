//! Encrypted files: round trip, ranges, authorization, refusals that leave
//! nothing behind, thumbnails, delete, the expiry and orphan jobs — on both
//! backend pairs, and the storage cases again against a real S3-compatible
//! server (`ZYNK_TEST_S3_ENDPOINT`); and a 200 MB upload and download
//! through the real `zynkd` binary, whose peak memory must stay flat.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/files_memory.rs"]
mod memory;
#[path = "common/files.rs"]
mod support;

use chrono::Utc;
use common::{Backend, TestServer, uid, user};
use support::*;
use zynk_sdk::ByteRange;
use zynk_server::blobs::Blobs;
use zynk_server::files_jobs;

backend_tests!(
    round_trip,
    ranges,
    hash_mismatch_leaves_nothing,
    oversize_leaves_nothing,
    invalid_metadata_refused,
    outsiders_get_404,
    thumbnails,
    delete_by_uploader_or_admin,
    expiry_job,
    orphan_job,
);

async fn round_trip(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    round_trip_on(&server).await;
}

async fn ranges(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    ranges_on(&server).await;
}

async fn hash_mismatch_leaves_nothing(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    mismatch_on(&server).await;
}

async fn oversize_leaves_nothing(b: Backend) {
    let server = TestServer::start(b, |c| c.max_file_bytes = 64 * 1024).await;
    let (alice, conv, _) = pair(&server).await;
    let body = random_bytes(200 * 1024);
    // Declared too large: refused before reading.
    let e = alice
        .upload_file_from(
            &upload_of(conv, &body),
            std::io::Cursor::new(body.clone()),
            Some(body.len() as u64),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.kind()),
        (Some(413), Some("file-too-large")),
        "{e:?}"
    );
    // Undeclared length: refused while streaming.
    let e = alice
        .upload_file_from(
            &upload_of(conv, &body),
            std::io::Cursor::new(body.clone()),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.kind()),
        (Some(413), Some("file-too-large")),
        "{e:?}"
    );
    // Exactly the limit is fine.
    let fits = random_bytes(64 * 1024);
    let info = alice
        .upload_file_from(
            &upload_of(conv, &fits),
            std::io::Cursor::new(fits.clone()),
            None,
            None,
        )
        .await
        .unwrap();
    let rows = server.state.store.conversation_files(conv).await.unwrap();
    assert_eq!(rows.len(), 1, "only the accepted file has a row");
    assert_eq!(objects(&server).await, vec![rows[0].storage_path.clone()]);
    assert_eq!(info.file_size, 64 * 1024);
    server.stop().await;
}

/// A change that makes an upload's metadata invalid.
type Change = Box<dyn Fn(&mut zynk_proto::FileUpload)>;

async fn invalid_metadata_refused(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, conv, _) = pair(&server).await;
    let body = random_bytes(1000);
    let cases: Vec<(&str, Change)> = vec![
        ("expires_in", Box::new(|u| u.expires_in = Some(100))),
        ("expires_in", Box::new(|u| u.expires_in = Some(31 * 86_400))),
        ("filename", Box::new(|u| u.filename = String::new())),
        ("mime_type", Box::new(|u| u.mime_type = "nonsense".into())),
        ("content_hash", Box::new(|u| u.content_hash = "ABC".into())),
        (
            "encryption_key_encrypted",
            Box::new(|u| u.encryption_key_encrypted = "!!".into()),
        ),
        (
            "metadata",
            Box::new(|u| u.metadata = Some(serde_json::json!([1, 2]))),
        ),
    ];
    for (field, change) in cases {
        let mut u = upload_of(conv, &body);
        change(&mut u);
        let e = alice
            .upload_file_from(&u, std::io::Cursor::new(body.clone()), None, None)
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(422), "{field}: {e:?}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    // Both ends of the expiry window are accepted.
    for secs in [3600, 30 * 86_400] {
        let mut u = upload_of(conv, &body);
        u.expires_in = Some(secs);
        let info = alice
            .upload_file_from(&u, std::io::Cursor::new(body.clone()), None, None)
            .await
            .unwrap();
        let left = (info.expires_at.unwrap() - Utc::now()).num_seconds();
        assert!((secs as i64 - 60..=secs as i64).contains(&left), "{left}");
    }
    // Without the metadata header, or with a body that is not octets.
    let http = reqwest::Client::new();
    let token = alice.tokens().unwrap().session_token.expose().to_owned();
    let r = http
        .post(format!("{}/v1/files", server.url))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let mut ascii = upload_of(conv, &body);
    ascii.filename = "photo.jpg".into();
    let r = http
        .post(format!("{}/v1/files", server.url))
        .bearer_auth(&token)
        .header("zynk-file-metadata", serde_json::to_string(&ascii).unwrap())
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    server.stop().await;
}

async fn outsiders_get_404(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, conv, _) = pair(&server).await;
    let (carol, _) = user(&server).await;
    let body = random_bytes(5000);
    let info = upload(&alice, conv, &body).await;
    alice
        .upload_thumbnail(info.id, random_bytes(100))
        .await
        .unwrap();
    let id = info.id;
    let mut sink = tokio::io::sink();
    let results = vec![
        ("info", carol.file(id).await.map(drop)),
        (
            "content",
            carol
                .download_file(id, None, &mut sink, None)
                .await
                .map(drop),
        ),
        (
            "range",
            carol
                .download_file(id, Some(ByteRange::From(1)), &mut sink, None)
                .await
                .map(drop),
        ),
        (
            "thumbnail",
            carol
                .download_thumbnail(id, None, &mut sink)
                .await
                .map(drop),
        ),
        (
            "put thumbnail",
            carol.upload_thumbnail(id, random_bytes(10)).await.map(drop),
        ),
        ("delete", carol.delete_file(id).await),
        (
            "upload",
            carol
                .upload_file_from(
                    &upload_of(conv, &body),
                    std::io::Cursor::new(body.clone()),
                    None,
                    None,
                )
                .await
                .map(drop),
        ),
    ];
    for (what, r) in results {
        let e = r.expect_err(what);
        assert_eq!(
            (e.status(), e.kind()),
            (Some(404), Some("not-found")),
            "{what}: {e:?}"
        );
    }
    // An unknown id is the same 404; the file is untouched.
    let e = alice.file(zynk_proto::FileId::new()).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(alice.file(id).await.unwrap(), info_with_thumb(&info));
    server.stop().await;
}

fn info_with_thumb(info: &zynk_proto::FileInfo) -> zynk_proto::FileInfo {
    zynk_proto::FileInfo {
        has_thumbnail: true,
        ..info.clone()
    }
}

async fn thumbnails(b: Backend) {
    let server = TestServer::start(b, |c| c.max_thumbnail_bytes = 4096).await;
    let (alice, conv, bob) = pair(&server).await;
    let info = upload(&alice, conv, &random_bytes(3000)).await;
    assert!(!info.has_thumbnail);
    let mut sink = tokio::io::sink();
    let e = bob
        .download_thumbnail(info.id, None, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "no thumbnail yet");
    let e = bob
        .upload_thumbnail(info.id, random_bytes(10))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "only the uploader");
    let e = alice
        .upload_thumbnail(info.id, random_bytes(5000))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(413), "{e:?}");
    let thumb = random_bytes(1500);
    let updated = alice
        .upload_thumbnail(info.id, thumb.clone())
        .await
        .unwrap();
    assert!(updated.has_thumbnail);
    let row = server.state.store.file(info.id).await.unwrap().unwrap();
    assert_eq!(
        row.thumbnail_path.as_deref(),
        Some(Blobs::thumbnail_key(info.id, info.created_at).as_str())
    );
    assert!(
        row.thumbnail_path
            .as_deref()
            .unwrap()
            .ends_with(&format!("{}_thumb.jpg", info.id))
    );
    let mut got = Vec::new();
    let d = bob
        .download_thumbnail(info.id, None, &mut got)
        .await
        .unwrap();
    assert_eq!((d.status, got.as_slice()), (200, thumb.as_slice()));
    let mut got = Vec::new();
    let d = bob
        .download_thumbnail(info.id, Some(ByteRange::Last(100)), &mut got)
        .await
        .unwrap();
    assert_eq!(d.status, 206);
    assert_eq!(d.content_range.as_deref(), Some("bytes 1400-1499/1500"));
    assert_eq!(got, thumb[1400..]);
    // A wrong hash header is refused and keeps the stored thumbnail.
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/v1/files/{}/thumbnail", server.url, info.id))
        .bearer_auth(alice.tokens().unwrap().session_token.expose())
        .header("content-type", "application/octet-stream")
        .header("zynk-content-hash", "0".repeat(64))
        .body(random_bytes(100))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let mut got = Vec::new();
    bob.download_thumbnail(info.id, None, &mut got)
        .await
        .unwrap();
    assert_eq!(got, thumb);
    server.stop().await;
}

async fn delete_by_uploader_or_admin(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, conv, bob) = pair(&server).await;
    let info = upload(&alice, conv, &random_bytes(2000)).await;
    alice
        .upload_thumbnail(info.id, random_bytes(50))
        .await
        .unwrap();
    assert_eq!(objects(&server).await.len(), 2);
    let e = bob.delete_file(info.id).await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    alice.delete_file(info.id).await.unwrap();
    assert_eq!(bob.file(info.id).await.unwrap_err().status(), Some(404));
    let mut sink = tokio::io::sink();
    let e = bob
        .download_file(info.id, None, &mut sink, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(objects(&server).await.is_empty(), "objects deleted too");
    assert_eq!(
        alice.delete_file(info.id).await.unwrap_err().status(),
        Some(404)
    );

    // In a group, an admin may delete a member's file; a member may not
    // delete another member's.
    let (carol, _) = user(&server).await;
    let group = alice
        .create_group(&zynk_proto::CreateGroup {
            name: "files".into(),
            description: None,
            avatar_url: None,
            member_ids: vec![uid(&bob), uid(&carol)],
        })
        .await
        .unwrap();
    let by_bob = upload(&bob, group.id, &random_bytes(100)).await;
    let e = carol.delete_file(by_bob.id).await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    alice.delete_file(by_bob.id).await.unwrap();
    assert_eq!(bob.file(by_bob.id).await.unwrap_err().status(), Some(404));
    assert!(objects(&server).await.is_empty());
    server.stop().await;
}

async fn expiry_job(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, conv, _) = pair(&server).await;
    let body = random_bytes(1000);
    let mut u = upload_of(conv, &body);
    u.expires_in = Some(3600);
    let expiring = alice
        .upload_file_from(&u, std::io::Cursor::new(body.clone()), None, None)
        .await
        .unwrap();
    alice
        .upload_thumbnail(expiring.id, random_bytes(10))
        .await
        .unwrap();
    let mut u = upload_of(conv, &body);
    u.expires_in = Some(7200);
    let later = alice
        .upload_file_from(&u, std::io::Cursor::new(body.clone()), None, None)
        .await
        .unwrap();
    let forever = upload(&alice, conv, &body).await;
    let state = &server.state;
    assert_eq!(
        files_jobs::delete_expired(state, Utc::now()).await.unwrap(),
        0
    );
    let in_90_min = Utc::now() + chrono::Duration::minutes(90);
    assert_eq!(
        files_jobs::delete_expired(state, in_90_min).await.unwrap(),
        1
    );
    let left: Vec<_> = state
        .store
        .conversation_files(conv)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(left, vec![later.id, forever.id]);
    let mut keys = objects(&server).await;
    keys.sort();
    let mut want = vec![
        Blobs::file_key(later.id, later.created_at),
        Blobs::file_key(forever.id, forever.created_at),
    ];
    want.sort();
    assert_eq!(
        keys, want,
        "the expired file's object and thumbnail are gone"
    );
    assert_eq!(
        alice.file(expiring.id).await.unwrap_err().status(),
        Some(404)
    );
    server.stop().await;
}

async fn orphan_job(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, conv, _) = pair(&server).await;
    let kept = upload(&alice, conv, &random_bytes(1000)).await;
    alice
        .upload_thumbnail(kept.id, random_bytes(10))
        .await
        .unwrap();
    let orphan = Blobs::file_key(zynk_proto::FileId::new(), Utc::now());
    let stray = "thumbnails/2020/01/not-a-file.jpg".to_owned();
    for key in [&orphan, &stray] {
        put_object(&server, key, b"orphaned").await;
    }
    let state = &server.state;
    // Just written: could be an upload whose row is on its way. Kept.
    assert_eq!(
        files_jobs::delete_orphans(state, Utc::now()).await.unwrap(),
        0
    );
    assert_eq!(objects(&server).await.len(), 4);
    // Past the grace period: the unreferenced ones go.
    let later = Utc::now() + chrono::Duration::hours(2);
    assert_eq!(files_jobs::delete_orphans(state, later).await.unwrap(), 2);
    let mut keys = objects(&server).await;
    keys.sort();
    let mut want = vec![
        Blobs::file_key(kept.id, kept.created_at),
        Blobs::thumbnail_key(kept.id, kept.created_at),
    ];
    want.sort();
    assert_eq!(keys, want);
    let mut got = Vec::new();
    alice
        .download_file(kept.id, None, &mut got, None)
        .await
        .unwrap();
    assert_eq!(got.len(), 1000);
    server.stop().await;
}

/// The storage cases against a real S3-compatible server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trip_ranges_and_mismatch() {
    let Some((endpoint, bucket)) = s3_settings() else {
        return;
    };
    let prefix = format!("t{}", uuid::Uuid::new_v4().simple());
    let server = TestServer::start(Backend::Embedded, |c| {
        c.s3_endpoint = Some(endpoint);
        c.s3_bucket = Some(bucket);
        c.files_key_prefix = prefix;
    })
    .await;
    assert_eq!(server.state.blobs.kind, "s3");
    round_trip_on(&server).await;
    ranges_on(&server).await;
    mismatch_on(&server).await;
    server.stop().await;
}
