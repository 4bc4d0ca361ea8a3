//! `LedgerStore`, written once and expanded by each backend (as `store_impl`
//! does for `Store`), with its SQL and row types.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zynk_proto::UserId;

use sqlx::types::Json;
use zynk_proto::MessageId;

use crate::{AnchorRecord, IdentityRecord, LedgerTxRecord, MessageProofRecord, StoreError};

/// id, hash, type, bytes, user id, gas, now.
pub(crate) const INSERT_TX: &str = "INSERT INTO blockchain_transactions \
     (id, transaction_hash, transaction_type, tx_bytes, user_id, gas_used, status, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)";

const TX_COLUMNS: &str = "SELECT id, transaction_hash, transaction_type, status, tx_bytes, \
     user_id, block_number, block_hash, failure_reason, created_at, confirmed_at \
     FROM blockchain_transactions ";

/// limit.
pub(crate) fn pending_txs() -> String {
    format!("{TX_COLUMNS} WHERE status = 'pending' ORDER BY created_at, id LIMIT $1")
}

/// hash.
pub(crate) fn tx_by_hash() -> String {
    format!("{TX_COLUMNS} WHERE transaction_hash = $1")
}

/// hash, block number, block hash, now.
pub(crate) const CONFIRM_TX: &str = "UPDATE blockchain_transactions \
     SET status = 'confirmed', block_number = $2, block_hash = $3, confirmed_at = $4 \
     WHERE transaction_hash = $1 AND status = 'pending'";

/// hash, reason.
pub(crate) const FAIL_TX: &str = "UPDATE blockchain_transactions \
     SET status = 'failed', failure_reason = $2 \
     WHERE transaction_hash = $1 AND status = 'pending'";

/// did, user id, public key, tx hash, block number, now.
pub(crate) const UPSERT_IDENTITY: &str = "INSERT INTO blockchain_identities \
     (did, user_id, public_key, trust_score, transaction_hash, block_number, \
      blockchain_registered_at, created_at, updated_at) \
     SELECT $1, $2, $3, 50, $4, $5, $6, $6, $6 WHERE EXISTS (SELECT 1 FROM users WHERE id = $2) \
     ON CONFLICT (did) DO UPDATE SET public_key = excluded.public_key, \
     transaction_hash = excluded.transaction_hash, block_number = excluded.block_number, \
     updated_at = excluded.updated_at";

/// did, score, now.
pub(crate) const SET_TRUST: &str = "UPDATE blockchain_identities \
     SET trust_score = $2, updated_at = $3 WHERE did = $1";

/// did.
pub(crate) const IDENTITY: &str = "SELECT did, user_id, public_key, trust_score, \
     transaction_hash, block_number, blockchain_registered_at \
     FROM blockchain_identities WHERE did = $1";

/// limit. Oldest first, so that a retry after a crash picks the same batch.
pub(crate) const UNANCHORED: &str = "SELECT m.id, m.created_at, m.content_hash FROM messages m \
     WHERE m.deleted_at IS NULL AND NOT EXISTS \
     (SELECT 1 FROM message_merkle_proofs p WHERE p.message_id = m.id) \
     ORDER BY m.created_at, m.id LIMIT $1";

/// id, merkle root, count, tx hash, block number, anchored at.
pub(crate) const INSERT_ANCHOR: &str = "INSERT INTO message_anchors \
     (id, merkle_root, message_count, transaction_hash, block_number, anchored_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// message id, created at, content hash, anchor id, proof, leaf index, now.
/// Skips a message purged meanwhile and keeps an existing proof.
pub(crate) const INSERT_PROOF: &str = "INSERT INTO message_merkle_proofs \
     (message_id, message_created_at, content_hash, merkle_root_id, proof, leaf_index, created_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM messages WHERE id = $1) \
     ON CONFLICT (message_id) DO NOTHING";

/// message id.
pub(crate) const MESSAGE_PROOF: &str = "SELECT p.message_id, p.message_created_at, \
     p.content_hash, p.leaf_index, p.proof, a.id, a.merkle_root, a.message_count, \
     a.transaction_hash, a.block_number, a.anchored_at \
     FROM message_merkle_proofs p JOIN message_anchors a ON a.id = p.merkle_root_id \
     WHERE p.message_id = $1";

