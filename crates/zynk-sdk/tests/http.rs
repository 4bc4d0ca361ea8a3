//! The messaging endpoints against a scripted HTTP responder (no Zynk
//! server): method, path, query and body of each request, and how answers
//! (`201`, `202`/`204` without a body, problems) are read.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use zynk_proto::*;
use zynk_sdk::{Client, outgoing};

/// One request as the responder saw it: `METHOD /path?query` and the body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Answers every request with `status` and `body` (one request per
/// connection); records what it saw.
async fn responder(status: u16, body: String) -> (Client, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut stream = BufReader::new(stream);
            let mut line = String::new();
            stream.read_line(&mut line).await.expect("request line");
            let target: Vec<&str> = line.split_whitespace().take(2).collect();
            let mut length = 0;
            loop {
                let mut header = String::new();
                stream.read_line(&mut header).await.expect("header");
                if header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().expect("length");
                }
            }
            let mut request_body = vec![0; length];
            stream.read_exact(&mut request_body).await.expect("body");
            let request_body = String::from_utf8(request_body).expect("utf-8");
            log.lock()
                .expect("log")
                .push((target.join(" "), request_body));
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream
                .get_mut()
                .write_all(response.as_bytes())
                .await
                .expect("write");
        }
    });
    let mut client = Client::new(&format!("http://{addr}"));
    let now = Utc::now();
    client.set_tokens(Some(AuthTokens {
        user_id: UserId::new(),
        device_id: DeviceId::new(),
        session_id: SessionId::new(),
        session_token: Secret("t".into()),
        refresh_token: Secret("r".into()),
        session_expires_at: now,
        refresh_expires_at: now,
    }));
    (client, seen)
}

fn requests(seen: &Seen) -> Vec<(String, String)> {
    seen.lock().expect("log").clone()
}

#[tokio::test]
async fn bodiless_answers_are_fine_where_expected() {
    let (client, seen) = responder(202, String::new()).await;
    let to = OutgoingDeviceMessage {
        device_id: DeviceId::new(),
        payload: "cA==".into(),
    };
    let body = SendDeviceMessages { messages: vec![to] };
    client.send_device_messages(&body).await.expect("202");

    let (client, more) = responder(204, String::new()).await;
    let (group, user, message) = (ConversationId::new(), UserId::new(), MessageId::new());
    client.remove_member(group, user).await.expect("204");
    client.delete_message(message).await.expect("204");

    let mut all = requests(&seen);
    all.extend(requests(&more));
    assert_eq!(all[0].0, "POST /v1/devices/messages");
    let sent: serde_json::Value = serde_json::from_str(&all[0].1).expect("json");
    assert_eq!(sent["messages"][0]["payload"], "cA==");
    assert_eq!(
        all[1].0,
        format!("DELETE /v1/groups/{group}/members/{user}")
    );
    assert_eq!(all[2].0, format!("DELETE /v1/messages/{message}"));
}

#[tokio::test]
async fn paths_queries_and_bodies() {
    let message = MessageId::new();
    let (client, seen) = responder(200, "{}".into()).await;
    let conversation = ConversationId::new();
    // `{}` is no Message: the answers fail to parse, the requests are what counts.
    let _ = client.react(message, "👍").await;
    let _ = client.unreact(message, "a/b").await;
    let _ = client.messages(conversation, Some("c+/="), Some(20)).await;
    let _ = client.messages(conversation, None, None).await;
    let _ = client.create_conversation(UserId::new()).await;
    let _ = client
        .set_role(conversation, UserId::new(), Role::Admin)
        .await;
    let _ = client
        .send_message(conversation, &outgoing(b"x", MessageType::Text))
        .await;
    let all = requests(&seen);
    assert_eq!(
        all[0].0,
        format!("PUT /v1/messages/{message}/reactions/%F0%9F%91%8D")
    );
    assert_eq!(
        all[1].0,
        format!("DELETE /v1/messages/{message}/reactions/a%2Fb")
    );
    assert_eq!(
        all[2].0,
        format!("GET /v1/conversations/{conversation}/messages?before=c%2B%2F%3D&limit=20")
    );
    assert_eq!(
        all[3].0,
        format!("GET /v1/conversations/{conversation}/messages")
    );
    assert_eq!(all[4].0, "POST /v1/conversations");
    let create: serde_json::Value = serde_json::from_str(&all[4].1).expect("json");
    assert_eq!(create["type"], "one_to_one");
    assert!(create["user_id"].is_string());
    let role: serde_json::Value = serde_json::from_str(&all[5].1).expect("json");
    assert_eq!(role, serde_json::json!({"role": "admin"}));
    assert_eq!(
        all[6].0,
        format!("POST /v1/conversations/{conversation}/messages")
    );
    let send: serde_json::Value = serde_json::from_str(&all[6].1).expect("json");
    assert_eq!(send["encrypted_content"], "eA==");
    assert_eq!(send["message_type"], "text");
}

#[tokio::test]
async fn problems_are_api_errors() {
    let problem = Problem {
        kind: "https://zynk.dev/problems/not-found".into(),
        title: "Not Found".into(),
        status: 404,
        detail: Some("no such conversation".into()),
    };
    let body = serde_json::to_string(&problem).expect("json");
    let (client, _) = responder(404, body).await;
    let err = client
        .conversation(ConversationId::new())
        .await
        .expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.kind(), Some("not-found"));
    let err = client
        .delete_message(MessageId::new())
        .await
        .expect_err("404");
    assert_eq!(err.kind(), Some("not-found"));
}
