//! `ApiError`: the one error type of the HTTP layer, rendered as RFC 9457
//! `application/problem+json`. 5xx causes are logged, never sent to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zynk_proto::Problem;

/// The prefix of every problem `type`.
pub const PROBLEM_BASE: &str = "https://zynk.dev/problems/";

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable slug, the last segment of the problem `type`.
    pub kind: &'static str,
    pub detail: Option<String>,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
    /// The cause of a 5xx, logged only.
    source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: Some(detail.into()),
            retry_after: None,
            source: None,
        }
    }

    /// 400: the request cannot be read (malformed JSON, bad id, …).
    pub fn bad_request(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, detail)
    }

    /// 422: a field has a value the server refuses.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            format!("{field}: {why}"),
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 404 for a resource that does not exist *or* that the caller may not see.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no such {what}"),
        )
    }

    pub fn conflict(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, detail)
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("too many requests; retry in {retry_after} s"),
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        e.retry_after = Some(1);
        e
    }

    /// 500; `cause` is logged and not shown.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            detail: None,
            retry_after: None,
            source: Some(cause.into()),
        }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("{PROBLEM_BASE}{}", self.kind),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl From<zynk_store::StoreError> for ApiError {
    fn from(e: zynk_store::StoreError) -> Self {
        match e {
            zynk_store::StoreError::Conflict(what) => {
                Self::conflict("conflict", format!("{what} is already taken"))
            }
            other => Self::internal(other),
        }
    }
}

impl From<zynk_realtime::RealtimeError> for ApiError {
    fn from(e: zynk_realtime::RealtimeError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(cause) => {
                    tracing::error!(error = %format!("{cause:#}"), kind = self.kind, "request failed")
                }
                None => tracing::warn!(kind = self.kind, detail = ?self.detail, "request refused"),
            }
        }
        problem_response(&self.problem(), self.retry_after)
    }
}

/// Renders a problem document with its content type (and `Retry-After`).
pub fn problem_response(problem: &Problem, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
