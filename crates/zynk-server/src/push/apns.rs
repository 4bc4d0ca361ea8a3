//! APNs over HTTP/2 with token-based authentication: `POST
//! {push_apns_endpoint}/3/device/{token}` with `authorization: bearer <JWT>`
//! (ES256, header `kid` = key id, claims `iss` = team id and `iat`; renewed
//! every 50 minutes), `apns-topic`, `apns-push-type: background`,
//! `apns-priority: 5` and the body `{"aps":{"content-available":1},"type":…,"v":1}`.
//! An `http://` endpoint is spoken as HTTP/2 without TLS (prior knowledge),
//! for test receivers; `https://` negotiates HTTP/2 by ALPN.
//!
//! Invalid tokens: 410, or 400 with reason `BadDeviceToken`, `Unregistered`
//! or `DeviceTokenNotForTopic`.

use std::time::Duration;

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Kind;
use super::jwt::{self, EcKey};
use super::senders::{Outcome, REQUEST_TIMEOUT, payload, read_key_file};
use crate::config::Config;

/// How long a provider token is used (Apple: between 20 and 60 minutes).
const TOKEN_LIFETIME: Duration = Duration::from_secs(50 * 60);

pub struct Apns {
    http: reqwest::Client,
    endpoint: String,
    key: EcKey,
    key_id: String,
    team_id: String,
    topic: String,
    /// The provider token and when it must be renewed.
    token: Mutex<Option<(String, Instant)>>,
}

impl Apns {
    /// `None` when APNs is not configured.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let (Some(path), Some(key_id), Some(team_id), Some(topic)) = (
            &config.push_apns_key_path,
            &config.push_apns_key_id,
            &config.push_apns_team_id,
            &config.push_apns_topic,
        ) else {
            return Ok(None);
        };
        let pem = read_key_file(path, "push_apns_key_path")?;
        let key = jwt::ec_key(&pem).map_err(|e| anyhow::anyhow!("push_apns_key_path: {e:#}"))?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .http2_prior_knowledge()
            .build()
            .context("cannot build the APNs HTTP/2 client")?;
        Ok(Some(Self {
            http,
            endpoint: config.push_apns_endpoint.trim_end_matches('/').to_owned(),
            key,
            key_id: key_id.clone(),
            team_id: team_id.clone(),
            topic: topic.clone(),
            token: Mutex::new(None),
        }))
    }

    async fn provider_token(&self) -> String {
        let mut cached = self.token.lock().await;
        if let Some((token, renew_at)) = cached.as_ref()
            && Instant::now() < *renew_at
        {
            return token.clone();
        }
        let header = json!({"kid": self.key_id});
        let claims = json!({"iss": self.team_id, "iat": jwt::now_secs()});
        let token = jwt::es256(&self.key, header, &claims);
        *cached = Some((token.clone(), Instant::now() + TOKEN_LIFETIME));
        token
    }

    pub async fn send(&self, token: &str, kind: Kind) -> Outcome {
        // Device tokens are hex; anything else cannot be one (and must not
        // reach the URL path).
        if token.is_empty() || token.len() > 200 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Outcome::InvalidToken;
        }
        let mut body = payload(kind);
        body["aps"] = json!({"content-available": 1});
        let response = match self
            .http
            .post(format!("{}/3/device/{token}", self.endpoint))
            .header(
                "authorization",
                format!("bearer {}", self.provider_token().await),
            )
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "background")
            .header("apns-priority", "5")
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
        let reason = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["reason"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if status == StatusCode::GONE
            || (status == StatusCode::BAD_REQUEST
                && ["BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"]
                    .contains(&reason.as_str()))
        {
            return Outcome::InvalidToken;
        }
        if status == StatusCode::FORBIDDEN
            && ["ExpiredProviderToken", "InvalidProviderToken"].contains(&reason.as_str())
        {
            *self.token.lock().await = None;
            return Outcome::Retry {
                why: format!("apns: {reason}"),
                after: None,
            };
        }
        Outcome::from_status(status, &headers, &text)
    }
}
