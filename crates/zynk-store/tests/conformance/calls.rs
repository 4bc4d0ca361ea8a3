//! Calls: one active call per conversation, transitions under concurrency,
//! the ring timeout, and the history's scope.

use std::sync::Arc;

use chrono::Duration;
use zynk_proto::{CallId, CallStatus, CallType, ConversationId};
use zynk_store::{CallAction, NewCall, Store, StoreError};

use crate::msg_support::{base, secs};
use crate::support::{Harness, register};

conformance!(
    one_active_call_per_conversation,
    transitions_apply_once,
    unanswered_calls_expire_once,
);

fn new_call(conversation: ConversationId, initiator: zynk_proto::UserId) -> NewCall {
    NewCall {
        id: CallId::new(),
        conversation_id: conversation,
        initiator_id: initiator,
        call_type: CallType::Audio,
    }
}

fn conflict(r: Result<impl std::fmt::Debug, StoreError>) {
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
}

async fn one_active_call_per_conversation(h: Harness) {
    let store: Arc<dyn Store> = h.store.clone();
    let alice = register(&*store, "alice", "fp-alice-1").await;
    let bob = register(&*store, "bob", "fp-bob-0001").await;
    let conv = ConversationId(h.conversation(&[alice.user, bob.user]).await);
    let t = base();
    let attempts = (0..4).map(|i| {
        let store = store.clone();
        let call = new_call(conv, alice.user);
        tokio::spawn(async move { store.create_call(call, secs(t, i)).await })
    });
    let mut created = Vec::new();
    for a in attempts {
        match a.await.expect("task") {
            Ok(call) => created.push(call),
            Err(e) => assert!(matches!(e, StoreError::Conflict("active_call")), "{e}"),
        }
    }
    assert_eq!(created.len(), 1);
    let call = &created[0];
    assert_eq!(call.status, CallStatus::Initiated);
    assert_eq!(call.participants.len(), 2);
    assert_eq!(call.participants[0].user_id, alice.user);
    assert!(call.participants[0].joined_at.is_some());

    let none = store
        .create_call(new_call(ConversationId::new(), alice.user), t)
        .await;
    assert!(matches!(none, Err(StoreError::Missing(_))), "{none:?}");
    let ended = store
        .call_action(call.id, alice.user, CallAction::Leave, secs(t, 9))
        .await
        .expect("cancel");
    assert_eq!(ended.call.status, CallStatus::Missed);
    store
        .create_call(new_call(conv, bob.user), secs(t, 10))
        .await
        .expect("a new call once the last one is over");
    let history = store.calls_of(bob.user, None, 10).await.expect("history");
    assert_eq!(history.len(), 2);
    assert!(history[0].created_at > history[1].created_at);
    let older = store
        .calls_of(bob.user, Some(history[0].created_at), 10)
        .await
        .expect("page");
    assert_eq!(older, history[1..]);
    let carol = register(&*store, "carol", "fp-carol-01").await;
    assert!(
        store
            .calls_of(carol.user, None, 10)
            .await
            .expect("none")
            .is_empty()
    );
}

async fn transitions_apply_once(h: Harness) {
    let store: Arc<dyn Store> = h.store.clone();
    let alice = register(&*store, "alice", "fp-alice-1").await;
    let bob = register(&*store, "bob", "fp-bob-0001").await;
    let conv = ConversationId(h.conversation(&[alice.user, bob.user]).await);
    let t = base();
    let call = store
        .create_call(new_call(conv, alice.user), t)
        .await
        .expect("create");
    conflict(
        store
            .call_action(call.id, alice.user, CallAction::Accept, t)
            .await,
    );
    let rang = store
        .call_action(call.id, bob.user, CallAction::Ring, secs(t, 1))
        .await
        .expect("ring");
    assert!(rang.changed);
    let again = store
        .call_action(call.id, bob.user, CallAction::Ring, secs(t, 1))
        .await
        .expect("ring again");
    assert!(!again.changed);
    let accepts = (0..3).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .call_action(call.id, bob.user, CallAction::Accept, secs(t, 2))
                .await
        })
    });
    let mut won = 0;
    for a in accepts {
        match a.await.expect("task") {
            Ok(c) => {
                won += 1;
                assert_eq!(c.call.status, CallStatus::InProgress);
                assert_eq!(c.call.started_at, Some(secs(t, 2)));
            }
            Err(e) => assert!(matches!(e, StoreError::Conflict(_)), "{e}"),
        }
    }
    assert_eq!(won, 1);
    // A group conversation (the harness's): the call ends with its last participant.
    let left = store
        .call_action(call.id, bob.user, CallAction::Leave, secs(t, 11))
        .await
        .expect("leave");
    assert_eq!(left.call.status, CallStatus::InProgress);
    let ended = store
        .call_action(call.id, alice.user, CallAction::Leave, secs(t, 12))
        .await
        .expect("hang up");
    assert_eq!(ended.call.status, CallStatus::Ended);
    assert_eq!(ended.call.duration_seconds, Some(10));
    assert_eq!(ended.call.ended_at, Some(secs(t, 12)));
    assert!(
        ended
            .call
            .participants
            .iter()
            .all(|p| p.joined_at.is_some() && p.left_at.is_some())
    );
    conflict(
        store
            .call_action(call.id, alice.user, CallAction::Leave, t)
            .await,
    );
    let missing = store
        .call_action(CallId::new(), bob.user, CallAction::Ring, t)
        .await;
    assert!(
        matches!(missing, Err(StoreError::Missing(_))),
        "{missing:?}"
    );
    assert_eq!(store.call(call.id).await.expect("read"), Some(ended.call));
}

async fn unanswered_calls_expire_once(h: Harness) {
    let store: Arc<dyn Store> = h.store.clone();
    let alice = register(&*store, "alice", "fp-alice-1").await;
    let bob = register(&*store, "bob", "fp-bob-0001").await;
    let carol = register(&*store, "carol", "fp-carol-01").await;
    let old = ConversationId(h.conversation(&[alice.user, bob.user]).await);
    let young = ConversationId(h.conversation(&[alice.user, carol.user]).await);
    let t = base();
    let overdue = store
        .create_call(new_call(old, alice.user), t)
        .await
        .expect("old");
    let fresh = store
        .create_call(new_call(young, alice.user), secs(t, 60))
        .await
        .expect("young");
    let sweeps = (0..3).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.expire_calls(secs(t, 45), secs(t, 50)).await })
    });
    let mut expired = Vec::new();
    for s in sweeps {
        expired.extend(s.await.expect("task").expect("sweep"));
    }
    assert_eq!(expired.len(), 1, "each call expires once");
    assert_eq!(expired[0].id, overdue.id);
    assert_eq!(expired[0].status, CallStatus::Missed);
    assert_eq!(expired[0].duration_seconds, Some(0));
    let still = store.call(fresh.id).await.expect("read").expect("there");
    assert_eq!(still.status, CallStatus::Initiated);
    let later = store
        .expire_calls(secs(t, 60) + Duration::seconds(45), secs(t, 120))
        .await
        .expect("sweep");
    assert_eq!(later.len(), 1);
    conflict(
        store
            .call_action(fresh.id, carol.user, CallAction::Accept, secs(t, 121))
            .await,
    );
}
