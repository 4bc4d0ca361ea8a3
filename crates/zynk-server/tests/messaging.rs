//! Conversations, groups and messages over HTTP and WebSocket, on both backends.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::time::Duration;

use common::{
    Backend, TestServer, expect_frame, outgoing, receive_messages, second_device, uid, user,
};
use zynk_proto::{
    CreateGroup, EditMessage, MessageStatus, MessageType, Role, ServerFrame, UpdateGroup,
};

backend_tests!(
    one_to_one_delivery_to_every_device,
    offline_catch_up_and_retries,
    group_delivery_and_admin_rules,
    group_member_limit,
    history_edit_delete_react,
    self_destruct_is_never_served_after_expiry,
    message_validation,
    revoked_sessions_lose_their_socket,
    a_slow_reader_loses_nothing,
);

/// A connected device that does not read while far more than its outbound
/// queue (1024 frames) arrives still gets every message once it reads.
async fn a_slow_reader_loses_nothing(b: Backend) {
    let server = TestServer::start(b, |c| c.ratelimit_api_per_hour = 100_000).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut ws = bob.connect().await.unwrap();
    const N: usize = 1100;
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let alice = alice.clone();
            tokio::spawn(async move {
                for i in (t..N).step_by(8) {
                    let body =
                        zynk_sdk::outgoing(&vec![(i % 251) as u8; 48 * 1024], MessageType::File);
                    alice.send_message(conv.id, &body).await.unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let got = receive_messages(&mut ws, N).await;
    assert_eq!(got.len(), N);
}

async fn revoked_sessions_lose_their_socket(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, areg) = user(&server).await;
    let phone = second_device(&server, &areg, "phone").await;
    let tablet = second_device(&server, &areg, "tablet").await;
    let mut ws_phone = phone.connect().await.unwrap();
    let mut ws_tablet = tablet.connect().await.unwrap();
    let mut ws_alice = alice.connect().await.unwrap();
    alice
        .revoke_session(phone.tokens().unwrap().session_id)
        .await
        .unwrap();
    let f = expect_frame(&mut ws_phone, "revocation", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    assert!(matches!(f, ServerFrame::Error { problem } if problem.status == 401));
    assert!(
        matches!(
            ws_phone.next_timeout(Duration::from_secs(5)).await,
            Ok(None)
        ),
        "closed"
    );
    alice
        .delete_device(tablet.tokens().unwrap().device_id)
        .await
        .unwrap();
    expect_frame(&mut ws_tablet, "device removal", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    // The remaining session is untouched.
    ws_alice.ping().await.unwrap();
    expect_frame(&mut ws_alice, "pong", |f| matches!(f, ServerFrame::Pong)).await;
}

async fn one_to_one_delivery_to_every_device(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, areg) = user(&server).await;
    let (bob, breg) = user(&server).await;
    let alice2 = second_device(&server, &areg, "alice-phone").await;
    let bob2 = second_device(&server, &breg, "bob-phone").await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let again = bob.create_conversation(uid(&alice)).await.unwrap();
    assert_eq!(conv.id, again.id, "one 1:1 conversation per pair");

    let mut ws_alice2 = alice2.connect().await.unwrap();
    let mut ws_bob = bob.connect().await.unwrap();
    let mut ws_bob2 = bob2.connect().await.unwrap();
    let mut ws_alice = alice.connect().await.unwrap();

    // Over HTTP: every device of bob and alice's other device get it; the sending device does not.
    let sent = alice
        .send_message(conv.id, &outgoing("hello bob"))
        .await
        .unwrap();
    assert_eq!(sent.status, MessageStatus::Sent);
    for ws in [&mut ws_bob, &mut ws_bob2, &mut ws_alice2] {
        let got = receive_messages(ws, 1).await;
        assert_eq!(got[0].id, sent.id);
        assert_eq!(got[0].sender_id, uid(&alice));
    }
    // Delivered once every other participant acked on a device: alice learns it.
    let receipt = expect_frame(&mut ws_alice, "receipt", |f| {
        matches!(f, ServerFrame::Receipt { .. })
    })
    .await;
    let ServerFrame::Receipt {
        message_ids,
        status,
        ..
    } = receipt
    else {
        unreachable!()
    };
    assert_eq!(
        (message_ids, status),
        (vec![sent.id], MessageStatus::Delivered)
    );
    // Over the socket, in the other direction.
    let msg = outgoing("hi alice");
    ws_bob.send_message(conv.id, msg.clone()).await.unwrap();
    let reply = expect_frame(&mut ws_bob, "sent", |f| {
        matches!(f, ServerFrame::Sent { .. })
    })
    .await;
    let ServerFrame::Sent { message: reply } = reply else {
        unreachable!()
    };
    for ws in [&mut ws_alice, &mut ws_alice2, &mut ws_bob2] {
        let got = receive_messages(ws, 1).await;
        assert_eq!(got[0].id, reply.id);
        assert_eq!(
            got[0].encrypted_content.as_deref(),
            Some(msg.encrypted_content.as_str())
        );
    }
}

async fn offline_catch_up_and_retries(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    // Bob is offline; alice sends 30 messages, each twice (a retry).
    let mut ids = Vec::new();
    for i in 0..30 {
        let m = outgoing(&format!("offline {i}"));
        let first = alice.send_message(conv.id, &m).await.unwrap();
        let retry = alice.send_message(conv.id, &m).await.unwrap();
        assert_eq!(first.id, retry.id, "a retry returns the first message");
        ids.push(first.id);
    }
    let page = alice.messages(conv.id, None, Some(100)).await.unwrap();
    assert_eq!(page.messages.len(), 30, "retries created nothing");

    // Bob connects, reads half, drops the connection without acking the rest.
    let mut ws = bob.connect().await.unwrap();
    let mut got = Vec::new();
    for _ in 0..15 {
        let f = expect_frame(&mut ws, "catch-up", |f| {
            matches!(f, ServerFrame::MessageNew { .. })
        })
        .await;
        let ServerFrame::MessageNew { message } = f else {
            unreachable!()
        };
        ws.ack(vec![message.id.0]).await.unwrap();
        got.push(message.id);
    }
    // Give the acks a moment to land before disconnecting.
    ws.ping().await.unwrap();
    expect_frame(&mut ws, "pong", |f| matches!(f, ServerFrame::Pong)).await;
    ws.close().await.unwrap();

    // On reconnect he gets exactly the unacknowledged ones, oldest first.
    let mut ws = bob.connect().await.unwrap();
    let rest = receive_messages(&mut ws, 15).await;
    got.extend(rest.iter().map(|m| m.id));
    assert_eq!(got, ids, "every message exactly once, in order");
    ws.ping().await.unwrap();
    expect_frame(&mut ws, "pong", |f| matches!(f, ServerFrame::Pong)).await;
    ws.close().await.unwrap();
    let mut ws = bob.connect().await.unwrap();
    ws.ping().await.unwrap();
    let f = expect_frame(&mut ws, "pong", |f| {
        matches!(f, ServerFrame::Pong | ServerFrame::MessageNew { .. })
    })
    .await;
    assert_eq!(f, ServerFrame::Pong, "nothing is redelivered after acks");
}

async fn group_delivery_and_admin_rules(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (carol, _) = user(&server).await;
    let (dave, _) = user(&server).await;
    let group = alice
        .create_group(&CreateGroup {
            name: "team".into(),
            description: None,
            avatar_url: None,
            member_ids: vec![uid(&bob), uid(&carol)],
        })
        .await
        .unwrap();
    assert_eq!(group.members.len(), 3);
    assert!(
        group
            .members
            .iter()
            .any(|m| m.user_id == uid(&alice) && m.role == Role::Admin)
    );

    // Members other than admins cannot manage the group.
    assert_eq!(
        bob.add_member(group.id, uid(&dave))
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    assert_eq!(
        bob.update_group(
            group.id,
            &UpdateGroup {
                name: Some("x".into()),
                ..Default::default()
            }
        )
        .await
        .unwrap_err()
        .status(),
        Some(403)
    );
    assert_eq!(
        bob.remove_member(group.id, uid(&carol))
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    let g = alice.add_member(group.id, uid(&dave)).await.unwrap();
    assert_eq!(
        g.members
            .iter()
            .find(|m| m.user_id == uid(&dave))
            .unwrap()
            .invited_by,
        Some(uid(&alice))
    );
    assert_eq!(
        alice
            .add_member(group.id, uid(&dave))
            .await
            .unwrap_err()
            .status(),
        Some(409)
    );

    let mut ws_bob = bob.connect().await.unwrap();
    let mut ws_dave = dave.connect().await.unwrap();
    let sent = alice
        .send_message(group.id, &outgoing("to the team"))
        .await
        .unwrap();
    assert_eq!(receive_messages(&mut ws_bob, 1).await[0].id, sent.id);
    assert_eq!(receive_messages(&mut ws_dave, 1).await[0].id, sent.id);

    // Carol leaves; later messages do not reach her.
    carol.remove_member(group.id, uid(&carol)).await.unwrap();
    let mut ws_carol = carol.connect().await.unwrap();
    let _ = receive_messages(&mut ws_carol, 1).await; // the one sent while she was a member
    let later = alice
        .send_message(group.id, &outgoing("after carol left"))
        .await
        .unwrap();
    assert_eq!(receive_messages(&mut ws_bob, 1).await[0].id, later.id);
    common::expect_no_frame(&mut ws_carol, Duration::from_millis(500), |f| {
        matches!(f, ServerFrame::MessageNew { .. })
    })
    .await;
    assert_eq!(
        carol
            .messages(group.id, None, None)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );

    // The last admin leaves: the longest-standing member (bob, joined at creation before dave) becomes admin.
    alice
        .set_role(group.id, uid(&dave), Role::Member)
        .await
        .unwrap();
    assert_eq!(
        alice
            .set_role(group.id, uid(&alice), Role::Member)
            .await
            .unwrap_err()
            .status(),
        Some(409)
    );
    alice.remove_member(group.id, uid(&alice)).await.unwrap();
    let g = bob.group(group.id).await.unwrap();
    assert_eq!(g.members.len(), 2);
    let admins: Vec<_> = g
        .members
        .iter()
        .filter(|m| m.role == Role::Admin)
        .map(|m| m.user_id)
        .collect();
    assert_eq!(admins, vec![uid(&bob)], "bob joined before dave");
    let conv = bob.conversation(group.id).await.unwrap();
    let mut participants: Vec<_> = conv
        .participants
        .unwrap()
        .iter()
        .map(|p| p.user_id)
        .collect();
    let mut members: Vec<_> = g.members.iter().map(|m| m.user_id).collect();
    participants.sort();
    members.sort();
    assert_eq!(
        participants, members,
        "group_members and conversation_participants agree"
    );
}

async fn group_member_limit(b: Backend) {
    let server = TestServer::start(b, |c| {
        c.ratelimit_auth_per_hour = 1000;
    })
    .await;
    let (admin, _) = user(&server).await;
    // 255 others + the admin = 256 members, the default maximum.
    let mut ids = Vec::new();
    for _ in 0..256 {
        let (u, _) = user(&server).await;
        ids.push(uid(&u));
    }
    let group = admin
        .create_group(&CreateGroup {
            name: "big".into(),
            description: None,
            avatar_url: None,
            member_ids: ids[..200].to_vec(),
        })
        .await
        .unwrap();
    // Concurrent adds of 56 more: exactly 55 fit.
    let results = futures_join(ids[200..].iter().map(|id| {
        let admin = admin.clone();
        let gid = group.id;
        let id = *id;
        async move { admin.add_member(gid, id).await.map(|_| ()) }
    }))
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let full = results
        .iter()
        .filter(|r| r.as_ref().err().and_then(|e| e.kind()) == Some("group-full"))
        .count();
    assert_eq!((ok, full), (55, 1), "{results:?}");
    assert_eq!(admin.group(group.id).await.unwrap().members.len(), 256);
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn history_edit_delete_react(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(
            alice
                .send_message(conv.id, &outgoing(&format!("m{i}")))
                .await
                .unwrap()
                .id,
        );
    }
    // Pages of 3, newest first, stable cursor.
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = bob
            .messages(conv.id, before.as_deref(), Some(3))
            .await
            .unwrap();
        seen.extend(page.messages.iter().map(|m| m.id));
        match page.next_before {
            Some(c) => before = Some(c),
            None => break,
        }
    }
    let mut expected = sent.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    let mut ws_bob = bob.connect().await.unwrap();
    let _ = receive_messages(&mut ws_bob, 7).await;
    let new = outgoing("edited");
    assert_eq!(
        bob.edit_message(
            sent[0],
            &EditMessage {
                encrypted_content: new.encrypted_content.clone(),
                content_hash: new.content_hash.clone()
            }
        )
        .await
        .unwrap_err()
        .status(),
        Some(403)
    );
    let edited = alice
        .edit_message(
            sent[0],
            &EditMessage {
                encrypted_content: new.encrypted_content.clone(),
                content_hash: new.content_hash.clone(),
            },
        )
        .await
        .unwrap();
    assert!(edited.edited_at.is_some());
    let f = expect_frame(&mut ws_bob, "message.edited", |f| {
        matches!(f, ServerFrame::MessageEdited { .. })
    })
    .await;
    let ServerFrame::MessageEdited { message } = f else {
        unreachable!()
    };
    assert_eq!(message.encrypted_content, Some(new.encrypted_content));

    let with_reaction = bob.react(sent[1], "👍").await.unwrap();
    assert_eq!(
        with_reaction.metadata.reactions.get("👍"),
        Some(&vec![uid(&bob)])
    );
    let both = alice.react(sent[1], "👍").await.unwrap();
    assert_eq!(both.metadata.reactions["👍"].len(), 2);
    let one = bob.unreact(sent[1], "👍").await.unwrap();
    assert_eq!(one.metadata.reactions["👍"], vec![uid(&alice)]);

    assert_eq!(
        bob.delete_message(sent[2]).await.unwrap_err().status(),
        Some(403)
    );
    alice.delete_message(sent[2]).await.unwrap();
    let f = expect_frame(&mut ws_bob, "message.deleted", |f| {
        matches!(f, ServerFrame::MessageDeleted { .. })
    })
    .await;
    assert!(matches!(f, ServerFrame::MessageDeleted { message_id, .. } if message_id == sent[2]));
    let page = bob.messages(conv.id, None, Some(50)).await.unwrap();
    assert!(
        page.messages.iter().all(|m| m.id != sent[2]),
        "deleted content is not served"
    );
    assert_eq!(
        bob.react(sent[2], "👍").await.unwrap_err().status(),
        Some(404)
    );
}

async fn self_destruct_is_never_served_after_expiry(b: Backend) {
    let server = TestServer::start(b, |c| c.lifecycle_interval_secs = 1).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut m = outgoing("burn after reading");
    m.expires_at = Some(chrono::Utc::now() + chrono::Duration::milliseconds(1500));
    let sent = alice.send_message(conv.id, &m).await.unwrap();
    let keep = alice
        .send_message(conv.id, &outgoing("keep"))
        .await
        .unwrap();
    assert_eq!(
        bob.messages(conv.id, None, None)
            .await
            .unwrap()
            .messages
            .len(),
        2
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // Expired: not in history, not in catch-up — even before the lifecycle job runs.
    let page = bob.messages(conv.id, None, None).await.unwrap();
    assert_eq!(
        page.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![keep.id]
    );
    let mut ws = bob.connect().await.unwrap();
    let got = receive_messages(&mut ws, 1).await;
    assert_eq!(got[0].id, keep.id);
    assert_eq!(
        alice.react(sent.id, "🔥").await.unwrap_err().status(),
        Some(404)
    );
    // And the lifecycle job removes it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        server.state.store.message(sent.id).await.unwrap().is_none(),
        "removed by the lifecycle job"
    );
    assert!(server.state.store.message(keep.id).await.unwrap().is_some());
}

async fn message_validation(b: Backend) {
    let server = TestServer::start(b, |c| c.max_message_bytes = 2048).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut bad_hash = outgoing("x");
    bad_hash.content_hash = "0".repeat(64);
    let e = alice.send_message(conv.id, &bad_hash).await.unwrap_err();
    assert_eq!(
        (e.status(), e.kind()),
        (Some(422), Some("content-hash-mismatch"))
    );
    let big = zynk_sdk::outgoing(&vec![7u8; 2049], MessageType::File);
    assert_eq!(
        alice
            .send_message(conv.id, &big)
            .await
            .unwrap_err()
            .status(),
        Some(413)
    );
    let mut not_b64 = outgoing("x");
    not_b64.encrypted_content = "***".into();
    assert_eq!(
        alice
            .send_message(conv.id, &not_b64)
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    let mut past = outgoing("x");
    past.expires_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    assert_eq!(
        alice
            .send_message(conv.id, &past)
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    let mut bad_reply = outgoing("x");
    bad_reply.metadata = Some(zynk_proto::NewMessageMetadata {
        reply_to: Some(zynk_proto::MessageId::new()),
        mentions: vec![],
    });
    assert_eq!(
        alice
            .send_message(conv.id, &bad_reply)
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    let (carol, _) = user(&server).await;
    let mut bad_mention = outgoing("x");
    bad_mention.metadata = Some(zynk_proto::NewMessageMetadata {
        reply_to: None,
        mentions: vec![uid(&carol)],
    });
    assert_eq!(
        alice
            .send_message(conv.id, &bad_mention)
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    let first = alice.send_message(conv.id, &outgoing("ok")).await.unwrap();
    let mut reply = outgoing("re");
    reply.metadata = Some(zynk_proto::NewMessageMetadata {
        reply_to: Some(first.id),
        mentions: vec![uid(&bob)],
    });
    alice.send_message(conv.id, &reply).await.unwrap();
    assert_eq!(
        alice
            .create_conversation(uid(&alice))
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    assert_eq!(
        alice
            .create_conversation(zynk_proto::UserId::new())
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    let r = alice
        .raw(
            "GET",
            &format!("/v1/conversations/{}/messages?limit=0", conv.id),
            None,
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
    let r = alice
        .raw(
            "GET",
            &format!("/v1/conversations/{}/messages?before=garbage", conv.id),
            None,
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
}
