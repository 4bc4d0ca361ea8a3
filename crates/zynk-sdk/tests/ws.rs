//! `Connection` against a scripted in-process WebSocket server (no Zynk
//! server): authentication, `ready`, refusals, frame handling, timeouts and
//! the delivery contract of `next_new`. End-to-end tests against `zynkd`
//! live in zynk-server's tests.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use uuid::Uuid;
use zynk_proto::*;
use zynk_sdk::{Client, SdkError};

const TOKEN: &str = "session-token-do-not-print";
const WAIT: Duration = Duration::from_secs(5);

type Ws = WebSocketStream<TcpStream>;

fn client(addr: std::net::SocketAddr) -> Client {
    let mut client = Client::new(&format!("http://{addr}/"));
    let now = Utc::now();
    client.set_tokens(Some(AuthTokens {
        user_id: UserId::new(),
        device_id: DeviceId::new(),
        session_id: SessionId::new(),
        session_token: Secret(TOKEN.into()),
        refresh_token: Secret("refresh".into()),
        session_expires_at: now,
        refresh_expires_at: now,
    }));
    client
}

/// Serves one connection with `script`; returns the client and the server task.
async fn serve<F, Fut, T>(script: F) -> (Client, JoinHandle<T>)
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let ws = tokio_tungstenite::accept_async(stream)
            .await
            .expect("upgrade");
        script(ws).await
    });
    (client(addr), task)
}

async fn send(ws: &mut Ws, frame: &ServerFrame) {
    let text = serde_json::to_string(frame).expect("json");
    ws.send(WsMessage::Text(text.into())).await.expect("send");
}

/// The next client frame (skipping control frames); `None` once closed.
async fn recv(ws: &mut Ws) -> Option<ClientFrame> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("client frame")?
        {
            Ok(WsMessage::Text(text)) => {
                return Some(serde_json::from_str(text.as_str()).expect("client frame json"));
            }
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Checks the auth frame, then sends `ready`.
async fn accept_auth(ws: &mut Ws) -> (UserId, DeviceId) {
    match recv(ws).await {
        Some(ClientFrame::Auth { token }) => assert_eq!(token, TOKEN),
        other => panic!("expected auth first, got {other:?}"),
    }
    let (user_id, device_id) = (UserId::new(), DeviceId::new());
    send(ws, &ServerFrame::Ready { user_id, device_id }).await;
    (user_id, device_id)
}

fn message(id: MessageId) -> Message {
    Message {
        id,
        conversation_id: ConversationId::new(),
        sender_id: UserId::new(),
        sender_device_id: Some(DeviceId::new()),
        client_message_id: Some(Uuid::new_v4()),
        encrypted_content: Some("aGVsbG8=".into()),
        content_hash: "00".repeat(32),
        message_type: MessageType::Text,
        metadata: MessageMetadata::default(),
        status: MessageStatus::Sent,
        expires_at: None,
        created_at: Utc::now(),
        edited_at: None,
        deleted_at: None,
    }
}

fn problem(status: u16, slug: &str) -> Problem {
    Problem {
        kind: format!("https://zynk.dev/problems/{slug}"),
        title: slug.into(),
        status,
        detail: None,
    }
}

#[tokio::test]
async fn connect_authenticates_and_frames_flow() {
    let (client, server) = serve(|mut ws| async move {
        ws.send(WsMessage::Ping(b"hi".to_vec().into()))
            .await
            .expect("ping");
        let ids = accept_auth(&mut ws).await;
        ws.send(WsMessage::Binary(vec![1, 2, 3].into()))
            .await
            .expect("binary");
        send(&mut ws, &ServerFrame::Pong).await;
        // The client answers pings (tungstenite surfaces the pong it got).
        let mut got_pong = false;
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                WsMessage::Pong(data) => got_pong = data.as_ref() == b"hi",
                WsMessage::Text(text) => {
                    let frame: ClientFrame = serde_json::from_str(text.as_str()).expect("json");
                    assert!(matches!(frame, ClientFrame::Ping), "{frame:?}");
                    break;
                }
                _ => {}
            }
        }
        ws.close(None).await.expect("close");
        (ids, got_pong)
    })
    .await;
    let mut conn = client.connect().await.expect("connect");
    assert_eq!(
        conn.next_timeout(WAIT).await.expect("next"),
        Some(ServerFrame::Pong)
    );
    conn.ping().await.expect("ping");
    assert_eq!(conn.next_timeout(WAIT).await.expect("closed"), None);
    let ((user_id, device_id), got_pong) = server.await.expect("server");
    assert_eq!((conn.user_id(), conn.device_id()), (user_id, device_id));
    assert!(got_pong, "the WebSocket ping was answered");
    assert!(!format!("{conn:?}").contains(TOKEN), "{conn:?}");
}

#[tokio::test]
async fn a_refused_token_is_the_servers_problem() {
    let (client, _server) = serve(|mut ws| async move {
        let _ = recv(&mut ws).await;
        let error = ServerFrame::Error {
            problem: problem(401, "unauthorized"),
        };
        send(&mut ws, &error).await;
        let _ = ws.close(None).await;
    })
    .await;
    let err = client.connect().await.expect_err("refused");
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(err.kind(), Some("unauthorized"));
}

