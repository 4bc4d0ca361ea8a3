//! Message anchors, the writer's second step (after pending transactions, in
//! the same leased run): up to `ledger_anchor_batch` messages without a
//! proof, oldest first, are committed to (`zynk_ledger::message_commitment`
//! of id and *ciphertext* hash), batched in a Merkle tree stored under
//! `merkle:{root}`, and anchored by one `message_anchor` transaction in a
//! block of its own; then `message_anchors` and each message's leaf index and
//! sibling path (`message_merkle_proofs`) are recorded in one SQL transaction.
//!
//! Crash safety: the block is written first (atomically), the SQL rows
//! after. A crash between the two leaves the messages "unanchored" in SQL, so
//! the next run takes them again, oldest first: with no new messages in
//! between it builds the same batch, hence the same `message_anchor`
//! transaction (root, count and timestamps all derive from the messages),
//! finds it already in the log and only records it. If messages arrived (or
//! were deleted) meanwhile, the batch differs and gets a new anchor; the
//! orphaned one stays in the log, committing to the same ciphertexts, and is
//! simply never served. `message_anchors.merkle_root` is UNIQUE and a
//! message keeps its first proof, so SQL never records an anchor twice.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_ledger::{AnchorBatch, LedgerError, Transaction, TxHash, anchor_batch, hex};
use zynk_store::{AnchorRecord, MessageProofRecord, StoreError, UnanchoredMessage};

use super::Slot;
use crate::state::AppState;

/// One anchoring pass (the caller holds the writer lease).
pub async fn anchor_once(state: &AppState) {
    let messages = match state
        .store
        .unanchored_messages(state.config.ledger_anchor_batch)
        .await
    {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "ledger: cannot read unanchored messages");
            return;
        }
    };
    let Some(batch) = Batch::new(messages) else {
        return;
    };
    let tx = batch.transaction();
    let commitments = batch.commitments.clone();
    let now = Utc::now().timestamp_millis();
    let appended = state
        .ledger
        .with(move |slot| {
            slot.writer = true;
            append(slot, &tx, commitments, now)
        })
        .await;
    let (hash, block) = match appended {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "ledger: anchor not written");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "ledger: anchor not written");
            return;
        }
    };
    let (anchor, proofs) = batch.records(hash, block, Utc::now());
    match state.store.record_anchor(&anchor, &proofs).await {
        Ok(()) => tracing::info!(block, messages = proofs.len(), "ledger: messages anchored"),
        Err(StoreError::Conflict(_)) => {
            tracing::warn!(root = anchor.merkle_root, "ledger: anchor already recorded");
        }
        // Retried by the next run: the anchor is in the ledger.
        Err(e) => tracing::error!(error = %e, "ledger: cannot record the anchor"),
    }
}

/// The messages of one anchor and their tree.
struct Batch {
    messages: Vec<UnanchoredMessage>,
    commitments: Vec<[u8; 32]>,
    root: [u8; 32],
    paths: Vec<Vec<[u8; 32]>>,
}

impl Batch {
    /// `None` without messages. A malformed content hash (impossible under
    /// the schema's CHECK) drops that message from the batch with an error.
    fn new(messages: Vec<UnanchoredMessage>) -> Option<Self> {
        let messages: Vec<UnanchoredMessage> = messages
            .into_iter()
            .filter(|(id, _, h)| {
                let ok = hex::decode32(h).is_some();
                if !ok {
                    tracing::error!(message = %id.0, "ledger: malformed content hash, not anchored");
                }
                ok
            })
            .collect();
        if messages.is_empty() {
            return None;
        }
        let commitments: Vec<[u8; 32]> = messages
            .iter()
            .map(|(id, _, h)| {
                let content = hex::decode32(h).unwrap_or_default();
                zynk_ledger::message_commitment(id.0.as_bytes(), &content)
            })
            .collect();
        let (root, paths) = anchor_batch(&commitments);
        Some(Self {
            messages,
            commitments,
            root,
            paths,
        })
    }

    fn transaction(&self) -> Transaction {
        let times = self.messages.iter().map(|(_, t, _)| t.timestamp_millis());
        Transaction::MessageAnchor {
            merkle_root: self.root,
            message_count: u32::try_from(self.messages.len()).unwrap_or(u32::MAX),
            first_timestamp: times.clone().min().unwrap_or_default(),
            last_timestamp: times.max().unwrap_or_default(),
        }
    }

    fn records(
        &self,
        hash: TxHash,
        block: u64,
        now: DateTime<Utc>,
    ) -> (AnchorRecord, Vec<MessageProofRecord>) {
        let anchor = AnchorRecord {
            id: Uuid::new_v4(),
            merkle_root: hex::encode(&self.root),
            message_count: i32::try_from(self.messages.len()).unwrap_or(i32::MAX),
            transaction_hash: hash.to_string(),
            block_number: i64::try_from(block).unwrap_or(i64::MAX),
            anchored_at: now,
        };
        let proofs = (0_i64..)
            .zip(self.messages.iter().zip(&self.paths))
            .map(|(i, ((id, created, content), path))| MessageProofRecord {
                message_id: *id,
                message_created_at: *created,
                content_hash: content.clone(),
                leaf_index: i,
                proof: path.iter().map(|h| hex::encode(h)).collect(),
            })
            .collect();
        (anchor, proofs)
    }
}

/// On the ledger thread: appends `tx` with its batch in a new block, unless
/// a run that crashed before recording it already did. Returns the
/// transaction hash and its block number.
fn append(
    slot: &mut Slot,
    tx: &Transaction,
    commitments: Vec<[u8; 32]>,
    now: i64,
) -> Result<(TxHash, u64), LedgerError> {
    let ledger = slot.open()?;
    let bytes = tx
        .encode()
        .map_err(|source| LedgerError::Tx { index: 0, source })?;
    let hash = TxHash::of(&bytes);
    if let Some(rec) = ledger.transaction(&hash)? {
        return Ok((hash, rec.block));
    }
    let time = match ledger.head()? {
        Some(head) => now.max(head.time),
        None => now,
    };
    let block = ledger.append_block_with_anchors(
        std::slice::from_ref(tx),
        &[AnchorBatch::new(commitments)],
        time,
    )?;
    Ok((hash, block.number))
}