/// A unique violation in `record_anchor` can only be the merkle root (or the
/// anchor id, equally a duplicate anchor).
pub(crate) fn anchor_conflict(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        return StoreError::Conflict("merkle_root");
    }
    StoreError::Backend(err)
}

#[derive(sqlx::FromRow)]
pub(crate) struct UnanchoredRow {
    pub(crate) id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) content_hash: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProofRow {
    message_id: Uuid,
    message_created_at: DateTime<Utc>,
    content_hash: String,
    leaf_index: i64,
    proof: Json<Vec<String>>,
    id: Uuid,
    merkle_root: String,
    message_count: i32,
    transaction_hash: Option<String>,
    block_number: Option<i64>,
    anchored_at: DateTime<Utc>,
}

impl From<ProofRow> for (MessageProofRecord, AnchorRecord) {
    fn from(r: ProofRow) -> Self {
        (
            MessageProofRecord {
                message_id: MessageId(r.message_id),
                message_created_at: r.message_created_at,
                content_hash: r.content_hash,
                leaf_index: r.leaf_index,
                proof: r.proof.0,
            },
            AnchorRecord {
                id: r.id,
                merkle_root: r.merkle_root,
                message_count: r.message_count,
                transaction_hash: r.transaction_hash.unwrap_or_default(),
                block_number: r.block_number.unwrap_or_default(),
                anchored_at: r.anchored_at,
            },
        )
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TxRow {
    id: Uuid,
    transaction_hash: String,
    transaction_type: String,
    status: String,
    tx_bytes: Option<Vec<u8>>,
    user_id: Option<Uuid>,
    block_number: Option<i64>,
    block_hash: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
}

impl From<TxRow> for LedgerTxRecord {
    fn from(r: TxRow) -> Self {
        Self {
            id: r.id,
            hash: r.transaction_hash,
            kind: r.transaction_type,
            status: r.status,
            bytes: r.tx_bytes,
            user_id: r.user_id.map(UserId),
            block_number: r.block_number,
            block_hash: r.block_hash,
            failure_reason: r.failure_reason,
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    did: String,
    user_id: Uuid,
    public_key: String,
    trust_score: i32,
    transaction_hash: Option<String>,
    block_number: Option<i64>,
    blockchain_registered_at: Option<DateTime<Utc>>,
}

impl From<IdentityRow> for IdentityRecord {
    fn from(r: IdentityRow) -> Self {
        Self {
            did: r.did,
            user_id: UserId(r.user_id),
            public_key: r.public_key,
            trust_score: r.trust_score,
            transaction_hash: r.transaction_hash,
            block_number: r.block_number,
            registered_at: r.blockchain_registered_at,
        }
    }
}

/// `impl_ledger!(StoreType, sqlx::Database)` implements `LedgerStore`.
macro_rules! impl_ledger {
    ($store:ident, $db:ty) => {
        mod ledger_impl {
            use chrono::{DateTime, Utc};

            use super::$store;
            use sqlx::types::Json;
            use $crate::common::micros;
            use $crate::ledger_impl::{
                CONFIRM_TX, FAIL_TX, IDENTITY, INSERT_ANCHOR, INSERT_PROOF, INSERT_TX, IdentityRow,
                MESSAGE_PROOF, ProofRow, SET_TRUST, TxRow, UNANCHORED, UPSERT_IDENTITY,
                UnanchoredRow, anchor_conflict, pending_txs, tx_by_hash,
            };
            use $crate::{
                AnchorRecord, ConfirmedTx, IdentityMirror, IdentityRecord, LedgerStore,
                LedgerTxRecord, MessageProofRecord, NewLedgerTx, Result, TrustMirror,
                UnanchoredMessage,
            };
            use zynk_proto::MessageId;

            #[async_trait::async_trait]
            impl LedgerStore for $store {
                async fn insert_ledger_tx(
                    &self,
                    tx: &NewLedgerTx,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(INSERT_TX)
                        .bind(tx.id)
                        .bind(&tx.hash)
                        .bind(tx.kind)
                        .bind(&tx.bytes)
                        .bind(tx.user_id.map(|u| u.0))
                        .bind(tx.gas_used)
                        .bind(micros(now))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn pending_ledger_txs(&self, limit: u32) -> Result<Vec<LedgerTxRecord>> {
                    let rows: Vec<TxRow> = sqlx::query_as(&pending_txs())
                        .bind(i64::from(limit))
                        .fetch_all(self.writer())
                        .await?;
                    Ok(rows.into_iter().map(LedgerTxRecord::from).collect())
                }

                async fn confirm_ledger_txs(
                    &self,
                    txs: &[ConfirmedTx],
                    identities: &[IdentityMirror],
                    trust: &[TrustMirror],
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    let now = micros(now);
                    let mut db = self.begin_write().await?;
                    for t in txs {
                        sqlx::query(CONFIRM_TX)
                            .bind(&t.hash)
                            .bind(t.block_number)
                            .bind(&t.block_hash)
                            .bind(now)
                            .execute(&mut *db)
                            .await?;
                    }
                    for i in identities {
                        sqlx::query(UPSERT_IDENTITY)
                            .bind(&i.did)
                            .bind(i.user_id.0)
                            .bind(&i.public_key)
                            .bind(&i.hash)
                            .bind(i.block_number)
                            .bind(now)
                            .execute(&mut *db)
                            .await?;
                    }
                    for t in trust {
                        sqlx::query(SET_TRUST)
                            .bind(&t.did)
                            .bind(t.new_score.clamp(0, 100))
                            .bind(now)
                            .execute(&mut *db)
                            .await?;
                    }
                    db.commit().await?;
                    Ok(())
                }

                async fn fail_ledger_tx(&self, hash: &str, reason: &str) -> Result<()> {
                    sqlx::query(FAIL_TX)
                        .bind(hash)
                        .bind(reason)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn ledger_tx(&self, hash: &str) -> Result<Option<LedgerTxRecord>> {
                    let row: Option<TxRow> = sqlx::query_as(&tx_by_hash())
                        .bind(hash)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(LedgerTxRecord::from))
                }

                async fn ledger_identity(&self, did: &str) -> Result<Option<IdentityRecord>> {
                    let row: Option<IdentityRow> = sqlx::query_as(IDENTITY)
                        .bind(did)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(IdentityRecord::from))
                }

                async fn unanchored_messages(&self, limit: u32) -> Result<Vec<UnanchoredMessage>> {
                    let rows: Vec<UnanchoredRow> = sqlx::query_as(UNANCHORED)
                        .bind(i64::from(limit))
                        .fetch_all(self.writer())
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| (MessageId(r.id), r.created_at, r.content_hash))
                        .collect())
                }

                async fn record_anchor(
                    &self,
                    anchor: &AnchorRecord,
                    proofs: &[MessageProofRecord],
                ) -> Result<()> {
                    let now = micros(anchor.anchored_at);
                    let mut db = self.begin_write().await?;
                    sqlx::query(INSERT_ANCHOR)
                        .bind(anchor.id)
                        .bind(&anchor.merkle_root)
                        .bind(anchor.message_count)
                        .bind(&anchor.transaction_hash)
                        .bind(anchor.block_number)
                        .bind(now)
                        .execute(&mut *db)
                        .await
                        .map_err(anchor_conflict)?;
                    for p in proofs {
                        sqlx::query(INSERT_PROOF)
                            .bind(p.message_id.0)
                            .bind(micros(p.message_created_at))
                            .bind(&p.content_hash)
                            .bind(anchor.id)
                            .bind(Json(&p.proof))
                            .bind(p.leaf_index)
                            .bind(now)
                            .execute(&mut *db)
                            .await?;
                    }
                    db.commit().await?;
                    Ok(())
                }

                async fn message_proof(
                    &self,
                    message_id: MessageId,
                ) -> Result<Option<(MessageProofRecord, AnchorRecord)>> {
                    let row: Option<ProofRow> = sqlx::query_as(MESSAGE_PROOF)
                        .bind(message_id.0)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(Into::into))
                }
            }
        }
    };
}

pub(crate) use impl_ledger;
