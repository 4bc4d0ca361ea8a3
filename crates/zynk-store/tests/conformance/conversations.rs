//! Conversations: 1:1 get-or-create, a user's list with activity and unread
//! counts, participants and contacts.

use std::collections::BTreeSet;

use chrono::Duration;
use zynk_proto::{ConversationKind, Role, UserId};
use zynk_store::StoreError;

use crate::msg_support::{base, group, new_message, secs, send, send_at};
use crate::support::{Harness, register};

conformance!(
    one_to_one_is_get_or_create,
    one_to_one_is_race_safe,
    conversations_of_orders_by_activity_and_counts_unread,
    contacts_are_users_sharing_a_conversation,
);

async fn one_to_one_is_get_or_create(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let first = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("create");
    assert_eq!(first.kind, ConversationKind::OneToOne);
    assert_eq!((first.created_at, first.updated_at), (t, t));
    let again = store
        .one_to_one(bob.user, alice.user, secs(t, 5))
        .await
        .expect("get");
    assert_eq!(again, first, "either order finds the same conversation");
    assert_eq!(h.raw.count("conversations").await, 1);

    let participants = store.participants(first.id).await.expect("participants");
    let users: BTreeSet<_> = participants.iter().map(|p| p.user_id).collect();
    assert_eq!(users, BTreeSet::from([alice.user, bob.user]));
    assert!(
        participants
            .iter()
            .all(|p| p.role == Role::Member && p.joined_at == t)
    );
    assert!(participants.iter().all(|p| p.last_read_at.is_none()));

    let err = store.one_to_one(alice.user, UserId::new(), t).await;
    assert!(matches!(err, Err(StoreError::Missing("user"))), "{err:?}");
    assert_eq!(h.raw.count("conversations").await, 1, "nothing left behind");
}

async fn one_to_one_is_race_safe(h: Harness) {
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let bob = register(&*h.store, "bob", "fp-bob-0001").await;
    let t = base();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = h.store.clone();
            let (a, b) = if i % 2 == 0 {
                (alice.user, bob.user)
            } else {
                (bob.user, alice.user)
            };
            tokio::spawn(async move { store.one_to_one(a, b, t).await })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.insert(task.await.expect("task").expect("one_to_one").id);
    }
    assert_eq!(
        ids.len(),
        1,
        "concurrent calls got different conversations: {ids:?}"
    );
    assert_eq!(h.raw.count("conversations").await, 1);
    assert_eq!(h.raw.count("conversation_participants").await, 2);
}

async fn conversations_of_orders_by_activity_and_counts_unread(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let t = base();
    let with_bob = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let with_carol = store
        .one_to_one(alice.user, carol.user, secs(t, 1))
        .await
        .expect("1:1");
    let friends = group(store, alice.user, &[bob.user], secs(t, 2)).await;
    let quiet = store
        .one_to_one(bob.user, carol.user, secs(t, 3))
        .await
        .expect("1:1");

    // Bob writes twice, Alice once, to Alice and Bob.
    send(store, with_bob.id, &bob, secs(t, 10)).await;
    let last_bob = send(store, with_bob.id, &bob, secs(t, 11)).await;
    send(store, with_bob.id, &alice, secs(t, 12)).await;
    // Carol's newest is deleted, another one has expired: neither counts.
    send(store, with_carol.id, &carol, secs(t, 20)).await;
    let deleted = send(store, with_carol.id, &carol, secs(t, 21)).await;
    store
        .delete_message(deleted.id, secs(t, 22))
        .await
        .expect("delete");
    let mut expiring = new_message(with_carol.id, &carol);
    expiring.expires_at = Some(secs(t, 25));
    send_at(store, expiring, secs(t, 23)).await;
    // The group is newest.
    send(store, friends.id, &bob, secs(t, 30)).await;

    let now = secs(t, 100);
    let list = store.conversations_of(alice.user, now).await.expect("list");
    let ids: Vec<_> = list.iter().map(|c| c.conversation.id).collect();
    assert_eq!(
        ids,
        [friends.id, with_carol.id, with_bob.id],
        "newest activity first"
    );
    let [group_entry, carol_entry, bob_entry] = &list[..] else {
        panic!("three conversations expected")
    };
    assert_eq!(group_entry.group_name.as_deref(), Some("friends"));
    assert_eq!(group_entry.conversation.kind, ConversationKind::Group);
    assert_eq!(
        (group_entry.last_message_at, group_entry.unread_count),
        (Some(secs(t, 30)), 1)
    );
    assert_eq!(carol_entry.group_name, None);
    assert_eq!(
        (carol_entry.last_message_at, carol_entry.unread_count),
        (Some(secs(t, 20)), 1)
    );
    assert_eq!(
        (bob_entry.last_message_at, bob_entry.unread_count),
        (Some(secs(t, 12)), 2)
    );
    assert_eq!(
        bob_entry.conversation.updated_at,
        secs(t, 12),
        "sending bumps updated_at"
    );

    // Reading up to Bob's last message leaves nothing unread there.
    store
        .mark_read(alice.user, with_bob.id, last_bob.created_at, now)
        .await
        .expect("mark_read")
        .expect("participant");
    let one = store
        .conversation_of(alice.user, with_bob.id, now)
        .await
        .expect("one");
    assert_eq!(one.map(|c| c.unread_count), Some(0));
    let carol_view = store
        .conversation_of(carol.user, with_carol.id, now)
        .await
        .expect("one");
    assert_eq!(
        carol_view.map(|c| c.unread_count),
        Some(0),
        "own messages are never unread"
    );

    // Without messages, updated_at orders; not a participant: not found.
    let bobs = store.conversations_of(bob.user, now).await.expect("list");
    let bob_ids: Vec<_> = bobs.iter().map(|c| c.conversation.id).collect();
    assert_eq!(bob_ids, [friends.id, with_bob.id, quiet.id]);
    assert_eq!(bobs[2].last_message_at, None);
    let none = store
        .conversation_of(alice.user, quiet.id, now)
        .await
        .expect("one");
    assert_eq!(none, None);

    // Later, the expired message has gone from "now" too: never counted.
    let later = now + Duration::days(1);
    let carol_entry = store
        .conversation_of(alice.user, with_carol.id, later)
        .await
        .expect("one");
    assert_eq!(carol_entry.map(|c| c.unread_count), Some(1));
}

async fn contacts_are_users_sharing_a_conversation(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let dave = register(store, "dave", "fp-dave-001").await;
    let t = base();
    store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    group(store, alice.user, &[bob.user, carol.user], t).await;
    let mut expected = vec![bob.user, carol.user];
    expected.sort();
    assert_eq!(
        store.contacts(alice.user).await.expect("contacts"),
        expected
    );
    assert_eq!(store.contacts(carol.user).await.expect("contacts").len(), 2);
    assert_eq!(store.contacts(dave.user).await.expect("contacts"), []);
}
