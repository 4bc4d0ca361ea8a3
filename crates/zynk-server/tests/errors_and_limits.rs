//! Bad input, limits and probes: every refusal is a problem document.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use common::{Backend, TestServer, registration, unique, user};
use serde_json::{Value, json};

backend_tests!(
    validation_errors_are_problems,
    rate_limits_answer_429,
    probes_and_openapi
);

fn register_body(username: &str) -> Value {
    serde_json::to_value(registration(username)).unwrap()
}

async fn validation_errors_are_problems(b: Backend) {
    let server = TestServer::start(b, |c| c.max_body_bytes = 4096).await;
    let c = server.client();
    let name = unique("val");
    let mut cases: Vec<(&str, Option<&str>, Vec<u8>, u16, &str)> = vec![
        (
            "malformed json",
            Some("application/json"),
            b"{\"username\": ".to_vec(),
            400,
            "malformed-json",
        ),
        (
            "not json",
            Some("text/plain"),
            b"hello".to_vec(),
            415,
            "unsupported-media-type",
        ),
        (
            "too large",
            Some("application/json"),
            vec![b' '; 5000],
            413,
            "body-too-large",
        ),
    ];
    let mut wrong_type = register_body(&name);
    wrong_type["username"] = json!(42);
    let mut unknown_field = register_body(&name);
    unknown_field["is_admin"] = json!(true);
    let mut missing = register_body(&name);
    missing.as_object_mut().unwrap().remove("password");
    let mut bad_platform = register_body(&name);
    bad_platform["device"]["platform"] = json!("toaster");
    let typed: Vec<(&str, Value)> = vec![
        ("wrong type", wrong_type),
        ("unknown field", unknown_field),
        ("missing field", missing),
        ("bad platform", bad_platform),
    ];
    let typed: Vec<(&str, Vec<u8>)> = typed
        .into_iter()
        .map(|(n, v)| (n, serde_json::to_vec(&v).unwrap()))
        .collect();
    for (n, body) in &typed {
        cases.push((
            n,
            Some("application/json"),
            body.clone(),
            422,
            "invalid-body",
        ));
    }
    let mut invalid: Vec<(&str, Value)> = Vec::new();
    for (label, path, value) in [
        ("short username", "/username", json!("ab")),
        ("long username", "/username", json!("a".repeat(65))),
        ("username charset", "/username", json!("al ice")),
        ("short password", "/password", json!("short")),
        ("identity key not base64", "/identity_key", json!("***")),
        ("identity key length", "/identity_key", json!("AAAA")),
        (
            "identity key weak",
            "/identity_key",
            json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ),
        ("device name empty", "/device/name", json!("")),
        ("fingerprint short", "/device/fingerprint", json!("abc")),
        ("device key", "/device/public_key", json!("AAAA")),
    ] {
        let mut v = register_body(&name);
        *v.pointer_mut(path).unwrap() = value;
        invalid.push((label, v));
    }
    let invalid: Vec<(&str, Vec<u8>)> = invalid
        .into_iter()
        .map(|(n, v)| (n, serde_json::to_vec(&v).unwrap()))
        .collect();
    for (n, body) in &invalid {
        cases.push((
            n,
            Some("application/json"),
            body.clone(),
            422,
            "validation-failed",
        ));
    }
    for (label, ct, body, status, kind) in cases {
        let r = c.raw("POST", "/v1/auth/register", ct, body).await.unwrap();
        assert_eq!(
            r.status,
            status,
            "{label}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/problem+json"),
            "{label}"
        );
        let p: zynk_proto::Problem = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((p.slug(), p.status), (kind, status), "{label}");
    }
    // None of the refused registrations exists: the name is still free.
    let mut ok = server.client();
    ok.register(&registration(&name)).await.unwrap();

    // Paths, ids and methods.
    for (method, path, status) in [
        ("DELETE", "/v1/devices/not-a-uuid", 400),
        ("DELETE", "/v1/sessions/123", 400),
        ("GET", "/v1/nothing-here", 404),
        ("PUT", "/v1/me", 405),
        ("GET", "/v1/me", 200),
    ] {
        let r = ok.raw(method, path, None, Vec::new()).await.unwrap();
        assert_eq!(
            r.status,
            status,
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if status >= 400 {
            assert_eq!(
                r.content_type.as_deref(),
                Some("application/problem+json"),
                "{method} {path}"
            );
        }
    }
    // Without or with a bad token.
    let anon = server.client();
    for path in ["/v1/me", "/v1/devices", "/v1/sessions"] {
        let r = anon.raw("GET", path, None, Vec::new()).await.unwrap();
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
    }
}

