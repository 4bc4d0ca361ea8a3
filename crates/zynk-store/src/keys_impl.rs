//! `KeyStore`, written once and expanded by each backend (as `store_impl`
//! does for `Store`), and the row types it reads.
//!
//! Claims are the one concurrency-sensitive part: a one-time key must be
//! handed out at most once. PostgreSQL deletes it with
//! `FOR UPDATE SKIP LOCKED` (concurrent claims take different keys, none
//! waits); SQLite has a single writer and `BEGIN IMMEDIATE`, so claims run
//! one after another.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::{DeviceId, OneTimeKey, UserId};

use crate::common::DeviceRow;
use crate::{DeviceKeysRecord, DeviceRecord, StoreError};

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceKeysRow {
    device_id: Uuid,
    user_id: Uuid,
    curve25519: String,
    ed25519: String,
    signature: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<DeviceKeysRow> for DeviceKeysRecord {
    fn from(r: DeviceKeysRow) -> Self {
        DeviceKeysRecord {
            device_id: DeviceId(r.device_id),
            user_id: UserId(r.user_id),
            curve25519: r.curve25519,
            ed25519: r.ed25519,
            signature: r.signature,
            updated_at: r.updated_at,
        }
    }
}

/// A device and its keys (`LEFT JOIN`: the key columns are NULL without keys).
#[derive(sqlx::FromRow)]
pub(crate) struct DeviceWithKeysRow {
    #[sqlx(flatten)]
    device: DeviceRow,
    curve25519: Option<String>,
    ed25519: Option<String>,
    signature: Option<String>,
    keys_updated_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeviceWithKeysRow> for (DeviceRecord, Option<DeviceKeysRecord>) {
    type Error = StoreError;

    fn try_from(r: DeviceWithKeysRow) -> Result<Self, StoreError> {
        let device = DeviceRecord::try_from(r.device)?;
        let keys = match (r.curve25519, r.ed25519, r.keys_updated_at) {
            (Some(curve25519), Some(ed25519), Some(updated_at)) => Some(DeviceKeysRecord {
                device_id: device.id,
                user_id: device.user_id,
                curve25519,
                ed25519,
                signature: r.signature,
                updated_at,
            }),
            _ => None,
        };
        Ok((device, keys))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OneTimeKeyRow {
    key_id: String,
    key: String,
    signature: String,
}

impl From<OneTimeKeyRow> for OneTimeKey {
    fn from(r: OneTimeKeyRow) -> Self {
        OneTimeKey {
            key_id: r.key_id,
            key: r.key,
            signature: r.signature,
        }
    }
}

/// A count column as `u32` (saturating; counts are small).
pub(crate) fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// `impl_keys!(StoreType, sqlx::Database)` implements `KeyStore`.
macro_rules! impl_keys {
    ($store:ident, $db:ty) => {
        mod keys_impl {
            use chrono::{DateTime, Utc};
            use zynk_proto::{DeviceId, OneTimeKey, UserId};

            use super::$store;
            use $crate::common::micros;
            use $crate::keys_impl::{DeviceKeysRow, DeviceWithKeysRow, OneTimeKeyRow, count};
            use $crate::keys_queries as q;
            use $crate::msg_rows::missing;
            use $crate::{
                Backend, Claimed, DeviceKeysRecord, DeviceRecord, KeyStore, NewDeviceKeys, Result,
                StoreError,
            };

            #[async_trait::async_trait]
            impl KeyStore for $store {
                async fn set_device_keys(
                    &self,
                    user: UserId,
                    device: DeviceId,
                    keys: &NewDeviceKeys,
                    now: DateTime<Utc>,
                ) -> Result<DeviceKeysRecord> {
                    let mut tx = self.begin_write().await?;
                    let owned: i64 = sqlx::query_scalar(q::DEVICE_OF_USER)
                        .bind(device.0)
                        .bind(user.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    if owned == 0 {
                        return Err(StoreError::Missing("device"));
                    }
                    let row: Option<DeviceKeysRow> = sqlx::query_as(q::UPSERT_DEVICE_KEYS)
                        .bind(device.0)
                        .bind(user.0)
                        .bind(&keys.curve25519)
                        .bind(&keys.ed25519)
                        .bind(keys.signature.as_deref())
                        .bind(micros(now))
                        .fetch_optional(&mut *tx)
                        .await?;
                    let row = row.ok_or(StoreError::Conflict("device_keys"))?;
                    tx.commit().await?;
                    Ok(row.into())
                }

                async fn device_keys_of(
                    &self,
                    user: UserId,
                ) -> Result<Vec<(DeviceRecord, Option<DeviceKeysRecord>)>> {
                    let rows: Vec<DeviceWithKeysRow> = sqlx::query_as(q::DEVICES_WITH_KEYS)
                        .bind(user.0)
                        .fetch_all(self.reader())
                        .await?;
                    rows.into_iter().map(TryFrom::try_from).collect()
                }

                async fn add_one_time_keys(
                    &self,
                    device: DeviceId,
                    keys: &[OneTimeKey],
                    now: DateTime<Utc>,
                ) -> Result<u32> {
                    let now = micros(now);
                    let mut tx = self.begin_write().await?;
                    for key in keys {
                        sqlx::query(q::INSERT_ONE_TIME_KEY)
                            .bind(device.0)
                            .bind(&key.key_id)
                            .bind(&key.key)
                            .bind(&key.signature)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| missing(e, "device"))?;
                    }
                    let (unclaimed, _): (i64, i64) = sqlx::query_as(q::KEY_COUNTS)
                        .bind(device.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(count(unclaimed))
                }

                async fn set_fallback_key(
                    &self,
                    device: DeviceId,
                    key: &OneTimeKey,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(q::UPSERT_FALLBACK_KEY)
                        .bind(device.0)
                        .bind(&key.key_id)
                        .bind(&key.key)
                        .bind(&key.signature)
                        .bind(micros(now))
                        .execute(self.writer())
                        .await
                        .map_err(|e| missing(e, "device"))?;
                    Ok(())
                }

                async fn key_counts(&self, device: DeviceId) -> Result<(u32, bool)> {
                    let (unclaimed, fallback): (i64, i64) = sqlx::query_as(q::KEY_COUNTS)
                        .bind(device.0)
                        .fetch_one(self.reader())
                        .await?;
                    Ok((count(unclaimed), fallback > 0))
                }

                async fn claim_keys(
                    &self,
                    user: UserId,
                    devices: Option<&[DeviceId]>,
                    include_unsigned: bool,
                ) -> Result<Vec<Claimed>> {
                    let claim = if $store::BACKEND == Backend::Postgres {
                        q::CLAIM_ONE_TIME_KEY_PG
                    } else {
                        q::CLAIM_ONE_TIME_KEY_SQLITE
                    };
                    let mut tx = self.begin_write().await?;
                    let rows: Vec<DeviceKeysRow> = sqlx::query_as(q::CLAIMABLE_DEVICE_KEYS)
                        .bind(user.0)
                        .bind(include_unsigned)
                        .fetch_all(&mut *tx)
                        .await?;
                    let mut out = Vec::new();
                    for keys in rows.into_iter().map(DeviceKeysRecord::from) {
                        if devices.is_some_and(|wanted| !wanted.contains(&keys.device_id)) {
                            continue;
                        }
                        let taken: Option<OneTimeKeyRow> = sqlx::query_as(claim)
                            .bind(keys.device_id.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                        let (key, fallback) = match taken {
                            Some(key) => (key, false),
                            None => {
                                let fallback: Option<OneTimeKeyRow> =
                                    sqlx::query_as(q::FALLBACK_KEY)
                                        .bind(keys.device_id.0)
                                        .fetch_optional(&mut *tx)
                                        .await?;
                                match fallback {
                                    Some(key) => (key, true),
                                    None => continue,
                                }
                            }
                        };
                        out.push(Claimed {
                            keys,
                            one_time_key: key.into(),
                            fallback,
                        });
                    }
                    tx.commit().await?;
                    Ok(out)
                }
            }
        }
    };
}

pub(crate) use impl_keys;
