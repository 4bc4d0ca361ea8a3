//! `/v1/users/{id}/verify`, `/v1/users/{id}/report` and
//! `/v1/users/{id}/trust`: trust scores (see `ops::trust`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use zynk_proto::{Problem, UserId};

use crate::error::ApiResult;
use crate::extract::{ApiPath, Auth};
use crate::ops;
use crate::ops::trust::{TrustQueuedView, TrustView};
use crate::state::AppState;

/// Vouch for a user, once: `+trust_verify_points` (queued as a
/// `trust_score_update`). The caller's score must be at least
/// `trust_verify_min_score`.
#[utoipa::path(post, path = "/v1/users/{id}/verify", tag = "ledger", security(("bearer" = [])),
    params(("id" = UserId, Path)), responses(
    (status = 202, body = TrustQueuedView),
    (status = 403, description = "the caller's score is too low", body = Problem),
    (status = 404, body = Problem),
    (status = 409, description = "already verified (`conflict`), or the user is not on the ledger yet (`not-registered`)", body = Problem),
    (status = 422, description = "yourself", body = Problem)))]
pub async fn verify(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<(StatusCode, Json<TrustQueuedView>)> {
    let v = ops::trust::verify(&state, auth.user_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(v)))
}

/// Report a user as a spammer, once. When `trust_report_threshold`
/// distinct reporters agree, `-trust_report_points` is queued.
#[utoipa::path(post, path = "/v1/users/{id}/report", tag = "ledger", security(("bearer" = [])),
    params(("id" = UserId, Path)), responses(
    (status = 202, body = TrustQueuedView),
    (status = 404, body = Problem),
    (status = 409, description = "already reported (`conflict`), or the user is not on the ledger yet (`not-registered`)", body = Problem),
    (status = 422, description = "yourself", body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<(StatusCode, Json<TrustQueuedView>)> {
    let v = ops::trust::report(&state, auth.user_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(v)))
}

/// A user's trust score, its history and, for sealed updates, inclusion
/// proofs at the current head (verify with `zynk_ledger::verify_inclusion`).
#[utoipa::path(get, path = "/v1/users/{id}/trust", tag = "ledger", security(("bearer" = [])),
    params(("id" = UserId, Path)), responses(
    (status = 200, body = TrustView), (status = 404, body = Problem),
    (status = 503, description = "the ledger is open in another instance", body = Problem)))]
pub async fn trust(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<TrustView>> {
    Ok(Json(ops::trust::view(&state, id).await?))
}
