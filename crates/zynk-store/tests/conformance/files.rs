//! Encrypted file rows: insert and read back, thumbnails, expiry listing,
//! lookups by id, deletion, and the refusals (unknown conversation, a taken
//! storage path).

#![allow(clippy::unwrap_used)]

use chrono::Duration;
use zynk_proto::{ConversationId, FileId, UserId};
use zynk_store::{FileRecord, StoreError};

use crate::support::{Harness, hash, micros, now, register};

conformance!(
    files_round_trip_and_delete,
    files_expire_and_are_found_by_id,
    files_refuse_unknown_conversations_and_taken_paths,
);

fn file(user: UserId, conversation: ConversationId, expires_in: Option<i64>) -> FileRecord {
    let id = FileId::new();
    let t = micros(now());
    FileRecord {
        id,
        uploader_id: user,
        conversation_id: conversation,
        filename: "été.jpg".into(),
        file_size: 3 << 30 >> 1,
        mime_type: "image/jpeg".into(),
        storage_path: format!("encrypted/2026/01/{id}.enc"),
        encryption_key_encrypted: vec![0, 1, 2, 255],
        content_hash: hash(),
        thumbnail_path: None,
        metadata: Some(serde_json::json!({"width": 1, "height": 2})),
        expires_at: expires_in.map(|s| t + Duration::seconds(s)),
        created_at: t,
        deleted_at: None,
    }
}

async fn files_round_trip_and_delete(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let conv = ConversationId(h.conversation(&[alice.user]).await);
    let f = file(alice.user, conv, None);
    store.insert_file(&f).await.unwrap();
    assert_eq!(store.file(f.id).await.unwrap(), Some(f.clone()));
    let with_thumb = store
        .set_file_thumbnail(f.id, "thumbnails/2026/01/x_thumb.jpg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        with_thumb.thumbnail_path.as_deref(),
        Some("thumbnails/2026/01/x_thumb.jpg")
    );
    assert_eq!(
        store.conversation_files(conv).await.unwrap(),
        vec![with_thumb]
    );
    assert_eq!(store.delete_files(&[f.id, FileId::new()]).await.unwrap(), 1);
    assert_eq!(store.file(f.id).await.unwrap(), None);
    assert_eq!(store.set_file_thumbnail(f.id, "t").await.unwrap(), None);
    assert_eq!(store.delete_files(&[f.id]).await.unwrap(), 0);
    assert_eq!(store.delete_files(&[]).await.unwrap(), 0);
}

async fn files_expire_and_are_found_by_id(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let conv = ConversationId(h.conversation(&[alice.user]).await);
    let soon = file(alice.user, conv, Some(3600));
    let later = file(alice.user, conv, Some(7200));
    let never = file(alice.user, conv, None);
    for f in [&soon, &later, &never] {
        store.insert_file(f).await.unwrap();
    }
    assert!(store.expired_files(now(), 10).await.unwrap().is_empty());
    let t = now() + Duration::hours(3);
    let ids: Vec<_> = store
        .expired_files(t, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, vec![soon.id, later.id], "longest expired first");
    assert_eq!(store.expired_files(t, 1).await.unwrap().len(), 1);
    let mut found: Vec<_> = store
        .files_by_ids(&[never.id, soon.id, FileId::new()])
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    found.sort();
    let mut want = vec![never.id, soon.id];
    want.sort();
    assert_eq!(found, want);
    assert!(store.files_by_ids(&[]).await.unwrap().is_empty());
}

async fn files_refuse_unknown_conversations_and_taken_paths(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let conv = ConversationId(h.conversation(&[alice.user]).await);
    let orphan = file(alice.user, ConversationId::new(), None);
    assert!(matches!(
        store.insert_file(&orphan).await,
        Err(StoreError::Missing("conversation"))
    ));
    let f = file(alice.user, conv, None);
    store.insert_file(&f).await.unwrap();
    let mut same_path = file(alice.user, conv, None);
    same_path.storage_path = f.storage_path.clone();
    assert!(matches!(
        store.insert_file(&same_path).await,
        Err(StoreError::Conflict("storage_path"))
    ));
    assert_eq!(store.conversation_files(conv).await.unwrap(), vec![f]);
}
