//! Live location in conversations, on both backends.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{Backend, TestServer, expect_frame, expect_no_frame, uid, user};
use zynk_proto::{LiveLocation, ServerFrame, ShareLocation};

backend_tests!(
    shared_with_participants_only,
    stop_sharing,
    positions_expire,
    invalid_positions_are_refused,
);

const PALERMO: (f64, f64) = (38.115_556, 13.361_389);
const CATANIA: (f64, f64) = (37.502_669, 15.087_269);
/// Redis' GEODIST between the two (its documentation's example).
const PALERMO_CATANIA_M: f64 = 166_274.15;

fn at((latitude, longitude): (f64, f64), accuracy: Option<f64>) -> ShareLocation {
    ShareLocation {
        latitude,
        longitude,
        accuracy,
        duration_s: None,
    }
}

fn near(l: &LiveLocation, (lat, lon): (f64, f64)) -> bool {
    (l.latitude - lat).abs() < 1e-4 && (l.longitude - lon).abs() < 1e-4
}

fn is_location(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::Location { .. } | ServerFrame::LocationStopped { .. }
    )
}

async fn shared_with_participants_only(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (carol, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    // Carol is Alice's contact elsewhere, not in this conversation.
    carol.create_conversation(uid(&alice)).await.unwrap();
    let mut bws = bob.connect().await.unwrap();
    let mut cws = carol.connect().await.unwrap();

    let before = Utc::now();
    let mine = alice
        .share_location(conv, &at(PALERMO, Some(12.5)))
        .await
        .unwrap();
    assert!(near(&mine, PALERMO));
    assert!(mine.expires_at > before && mine.expires_at <= Utc::now() + Duration::from_secs(300));
    let f = expect_frame(&mut bws, "location", is_location).await;
    match f {
        ServerFrame::Location {
            conversation_id,
            user_id,
            latitude,
            longitude,
            accuracy,
            expires_at,
        } => {
            assert_eq!((conversation_id, user_id), (conv, uid(&alice)));
            assert!((latitude - PALERMO.0).abs() < 1e-4 && (longitude - PALERMO.1).abs() < 1e-4);
            assert_eq!(accuracy, Some(12.5));
            assert_eq!(expires_at, mine.expires_at);
        }
        other => panic!("{other:?}"),
    }
    expect_no_frame(&mut cws, Duration::from_millis(500), is_location).await;

    // Bob does not share: no distances.
    let seen = bob.locations(conv).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].user_id, uid(&alice));
    assert!(near(&seen[0], PALERMO));
    assert_eq!(seen[0].accuracy, Some(12.5));
    assert_eq!(seen[0].distance_m, None);

    bob.share_location(conv, &at(CATANIA, None)).await.unwrap();
    let seen = alice.locations(conv).await.unwrap();
    assert_eq!(seen.len(), 2);
    let own = seen.iter().find(|l| l.user_id == uid(&alice)).unwrap();
    assert_eq!(own.distance_m, None);
    let other = seen.iter().find(|l| l.user_id == uid(&bob)).unwrap();
    assert!(near(other, CATANIA));
    assert_eq!(other.accuracy, None);
    let d = other.distance_m.unwrap();
    assert!((d - PALERMO_CATANIA_M).abs() < 100.0, "{d}");

    // Outsiders: 404 for everything, and no frames.
    assert_eq!(carol.locations(conv).await.unwrap_err().status(), Some(404));
    let e = carol
        .share_location(conv, &at(PALERMO, None))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(
        carol.stop_location(conv).await.unwrap_err().status(),
        Some(404)
    );
    expect_no_frame(&mut cws, Duration::from_millis(300), is_location).await;
    server.stop().await;
}

async fn stop_sharing(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    let mut bws = bob.connect().await.unwrap();
    alice
        .share_location(conv, &at(PALERMO, None))
        .await
        .unwrap();
    expect_frame(&mut bws, "location", is_location).await;
    alice.stop_location(conv).await.unwrap();
    let f = expect_frame(&mut bws, "location.stopped", is_location).await;
    assert_eq!(
        f,
        ServerFrame::LocationStopped {
            conversation_id: conv,
            user_id: uid(&alice),
        }
    );
    assert!(bob.locations(conv).await.unwrap().is_empty());
    // Stopping twice is fine.
    alice.stop_location(conv).await.unwrap();
    server.stop().await;
}

async fn positions_expire(b: Backend) {
    let server = TestServer::start(b, |c| c.location_ttl_secs = 1).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    let shared = alice
        .share_location(conv, &at(PALERMO, Some(3.0)))
        .await
        .unwrap();
    assert!(shared.expires_at <= Utc::now() + Duration::from_secs(1));
    assert_eq!(bob.locations(conv).await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(bob.locations(conv).await.unwrap().is_empty());
    // Sending again shares again.
    alice
        .share_location(conv, &at(CATANIA, None))
        .await
        .unwrap();
    let seen = bob.locations(conv).await.unwrap();
    assert!(near(&seen[0], CATANIA));
    server.stop().await;
}

async fn invalid_positions_are_refused(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    let cases = [
        at((85.1, 0.0), None),
        at((-85.1, 0.0), None),
        at((0.0, 180.5), None),
        at((0.0, -181.0), None),
        at((0.0, 0.0), Some(-1.0)),
        at((0.0, 0.0), Some(100_001.0)),
        ShareLocation {
            duration_s: Some(59),
            ..at((0.0, 0.0), None)
        },
        ShareLocation {
            duration_s: Some(28_801),
            ..at((0.0, 0.0), None)
        },
    ];
    for body in cases {
        let e = alice.share_location(conv, &body).await.unwrap_err();
        assert_eq!(e.status(), Some(422), "{body:?}");
        assert_eq!(e.kind(), Some("validation-failed"));
    }
    let edge = ShareLocation {
        duration_s: Some(28_800),
        ..at((85.051_128_78, -180.0), Some(100_000.0))
    };
    alice.share_location(conv, &edge).await.unwrap();
    assert_eq!(bob.locations(conv).await.unwrap().len(), 1);
    server.stop().await;
}
