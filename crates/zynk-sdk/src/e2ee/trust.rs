//! Contacts' identity keys, safety numbers and device approval.

use zynk_proto::{DeviceId, UserDevice, UserId};

use super::{Messenger, ToDevice};
use crate::{Result, SdkError};

impl Messenger {
    /// The identity key this client trusts for `user`: pinned on first use.
    /// A different key from the server is remembered as a change (see
    /// `identity_changed`), and the pinned key stays in force until `trust`.
    pub(crate) async fn trusted_identity(&mut self, user: UserId) -> Result<String> {
        if let Some(identity) = self.identity.as_ref().filter(|_| user == self.info.user_id) {
            return Ok(identity.public_key_base64());
        }
        let current = self.client.user(&user.to_string()).await?.identity_key;
        let contact = self.state.contacts.entry(user).or_default();
        if contact.identity_key.is_empty() {
            contact.identity_key = current;
        } else if contact.identity_key != current {
            contact.changed_to = Some(current);
        } else {
            contact.changed_to = None;
        }
        Ok(contact.identity_key.clone())
    }

    /// Refreshes `user`'s identity key; an unacknowledged change is an error.
    /// Once per contact key, the key is also checked against the public
    /// ledger (their DID's latest confirmed transaction): a mismatch is an
    /// error; a DID not sealed yet (404) or a ledger not readable here (503)
    /// is checked again next time.
    pub(crate) async fn check_identity(&mut self, user: UserId) -> Result<()> {
        self.trusted_identity(user).await?;
        if self
            .state
            .contacts
            .get(&user)
            .is_some_and(|c| c.changed_to.is_some())
        {
            return Err(SdkError::IdentityChanged(user));
        }
        if !self.state.ledger_checked.contains(&user) {
            match self.check_identity_on_ledger(user).await {
                Ok(()) => {
                    self.state.ledger_checked.insert(user);
                }
                Err(SdkError::Api {
                    status: 404 | 503, ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether `user`'s identity key changed since it was pinned (and the new
    /// one is not yet acknowledged).
    pub async fn identity_changed(&mut self, user: UserId) -> Result<bool> {
        self.trusted_identity(user).await?;
        self.save()?;
        Ok(self
            .state
            .contacts
            .get(&user)
            .is_some_and(|c| c.changed_to.is_some()))
    }

    /// Acknowledges `user`'s current identity key (after comparing safety numbers).
    pub async fn trust(&mut self, user: UserId) -> Result<()> {
        self.trusted_identity(user).await?;
        if let Some(c) = self.state.contacts.get_mut(&user)
            && let Some(new) = c.changed_to.take()
        {
            c.identity_key = new;
        }
        self.state.devices.remove(&user);
        self.state.ledger_checked.remove(&user);
        self.save()
    }

    /// The safety number of this user and `user`: 60 digits, the same on both sides.
    pub async fn safety_number(&mut self, user: UserId) -> Result<String> {
        let mine = self.trusted_identity(self.info.user_id).await?;
        let theirs = self.trusted_identity(user).await?;
        self.save()?;
        Ok(zynk_crypto::safety_number(
            &self.info.user_id.to_string(),
            &mine,
            &user.to_string(),
            &theirs,
        )?)
    }

    /// This user's devices that wait for approval (keys uploaded, unsigned).
    pub async fn pending_devices(&self) -> Result<Vec<UserDevice>> {
        let devices = self.client.user_devices(self.info.user_id).await?;
        Ok(devices
            .into_iter()
            .filter(|d| !d.verified && d.keys.is_some())
            .collect())
    }

    /// Approves a new device of this user: sends it the user identity key,
    /// Olm-encrypted to that device (the server sees only ciphertext).
    pub async fn approve_device(&mut self, device: DeviceId) -> Result<()> {
        self.require_identity()?;
        let pending = self.pending_devices().await?;
        let keys = pending
            .into_iter()
            .find(|d| d.device_id == device)
            .and_then(|d| d.keys)
            .ok_or(SdkError::UnknownDevice)?;
        let me = self.info.user_id;
        self.ensure_sessions(me, std::slice::from_ref(&keys), true)
            .await?;
        let secret = match &self.identity {
            Some(i) => base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                *i.secret_bytes(),
            ),
            None => return Err(SdkError::NotApproved),
        };
        let payload = zeroize::Zeroizing::new(
            serde_json::to_vec(&ToDevice::Identity { secret })
                .map_err(|e| SdkError::State(e.to_string()))?,
        );
        let ciphertext = self.encrypt_to(&keys, &payload)?;
        let message = self.sealed_device_message(&keys, ciphertext)?;
        self.client
            .send_device_messages(&zynk_proto::SendDeviceMessages {
                messages: vec![message],
            })
            .await?;
        self.save()
    }
}
