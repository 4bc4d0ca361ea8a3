//! `/v1/ledger/*` and `/v1/did/{did}`: the public, unauthenticated reads of
//! the ledger (see `ops::ledger`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use zynk_proto::{MessageId, Problem};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, Auth};
use crate::ops;
use crate::ops::anchors::MessageProofView;
use crate::ops::ledger::{BlockView, LedgerKeyView, ProofView, TxView};
use crate::state::AppState;

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::bad_request("bad-query", e.body_text()))
}

/// The ledger public key (Ed25519) and its name, the checkpoints' origin.
#[utoipa::path(get, path = "/v1/ledger/key", tag = "ledger", responses((status = 200, body = LedgerKeyView)))]
pub async fn key(State(state): State<AppState>) -> Json<LedgerKeyView> {
    Json(ops::ledger::key(&state).await)
}

/// The latest block with its signed checkpoint.
#[utoipa::path(get, path = "/v1/ledger/head", tag = "ledger", responses(
    (status = 200, body = BlockView), (status = 404, description = "no block yet", body = Problem),
    (status = 503, description = "the ledger is open in another instance", body = Problem)))]
pub async fn head(State(state): State<AppState>) -> ApiResult<Json<BlockView>> {
    Ok(Json(ops::ledger::head(&state).await?))
}

/// A block by number.
#[utoipa::path(get, path = "/v1/ledger/blocks/{n}", tag = "ledger", params(("n" = u64, Path)),
    responses((status = 200, body = BlockView), (status = 404, body = Problem)))]
pub async fn block(
    State(state): State<AppState>,
    ApiPath(n): ApiPath<u64>,
) -> ApiResult<Json<BlockView>> {
    Ok(Json(ops::ledger::block(&state, n).await?))
}

/// A transaction by hash (`0x` + 64 hex digits).
#[utoipa::path(get, path = "/v1/ledger/tx/{hash}", tag = "ledger", params(("hash" = String, Path)),
    responses((status = 200, body = TxView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn transaction(
    State(state): State<AppState>,
    ApiPath(hash): ApiPath<String>,
) -> ApiResult<Json<TxView>> {
    Ok(Json(ops::ledger::transaction(&state, &hash).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct InclusionQuery {
    /// Leaf index.
    index: u64,
    /// Tree size (at most the log size).
    size: u64,
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves.
#[utoipa::path(get, path = "/v1/ledger/proof/inclusion", tag = "ledger", params(InclusionQuery),
    responses((status = 200, body = ProofView), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn inclusion(
    State(state): State<AppState>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> ApiResult<Json<ProofView>> {
    let q = query(q)?;
    Ok(Json(ops::ledger::inclusion(&state, q.index, q.size).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    /// Old tree size.
    from: u64,
    /// New tree size (at most the log size).
    to: u64,
}

/// Consistency proof between the trees of `from` and `to` leaves.
#[utoipa::path(get, path = "/v1/ledger/proof/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, body = ProofView), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn consistency(
    State(state): State<AppState>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> ApiResult<Json<ProofView>> {
    let q = query(q)?;
    Ok(Json(ops::ledger::consistency(&state, q.from, q.to).await?))
}

/// A W3C DID document (`didDocument`, `didDocumentMetadata`) with
/// `ledgerProof`: the inclusion proof of its latest transaction and the
/// signed block that holds it.
#[utoipa::path(get, path = "/v1/did/{did}", tag = "ledger", params(("did" = String, Path)),
    responses((status = 200, description = "DID resolution result", body = Object),
    (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn did(
    State(state): State<AppState>,
    ApiPath(did): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(ops::ledger::did_document(&state, did).await?))
}

/// A message's anchor proof (participants only): its leaf and path in the
/// anchor batch, the `message_anchor` transaction, that transaction's
/// inclusion proof in the log and the signed block. Verify offline with
/// `zynk_ledger::verify_message_proof`.
#[utoipa::path(get, path = "/v1/messages/{id}/proof", tag = "ledger", security(("bearer" = [])),
    params(("id" = MessageId, Path)), responses(
    (status = 200, body = MessageProofView), (status = 404, body = Problem),
    (status = 409, description = "not anchored yet (`not-anchored`)", body = Problem),
    (status = 503, description = "the ledger is open in another instance", body = Problem)))]
pub async fn message_proof(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MessageId>,
) -> ApiResult<Json<MessageProofView>> {
    Ok(Json(
        ops::anchors::message_proof(&state, auth.user_id, id).await?,
    ))
}
