//! `GET /v1/messages/{id}/proof`: a self-contained, offline-verifiable proof
//! that a message's ciphertext hash was anchored in the ledger (see
//! `crate::ledger::anchors` and `zynk_ledger::verify_message_proof`).
//!
//! Participants of the message's conversation only (404 for anyone else and
//! for deleted messages, as for every message route); a visible message not
//! anchored yet is 409 `not-anchored` (retry after the next writer run).
//! Batch hashes (content hash, commitment, path, root) are lowercase hex, as
//! stored; log hashes (inclusion proof) base64, as in `/v1/ledger/*`.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use zynk_ledger::{TxHash, hex};
use zynk_proto::{MessageId, UserId};

use crate::error::{ApiError, ApiResult};
use crate::ops::conversations::require_participant;
use crate::ops::ledger::{BlockView, block_view, read};
use crate::state::AppState;

/// The `message_anchor` transaction of the batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnchorTxView {
    /// `0x` + hex.
    pub hash: String,
    /// The encoded transaction (what the log leaf hashes), base64.
    pub bytes_base64: String,
    /// Leaf index of the transaction in the log.
    pub leaf_index_in_log: u64,
}

/// The transaction's inclusion proof in the log of the block's size.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionView {
    pub index: u64,
    pub size: u64,
    /// Sibling hashes, base64.
    pub hashes: Vec<String>,
}

/// A message's anchor proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageProofView {
    pub message_id: MessageId,
    /// SHA-256 of the ciphertext that was anchored, hex.
    pub content_hash: String,
    /// `SHA-256("zynk/msg/v1" ‖ message id ‖ content hash)`, hex.
    pub commitment: String,
    /// Leaf index of the commitment in the batch tree.
    pub leaf_index: u64,
    pub batch_size: u64,
    /// Sibling hashes of the commitment in the batch tree, hex.
    pub batch_path: Vec<String>,
    /// Root of the batch tree, hex.
    pub merkle_root: String,
    pub transaction: AnchorTxView,
    pub inclusion_proof: InclusionView,
    /// The block holding the transaction, with its signed checkpoint.
    pub block: BlockView,
    /// The ledger's Ed25519 public key, base64.
    pub ledger_public_key: String,
}

/// The proof bundle of message `id`, for a participant.
pub async fn message_proof(
    state: &AppState,
    user: UserId,
    id: MessageId,
) -> ApiResult<MessageProofView> {
    let m = state
        .store
        .message(id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    require_participant(state, user, m.conversation_id)
        .await
        .map_err(|_| ApiError::not_found("message"))?;
    let expired = m.expires_at.is_some_and(|at| at <= Utc::now());
    if m.deleted_at.is_some() || expired {
        return Err(ApiError::not_found("message"));
    }
    let Some((proof, anchor)) = state.store.message_proof(id).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not-anchored",
            "the message is not anchored yet; retry after the next ledger run",
        ));
    };
    let corrupt = |what: &str| ApiError::internal(anyhow::anyhow!("anchor of {id:?}: bad {what}"));
    let content = hex::decode32(&proof.content_hash).ok_or_else(|| corrupt("content hash"))?;
    let hash = TxHash::parse(&anchor.transaction_hash).ok_or_else(|| corrupt("tx hash"))?;
    let leaf_index = u64::try_from(proof.leaf_index).map_err(|_| corrupt("leaf index"))?;
    let batch_size = u64::try_from(anchor.message_count).map_err(|_| corrupt("count"))?;
    let commitment = zynk_ledger::message_commitment(id.0.as_bytes(), &content);
    let (transaction, inclusion_proof, block) = read(state, move |l, origin| {
        let Some(rec) = l.transaction(&hash)? else {
            return Ok(Err(ApiError::internal(anyhow::anyhow!(
                "anchor transaction {hash} is not in the ledger"
            ))));
        };
        let Some(block) = l.block(rec.block)? else {
            return Ok(Err(ApiError::internal(anyhow::anyhow!(
                "block {} is not in the ledger",
                rec.block
            ))));
        };
        let hashes = l.inclusion_proof_at(rec.index, block.size)?;
        Ok(Ok((
            AnchorTxView {
                hash: rec.hash.to_string(),
                bytes_base64: STANDARD.encode(&rec.bytes),
                leaf_index_in_log: rec.index,
            },
            InclusionView {
                index: rec.index,
                size: block.size,
                hashes: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
            },
            block_view(&block, origin),
        )))
    })
    .await?;
    Ok(MessageProofView {
        message_id: id,
        content_hash: proof.content_hash,
        commitment: hex::encode(&commitment),
        leaf_index,
        batch_size,
        batch_path: proof.proof,
        merkle_root: anchor.merkle_root,
        transaction,
        inclusion_proof,
        block,
        ledger_public_key: STANDARD.encode(state.ledger.public_key().as_bytes()),
    })
}
