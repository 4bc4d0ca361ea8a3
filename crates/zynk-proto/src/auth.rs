//! Registration, login, refresh and the token pair they return.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DeviceId, SessionId, UserId};

/// A secret string (password or token): serialised as-is, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// The kind of client a device runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Android,
    Ios,
    Web,
    Desktop,
    Cli,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Android,
        Platform::Ios,
        Platform::Web,
        Platform::Desktop,
        Platform::Cli,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
            Platform::Desktop => "desktop",
            Platform::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The device a client registers or logs in from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Human-readable name, 1–64 characters.
    pub name: String,
    /// Stable client-chosen fingerprint of the device, 8–128 characters; unique.
    pub fingerprint: String,
    pub platform: Platform,
    /// The device's identity public key (Ed25519 or Curve25519), base64 of 32 bytes.
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_token: Option<Secret>,
}

/// `POST /v1/auth/register`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// 3–64 characters: ASCII letters, digits, `_`, `.` and `-`.
    pub username: String,
    /// 8–256 characters.
    pub password: Secret,
    /// The user's Ed25519 identity public key, base64 of 32 bytes.
    pub identity_key: String,
    pub device: NewDevice,
}

/// `POST /v1/auth/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: Secret,
    pub device: NewDevice,
}

/// `POST /v1/auth/refresh`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    pub refresh_token: Secret,
}

/// What register, login and refresh return.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthTokens {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub session_id: SessionId,
    /// Bearer token (a JWT) for `Authorization: Bearer …`.
    pub session_token: Secret,
    /// Single-use token for `POST /v1/auth/refresh`.
    pub refresh_token: Secret,
    pub session_expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
}
