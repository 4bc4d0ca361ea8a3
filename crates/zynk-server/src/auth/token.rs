//! Session tokens (JWT, HS256) and refresh tokens (opaque), and the SHA-256
//! hashes under which both are stored. A token itself is never stored.
//!
//! Session token claims: `{iss:"zynk", sid, iat, exp, jti}`. Who the session
//! belongs to is looked up from the session record (or its cache entry), so
//! revoking a session invalidates its token at once.
//!
//! Refresh token: `zr1.{session_id}.{32 random bytes, base64url}`; the
//! session id lets the server mint the next session token before the
//! rotation commits.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zynk_proto::SessionId;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The claims of a session token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sid: SessionId,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// The HMAC key that signs session tokens. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct TokenKey(HmacSha256);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

impl TokenKey {
    /// A key from a secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, &'static str> {
        if secret.len() < 32 {
            return Err("token secret must be at least 32 bytes");
        }
        HmacSha256::new_from_slice(secret)
            .map(Self)
            .map_err(|_| "invalid token secret")
    }

    fn mac(&self) -> HmacSha256 {
        self.0.clone()
    }

    /// A signed session token for `sid`, valid until `exp`.
    pub fn issue(&self, sid: SessionId, now: DateTime<Utc>, exp: DateTime<Utc>) -> String {
        let claims = Claims {
            iss: "zynk".into(),
            sid,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: random_b64(16),
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!("{}.{}", B64URL.encode(HEADER), B64URL.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", B64URL.encode(sig))
    }

    /// The claims of a token signed by this key and not expired at `now`.
    /// The signature is compared in constant time.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let (signing_input, sig) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let sig = B64URL.decode(sig).ok()?;
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&sig).ok()?;
        if B64URL.decode(header).ok()? != HEADER.as_bytes() {
            return None;
        }
        let claims: Claims = serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()?;
        (claims.iss == "zynk" && claims.exp > now.timestamp()).then_some(claims)
    }
}

/// A new refresh token for session `sid`.
pub fn new_refresh_token(sid: SessionId) -> String {
    format!("zr1.{}.{}", sid.0.simple(), random_b64(32))
}

/// The session id a refresh token names, if it is well formed.
pub fn refresh_token_session(token: &str) -> Option<SessionId> {
    let rest = token.strip_prefix("zr1.")?;
    let (sid, secret) = rest.split_once('.')?;
    (secret.len() >= 40).then_some(())?;
    sid.parse().ok()
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes, base64url without padding.
pub fn random_b64(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    B64URL.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn issue_verify_tamper_expire() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let now = Utc::now();
        let sid = SessionId::new();
        let t = key.issue(sid, now, now + Duration::hours(1));
        assert_eq!(key.verify(&t, now).map(|c| c.sid), Some(sid));
        assert!(
            key.verify(&t, now + Duration::hours(2)).is_none(),
            "expired"
        );
        let other = TokenKey::new(b"another key another key another k").unwrap();
        assert!(other.verify(&t, now).is_none(), "wrong key");
        let mut bytes = t.clone().into_bytes();
        let mid = bytes.len() / 2;
        bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
        assert!(
            key.verify(&String::from_utf8(bytes).unwrap(), now)
                .is_none(),
            "tampered"
        );
        assert!(key.verify("a.b", now).is_none());
    }

    #[test]
    fn refresh_tokens_name_their_session() {
        let sid = SessionId::new();
        let t = new_refresh_token(sid);
        assert_eq!(refresh_token_session(&t), Some(sid));
        assert_ne!(new_refresh_token(sid), t);
        assert!(refresh_token_session("zr1.nope.x").is_none());
        assert_eq!(token_hash("abc").len(), 64);
    }

    #[test]
    fn debug_hides_key() {
        assert!(
            !format!(
                "{:?}",
                TokenKey::new(b"supersecretsupersecretsupersecret").unwrap()
            )
            .contains("supersecret")
        );
    }
}
