//! Calls: signaling only (the media flows between the clients, through
//! STUN/TURN). Creating a call, its transitions (ring, accept, decline,
//! join, leave/hang up), the ring timeout, the history, WebRTC signaling
//! relay and ICE server credentials.
//!
//! Authorization: every call-scoped use case loads the call and requires the
//! caller to be a participant of its conversation (404 otherwise, as for
//! conversations). Transitions are decided by the store under a lock on the
//! call (`zynk_store::calls`): a refused one is 409 `invalid-call-state`.
//! Every change is sent as `call.updated` to the conversation's participants.
//!
//! Ring timeout: the creating instance arms a timer for the call; in
//! addition, the instance holding the `lock:calls` lease sweeps overdue
//! calls every `call_ring_timeout_secs`, so a call still goes `missed` when
//! its instance died. Both use one conditional `UPDATE`, so a call is missed
//! (and announced) exactly once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use zynk_proto::{
    Call, CallId, CallParticipant, CreateCall, DeviceId, IceServer, IceServers, ServerFrame, UserId,
};
use zynk_store::{CallAction, CallRecord, NewCall, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::conversations::{participant_ids, require_participant};
use crate::realtime::fanout::publish;
use crate::state::AppState;

/// Largest signaling payload (SDP offers are a few KiB).
pub const MAX_SIGNAL_BYTES: usize = 64 * 1024;
/// Most calls in one history page, and the default.
pub const MAX_HISTORY: u32 = 200;
pub const DEFAULT_HISTORY: u32 = 50;

/// Which signaling frame is relayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Offer,
    Answer,
    Ice,
}

pub fn wire(c: CallRecord) -> Call {
    Call {
        id: c.id,
        conversation_id: c.conversation_id,
        initiator_id: c.initiator_id,
        call_type: c.call_type,
        status: c.status,
        started_at: c.started_at,
        ended_at: c.ended_at,
        duration_seconds: c.duration_seconds,
        created_at: c.created_at,
        participants: c
            .participants
            .into_iter()
            .map(|p| CallParticipant {
                user_id: p.user_id,
                joined_at: p.joined_at,
                left_at: p.left_at,
            })
            .collect(),
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Missing(_) => ApiError::not_found("call"),
        StoreError::Conflict("active_call") => ApiError::conflict(
            "call-in-progress",
            "the conversation already has an active call",
        ),
        StoreError::Conflict(_) => ApiError::conflict(
            "invalid-call-state",
            "the call cannot do that in its current state",
        ),
        other => other.into(),
    }
}

/// The call, if the caller is a participant of its conversation (404
/// otherwise), with the conversation's participants.
async fn visible_call(
    state: &AppState,
    user: UserId,
    id: CallId,
) -> ApiResult<(CallRecord, Vec<UserId>)> {
    let call = state
        .store
        .call(id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    let participants = require_participant(state, user, call.conversation_id)
        .await
        .map_err(|_| ApiError::not_found("call"))?;
    Ok((call, participants))
}

/// Sends `call.updated` to the conversation's participants.
async fn announce(state: &AppState, call: &Call) {
    match participant_ids(state, call.conversation_id).await {
        Ok(users) => {
            let frame = ServerFrame::CallUpdated { call: call.clone() };
            publish(state, users, None, None, frame).await;
        }
        Err(e) => tracing::warn!(kind = e.kind, "cannot announce a call update"),
    }
}

/// `POST /v1/calls`: a new call, ringing every other participant.
pub async fn create(state: &AppState, auth: &Auth, body: CreateCall) -> ApiResult<Call> {
    let participants = require_participant(state, auth.user_id, body.conversation_id).await?;
    let new = NewCall {
        id: CallId::new(),
        conversation_id: body.conversation_id,
        initiator_id: auth.user_id,
        call_type: body.call_type,
    };
    let call = wire(
        state
            .store
            .create_call(new, Utc::now())
            .await
            .map_err(store_error)?,
    );
    let others: Vec<UserId> = participants
        .into_iter()
        .filter(|u| *u != auth.user_id)
        .collect();
    let frame = ServerFrame::CallIncoming { call: call.clone() };
    let woken = others.clone();
    publish(state, others, None, None, frame).await;
    crate::push::notify_users(state, woken, None, crate::push::Kind::Call);
    let timer = state.clone();
    let timeout = Duration::from_secs(state.config.call_ring_timeout_secs);
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        expire_due(&timer).await;
    });
    Ok(call)
}

/// A transition by the caller (`call.ringing`, `call.accept`, …, and the
/// `POST /v1/calls/{id}/…` endpoints).
pub async fn act(state: &AppState, auth: &Auth, id: CallId, action: CallAction) -> ApiResult<Call> {
    visible_call(state, auth.user_id, id).await?;
    let change = state
        .store
        .call_action(id, auth.user_id, action, Utc::now())
        .await
        .map_err(store_error)?;
    let call = wire(change.call);
    if change.changed {
        announce(state, &call).await;
    }
    Ok(call)
}

