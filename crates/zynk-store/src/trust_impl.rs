//! `TrustStore`, written once and expanded by each backend, with its SQL.

use chrono::{DateTime, Utc};

use crate::TrustHistoryRecord;

/// did. PostgreSQL appends `FOR UPDATE` (SQLite has one writer).
pub(crate) const SCORE: &str = "SELECT trust_score FROM blockchain_identities WHERE did = $1";

/// did: the latest history row's new score and time.
pub(crate) const LATEST: &str = "SELECT new_score, created_at FROM trust_score_history \
     WHERE did = $1 ORDER BY created_at DESC, id DESC LIMIT 1";

/// verifier, target, now.
pub(crate) const INSERT_VERIFY: &str = "INSERT INTO trust_verifications \
     (verifier, target, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// reporter, target, now.
pub(crate) const INSERT_REPORT: &str = "INSERT INTO trust_reports \
     (reporter, target, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// target.
pub(crate) const COUNT_REPORTS: &str =
    "SELECT COUNT(DISTINCT reporter) FROM trust_reports WHERE target = $1 AND used_at IS NULL";

/// target, now.
pub(crate) const USE_REPORTS: &str =
    "UPDATE trust_reports SET used_at = $2 WHERE target = $1 AND used_at IS NULL";

/// did, days, now.
pub(crate) const INSERT_MILESTONE: &str = "INSERT INTO trust_milestones (did, days, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// id, did, old, new, reason, tx hash, changed by, salt, now.
pub(crate) const INSERT_HISTORY: &str = "INSERT INTO trust_score_history \
     (id, did, old_score, new_score, change_reason, transaction_hash, changed_by, \
      commitment_salt, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// did.
pub(crate) const HISTORY: &str = "SELECT h.old_score, h.new_score, h.change_reason, \
     h.transaction_hash, t.status, t.block_number, h.created_at FROM trust_score_history h \
     LEFT JOIN blockchain_transactions t ON t.transaction_hash = h.transaction_hash \
     WHERE h.did = $1 ORDER BY h.created_at, h.id";

/// born by, days, limit.
pub(crate) const MILESTONE_DUE: &str = "SELECT bi.did FROM blockchain_identities bi \
     JOIN users u ON u.id = bi.user_id WHERE u.created_at <= $1 AND NOT EXISTS \
     (SELECT 1 FROM trust_milestones m WHERE m.did = bi.did AND m.days = $2) \
     ORDER BY bi.did LIMIT $3";

