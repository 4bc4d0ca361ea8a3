//! A local stand-in for the push services: one axum server on 127.0.0.1
//! speaking HTTP/1.1 and h2c (HTTP/2 without TLS, as the APNs client does
//! for `http://` endpoints) that records every request and answers from a
//! per-path script (default: 200, and an access token at `/token`).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

/// The access token `/token` hands out.
pub const ACCESS_TOKEN: &str = "test-access-token-42";

/// One request the receiver saw.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub version: Version,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Everything the receiver got, as text (for "no content" checks).
    pub fn everything(&self) -> String {
        format!("{} {:?} {}", self.path, self.headers, self.body_text())
    }
}

/// A scripted answer: status, body and optional `Retry-After` seconds.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
    pub delay: Option<Duration>,
}

impl Answer {
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.into(),
            retry_after: None,
            delay: None,
        }
    }
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Recorded>>,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    /// Paths that answer this forever.
    always: Mutex<HashMap<String, Answer>>,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let recorded = Recorded {
        method,
        path: path.clone(),
        version,
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
    };
    shared.seen.lock().unwrap().push(recorded);
    let scripted = shared
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .or_else(|| shared.always.lock().unwrap().get(&path).cloned());
    let answer = scripted.unwrap_or_else(|| {
        if path == "/token" {
            let body = serde_json::json!({
                "access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"
            });
            Answer::status(200, &body.to_string())
        } else {
            Answer::status(200, "{}")
        }
    });
    if let Some(d) = answer.delay {
        tokio::time::sleep(d).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap();
    let mut response = (status, answer.body).into_response();
    if let Some(s) = answer.retry_after {
        response
            .headers_mut()
            .insert("retry-after", s.to_string().parse().unwrap());
    }
    response
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// Answers the next requests to `path` with `answers`, in order.
    pub fn script(&self, path: &str, answers: Vec<Answer>) {
        self.shared
            .script
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default()
            .extend(answers);
    }

    /// Answers every request to `path` with `answer`.
    pub fn always(&self, path: &str, answer: Answer) {
        self.shared
            .always
            .lock()
            .unwrap()
            .insert(path.to_owned(), answer);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Recorded> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The requests to `path` so far.
    pub fn to(&self, path: &str) -> Vec<Recorded> {
        self.seen().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits (up to 10 s) until `path` has had `n` requests; returns them.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.to(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path}: {} of {n} requests after 10 s; saw {:?}",
                got.len(),
                self.seen().iter().map(|r| &r.path).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
