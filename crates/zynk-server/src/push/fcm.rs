//! FCM HTTP v1: `POST {push_fcm_endpoint}/v1/projects/{project}/messages:send`
//! with a data-only, high-priority message, authorised by an OAuth 2.0
//! access token. The token comes from the service account: a JWT (RS256)
//! grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`) posted to the key's
//! `token_uri` (or `push_fcm_token_url`), cached until a minute before it
//! expires.
//!
//! Invalid tokens: 404 `UNREGISTERED`, or 400 `INVALID_ARGUMENT` about the
//! registration token.

use std::time::Duration;

use anyhow::Context;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Kind;
use super::jwt::{self, RsaKey};
use super::senders::{Outcome, payload, read_key_file};
use crate::config::Config;

pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// An access token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The fields of a Google service account key that matter here.
#[derive(Deserialize)]
struct ServiceAccount {
    client_email: String,
    private_key: String,
    token_uri: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

pub struct Fcm {
    http: reqwest::Client,
    send_url: String,
    token_url: String,
    client_email: String,
    key: RsaKey,
    /// The access token and when it must be renewed.
    access: Mutex<Option<(String, Instant)>>,
}

impl Fcm {
    /// `None` when FCM is not configured.
    pub fn from_config(config: &Config, http: reqwest::Client) -> anyhow::Result<Option<Self>> {
        let (Some(project), Some(path)) =
            (&config.push_fcm_project, &config.push_fcm_service_account)
        else {
            return Ok(None);
        };
        let text = read_key_file(path, "push_fcm_service_account")?;
        let account: ServiceAccount = serde_json::from_str(&text)
            .context("push_fcm_service_account: not a service account JSON key")?;
        let key = jwt::rsa_key(&account.private_key)
            .map_err(|e| anyhow::anyhow!("push_fcm_service_account: private_key: {e:#}"))?;
        let endpoint = config.push_fcm_endpoint.trim_end_matches('/');
        Ok(Some(Self {
            http,
            send_url: format!("{endpoint}/v1/projects/{project}/messages:send"),
            token_url: config
                .push_fcm_token_url
                .clone()
                .unwrap_or(account.token_uri),
            client_email: account.client_email,
            key,
            access: Mutex::new(None),
        }))
    }

    /// The cached access token, or a new one.
    async fn access_token(&self) -> Result<String, Outcome> {
        let mut cached = self.access.lock().await;
        if let Some((token, renew_at)) = cached.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let now = jwt::now_secs();
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 3600,
        });
        let assertion = jwt::rs256(&self.key, &claims);
        // The grant type, form-encoded; a JWT needs no encoding.
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let response = self
            .http
            .post(&self.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| Outcome::network(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(match Outcome::from_status(status, &headers, &text) {
                Outcome::Failed(why) => Outcome::Failed(format!("fcm token grant: {why}")),
                other => other,
            });
        }
        let granted: TokenResponse = serde_json::from_str(&text)
            .map_err(|e| Outcome::Failed(format!("fcm token grant: bad answer: {e}")))?;
        let lifetime = Duration::from_secs(granted.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        *cached = Some((granted.access_token.clone(), renew_at));
        Ok(granted.access_token)
    }

    pub async fn send(&self, token: &str, kind: Kind) -> Outcome {
        let access = match self.access_token().await {
            Ok(a) => a,
            Err(outcome) => return outcome,
        };
        let mut data = serde_json::Map::new();
        if let Some(fields) = payload(kind).as_object() {
            for (k, v) in fields {
                // FCM data values are strings.
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                data.insert(k.clone(), v.into());
            }
        }
        let body = json!({"message": {
            "token": token,
            "data": data,
            "android": {"priority": "high"},
        }});
        let response = match self
            .http
            .post(&self.send_url)
            .bearer_auth(access)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Outcome::network(&e),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        if status == StatusCode::NOT_FOUND
            || text.contains("UNREGISTERED")
            || (status == StatusCode::BAD_REQUEST
                && text.contains("INVALID_ARGUMENT")
                && text.contains("token"))
        {
            return Outcome::InvalidToken;
        }
        if status == StatusCode::UNAUTHORIZED {
            // The access token was refused: get a new one and retry.
            *self.access.lock().await = None;
            return Outcome::Retry {
                why: "fcm: access token refused".into(),
                after: None,
            };
        }
        Outcome::from_status(status, &headers, &text)
    }
}
