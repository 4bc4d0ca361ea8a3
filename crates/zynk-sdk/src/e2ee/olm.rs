//! Pairwise Olm sessions with other devices.

use zynk_crypto::{OlmCiphertext, verify_device_keys};
use zynk_proto::{ClaimKeys, DeviceId, DeviceKeys, UserId};

use super::Messenger;
use crate::{Result, SdkError};

impl Messenger {
    /// Verified device keys of `user`, checked against the identity key this
    /// client trusts for them (pinned on first use); refreshed from the server.
    pub(crate) async fn verified_devices(&mut self, user: UserId) -> Result<Vec<DeviceKeys>> {
        let identity = self.trusted_identity(user).await?;
        let listed = self.client.user_devices(user).await?;
        let keys: Vec<DeviceKeys> = listed
            .into_iter()
            .filter_map(|d| d.keys)
            .filter(|k| k.user_id == user && verify_device_keys(&identity, k).is_ok())
            .collect();
        self.state.devices.insert(user, keys.clone());
        Ok(keys)
    }

    /// The verified keys of one device, from the cache or the server.
    pub(crate) async fn device_keys(
        &mut self,
        user: UserId,
        device: DeviceId,
    ) -> Result<DeviceKeys> {
        let cached = self
            .state
            .devices
            .get(&user)
            .and_then(|l| l.iter().find(|k| k.device_id == device))
            .cloned();
        if let Some(k) = cached {
            return Ok(k);
        }
        self.verified_devices(user)
            .await?
            .into_iter()
            .find(|k| k.device_id == device)
            .ok_or(SdkError::UnknownDevice)
    }

    /// Makes sure an Olm session exists with each of `devices` (all of one user),
    /// claiming one-time keys for those without one.
    pub(crate) async fn ensure_sessions(
        &mut self,
        user: UserId,
        devices: &[DeviceKeys],
        include_unsigned: bool,
    ) -> Result<()> {
        let missing: Vec<DeviceId> = devices
            .iter()
            .filter(|d| {
                self.sessions
                    .get(&d.curve25519)
                    .is_none_or(|l| l.is_empty())
            })
            .map(|d| d.device_id)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let claimed = self
            .client
            .claim_keys(&ClaimKeys {
                user_id: user,
                device_ids: Some(missing),
            })
            .await?;
        for bundle in claimed.bundles {
            let known = devices.iter().any(|d| d == &bundle.device_keys)
                || (include_unsigned
                    && devices
                        .iter()
                        .any(|d| d.curve25519 == bundle.device_keys.curve25519));
            if !known {
                continue; // not the keys we verified: ignore
            }
            let session = self
                .account
                .create_outbound_session(&bundle)
                .map_err(SdkError::Crypto)?;
            self.sessions
                .entry(bundle.device_keys.curve25519.clone())
                .or_default()
                .insert(0, session);
        }
        Ok(())
    }

    /// Encrypts to one device with its newest session (`ensure_sessions` first).
    pub(crate) fn encrypt_to(
        &mut self,
        device: &DeviceKeys,
        plaintext: &[u8],
    ) -> Result<OlmCiphertext> {
        let session = self
            .sessions
            .get_mut(&device.curve25519)
            .and_then(|l| l.first_mut())
            .ok_or(SdkError::UnknownDevice)?;
        Ok(session.encrypt(plaintext)?)
    }

    /// Decrypts an Olm message from the device with `sender_curve`, creating
    /// the inbound session for a first (pre-key) message.
    pub(crate) fn decrypt_from(
        &mut self,
        sender_curve: &str,
        ct: &OlmCiphertext,
    ) -> Result<Vec<u8>> {
        if let Some(list) = self.sessions.get_mut(sender_curve) {
            let mut last_error = None;
            for i in 0..list.len() {
                if ct.message_type == 0 && !list[i].matches_prekey(ct) {
                    continue;
                }
                match list[i].decrypt(ct) {
                    Ok(plain) => {
                        // Keep the session that works first.
                        let s = list.remove(i);
                        list.insert(0, s);
                        return Ok(plain);
                    }
                    // A pre-key message matching a session must decrypt with it
                    // (a replay fails here instead of opening a new session).
                    Err(e) if ct.message_type == 0 => return Err(SdkError::Crypto(e)),
                    Err(e) => last_error = Some(e),
                }
            }
            if let Some(e) = last_error {
                return Err(SdkError::Crypto(e));
            }
        }
        if ct.message_type != 0 {
            return Err(SdkError::Undecryptable(
                "no Olm session with the sending device".into(),
            ));
        }
        let (session, plain) = self
            .account
            .create_inbound_session(sender_curve, ct)
            .map_err(SdkError::Crypto)?;
        self.sessions
            .entry(sender_curve.to_owned())
            .or_default()
            .insert(0, session);
        Ok(plain)
    }
}
