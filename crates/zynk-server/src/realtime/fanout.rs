//! Fan-out across instances: a use case publishes one `Envelope` through the
//! realtime backend (Redis pub/sub, or in-process); every instance's
//! dispatcher hands the frame to its local connections.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use zynk_proto::{DeviceId, ServerFrame, SessionId, UserId};
use zynk_realtime::Event;

use crate::realtime::hub::Target;
use crate::state::AppState;

/// One published event. (Sizes differ; each lives only while being sent.)
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Envelope {
    /// A frame for some users' (or some devices') connections.
    Frame {
        users: Vec<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        devices: Option<Vec<DeviceId>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        except_device: Option<DeviceId>,
        frame: ServerFrame,
    },
    /// Sessions that were revoked: their connections close.
    Revoked {
        user: UserId,
        sessions: Vec<SessionId>,
    },
}

/// Publishes `frame` to `users` (optionally only some devices, or all but one).
/// A publish failure is logged: recipients still get the item from the store
/// on their next (re)connect, and the realtime backend resynchronises.
pub async fn publish(
    state: &AppState,
    users: Vec<UserId>,
    devices: Option<Vec<DeviceId>>,
    except_device: Option<DeviceId>,
    frame: ServerFrame,
) {
    if users.is_empty() {
        return;
    }
    send(
        state,
        &Envelope::Frame {
            users,
            devices,
            except_device,
            frame,
        },
    )
    .await;
}

/// Closes every connection, on any instance, made with one of `sessions`.
pub async fn revoked(state: &AppState, user: UserId, sessions: Vec<SessionId>) {
    if !sessions.is_empty() {
        send(state, &Envelope::Revoked { user, sessions }).await;
    }
}

async fn send(state: &AppState, envelope: &Envelope) {
    match serde_json::to_string(envelope) {
        Ok(json) => {
            if let Err(e) = state.realtime.publish(&json).await {
                tracing::warn!(error = %e, "fan-out publish failed");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot serialise an event"),
    }
}

/// Runs for the life of the server: hands published events to local connections.
pub async fn dispatch(state: AppState) {
    let mut events = state.realtime.subscribe();
    loop {
        match events.recv().await {
            Ok(Event::Message(payload)) => deliver(&state, &payload),
            Ok(Event::Resync) | Err(RecvError::Lagged(_)) => state.hub.resync_all(),
            Err(RecvError::Closed) => return,
        }
    }
}

fn deliver(state: &AppState, payload: &str) {
    let envelope: Envelope = match serde_json::from_str(payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a malformed event");
            return;
        }
    };
    match envelope {
        Envelope::Frame {
            users,
            devices,
            except_device,
            frame,
        } => {
            let Ok(text) = serde_json::to_string(&frame) else {
                return;
            };
            let target = Target {
                users: &users,
                devices: devices.as_deref(),
                except_device,
            };
            state.hub.deliver(&target, &Arc::from(text));
        }
        Envelope::Revoked { user, sessions } => state.hub.close_sessions(user, &sessions),
    }
}
