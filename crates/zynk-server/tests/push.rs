//! Push notifications, on both backends, against a local receiver standing
//! in for FCM (and its OAuth token endpoint), APNs (h2c) and Web Push
//! endpoints. The keys are the test-only fixtures in `tests/fixtures/push`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/push_receiver.rs"]
mod push_receiver;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use common::{Backend, TestServer, outgoing, uid, unique};
use p256::pkcs8::DecodePrivateKey as _;
use push_receiver::{ACCESS_TOKEN, Answer, Receiver, Recorded};
use zynk_proto::{
    CallType, ConversationId, Login, NewDevice, OutgoingDeviceMessage, Platform, Register,
    SendDeviceMessages,
};
use zynk_sdk::Client;

backend_tests!(
    only_offline_devices_get_a_push_and_it_has_no_content,
    android_goes_through_fcm_with_an_oauth_token,
    ios_goes_through_apns_over_http2,
    bursts_to_one_device_are_coalesced,
    invalid_tokens_are_removed,
    transient_failures_are_retried,
    delivery_never_waits_for_pushes,
    device_messages_and_calls_push_too,
);

const PROJECT: &str = "zynk-test-project";
const CLIENT_EMAIL: &str = "pusher@zynk-test-project.iam.gserviceaccount.com";
const KEY_ID: &str = "KEYID12345";
const TEAM_ID: &str = "TEAMID6789";
const TOPIC: &str = "dev.zynk.test";
const SUBJECT: &str = "mailto:ops@zynk.test";
const FCM_PATH: &str = "/v1/projects/zynk-test-project/messages:send";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/push")
        .join(name)
}

/// A server whose push senders all point at `rx`.
async fn server(b: Backend, rx: &Receiver, coalesce_ms: u64) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let account = serde_json::json!({
        "type": "service_account",
        "client_email": CLIENT_EMAIL,
        "private_key": std::fs::read_to_string(fixture("fcm-test-rsa.pem")).unwrap(),
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    let account_path = dir.path().join("service-account.json");
    std::fs::write(&account_path, account.to_string()).unwrap();
    let url = rx.url.clone();
    let server = TestServer::start(b, move |c| {
        c.push_coalesce_ms = coalesce_ms;
        c.push_fcm_endpoint = url.clone();
        c.push_fcm_project = Some(PROJECT.into());
        c.push_fcm_service_account = Some(account_path);
        c.push_fcm_token_url = Some(format!("{url}/token"));
        c.push_apns_endpoint = url;
        c.push_apns_key_path = Some(fixture("apns-test-key.p8"));
        c.push_apns_key_id = Some(KEY_ID.into());
        c.push_apns_team_id = Some(TEAM_ID.into());
        c.push_apns_topic = Some(TOPIC.into());
        c.push_vapid_private_key = Some(fixture("vapid-test-key.pem"));
        c.push_vapid_subject = Some(SUBJECT.into());
    })
    .await;
    (server, dir)
}

fn new_device(platform: Platform, token: Option<String>) -> NewDevice {
    NewDevice {
        platform,
        push_token: token.map(zynk_proto::Secret),
        ..common::device("phone")
    }
}

/// A registered user whose first device has `platform` and `token`.
async fn user_on(
    server: &TestServer,
    platform: Platform,
    token: Option<String>,
) -> (Client, Register) {
    let mut c = server.client();
    let reg = Register {
        device: new_device(platform, token),
        ..common::registration(&unique("user"))
    };
    c.register(&reg).await.unwrap();
    (c, reg)
}

async fn login_on(
    server: &TestServer,
    reg: &Register,
    platform: Platform,
    token: Option<String>,
) -> Client {
    let mut c = server.client();
    let login = Login {
        username: reg.username.clone(),
        password: reg.password.clone(),
        device: new_device(platform, token),
    };
    c.login(&login).await.unwrap();
    c
}

/// A Web Push endpoint on the receiver, and its path.
fn endpoint(rx: &Receiver) -> (String, String) {
    let path = format!("/webpush/{}", unique("ep"));
    (format!("{}{path}", rx.url), path)
}

/// Alice (a CLI device without a token) and a conversation with `bob`.
async fn alice_and(server: &TestServer, bob: &Client) -> (Client, ConversationId) {
    let (alice, _) = user_on(server, Platform::Cli, None).await;
    let conv = alice.create_conversation(uid(bob)).await.unwrap();
    (alice, conv.id)
}

/// The JWT's header and claims, after checking its ES256 signature with `key`.
fn verify_es256(
    jwt: &str,
    key: &p256::ecdsa::SigningKey,
) -> (serde_json::Value, serde_json::Value) {
    use p256::ecdsa::signature::Verifier as _;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let signature = p256::ecdsa::Signature::from_slice(&B64URL.decode(parts[2]).unwrap()).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    key.verifying_key()
        .verify(input.as_bytes(), &signature)
        .expect("valid ES256 signature");
    let decode = |p: &str| serde_json::from_slice(&B64URL.decode(p).unwrap()).unwrap();
    (decode(parts[0]), decode(parts[1]))
}

fn verify_rs256(jwt: &str) -> serde_json::Value {
    use rsa::signature::Verifier as _;
    let pem = std::fs::read_to_string(fixture("fcm-test-rsa.pem")).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    let verifier = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key.to_public_key());
    let parts: Vec<&str> = jwt.split('.').collect();
    let signature =
        rsa::pkcs1v15::Signature::try_from(B64URL.decode(parts[2]).unwrap().as_slice()).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    verifier
        .verify(input.as_bytes(), &signature)
        .expect("valid RS256 signature");
    let header: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap()
}

