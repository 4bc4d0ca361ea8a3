//! Calls (data model §2.5): `calls` and `call_participants`. `Store`
//! requires `CallStore`, so `Arc<dyn Store>` offers it.
//!
//! A call's participants are everyone it rang (the conversation's
//! participants when it was created; the initiator joined at once) and
//! anyone who joined later. `joined_at` is set when a user joins (the first
//! time); `left_at` when they leave, or decline without having joined.
//!
//! Every transition is one transaction on a locked call row (PostgreSQL:
//! `FOR UPDATE`; SQLite: the single writer), decided by `calls_impl::plan`
//! and written with `UPDATE … WHERE status = <the status read>`, so two
//! concurrent transitions never both apply to the same state: the second
//! sees the first's result and is refused (`Conflict("call_status")`) if it
//! no longer applies. At most one call per conversation is active
//! (initiated, ringing, in progress): creating calls locks the conversation.
//!
//! Its SQL is in `calls_queries.rs`, its methods in the `impl_calls!` macro
//! of `calls_impl.rs` that each backend expands.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zynk_proto::{CallId, CallStatus, CallType, ConversationId, UserId};

use crate::Result;

/// A new call (status `initiated`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCall {
    pub id: CallId,
    pub conversation_id: ConversationId,
    pub initiator_id: UserId,
    pub call_type: CallType,
}

/// A row of `call_participants`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallParticipantRecord {
    pub user_id: UserId,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
}

impl CallParticipantRecord {
    /// Joined and not (yet) left.
    pub fn present(&self) -> bool {
        self.joined_at.is_some() && self.left_at.is_none()
    }
}

/// A row of `calls` with its participants (initiator first, then by join time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub id: CallId,
    pub conversation_id: ConversationId,
    pub initiator_id: UserId,
    pub call_type: CallType,
    pub status: CallStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub participants: Vec<CallParticipantRecord>,
}

/// What a user does to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallAction {
    /// A callee's device rings: initiated → ringing (again: no change).
    Ring,
    /// A callee answers: initiated/ringing → in progress; they join.
    Accept,
    /// A callee declines before the call started; when every callee has,
    /// the call is declined.
    Decline,
    /// Enter a call in progress (again, after leaving).
    Join,
    /// Hang up / leave. Before anyone answered: the initiator cancels (→
    /// missed), a callee declines. In progress: the user leaves; the call
    /// ends when nobody is left, and in a 1:1 conversation at once.
    Leave,
}

/// The outcome of a `CallAction`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallChange {
    pub call: CallRecord,
    /// Whether anything was written (a repeated ring writes nothing).
    pub changed: bool,
}

#[async_trait]
pub trait CallStore: Send + Sync {
    /// Creates the call, its initiator (joined at `now`) and a participant
    /// row for every other participant of the conversation.
    /// `Conflict("active_call")` if the conversation has an active call;
    /// `Missing("conversation")` if there is no such conversation.
    async fn create_call(&self, call: NewCall, now: DateTime<Utc>) -> Result<CallRecord>;
    async fn call(&self, id: CallId) -> Result<Option<CallRecord>>;
    /// Applies `action` by `user` (see `CallAction`). `Missing("call")`;
    /// `Conflict("call_status")` when the action does not apply to the
    /// call's current state or to this user.
    async fn call_action(
        &self,
        id: CallId,
        user: UserId,
        action: CallAction,
        now: DateTime<Utc>,
    ) -> Result<CallChange>;
    /// Marks every initiated or ringing call created at or before
    /// `created_before` as missed; returns those calls (each exactly once,
    /// however many callers race).
    async fn expire_calls(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CallRecord>>;
    /// Calls of the conversations the user participates in, newest first,
    /// created before `before` (when given), at most `limit`.
    async fn calls_of(
        &self,
        user: UserId,
        before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<CallRecord>>;
}
