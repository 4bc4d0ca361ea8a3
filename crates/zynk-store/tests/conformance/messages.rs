//! Messages: group-committed, idempotent sends with their delivery rows,
//! history pages, edit, delete and reactions.

use std::collections::BTreeSet;

use chrono::Duration;
use zynk_proto::{ConversationId, DeviceId, MessageId, MessageStatus, UserId};
use zynk_store::{Inserted, StoreError};

use crate::msg_support::{
    base, created, deliveries_of, new_message, rows_of, second_device, secs, send, send_at,
};
use crate::support::{Harness, hash, register};

conformance!(
    insert_messages_deduplicates_and_fans_out,
    history_pages_newest_first,
    edit_only_by_sender_while_live,
    delete_wipes_content_and_deliveries,
    reactions_add_remove_and_race,
);

async fn insert_messages_deduplicates_and_fans_out(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let alice2 = second_device(store, &alice, "fp-alice-2").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let bob2 = second_device(store, &bob, "fp-bob-0002").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");

    let first = new_message(c.id, &alice);
    let second = new_message(c.id, &alice);
    let mut retry = new_message(c.id, &alice);
    retry.client_message_id = first.client_message_id;
    // The same client id from another device is another message.
    let mut other_device = new_message(c.id, &alice);
    other_device.sender_device_id = alice2.id;
    other_device.client_message_id = first.client_message_id;
    let at = secs(t, 10);
    let out = store
        .insert_messages(vec![first.clone(), second.clone(), retry, other_device], at)
        .await
        .expect("insert");
    assert_eq!(out.len(), 4);
    let m1 = created(&out[0]).clone();
    assert_eq!(m1.id, first.id);
    assert_eq!((m1.status, m1.created_at), (MessageStatus::Sent, at));
    assert_eq!(
        (m1.sender_id, m1.sender_device_id),
        (alice.user, Some(alice.device.id))
    );
    assert_eq!(m1.client_message_id, Some(first.client_message_id));
    assert_eq!(
        (m1.encrypted_content.clone(), m1.content_hash.clone()),
        (first.encrypted_content, first.content_hash)
    );
    assert_eq!(created(&out[1]).id, second.id);
    assert_eq!(
        out[2],
        Inserted::Duplicate(m1.clone()),
        "a retry inside the batch"
    );
    assert_eq!(created(&out[3]).sender_device_id, Some(alice2.id));

    // A retry in a later batch.
    let mut later = new_message(c.id, &alice);
    later.client_message_id = second.client_message_id;
    let out = store
        .insert_messages(vec![later], secs(t, 20))
        .await
        .expect("insert");
    assert!(
        matches!(&out[0], Inserted::Duplicate(m) if m.id == second.id),
        "{out:?}"
    );
    assert_eq!(h.raw.count("messages").await, 3);
    assert_eq!(h.raw.count("message_idempotency").await, 3);
    assert_eq!(
        store.message(m1.id).await.expect("message"),
        Some(m1.clone())
    );

    // Deliveries: both of Bob's devices and Alice's other device.
    let devices = [
        alice.device.id,
        alice2.id,
        bob.device.id,
        bob2.id,
        carol.device.id,
    ];
    assert_eq!(per_device(&h, &devices, m1.id).await, [0, 1, 1, 1, 0]);
    assert_eq!(per_device(&h, &devices, second.id).await, [0, 1, 1, 1, 0]);
    assert_eq!(h.raw.count("deliveries").await, 9);
    let summary = store
        .conversation_of(bob.user, c.id, secs(t, 30))
        .await
        .expect("get");
    assert_eq!(summary.map(|s| s.conversation.updated_at), Some(at));

    let err = store
        .insert_messages(vec![new_message(ConversationId::new(), &alice)], at)
        .await;
    assert!(
        matches!(err, Err(StoreError::Missing("conversation"))),
        "{err:?}"
    );
    assert_eq!(
        h.raw.count("messages").await,
        3,
        "the failed batch left nothing"
    );
}

/// Delivery rows of the message for each device.
async fn per_device(h: &Harness, devices: &[DeviceId], message: MessageId) -> Vec<i64> {
    let mut counts = Vec::new();
    for device in devices {
        let sql = format!(
            "SELECT count(*) FROM deliveries WHERE device_id = {} AND message_id = {}",
            h.raw.uuid(device.0),
            h.raw.uuid(message.0)
        );
        counts.push(h.raw.int(&sql).await);
    }
    counts
}

async fn history_pages_newest_first(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let m0 = send(store, c.id, &alice, secs(t, 1)).await;
    // Three at one instant: the id breaks the tie.
    let batch = vec![
        new_message(c.id, &bob),
        new_message(c.id, &alice),
        new_message(c.id, &bob),
    ];
    let same: Vec<_> = store
        .insert_messages(batch, secs(t, 2))
        .await
        .expect("insert")
        .iter()
        .map(|m| created(m).id)
        .collect();
    let deleted = send(store, c.id, &alice, secs(t, 3)).await;
    store
        .delete_message(deleted.id, secs(t, 4))
        .await
        .expect("delete");
    let mut expiring = new_message(c.id, &bob);
    expiring.expires_at = Some(secs(t, 50));
    let expired = send_at(store, expiring, secs(t, 5)).await;
    let mut lasting = new_message(c.id, &bob);
    lasting.expires_at = Some(t + Duration::days(1));
    let m6 = send_at(store, lasting, secs(t, 6)).await;

    let mut tied = same.clone();
    tied.sort_by(|a, b| b.cmp(a));
    let mut expected = vec![m6.id];
    expected.extend(tied);
    expected.push(m0.id);

    let now = secs(t, 60);
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.history(c.id, cursor, 2, now).await.expect("history");
        let Some(last) = page.last() else { break };
        cursor = Some((last.created_at, last.id));
        pages.push(page);
        assert!(pages.len() <= 5, "paging does not end");
    }
    let ids: Vec<_> = pages.iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, expected);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages[0][0], m6, "full rows");
    // Before the expiry, the expiring message is there.
    let early = store
        .history(c.id, None, 10, secs(t, 40))
        .await
        .expect("history");
    assert!(early.iter().any(|m| m.id == expired.id));
    assert!(!early.iter().any(|m| m.id == deleted.id));
    assert_eq!(
        store.history(c.id, None, 0, now).await.expect("history"),
        []
    );
    let empty = store
        .history(ConversationId::new(), None, 10, now)
        .await
        .expect("history");
    assert_eq!(empty, []);
}

