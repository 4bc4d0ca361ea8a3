//! The senders by platform, and what a send attempt came to.

use std::time::Duration;

use anyhow::Context;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use zynk_proto::Platform;
use zynk_store::PushTarget;

use super::Kind;
use super::apns::Apns;
use super::fcm::Fcm;
use super::webpush::WebPush;
use crate::config::Config;

/// Time one request to a push service may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// No sender for this device (platform without configuration, or a
    /// desktop/cli token that is not a URL).
    Skipped,
    /// The service says the token is dead: remove it.
    InvalidToken,
    /// Transient: try again (after `after`, if the service said so).
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// Permanent for this push (bad configuration, refused request).
    Failed(String),
}

impl Outcome {
    /// A network error: transient.
    pub fn network(e: &reqwest::Error) -> Self {
        Outcome::Retry {
            why: format!("network: {e}"),
            after: None,
        }
    }

    /// 429 and 5xx are transient (honouring `Retry-After` in seconds);
    /// anything else unexpected is permanent.
    pub fn from_status(status: StatusCode, headers: &HeaderMap, body: &str) -> Self {
        let why = format!("{status}: {}", body.chars().take(200).collect::<String>());
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Outcome::Retry { why, after };
        }
        Outcome::Failed(why)
    }
}

/// The wake-up payload's fields: the kind of event and a version, nothing else.
pub fn payload(kind: Kind) -> serde_json::Value {
    serde_json::json!({"type": kind.as_str(), "v": 1})
}

/// Every configured sender.
pub struct Senders {
    fcm: Option<Fcm>,
    apns: Option<Apns>,
    webpush: WebPush,
}

impl Senders {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the push HTTP client")?;
        let fcm = Fcm::from_config(config, http.clone())?;
        let apns = Apns::from_config(config)?;
        let webpush = WebPush::from_config(config, http)?;
        let on = |b: bool| if b { "on" } else { "off (not configured)" };
        tracing::info!(
            fcm = on(fcm.is_some()),
            apns = on(apns.is_some()),
            vapid = on(webpush.has_vapid()),
            "push senders"
        );
        Ok(Self { fcm, apns, webpush })
    }

    /// One attempt to push `kind` to `target`.
    pub async fn send(&self, target: &PushTarget, kind: Kind) -> Outcome {
        let token = target.push_token.as_str();
        match target.platform {
            Platform::Android => match &self.fcm {
                Some(fcm) => fcm.send(token, kind).await,
                None => Outcome::Skipped,
            },
            Platform::Ios => match &self.apns {
                Some(apns) => apns.send(token, kind).await,
                None => Outcome::Skipped,
            },
            Platform::Web => self.webpush.send(token).await,
            Platform::Desktop | Platform::Cli => {
                if token.starts_with("https://") || token.starts_with("http://") {
                    self.webpush.send(token).await
                } else {
                    Outcome::Skipped
                }
            }
        }
    }
}

/// The contents of a key file named in the configuration.
pub fn read_key_file(path: &std::path::Path, key: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{key}: cannot read {}", path.display()))
}
