//! The ledger writer: every `ledger_interval_ms`, the instance holding the
//! `ledger-writer` lease (Redis: one across instances; in-process when
//! embedded) takes up to `ledger_max_block_txs` pending transactions, oldest
//! first, checks each against the ledger state, seals the valid ones into
//! ONE block, then marks them confirmed (and mirrors registrations, and the
//! `new_score` of trust score updates, into `blockchain_identities`) and the invalid ones failed with a reason.
//! Account age milestones due are queued (`ops::trust::milestones`).
//! Nothing pending: no block. Then, in the same run, new messages are
//! anchored (see [`super::anchors`]), in a block of their own.
//!
//! Crash safety: the block is written first (atomically, by `zynk-ledger`),
//! the SQL rows after. A transaction found already in the ledger is
//! confirmed from its stored record, so a crash between the two steps is
//! repaired by the next run.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use zynk_ledger::{Ledger, LedgerError, Transaction, TxHash};
use zynk_store::{ConfirmedTx, IdentityMirror, LedgerTxRecord, TrustMirror};

use super::Slot;
use crate::state::AppState;

/// The lease name.
pub const LEASE: &str = "ledger-writer";

/// What one run decided.
#[derive(Default)]
struct Outcome {
    confirmed: Vec<ConfirmedTx>,
    identities: Vec<IdentityMirror>,
    trust: Vec<TrustMirror>,
    failed: Vec<(String, String)>,
    block: Option<u64>,
}

/// One writer pass if this instance holds the lease; returns whether it did.
pub async fn run_once(state: &AppState) -> bool {
    let interval = Duration::from_millis(state.config.ledger_interval_ms);
    let ttl = (interval * 5).max(Duration::from_secs(5));
    let held = match state.realtime.try_lease(LEASE, &state.instance, ttl).await {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(error = %e, "ledger lease unavailable");
            false
        }
    };
    if !held {
        // Another instance writes: let go of the LevelDB so that it can open it.
        let _ = state
            .ledger
            .with(|slot| {
                slot.writer = false;
                slot.release();
            })
            .await;
        return false;
    }
    let pending = match state
        .store
        .pending_ledger_txs(state.config.ledger_max_block_txs)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "ledger: cannot read pending transactions");
            return true;
        }
    };
    let now = Utc::now().timestamp_millis();
    let outcome = state
        .ledger
        .with(move |slot| {
            slot.writer = true;
            seal(slot, &pending, now)
        })
        .await;
    let outcome = match outcome {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "ledger: block not written");
            return true;
        }
        Err(e) => {
            tracing::error!(error = %e, "ledger: block not written");
            return true;
        }
    };
    for (hash, reason) in &outcome.failed {
        tracing::warn!(tx = %hash, reason, "ledger: transaction failed");
        if let Err(e) = state.store.fail_ledger_tx(hash, reason).await {
            tracing::error!(error = %e, "ledger: cannot mark a transaction failed");
        }
    }
    if !outcome.confirmed.is_empty() {
        if let Err(e) = state
            .store
            .confirm_ledger_txs(
                &outcome.confirmed,
                &outcome.identities,
                &outcome.trust,
                Utc::now(),
            )
            .await
        {
            // Retried by the next run: the transactions are in the ledger.
            tracing::error!(error = %e, "ledger: cannot mark transactions confirmed");
        } else {
            tracing::info!(block = ?outcome.block, txs = outcome.confirmed.len(), "ledger: block sealed");
        }
    }
    if let Err(e) = crate::ops::trust::milestones(state, Utc::now()).await {
        tracing::error!(error = %e, "ledger: cannot queue trust milestones");
    }
    super::anchors::anchor_once(state).await;
    true
}

/// Runs the writer until dropped.
pub async fn run_forever(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_millis(state.config.ledger_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        run_once(&state).await;
    }
}

