//! Sessions: lookup, listing, refresh rotation with reuse detection, removal.

use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Barrier;
use zynk_proto::SessionId;
use zynk_store::RefreshOutcome;

use crate::support::{Harness, device, hash, micros, now, register, session};

conformance!(
    sessions_are_found_by_token_and_listed,
    rotation_then_reuse_deletes_the_session,
    unknown_refresh_token,
    expired_refresh_token_deletes_the_session,
    concurrent_rotation_rotates_once,
    delete_session_is_scoped,
    purge_removes_expired_sessions,
);

async fn sessions_are_found_by_token_and_listed(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = now() + Duration::seconds(1);
    let (laptop, second) = store
        .login(alice.user, device("fp-alice-2"), session(t), t)
        .await
        .expect("login");

    let found = store
        .session_by_token(&second.session_token_hash)
        .await
        .expect("lookup");
    assert_eq!(found, Some(second.clone()));
    let by_refresh_hash = store.session_by_token(&second.refresh_token_hash).await;
    assert_eq!(
        by_refresh_hash.expect("lookup"),
        None,
        "only session tokens match"
    );
    assert_eq!(store.session_by_token(&hash()).await.expect("lookup"), None);

    let listed = store.sessions(alice.user).await.expect("sessions");
    let listed: Vec<_> = listed
        .into_iter()
        .map(|l| (l.session, l.device_name))
        .collect();
    assert_eq!(
        listed,
        [
            (alice.session.clone(), alice.device.name.clone()),
            (second.clone(), laptop.name.clone()),
        ]
    );
    let bobs = store.sessions(bob.user).await.expect("sessions");
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].session, bob.session);

    let used = t + Duration::minutes(2);
    store.touch_session(second.id, used).await.expect("touch");
    let touched = store
        .session_by_token(&second.session_token_hash)
        .await
        .expect("lookup");
    assert_eq!(touched.expect("session").last_used_at, micros(used));
}

async fn rotation_then_reuse_deletes_the_session(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let old = alice.session.clone();
    let t = now() + Duration::minutes(30);
    let next = session(t);

    let outcome = store
        .rotate_refresh(&old.refresh_token_hash, next.clone(), t)
        .await
        .expect("rotate");
    let RefreshOutcome::Rotated {
        session: rotated,
        previous_session_token_hash,
    } = outcome
    else {
        panic!("expected Rotated, got {outcome:?}");
    };
    assert_eq!(previous_session_token_hash, old.session_token_hash);
    assert_eq!(rotated.id, old.id, "the session keeps its id");
    assert_eq!(rotated.session_token_hash, next.session_token_hash);
    assert_eq!(rotated.refresh_token_hash, next.refresh_token_hash);
    assert_eq!(rotated.expires_at, micros(next.expires_at));
    assert_eq!(rotated.refresh_expires_at, micros(next.refresh_expires_at));
    assert_eq!(rotated.last_used_at, micros(t));
    assert_eq!(rotated.created_at, old.created_at);
    assert_eq!(
        store
            .session_by_token(&old.session_token_hash)
            .await
            .expect("lookup"),
        None
    );
    let current = store.session_by_token(&next.session_token_hash).await;
    assert_eq!(current.expect("lookup"), Some(rotated.clone()));

    // The old refresh token again: stolen. The session goes.
    let reuse = store
        .rotate_refresh(&old.refresh_token_hash, session(t), t)
        .await
        .expect("rotate");
    assert_eq!(reuse, RefreshOutcome::Reused(rotated));
    assert_eq!(
        store
            .session_by_token(&next.session_token_hash)
            .await
            .expect("lookup"),
        None
    );
    assert!(
        store
            .sessions(alice.user)
            .await
            .expect("sessions")
            .is_empty()
    );
    // Both tokens are now unknown.
    for token in [&old.refresh_token_hash, &next.refresh_token_hash] {
        let outcome = store
            .rotate_refresh(token, session(t), t)
            .await
            .expect("rotate");
        assert_eq!(outcome, RefreshOutcome::Unknown);
    }
}

