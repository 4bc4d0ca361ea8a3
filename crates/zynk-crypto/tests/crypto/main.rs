//! End-to-end tests of the public API: Olm between accounts, Megolm groups,
//! files, pickles, and that `Debug` never shows secrets.

// Test helpers outside #[test] fns unwrap too.
#![allow(clippy::unwrap_used)]

mod debug;
mod files;
mod groups;
mod olm;
mod pickles;

use zynk_crypto::{DeviceAccount, UserIdentity};
use zynk_proto::{DeviceId, DeviceKeys, KeyBundle, UserId};

/// A device of a user with a published one-time key and fallback key.
pub struct Device {
    pub id: DeviceId,
    pub account: DeviceAccount,
    pub keys: DeviceKeys,
}

impl Device {
    pub fn new(user: &UserIdentity) -> Self {
        let id = DeviceId::new();
        let account = DeviceAccount::new();
        let mut keys = account.device_keys(UserId::new(), id);
        user.sign_device_keys(&mut keys);
        Self { id, account, keys }
    }

    /// What the server hands out on a claim: one fresh one-time key.
    pub fn claim_otk(&mut self) -> KeyBundle {
        let otk = self.account.generate_one_time_keys(self.id, 1).remove(0);
        self.account.mark_keys_as_published();
        KeyBundle {
            device_keys: self.keys.clone(),
            one_time_key: otk,
            fallback: false,
        }
    }

    /// A claim after the one-time keys ran out: the fallback key.
    pub fn claim_fallback(&mut self) -> KeyBundle {
        let key = self.account.fallback_key(self.id).unwrap();
        self.account.mark_keys_as_published();
        KeyBundle {
            device_keys: self.keys.clone(),
            one_time_key: key,
            fallback: true,
        }
    }
}
