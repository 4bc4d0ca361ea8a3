//! The JWTs push services want: ES256 (APNs provider tokens, VAPID) and
//! RS256 (the service account grant for FCM's OAuth 2.0 token). Keys are
//! read once from PEM files; signing is deterministic (RFC 6979 for ECDSA,
//! PKCS#1 v1.5 for RSA), so no random source is needed.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use rsa::pkcs1v15;
use rsa::sha2::Sha256;
use rsa::signature::SignatureEncoding as _;
use serde_json::Value;

/// A P-256 signing key (APNs `.p8`, VAPID).
pub type EcKey = p256::ecdsa::SigningKey;
/// An RSA signing key with SHA-256 (Google service accounts).
pub type RsaKey = pkcs1v15::SigningKey<Sha256>;

/// Reads a P-256 key: PKCS#8 (`BEGIN PRIVATE KEY`, as Apple's `.p8`) or SEC1
/// (`BEGIN EC PRIVATE KEY`, as `openssl ecparam -genkey` writes).
pub fn ec_key(pem: &str) -> anyhow::Result<EcKey> {
    if let Ok(key) = EcKey::from_pkcs8_pem(pem) {
        return Ok(key);
    }
    let secret = p256::SecretKey::from_sec1_pem(pem)
        .context("not a P-256 private key in PKCS#8 or SEC1 PEM")?;
    Ok(EcKey::from(secret))
}

/// Reads an RSA key in PKCS#8 PEM (the service account's `private_key`).
pub fn rsa_key(pem: &str) -> anyhow::Result<RsaKey> {
    let key =
        rsa::RsaPrivateKey::from_pkcs8_pem(pem).context("not an RSA private key in PKCS#8 PEM")?;
    Ok(RsaKey::new(key))
}

/// The uncompressed public point of `key`, base64url (VAPID's `k`).
pub fn ec_public_b64(key: &EcKey) -> String {
    B64URL.encode(key.verifying_key().to_encoded_point(false).as_bytes())
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    )
}

/// `header.claims.signature` with ES256 (`alg` is set here).
pub fn es256(key: &EcKey, mut header: Value, claims: &Value) -> String {
    header["alg"] = "ES256".into();
    header["typ"] = "JWT".into();
    let input = signing_input(&header, claims);
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", B64URL.encode(signature.to_bytes()))
}

/// `header.claims.signature` with RS256.
pub fn rs256(key: &RsaKey, claims: &Value) -> String {
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let input = signing_input(&header, claims);
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", B64URL.encode(signature.to_bytes()))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
