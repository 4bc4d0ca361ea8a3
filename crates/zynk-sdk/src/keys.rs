//! End-to-end encryption key distribution over HTTP: uploading this
//! device's keys, listing a user's devices, claiming one-time keys.

use reqwest::Method;
use zynk_proto::{ClaimKeys, ClaimedKeys, KeyCounts, UploadKeys, UserDevice, UserId};

use crate::{Client, Result};

impl Client {
    /// Uploads this device's keys (`PUT /v1/keys`); answers how many
    /// unclaimed one-time keys the device has and whether a fallback key is set.
    pub async fn upload_keys(&self, body: &UploadKeys) -> Result<KeyCounts> {
        self.call_json(Method::PUT, "/v1/keys", Some(body)).await
    }

    /// A user's devices with their keys (`GET /v1/users/{id}/devices`).
    pub async fn user_devices(&self, user: UserId) -> Result<Vec<UserDevice>> {
        self.call_json::<(), _>(Method::GET, &format!("/v1/users/{user}/devices"), None)
            .await
    }

    /// Claims one one-time (or fallback) key per device of a user
    /// (`POST /v1/keys/claim`).
    pub async fn claim_keys(&self, body: &ClaimKeys) -> Result<ClaimedKeys> {
        self.call_json(Method::POST, "/v1/keys/claim", Some(body))
            .await
    }
}
