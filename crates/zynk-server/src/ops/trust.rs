//! Trust scores: community verifications, spam reports and account age
//! milestones, each queued as a `trust_score_update` (sealed by the ledger
//! writer, which mirrors the new score), and the public trust view.
//!
//! A transaction names the DID, the scores and the reason only: who caused
//! it is bound by `commitment` = SHA-256(changed_by ‖ 16-byte salt), the salt
//! kept in `trust_score_history` so that the operator can open it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use zynk_ledger::{Transaction, TrustReason, TxHash};
use zynk_proto::UserId;
use zynk_store::{NewLedgerTx, StoreError, TrustDedupe, TrustQueued, TrustRequest};

use crate::error::{ApiError, ApiResult};
use crate::ledger::did_of;
use crate::state::AppState;

/// Account ages (days) that earn a milestone.
pub const MILESTONES: [i32; 3] = [30, 90, 365];

/// `202` of verify and report.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustQueuedView {
    /// Whether a `trust_score_update` was queued (a report below the
    /// threshold queues none).
    pub queued: bool,
    /// Its hash, `0x` + hex.
    pub transaction_hash: Option<String>,
}

/// A score change.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustChangeView {
    pub old_score: i32,
    pub new_score: i32,
    /// `verified_by_community`, `spam_report` or `account_age_milestone`.
    pub reason: String,
    pub transaction_hash: Option<String>,
    /// `pending`, `confirmed` or `failed`.
    pub status: Option<String>,
    pub block_number: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// The inclusion proof of a confirmed update at the current head.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustProofView {
    pub transaction_hash: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Sibling hashes, base64.
    pub inclusion_proof: Vec<String>,
    /// Root at `tree_size`, base64.
    pub root: String,
}

/// `GET /v1/users/{id}/trust`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustView {
    pub did: String,
    /// The mirrored (sealed) score; 50 until the identity is registered.
    pub score: i32,
    pub history: Vec<TrustChangeView>,
    pub proofs: Vec<TrustProofView>,
}

fn reason_name(r: TrustReason) -> &'static str {
    match r {
        TrustReason::VerifiedByCommunity => "verified_by_community",
        TrustReason::SpamReport => "spam_report",
        TrustReason::AccountAgeMilestone => "account_age_milestone",
    }
}

/// The pending transaction for `(old, new)` and its commitment's salt.
fn build(
    did: &str,
    reason: TrustReason,
    changed_by: Option<UserId>,
    old: u8,
    new: u8,
    now: DateTime<Utc>,
) -> Result<(NewLedgerTx, Vec<u8>), String> {
    let salt: [u8; 16] = rand::random();
    let mut h = Sha256::new();
    h.update(changed_by.map(|u| *u.0.as_bytes()).unwrap_or_default());
    h.update(salt);
    let tx = Transaction::TrustScoreUpdate {
        did: did.to_owned(),
        old_score: old,
        new_score: new,
        reason,
        commitment: h.finalize().into(),
        timestamp: now.timestamp_millis(),
    };
    let bytes = tx.encode().map_err(|e| e.to_string())?;
    Ok((
        NewLedgerTx {
            id: uuid::Uuid::new_v4(),
            hash: TxHash::of(&bytes).to_string(),
            kind: tx.type_name(),
            gas_used: i64::try_from(Transaction::gas_used(bytes.len())).unwrap_or(i64::MAX),
            bytes,
            user_id: None,
        },
        salt.to_vec(),
    ))
}

/// Queues one update of `did` (see `TrustStore::queue_trust_update`).
pub async fn queue(
    state: &AppState,
    did: &str,
    reason: TrustReason,
    changed_by: Option<UserId>,
    delta: i32,
    dedupe: TrustDedupe,
    now: DateTime<Utc>,
) -> zynk_store::Result<Option<TrustQueued>> {
    let owned = did.to_owned();
    let builder = move |old: u8, new: u8| build(&owned, reason, changed_by, old, new, now);
    let req = TrustRequest {
        did,
        reason: reason_name(reason),
        changed_by,
        delta,
        dedupe,
    };
    state.store.queue_trust_update(&req, &builder, now).await
}

fn points(p: u32) -> i32 {
    i32::try_from(p).unwrap_or(i32::MAX)
}

fn queued_view(q: Option<TrustQueued>) -> TrustQueuedView {
    TrustQueuedView {
        queued: q.is_some(),
        transaction_hash: q.map(|q| q.hash),
    }
}