/// Nothing the receiver saw contains any of `secrets`.
fn assert_no_content(rx: &Receiver, secrets: &[String]) {
    for r in rx.seen() {
        let all = r.everything();
        for s in secrets {
            assert!(!all.contains(s.as_str()), "{s} leaked in {all}");
        }
    }
}

/// Polls bob's device list until `device` has no push token (10 s).
async fn wait_token_cleared(client: &Client, device: zynk_proto::DeviceId) {
    for _ in 0..200 {
        let devices = client.devices().await.unwrap();
        if devices.iter().any(|d| d.id == device && !d.has_push_token) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("push token of {device} was not removed");
}

fn device_id(c: &Client) -> zynk_proto::DeviceId {
    c.tokens().unwrap().device_id
}

async fn only_offline_devices_get_a_push_and_it_has_no_content(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 2000).await;
    let (online_url, online_path) = endpoint(&rx);
    let (offline_url, offline_path) = endpoint(&rx);
    let (bob, reg) = user_on(&server, Platform::Web, Some(online_url)).await;
    let _bob_offline = login_on(&server, &reg, Platform::Web, Some(offline_url)).await;
    let mut bob_ws = bob.connect().await.unwrap();
    let (alice, alice_reg) = user_on(&server, Platform::Cli, None).await;
    let conv = alice.create_conversation(uid(&bob)).await.unwrap().id;
    // The sender's own other device is offline too: it is woken as well.
    let (alice2_url, alice2_path) = endpoint(&rx);
    let _alice2 = login_on(&server, &alice_reg, Platform::Web, Some(alice2_url)).await;

    let body = outgoing("meet me at noon");
    let sent = alice.send_message(conv, &body).await.unwrap();
    common::receive_messages(&mut bob_ws, 1).await;

    let pushes = rx.wait_for(&offline_path, 1).await;
    let push = &pushes[0];
    assert!(push.body.is_empty(), "a tickle has no body");
    assert_eq!(push.header("ttl"), Some("60"));
    assert_eq!(push.header("urgency"), Some("high"));
    let auth = push.header("authorization").unwrap();
    let (t, k) = auth
        .strip_prefix("vapid t=")
        .unwrap()
        .split_once(", k=")
        .unwrap();
    let vapid = p256::SecretKey::from_sec1_pem(
        &std::fs::read_to_string(fixture("vapid-test-key.pem")).unwrap(),
    )
    .unwrap();
    let vapid = p256::ecdsa::SigningKey::from(vapid);
    let public = vapid.verifying_key().to_encoded_point(false);
    assert_eq!(B64URL.decode(k).unwrap(), public.as_bytes());
    let (_, claims) = verify_es256(t, &vapid);
    assert_eq!(claims["aud"], rx.url);
    assert_eq!(claims["sub"], SUBJECT);
    assert!(claims["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        rx.to(&online_path).is_empty(),
        "the connected device gets no push"
    );
    assert_eq!(rx.wait_for(&alice2_path, 1).await.len(), 1);
    assert_eq!(rx.to(&offline_path).len(), 1);
    assert_no_content(
        &rx,
        &[
            body.encrypted_content.clone(),
            sent.id.to_string(),
            conv.to_string(),
        ],
    );
    server.stop().await;
}

async fn android_goes_through_fcm_with_an_oauth_token(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 2000).await;
    let token = unique("fcm-registration-token-");
    let (bob, _) = user_on(&server, Platform::Android, Some(token.clone())).await;
    let (alice, conv) = alice_and(&server, &bob).await;
    let body = outgoing("secret words");
    let sent = alice.send_message(conv, &body).await.unwrap();

    let grants = rx.wait_for("/token", 1).await;
    let form = grants[0].body_text();
    assert_eq!(
        grants[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        form.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ),
        "{form}"
    );
    let assertion = form.split("assertion=").nth(1).unwrap();
    let claims = verify_rs256(assertion);
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims["aud"], format!("{}/token", rx.url));

    let sends = rx.wait_for(FCM_PATH, 1).await;
    let send = &sends[0];
    assert_eq!(
        send.header("authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    let json = send.json();
    assert_eq!(json["message"]["token"], token.as_str());
    assert_eq!(json["message"]["data"]["type"], "message");
    assert_eq!(json["message"]["android"]["priority"], "high");
    assert_no_content(&rx, &[body.encrypted_content.clone(), sent.id.to_string()]);
    server.stop().await;
}

async fn ios_goes_through_apns_over_http2(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 2000).await;
    let token = uuid::Uuid::new_v4().simple().to_string().repeat(2);
    let (bob, _) = user_on(&server, Platform::Ios, Some(token.clone())).await;
    let (alice, conv) = alice_and(&server, &bob).await;
    let body = outgoing("ios secret");
    let sent = alice.send_message(conv, &body).await.unwrap();

    let path = format!("/3/device/{token}");
    let pushes = rx.wait_for(&path, 1).await;
    let push = &pushes[0];
    assert_eq!(push.version, axum::http::Version::HTTP_2);
    assert_eq!(push.header("apns-topic"), Some(TOPIC));
    assert_eq!(push.header("apns-push-type"), Some("background"));
    assert_eq!(push.header("apns-priority"), Some("5"));
    let jwt = push
        .header("authorization")
        .unwrap()
        .strip_prefix("bearer ")
        .unwrap();
    let pem = std::fs::read_to_string(fixture("apns-test-key.p8")).unwrap();
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let (header, claims) = verify_es256(jwt, &key);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], KEY_ID);
    assert_eq!(claims["iss"], TEAM_ID);
    assert!((claims["iat"].as_i64().unwrap() - chrono::Utc::now().timestamp()).abs() < 60);
    let json = push.json();
    assert_eq!(json["aps"]["content-available"], 1);
    assert_eq!(json["type"], "message");
    assert_no_content(&rx, &[body.encrypted_content.clone(), sent.id.to_string()]);
    server.stop().await;
}

