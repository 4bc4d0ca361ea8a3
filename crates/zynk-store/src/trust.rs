//! Trust scores (data model §3): community verifications, spam reports and
//! account age milestones, each queued as a `trust_score_update`
//! transaction plus a `trust_score_history` row, in one SQL transaction.
//!
//! The store does not encode ledger transactions: the caller passes a
//! [`TrustTxBuilder`] that turns `(old, new)` into the pending row and the
//! salt of its commitment. Updates of one DID are serialised (PostgreSQL
//! locks its `blockchain_identities` row; SQLite has a single writer).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zynk_proto::UserId;

use crate::{NewLedgerTx, Result};

/// Builds the pending transaction for a score change `(old, new)`; returns
/// it and the commitment's salt (kept in SQL so the operator can open it).
pub type TrustTxBuilder<'a> =
    &'a (dyn Fn(u8, u8) -> std::result::Result<(NewLedgerTx, Vec<u8>), String> + Send + Sync);

/// What makes an update happen at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustDedupe {
    /// One per pair, else `Conflict("verification")`.
    Verify { verifier: UserId, target: UserId },
    /// One per pair, else `Conflict("report")`. The update is queued only
    /// when `threshold` distinct unused reports exist; they are then used.
    Report {
        reporter: UserId,
        target: UserId,
        threshold: u32,
    },
    /// One per DID and mark; already granted: nothing is queued.
    Milestone { days: i32 },
}

/// An update to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRequest<'a> {
    pub did: &'a str,
    /// `verified_by_community`, `spam_report` or `account_age_milestone`.
    pub reason: &'static str,
    /// The user who caused it (`None`: the system).
    pub changed_by: Option<UserId>,
    pub delta: i32,
    pub dedupe: TrustDedupe,
}

/// A queued update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustQueued {
    pub hash: String,
    pub old_score: i32,
    pub new_score: i32,
}

/// A `trust_score_history` row with its transaction's state (no `changed_by`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustHistoryRecord {
    pub old_score: i32,
    pub new_score: i32,
    pub reason: String,
    pub transaction_hash: Option<String>,
    /// `pending`, `confirmed` or `failed`.
    pub status: Option<String>,
    pub block_number: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait TrustStore: Send + Sync {
    /// Dedupes, reads the current score (latest history row, else the
    /// mirror), clamps `old + delta` to 0–100 and inserts the pending
    /// transaction and the history row, in one transaction. `Ok(None)`:
    /// nothing queued (report below threshold, milestone already granted).
    /// `Missing("identity")`: the DID is not registered on the ledger yet.
    async fn queue_trust_update(
        &self,
        req: &TrustRequest<'_>,
        build: TrustTxBuilder<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<TrustQueued>>;
    /// A DID's history, oldest first.
    async fn trust_history(&self, did: &str) -> Result<Vec<TrustHistoryRecord>>;
    /// Up to `limit` registered DIDs of users created at or before `born_by`
    /// without the `days` milestone.
    async fn milestone_due(
        &self,
        days: i32,
        born_by: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>>;
}
