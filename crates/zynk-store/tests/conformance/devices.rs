//! Devices: listing, lookup, update and removal, always scoped to a user.

use chrono::Duration;
use zynk_proto::DeviceId;
use zynk_store::DeviceUpdate;

use crate::support::{Harness, device, micros, now, register, session};

conformance!(
    devices_are_scoped_to_their_user,
    update_device_renames_and_sets_push_token,
    delete_device_takes_its_sessions,
    touch_device_records_activity,
);

async fn devices_are_scoped_to_their_user(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = now();
    let (second, _) = store
        .login(alice.user, device("fp-alice-2"), session(t), t)
        .await
        .expect("login");

    let devices = store.devices(alice.user).await.expect("devices");
    assert_eq!(devices, [alice.device.clone(), second.clone()]);
    let own = store.device(alice.user, second.id).await.expect("device");
    assert_eq!(own, Some(second));
    let others = store
        .device(alice.user, bob.device.id)
        .await
        .expect("device");
    assert_eq!(others, None, "another user's device is not found");
    let missing = store
        .device(alice.user, DeviceId::new())
        .await
        .expect("device");
    assert_eq!(missing, None);
    assert_eq!(
        store.devices(bob.user).await.expect("devices"),
        [bob.device]
    );
}

async fn update_device_renames_and_sets_push_token(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;

    let rename = DeviceUpdate {
        name: Some("laptop".to_owned()),
        push_token: None,
    };
    let d = store
        .update_device(alice.user, alice.device.id, &rename)
        .await
        .expect("update")
        .expect("alice's device");
    assert_eq!(d.name, "laptop");
    assert_eq!(d.push_token, alice.device.push_token, "absent keeps");

    let clear = DeviceUpdate {
        name: None,
        push_token: Some(None),
    };
    let d = store
        .update_device(alice.user, alice.device.id, &clear)
        .await
        .expect("update")
        .expect("alice's device");
    assert_eq!((d.name.as_str(), d.push_token.as_deref()), ("laptop", None));

    let set = DeviceUpdate {
        name: None,
        push_token: Some(Some("fcm-token".to_owned())),
    };
    let d = store
        .update_device(alice.user, alice.device.id, &set)
        .await
        .expect("update")
        .expect("alice's device");
    assert_eq!(d.push_token.as_deref(), Some("fcm-token"));
    assert_eq!(
        store
            .device(alice.user, alice.device.id)
            .await
            .expect("device"),
        Some(d)
    );

    // Alice cannot touch Bob's device.
    let theirs = store
        .update_device(alice.user, bob.device.id, &rename)
        .await
        .expect("update");
    assert_eq!(theirs, None);
    let bobs = store.device(bob.user, bob.device.id).await.expect("device");
    assert_eq!(bobs, Some(bob.device));
}

async fn delete_device_takes_its_sessions(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = now();
    let (_, second_session) = store
        .login(alice.user, device("fp-alice-1"), session(t), t)
        .await
        .expect("login on the same device");
    let (other_device, other_session) = store
        .login(alice.user, device("fp-alice-2"), session(t), t)
        .await
        .expect("login on another device");

    // Not Bob's device, whoever asks; Bob keeps everything.
    let refused = store
        .delete_device(alice.user, bob.device.id)
        .await
        .expect("delete");
    assert_eq!(refused, None);
    assert_eq!(store.devices(bob.user).await.expect("devices").len(), 1);
    let bobs = store
        .session_by_token(&bob.session.session_token_hash)
        .await;
    assert!(bobs.expect("session").is_some());

    let mut deleted = store
        .delete_device(alice.user, alice.device.id)
        .await
        .expect("delete")
        .expect("alice's device");
    deleted.sort_by_key(|s| s.created_at);
    let mut expected = vec![alice.session.clone(), second_session.clone()];
    expected.sort_by_key(|s| s.created_at);
    assert_eq!(deleted.len(), 2);
    for s in &expected {
        assert!(deleted.contains(s), "{s:?} was not returned");
        let gone = store
            .session_by_token(&s.session_token_hash)
            .await
            .expect("lookup");
        assert_eq!(gone, None);
    }
    assert_eq!(
        store.devices(alice.user).await.expect("devices"),
        [other_device]
    );
    let kept = store
        .session_by_token(&other_session.session_token_hash)
        .await;
    assert_eq!(kept.expect("lookup"), Some(other_session));

    let again = store
        .delete_device(alice.user, alice.device.id)
        .await
        .expect("delete");
    assert_eq!(again, None);
}

async fn touch_device_records_activity(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let later = now() + Duration::minutes(10);
    store
        .touch_device(alice.device.id, later)
        .await
        .expect("touch");
    let d = store
        .device(alice.user, alice.device.id)
        .await
        .expect("device")
        .expect("alice's device");
    assert_eq!(d.last_active_at, Some(micros(later)));
}