/// `GET /v1/calls`: the calls of the caller's conversations, newest first.
pub async fn history(
    state: &AppState,
    auth: &Auth,
    before: Option<DateTime<Utc>>,
    limit: Option<u32>,
) -> ApiResult<Vec<Call>> {
    let limit = limit.unwrap_or(DEFAULT_HISTORY);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {MAX_HISTORY}"),
        ));
    }
    let calls = state.store.calls_of(auth.user_id, before, limit).await?;
    Ok(calls.into_iter().map(wire).collect())
}

/// `call.offer` / `call.answer` / `call.ice`: relays the opaque payload to
/// the other devices of the call's conversation (or only `to_device`).
pub async fn relay(
    state: &AppState,
    auth: &Auth,
    id: CallId,
    to_device: Option<DeviceId>,
    payload: String,
    signal: Signal,
) -> ApiResult<()> {
    if payload.is_empty() || payload.len() > MAX_SIGNAL_BYTES {
        return Err(ApiError::invalid(
            "payload",
            format!("must be 1 to {MAX_SIGNAL_BYTES} bytes"),
        ));
    }
    let (call, participants) = visible_call(state, auth.user_id, id).await?;
    if !call.status.is_active() {
        return Err(store_error(StoreError::Conflict("call_status")));
    }
    let (call_id, from_user, from_device) = (id, auth.user_id, auth.device_id);
    let frame = match signal {
        Signal::Offer => ServerFrame::CallOffer {
            call_id,
            from_user,
            from_device,
            payload,
        },
        Signal::Answer => ServerFrame::CallAnswer {
            call_id,
            from_user,
            from_device,
            payload,
        },
        Signal::Ice => ServerFrame::CallIce {
            call_id,
            from_user,
            from_device,
            payload,
        },
    };
    // Only the conversation's users are targeted, so a `to_device` of anyone
    // else reaches nobody.
    let devices = to_device.map(|d| vec![d]);
    publish(state, participants, devices, Some(auth.device_id), frame).await;
    Ok(())
}

/// Marks calls unanswered for `call_ring_timeout_secs` missed and announces them.
pub async fn expire_due(state: &AppState) {
    let now = Utc::now();
    let timeout = chrono::Duration::seconds(
        i64::try_from(state.config.call_ring_timeout_secs).unwrap_or(i64::MAX / 1000),
    );
    match state.store.expire_calls(now - timeout, now).await {
        Ok(calls) => {
            for call in calls {
                announce(state, &wire(call)).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot expire unanswered calls"),
    }
}

/// The ring-timeout sweep: one instance at a time (`lock:calls`).
pub async fn run_forever(state: AppState) {
    let interval = Duration::from_secs(state.config.call_ring_timeout_secs.max(1));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .realtime
            .try_lease("calls", &state.instance, interval * 2)
            .await
        {
            Ok(true) => expire_due(&state).await,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "calls lease unavailable"),
        }
    }
}

/// coturn's REST API credential for `username`: base64(HMAC-SHA1(secret, username)).
pub fn turn_credential(secret: &str, username: &str) -> Option<String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(username.as_bytes());
    Some(B64.encode(mac.finalize().into_bytes()))
}

/// `GET /v1/calls/ice-servers`: the configured STUN servers, and the TURN
/// servers with credentials for the caller valid for `turn_ttl_secs`
/// (username `{expiry unix time}:{user_id}`).
pub fn ice_servers(state: &AppState, auth: &Auth) -> ApiResult<IceServers> {
    let c = &state.config;
    let mut ice_servers = Vec::new();
    if !c.stun_urls.is_empty() {
        ice_servers.push(IceServer {
            urls: c.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (c.turn_urls.is_empty(), &c.turn_secret) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(ApiError::internal)?;
        let username = format!("{}:{}", now.as_secs() + c.turn_ttl_secs, auth.user_id);
        let credential = turn_credential(secret, &username)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad TURN secret")))?;
        ice_servers.push(IceServer {
            urls: c.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    Ok(IceServers {
        ice_servers,
        ttl: c.turn_ttl_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::turn_credential;

    #[test]
    fn turn_credential_matches_coturn() {
        // python3: base64.b64encode(hmac.new(b'north-secret',
        //   b'1700000000:6f1c2a7e-3b4d-4c5e-8f90-123456789abc', hashlib.sha1).digest())
        let username = "1700000000:6f1c2a7e-3b4d-4c5e-8f90-123456789abc";
        assert_eq!(
            turn_credential("north-secret", username).as_deref(),
            Some("E/2dyAzT+hjd/WZU9Jul8OxBmXI=")
        );
    }
}
