//! Per-IP, per-endpoint fixed-window rate limits (`ratelimit:{ip}:{endpoint}`),
//! stricter for register, login and refresh. Over the limit: 429 with `Retry-After`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::state::AppState;

pub async fn limit(
    State(state): State<AppState>,
    ip: ClientIp,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("", |p| p.as_str());
    let (endpoint, limit) = match path {
        "/v1/auth/register" => ("register".to_owned(), state.config.ratelimit_auth_per_hour),
        "/v1/auth/login" => ("login".to_owned(), state.config.ratelimit_auth_per_hour),
        "/v1/auth/refresh" => ("refresh".to_owned(), state.config.ratelimit_auth_per_hour),
        other => (
            format!("{} {other}", req.method()),
            state.config.ratelimit_api_per_hour,
        ),
    };
    match state.realtime.rate_limit_hit(&ip.0, &endpoint, limit).await {
        Ok(d) if !d.allowed => return Err(ApiError::rate_limited(d.reset_in.as_secs().max(1))),
        Ok(_) => {}
        // Fail open: a cache outage must not lock every user out; /readyz reports it.
        Err(e) => tracing::warn!(error = %e, "rate limiter unavailable"),
    }
    Ok(next.run(req).await)
}
