//! Receipts and status transitions, typing, presence and privacy, and the
//! outsider walk over every endpoint and frame.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::time::Duration;

use common::{
    Backend, TestServer, expect_frame, expect_no_frame, outgoing, receive_messages, uid, user,
};
use zynk_proto::{
    ClientFrame, CreateGroup, EditMessage, MessageStatus, OutgoingDeviceMessage, PrivacySettings,
    SendDeviceMessages, ServerFrame, UpdateGroup, UpdateProfile, Visibility,
};

backend_tests!(
    read_receipts_follow_privacy,
    typing_reaches_participants_and_lapses,
    presence_follows_privacy,
    outsiders_get_nothing,
    device_inbox
);

async fn read_receipts_follow_privacy(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut ws_alice = alice.connect().await.unwrap();
    let mut ws_bob = bob.connect().await.unwrap();
    let m1 = alice.send_message(conv.id, &outgoing("one")).await.unwrap();
    let got = receive_messages(&mut ws_bob, 1).await;
    let f = expect_frame(&mut ws_alice, "delivered", |f| {
        matches!(f, ServerFrame::Receipt { .. })
    })
    .await;
    assert!(matches!(
        f,
        ServerFrame::Receipt {
            status: MessageStatus::Delivered,
            ..
        }
    ));
    ws_bob.read(conv.id, got[0].created_at).await.unwrap();
    let f = expect_frame(&mut ws_alice, "read", |f| {
        matches!(f, ServerFrame::Receipt { .. })
    })
    .await;
    let ServerFrame::Receipt {
        message_ids,
        status,
        ..
    } = f
    else {
        unreachable!()
    };
    assert_eq!((message_ids, status), (vec![m1.id], MessageStatus::Read));
    let page = alice.messages(conv.id, None, None).await.unwrap();
    assert_eq!(page.messages[0].status, MessageStatus::Read);
    let c = bob.conversation(conv.id).await.unwrap();
    assert_eq!(c.unread_count, 0);

    // Bob turns read receipts off: alice's next message reaches delivered, never read.
    bob.update_profile(&UpdateProfile {
        privacy_settings: Some(PrivacySettings {
            read_receipts: false,
            ..PrivacySettings::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    let m2 = alice.send_message(conv.id, &outgoing("two")).await.unwrap();
    let got = receive_messages(&mut ws_bob, 1).await;
    expect_frame(&mut ws_alice, "delivered", |f| {
        matches!(
            f,
            ServerFrame::Receipt {
                status: MessageStatus::Delivered,
                ..
            }
        )
    })
    .await;
    ws_bob.read(conv.id, got[0].created_at).await.unwrap();
    expect_no_frame(&mut ws_alice, Duration::from_millis(700), |f| {
        matches!(
            f,
            ServerFrame::Receipt {
                status: MessageStatus::Read,
                ..
            }
        )
    })
    .await;
    let page = alice.messages(conv.id, None, None).await.unwrap();
    let two = page.messages.iter().find(|m| m.id == m2.id).unwrap();
    assert_eq!(
        two.status,
        MessageStatus::Delivered,
        "status never moves backwards and privacy holds"
    );
    assert_eq!(
        bob.conversation(conv.id).await.unwrap().unread_count,
        0,
        "bob's own read marker still moves"
    );
}

async fn typing_reaches_participants_and_lapses(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (eve, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let mut ws_bob = bob.connect().await.unwrap();
    let mut ws_eve = eve.connect().await.unwrap();
    let mut ws_alice = alice.connect().await.unwrap();
    ws_alice.typing(conv.id).await.unwrap();
    let f = expect_frame(&mut ws_bob, "typing", |f| {
        matches!(f, ServerFrame::Typing { .. })
    })
    .await;
    assert_eq!(
        f,
        ServerFrame::Typing {
            conversation_id: conv.id,
            user_id: uid(&alice)
        }
    );
    assert_eq!(
        bob.conversation(conv.id).await.unwrap().typing,
        Some(vec![uid(&alice)])
    );
    expect_no_frame(&mut ws_eve, Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Typing { .. })
    })
    .await;
    expect_no_frame(&mut ws_alice, Duration::from_millis(100), |f| {
        matches!(f, ServerFrame::Typing { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(5200)).await;
    assert_eq!(
        bob.conversation(conv.id).await.unwrap().typing,
        Some(vec![]),
        "typing lapses after 5 s"
    );
}

async fn presence_follows_privacy(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, areg) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (carol, _) = user(&server).await;
    alice.create_conversation(uid(&bob)).await.unwrap();
    let mut ws_bob = bob.connect().await.unwrap();
    let mut ws_carol = carol.connect().await.unwrap();
    let mut ws_alice = alice.connect().await.unwrap();
    let f = expect_frame(&mut ws_bob, "presence", |f| {
        matches!(f, ServerFrame::Presence { .. })
    })
    .await;
    assert!(
        matches!(f, ServerFrame::Presence { user_id, online: true, .. } if user_id == uid(&alice))
    );
    expect_no_frame(&mut ws_carol, Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Presence { .. })
    })
    .await;
    ws_alice.close().await.unwrap();
    let f = expect_frame(&mut ws_bob, "offline", |f| {
        matches!(f, ServerFrame::Presence { online: false, .. })
    })
    .await;
    assert!(matches!(
        f,
        ServerFrame::Presence {
            last_seen_at: Some(_),
            ..
        }
    ));

    alice
        .update_profile(&UpdateProfile {
            privacy_settings: Some(PrivacySettings {
                online_status: Visibility::Nobody,
                last_seen: Visibility::Nobody,
                read_receipts: true,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ws_alice = alice.connect().await.unwrap();
    expect_no_frame(&mut ws_bob, Duration::from_millis(500), |f| {
        matches!(f, ServerFrame::Presence { .. })
    })
    .await;
    let seen = bob.user(&areg.username).await.unwrap();
    assert_eq!((seen.online, seen.last_seen_at), (None, None));
    ws_alice.close().await.unwrap();
}

async fn outsiders_get_nothing(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let (eve, _) = user(&server).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap();
    let group = alice
        .create_group(&CreateGroup {
            name: "g".into(),
            description: None,
            avatar_url: None,
            member_ids: vec![uid(&bob)],
        })
        .await
        .unwrap();
    let m = alice
        .send_message(conv.id, &outgoing("secret"))
        .await
        .unwrap();
    let gm = alice
        .send_message(group.id, &outgoing("group secret"))
        .await
        .unwrap();
    let mut ws_eve = eve.connect().await.unwrap();

    let not_found = |r: Result<_, zynk_sdk::SdkError>, what: &str| {
        let e = r
            .err()
            .unwrap_or_else(|| panic!("{what}: outsider got data"));
        assert_eq!(e.status(), Some(404), "{what}: {e:?}");
    };
    for id in [conv.id, group.id] {
        not_found(eve.conversation(id).await.map(|_| ()), "GET conversation");
        not_found(
            eve.messages(id, None, None).await.map(|_| ()),
            "GET messages",
        );
        not_found(
            eve.send_message(id, &outgoing("hi")).await.map(|_| ()),
            "POST message",
        );
    }
    not_found(eve.group(group.id).await.map(|_| ()), "GET group");
    not_found(
        eve.update_group(
            group.id,
            &UpdateGroup {
                name: Some("pwn".into()),
                ..Default::default()
            },
        )
        .await
        .map(|_| ()),
        "PATCH group",
    );
    not_found(
        eve.add_member(group.id, uid(&eve)).await.map(|_| ()),
        "add self",
    );
    not_found(
        eve.remove_member(group.id, uid(&bob)).await.map(|_| ()),
        "remove member",
    );
    not_found(
        eve.set_role(group.id, uid(&eve), zynk_proto::Role::Admin)
            .await
            .map(|_| ()),
        "set role",
    );
    for id in [m.id, gm.id] {
        let e = outgoing("x");
        not_found(
            eve.edit_message(
                id,
                &EditMessage {
                    encrypted_content: e.encrypted_content,
                    content_hash: e.content_hash,
                },
            )
            .await
            .map(|_| ()),
            "edit",
        );
        not_found(eve.delete_message(id).await.map(|_| ()), "delete");
        not_found(eve.react(id, "👀").await.map(|_| ()), "react");
        not_found(eve.unreact(id, "👀").await.map(|_| ()), "unreact");
    }
    assert!(eve.conversations().await.unwrap().is_empty());

    // Frames: typing and read are refused; acks of others' messages change nothing.
    for frame in [
        ClientFrame::Typing {
            conversation_id: conv.id,
        },
        ClientFrame::Read {
            conversation_id: conv.id,
            up_to: chrono::Utc::now(),
        },
    ] {
        ws_eve.send(&frame).await.unwrap();
        let f = expect_frame(&mut ws_eve, "error", |f| {
            matches!(f, ServerFrame::Error { .. })
        })
        .await;
        assert!(matches!(f, ServerFrame::Error { problem } if problem.status == 404));
    }
    ws_eve
        .send_message(conv.id, outgoing("intrude"))
        .await
        .unwrap();
    let f = expect_frame(&mut ws_eve, "error", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    assert!(matches!(f, ServerFrame::Error { problem } if problem.status == 404));
    ws_eve.ack(vec![m.id.0, gm.id.0]).await.unwrap();
    ws_eve.ping().await.unwrap();
    expect_frame(&mut ws_eve, "pong", |f| matches!(f, ServerFrame::Pong)).await;
    let page = alice.messages(conv.id, None, None).await.unwrap();
    assert_eq!(
        page.messages[0].status,
        MessageStatus::Sent,
        "an outsider's ack is no receipt"
    );
    // Eve saw none of the conversation's traffic.
    let mut ws_alice = alice.connect().await.unwrap();
    ws_alice.typing(conv.id).await.unwrap();
    alice
        .send_message(conv.id, &outgoing("more"))
        .await
        .unwrap();
    expect_no_frame(&mut ws_eve, Duration::from_millis(500), |f| {
        !matches!(f, ServerFrame::Pong | ServerFrame::Presence { .. })
    })
    .await;
}

async fn device_inbox(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let bob_device = bob.tokens().unwrap().device_id;
    let body = SendDeviceMessages {
        messages: vec![OutgoingDeviceMessage {
            device_id: bob_device,
            payload: "a2V5IHNoYXJl".into(),
        }],
    };
    alice.send_device_messages(&body).await.unwrap();
    let mut ws = bob.connect().await.unwrap();
    let f = expect_frame(&mut ws, "device_message", |f| {
        matches!(f, ServerFrame::DeviceMessage { .. })
    })
    .await;
    let ServerFrame::DeviceMessage { message } = f else {
        unreachable!()
    };
    assert_eq!(
        (message.payload.as_str(), message.sender_id),
        ("a2V5IHNoYXJl", uid(&alice))
    );
    ws.close().await.unwrap();
    // Not acked: delivered again; acked: gone.
    let mut ws = bob.connect().await.unwrap();
    let f = expect_frame(&mut ws, "device_message again", |f| {
        matches!(f, ServerFrame::DeviceMessage { .. })
    })
    .await;
    let ServerFrame::DeviceMessage { message: again } = f else {
        unreachable!()
    };
    assert_eq!(again.id, message.id);
    ws.ack(vec![again.id.0]).await.unwrap();
    ws.ping().await.unwrap();
    expect_frame(&mut ws, "pong", |f| matches!(f, ServerFrame::Pong)).await;
    ws.close().await.unwrap();
    let mut ws = bob.connect().await.unwrap();
    ws.ping().await.unwrap();
    let f = expect_frame(&mut ws, "pong", |f| {
        matches!(f, ServerFrame::Pong | ServerFrame::DeviceMessage { .. })
    })
    .await;
    assert_eq!(f, ServerFrame::Pong);
    // Live delivery to a connected device.
    alice.send_device_messages(&body).await.unwrap();
    expect_frame(&mut ws, "live device_message", |f| {
        matches!(f, ServerFrame::DeviceMessage { .. })
    })
    .await;
    // Unknown device and bad payloads are refused.
    let bad = SendDeviceMessages {
        messages: vec![OutgoingDeviceMessage {
            device_id: zynk_proto::DeviceId::new(),
            payload: "eA==".into(),
        }],
    };
    assert_eq!(
        alice.send_device_messages(&bad).await.unwrap_err().status(),
        Some(422)
    );
    let bad = SendDeviceMessages { messages: vec![] };
    assert_eq!(
        alice.send_device_messages(&bad).await.unwrap_err().status(),
        Some(422)
    );
    // Limits: at most 1000 entries, payloads of at most 64 KiB; nothing is stored.
    let entry = |payload: String| OutgoingDeviceMessage {
        device_id: bob_device,
        payload,
    };
    let too_many = SendDeviceMessages {
        messages: (0..1001).map(|_| entry("eA==".into())).collect(),
    };
    let too_big = SendDeviceMessages {
        messages: vec![entry(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            vec![0u8; 64 * 1024 + 1],
        ))],
    };
    for bad in [too_many, too_big] {
        assert_eq!(
            alice.send_device_messages(&bad).await.unwrap_err().status(),
            Some(422)
        );
    }
    expect_no_frame(&mut ws, Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::DeviceMessage { .. })
    })
    .await;
}
