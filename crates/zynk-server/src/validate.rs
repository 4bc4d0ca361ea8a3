//! Field rules shared by every use case. Each returns a 422 naming the field.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use zynk_proto::NewDevice;

use crate::error::{ApiError, ApiResult};

/// 3–64 characters of `[a-z0-9_.-]`; returned lowercased (usernames are
/// case-insensitive).
pub fn username(raw: &str) -> ApiResult<String> {
    let name = raw.trim().to_ascii_lowercase();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err(ApiError::invalid("username", "must be 3 to 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(ApiError::invalid(
            "username",
            "may contain only letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(name)
}

pub fn password(raw: &str) -> ApiResult<()> {
    let len = raw.chars().count();
    if !(8..=256).contains(&len) {
        return Err(ApiError::invalid("password", "must be 8 to 256 characters"));
    }
    Ok(())
}

/// Base64 (padded or not) of exactly 32 bytes.
pub fn key32(field: &str, raw: &str) -> ApiResult<[u8; 32]> {
    let bytes = STANDARD
        .decode(raw)
        .or_else(|_| STANDARD_NO_PAD.decode(raw))
        .map_err(|_| ApiError::invalid(field, "must be base64"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| ApiError::invalid(field, "must encode exactly 32 bytes"))
}

/// A user identity key: a valid, non-weak Ed25519 public key.
pub fn identity_key(raw: &str) -> ApiResult<()> {
    let bytes = key32("identity_key", raw)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| ApiError::invalid("identity_key", "is not an Ed25519 public key"))?;
    if key.is_weak() {
        return Err(ApiError::invalid(
            "identity_key",
            "is a weak (small-order) key",
        ));
    }
    Ok(())
}

/// Text of at most `max` characters without control characters; `min` ≥ 1 means required.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An `https://` (or `http://`) URL of at most 2048 characters.
pub fn url(field: &str, value: &str) -> ApiResult<()> {
    text(field, value, 1, 2048)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| ApiError::invalid(field, "must be an http(s) URL"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(ApiError::invalid(field, "must be an http(s) URL"));
    }
    Ok(())
}

pub fn push_token(value: &str) -> ApiResult<()> {
    text("push_token", value, 1, 4096)
}

pub fn device_name(value: &str) -> ApiResult<()> {
    text("device.name", value, 1, 64)
}

pub fn device(d: &NewDevice) -> ApiResult<()> {
    device_name(&d.name)?;
    let fp = &d.fingerprint;
    if !(8..=128).contains(&fp.len()) || !fp.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "device.fingerprint",
            "must be 8 to 128 printable ASCII characters",
        ));
    }
    key32("device.public_key", &d.public_key)?;
    if let Some(t) = &d.push_token {
        push_token(t.expose())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username(" Alice ").unwrap(), "alice");
        for bad in ["ab", &"a".repeat(65), "al ice", "al/ice", "ünï"] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_keys() {
        // The Ed25519 base point is valid; all-zero bytes are a weak key.
        let base = STANDARD.encode([
            0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
            0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
            0x66, 0x66, 0x66, 0x66,
        ]);
        assert!(identity_key(&base).is_ok());
        assert!(identity_key(&STANDARD.encode([0u8; 32])).is_err());
        assert!(identity_key(&STANDARD.encode([1u8; 31])).is_err());
        assert!(identity_key("not base64!").is_err());
    }

    #[test]
    fn urls_and_text() {
        assert!(url("avatar_url", "https://example.org/a.png").is_ok());
        assert!(url("avatar_url", "javascript:alert(1)").is_err());
        assert!(text("bio", "a\u{0007}b", 0, 10).is_err());
        assert!(text("bio", "", 0, 10).is_ok());
    }
}