#[derive(sqlx::FromRow)]
pub(crate) struct LatestRow {
    pub(crate) new_score: i32,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    old_score: i32,
    new_score: i32,
    change_reason: String,
    transaction_hash: Option<String>,
    status: Option<String>,
    block_number: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<HistoryRow> for TrustHistoryRecord {
    fn from(r: HistoryRow) -> Self {
        Self {
            old_score: r.old_score,
            new_score: r.new_score,
            reason: r.change_reason,
            transaction_hash: r.transaction_hash,
            status: r.status,
            block_number: r.block_number,
            created_at: r.created_at,
        }
    }
}

/// `impl_trust!(StoreType, "lock suffix")` implements `TrustStore`.
macro_rules! impl_trust {
    ($store:ident, $lock:expr) => {
        mod trust_impl {
            use chrono::{DateTime, Utc};

            use super::$store;
            use $crate::common::micros;
            use $crate::ledger_impl::INSERT_TX;
            use $crate::trust_impl::{
                COUNT_REPORTS, HISTORY, HistoryRow, INSERT_HISTORY, INSERT_MILESTONE,
                INSERT_REPORT, INSERT_VERIFY, LATEST, LatestRow, MILESTONE_DUE, SCORE, USE_REPORTS,
            };
            use $crate::{
                Result, StoreError, TrustDedupe, TrustHistoryRecord, TrustQueued, TrustRequest,
                TrustStore, TrustTxBuilder,
            };

            #[async_trait::async_trait]
            impl TrustStore for $store {
                async fn queue_trust_update(
                    &self,
                    req: &TrustRequest<'_>,
                    build: TrustTxBuilder<'_>,
                    now: DateTime<Utc>,
                ) -> Result<Option<TrustQueued>> {
                    let mut now = micros(now);
                    let mut db = self.begin_write().await?;
                    let lock = format!("{SCORE}{}", $lock);
                    let mirrored: Option<i32> = sqlx::query_scalar(&lock)
                        .bind(req.did)
                        .fetch_optional(&mut *db)
                        .await?;
                    let Some(mirrored) = mirrored else {
                        return Err(StoreError::Missing("identity"));
                    };
                    match req.dedupe {
                        TrustDedupe::Verify { verifier, target } => {
                            let done = sqlx::query(INSERT_VERIFY)
                                .bind(verifier.0)
                                .bind(target.0)
                                .bind(now)
                                .execute(&mut *db)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::Conflict("verification"));
                            }
                        }
                        TrustDedupe::Report {
                            reporter,
                            target,
                            threshold,
                        } => {
                            let done = sqlx::query(INSERT_REPORT)
                                .bind(reporter.0)
                                .bind(target.0)
                                .bind(now)
                                .execute(&mut *db)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::Conflict("report"));
                            }
                            let count: i64 = sqlx::query_scalar(COUNT_REPORTS)
                                .bind(target.0)
                                .fetch_one(&mut *db)
                                .await?;
                            if count < i64::from(threshold) {
                                db.commit().await?;
                                return Ok(None);
                            }
                            sqlx::query(USE_REPORTS)
                                .bind(target.0)
                                .bind(now)
                                .execute(&mut *db)
                                .await?;
                        }
                        TrustDedupe::Milestone { days } => {
                            let done = sqlx::query(INSERT_MILESTONE)
                                .bind(req.did)
                                .bind(days)
                                .bind(now)
                                .execute(&mut *db)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Ok(None);
                            }
                        }
                    }
                    let latest: Option<LatestRow> = sqlx::query_as(LATEST)
                        .bind(req.did)
                        .fetch_optional(&mut *db)
                        .await?;
                    let old = match latest {
                        Some(l) => {
                            // Keeps the history strictly ordered per DID.
                            if l.created_at >= now {
                                now = l.created_at + chrono::Duration::microseconds(1);
                            }
                            l.new_score
                        }
                        None => mirrored,
                    }
                    .clamp(0, 100);
                    let new = old.saturating_add(req.delta).clamp(0, 100);
                    let (old8, new8) = (
                        u8::try_from(old).unwrap_or_default(),
                        u8::try_from(new).unwrap_or_default(),
                    );
                    let (tx, salt) = build(old8, new8)
                        .map_err(|e| StoreError::Backend(sqlx::Error::Protocol(e)))?;
                    sqlx::query(INSERT_TX)
                        .bind(tx.id)
                        .bind(&tx.hash)
                        .bind(tx.kind)
                        .bind(&tx.bytes)
                        .bind(tx.user_id.map(|u| u.0))
                        .bind(tx.gas_used)
                        .bind(now)
                        .execute(&mut *db)
                        .await?;
                    sqlx::query(INSERT_HISTORY)
                        .bind(uuid::Uuid::new_v4())
                        .bind(req.did)
                        .bind(old)
                        .bind(new)
                        .bind(req.reason)
                        .bind(&tx.hash)
                        .bind(req.changed_by.map(|u| u.0))
                        .bind(&salt)
                        .bind(now)
                        .execute(&mut *db)
                        .await?;
                    db.commit().await?;
                    Ok(Some(TrustQueued {
                        hash: tx.hash,
                        old_score: old,
                        new_score: new,
                    }))
                }

                async fn trust_history(&self, did: &str) -> Result<Vec<TrustHistoryRecord>> {
                    let rows: Vec<HistoryRow> = sqlx::query_as(HISTORY)
                        .bind(did)
                        .fetch_all(self.reader())
                        .await?;
                    Ok(rows.into_iter().map(TrustHistoryRecord::from).collect())
                }

                async fn milestone_due(
                    &self,
                    days: i32,
                    born_by: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<String>> {
                    Ok(sqlx::query_scalar(MILESTONE_DUE)
                        .bind(micros(born_by))
                        .bind(days)
                        .bind(i64::from(limit))
                        .fetch_all(self.writer())
                        .await?)
                }
            }
        }
    };
}

pub(crate) use impl_trust;
