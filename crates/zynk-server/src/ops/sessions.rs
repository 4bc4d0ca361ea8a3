//! Sessions: authenticating a token, minting and caching token pairs,
//! refresh rotation with reuse detection, logout and revocation.

use chrono::{DateTime, Duration, Utc};
use zynk_proto::{AuthTokens, DeviceId, Refresh, Secret, SessionId, SessionInfo, UserId};
use zynk_store::{NewSession, RefreshOutcome, SessionRecord};

use crate::auth::token::{new_refresh_token, refresh_token_session, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::state::AppState;

/// A freshly minted token pair and the row that will hold its hashes.
pub struct Minted {
    pub session_token: String,
    pub refresh_token: String,
    pub row: NewSession,
}

/// Mints the token pair of session `sid`, valid from `now`.
pub fn mint(state: &AppState, sid: SessionId, now: DateTime<Utc>) -> Minted {
    let expires_at = now + secs(state.config.session_ttl_secs);
    let refresh_expires_at = now + secs(state.config.refresh_ttl_secs);
    let session_token = state.tokens.issue(sid, now, expires_at);
    let refresh_token = new_refresh_token(sid);
    let row = NewSession {
        id: sid,
        session_token_hash: token_hash(&session_token),
        refresh_token_hash: token_hash(&refresh_token),
        expires_at,
        refresh_expires_at,
    };
    Minted {
        session_token,
        refresh_token,
        row,
    }
}

fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

/// The response for a session that now holds `minted`'s hashes.
pub async fn issued(state: &AppState, session: &SessionRecord, minted: Minted) -> AuthTokens {
    cache_session(state, session, Utc::now()).await;
    AuthTokens {
        user_id: session.user_id,
        device_id: session.device_id,
        session_id: session.id,
        session_token: Secret(minted.session_token),
        refresh_token: Secret(minted.refresh_token),
        session_expires_at: session.expires_at,
        refresh_expires_at: session.refresh_expires_at,
    }
}

fn cache_value(user: UserId, device: DeviceId) -> String {
    format!("{user}:{device}")
}

fn parse_cache_value(v: &str) -> Option<(UserId, DeviceId)> {
    let (u, d) = v.split_once(':')?;
    Some((u.parse().ok()?, d.parse().ok()?))
}

/// Writes `session:{token_hash}` for the rest of the session's lifetime.
/// A cache failure is logged, not fatal: the store is the truth.
async fn cache_session(state: &AppState, s: &SessionRecord, now: DateTime<Utc>) {
    let Ok(ttl) = (s.expires_at - now).to_std() else {
        return;
    };
    let value = cache_value(s.user_id, s.device_id);
    if let Err(e) = state
        .realtime
        .session_put(&s.session_token_hash, &value, ttl)
        .await
    {
        tracing::warn!(error = %e, "cannot cache session");
    }
}

/// Ends revoked sessions everywhere: their cache entries go, and their open
/// WebSocket connections (on any instance) close.
pub async fn end_sessions(state: &AppState, user: UserId, sessions: &[SessionRecord]) {
    evict(
        state,
        sessions
            .iter()
            .map(|s| s.session_token_hash.clone())
            .collect(),
    )
    .await;
    crate::realtime::fanout::revoked(state, user, sessions.iter().map(|s| s.id).collect()).await;
}

/// Removes cache entries of tokens that stopped working.
pub async fn evict(state: &AppState, hashes: Vec<String>) {
    if hashes.is_empty() {
        return;
    }
    if let Err(e) = state.realtime.session_del(&hashes).await {
        tracing::error!(error = %e, "cannot evict revoked sessions from the realtime cache");
    }
}

/// The session a bearer token stands for, or 401.
///
/// Fast path: `session:{hash}` in the realtime state. On a miss the store
/// decides, and the entry is re-cached; the store is read once more after
/// caching, so a revocation racing with the re-cache cannot leave a stale
/// entry behind (the revoker deletes the row, then the cache key).
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Auth> {
    let now = Utc::now();
    let refused = || ApiError::unauthorized("session token is invalid, expired or revoked");
    let claims = state.tokens.verify(token, now).ok_or_else(refused)?;
    let hash = token_hash(token);
    let cached = match state.realtime.session_get(&hash).await {
        Ok(v) => v.as_deref().and_then(parse_cache_value),
        Err(e) => {
            tracing::warn!(error = %e, "session cache unavailable; using the store");
            None
        }
    };
    let (user_id, device_id) = match cached {
        Some(ids) => ids,
        None => {
            let live = |s: &SessionRecord| s.id == claims.sid && s.expires_at > now;
            let s = state
                .store
                .session_by_token(&hash)
                .await?
                .filter(live)
                .ok_or_else(refused)?;
            cache_session(state, &s, now).await;
            if state.store.session_by_token(&hash).await?.is_none() {
                evict(state, vec![hash]).await;
                return Err(refused());
            }
            (s.user_id, s.device_id)
        }
    };
    if state.touch_due(claims.sid) {
        record_activity(state, user_id, device_id, claims.sid, now).await;
    }
    Ok(Auth {
        user_id,
        device_id,
        session_id: claims.sid,
        token_hash: hash,
    })
}

/// Writes `last_used_at`, `last_active_at`, `last_seen_at` and presence
/// (at most once a minute per session, see `AppState::touch_due`), before
/// the request proceeds, so what the request does next sees them. Failures
/// are logged, never fatal.
async fn record_activity(
    state: &AppState,
    user: UserId,
    device: DeviceId,
    sid: SessionId,
    now: DateTime<Utc>,
) {
    let result: anyhow::Result<()> = async {
        state.realtime.presence_touch(user, now).await?;
        state.store.touch_session(sid, now).await?;
        state.store.touch_device(device, now).await?;
        state.store.set_last_seen(user, now).await?;
        state.realtime.user_cache_del(user).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %format!("{e:#}"), "cannot record activity");
    }
}