async fn bursts_to_one_device_are_coalesced(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 1500).await;
    let (url, path) = endpoint(&rx);
    let (bob, _) = user_on(&server, Platform::Web, Some(url)).await;
    let (alice, conv) = alice_and(&server, &bob).await;
    for i in 0..5 {
        alice
            .send_message(conv, &outgoing(&format!("burst {i}")))
            .await
            .unwrap();
    }
    rx.wait_for(&path, 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.to(&path).len(), 1, "five messages, one push");
    // After the window, the next message pushes again.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    alice.send_message(conv, &outgoing("later")).await.unwrap();
    rx.wait_for(&path, 2).await;
    server.stop().await;
}

async fn invalid_tokens_are_removed(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 2000).await;
    let (url, path) = endpoint(&rx);
    rx.always(&path, Answer::status(410, ""));
    let (bob_web, reg) = user_on(&server, Platform::Web, Some(url)).await;
    let fcm_token = unique("dead-fcm-");
    rx.script(FCM_PATH, vec![Answer::status(404, r#"{"error":{"code":404,"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}"#)]);
    let bob_android = login_on(&server, &reg, Platform::Android, Some(fcm_token)).await;
    let apns_token = "ab".repeat(32);
    rx.always(
        &format!("/3/device/{apns_token}"),
        Answer::status(400, r#"{"reason":"BadDeviceToken"}"#),
    );
    let bob_ios = login_on(&server, &reg, Platform::Ios, Some(apns_token)).await;
    let (alice, conv) = alice_and(&server, &bob_web).await;
    alice
        .send_message(conv, &outgoing("to nobody awake"))
        .await
        .unwrap();

    for device in [
        device_id(&bob_web),
        device_id(&bob_android),
        device_id(&bob_ios),
    ] {
        wait_token_cleared(&bob_web, device).await;
    }
    assert_eq!(rx.to(&path).len(), 1, "an invalid token is not retried");
    server.stop().await;
}

async fn transient_failures_are_retried(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 2000).await;
    let (url, path) = endpoint(&rx);
    let mut busy = Answer::status(429, "slow down");
    busy.retry_after = Some(1);
    rx.script(
        &path,
        vec![Answer::status(500, ""), Answer::status(503, ""), busy],
    );
    let (bob, _) = user_on(&server, Platform::Web, Some(url)).await;
    let (alice, conv) = alice_and(&server, &bob).await;
    let started = std::time::Instant::now();
    alice
        .send_message(conv, &outgoing("try again"))
        .await
        .unwrap();
    rx.wait_for(&path, 4).await;
    // 0.5 s + 1 s of backoff, then the 1 s Retry-After.
    assert!(
        started.elapsed() >= Duration::from_millis(2400),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        rx.to(&path).len(),
        4,
        "delivered on the fourth try, then no more"
    );
    assert!(
        bob.devices()
            .await
            .unwrap()
            .iter()
            .all(|d| d.has_push_token)
    );
    server.stop().await;
}

async fn delivery_never_waits_for_pushes(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 0).await;
    let (url, path) = endpoint(&rx);
    let mut stuck = Answer::status(500, "");
    stuck.delay = Some(Duration::from_secs(5));
    rx.always(&path, stuck);
    rx.always(FCM_PATH, Answer::status(500, ""));
    let (bob, reg) = user_on(&server, Platform::Web, Some(url)).await;
    let _android = login_on(&server, &reg, Platform::Android, Some(unique("fcm-"))).await;
    let (alice, conv) = alice_and(&server, &bob).await;
    for i in 0..3 {
        let started = std::time::Instant::now();
        alice
            .send_message(conv, &outgoing(&format!("m{i}")))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "send waited for the push"
        );
    }
    rx.wait_for(&path, 1).await;
    let mut ws = bob.connect().await.unwrap();
    assert_eq!(common::receive_messages(&mut ws, 3).await.len(), 3);
    server.stop().await;
}

async fn device_messages_and_calls_push_too(b: Backend) {
    let rx = Receiver::start().await;
    let (server, _dir) = server(b, &rx, 0).await;
    let token = unique("fcm-");
    let (bob, _) = user_on(&server, Platform::Android, Some(token.clone())).await;
    let (alice, conv) = alice_and(&server, &bob).await;
    let payload = base64::engine::general_purpose::STANDARD.encode(b"olm prekey blob");
    let to_bob = SendDeviceMessages {
        messages: vec![OutgoingDeviceMessage {
            device_id: device_id(&bob),
            payload: payload.clone(),
        }],
    };
    alice.send_device_messages(&to_bob).await.unwrap();
    let sends = rx.wait_for(FCM_PATH, 1).await;
    assert_eq!(sends[0].json()["message"]["data"]["type"], "device_message");

    let call = alice.create_call(conv, CallType::Audio).await.unwrap();
    let sends = rx.wait_for(FCM_PATH, 2).await;
    let types: Vec<_> = sends
        .iter()
        .map(|r: &Recorded| r.json()["message"]["data"]["type"].clone())
        .collect();
    assert_eq!(types, ["device_message", "call"]);
    assert_no_content(&rx, &[payload, call.id.to_string()]);
    server.stop().await;
}
