//! Key distribution: permanent device keys, one-time keys claimed exactly
//! once (also under concurrent claims), fallback keys, and the cascade from
//! devices.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use zynk_proto::{DeviceId, OneTimeKey};
use zynk_store::{NewDeviceKeys, Store, StoreError};

use crate::support::{Harness, device, now, register, session};

conformance!(
    device_keys_are_permanent,
    device_keys_are_listed_with_their_devices,
    one_time_keys_are_counted_once,
    claims_take_one_key_each_then_the_fallback,
    claims_filter_unsigned_and_unlisted_devices,
    concurrent_claims_never_share_a_key,
    deleting_a_device_deletes_its_keys,
);

fn keys(tag: &str, signature: Option<&str>) -> NewDeviceKeys {
    NewDeviceKeys {
        curve25519: format!("curve-{tag}"),
        ed25519: format!("ed-{tag}"),
        signature: signature.map(str::to_owned),
    }
}

fn otk(id: &str) -> OneTimeKey {
    OneTimeKey {
        key_id: id.to_owned(),
        key: format!("key-{id}"),
        signature: format!("sig-{id}"),
    }
}

fn otks(prefix: &str, n: usize) -> Vec<OneTimeKey> {
    (0..n).map(|i| otk(&format!("{prefix}{i:03}"))).collect()
}

async fn device_keys_are_permanent(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let d = alice.device.id;

    let first = store
        .set_device_keys(alice.user, d, &keys("a", None), now())
        .await
        .expect("first upload");
    assert_eq!((first.device_id, first.user_id), (d, alice.user));
    assert_eq!(first.signature, None);

    let signed = store
        .set_device_keys(alice.user, d, &keys("a", Some("sig")), now())
        .await
        .expect("the same keys, now signed");
    assert_eq!(signed.signature.as_deref(), Some("sig"));
    let again = store
        .set_device_keys(alice.user, d, &keys("a", None), now())
        .await
        .expect("the same keys without signature");
    assert_eq!(
        again.signature.as_deref(),
        Some("sig"),
        "keeps the signature"
    );

    let changed = store
        .set_device_keys(alice.user, d, &keys("b", Some("sig")), now())
        .await;
    assert!(
        matches!(changed, Err(StoreError::Conflict("device_keys"))),
        "{changed:?}"
    );
    let mut half = keys("a", None);
    half.ed25519 = "ed-other".to_owned();
    let changed = store.set_device_keys(alice.user, d, &half, now()).await;
    assert!(matches!(changed, Err(StoreError::Conflict("device_keys"))));

    let foreign = store
        .set_device_keys(alice.user, bob.device.id, &keys("x", None), now())
        .await;
    assert!(
        matches!(foreign, Err(StoreError::Missing("device"))),
        "{foreign:?}"
    );
    let listed = store.device_keys_of(bob.user).await.expect("bob's devices");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1, None, "nothing stored on bob's device");
}

async fn device_keys_are_listed_with_their_devices(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = now();
    let (second, _) = store
        .login(
            alice.user,
            device("fp-alice-2"),
            session(t),
            t + Duration::seconds(1),
        )
        .await
        .expect("login");
    store
        .set_device_keys(alice.user, second.id, &keys("2", Some("s2")), now())
        .await
        .expect("keys");

    let listed = store.device_keys_of(alice.user).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].0, alice.device);
    assert_eq!(listed[0].1, None);
    assert_eq!(listed[1].0, second);
    let k = listed[1].1.clone().expect("second device's keys");
    assert_eq!(
        (k.device_id, k.curve25519.as_str(), k.signature.as_deref()),
        (second.id, "curve-2", Some("s2"))
    );
    assert!(
        store
            .device_keys_of(zynk_proto::UserId::new())
            .await
            .expect("list")
            .is_empty()
    );
}

async fn one_time_keys_are_counted_once(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let d = alice.device.id;
    assert_eq!(store.key_counts(d).await.expect("counts"), (0, false));

    let n = store
        .add_one_time_keys(d, &otks("k", 3), now())
        .await
        .expect("add");
    assert_eq!(n, 3);
    let n = store
        .add_one_time_keys(d, &otks("k", 5), now())
        .await
        .expect("add with duplicates");
    assert_eq!(n, 5, "known key ids are ignored");

    store
        .set_fallback_key(d, &otk("f1"), now())
        .await
        .expect("fallback");
    store
        .set_fallback_key(d, &otk("f2"), now())
        .await
        .expect("replace fallback");
    assert_eq!(store.key_counts(d).await.expect("counts"), (5, true));
    assert_eq!(h.raw.count("fallback_keys").await, 1);

    let unknown = store
        .add_one_time_keys(DeviceId::new(), &otks("k", 1), now())
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Missing("device"))),
        "{unknown:?}"
    );
    let unknown = store
        .set_fallback_key(DeviceId::new(), &otk("f"), now())
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Missing("device"))),
        "{unknown:?}"
    );
}