async fn rate_limits_answer_429(b: Backend) {
    let server = TestServer::start(b, |c| {
        c.ratelimit_auth_per_hour = 3;
        c.ratelimit_api_per_hour = 5;
    })
    .await;
    let c = server.client();
    for i in 0..3 {
        let r = c
            .raw(
                "POST",
                "/v1/auth/register",
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 422, "request {i} is within the limit");
    }
    let r = c
        .raw(
            "POST",
            "/v1/auth/register",
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
    let retry: u64 = r.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    // Login has its own budget.
    let r = c
        .raw(
            "POST",
            "/v1/auth/login",
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
    // Other endpoints: the API budget, per endpoint.
    for _ in 0..5 {
        assert_eq!(
            c.raw("GET", "/v1/me", None, Vec::new())
                .await
                .unwrap()
                .status,
            401
        );
    }
    assert_eq!(
        c.raw("GET", "/v1/me", None, Vec::new())
            .await
            .unwrap()
            .status,
        429
    );
    assert_eq!(
        c.raw("GET", "/v1/devices", None, Vec::new())
            .await
            .unwrap()
            .status,
        401
    );
    // Probes are never limited.
    for _ in 0..10 {
        assert_eq!(
            c.raw("GET", "/healthz", None, Vec::new())
                .await
                .unwrap()
                .status,
            200
        );
    }
}

async fn probes_and_openapi(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (c, _) = user(&server).await;
    let ready = c.raw("GET", "/readyz", None, Vec::new()).await.unwrap();
    assert_eq!(
        ready.status,
        200,
        "{}",
        String::from_utf8_lossy(&ready.body)
    );
    let r = c
        .raw("GET", "/v1/openapi.json", None, Vec::new())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    let expected = [
        ("post", "/v1/auth/register"),
        ("post", "/v1/auth/login"),
        ("post", "/v1/auth/refresh"),
        ("post", "/v1/auth/logout"),
        ("get", "/v1/sessions"),
        ("delete", "/v1/sessions/{id}"),
        ("get", "/v1/devices"),
        ("patch", "/v1/devices/{id}"),
        ("delete", "/v1/devices/{id}"),
        ("get", "/v1/me"),
        ("patch", "/v1/me/profile"),
        ("get", "/v1/users/{username_or_id}"),
        ("post", "/v1/conversations"),
        ("get", "/v1/conversations"),
        ("get", "/v1/conversations/{id}"),
        ("post", "/v1/conversations/{id}/messages"),
        ("get", "/v1/conversations/{id}/messages"),
        ("patch", "/v1/messages/{id}"),
        ("delete", "/v1/messages/{id}"),
        ("put", "/v1/messages/{id}/reactions/{emoji}"),
        ("delete", "/v1/messages/{id}/reactions/{emoji}"),
        ("post", "/v1/groups"),
        ("get", "/v1/groups/{id}"),
        ("patch", "/v1/groups/{id}"),
        ("post", "/v1/groups/{id}/members"),
        ("delete", "/v1/groups/{id}/members/{user_id}"),
        ("patch", "/v1/groups/{id}/members/{user_id}"),
        ("post", "/v1/devices/messages"),
        ("put", "/v1/keys"),
        ("post", "/v1/keys/claim"),
        ("get", "/v1/users/{id}/devices"),
        ("post", "/v1/users/{id}/verify"),
        ("post", "/v1/users/{id}/report"),
        ("get", "/v1/users/{id}/trust"),
        ("post", "/v1/calls"),
        ("get", "/v1/calls"),
        ("get", "/v1/calls/ice-servers"),
        ("post", "/v1/calls/{id}/ringing"),
        ("post", "/v1/calls/{id}/accept"),
        ("post", "/v1/calls/{id}/decline"),
        ("post", "/v1/calls/{id}/hangup"),
        ("post", "/v1/calls/{id}/join"),
        ("post", "/v1/calls/{id}/leave"),
        ("put", "/v1/conversations/{id}/location"),
        ("delete", "/v1/conversations/{id}/location"),
        ("get", "/v1/conversations/{id}/locations"),
        ("post", "/v1/files"),
        ("get", "/v1/files/{id}"),
        ("delete", "/v1/files/{id}"),
        ("get", "/v1/files/{id}/content"),
        ("get", "/v1/files/{id}/thumbnail"),
        ("put", "/v1/files/{id}/thumbnail"),
        ("get", "/v1/ledger/key"),
        ("get", "/v1/ledger/head"),
        ("get", "/v1/ledger/blocks/{n}"),
        ("get", "/v1/ledger/tx/{hash}"),
        ("get", "/v1/ledger/proof/inclusion"),
        ("get", "/v1/ledger/proof/consistency"),
        ("get", "/v1/messages/{id}/proof"),
        ("get", "/v1/did/{did}"),
        ("get", "/v1/ws"),
        ("get", "/v1/openapi.json"),
        ("get", "/healthz"),
        ("get", "/readyz"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from OpenAPI"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        expected.len(),
        "an undocumented or untested route exists"
    );
}
