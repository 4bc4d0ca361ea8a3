//! Message anchors: the writer's "unanchored" queue, recording an anchor
//! with its proofs atomically, and reading a message's proof back.

use uuid::Uuid;
use zynk_store::{AnchorRecord, MessageProofRecord, StoreError};

use crate::msg_support::{base, secs, send};
use crate::support::{Harness, register};

conformance!(anchors_record_proofs_and_leave_the_queue);

fn anchor(root: char, count: i32, at: chrono::DateTime<chrono::Utc>) -> AnchorRecord {
    AnchorRecord {
        id: Uuid::new_v4(),
        merkle_root: root.to_string().repeat(64),
        message_count: count,
        transaction_hash: format!("0x{}", "c".repeat(64)),
        block_number: 3,
        anchored_at: at,
    }
}

async fn anchors_record_proofs_and_leave_the_queue(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let m1 = send(store, c.id, &alice, secs(t, 1)).await;
    let m2 = send(store, c.id, &bob, secs(t, 2)).await;
    let m3 = send(store, c.id, &alice, secs(t, 3)).await;
    let gone = send(store, c.id, &alice, secs(t, 4)).await;
    store
        .delete_message(gone.id, secs(t, 5))
        .await
        .expect("delete")
        .expect("deleted");

    // Oldest first, deleted excluded, limited.
    let queue = store.unanchored_messages(10).await.expect("unanchored");
    assert_eq!(
        queue,
        vec![
            (m1.id, m1.created_at, m1.content_hash.clone()),
            (m2.id, m2.created_at, m2.content_hash.clone()),
            (m3.id, m3.created_at, m3.content_hash.clone()),
        ]
    );
    assert_eq!(store.unanchored_messages(2).await.expect("limit").len(), 2);
    assert_eq!(store.message_proof(m1.id).await.expect("proof"), None);

    let a = anchor('a', 2, secs(t, 10));
    let proofs: Vec<MessageProofRecord> = [&m1, &m2]
        .iter()
        .enumerate()
        .map(|(i, m)| MessageProofRecord {
            message_id: m.id,
            message_created_at: m.created_at,
            content_hash: m.content_hash.clone(),
            leaf_index: i as i64,
            proof: vec!["d".repeat(64), format!("{i:064}")],
        })
        .collect();
    store.record_anchor(&a, &proofs).await.expect("record");
    let queue = store.unanchored_messages(10).await.expect("unanchored");
    assert_eq!(queue, vec![(m3.id, m3.created_at, m3.content_hash.clone())]);
    let (p, got) = store
        .message_proof(m2.id)
        .await
        .expect("proof")
        .expect("anchored");
    assert_eq!(p, proofs[1]);
    assert_eq!(got, a);

    // The same root again is a conflict and records nothing.
    let again = anchor('a', 1, secs(t, 11));
    let p3 = MessageProofRecord {
        message_id: m3.id,
        message_created_at: m3.created_at,
        content_hash: m3.content_hash.clone(),
        leaf_index: 0,
        proof: vec![],
    };
    let err = store
        .record_anchor(&again, std::slice::from_ref(&p3))
        .await
        .expect_err("duplicate root");
    assert!(
        matches!(err, StoreError::Conflict("merkle_root")),
        "{err:?}"
    );
    assert_eq!(store.message_proof(m3.id).await.expect("proof"), None);
    assert_eq!(h.raw.count("message_anchors").await, 1);

    // An already-anchored message keeps its first proof.
    let b = anchor('b', 2, secs(t, 12));
    let mut dup = proofs[0].clone();
    dup.leaf_index = 1;
    store.record_anchor(&b, &[p3, dup]).await.expect("record");
    let (p1, a1) = store.message_proof(m1.id).await.expect("p").expect("a");
    assert_eq!((p1.leaf_index, a1.merkle_root), (0, a.merkle_root.clone()));
    let (_, a3) = store.message_proof(m3.id).await.expect("p").expect("a");
    assert_eq!(a3, b);
    assert!(store.unanchored_messages(10).await.expect("q").is_empty());
}