async fn unknown_refresh_token(h: Harness) {
    let store = &*h.store;
    register(store, "alice", "fp-alice-1").await;
    let t = now();
    let outcome = store
        .rotate_refresh(&hash(), session(t), t)
        .await
        .expect("rotate");
    assert_eq!(outcome, RefreshOutcome::Unknown);
    assert_eq!(h.raw.count("sessions").await, 1);
}

async fn expired_refresh_token_deletes_the_session(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = alice.session.refresh_expires_at;
    let next = session(t);
    let outcome = store
        .rotate_refresh(&alice.session.refresh_token_hash, next.clone(), t)
        .await
        .expect("rotate");
    assert_eq!(outcome, RefreshOutcome::Expired(alice.session.clone()));
    let gone = store
        .session_by_token(&alice.session.session_token_hash)
        .await;
    assert_eq!(gone.expect("lookup"), None);
    assert_eq!(
        store
            .session_by_token(&next.session_token_hash)
            .await
            .expect("lookup"),
        None
    );
}

async fn concurrent_rotation_rotates_once(h: Harness) {
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    // Several rounds, each on a fresh session: a race is a matter of timing,
    // and later rounds run on connections that are already open.
    for round in 0..4 {
        let t = now();
        let (_, victim) = h
            .store
            .login(alice.user, device("fp-alice-1"), session(t), t)
            .await
            .expect("login");
        let token = victim.refresh_token_hash;
        // All tasks present the token at the same moment.
        let start = Arc::new(Barrier::new(8));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, token, start) = (h.store.clone(), token.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    store.rotate_refresh(&token, session(t), t).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task").expect("rotate"));
        }
        let count = |f: fn(&RefreshOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
        let rotated = count(|o| matches!(o, RefreshOutcome::Rotated { .. }));
        let reused = count(|o| matches!(o, RefreshOutcome::Reused(_)));
        let unknown = count(|o| matches!(o, RefreshOutcome::Unknown));
        assert_eq!(rotated, 1, "round {round}: {outcomes:#?}");
        assert!(reused >= 1, "round {round}: {outcomes:#?}");
        assert_eq!(
            rotated + reused + unknown,
            8,
            "round {round}: {outcomes:#?}"
        );
        // A reuse was seen, so the session is gone; the registration's stays.
        let left = h.store.sessions(alice.user).await.expect("sessions");
        assert_eq!(left.len(), 1, "round {round}");
        assert_eq!(left[0].session.id, alice.session.id);
    }
}

async fn delete_session_is_scoped(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;

    let refused = store
        .delete_session(bob.user, alice.session.id)
        .await
        .expect("delete");
    assert_eq!(refused, None);
    let kept = store
        .session_by_token(&alice.session.session_token_hash)
        .await;
    assert!(kept.expect("lookup").is_some());

    let deleted = store
        .delete_session(alice.user, alice.session.id)
        .await
        .expect("delete");
    assert_eq!(deleted, Some(alice.session.clone()));
    let gone = store
        .session_by_token(&alice.session.session_token_hash)
        .await;
    assert_eq!(gone.expect("lookup"), None);
    let again = store
        .delete_session(alice.user, alice.session.id)
        .await
        .expect("delete");
    assert_eq!(again, None);
    let missing = store
        .delete_session(alice.user, SessionId::new())
        .await
        .expect("delete");
    assert_eq!(missing, None);
    assert_eq!(store.sessions(bob.user).await.expect("sessions").len(), 1);
}

async fn purge_removes_expired_sessions(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = now();
    let mut ends = Vec::new();
    for hours in 1..=3 {
        let mut s = session(t);
        s.refresh_expires_at = t + Duration::hours(hours);
        ends.push(s.refresh_expires_at);
        store
            .login(alice.user, device("fp-alice-1"), s, t)
            .await
            .expect("login");
    }
    // The registration's session lasts 30 days; the purge takes the two
    // whose refresh lifetime ends at or before its time.
    let purged = store.purge_expired_sessions(ends[1]).await.expect("purge");
    assert_eq!(purged, 2);
    let left: Vec<_> = store
        .sessions(alice.user)
        .await
        .expect("sessions")
        .into_iter()
        .map(|l| l.session.refresh_expires_at)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&micros(ends[2])));
    assert_eq!(
        store.purge_expired_sessions(ends[1]).await.expect("purge"),
        0
    );
}
