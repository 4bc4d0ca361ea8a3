//! Cases for cross-instance coordination: the event bus and leases. Run on
//! every backend like the others (see `cases.rs`); the cross-instance and
//! reconnection checks are Redis-only (`redis_backend.rs`).

use std::time::Duration;

use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use zynk_realtime::Event;

use crate::cases::Ctx;

/// How long a published event may take to arrive.
pub const DELIVERY: Duration = Duration::from_secs(5);

/// The next event, panicking if none arrives within `DELIVERY`.
pub async fn next_event(rx: &mut Receiver<Event>) -> Event {
    match tokio::time::timeout(DELIVERY, rx.recv()).await {
        Ok(Ok(event)) => event,
        Ok(Err(e)) => panic!("recv: {e}"),
        Err(_) => panic!("no event within {DELIVERY:?}"),
    }
}

/// Asserts the next event is the message `want`.
pub async fn expect_message(rx: &mut Receiver<Event>, want: &str) {
    assert_eq!(next_event(rx).await, Event::Message(want.into()));
}

/// Whether the receiver's channel is closed (within `DELIVERY`), skipping
/// events still queued.
pub async fn closes(rx: &mut Receiver<Event>) -> bool {
    let drained = async {
        loop {
            match rx.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    };
    tokio::time::timeout(DELIVERY, drained).await.is_ok()
}

pub async fn publish_reaches_every_subscriber_in_order(ctx: Ctx) {
    let rt = &ctx.rt;
    let (mut a, mut b) = (rt.subscribe(), rt.subscribe());
    let payloads = ["one", "two", r#"{"kind":"three","n":3}"#, "", "fünf ✓"];
    for payload in payloads {
        ok!(rt.publish(payload));
    }
    for rx in [&mut a, &mut b] {
        for payload in payloads {
            expect_message(rx, payload).await;
        }
    }
    assert!(
        a.is_empty() && b.is_empty(),
        "nothing but what was published"
    );
}

pub async fn a_late_subscriber_misses_earlier_events(ctx: Ctx) {
    let rt = &ctx.rt;
    let mut early = rt.subscribe();
    ok!(rt.publish("before"));
    // Once `early` has it, it has gone past every subscriber there will be.
    expect_message(&mut early, "before").await;

    let mut late = rt.subscribe();
    ok!(rt.publish("after"));
    expect_message(&mut late, "after").await;
    expect_message(&mut early, "after").await;
    assert!(late.is_empty() && early.is_empty());

    // Publishing with nobody listening is fine.
    drop((early, late));
    ok!(rt.publish("to nobody"));
}

pub async fn lease_is_exclusive_renewable_and_expires(ctx: Ctx) {
    let rt = &ctx.rt;
    let ttl = ctx.ttls.typing;
    assert!(ok!(rt.try_lease("scheduler", "a", ttl)), "free: a takes it");
    assert!(!ok!(rt.try_lease("scheduler", "b", ttl)), "held by a");
    assert!(ok!(rt.try_lease("scheduler", "a", ttl)), "a renews");
    assert!(
        ok!(rt.try_lease("other", "b", ttl)),
        "leases are independent"
    );

    ctx.to_just_before(ttl).await;
    assert!(!ok!(rt.try_lease("other", "a", ttl)), "still b's");
    assert!(ok!(rt.try_lease("scheduler", "a", ttl)), "a renews again");
    ctx.past_the_end().await;
    assert!(
        !ok!(rt.try_lease("scheduler", "b", ttl)),
        "still a's: the renewal extended it"
    );
    assert!(
        ok!(rt.try_lease("other", "a", ttl)),
        "b did not renew: expired, a takes it"
    );

    ctx.advance(ttl).await;
    assert!(
        ok!(rt.try_lease("scheduler", "b", ttl)),
        "expired: b takes it"
    );
    assert!(!ok!(rt.try_lease("scheduler", "a", ttl)), "now b's");
}

pub async fn device_marker_is_set_renewed_cleared_and_expires(ctx: Ctx) {
    let rt = &ctx.rt;
    let ttl = ctx.ttls.typing;
    let (a, b, c) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    assert!(ok!(rt.devices_connected(&[])).is_empty());
    assert!(ok!(rt.devices_connected(&[a, b, c])).is_empty());
    ok!(rt.device_connected(a, ttl));
    ok!(rt.device_connected(b, ttl));
    assert_eq!(ok!(rt.devices_connected(&[c, b, a])), vec![b, a]);
    ok!(rt.device_disconnected(b));
    ok!(rt.device_disconnected(c));
    assert_eq!(ok!(rt.devices_connected(&[a, b, c])), vec![a]);

    ctx.to_just_before(ttl).await;
    ok!(rt.device_connected(a, ttl));
    ctx.past_the_end().await;
    assert_eq!(
        ok!(rt.devices_connected(&[a])),
        vec![a],
        "renewal extended it"
    );
    ctx.to_just_before(ttl).await;
    ctx.past_the_end().await;
    assert!(ok!(rt.devices_connected(&[a])).is_empty(), "expired");
}
