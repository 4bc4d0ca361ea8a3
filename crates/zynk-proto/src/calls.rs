//! Call signaling (the server relays, never carries media) and live location.
//! The WebSocket frames of both are in `messaging` (`ClientFrame`, `ServerFrame`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::messaging::wire_enum;
use crate::{CallId, ConversationId, UserId};

wire_enum!(
    /// `calls.call_type`.
    CallType { Audio = "audio", Video = "video" }
);
wire_enum!(
    /// `calls.status`: initiated → ringing → in_progress → ended, or
    /// → declined / missed before anyone answered.
    CallStatus {
        Initiated = "initiated",
        Ringing = "ringing",
        InProgress = "in_progress",
        Ended = "ended",
        Missed = "missed",
        Declined = "declined",
    }
);

impl CallStatus {
    /// Initiated, ringing or in progress: a conversation has at most one such call.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            CallStatus::Initiated | CallStatus::Ringing | CallStatus::InProgress
        )
    }
}

/// `POST /v1/calls`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCall {
    pub conversation_id: ConversationId,
    pub call_type: CallType,
}

/// A user called: `joined_at` once they joined (the initiator at once);
/// `left_at` when they left, or declined (then without `joined_at`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallParticipant {
    pub user_id: UserId,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Call {
    pub id: CallId,
    pub conversation_id: ConversationId,
    pub initiator_id: UserId,
    pub call_type: CallType,
    pub status: CallStatus,
    /// When the first callee accepted.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// From `started_at` to `ended_at`; 0 for a call that never started.
    pub duration_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    /// Everyone the call rang (the conversation's participants when it
    /// started) and anyone who joined later.
    pub participants: Vec<CallParticipant>,
}

/// One STUN or TURN server for WebRTC (`RTCIceServer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /v1/calls/ice-servers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
    /// Seconds the TURN credentials stay valid.
    pub ttl: u64,
}

/// `PUT /v1/conversations/{id}/location`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShareLocation {
    /// −85.05112878 to 85.05112878.
    pub latitude: f64,
    /// −180 to 180.
    pub longitude: f64,
    /// Metres, 0 to 100000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Seconds to share for, 60 to 28800 (default 300); a position lives at
    /// most the server's location lifetime (5 min) unless sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
}

/// A participant's live position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveLocation {
    pub user_id: UserId,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Not served after this unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// Metres from the caller's own live position, when the caller shares too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}
