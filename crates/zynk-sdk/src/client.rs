//! The HTTP client: the current token pair, the request plumbing, and the
//! account/session/device/profile endpoints. The messaging endpoints are in
//! `messaging.rs`, the WebSocket in `ws.rs`.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zynk_proto::*;

use crate::{Result, SdkError};

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
    pub(crate) base: String,
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

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The current token pair, if logged in.
    pub fn tokens(&self) -> Option<&AuthTokens> {
        self.tokens.as_ref()
    }

    /// Uses an existing token pair (e.g. restored from disk).
    pub fn set_tokens(&mut self, tokens: Option<AuthTokens>) {
        self.tokens = tokens;
    }

    /// Sends a request; the response if its status is a success, else the
    /// server's problem as `SdkError::Api`.
    async fn request<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        auth: bool,
    ) -> Result<reqwest::Response> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if auth {
            req = req.bearer_auth(self.session_token()?);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::checked(req.send().await?).await
    }

    /// An authenticated request builder for `path` (for streamed bodies).
    pub(crate) fn authed(&self, method: Method, path: &str) -> Result<reqwest::RequestBuilder> {
        Ok(self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.session_token()?))
    }

    /// The response if its status is a success, else its problem as `SdkError::Api`.
    pub(crate) async fn checked(resp: reqwest::Response) -> Result<reqwest::Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
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

    /// The current session token (for the bearer header and the WebSocket).
    pub(crate) fn session_token(&self) -> Result<&str> {
        let t = self.tokens.as_ref().ok_or(SdkError::NotLoggedIn)?;
        Ok(t.session_token.expose())
    }

    /// A request whose success answer has a JSON body, except `204`.
    pub(crate) async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        auth: bool,
    ) -> Result<Option<T>> {
        let resp = self.request(method, path, body, auth).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        Ok(Some(resp.json().await?))
    }

    /// An authenticated request whose success answer must have a JSON body.
    pub(crate) async fn call_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        Self::expect(self.call(method, path, body, true).await?)
    }

    /// An authenticated request whose success answer's body (if any) is ignored.
    pub(crate) async fn call_unit<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        self.request(method, path, body, true).await.map(drop)
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