async fn claims_take_one_key_each_then_the_fallback(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let d = alice.device.id;
    store
        .set_device_keys(alice.user, d, &keys("a", Some("sig")), now())
        .await
        .expect("keys");
    store
        .add_one_time_keys(d, &otks("b", 2), now())
        .await
        .expect("add");
    store
        .add_one_time_keys(d, &[otk("a000")], now() + Duration::seconds(1))
        .await
        .expect("add later");

    // Oldest first, then by key id.
    for want in ["b000", "b001", "a000"] {
        let claimed = store
            .claim_keys(alice.user, None, false)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].one_time_key, otk(want));
        assert!(!claimed[0].fallback);
        assert_eq!(claimed[0].keys.curve25519, "curve-a");
    }
    assert_eq!(store.key_counts(d).await.expect("counts"), (0, false));
    let none = store
        .claim_keys(alice.user, None, false)
        .await
        .expect("claim");
    assert!(
        none.is_empty(),
        "neither one-time nor fallback key: left out"
    );

    store
        .set_fallback_key(d, &otk("fb"), now())
        .await
        .expect("fallback");
    for _ in 0..2 {
        let claimed = store
            .claim_keys(alice.user, None, false)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].one_time_key, otk("fb"));
        assert!(claimed[0].fallback, "the fallback is not consumed");
    }
    assert_eq!(store.key_counts(d).await.expect("counts"), (0, true));
}

async fn claims_filter_unsigned_and_unlisted_devices(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = now();
    let (second, _) = store
        .login(
            alice.user,
            device("fp-alice-2"),
            session(t),
            t + Duration::seconds(1),
        )
        .await
        .expect("login");
    let (third, _) = store
        .login(
            alice.user,
            device("fp-alice-3"),
            session(t),
            t + Duration::seconds(2),
        )
        .await
        .expect("login");
    let (a, b) = (alice.device.id, second.id);
    store
        .set_device_keys(alice.user, a, &keys("a", Some("sig")), now())
        .await
        .expect("keys");
    store
        .set_device_keys(alice.user, b, &keys("b", None), now())
        .await
        .expect("unsigned keys");
    // The third device has one-time keys but no device keys: never claimable.
    for dev in [a, b, third.id] {
        store
            .add_one_time_keys(dev, &otks("k", 5), now())
            .await
            .expect("add");
    }

    let signed = store
        .claim_keys(alice.user, None, false)
        .await
        .expect("claim");
    let ids: Vec<_> = signed.iter().map(|c| c.keys.device_id).collect();
    assert_eq!(ids, [a]);
    let all = store
        .claim_keys(alice.user, None, true)
        .await
        .expect("claim");
    let ids: Vec<_> = all.iter().map(|c| c.keys.device_id).collect();
    assert_eq!(ids, [a, b]);
    assert_eq!(all[1].keys.signature, None);
    let only = store
        .claim_keys(alice.user, Some(&[b, third.id]), true)
        .await
        .expect("claim");
    let ids: Vec<_> = only.iter().map(|c| c.keys.device_id).collect();
    assert_eq!(ids, [b]);
    assert_eq!(store.key_counts(a).await.expect("counts").0, 3);
    assert_eq!(store.key_counts(b).await.expect("counts").0, 3);
    assert_eq!(store.key_counts(third.id).await.expect("counts").0, 5);
    let other = register(store, "bob", "fp-bob-0001").await;
    let none = store
        .claim_keys(other.user, Some(&[a]), true)
        .await
        .expect("claim");
    assert!(none.is_empty(), "another user's device is never claimed");
}

async fn concurrent_claims_never_share_a_key(h: Harness) {
    let store: Arc<dyn Store> = h.store.clone();
    let alice = register(&*store, "alice", "fp-alice-1").await;
    let d = alice.device.id;
    store
        .set_device_keys(alice.user, d, &keys("a", Some("sig")), now())
        .await
        .expect("keys");
    store
        .add_one_time_keys(d, &otks("k", 10), now())
        .await
        .expect("add");
    store
        .set_fallback_key(d, &otk("fb"), now())
        .await
        .expect("fallback");

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let user = alice.user;
            tokio::spawn(async move { store.claim_keys(user, None, false).await })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut fallbacks = 0;
    for task in tasks {
        let claimed = task.await.expect("task").expect("claim");
        assert_eq!(claimed.len(), 1);
        let c = &claimed[0];
        if c.fallback {
            assert_eq!(c.one_time_key, otk("fb"));
            fallbacks += 1;
        } else {
            assert!(
                seen.insert(c.one_time_key.key_id.clone()),
                "{c:?} handed out twice"
            );
        }
    }
    assert_eq!(seen.len(), 10, "every one-time key handed out once");
    assert_eq!(fallbacks, 10);
    assert_eq!(store.key_counts(d).await.expect("counts"), (0, true));
}

async fn deleting_a_device_deletes_its_keys(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = now();
    let (second, _) = store
        .login(alice.user, device("fp-alice-2"), session(t), t)
        .await
        .expect("login");
    for dev in [alice.device.id, second.id] {
        store
            .set_device_keys(alice.user, dev, &keys(&dev.to_string(), Some("s")), now())
            .await
            .expect("keys");
        store
            .add_one_time_keys(dev, &otks("k", 2), now())
            .await
            .expect("add");
        store
            .set_fallback_key(dev, &otk("fb"), now())
            .await
            .expect("fallback");
    }
    store
        .delete_device(alice.user, second.id)
        .await
        .expect("delete")
        .expect("alice's device");
    assert_eq!(h.raw.count("device_keys").await, 1);
    assert_eq!(h.raw.count("one_time_keys").await, 2);
    assert_eq!(h.raw.count("fallback_keys").await, 1);
    let claimed = store
        .claim_keys(alice.user, None, true)
        .await
        .expect("claim");
    let ids: Vec<_> = claimed.iter().map(|c| c.keys.device_id).collect();
    assert_eq!(ids, [alice.device.id]);
}
