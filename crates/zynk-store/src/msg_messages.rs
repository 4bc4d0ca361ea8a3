//! Messages: group-committed sends with idempotency and fan-out of delivery
//! rows, history pages, edit, soft delete and reactions (see `msg_impl`).

/// Expands `mod msg_messages` for a backend's store.
macro_rules! impl_messages {
    ($store:ident, $db:ty) => {
        mod msg_messages {
            use std::collections::{BTreeSet, HashMap};

            use chrono::{DateTime, Duration, Utc};
            use sqlx::types::Json;
            use uuid::Uuid;
            use zynk_proto::{ConversationId, DeviceId, MessageId, MessageMetadata, UserId};

            use super::$store;
            use $crate::common::micros;
            use $crate::msg_impl::page_size;
            use $crate::msg_queries::{self as q, placeholders};
            use $crate::msg_rows::{MessageRow, missing};
            use $crate::queries::MESSAGE_HISTORY;
            use $crate::{Backend, Inserted, MessageRecord, NewMessage, Result, StoreError};

            type Conn = <$db as sqlx::Database>::Connection;

            /// The message a `(device, client message id)` pair created.
            async fn by_client_id(
                conn: &mut Conn,
                device: DeviceId,
                client_message_id: Uuid,
            ) -> Result<Option<MessageRecord>> {
                let row: Option<MessageRow> = sqlx::query_as(q::MESSAGE_BY_CLIENT_ID)
                    .bind(device.0)
                    .bind(client_message_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(MessageRecord::try_from).transpose()
            }

            /// One transaction for the whole batch. Every message of the
            /// batch gets `created_at = now`; pages order them by id.
            /// Conversations are touched last, in id order, so that two
            /// batches never wait for each other's conversation rows in
            /// opposite orders.
            pub(crate) async fn insert_messages(
                s: &$store,
                batch: Vec<NewMessage>,
                now: DateTime<Utc>,
            ) -> Result<Vec<Inserted>> {
                let now = micros(now);
                let mut out = Vec::with_capacity(batch.len());
                let mut touched = BTreeSet::new();
                let mut tx = s.begin_write().await?;
                for m in &batch {
                    if let Some(first) =
                        by_client_id(&mut tx, m.sender_device_id, m.client_message_id).await?
                    {
                        out.push(Inserted::Duplicate(first));
                        continue;
                    }
                    let row: MessageRow = sqlx::query_as(q::INSERT_MESSAGE)
                        .bind(m.id.0)
                        .bind(m.conversation_id.0)
                        .bind(m.sender_id.0)
                        .bind(m.sender_device_id.0)
                        .bind(m.client_message_id)
                        .bind(m.encrypted_content.as_slice())
                        .bind(m.content_hash.as_str())
                        .bind(m.message_type.as_str())
                        .bind(Json(&m.metadata))
                        .bind(m.expires_at.map(micros))
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| missing(e, "conversation"))?;
                    let claimed = sqlx::query(q::INSERT_IDEMPOTENCY)
                        .bind(m.sender_device_id.0)
                        .bind(m.client_message_id)
                        .bind(m.id.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| missing(e, "device"))?
                        .rows_affected();
                    if claimed == 0 {
                        // A concurrent batch (PostgreSQL) committed the same
                        // pair first: this copy goes, theirs is the answer.
                        sqlx::query(q::DELETE_MESSAGE_ROW)
                            .bind(m.id.0)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        let first = by_client_id(&mut tx, m.sender_device_id, m.client_message_id)
                            .await?
                            .ok_or(StoreError::Backend(sqlx::Error::RowNotFound))?;
                        out.push(Inserted::Duplicate(first));
                        continue;
                    }
                    sqlx::query(q::INSERT_DELIVERIES)
                        .bind(m.sender_device_id.0)
                        .bind(m.id.0)
                        .bind(now)
                        .bind(m.conversation_id.0)
                        .execute(&mut *tx)
                        .await?;
                    touched.insert(m.conversation_id.0);
                    out.push(Inserted::Created(row.try_into()?));
                }
                for conversation in touched {
                    sqlx::query(q::TOUCH_CONVERSATION)
                        .bind(conversation)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(out)
            }

            pub(crate) async fn message(
                s: &$store,
                id: MessageId,
            ) -> Result<Option<MessageRecord>> {
                let row: Option<MessageRow> = sqlx::query_as(q::MESSAGE)
                    .bind(id.0)
                    .fetch_optional(s.reader())
                    .await?;
                row.map(MessageRecord::try_from).transpose()
            }

            /// The page's ids come from `MESSAGE_HISTORY` (index only), the
            /// rows from one query bounded by the page's oldest and newest
            /// time (which prunes partitions on PostgreSQL). The history
            /// query's lower bound is the Unix epoch: messages may be kept
            /// indefinitely, so no month is out of reach. A first page starts
            /// a day after `now`, so that a message stamped by a server whose
            /// clock runs slightly ahead is not left out.
            pub(crate) async fn history(
                s: &$store,
                conversation: ConversationId,
                before: Option<(DateTime<Utc>, MessageId)>,
                limit: u32,
                now: DateTime<Utc>,
            ) -> Result<Vec<MessageRecord>> {
                let now = micros(now);
                let limit = page_size(limit);
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let (before_at, before_id) = before.map_or(
                    (now + Duration::days(1), Uuid::from_bytes([0xff; 16])),
                    |(at, id)| (micros(at), id.0),
                );
                let page: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(MESSAGE_HISTORY)
                    .bind(conversation.0)
                    .bind(before_at)
                    .bind(before_id)
                    .bind(DateTime::<Utc>::UNIX_EPOCH)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(s.reader())
                    .await?;
                let (Some(newest), Some(oldest)) = (page.first(), page.last()) else {
                    return Ok(Vec::new());
                };
                let sql = format!("{}{})", q::MESSAGES_OF_PAGE, placeholders(4, page.len()));
                let mut query = sqlx::query_as(&sql)
                    .bind(conversation.0)
                    .bind(oldest.1)
                    .bind(newest.1);
                for (id, _) in &page {
                    query = query.bind(*id);
                }
                let rows: Vec<MessageRow> = query.fetch_all(s.reader()).await?;
                let mut by_id: HashMap<Uuid, MessageRow> =
                    rows.into_iter().map(|r| (r.id, r)).collect();
                // A message deleted between the two queries is left out.
                page.iter()
                    .filter_map(|(id, _)| by_id.remove(id))
                    .map(MessageRecord::try_from)
                    .collect()
            }

            pub(crate) async fn edit_message(
                s: &$store,
                id: MessageId,
                sender: UserId,
                content: Vec<u8>,
                content_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<MessageRecord>> {
                let row: Option<MessageRow> = sqlx::query_as(q::EDIT_MESSAGE)
                    .bind(id.0)
                    .bind(sender.0)
                    .bind(content)
                    .bind(content_hash)
                    .bind(micros(now))
                    .fetch_optional(s.writer())
                    .await?;
                row.map(MessageRecord::try_from).transpose()
            }

            /// Deliveries first, then the message: the same order as an ack
            /// takes them, so the two never deadlock on PostgreSQL.
            pub(crate) async fn delete_message(
                s: &$store,
                id: MessageId,
                now: DateTime<Utc>,
            ) -> Result<Option<MessageRecord>> {
                let mut tx = s.begin_write().await?;
                sqlx::query(q::DELETE_MESSAGE_DELIVERIES)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                let row: Option<MessageRow> = sqlx::query_as(q::SOFT_DELETE_MESSAGE)
                    .bind(id.0)
                    .bind(micros(now))
                    .bind(Vec::<u8>::new())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                tx.commit().await?;
                Ok(Some(row.try_into()?))
            }

            /// Read-modify-write under the message's row lock (PostgreSQL)
            /// or the single writer (SQLite). Lists stay sorted and unique;
            /// an emoji nobody uses any more disappears. A deleted message
            /// takes no reactions (`None`).
            pub(crate) async fn set_reaction(
                s: &$store,
                id: MessageId,
                user: UserId,
                emoji: &str,
                add: bool,
            ) -> Result<Option<MessageRecord>> {
                let sql = match $store::BACKEND {
                    Backend::Postgres => q::MESSAGE_METADATA_PG,
                    Backend::Sqlite => q::MESSAGE_METADATA_SQLITE,
                };
                let mut tx = s.begin_write().await?;
                let stored: Option<Option<Json<MessageMetadata>>> = sqlx::query_scalar(sql)
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(stored) = stored else {
                    return Ok(None);
                };
                let mut metadata = stored.map(|m| m.0).unwrap_or_default();
                let users = metadata.reactions.entry(emoji.to_owned()).or_default();
                if add {
                    users.push(user);
                } else {
                    users.retain(|u| *u != user);
                }
                users.sort();
                users.dedup();
                if users.is_empty() {
                    metadata.reactions.remove(emoji);
                }
                let row: MessageRow = sqlx::query_as(q::SET_METADATA)
                    .bind(id.0)
                    .bind(Json(&metadata))
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(row.try_into()?))
            }
        }
    };
}

pub(crate) use impl_messages;