/// On the ledger thread: validates `pending`, appends one block of the valid ones.
fn seal(slot: &mut Slot, pending: &[LedgerTxRecord], now: i64) -> Result<Outcome, LedgerError> {
    let ledger = slot.open()?;
    let mut out = Outcome::default();
    let mut valid: Vec<(Transaction, &LedgerTxRecord)> = Vec::new();
    // Identity keys as they will be after the valid transactions so far.
    let mut keys: HashMap<String, [u8; 32]> = HashMap::new();
    for row in pending {
        let tx = match row.bytes.as_deref().map(Transaction::decode) {
            None => {
                out.failed
                    .push((row.hash.clone(), "no transaction bytes".into()));
                continue;
            }
            Some(Err(e)) => {
                out.failed
                    .push((row.hash.clone(), format!("undecodable: {e}")));
                continue;
            }
            Some(Ok(tx)) => tx,
        };
        let bytes = row.bytes.as_deref().unwrap_or_default();
        let hash = TxHash::of(bytes);
        if hash.to_string() != row.hash {
            out.failed
                .push((row.hash.clone(), "hash does not match the bytes".into()));
            continue;
        }
        if let Some(rec) = ledger.transaction(&hash)? {
            // Sealed by a run that crashed before updating SQL.
            let block = ledger
                .block(rec.block)?
                .map(|b| b.hash())
                .unwrap_or_default();
            confirm(&mut out, row, &tx, rec.block, &block);
            continue;
        }
        match check(ledger, &keys, &tx)? {
            Err(reason) => out.failed.push((row.hash.clone(), reason)),
            Ok(()) => {
                match &tx {
                    Transaction::IdentityRegistration {
                        did,
                        user_identity_key,
                        ..
                    } => {
                        keys.insert(did.clone(), *user_identity_key);
                    }
                    Transaction::IdentityKeyRotation { did, new_key, .. } => {
                        keys.insert(did.clone(), *new_key);
                    }
                    _ => {}
                }
                valid.push((tx, row));
            }
        }
    }
    if valid.is_empty() {
        return Ok(out);
    }
    let time = match ledger.head()? {
        Some(head) => now.max(head.time),
        None => now,
    };
    let txs: Vec<Transaction> = valid.iter().map(|(t, _)| t.clone()).collect();
    let block = ledger.append_block(&txs, time)?;
    let hash = block.hash();
    for (tx, row) in &valid {
        confirm(&mut out, row, tx, block.number, &hash);
    }
    out.block = Some(block.number);
    Ok(out)
}

/// Whether `tx` may be appended given the ledger and the batch so far.
fn check(
    ledger: &mut Ledger,
    batch: &HashMap<String, [u8; 32]>,
    tx: &Transaction,
) -> Result<Result<(), String>, LedgerError> {
    let Some(did) = tx.did() else {
        return Ok(Ok(()));
    };
    let current = match batch.get(did) {
        Some(k) => Some(*k),
        None => ledger.identity(did)?.map(|s| s.key),
    };
    Ok(match (tx, current) {
        (Transaction::IdentityRegistration { .. }, Some(_)) => {
            Err(format!("{did} is already registered"))
        }
        (Transaction::IdentityRegistration { .. }, None) => Ok(()),
        (_, None) => Err(format!("unknown DID {did}")),
        (Transaction::IdentityKeyRotation { old_key, .. }, Some(k)) if *old_key != k => {
            Err(format!("old_key is not the current key of {did}"))
        }
        _ => Ok(()),
    })
}

fn confirm(out: &mut Outcome, row: &LedgerTxRecord, tx: &Transaction, block: u64, hash: &[u8; 32]) {
    let block_number = i64::try_from(block).unwrap_or(i64::MAX);
    out.confirmed.push(ConfirmedTx {
        hash: row.hash.clone(),
        block_number,
        block_hash: zynk_ledger::hex::encode(hash),
    });
    let key = match tx {
        Transaction::IdentityRegistration {
            did,
            user_identity_key,
            ..
        } => Some((did, user_identity_key)),
        Transaction::IdentityKeyRotation { did, new_key, .. } => Some((did, new_key)),
        Transaction::TrustScoreUpdate { did, new_score, .. } => {
            out.trust.push(TrustMirror {
                did: did.clone(),
                new_score: i32::from(*new_score).clamp(0, 100),
            });
            None
        }
        _ => None,
    };
    if let (Some((did, key)), Some(user_id)) = (key, row.user_id) {
        out.identities.push(IdentityMirror {
            did: did.clone(),
            user_id,
            public_key: STANDARD.encode(key),
            hash: row.hash.clone(),
            block_number,
        });
    }
}
