//! Call signaling over HTTP and WebSocket, on both backends.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{Backend, TestServer, expect_frame, expect_no_frame, second_device, uid, user};
use zynk_proto::{
    Call, CallId, CallStatus, CallType, ClientFrame, ConversationId, CreateGroup, ServerFrame,
};
use zynk_sdk::{Client, Connection, SdkError};

backend_tests!(
    one_to_one_call_through_every_status,
    declined_call,
    unanswered_calls_are_missed,
    invalid_transitions_conflict,
    concurrent_transitions_apply_once,
    group_call_join_and_leave,
    signaling_reaches_only_the_call_devices,
    outsiders_get_404,
    ice_server_credentials,
);

/// Waits for `call.updated` of `id` with `status`.
async fn updated(ws: &mut Connection, id: CallId, status: CallStatus) -> Call {
    let f = expect_frame(ws, &format!("call.updated {status:?}"), |f| {
        matches!(f, ServerFrame::CallUpdated { call } if call.id == id && call.status == status)
    })
    .await;
    match f {
        ServerFrame::CallUpdated { call } => call,
        other => panic!("{other:?}"),
    }
}

fn status_of(e: &SdkError) -> Option<u16> {
    e.status()
}

async fn pair(server: &TestServer) -> (Client, Client, ConversationId) {
    let (alice, _) = user(server).await;
    let (bob, _) = user(server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    (alice, bob, conv.id)
}

async fn one_to_one_call_through_every_status(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, bob, conv) = pair(&server).await;
    let mut aws = alice.connect().await.unwrap();
    let mut bws = bob.connect().await.unwrap();

    let call = alice.create_call(conv, CallType::Video).await.unwrap();
    assert_eq!(call.status, CallStatus::Initiated);
    assert_eq!(call.call_type, CallType::Video);
    assert_eq!(call.initiator_id, uid(&alice));
    assert_eq!(call.participants.len(), 2);
    assert_eq!(call.participants[0].user_id, uid(&alice));
    assert!(call.participants[0].joined_at.is_some());
    assert!(call.participants[1].joined_at.is_none());
    let incoming = expect_frame(
        &mut bws,
        "call.incoming",
        |f| matches!(f, ServerFrame::CallIncoming { call: c } if c.id == call.id),
    )
    .await;
    assert!(matches!(incoming, ServerFrame::CallIncoming { call: c } if c == call));

    bws.send(&ClientFrame::CallRinging { call_id: call.id })
        .await
        .unwrap();
    updated(&mut aws, call.id, CallStatus::Ringing).await;
    // Another device ringing changes nothing.
    assert_eq!(
        bob.call_ringing(call.id).await.unwrap().status,
        CallStatus::Ringing
    );

    let accepted = bob.accept_call(call.id).await.unwrap();
    assert_eq!(accepted.status, CallStatus::InProgress);
    assert!(accepted.started_at.is_some());
    assert!(accepted.participants.iter().all(|p| p.joined_at.is_some()));
    updated(&mut aws, call.id, CallStatus::InProgress).await;

    aws.send(&ClientFrame::CallHangup { call_id: call.id })
        .await
        .unwrap();
    let ended = updated(&mut bws, call.id, CallStatus::Ended).await;
    assert!(ended.ended_at.is_some());
    assert!(ended.duration_seconds.is_some());
    assert!(ended.ended_at >= ended.started_at);
    assert!(
        ended
            .participants
            .iter()
            .all(|p| p.joined_at.is_some() && p.left_at.is_some())
    );

    let history = bob.calls(None, None).await.unwrap();
    assert_eq!(history[0], ended);
    // A new call may start once the previous one is over.
    let next = bob.create_call(conv, CallType::Audio).await.unwrap();
    let history = alice.calls(None, None).await.unwrap();
    assert_eq!(
        history.iter().map(|c| c.id).collect::<Vec<_>>(),
        [next.id, call.id]
    );
    let page = alice.calls(Some(next.created_at), Some(10)).await.unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), [call.id]);
    server.stop().await;
}

async fn declined_call(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, bob, conv) = pair(&server).await;
    let mut aws = alice.connect().await.unwrap();
    let mut bws = bob.connect().await.unwrap();
    let call = alice.create_call(conv, CallType::Audio).await.unwrap();
    bws.send(&ClientFrame::CallDecline { call_id: call.id })
        .await
        .unwrap();
    let declined = updated(&mut aws, call.id, CallStatus::Declined).await;
    assert_eq!(declined.duration_seconds, Some(0));
    assert!(declined.started_at.is_none());
    let bob_row = declined
        .participants
        .iter()
        .find(|p| p.user_id == uid(&bob))
        .unwrap();
    assert!(bob_row.joined_at.is_none() && bob_row.left_at.is_some());
    let late = bob.accept_call(call.id).await.unwrap_err();
    assert_eq!(status_of(&late), Some(409));
    server.stop().await;
}

