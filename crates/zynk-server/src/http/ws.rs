//! `GET /v1/ws`: one WebSocket per device. The first frame must be
//! `{"type":"auth","token":…}` (browsers cannot set headers on upgrades).
//! Then: `ready`, the device's pending items from the store (catch-up), and
//! live frames from the hub; client frames go to the same `ops` functions
//! as HTTP.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use zynk_proto::{CallId, ClientFrame, DeviceId, ServerFrame};
use zynk_store::CallAction;

use crate::error::ApiError;
use crate::extract::Auth;
use crate::ops;
use crate::ops::calls::Signal;
use crate::ops::delivery::CatchUp;
use crate::realtime::hub::{Outbound, Registration};
use crate::state::AppState;

/// Time a client has to authenticate after the upgrade.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Upgrade to the realtime WebSocket.
#[utoipa::path(get, path = "/v1/ws", tag = "realtime", responses(
    (status = 101, description = "switching protocols; first client frame: {\"type\":\"auth\",\"token\":…}"),
    (status = 400, description = "not a WebSocket upgrade", body = zynk_proto::Problem)))]
pub async fn websocket(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "websocket-required", r.body_text()))?;
    let limit = state.config.max_body_bytes;
    Ok(upgrade
        .max_message_size(limit)
        .on_upgrade(move |socket| connection(state, socket)))
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => socket.send(WsMessage::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

fn problem(e: &ApiError) -> ServerFrame {
    ServerFrame::Error {
        problem: e.problem(),
    }
}

/// Reads the `auth` frame and authenticates it.
async fn authenticate(state: &AppState, socket: &mut WebSocket) -> Result<Auth, ApiError> {
    let refused =
        || ApiError::unauthorized("the first frame must be {\"type\":\"auth\",\"token\":…}");
    let first = tokio::time::timeout(AUTH_TIMEOUT, socket.recv())
        .await
        .map_err(|_| refused())?;
    let Some(Ok(WsMessage::Text(text))) = first else {
        return Err(refused());
    };
    match serde_json::from_str::<ClientFrame>(&text) {
        Ok(ClientFrame::Auth { token }) => ops::sessions::authenticate(state, &token).await,
        _ => Err(refused()),
    }
}

async fn connection(state: AppState, mut socket: WebSocket) {
    let auth = match authenticate(&state, &mut socket).await {
        Ok(a) => a,
        Err(e) => {
            let _ = send(&mut socket, &problem(&e)).await;
            let _ = socket.send(WsMessage::Close(None)).await;
            return;
        }
    };
    let was_online = !state.hub.users().contains(&auth.user_id);
    let mut registration = state
        .hub
        .register(auth.user_id, auth.device_id, auth.session_id);
    let marker = state
        .realtime
        .device_connected(auth.device_id.0, crate::lifecycle::DEVICE_ONLINE_TTL);
    if let Err(e) = marker.await {
        tracing::warn!(error = %e, "device marker update failed");
    }
    let now = Utc::now();
    if let Err(e) = state.realtime.presence_touch(auth.user_id, now).await {
        tracing::warn!(error = %e, "presence update failed");
    }
    if was_online {
        let _ = ops::delivery::announce_presence(&state, auth.user_id, true, now).await;
    }
    let ready = ServerFrame::Ready {
        user_id: auth.user_id,
        device_id: auth.device_id,
    };
    if send(&mut socket, &ready).await {
        serve(&state, &auth, &mut socket, &mut registration).await;
    }
    let last_of_user = state.hub.unregister(auth.user_id, registration.id);
    if !state.hub.is_connected(auth.user_id, auth.device_id)
        && let Err(e) = state.realtime.device_disconnected(auth.device_id.0).await
    {
        tracing::warn!(error = %e, "device marker removal failed");
    }
    if last_of_user {
        let now = Utc::now();
        if let Err(e) = state.store.set_last_seen(auth.user_id, now).await {
            tracing::warn!(error = %e, "cannot record last seen");
        }
        let _ = ops::delivery::announce_presence(&state, auth.user_id, false, now).await;
    }
}

/// The connection loop: catch-up pages, live frames and client frames.
async fn serve(state: &AppState, auth: &Auth, socket: &mut WebSocket, outbound: &mut Registration) {
    let mut catch_up = CatchUp::START;
    loop {
        if outbound.take_overflow() {
            // Frames were dropped: check the session still stands, then resync.
            if ops::sessions::still_valid(state, auth).await.is_err() {
                let _ = send(socket, &problem(&ApiError::unauthorized("session revoked"))).await;
                return;
            }
            catch_up = CatchUp::START;
        }
        if !matches!(catch_up, CatchUp::Done) {
            match ops::delivery::catch_up_page(state, auth.device_id, catch_up).await {
                Ok((frames, next)) => {
                    for f in &frames {
                        if !send(socket, f).await {
                            return;
                        }
                    }
                    catch_up = next;
                }
                Err(e) => {
                    tracing::error!(kind = e.kind, "catch-up failed; closing the connection");
                    return;
                }
            }
            continue;
        }
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { return };
                match msg {
                    WsMessage::Text(text) => {
                        if let Some(reply) = client_frame(state, auth, &text).await
                            && !send(socket, &reply).await {
                                return;
                            }
                    }
                    WsMessage::Close(_) => return,
                    _ => {}
                }
            }
            out = outbound.rx.recv() => match out {
                Some(Outbound::Frame(text)) => {
                    if socket.send(WsMessage::Text(text.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Outbound::Resync) => catch_up = CatchUp::START,
                Some(Outbound::Close) => {
                    let _ = send(socket, &problem(&ApiError::unauthorized("session revoked"))).await;
                    let _ = socket.send(WsMessage::Close(None)).await;
                    return;
                }
                None => return,
            },
        }
    }
}

/// A call transition by frame: answered by the `call.updated` frame every
/// participant gets, so nothing here.
async fn call(
    state: &AppState,
    auth: &Auth,
    id: CallId,
    action: CallAction,
) -> Result<Option<ServerFrame>, ApiError> {
    ops::calls::act(state, auth, id, action).await.map(|_| None)
}

async fn signal(
    state: &AppState,
    auth: &Auth,
    id: CallId,
    to_device: Option<DeviceId>,
    payload: String,
    kind: Signal,
) -> Result<Option<ServerFrame>, ApiError> {
    ops::calls::relay(state, auth, id, to_device, payload, kind)
        .await
        .map(|()| None)
}

/// Applies one client frame; returns the frame to answer with, if any.
async fn client_frame(state: &AppState, auth: &Auth, text: &str) -> Option<ServerFrame> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => f,
        Err(e) => {
            return Some(problem(&ApiError::bad_request(
                "invalid-frame",
                e.to_string(),
            )));
        }
    };
    let result = match frame {
        ClientFrame::Auth { .. } => Err(ApiError::bad_request(
            "invalid-frame",
            "already authenticated",
        )),
        ClientFrame::Ping => return Some(ServerFrame::Pong),
        ClientFrame::Ack { ids } => ops::delivery::ack(state, auth, &ids).await.map(|()| None),
        ClientFrame::Typing { conversation_id } => {
            ops::delivery::typing(state, auth, conversation_id)
                .await
                .map(|()| None)
        }
        ClientFrame::Read {
            conversation_id,
            up_to,
        } => ops::delivery::read(state, auth, conversation_id, up_to)
            .await
            .map(|()| None),
        ClientFrame::Send {
            conversation_id,
            message,
        } => ops::messages::send(state, auth, conversation_id, message)
            .await
            .map(|(sent, _)| Some(ServerFrame::Sent { message: sent })),
        ClientFrame::CallRinging { call_id } => call(state, auth, call_id, CallAction::Ring).await,
        ClientFrame::CallAccept { call_id } => call(state, auth, call_id, CallAction::Accept).await,
        ClientFrame::CallDecline { call_id } => {
            call(state, auth, call_id, CallAction::Decline).await
        }
        ClientFrame::CallHangup { call_id } => call(state, auth, call_id, CallAction::Leave).await,
        ClientFrame::CallOffer {
            call_id,
            to_device,
            payload,
        } => signal(state, auth, call_id, to_device, payload, Signal::Offer).await,
        ClientFrame::CallAnswer {
            call_id,
            to_device,
            payload,
        } => signal(state, auth, call_id, to_device, payload, Signal::Answer).await,
        ClientFrame::CallIce {
            call_id,
            to_device,
            payload,
        } => signal(state, auth, call_id, to_device, payload, Signal::Ice).await,
    };
    match result {
        Ok(reply) => reply,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::error!(kind = e.kind, "frame failed");
            }
            Some(problem(&e))
        }
    }
}
