//! `PushStore`, written once and expanded by each backend (as `store_impl`
//! does for `Store`), and the row type it reads.

use uuid::Uuid;
use zynk_proto::{DeviceId, Platform, UserId};

use crate::{PushTarget, StoreError};

/// The columns every push query selects, after `SELECT`.
pub(crate) const TARGET_COLUMNS: &str = "SELECT id, user_id, platform, push_token FROM devices \
     WHERE push_token IS NOT NULL AND push_token <> '' AND ";

/// device id, token.
pub(crate) const CLEAR_PUSH_TOKEN: &str =
    "UPDATE devices SET push_token = NULL WHERE id = $1 AND push_token = $2";

#[derive(sqlx::FromRow)]
pub(crate) struct TargetRow {
    id: Uuid,
    user_id: Uuid,
    platform: String,
    push_token: Option<String>,
}

/// The targets among `rows` (a row with an unknown platform is an error).
pub(crate) fn targets(rows: Vec<TargetRow>) -> Result<Vec<PushTarget>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let platform = Platform::parse(&r.platform).ok_or_else(|| {
            StoreError::Backend(sqlx::Error::Decode(
                format!("unknown platform {:?} in devices", r.platform).into(),
            ))
        })?;
        if let Some(push_token) = r.push_token.filter(|t| !t.is_empty()) {
            out.push(PushTarget {
                device_id: DeviceId(r.id),
                user_id: UserId(r.user_id),
                platform,
                push_token,
            });
        }
    }
    Ok(out)
}

/// `impl_push!(StoreType, sqlx::Database)` implements `PushStore`.
macro_rules! impl_push {
    ($store:ident, $db:ty) => {
        mod push_impl {
            use sqlx::QueryBuilder;
            use uuid::Uuid;
            use zynk_proto::{DeviceId, UserId};

            use super::$store;
            use $crate::push_impl::{CLEAR_PUSH_TOKEN, TARGET_COLUMNS, TargetRow, targets};
            use $crate::{PushStore, PushTarget, Result};

            /// `TARGET_COLUMNS {column} IN (ids…)`.
            fn select_in<'a>(column: &str, ids: &[Uuid]) -> QueryBuilder<'a, $db> {
                let mut b = QueryBuilder::new(TARGET_COLUMNS);
                b.push(column);
                b.push(" IN (");
                let mut list = b.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                b.push(")");
                b
            }

            #[async_trait::async_trait]
            impl PushStore for $store {
                async fn push_targets(
                    &self,
                    users: &[UserId],
                    except_device: Option<DeviceId>,
                ) -> Result<Vec<PushTarget>> {
                    if users.is_empty() {
                        return Ok(Vec::new());
                    }
                    let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
                    let mut query = select_in("user_id", &ids);
                    if let Some(device) = except_device {
                        query.push(" AND id <> ");
                        query.push_bind(device.0);
                    }
                    let rows: Vec<TargetRow> =
                        query.build_query_as().fetch_all(self.reader()).await?;
                    targets(rows)
                }

                async fn push_targets_for_devices(
                    &self,
                    devices: &[DeviceId],
                ) -> Result<Vec<PushTarget>> {
                    if devices.is_empty() {
                        return Ok(Vec::new());
                    }
                    let ids: Vec<Uuid> = devices.iter().map(|d| d.0).collect();
                    let mut query = select_in("id", &ids);
                    let rows: Vec<TargetRow> =
                        query.build_query_as().fetch_all(self.reader()).await?;
                    targets(rows)
                }

                async fn clear_push_token(&self, device: DeviceId, token: &str) -> Result<bool> {
                    let done = sqlx::query(CLEAR_PUSH_TOKEN)
                        .bind(device.0)
                        .bind(token)
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        }
    };
}

pub(crate) use impl_push;