async fn edit_only_by_sender_while_live(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let m = send(store, c.id, &alice, secs(t, 1)).await;
    let new_hash = hash();
    let by_bob = store
        .edit_message(m.id, bob.user, b"evil".to_vec(), &new_hash, secs(t, 2))
        .await
        .expect("edit");
    assert_eq!(by_bob, None, "only the sender edits");
    let edited = store
        .edit_message(m.id, alice.user, b"better".to_vec(), &new_hash, secs(t, 3))
        .await
        .expect("edit")
        .expect("edited");
    assert_eq!(edited.encrypted_content, b"better");
    assert_eq!(
        (edited.content_hash.as_str(), edited.edited_at),
        (new_hash.as_str(), Some(secs(t, 3)))
    );
    assert_eq!(store.message(m.id).await.expect("message"), Some(edited));

    let mut expiring = new_message(c.id, &alice);
    expiring.expires_at = Some(secs(t, 10));
    let e = send_at(store, expiring, secs(t, 4)).await;
    let late = store
        .edit_message(e.id, alice.user, b"x".to_vec(), &new_hash, secs(t, 10))
        .await;
    assert_eq!(late.expect("edit"), None, "expired");
    store
        .delete_message(m.id, secs(t, 5))
        .await
        .expect("delete");
    let gone = store
        .edit_message(m.id, alice.user, b"x".to_vec(), &new_hash, secs(t, 6))
        .await;
    assert_eq!(gone.expect("edit"), None, "deleted");
}

async fn delete_wipes_content_and_deliveries(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let m = send(store, c.id, &alice, secs(t, 1)).await;
    let kept = send(store, c.id, &alice, secs(t, 2)).await;
    assert_eq!(rows_of(&h, "deliveries", &m).await, 1);
    let deleted = store
        .delete_message(m.id, secs(t, 3))
        .await
        .expect("delete")
        .expect("exists");
    assert_eq!(
        (deleted.encrypted_content.len(), deleted.deleted_at),
        (0, Some(secs(t, 3)))
    );
    assert_eq!(deleted.content_hash, m.content_hash);
    assert_eq!(store.message(m.id).await.expect("message"), Some(deleted));
    assert_eq!(rows_of(&h, "deliveries", &m).await, 0);
    assert_eq!(
        deliveries_of(&h, bob.device.id).await,
        1,
        "other deliveries stay"
    );
    assert_eq!(rows_of(&h, "deliveries", &kept).await, 1);
    let missing = store
        .delete_message(MessageId::new(), t)
        .await
        .expect("delete");
    assert_eq!(missing, None);
}

async fn reactions_add_remove_and_race(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let m = send(store, c.id, &alice, secs(t, 1)).await;
    let react = |user, emoji: &'static str, add| store.set_reaction(m.id, user, emoji, add);
    react(bob.user, "👍", true).await.expect("react");
    react(bob.user, "👍", true).await.expect("react");
    let r = react(alice.user, "👍", true)
        .await
        .expect("react")
        .expect("exists");
    let mut both = vec![alice.user, bob.user];
    both.sort();
    assert_eq!(
        r.metadata.reactions.get("👍"),
        Some(&both),
        "sorted and unique"
    );
    react(bob.user, "❤", true).await.expect("react");
    let r = react(bob.user, "❤", false)
        .await
        .expect("react")
        .expect("exists");
    assert!(
        !r.metadata.reactions.contains_key("❤"),
        "an emoji nobody uses goes"
    );
    let r = react(alice.user, "👍", false)
        .await
        .expect("react")
        .expect("exists");
    assert_eq!(r.metadata.reactions.get("👍"), Some(&vec![bob.user]));
    assert_eq!(
        store.message(m.id).await.expect("get").map(|m| m.metadata),
        Some(r.metadata)
    );
    let none = store
        .set_reaction(MessageId::new(), bob.user, "👍", true)
        .await;
    assert_eq!(none.expect("react"), None);

    // Ten users at once: nobody's reaction is lost.
    let users: Vec<UserId> = (0..10).map(|_| UserId::new()).collect();
    let tasks: Vec<_> = users
        .iter()
        .map(|user| {
            let (store, user, id) = (h.store.clone(), *user, m.id);
            tokio::spawn(async move { store.set_reaction(id, user, "🎉", true).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("react");
    }
    let r = store.message(m.id).await.expect("get").expect("exists");
    let party = r.metadata.reactions.get("🎉").cloned().unwrap_or_default();
    assert_eq!(party.len(), 10, "{party:?}");
    assert_eq!(
        party.iter().copied().collect::<BTreeSet<_>>(),
        users.into_iter().collect()
    );
    assert!(party.is_sorted());
}