async fn unanswered_calls_are_missed(b: Backend) {
    let server = TestServer::start(b, |c| c.call_ring_timeout_secs = 1).await;
    let (alice, bob, conv) = pair(&server).await;
    let mut aws = alice.connect().await.unwrap();
    let call = alice.create_call(conv, CallType::Audio).await.unwrap();
    bob.call_ringing(call.id).await.unwrap();
    let missed = updated(&mut aws, call.id, CallStatus::Missed).await;
    assert_eq!(missed.duration_seconds, Some(0));
    assert!(missed.ended_at.is_some());
    // Announced once only.
    expect_no_frame(&mut aws, Duration::from_millis(2500), |f| {
        matches!(f, ServerFrame::CallUpdated { .. })
    })
    .await;
    assert_eq!(
        status_of(&bob.accept_call(call.id).await.unwrap_err()),
        Some(409)
    );

    // The initiator hanging up before an answer: missed too.
    let call = alice.create_call(conv, CallType::Audio).await.unwrap();
    let cancelled = alice.hangup_call(call.id).await.unwrap();
    assert_eq!(cancelled.status, CallStatus::Missed);
    server.stop().await;
}

async fn invalid_transitions_conflict(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, bob, conv) = pair(&server).await;
    let call = alice.create_call(conv, CallType::Audio).await.unwrap();
    let conflict = |r: Result<Call, SdkError>| {
        let e = r.unwrap_err();
        assert_eq!(e.status(), Some(409), "{e:?}");
        e.kind().map(str::to_owned)
    };
    let again = alice.create_call(conv, CallType::Video).await.unwrap_err();
    assert_eq!(again.kind(), Some("call-in-progress"));
    assert_eq!(
        conflict(alice.accept_call(call.id).await).as_deref(),
        Some("invalid-call-state")
    );
    conflict(alice.call_ringing(call.id).await);
    conflict(alice.decline_call(call.id).await);
    conflict(bob.join_call(call.id).await);
    bob.accept_call(call.id).await.unwrap();
    conflict(bob.accept_call(call.id).await);
    conflict(bob.call_ringing(call.id).await);
    conflict(bob.decline_call(call.id).await);
    conflict(bob.join_call(call.id).await);
    bob.hangup_call(call.id).await.unwrap();
    conflict(alice.hangup_call(call.id).await);
    conflict(bob.leave_call(call.id).await);
    conflict(alice.join_call(call.id).await);
    conflict(bob.accept_call(call.id).await);
    server.stop().await;
}

/// Racing requests: one call per conversation, one answer per call.
async fn concurrent_transitions_apply_once(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, areg) = user(&server).await;
    let (bob, breg) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    let (alice2, bob2) = (
        second_device(&server, &areg, "phone").await,
        second_device(&server, &breg, "phone").await,
    );
    for _ in 0..3 {
        let (x, y, z) = tokio::join!(
            alice.create_call(conv, CallType::Audio),
            alice2.create_call(conv, CallType::Audio),
            bob.create_call(conv, CallType::Video),
        );
        let calls: Vec<Call> = [x, y, z].into_iter().filter_map(Result::ok).collect();
        assert_eq!(calls.len(), 1, "exactly one call starts");
        let call = &calls[0];
        let (callee, callee2) = if call.initiator_id == uid(&bob) {
            (&alice, &alice2)
        } else {
            (&bob, &bob2)
        };
        let (x, y) = tokio::join!(callee.accept_call(call.id), callee2.accept_call(call.id));
        assert_eq!(u8::from(x.is_ok()) + u8::from(y.is_ok()), 1);
        let (x, y) = tokio::join!(alice.hangup_call(call.id), bob.hangup_call(call.id));
        assert_eq!(u8::from(x.is_ok()) + u8::from(y.is_ok()), 1);
    }
    let history = bob.calls(None, None).await.unwrap();
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|c| c.status == CallStatus::Ended));
    server.stop().await;
}

