//! Conversations: 1:1 get-or-create, a user's summaries, participants and
//! contacts (see `msg_impl`).

/// Expands `mod msg_conversations` for a backend's store.
macro_rules! impl_conversations {
    ($store:ident, $db:ty) => {
        mod msg_conversations {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;
            use zynk_proto::{ConversationId, ConversationKind, Role, UserId};

            use super::$store;
            use $crate::common::micros;
            use $crate::msg_queries as q;
            use $crate::msg_rows::{self, ConversationRow, ParticipantRow, SummaryRow, missing};
            use $crate::{
                ConversationRecord, ConversationSummary, ParticipantRecord, Result, StoreError,
            };

            /// Race-safe get-or-create: the pair table's key decides which of
            /// two concurrent creations wins; the loser rolls back and reads
            /// the winner's conversation (on PostgreSQL its insert waits for
            /// the winner to commit).
            pub(crate) async fn one_to_one(
                s: &$store,
                a: UserId,
                b: UserId,
                now: DateTime<Utc>,
            ) -> Result<ConversationRecord> {
                let now = micros(now);
                let (low, high) = if a.0 < b.0 { (a, b) } else { (b, a) };
                let exists: i64 = sqlx::query_scalar(q::USER_EXISTS)
                    .bind(b.0)
                    .fetch_one(s.reader())
                    .await?;
                if exists == 0 {
                    return Err(StoreError::Missing("user"));
                }
                let found: Option<ConversationRow> = sqlx::query_as(q::ONE_TO_ONE)
                    .bind(low.0)
                    .bind(high.0)
                    .fetch_optional(s.reader())
                    .await?;
                if let Some(row) = found {
                    return row.try_into();
                }
                let id = Uuid::new_v4();
                let mut tx = s.begin_write().await?;
                sqlx::query(q::INSERT_CONVERSATION)
                    .bind(id)
                    .bind(ConversationKind::OneToOne.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let inserted = sqlx::query(q::INSERT_ONE_TO_ONE)
                    .bind(low.0)
                    .bind(high.0)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| missing(e, "user"))?
                    .rows_affected();
                if inserted == 0 {
                    tx.rollback().await?;
                    let row: Option<ConversationRow> = sqlx::query_as(q::ONE_TO_ONE)
                        .bind(low.0)
                        .bind(high.0)
                        .fetch_optional(s.writer())
                        .await?;
                    return row
                        .ok_or(StoreError::Backend(sqlx::Error::RowNotFound))?
                        .try_into();
                }
                for user in [low, high] {
                    sqlx::query(q::INSERT_PARTICIPANT)
                        .bind(id)
                        .bind(user.0)
                        .bind(Role::Member.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| missing(e, "user"))?;
                }
                tx.commit().await?;
                Ok(ConversationRecord {
                    id: ConversationId(id),
                    kind: ConversationKind::OneToOne,
                    created_at: now,
                    updated_at: now,
                })
            }

            pub(crate) async fn conversations_of(
                s: &$store,
                user: UserId,
                now: DateTime<Utc>,
            ) -> Result<Vec<ConversationSummary>> {
                let rows: Vec<SummaryRow> = sqlx::query_as(q::CONVERSATIONS_OF)
                    .bind(user.0)
                    .bind(micros(now))
                    .fetch_all(s.reader())
                    .await?;
                msg_rows::all(rows)
            }

            pub(crate) async fn conversation_of(
                s: &$store,
                user: UserId,
                id: ConversationId,
                now: DateTime<Utc>,
            ) -> Result<Option<ConversationSummary>> {
                let row: Option<SummaryRow> = sqlx::query_as(q::CONVERSATION_OF)
                    .bind(user.0)
                    .bind(micros(now))
                    .bind(id.0)
                    .fetch_optional(s.reader())
                    .await?;
                row.map(ConversationSummary::try_from).transpose()
            }

            pub(crate) async fn participants(
                s: &$store,
                id: ConversationId,
            ) -> Result<Vec<ParticipantRecord>> {
                let rows: Vec<ParticipantRow> = sqlx::query_as(q::PARTICIPANTS)
                    .bind(id.0)
                    .fetch_all(s.reader())
                    .await?;
                msg_rows::all(rows)
            }

            pub(crate) async fn contacts(s: &$store, user: UserId) -> Result<Vec<UserId>> {
                let ids: Vec<Uuid> = sqlx::query_scalar(q::CONTACTS)
                    .bind(user.0)
                    .fetch_all(s.reader())
                    .await?;
                Ok(ids.into_iter().map(UserId).collect())
            }
        }
    };
}

pub(crate) use impl_conversations;
