//! RFC 9457 problem details: the body of every error response.

use serde::{Deserialize, Serialize};

/// `application/problem+json`. `type` is a stable URI-like identifier
/// (`https://zynk.dev/problems/<slug>`) that clients match on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    /// The slug after the last `/` of `type`, e.g. `rate-limited`.
    pub fn slug(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or(&self.kind)
    }
}