async fn group_call_join_and_leave(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (carol, _) = user(&server).await;
    let (dave, _) = user(&server).await;
    let group = alice
        .create_group(&CreateGroup {
            name: "call".into(),
            description: None,
            avatar_url: None,
            member_ids: vec![uid(&bob), uid(&carol), uid(&dave)],
        })
        .await
        .unwrap();
    let mut aws = alice.connect().await.unwrap();
    let mut cws = carol.connect().await.unwrap();
    let call = alice.create_call(group.id, CallType::Video).await.unwrap();
    assert_eq!(call.participants.len(), 4);
    expect_frame(&mut cws, "call.incoming", |f| {
        matches!(f, ServerFrame::CallIncoming { .. })
    })
    .await;

    // One decline does not decline a group call.
    let c = dave.decline_call(call.id).await.unwrap();
    assert_eq!(c.status, CallStatus::Initiated);
    let c = bob.accept_call(call.id).await.unwrap();
    assert_eq!(c.status, CallStatus::InProgress);
    updated(&mut cws, call.id, CallStatus::InProgress).await;
    let c = carol.join_call(call.id).await.unwrap();
    let present = |c: &Call| {
        c.participants
            .iter()
            .filter(|p| p.joined_at.is_some() && p.left_at.is_none())
            .count()
    };
    assert_eq!(present(&c), 3);
    let c = bob.leave_call(call.id).await.unwrap();
    assert_eq!((c.status, present(&c)), (CallStatus::InProgress, 2));
    let c = bob.join_call(call.id).await.unwrap();
    assert_eq!(present(&c), 3);
    assert_eq!(
        carol.join_call(call.id).await.unwrap_err().status(),
        Some(409)
    );
    let c = alice.leave_call(call.id).await.unwrap();
    assert_eq!((c.status, present(&c)), (CallStatus::InProgress, 2));
    let c = bob.hangup_call(call.id).await.unwrap();
    assert_eq!((c.status, present(&c)), (CallStatus::InProgress, 1));
    let c = carol.leave_call(call.id).await.unwrap();
    assert_eq!((c.status, present(&c)), (CallStatus::Ended, 0));
    let ended = updated(&mut aws, call.id, CallStatus::Ended).await;
    assert!(ended.duration_seconds.is_some());
    let dave_row = ended
        .participants
        .iter()
        .find(|p| p.user_id == uid(&dave))
        .unwrap();
    assert!(dave_row.joined_at.is_none() && dave_row.left_at.is_some());
    server.stop().await;
}

fn is_signal(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::CallOffer { .. }
            | ServerFrame::CallAnswer { .. }
            | ServerFrame::CallIce { .. }
    )
}

async fn signaling_reaches_only_the_call_devices(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, breg) = user(&server).await;
    let (carol, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    // Carol shares another conversation with Alice: still no call frames.
    carol.create_conversation(uid(&alice)).await.unwrap();
    let phone = second_device(&server, &breg, "phone").await;
    let mut a1 = alice.connect().await.unwrap();
    let mut b1 = bob.connect().await.unwrap();
    let mut b2 = phone.connect().await.unwrap();
    let mut c1 = carol.connect().await.unwrap();
    let call = alice.create_call(conv, CallType::Video).await.unwrap();

    let offer = ClientFrame::CallOffer {
        call_id: call.id,
        to_device: None,
        payload: "sdp-offer".into(),
    };
    a1.send(&offer).await.unwrap();
    for ws in [&mut b1, &mut b2] {
        let f = expect_frame(ws, "call.offer", is_signal).await;
        assert_eq!(
            f,
            ServerFrame::CallOffer {
                call_id: call.id,
                from_user: uid(&alice),
                from_device: a1.device_id(),
                payload: "sdp-offer".into(),
            }
        );
    }
    let answer = ClientFrame::CallAnswer {
        call_id: call.id,
        to_device: Some(a1.device_id()),
        payload: "sdp-answer".into(),
    };
    b2.send(&answer).await.unwrap();
    let f = expect_frame(&mut a1, "call.answer", is_signal).await;
    assert!(
        matches!(f, ServerFrame::CallAnswer { from_device, ref payload, .. } if from_device == b2.device_id() && payload == "sdp-answer")
    );
    let ice = ClientFrame::CallIce {
        call_id: call.id,
        to_device: Some(a1.device_id()),
        payload: "candidate".into(),
    };
    b1.send(&ice).await.unwrap();
    let f = expect_frame(&mut a1, "call.ice", is_signal).await;
    assert!(matches!(f, ServerFrame::CallIce { from_device, .. } if from_device == b1.device_id()));
    // Directed at a device of an outsider: reaches nobody.
    let stray = ClientFrame::CallIce {
        call_id: call.id,
        to_device: Some(c1.device_id()),
        payload: "x".into(),
    };
    a1.send(&stray).await.unwrap();
    // The answer went to a1 only, the offer not back to its sender.
    expect_no_frame(&mut b1, Duration::from_millis(500), is_signal).await;
    expect_no_frame(&mut c1, Duration::from_millis(300), is_signal).await;
    expect_no_frame(&mut a1, Duration::from_millis(300), is_signal).await;

    // Outsiders can neither send nor learn anything.
    c1.send(&offer).await.unwrap();
    let f = expect_frame(&mut c1, "error", |f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(f, ServerFrame::Error { problem } if problem.status == 404));
    expect_no_frame(&mut b1, Duration::from_millis(300), is_signal).await;
    // Oversized or empty payloads are refused.
    let empty = ClientFrame::CallIce {
        call_id: call.id,
        to_device: None,
        payload: String::new(),
    };
    a1.send(&empty).await.unwrap();
    let f = expect_frame(&mut a1, "error", |f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(f, ServerFrame::Error { problem } if problem.status == 422));
    server.stop().await;
}

