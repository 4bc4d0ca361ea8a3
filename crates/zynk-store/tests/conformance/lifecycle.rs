//! The device-to-device inbox, the message lifecycle, and what removing a
//! device takes with it.

use chrono::Duration;
use zynk_proto::{DeviceId, DeviceMessageId};
use zynk_store::{LifecycleReport, StoreError};

use crate::msg_support::{
    base, deliveries_of, device_message, new_message, rows_of, second_device, secs, send, send_at,
};
use crate::support::{Harness, register};

conformance!(
    device_messages_inbox,
    lifecycle_purges_each_category,
    deleting_a_device_drops_its_deliveries,
);

async fn device_messages_inbox(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let to = bob.device.id;
    let batch = vec![
        device_message(to, &alice, secs(t, 2)),
        device_message(to, &alice, secs(t, 1)),
        device_message(to, &alice, secs(t, 1)),
    ];
    let stored = store
        .insert_device_messages(batch.clone())
        .await
        .expect("insert");
    assert_eq!(stored.len(), 3);
    assert!(
        stored.iter().all(|m| m.recipient_user_id == bob.user),
        "owner filled in"
    );
    assert_eq!(stored[0].payload, b"sealed");

    let mut order: Vec<_> = stored.clone();
    order.sort_by_key(|m| (m.created_at, m.id));
    let page = store
        .pending_device_messages(to, None, 2)
        .await
        .expect("pending");
    assert_eq!(page, order[..2]);
    let cursor = Some((page[1].created_at, page[1].id));
    let rest = store
        .pending_device_messages(to, cursor, 2)
        .await
        .expect("pending");
    assert_eq!(rest, order[2..]);
    let none = store
        .pending_device_messages(alice.device.id, None, 10)
        .await
        .expect("pending");
    assert_eq!(none, []);

    // An unknown device fails the whole batch.
    let bad = vec![
        device_message(to, &alice, t),
        device_message(DeviceId::new(), &alice, t),
    ];
    let err = store.insert_device_messages(bad).await;
    assert!(matches!(err, Err(StoreError::Missing("device"))), "{err:?}");
    assert_eq!(h.raw.count("device_messages").await, 3);

    // Acks: only the recipient device's, unknown ids ignored.
    let wrong = store
        .ack_device_messages(alice.device.id, &[order[0].id])
        .await
        .expect("ack");
    assert_eq!(wrong, 0);
    let acked = [order[0].id, order[1].id, DeviceMessageId::new()];
    assert_eq!(store.ack_device_messages(to, &acked).await.expect("ack"), 2);
    let left = store
        .pending_device_messages(to, None, 10)
        .await
        .expect("pending");
    assert_eq!(left, order[2..]);
}

async fn lifecycle_purges_each_category(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    let day = Duration::days(1);
    let c = store
        .one_to_one(alice.user, bob.user, t - day * 40)
        .await
        .expect("1:1");

    let mut e = new_message(c.id, &alice);
    e.expires_at = Some(secs(t, 5));
    let expired = send_at(store, e, secs(t, 1)).await;
    let mut l = new_message(c.id, &alice);
    l.expires_at = Some(t + day);
    let lasting = send_at(store, l, secs(t, 1)).await;
    let undelivered = send(store, c.id, &alice, t - day * 40).await;
    let delivered_old = send(store, c.id, &alice, t - day * 40).await;
    store
        .ack_deliveries(bob.device.id, bob.user, &[delivered_old.id], t - day * 39)
        .await
        .expect("ack");
    let deleted_old = send(store, c.id, &alice, t - day * 33).await;
    store
        .ack_deliveries(bob.device.id, bob.user, &[deleted_old.id], t - day * 33)
        .await
        .expect("ack");
    store
        .delete_message(deleted_old.id, t - day * 31)
        .await
        .expect("delete");
    let deleted_recent = send(store, c.id, &alice, t - day * 2).await;
    store
        .ack_deliveries(bob.device.id, bob.user, &[deleted_recent.id], t - day * 2)
        .await
        .expect("ack");
    store
        .delete_message(deleted_recent.id, t - day)
        .await
        .expect("delete");
    let recent = send(store, c.id, &alice, t - day).await;
    let old_dm = device_message(bob.device.id, &alice, t - day * 31);
    let new_dm = device_message(bob.device.id, &alice, t - day * 29);
    store
        .insert_device_messages(vec![old_dm, new_dm.clone()])
        .await
        .expect("insert");
    assert_eq!(rows_of(&h, "deliveries", &expired).await, 1);
    assert_eq!(rows_of(&h, "message_receipts", &deleted_old).await, 1);

    let bound = t - day * 30;
    let report = store
        .run_lifecycle(secs(t, 60), bound, bound, bound)
        .await
        .expect("lifecycle");
    let expected = LifecycleReport {
        expired: 1,
        undelivered: 1,
        purged_deleted: 1,
        device_messages: 1,
    };
    assert_eq!(report, expected);
    for gone in [&expired, &undelivered, &deleted_old] {
        assert_eq!(store.message(gone.id).await.expect("message"), None);
        for table in ["deliveries", "message_receipts", "message_idempotency"] {
            assert_eq!(
                rows_of(&h, table, gone).await,
                0,
                "{table} of a purged message"
            );
        }
    }
    for kept in [&lasting, &delivered_old, &deleted_recent, &recent] {
        assert!(
            store.message(kept.id).await.expect("message").is_some(),
            "{:?} kept",
            kept.id
        );
    }
    assert_eq!(h.raw.count("messages").await, 4);
    let dms = store
        .pending_device_messages(bob.device.id, None, 10)
        .await
        .expect("pending");
    assert_eq!(dms.iter().map(|m| m.id).collect::<Vec<_>>(), [new_dm.id]);
    // A second run finds nothing.
    let again = store
        .run_lifecycle(secs(t, 60), bound, bound, bound)
        .await
        .expect("lifecycle");
    assert_eq!(again, LifecycleReport::default());
}

async fn deleting_a_device_drops_its_deliveries(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let bob2 = second_device(store, &bob, "fp-bob-0002").await;
    let t = base();
    let c = store
        .one_to_one(alice.user, bob.user, t)
        .await
        .expect("1:1");
    send(store, c.id, &alice, secs(t, 1)).await;
    send(store, c.id, &alice, secs(t, 2)).await;
    store
        .insert_device_messages(vec![device_message(bob2.id, &alice, t)])
        .await
        .expect("insert");
    assert_eq!(deliveries_of(&h, bob2.id).await, 2);
    store
        .delete_device(bob.user, bob2.id)
        .await
        .expect("delete")
        .expect("existed");
    assert_eq!(deliveries_of(&h, bob2.id).await, 0);
    assert_eq!(
        deliveries_of(&h, bob.device.id).await,
        2,
        "the other device keeps its own"
    );
    assert_eq!(h.raw.count("device_messages").await, 0);
}