#[tokio::test]
async fn closing_before_ready_is_a_protocol_error() {
    let (client, _server) = serve(|mut ws| async move {
        let _ = recv(&mut ws).await;
        let _ = ws.close(None).await;
    })
    .await;
    let err = client.connect().await.expect_err("closed");
    assert!(matches!(err, SdkError::Protocol(_)), "{err}");
}

/// Refuses the upgrade with a problem document (tungstenite's callback
/// signature fixes the large `Err`).
#[allow(clippy::result_large_err)]
fn refuse(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
    let body = serde_json::to_string(&problem(400, "websocket-required")).ok();
    let mut response = ErrorResponse::new(body);
    *response.status_mut() = 400.try_into().expect("status");
    Err(response)
}

#[tokio::test]
async fn a_refused_upgrade_is_the_servers_problem() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let _ = tokio_tungstenite::accept_hdr_async(stream, refuse).await;
    });
    let err = client(addr).connect().await.expect_err("refused");
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.kind(), Some("websocket-required"));
}

#[tokio::test]
async fn connecting_needs_a_session() {
    let err = Client::new("http://127.0.0.1:9")
        .connect()
        .await
        .expect_err("no session");
    assert!(matches!(err, SdkError::NotLoggedIn), "{err}");
}

#[tokio::test]
async fn timeouts_and_bad_frames_are_errors() {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (client, _server) = serve(|mut ws| async move {
        accept_auth(&mut ws).await;
        let _ = released.await;
        ws.send(WsMessage::Text(r#"{"type":"no.such.frame"}"#.into()))
            .await
            .expect("send");
        send(&mut ws, &ServerFrame::Pong).await;
        let _ = recv(&mut ws).await;
    })
    .await;
    let mut conn = client.connect().await.expect("connect");
    let err = conn
        .next_timeout(Duration::from_millis(100))
        .await
        .expect_err("timeout");
    assert!(err.is_timeout(), "{err}");
    let err = conn
        .next_new(Duration::from_millis(100))
        .await
        .expect_err("timeout");
    assert!(err.is_timeout(), "{err}");
    let _ = release.send(());
    let err = conn.next_timeout(WAIT).await.expect_err("bad frame");
    assert!(matches!(err, SdkError::Protocol(_)), "{err}");
    assert_eq!(
        conn.next_timeout(WAIT).await.expect("next"),
        Some(ServerFrame::Pong),
        "still usable"
    );
    conn.close().await.expect("close");
}

#[tokio::test]
async fn next_new_dedupes_and_acks() {
    let (m1, m2) = (MessageId::new(), MessageId::new());
    let inbox_item = DeviceMessage {
        id: DeviceMessageId::new(),
        sender_id: UserId::new(),
        sender_device_id: DeviceId::new(),
        payload: "cGF5bG9hZA==".into(),
        created_at: Utc::now(),
    };
    let d1 = inbox_item.id;
    let typing = ServerFrame::Typing {
        conversation_id: ConversationId::new(),
        user_id: UserId::new(),
    };
    let script = {
        let typing = typing.clone();
        move |mut ws: Ws| async move {
            accept_auth(&mut ws).await;
            let new = |id| ServerFrame::MessageNew {
                message: message(id),
            };
            send(&mut ws, &new(m1)).await;
            send(&mut ws, &new(m1)).await;
            send(&mut ws, &typing).await;
            send(
                &mut ws,
                &ServerFrame::DeviceMessage {
                    message: inbox_item,
                },
            )
            .await;
            send(&mut ws, &new(m2)).await;
            send(&mut ws, &new(m1)).await;
            let mut acked = Vec::new();
            while let Some(frame) = recv(&mut ws).await {
                match frame {
                    ClientFrame::Ack { ids } => acked.extend(ids),
                    other => panic!("unexpected {other:?}"),
                }
            }
            acked
        }
    };
    let (client, server) = serve(script).await;
    let mut conn = client.connect().await.expect("connect");
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(conn.next_new(WAIT).await.expect("next_new").expect("open"));
    }
    assert!(matches!(&got[0], ServerFrame::MessageNew { message } if message.id == m1));
    assert_eq!(got[1], typing);
    assert!(matches!(&got[2], ServerFrame::DeviceMessage { message } if message.id == d1));
    assert!(matches!(&got[3], ServerFrame::MessageNew { message } if message.id == m2));
    // The last redelivery of m1 is dropped (and acked) while waiting.
    let err = conn
        .next_new(Duration::from_millis(300))
        .await
        .expect_err("nothing new");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(conn.inbox().len(), 3);
    conn.close().await.expect("close");

    let mut acked = server.await.expect("server");
    acked.sort();
    let mut want = vec![m1.0, m1.0, m1.0, d1.0, m2.0];
    want.sort();
    assert_eq!(acked, want, "every delivery acked, redeliveries included");

    // An inbox carried over remembers across connections.
    let inbox = conn.into_inbox();
    assert!(inbox.contains(&m1.0) && inbox.contains(&d1.0) && inbox.contains(&m2.0));
}
