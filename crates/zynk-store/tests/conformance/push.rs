//! Push targets: devices with a push token, and the removal of a token only
//! while it is unchanged.

use zynk_proto::{DeviceId, Platform};
use zynk_store::{DeviceSpec, DeviceUpdate, PushTarget};

use crate::support::{Harness, device, now, register, session};

conformance!(
    push_targets_are_devices_with_a_token,
    clear_push_token_only_clears_an_unchanged_token,
);

fn sorted(mut targets: Vec<PushTarget>) -> Vec<PushTarget> {
    targets.sort_by_key(|t| t.device_id);
    targets
}

async fn push_targets_are_devices_with_a_token(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = now();
    let tokenless = DeviceSpec {
        push_token: None,
        platform: Platform::Cli,
        ..device("fp-alice-2")
    };
    store
        .login(alice.user, tokenless, session(t), t)
        .await
        .expect("login");
    let web = DeviceSpec {
        push_token: Some("https://push.example/ep".into()),
        platform: Platform::Web,
        ..device("fp-alice-3")
    };
    let (web, _) = store
        .login(alice.user, web, session(t), t)
        .await
        .expect("login");

    let target = |d: &zynk_store::DeviceRecord| PushTarget {
        device_id: d.id,
        user_id: d.user_id,
        platform: d.platform,
        push_token: d.push_token.clone().expect("a token"),
    };
    let all = store
        .push_targets(&[alice.user, bob.user], None)
        .await
        .expect("targets");
    let want = sorted(vec![
        target(&alice.device),
        target(&web),
        target(&bob.device),
    ]);
    assert_eq!(sorted(all), want);
    let except = store
        .push_targets(&[alice.user], Some(alice.device.id))
        .await
        .expect("targets");
    assert_eq!(except, [target(&web)]);
    assert!(
        store
            .push_targets(&[], None)
            .await
            .expect("none")
            .is_empty()
    );

    let by_device = store
        .push_targets_for_devices(&[bob.device.id, DeviceId::new()])
        .await
        .expect("targets");
    assert_eq!(by_device, [target(&bob.device)]);
    assert!(
        store
            .push_targets_for_devices(&[])
            .await
            .expect("none")
            .is_empty()
    );
}

async fn clear_push_token_only_clears_an_unchanged_token(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let old = alice.device.push_token.clone().expect("a token");
    let update = DeviceUpdate {
        name: None,
        push_token: Some(Some("push-new".into())),
    };
    store
        .update_device(alice.user, alice.device.id, &update)
        .await
        .expect("update");
    assert!(
        !store
            .clear_push_token(alice.device.id, &old)
            .await
            .expect("clear"),
        "a newer token stays"
    );
    assert!(
        store
            .clear_push_token(alice.device.id, "push-new")
            .await
            .expect("clear")
    );
    let d = store
        .device(alice.user, alice.device.id)
        .await
        .expect("device")
        .expect("exists");
    assert_eq!(d.push_token, None);
    assert!(
        store
            .push_targets(&[alice.user], None)
            .await
            .expect("targets")
            .is_empty()
    );
}