async fn outsiders_get_404(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, bob, conv) = pair(&server).await;
    let (carol, _) = user(&server).await;
    let mut cws = carol.connect().await.unwrap();
    let call = alice.create_call(conv, CallType::Audio).await.unwrap();
    let e = carol.create_call(conv, CallType::Audio).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    let attempts = [
        carol.call_ringing(call.id).await,
        carol.accept_call(call.id).await,
        carol.decline_call(call.id).await,
        carol.hangup_call(call.id).await,
        carol.join_call(call.id).await,
        carol.leave_call(call.id).await,
        bob.accept_call(CallId::new()).await,
    ];
    for r in attempts {
        assert_eq!(r.unwrap_err().status(), Some(404));
    }
    let frames = [
        ClientFrame::CallRinging { call_id: call.id },
        ClientFrame::CallAccept { call_id: call.id },
        ClientFrame::CallDecline { call_id: call.id },
        ClientFrame::CallHangup { call_id: call.id },
        ClientFrame::CallAnswer {
            call_id: call.id,
            to_device: None,
            payload: "p".into(),
        },
    ];
    for frame in frames {
        cws.send(&frame).await.unwrap();
        let f = expect_frame(&mut cws, "error", |f| {
            matches!(f, ServerFrame::Error { .. })
        })
        .await;
        assert!(matches!(f, ServerFrame::Error { problem } if problem.status == 404));
    }
    assert!(carol.calls(None, None).await.unwrap().is_empty());
    // Nothing changed.
    let history = alice.calls(None, None).await.unwrap();
    assert_eq!(history[0].status, CallStatus::Initiated);
    server.stop().await;
}

async fn ice_server_credentials(b: Backend) {
    let secret = "turn-shared-secret";
    let server = TestServer::start(b, |c| {
        c.stun_urls = vec!["stun:stun.example.org:3478".into()];
        c.turn_urls = vec!["turn:turn.example.org:3478?transport=udp".into()];
        c.turn_secret = Some(secret.into());
        c.turn_ttl_secs = 3600;
    })
    .await;
    let (alice, _) = user(&server).await;
    let got = alice.ice_servers().await.unwrap();
    assert_eq!(got.ttl, 3600);
    assert_eq!(got.ice_servers.len(), 2);
    assert_eq!(got.ice_servers[0].urls, ["stun:stun.example.org:3478"]);
    assert!(got.ice_servers[0].username.is_none());
    let turn = &got.ice_servers[1];
    let username = turn.username.as_deref().unwrap();
    let (expiry, user_id) = username.split_once(':').unwrap();
    assert_eq!(user_id, uid(&alice).to_string());
    let expiry: i64 = expiry.parse().unwrap();
    let expected = Utc::now().timestamp() + 3600;
    assert!((expected - expiry).abs() <= 5, "{expiry} vs {expected}");
    assert_eq!(
        turn.credential.as_deref(),
        zynk_server::ops::calls::turn_credential(secret, username).as_deref()
    );

    let bare = TestServer::start(b, |_| {}).await;
    let (nobody, _) = user(&bare).await;
    assert!(nobody.ice_servers().await.unwrap().ice_servers.is_empty());
    bare.stop().await;
    let unauthenticated = server.client().ice_servers().await.unwrap_err();
    assert!(matches!(unauthenticated, SdkError::NotLoggedIn));
    server.stop().await;
}
