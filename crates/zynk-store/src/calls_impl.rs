//! `CallStore`, written once and expanded by each backend (as `store_impl`
//! does for `Store`), its row types, and `plan`: the transition rules, as a
//! pure function of the call read under lock.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::{CallId, CallStatus, CallType, ConversationId, UserId};

use crate::{CallAction, CallParticipantRecord, CallRecord, StoreError};

/// Parses a stored enumeration, or fails as a decode error naming the column.
fn parse<T>(text: &str, parse: fn(&str) -> Option<T>, column: &str) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| {
        StoreError::Backend(sqlx::Error::Decode(
            format!("unknown value {text:?} in {column}").into(),
        ))
    })
}

#[derive(sqlx::FromRow)]
pub(crate) struct CallRow {
    id: Uuid,
    conversation_id: Uuid,
    initiator_id: Uuid,
    call_type: String,
    status: String,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    duration_seconds: Option<i32>,
    created_at: DateTime<Utc>,
}

impl CallRow {
    /// The record, with the participants among `rows` that belong to it.
    pub(crate) fn into_record(self, rows: &[CallParticipantRow]) -> Result<CallRecord, StoreError> {
        let initiator = UserId(self.initiator_id);
        let mut participants: Vec<CallParticipantRecord> = rows
            .iter()
            .filter(|p| p.call_id == self.id)
            .map(|p| CallParticipantRecord {
                user_id: UserId(p.user_id),
                joined_at: p.joined_at,
                left_at: p.left_at,
            })
            .collect();
        participants.sort_by_key(|p| {
            (
                p.user_id != initiator,
                p.joined_at.is_none(),
                p.joined_at,
                p.user_id,
            )
        });
        Ok(CallRecord {
            id: CallId(self.id),
            conversation_id: ConversationId(self.conversation_id),
            initiator_id: initiator,
            call_type: parse(&self.call_type, CallType::parse, "calls.call_type")?,
            status: parse(&self.status, CallStatus::parse, "calls.status")?,
            started_at: self.started_at,
            ended_at: self.ended_at,
            duration_seconds: self.duration_seconds.map(|d| u32::try_from(d).unwrap_or(0)),
            created_at: self.created_at,
            participants,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CallParticipantRow {
    call_id: Uuid,
    user_id: Uuid,
    joined_at: Option<DateTime<Utc>>,
    left_at: Option<DateTime<Utc>>,
}

/// A call's new status, `started_at`, `ended_at` and `duration_seconds`.
pub(crate) type CallState = (
    CallStatus,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<u32>,
);

/// What a transition writes: the call's new state and changed participant rows.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// `None`: nothing to write (a repeated ring).
    pub(crate) call: Option<CallState>,
    pub(crate) participants: Vec<CallParticipantRecord>,
}

fn refused() -> StoreError {
    StoreError::Conflict("call_status")
}

/// The transition `action` by `user` makes of `call` at `now`, or
/// `Conflict("call_status")`. `one_to_one`: the call's conversation is 1:1.
pub(crate) fn plan(
    call: &CallRecord,
    user: UserId,
    action: CallAction,
    one_to_one: bool,
    now: DateTime<Utc>,
) -> Result<Plan, StoreError> {
    use CallStatus::*;
    let initiator = user == call.initiator_id;
    let row = call.participants.iter().find(|p| p.user_id == user);
    let unanswered = matches!(call.status, Initiated | Ringing);
    let mut plan = Plan::default();
    let set = |p: &mut Plan, joined_at, left_at| {
        p.participants.push(CallParticipantRecord {
            user_id: user,
            joined_at,
            left_at,
        });
    };
    let end = |status, started: Option<DateTime<Utc>>| {
        let duration = started.map_or(0, |s| (now - s).num_seconds().max(0));
        (
            status,
            started,
            Some(now),
            Some(u32::try_from(duration).unwrap_or(u32::MAX)),
        )
    };
    match action {
        CallAction::Ring if initiator => return Err(refused()),
        CallAction::Ring => match call.status {
            Initiated => plan.call = Some((Ringing, None, None, None)),
            Ringing => {}
            _ => return Err(refused()),
        },
        CallAction::Accept if initiator || !unanswered => return Err(refused()),
        CallAction::Accept => {
            plan.call = Some((InProgress, Some(now), None, None));
            set(
                &mut plan,
                Some(row.and_then(|r| r.joined_at).unwrap_or(now)),
                None,
            );
        }
        CallAction::Decline | CallAction::Leave if unanswered && !initiator => {
            // A callee declines: once, and only before joining.
            if !row.is_some_and(|r| r.joined_at.is_none() && r.left_at.is_none()) {
                return Err(refused());
            }
            set(&mut plan, None, Some(now));
            let waiting = call.participants.iter().any(|p| {
                p.user_id != call.initiator_id && p.user_id != user && p.left_at.is_none()
            });
            if !waiting {
                plan.call = Some(end(Declined, None));
            }
        }
        CallAction::Decline => return Err(refused()),
        CallAction::Leave if unanswered => {
            // The initiator gives up before anyone answered: missed.
            plan.call = Some(end(Missed, None));
            set(&mut plan, row.and_then(|r| r.joined_at), Some(now));
        }
        CallAction::Leave => {
            if call.status != InProgress || !row.is_some_and(CallParticipantRecord::present) {
                return Err(refused());
            }
            set(&mut plan, row.and_then(|r| r.joined_at), Some(now));
            let others = call
                .participants
                .iter()
                .any(|p| p.user_id != user && p.present());
            if one_to_one || !others {
                plan.call = Some(end(Ended, call.started_at));
            }
        }
        CallAction::Join => {
            if call.status != InProgress || row.is_some_and(CallParticipantRecord::present) {
                return Err(refused());
            }
            set(
                &mut plan,
                Some(row.and_then(|r| r.joined_at).unwrap_or(now)),
                None,
            );
        }
    }
    Ok(plan)
}

/// `impl_calls!(StoreType, sqlx::Database)` implements `CallStore`.
macro_rules! impl_calls {
    ($store:ident, $db:ty) => {
        mod calls_impl {
            use chrono::{DateTime, Utc};
            use zynk_proto::{CallId, ConversationKind, UserId};

            use super::$store;
            use $crate::calls_impl::{CallParticipantRow, CallRow, plan};
            use $crate::calls_queries as q;
            use $crate::common::micros;
            use $crate::{
                Backend, CallAction, CallChange, CallRecord, CallStore, NewCall, Result, StoreError,
            };

            type Tx = sqlx::Transaction<'static, $db>;

            /// The call and its participants, read inside `tx`.
            async fn load(tx: &mut Tx, id: CallId, lock: bool) -> Result<Option<CallRecord>> {
                let sql = if lock && $store::BACKEND == Backend::Postgres {
                    q::LOCK_CALL_PG
                } else {
                    q::CALL
                };
                let row: Option<CallRow> = sqlx::query_as(sql)
                    .bind(id.0)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let people: Vec<CallParticipantRow> = sqlx::query_as(q::PARTICIPANTS)
                    .bind(id.0)
                    .fetch_all(&mut **tx)
                    .await?;
                row.into_record(&people).map(Some)
            }

            async fn loaded(tx: &mut Tx, id: CallId) -> Result<CallRecord> {
                load(tx, id, false)
                    .await?
                    .ok_or(StoreError::Missing("call"))
            }

            #[async_trait::async_trait]
            impl CallStore for $store {
                async fn create_call(
                    &self,
                    call: NewCall,
                    now: DateTime<Utc>,
                ) -> Result<CallRecord> {
                    let now = micros(now);
                    let lock = if $store::BACKEND == Backend::Postgres {
                        q::LOCK_CONVERSATION_PG
                    } else {
                        q::LOCK_CONVERSATION_SQLITE
                    };
                    let mut tx = self.begin_write().await?;
                    let kind: Option<String> = sqlx::query_scalar(lock)
                        .bind(call.conversation_id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if kind.is_none() {
                        return Err(StoreError::Missing("conversation"));
                    }
                    let active: i64 = sqlx::query_scalar(q::ACTIVE_CALLS)
                        .bind(call.conversation_id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    if active > 0 {
                        return Err(StoreError::Conflict("active_call"));
                    }
                    sqlx::query(q::INSERT_CALL)
                        .bind(call.id.0)
                        .bind(call.conversation_id.0)
                        .bind(call.initiator_id.0)
                        .bind(call.call_type.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::msg_rows::missing(e, "user"))?;
                    sqlx::query(q::INSERT_CALLEES)
                        .bind(call.id.0)
                        .bind(call.conversation_id.0)
                        .bind(call.initiator_id.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    let record = loaded(&mut tx, call.id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn call(&self, id: CallId) -> Result<Option<CallRecord>> {
                    let mut tx = self.reader().begin().await?;
                    let record = load(&mut tx, id, false).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn call_action(
                    &self,
                    id: CallId,
                    user: UserId,
                    action: CallAction,
                    now: DateTime<Utc>,
                ) -> Result<CallChange> {
                    let now = micros(now);
                    let mut tx = self.begin_write().await?;
                    let call = load(&mut tx, id, true)
                        .await?
                        .ok_or(StoreError::Missing("call"))?;
                    let kind: String = sqlx::query_scalar(q::CALL_CONVERSATION_TYPE)
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    let one_to_one = kind == ConversationKind::OneToOne.as_str();
                    let plan = plan(&call, user, action, one_to_one, now)?;
                    let changed = plan.call.is_some() || !plan.participants.is_empty();
                    if let Some((status, started, ended, duration)) = plan.call {
                        let updated: Option<uuid::Uuid> = sqlx::query_scalar(q::UPDATE_CALL)
                            .bind(id.0)
                            .bind(call.status.as_str())
                            .bind(status.as_str())
                            .bind(started)
                            .bind(ended)
                            .bind(duration.map(|d| i32::try_from(d).unwrap_or(i32::MAX)))
                            .fetch_optional(&mut *tx)
                            .await?;
                        if updated.is_none() {
                            return Err(StoreError::Conflict("call_status"));
                        }
                    }
                    for p in &plan.participants {
                        sqlx::query(q::UPSERT_PARTICIPANT)
                            .bind(id.0)
                            .bind(p.user_id.0)
                            .bind(p.joined_at)
                            .bind(p.left_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| $crate::msg_rows::missing(e, "user"))?;
                    }
                    if plan.call.is_some_and(|(s, ..)| !s.is_active()) {
                        sqlx::query(q::LEAVE_ALL)
                            .bind(id.0)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let call = loaded(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(CallChange { call, changed })
                }

                async fn expire_calls(
                    &self,
                    created_before: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> Result<Vec<CallRecord>> {
                    let now = micros(now);
                    let mut tx = self.begin_write().await?;
                    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(q::EXPIRE_CALLS)
                        .bind(micros(created_before))
                        .bind(now)
                        .fetch_all(&mut *tx)
                        .await?;
                    let mut out = Vec::with_capacity(ids.len());
                    for id in ids {
                        sqlx::query(q::LEAVE_ALL)
                            .bind(id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        out.push(loaded(&mut tx, CallId(id)).await?);
                    }
                    tx.commit().await?;
                    Ok(out)
                }

                async fn calls_of(
                    &self,
                    user: UserId,
                    before: Option<DateTime<Utc>>,
                    limit: u32,
                ) -> Result<Vec<CallRecord>> {
                    let limit = i64::from(limit);
                    let mut tx = self.reader().begin().await?;
                    let rows: Vec<CallRow> = sqlx::query_as(q::HISTORY)
                        .bind(user.0)
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                    let people: Vec<CallParticipantRow> = sqlx::query_as(q::HISTORY_PARTICIPANTS)
                        .bind(user.0)
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows.into_iter().map(|r| r.into_record(&people)).collect()
                }
            }
        }
    };
}

pub(crate) use impl_calls;