/// Whether an authenticated session still exists (store check).
pub async fn still_valid(state: &AppState, auth: &Auth) -> ApiResult<()> {
    match state.store.session_by_token(&auth.token_hash).await? {
        Some(s) if s.id == auth.session_id && s.expires_at > Utc::now() => Ok(()),
        _ => Err(ApiError::unauthorized("session revoked or expired")),
    }
}

/// `POST /v1/auth/refresh`: rotates the pair. A refresh token works once;
/// presenting a rotated one again revokes the whole session.
pub async fn refresh(state: &AppState, body: Refresh) -> ApiResult<AuthTokens> {
    let now = Utc::now();
    let raw = body.refresh_token.expose();
    let sid = refresh_token_session(raw)
        .ok_or_else(|| ApiError::unauthorized("invalid refresh token"))?;
    let minted = mint(state, sid, now);
    match state
        .store
        .rotate_refresh(&token_hash(raw), minted.row.clone(), now)
        .await?
    {
        RefreshOutcome::Rotated {
            session,
            previous_session_token_hash,
        } => {
            evict(state, vec![previous_session_token_hash]).await;
            Ok(issued(state, &session, minted).await)
        }
        RefreshOutcome::Reused(session) => {
            tracing::warn!(session = %session.id, user = %session.user_id, "refresh token reused: session revoked");
            end_sessions(state, session.user_id, std::slice::from_ref(&session)).await;
            Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "refresh-token-reused",
                "this refresh token was already used; the session has been revoked",
            ))
        }
        RefreshOutcome::Expired(session) => {
            end_sessions(state, session.user_id, std::slice::from_ref(&session)).await;
            Err(ApiError::unauthorized("refresh token expired"))
        }
        RefreshOutcome::Unknown => Err(ApiError::unauthorized("invalid refresh token")),
    }
}

/// `POST /v1/auth/logout`: revokes the caller's session at once.
pub async fn logout(state: &AppState, auth: &Auth) -> ApiResult<()> {
    if let Some(session) = state
        .store
        .delete_session(auth.user_id, auth.session_id)
        .await?
    {
        end_sessions(state, auth.user_id, &[session]).await;
    }
    evict(state, vec![auth.token_hash.clone()]).await;
    Ok(())
}

/// `GET /v1/sessions`.
pub async fn list(state: &AppState, auth: &Auth) -> ApiResult<Vec<SessionInfo>> {
    let rows = state.store.sessions(auth.user_id).await?;
    Ok(rows
        .into_iter()
        .map(|l| SessionInfo {
            id: l.session.id,
            device_id: l.session.device_id,
            device_name: l.device_name,
            created_at: l.session.created_at,
            last_used_at: l.session.last_used_at,
            expires_at: l.session.expires_at,
            refresh_expires_at: l.session.refresh_expires_at,
            current: l.session.id == auth.session_id,
        })
        .collect())
}

/// `DELETE /v1/sessions/{id}`: revokes one of the caller's sessions.
pub async fn revoke(state: &AppState, auth: &Auth, id: SessionId) -> ApiResult<()> {
    let session = state
        .store
        .delete_session(auth.user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    end_sessions(state, auth.user_id, &[session]).await;
    Ok(())
}
