//! Delivery: the per-device inbox, acks and receipts, read markers with
//! privacy, the device-to-device inbox, the lifecycle, device removal.

use chrono::{Duration, Utc};
use zynk_proto::{MessageId, MessageStatus, PrivacySettings, UpdateProfile, UserId};
use zynk_store::{MessageRecord, StatusChange};

use crate::msg_support::{
    base, created, deliveries_of, group, new_message, rows_of, second_device, secs, send, send_at,
};
use crate::support::{Harness, register};

conformance!(
    pending_deliveries_in_order_from_a_cursor,
    acks_make_messages_delivered,
    mark_read_moves_forward_and_respects_privacy,
);

fn ids(messages: &[MessageRecord]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

fn change(m: &MessageRecord, status: MessageStatus) -> StatusChange {
    StatusChange {
        message_id: m.id,
        conversation_id: m.conversation_id,
        sender_id: m.sender_id,
        status,
    }
}

async fn status(h: &Harness, id: MessageId) -> MessageStatus {
    h.store
        .message(id)
        .await
        .expect("message")
        .expect("exists")
        .status
}

async fn pending_deliveries_in_order_from_a_cursor(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let mut expiring = new_message(c.id, &alice);
    expiring.expires_at = Some(secs(t, 5));
    let expired = send_at(store, expiring, secs(t, 1)).await;
    let m1 = send(store, c.id, &alice, secs(t, 2)).await;
    let out = store
        .insert_messages(
            vec![new_message(c.id, &alice), new_message(c.id, &alice)],
            secs(t, 3),
        )
        .await
        .expect("insert");
    let (mut a, mut b) = (created(&out[0]).id, created(&out[1]).id);
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    let deleted = send(store, c.id, &alice, secs(t, 4)).await;
    let m4 = send(store, c.id, &alice, secs(t, 5)).await;
    store
        .delete_message(deleted.id, secs(t, 6))
        .await
        .expect("delete");
    assert_eq!(
        deliveries_of(&h, alice.device.id).await,
        0,
        "not to the sending device"
    );

    let now = secs(t, 60);
    let device = bob.device.id;
    let page = store
        .pending_deliveries(device, None, 2, now)
        .await
        .expect("pending");
    assert_eq!(
        ids(&page),
        [m1.id, a],
        "oldest first, the expired one skipped"
    );
    assert_eq!(
        rows_of(&h, "deliveries", &expired).await,
        0,
        "and its delivery dropped"
    );
    let cursor = Some((page[1].created_at, page[1].id));
    let page = store
        .pending_deliveries(device, cursor, 2, now)
        .await
        .expect("pending");
    assert_eq!(ids(&page), [b, m4.id]);
    let cursor = Some((m4.created_at, m4.id));
    assert_eq!(
        store
            .pending_deliveries(device, cursor, 2, now)
            .await
            .expect("pending"),
        []
    );
    let all = store
        .pending_deliveries(device, None, 100, now)
        .await
        .expect("pending");
    assert_eq!(ids(&all), [m1.id, a, b, m4.id]);
    assert_eq!(all[0], m1, "full rows");
    // Acked ones are not sent again.
    store
        .ack_deliveries(device, bob.user, &[m1.id, a], now)
        .await
        .expect("ack");
    let rest = store
        .pending_deliveries(device, None, 100, now)
        .await
        .expect("pending");
    assert_eq!(ids(&rest), [b, m4.id]);
}

async fn acks_make_messages_delivered(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let alice2 = second_device(store, &alice, "fp-alice-2").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let bob2 = second_device(store, &bob, "fp-bob-0002").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let dave = register(store, "dave", "fp-dave-001").await;
    let t = base();
    let g = group(store, alice.user, &[bob.user, carol.user], t).await;
    let m = send(store, g.id, &alice, secs(t, 1)).await;
    let now = secs(t, 10);

    // The sender's other device: no receipt, no status change.
    let changes = store
        .ack_deliveries(alice2.id, alice.user, &[m.id], now)
        .await
        .expect("ack");
    assert_eq!(
        (changes, rows_of(&h, "message_receipts", &m).await),
        (vec![], 0)
    );
    // Bob on one device: Carol has not received it yet.
    let changes = store
        .ack_deliveries(bob.device.id, bob.user, &[m.id], now)
        .await
        .expect("ack");
    assert_eq!(
        (changes, rows_of(&h, "message_receipts", &m).await),
        (vec![], 1)
    );
    assert_eq!(status(&h, m.id).await, MessageStatus::Sent);
    // A device that never had it: ignored, no receipt.
    let changes = store
        .ack_deliveries(dave.device.id, dave.user, &[m.id], now)
        .await
        .expect("ack");
    assert_eq!(
        (changes, rows_of(&h, "message_receipts", &m).await),
        (vec![], 1)
    );
    // Carol, with an unknown id among hers: now everyone has it.
    let acked = [MessageId::new(), m.id];
    let changes = store
        .ack_deliveries(carol.device.id, carol.user, &acked, now)
        .await
        .expect("ack");
    assert_eq!(changes, [change(&m, MessageStatus::Delivered)]);
    assert_eq!(status(&h, m.id).await, MessageStatus::Delivered);
    // Bob's second device: nothing changes any more.
    let changes = store
        .ack_deliveries(bob2.id, bob.user, &[m.id], now)
        .await
        .expect("ack");
    assert_eq!(
        (changes, rows_of(&h, "message_receipts", &m).await),
        (vec![], 2)
    );
    assert_eq!(rows_of(&h, "deliveries", &m).await, 0);

    // Read before delivered: an ack does not move it back.
    let m2 = send(store, g.id, &alice, secs(t, 2)).await;
    for user in [bob.user, carol.user] {
        store
            .mark_read(user, g.id, secs(t, 2), now)
            .await
            .expect("read")
            .expect("participant");
    }
    assert_eq!(status(&h, m2.id).await, MessageStatus::Read);
    for (device, user) in [(bob.device.id, bob.user), (carol.device.id, carol.user)] {
        let changes = store
            .ack_deliveries(device, user, &[m2.id], now)
            .await
            .expect("ack");
        assert_eq!(changes, []);
    }
    assert_eq!(status(&h, m2.id).await, MessageStatus::Read);
}

async fn set_read_receipts(h: &Harness, user: UserId, on: bool) {
    let update = UpdateProfile {
        privacy_settings: Some(PrivacySettings {
            read_receipts: on,
            ..PrivacySettings::default()
        }),
        ..UpdateProfile::default()
    };
    let now = Utc::now();
    h.store
        .update_profile(user, &update, now)
        .await
        .expect("update")
        .expect("profile");
}

async fn mark_read_moves_forward_and_respects_privacy(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    let m1 = send(store, c.id, &alice, secs(t, 1)).await;
    let m2 = send(store, c.id, &alice, secs(t, 2)).await;
    let now = secs(t, 10);

    let changes = store
        .mark_read(bob.user, c.id, secs(t, 1), now)
        .await
        .expect("read");
    assert_eq!(changes, Some(vec![change(&m1, MessageStatus::Read)]));
    assert_eq!(status(&h, m2.id).await, MessageStatus::Sent);
    // The sender reading changes nothing for their own messages.
    let changes = store
        .mark_read(alice.user, c.id, secs(t, 5), now)
        .await
        .expect("read");
    assert_eq!(changes, Some(vec![]));
    // Never backwards.
    let changes = store.mark_read(bob.user, c.id, t, now).await.expect("read");
    assert_eq!(changes, Some(vec![]));
    let marker = |ps: Vec<zynk_store::ParticipantRecord>| {
        ps.into_iter()
            .find(|p| p.user_id == bob.user)
            .and_then(|p| p.last_read_at)
    };
    assert_eq!(
        marker(store.participants(c.id).await.expect("p")),
        Some(secs(t, 1))
    );
    // A marker in the future stops at now.
    let changes = store
        .mark_read(bob.user, c.id, now + Duration::days(1), now)
        .await
        .expect("read");
    assert_eq!(changes, Some(vec![change(&m2, MessageStatus::Read)]));
    assert_eq!(
        marker(store.participants(c.id).await.expect("p")),
        Some(now)
    );
    let outsider = store
        .mark_read(carol.user, c.id, now, now)
        .await
        .expect("read");
    assert_eq!(outsider, None);

    // In a group, every other participant must read, and allow receipts.
    let g = group(store, alice.user, &[bob.user, carol.user], t).await;
    set_read_receipts(&h, carol.user, false).await;
    let m = send(store, g.id, &alice, secs(t, 3)).await;
    let changes = store
        .mark_read(bob.user, g.id, secs(t, 3), now)
        .await
        .expect("read");
    assert_eq!(changes, Some(vec![]), "Carol has not read it");
    let changes = store
        .mark_read(carol.user, g.id, secs(t, 3), now)
        .await
        .expect("read");
    assert_eq!(changes, Some(vec![]), "Carol does not send read receipts");
    assert_eq!(status(&h, m.id).await, MessageStatus::Sent);
    // With receipts on again, the next move of a marker makes it read.
    set_read_receipts(&h, carol.user, true).await;
    let m3 = send(store, g.id, &alice, secs(t, 4)).await;
    store
        .mark_read(bob.user, g.id, secs(t, 4), now)
        .await
        .expect("read");
    let changes = store
        .mark_read(carol.user, g.id, secs(t, 4), now)
        .await
        .expect("read");
    assert_eq!(changes, Some(vec![change(&m3, MessageStatus::Read)]));
}
