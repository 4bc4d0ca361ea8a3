//! The Zynk client library.
//!
//! Layout:
//! - `Client` — the HTTP API client: accounts, sessions, devices, profiles.
//!   It holds the current token pair and sends the bearer token.
//! - `SdkError` — transport failures and the server's problem documents.
//!
//! Later issues add the WebSocket client and the end-to-end encryption state.
//! Architecture invariant: the SDK never logs or `Debug`-prints a secret.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zynk_proto::*;

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The server answered with a problem document (4xx/5xx).
    #[error("server refused ({status}): {}", problem.detail.as_deref().unwrap_or(&problem.title))]
    Api { status: u16, problem: Problem },
    #[error("transport: {0}")]
    Http(#[from] reqwest::Error),
    #[error("not logged in")]
    NotLoggedIn,
}

impl SdkError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            SdkError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem slug of an API error (`rate-limited`, `username-taken`, …).
    pub fn kind(&self) -> Option<&str> {
        match self {
            SdkError::Api { problem, .. } => Some(problem.slug()),
            _ => None,
        }
    }
}

pub type Result<T, E = SdkError> = std::result::Result<T, E>;

/// A raw response, for callers that need the status and headers.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// An HTTP client of one Zynk server, for one account at a time.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    tokens: Option<AuthTokens>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("logged_in", &self.tokens.is_some())
            .finish()
    }
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            tokens: None,
        }
    }

    /// The current token pair, if logged in.
    pub fn tokens(&self) -> Option<&AuthTokens> {
        self.tokens.as_ref()
    }

    /// Uses an existing token pair (e.g. restored from disk).
    pub fn set_tokens(&mut self, tokens: Option<AuthTokens>) {
        self.tokens = tokens;
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        auth: bool,
    ) -> Result<Option<T>> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if auth {
            let t = self.tokens.as_ref().ok_or(SdkError::NotLoggedIn)?;
            req = req.bearer_auth(t.session_token.expose());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if status.is_success() {
            if status == StatusCode::NO_CONTENT {
                return Ok(None);
            }
            return Ok(Some(resp.json().await?));
        }
        let bytes = resp.bytes().await?;
        let problem = serde_json::from_slice(&bytes).unwrap_or_else(|_| Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("error").into(),
            status: status.as_u16(),
            detail: Some(String::from_utf8_lossy(&bytes).into_owned()),
        });
        Err(SdkError::Api {
            status: status.as_u16(),
            problem,
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call::<(), T>(Method::GET, path, None, true)
            .await?
            .ok_or(SdkError::NotLoggedIn)
    }

    fn expect<T>(v: Option<T>) -> Result<T> {
        v.ok_or(SdkError::Api {
            status: 204,
            problem: Problem {
                kind: "about:blank".into(),
                title: "unexpected empty response".into(),
                status: 204,
                detail: None,
            },
        })
    }

    /// Creates an account and logs in as it.
    pub async fn register(&mut self, body: &Register) -> Result<AuthTokens> {
        let t: AuthTokens = Self::expect(
            self.call(Method::POST, "/v1/auth/register", Some(body), false)
                .await?,
        )?;
        self.tokens = Some(t.clone());
        Ok(t)
    }

    pub async fn login(&mut self, body: &Login) -> Result<AuthTokens> {
        let t: AuthTokens = Self::expect(
            self.call(Method::POST, "/v1/auth/login", Some(body), false)
                .await?,
        )?;
        self.tokens = Some(t.clone());
        Ok(t)
    }

    /// Rotates the token pair with the current refresh token.
    pub async fn refresh(&mut self) -> Result<AuthTokens> {
        let current = self.tokens.as_ref().ok_or(SdkError::NotLoggedIn)?;
        let body = Refresh {
            refresh_token: current.refresh_token.clone(),
        };
        let t = self.refresh_with(&body).await?;
        self.tokens = Some(t.clone());
        Ok(t)
    }

    /// Presents a given refresh token (does not change this client's tokens).
    pub async fn refresh_with(&self, body: &Refresh) -> Result<AuthTokens> {
        Self::expect(
            self.call(Method::POST, "/v1/auth/refresh", Some(body), false)
                .await?,
        )
    }

    pub async fn logout(&mut self) -> Result<()> {
        self.call::<(), serde_json::Value>(Method::POST, "/v1/auth/logout", None, true)
            .await?;
        self.tokens = None;
        Ok(())
    }

    pub async fn me(&self) -> Result<Me> {
        self.get("/v1/me").await
    }

    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        self.get("/v1/sessions").await
    }

    pub async fn revoke_session(&self, id: SessionId) -> Result<()> {
        self.call::<(), serde_json::Value>(
            Method::DELETE,
            &format!("/v1/sessions/{id}"),
            None,
            true,
        )
        .await?;
        Ok(())
    }

    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.get("/v1/devices").await
    }

    pub async fn update_device(&self, id: DeviceId, body: &UpdateDevice) -> Result<Device> {
        Self::expect(
            self.call(
                Method::PATCH,
                &format!("/v1/devices/{id}"),
                Some(body),
                true,
            )
            .await?,
        )
    }

    pub async fn delete_device(&self, id: DeviceId) -> Result<()> {
        self.call::<(), serde_json::Value>(
            Method::DELETE,
            &format!("/v1/devices/{id}"),
            None,
            true,
        )
        .await?;
        Ok(())
    }

    pub async fn update_profile(&self, body: &UpdateProfile) -> Result<Profile> {
        Self::expect(
            self.call(Method::PATCH, "/v1/me/profile", Some(body), true)
                .await?,
        )
    }

    /// Another user's public profile, by username or id.
    pub async fn user(&self, username_or_id: &str) -> Result<PublicProfile> {
        self.get(&format!("/v1/users/{username_or_id}")).await
    }

    /// Sends any request with a raw body (for probes and for testing how the
    /// server treats malformed input). Sends the bearer token when logged in.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<RawResponse> {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if let Some(t) = &self.tokens {
            req = req.bearer_auth(t.session_token.expose());
        }
        let resp = req.send().await?;
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let retry_after = header(reqwest::header::RETRY_AFTER);
        Ok(RawResponse {
            status: resp.status().as_u16(),
            content_type,
            retry_after,
            body: resp.bytes().await?.to_vec(),
        })
    }
}