fn map_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(what) => {
            ApiError::conflict("conflict", format!("{what}: already done for this user"))
        }
        StoreError::Missing(_) => ApiError::conflict(
            "not-registered",
            "the user's identity is not on the ledger yet; retry shortly",
        ),
        other => other.into(),
    }
}

async fn target_exists(state: &AppState, actor: UserId, target: UserId) -> ApiResult<()> {
    if actor == target {
        return Err(ApiError::invalid("id", "cannot be yourself"));
    }
    match state.store.user_by_id(target).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("user")),
    }
}

async fn score(state: &AppState, did: &str) -> ApiResult<i32> {
    Ok(state
        .store
        .ledger_identity(did)
        .await?
        .map_or(50, |i| i.trust_score))
}

/// `POST /v1/users/{id}/verify`.
pub async fn verify(state: &AppState, actor: UserId, target: UserId) -> ApiResult<TrustQueuedView> {
    target_exists(state, actor, target).await?;
    let own = score(state, &did_of(actor)).await?;
    if own < points(state.config.trust_verify_min_score) {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "a trust score of {} is needed to verify",
                state.config.trust_verify_min_score
            ),
        ));
    }
    let dedupe = TrustDedupe::Verify {
        verifier: actor,
        target,
    };
    let q = queue(
        state,
        &did_of(target),
        TrustReason::VerifiedByCommunity,
        Some(actor),
        points(state.config.trust_verify_points),
        dedupe,
        Utc::now(),
    )
    .await
    .map_err(map_err)?;
    Ok(queued_view(q))
}

/// `POST /v1/users/{id}/report`.
pub async fn report(state: &AppState, actor: UserId, target: UserId) -> ApiResult<TrustQueuedView> {
    target_exists(state, actor, target).await?;
    let dedupe = TrustDedupe::Report {
        reporter: actor,
        target,
        threshold: state.config.trust_report_threshold,
    };
    let q = queue(
        state,
        &did_of(target),
        TrustReason::SpamReport,
        Some(actor),
        -points(state.config.trust_report_points),
        dedupe,
        Utc::now(),
    )
    .await
    .map_err(map_err)?;
    Ok(queued_view(q))
}

/// Queues the account age milestones due at `now` (30, 90, 365 days), each
/// once per DID. Returns how many were queued. Run by the ledger writer.
pub async fn milestones(state: &AppState, now: DateTime<Utc>) -> zynk_store::Result<usize> {
    let mut n = 0;
    for days in MILESTONES {
        let born_by = now - chrono::Duration::days(i64::from(days));
        let due = state.store.milestone_due(days, born_by, 1000).await?;
        for did in due {
            let q = queue(
                state,
                &did,
                TrustReason::AccountAgeMilestone,
                None,
                points(state.config.trust_milestone_points),
                TrustDedupe::Milestone { days },
                now,
            )
            .await?;
            n += usize::from(q.is_some());
        }
    }
    Ok(n)
}

/// `GET /v1/users/{id}/trust`.
pub async fn view(state: &AppState, target: UserId) -> ApiResult<TrustView> {
    if state.store.user_by_id(target).await?.is_none() {
        return Err(ApiError::not_found("user"));
    }
    let did = did_of(target);
    let score = score(state, &did).await?;
    let history = state.store.trust_history(&did).await?;
    let confirmed: Vec<TxHash> = history
        .iter()
        .filter(|h| h.status.as_deref() == Some("confirmed"))
        .filter_map(|h| h.transaction_hash.as_deref().and_then(TxHash::parse))
        .collect();
    let proofs = if confirmed.is_empty() {
        Vec::new()
    } else {
        super::ledger::read(state, move |l, _| {
            let size = l.size();
            let mut out = Vec::new();
            for hash in confirmed {
                if l.transaction(&hash)?.is_none() {
                    continue;
                }
                let (index, proof) = l.inclusion_proof(&hash, size)?;
                out.push(TrustProofView {
                    transaction_hash: hash.to_string(),
                    leaf_index: index,
                    tree_size: size,
                    inclusion_proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
                    root: STANDARD.encode(l.root_at(size)?),
                });
            }
            Ok(Ok(out))
        })
        .await?
    };
    Ok(TrustView {
        did,
        score,
        history: history
            .into_iter()
            .map(|h| TrustChangeView {
                old_score: h.old_score,
                new_score: h.new_score,
                reason: h.reason,
                transaction_hash: h.transaction_hash,
                status: h.status,
                block_number: h.block_number,
                created_at: h.created_at,
            })
            .collect(),
        proofs,
    })
}
