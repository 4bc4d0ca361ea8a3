//! Probes and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database and the realtime backend answer.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "a dependency is down", body = zynk_proto::Problem)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let db = state.store.ping().await;
    let rt = state.realtime.ping().await;
    match (db, rt) {
        (Ok(()), Ok(())) => Ok(Json(json!({
            "status": "ready",
            "database": "ok",
            "realtime": state.realtime.backend(),
        }))),
        (db, rt) => {
            if let Err(e) = &db {
                tracing::error!(error = %e, "readiness: database down");
            }
            if let Err(e) = &rt {
                tracing::error!(error = %e, "readiness: realtime backend down");
            }
            let down: Vec<&str> = [("database", db.is_err()), ("realtime", rt.is_err())]
                .into_iter()
                .filter_map(|(n, bad)| bad.then_some(n))
                .collect();
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                format!("unavailable: {}", down.join(", ")),
            ))
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(super::OPENAPI_JSON.clone())
}
