//! Delivery: the per-device inbox of messages, acks and receipts, read
//! markers, the device-to-device inbox and the message lifecycle (see
//! `msg_impl`).

/// Expands `mod msg_delivery` for a backend's store.
macro_rules! impl_delivery {
    ($store:ident, $db:ty) => {
        mod msg_delivery {
            use std::collections::BTreeSet;

            use chrono::{DateTime, Utc};
            use uuid::Uuid;
            use zynk_proto::{ConversationId, DeviceId, DeviceMessageId, MessageId, UserId};

            use super::$store;
            use $crate::common::micros;
            use $crate::msg_impl::{page_size, start_cursor};
            use $crate::msg_queries::{self as q, placeholders};
            use $crate::msg_rows::{self, DeviceMessageRow, MessageRow, StatusRow};
            use $crate::{
                Backend, DeviceMessageRecord, LifecycleReport, MessageRecord, Result, StatusChange,
                StoreError,
            };

            type Conn = <$db as sqlx::Database>::Connection;

            /// PostgreSQL: locks the conversations' rows, in id order, so that
            /// status changes depending on other participants' receipts and
            /// read markers see each other (see `msg_impl`).
            async fn lock_conversations(
                conn: &mut Conn,
                conversations: BTreeSet<Uuid>,
            ) -> Result<()> {
                if $store::BACKEND != Backend::Postgres {
                    return Ok(());
                }
                for id in conversations {
                    sqlx::query(q::LOCK_CONVERSATION_PG)
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            /// Reads pages from the reader; deliveries of messages deleted or
            /// expired meanwhile are dropped (a write only when there are any)
            /// and the page is refilled past them.
            pub(crate) async fn pending_deliveries(
                s: &$store,
                device: DeviceId,
                after: Option<(DateTime<Utc>, MessageId)>,
                limit: u32,
                now: DateTime<Utc>,
            ) -> Result<Vec<MessageRecord>> {
                let now = micros(now);
                let limit = page_size(limit);
                let mut cursor = after.map_or_else(start_cursor, |(at, id)| (micros(at), id.0));
                let mut out = Vec::new();
                while (out.len() as i64) < limit {
                    let want = limit - out.len() as i64;
                    let rows: Vec<MessageRow> = sqlx::query_as(q::PENDING_DELIVERIES)
                        .bind(device.0)
                        .bind(cursor.0)
                        .bind(cursor.1)
                        .bind(want)
                        .fetch_all(s.reader())
                        .await?;
                    let complete = (rows.len() as i64) < want;
                    let mut stale = Vec::new();
                    for row in rows {
                        cursor = (row.created_at, row.id);
                        if row.deleted_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
                            stale.push(row.id);
                        } else {
                            out.push(MessageRecord::try_from(row)?);
                        }
                    }
                    if !stale.is_empty() {
                        let sql = format!(
                            "{}{})",
                            q::DELETE_DEVICE_DELIVERIES,
                            placeholders(2, stale.len())
                        );
                        let mut query = sqlx::query(&sql).bind(device.0);
                        for id in stale {
                            query = query.bind(id);
                        }
                        query.execute(s.writer()).await?;
                    }
                    if complete {
                        break;
                    }
                }
                Ok(out)
            }

            /// Per acked id the device really had pending: its delivery row
            /// goes, the user gets a receipt (unless they sent it), and the
            /// message becomes `delivered` once every other participant has one.
            pub(crate) async fn ack_deliveries(
                s: &$store,
                device: DeviceId,
                user: UserId,
                ids: &[MessageId],
                now: DateTime<Utc>,
            ) -> Result<Vec<StatusChange>> {
                let now = micros(now);
                let ids: BTreeSet<Uuid> = ids.iter().map(|id| id.0).collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = s.begin_write().await?;
                if $store::BACKEND == Backend::Postgres {
                    let mut conversations = BTreeSet::new();
                    for id in &ids {
                        let conversation: Option<Uuid> =
                            sqlx::query_scalar(q::DELIVERY_CONVERSATION)
                                .bind(device.0)
                                .bind(*id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        conversations.extend(conversation);
                    }
                    lock_conversations(&mut tx, conversations).await?;
                }
                let mut changes = Vec::new();
                for id in ids {
                    let created_at: Option<DateTime<Utc>> = sqlx::query_scalar(q::DELETE_DELIVERY)
                        .bind(device.0)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(created_at) = created_at else {
                        continue;
                    };
                    sqlx::query(q::INSERT_RECEIPT)
                        .bind(id)
                        .bind(created_at)
                        .bind(user.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    let change: Option<StatusRow> = sqlx::query_as(q::MARK_DELIVERED)
                        .bind(id)
                        .bind(created_at)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(change) = change {
                        changes.push(change.try_into()?);
                    }
                }
                tx.commit().await?;
                Ok(changes)
            }

            /// The marker moves to `min(up_to, now)` if that is later. Only
            /// messages after the old marker can turn `read` because of it.
            pub(crate) async fn mark_read(
                s: &$store,
                user: UserId,
                conversation: ConversationId,
                up_to: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<Option<Vec<StatusChange>>> {
                let up_to = micros(up_to.min(now));
                let mut tx = s.begin_write().await?;
                lock_conversations(&mut tx, BTreeSet::from([conversation.0])).await?;
                let marker: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(q::READ_MARKER)
                    .bind(conversation.0)
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(marker) = marker else {
                    return Ok(None);
                };
                if marker.is_some_and(|m| m >= up_to) {
                    return Ok(Some(Vec::new()));
                }
                sqlx::query(q::SET_READ_MARKER)
                    .bind(conversation.0)
                    .bind(user.0)
                    .bind(up_to)
                    .execute(&mut *tx)
                    .await?;
                let sql = match $store::BACKEND {
                    Backend::Postgres => q::MARK_READ_PG,
                    Backend::Sqlite => q::MARK_READ_SQLITE,
                };
                let rows: Vec<StatusRow> = sqlx::query_as(sql)
                    .bind(conversation.0)
                    .bind(marker.unwrap_or(DateTime::<Utc>::UNIX_EPOCH))
                    .bind(up_to)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(msg_rows::all(rows)?))
            }

            pub(crate) async fn insert_device_messages(
                s: &$store,
                batch: Vec<DeviceMessageRecord>,
            ) -> Result<Vec<DeviceMessageRecord>> {
                let mut out = Vec::with_capacity(batch.len());
                let mut tx = s.begin_write().await?;
                for m in &batch {
                    let row: Option<DeviceMessageRow> = sqlx::query_as(q::INSERT_DEVICE_MESSAGE)
                        .bind(m.id.0)
                        .bind(m.recipient_device_id.0)
                        .bind(m.sender_id.0)
                        .bind(m.sender_device_id.0)
                        .bind(m.payload.as_slice())
                        .bind(micros(m.created_at))
                        .fetch_optional(&mut *tx)
                        .await?;
                    let row = row.ok_or(StoreError::Missing("device"))?;
                    out.push(row.into());
                }
                tx.commit().await?;
                Ok(out)
            }

            pub(crate) async fn pending_device_messages(
                s: &$store,
                device: DeviceId,
                after: Option<(DateTime<Utc>, DeviceMessageId)>,
                limit: u32,
            ) -> Result<Vec<DeviceMessageRecord>> {
                let cursor = after.map_or_else(start_cursor, |(at, id)| (micros(at), id.0));
                let rows: Vec<DeviceMessageRow> = sqlx::query_as(q::PENDING_DEVICE_MESSAGES)
                    .bind(device.0)
                    .bind(cursor.0)
                    .bind(cursor.1)
                    .bind(page_size(limit))
                    .fetch_all(s.reader())
                    .await?;
                Ok(rows.into_iter().map(DeviceMessageRecord::from).collect())
            }

            pub(crate) async fn ack_device_messages(
                s: &$store,
                device: DeviceId,
                ids: &[DeviceMessageId],
            ) -> Result<u64> {
                let mut tx = s.begin_write().await?;
                let mut acked = 0;
                for id in ids.iter().collect::<BTreeSet<_>>() {
                    acked += sqlx::query(q::ACK_DEVICE_MESSAGE)
                        .bind(device.0)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(acked)
            }

            /// Four statements, each its own transaction (so a run never
            /// holds SQLite's writer long, and inserts interleave). Expired
            /// messages are counted first, then undelivered, then deleted ones:
            /// a message in several categories counts once, in the first.
            pub(crate) async fn run_lifecycle(
                s: &$store,
                now: DateTime<Utc>,
                undelivered_before: DateTime<Utc>,
                deleted_before: DateTime<Utc>,
                device_before: DateTime<Utc>,
            ) -> Result<LifecycleReport> {
                let mut counts = [0u64; 4];
                let steps = [
                    (q::PURGE_EXPIRED, now),
                    (q::PURGE_UNDELIVERED, undelivered_before),
                    (q::PURGE_DELETED, deleted_before),
                    (q::PURGE_DEVICE_MESSAGES, device_before),
                ];
                for (count, (sql, bound)) in counts.iter_mut().zip(steps) {
                    *count = sqlx::query(sql)
                        .bind(micros(bound))
                        .execute(s.writer())
                        .await?
                        .rows_affected();
                }
                let [expired, undelivered, purged_deleted, device_messages] = counts;
                Ok(LifecycleReport {
                    expired,
                    undelivered,
                    purged_deleted,
                    device_messages,
                })
            }
        }
    };
}

pub(crate) use impl_delivery;
