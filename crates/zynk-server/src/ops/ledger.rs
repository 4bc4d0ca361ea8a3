//! The ledger's use cases: queuing a registration, and the public reads
//! (key, blocks, transactions, proofs, DID documents) from the LevelDB log.
//!
//! Reads run on the ledger thread ([`crate::ledger::LedgerHandle`]). Hashes
//! and proofs are base64 (as checkpoint roots are), block hashes hex,
//! transaction hashes `0x` + hex.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use zynk_ledger::{Block, LedgerError, Transaction, TxHash, TxRecord};
use zynk_proto::UserId;
use zynk_store::NewLedgerTx;

use crate::error::{ApiError, ApiResult};
use crate::ledger::{Slot, did_of, ed25519_multibase};
use crate::state::AppState;
use crate::validate;

/// The pending `identity_registration` of a new user: `did:zynk:{id}` and
/// the identity key (no username).
pub fn registration(id: UserId, identity_key: &str, now: DateTime<Utc>) -> ApiResult<NewLedgerTx> {
    let key = validate::key32("identity_key", identity_key)?;
    let tx = Transaction::IdentityRegistration {
        did: did_of(id),
        user_identity_key: key,
        timestamp: now.timestamp_millis(),
    };
    let bytes = tx.encode().map_err(ApiError::internal)?;
    Ok(NewLedgerTx {
        id: uuid::Uuid::new_v4(),
        hash: TxHash::of(&bytes).to_string(),
        kind: tx.type_name(),
        gas_used: i64::try_from(Transaction::gas_used(bytes.len())).unwrap_or(i64::MAX),
        bytes,
        user_id: Some(id),
    })
}

/// `GET /v1/ledger/key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerKeyView {
    /// The key name, the checkpoints' origin.
    pub name: String,
    /// Ed25519 public key, base64.
    pub public_key: String,
}

/// A signed block.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    pub number: u64,
    /// SHA-256 of the block's canonical encoding, hex.
    pub hash: String,
    pub prev_hash: String,
    /// Log size after the block.
    pub size: u64,
    /// Log root after the block, base64.
    pub root: String,
    /// Unix milliseconds.
    pub time: i64,
    /// `0x` + hex, in log order.
    pub transactions: Vec<String>,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
}

/// A transaction in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxView {
    pub hash: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Leaf index in the log.
    pub index: u64,
    pub block: u64,
    /// The encoded transaction (what the leaf hashes), base64.
    pub bytes: String,
    pub gas_used: u64,
    pub did: Option<String>,
}

/// A Merkle proof (RFC 9162), hashes base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofView {
    pub proof: Vec<String>,
    /// Root of the tree the proof leads to (size `size` or `to`), base64.
    pub root: String,
}

fn b64(h: &[u8]) -> String {
    STANDARD.encode(h)
}

pub(crate) fn block_view(b: &Block, origin: &str) -> BlockView {
    BlockView {
        number: b.number,
        hash: zynk_ledger::hex::encode(&b.hash()),
        prev_hash: zynk_ledger::hex::encode(&b.prev_hash),
        size: b.size,
        root: b64(&b.root),
        time: b.time,
        transactions: b.tx_hashes.iter().map(ToString::to_string).collect(),
        checkpoint: b.checkpoint(origin),
    }
}

fn tx_view(r: &TxRecord) -> TxView {
    TxView {
        hash: r.hash.to_string(),
        kind: r.tx.type_name().into(),
        index: r.index,
        block: r.block,
        bytes: b64(&r.bytes),
        gas_used: r.gas_used(),
        did: r.tx.did().map(str::to_owned),
    }
}

