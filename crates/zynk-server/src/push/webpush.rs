//! Web Push / UnifiedPush: the device's push token is its push endpoint URL.
//! A push is an empty `POST` to it (a "tickle" needs no payload encryption,
//! RFC 8030/8291) with `TTL` and `Urgency`, and, when a VAPID key is
//! configured, `Authorization: vapid t=<ES256 JWT>, k=<public key>` (RFC 8292).
//!
//! Endpoints come from clients, so only `https://` URLs are posted to, and
//! `http://` ones only on a loopback host (a local distributor or a test
//! receiver); redirects are not followed.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH};
use serde_json::json;

use super::jwt::{self, EcKey};
use super::senders::{Outcome, read_key_file};
use crate::config::Config;

/// Seconds the push service keeps an undelivered push.
pub const TTL_SECS: u32 = 60;
/// Lifetime of a VAPID JWT (at most 24 h).
const VAPID_LIFETIME_SECS: i64 = 12 * 3600;

struct Vapid {
    key: EcKey,
    public: String,
    subject: String,
}

pub struct WebPush {
    http: reqwest::Client,
    vapid: Option<Vapid>,
}

impl WebPush {
    pub fn from_config(config: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        let vapid = match (&config.push_vapid_private_key, &config.push_vapid_subject) {
            (Some(path), Some(subject)) => {
                let pem = read_key_file(path, "push_vapid_private_key")?;
                let key = jwt::ec_key(&pem)
                    .map_err(|e| anyhow::anyhow!("push_vapid_private_key: {e:#}"))?;
                Some(Vapid {
                    public: jwt::ec_public_b64(&key),
                    key,
                    subject: subject.clone(),
                })
            }
            _ => None,
        };
        Ok(Self { http, vapid })
    }

    pub fn has_vapid(&self) -> bool {
        self.vapid.is_some()
    }

    pub async fn send(&self, endpoint: &str) -> Outcome {
        let Some(url) = allowed(endpoint) else {
            return Outcome::InvalidToken;
        };
        let mut request = self
            .http
            .post(url.clone())
            .header("TTL", TTL_SECS.to_string())
            .header("Urgency", "high")
            .header(CONTENT_LENGTH, "0");
        if let Some(vapid) = &self.vapid {
            let audience = url.origin().ascii_serialization();
            let claims = json!({
                "aud": audience,
                "exp": jwt::now_secs() + VAPID_LIFETIME_SECS,
                "sub": vapid.subject,
            });
            let token = jwt::es256(&vapid.key, json!({}), &claims);
            request = request.header(
                AUTHORIZATION,
                format!("vapid t={token}, k={}", vapid.public),
            );
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::network(&e),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Outcome::InvalidToken;
        }
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Outcome::from_status(status, &headers, &body)
    }
}

/// The endpoint as a URL, if it may be posted to.
fn allowed(endpoint: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(endpoint).ok()?;
    let host = url.host_str()?;
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Some(url),
        "http" if loopback => Some(url),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(allowed("https://push.example.com/abc").is_some());
        assert!(allowed("http://127.0.0.1:8080/up/abc").is_some());
        assert!(allowed("http://localhost/up").is_some());
        assert!(allowed("http://10.0.0.1/up").is_none());
        assert!(allowed("ftp://example.com/x").is_none());
        assert!(allowed("not a url").is_none());
    }
}
