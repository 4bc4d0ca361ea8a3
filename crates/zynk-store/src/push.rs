//! Push notification targets: the devices that have a push token, and the
//! removal of a token the push service reported as invalid. `Store` requires
//! `PushStore`, so `Arc<dyn Store>` offers it.
//!
//! Its SQL and methods are in the `impl_push!` macro of `push_impl.rs` that
//! each backend expands.

use async_trait::async_trait;
use zynk_proto::{DeviceId, Platform, UserId};

use crate::Result;

/// A device that can be woken by a push. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub platform: Platform,
    /// Never empty.
    pub push_token: String,
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushTarget")
            .field("device_id", &self.device_id)
            .field("user_id", &self.user_id)
            .field("platform", &self.platform)
            .field("push_token", &"[redacted]")
            .finish()
    }
}

#[async_trait]
pub trait PushStore: Send + Sync {
    /// The devices of `users` (except `except_device`) that have a push token.
    async fn push_targets(
        &self,
        users: &[UserId],
        except_device: Option<DeviceId>,
    ) -> Result<Vec<PushTarget>>;
    /// Those of `devices` that have a push token.
    async fn push_targets_for_devices(&self, devices: &[DeviceId]) -> Result<Vec<PushTarget>>;
    /// Clears the device's push token if it is still `token` (a newer one
    /// the device registered meanwhile stays); returns whether it cleared.
    async fn clear_push_token(&self, device: DeviceId, token: &str) -> Result<bool>;
}