/// Runs a read on the ledger thread; maps its failures to problems.
pub(crate) async fn read<R: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut zynk_ledger::Ledger, &str) -> Result<ApiResult<R>, LedgerError> + Send + 'static,
) -> ApiResult<R> {
    let origin = state.ledger.name().to_owned();
    let result = state
        .ledger
        .with(move |slot: &mut Slot| {
            let r = match slot.open() {
                Ok(ledger) => f(ledger, &origin),
                Err(e) => Err(e),
            };
            slot.release();
            r
        })
        .await
        .map_err(ApiError::internal)?;
    match result {
        Ok(r) => r,
        Err(LedgerError::Db(e)) if e.contains("lock") => Err(ApiError::unavailable(
            "the ledger is open in another instance (the writer); ask that one",
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

pub async fn key(state: &AppState) -> LedgerKeyView {
    LedgerKeyView {
        name: state.ledger.name().to_owned(),
        public_key: b64(state.ledger.public_key().as_bytes()),
    }
}

pub async fn head(state: &AppState) -> ApiResult<BlockView> {
    read(state, |l, origin| {
        Ok(l.head()?
            .map(|b| block_view(&b, origin))
            .ok_or_else(|| ApiError::not_found("block: the ledger is empty")))
    })
    .await
}

pub async fn block(state: &AppState, n: u64) -> ApiResult<BlockView> {
    read(state, move |l, origin| {
        Ok(l.block(n)?
            .map(|b| block_view(&b, origin))
            .ok_or_else(|| ApiError::not_found("block")))
    })
    .await
}

pub async fn transaction(state: &AppState, hash: &str) -> ApiResult<TxView> {
    let hash = TxHash::parse(hash)
        .ok_or_else(|| ApiError::invalid("hash", "must be 0x and 64 hex digits"))?;
    read(state, move |l, _| {
        Ok(l.transaction(&hash)?
            .map(|r| tx_view(&r))
            .ok_or_else(|| ApiError::not_found("transaction")))
    })
    .await
}

pub async fn inclusion(state: &AppState, index: u64, size: u64) -> ApiResult<ProofView> {
    read(state, move |l, _| {
        if index >= size || size > l.size() {
            return Ok(Err(ApiError::invalid(
                "index",
                format!("need index < size <= {}", l.size()),
            )));
        }
        let proof = l.inclusion_proof_at(index, size)?;
        Ok(Ok(ProofView {
            proof: proof.iter().map(|h| b64(h)).collect(),
            root: b64(&l.root_at(size)?),
        }))
    })
    .await
}

pub async fn consistency(state: &AppState, from: u64, to: u64) -> ApiResult<ProofView> {
    read(state, move |l, _| {
        if from > to || to > l.size() || to == 0 {
            return Ok(Err(ApiError::invalid(
                "from",
                format!("need from <= to, 0 < to <= {}", l.size()),
            )));
        }
        let proof = l.consistency_proof(from, to)?;
        Ok(Ok(ProofView {
            proof: proof.iter().map(|h| b64(h)).collect(),
            root: b64(&l.root_at(to)?),
        }))
    })
    .await
}

/// `GET /v1/did/{did}`: the DID document, its metadata and the proof of its
/// latest transaction in the block that sealed it.
pub async fn did_document(state: &AppState, did: String) -> ApiResult<Value> {
    if !did.starts_with("did:zynk:") || did.len() > 200 {
        return Err(ApiError::invalid("did", "must be did:zynk:…"));
    }
    read(state, move |l, origin| {
        let Some(identity) = l.identity(&did)? else {
            return Ok(Err(ApiError::not_found("DID")));
        };
        let Some(rec) = l.transaction(&identity.last_tx)? else {
            return Ok(Err(ApiError::not_found("DID transaction")));
        };
        let Some(block) = l.block(rec.block)? else {
            return Ok(Err(ApiError::not_found("DID block")));
        };
        let (index, proof) = l.inclusion_proof(&rec.hash, block.size)?;
        let updated = match &rec.tx {
            Transaction::IdentityRegistration { timestamp, .. }
            | Transaction::IdentityKeyRotation { timestamp, .. } => {
                DateTime::<Utc>::from_timestamp_millis(*timestamp)
            }
            _ => None,
        };
        let key_id = format!("{did}#key-1");
        Ok(Ok(json!({
            "didDocument": {
                "@context": [
                    "https://www.w3.org/ns/did/v1",
                    "https://w3id.org/security/suites/ed25519-2020/v1"
                ],
                "id": did,
                "verificationMethod": [{
                    "id": key_id,
                    "type": "Ed25519VerificationKey2020",
                    "controller": did,
                    "publicKeyMultibase": ed25519_multibase(&identity.key),
                }],
                "authentication": [key_id],
                "assertionMethod": [key_id],
            },
            "didDocumentMetadata": {
                "versionId": identity.version.to_string(),
                "updated": updated.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            },
            "ledgerProof": {
                "transaction": tx_view(&rec),
                "leaf_index": index,
                "tree_size": block.size,
                "inclusion_proof": proof.iter().map(|h| b64(h)).collect::<Vec<_>>(),
                "block": block_view(&block, origin),
            },
        })))
    })
    .await
}
