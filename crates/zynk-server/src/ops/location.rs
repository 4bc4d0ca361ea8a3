//! Live location in a conversation (data model §4.5): positions live in the
//! realtime GEO index `locations` under the member `{conversation_id}:{user_id}`
//! for `location_ttl_secs` (5 min); what a GEO index cannot hold (accuracy,
//! the share's expiry) is kept beside it in `location:{member}` with the same
//! lifetime. A share ends at `min(duration_s, location_ttl_secs)` after it
//! was sent: longer shares are kept alive by sending the position again.
//! Nothing past its expiry is ever served. Only participants of the
//! conversation share or see positions (404 for everyone else).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zynk_proto::{ConversationId, LiveLocation, ServerFrame, ShareLocation, UserId};
use zynk_realtime::Position;

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::conversations::require_participant;
use crate::realtime::fanout::publish;
use crate::state::AppState;

/// Share duration bounds and default, in seconds.
pub const MIN_DURATION_S: u32 = 60;
pub const MAX_DURATION_S: u32 = 28_800;
pub const DEFAULT_DURATION_S: u32 = 300;
/// Largest accepted accuracy, in metres.
pub const MAX_ACCURACY_M: f64 = 100_000.0;

/// What `location:{member}` holds.
#[derive(Serialize, Deserialize)]
struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    accuracy: Option<f64>,
    expires_at: DateTime<Utc>,
}

fn member(conversation: ConversationId, user: UserId) -> String {
    format!("{conversation}:{user}")
}

fn validate(body: &ShareLocation) -> ApiResult<(Position, u32)> {
    let lat = body.latitude;
    if !lat.is_finite() || lat.abs() > Position::MAX_LATITUDE {
        return Err(ApiError::invalid(
            "latitude",
            "must be -85.05112878 to 85.05112878",
        ));
    }
    if !body.longitude.is_finite() || body.longitude.abs() > 180.0 {
        return Err(ApiError::invalid("longitude", "must be -180 to 180"));
    }
    if body
        .accuracy
        .is_some_and(|a| !a.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&a))
    {
        return Err(ApiError::invalid("accuracy", "must be 0 to 100000 metres"));
    }
    let duration = body.duration_s.unwrap_or(DEFAULT_DURATION_S);
    if !(MIN_DURATION_S..=MAX_DURATION_S).contains(&duration) {
        return Err(ApiError::invalid(
            "duration_s",
            "must be 60 to 28800 seconds",
        ));
    }
    let position = Position {
        longitude: body.longitude,
        latitude: lat,
    }
    .check()
    .map_err(|e| ApiError::invalid("position", e))?;
    Ok((position, duration))
}

/// `PUT /v1/conversations/{id}/location`: shares (or refreshes) the caller's
/// position and tells the other participants (`location` frame).
pub async fn share(
    state: &AppState,
    auth: &Auth,
    conversation: ConversationId,
    body: ShareLocation,
) -> ApiResult<LiveLocation> {
    let participants = require_participant(state, auth.user_id, conversation).await?;
    let (position, duration) = validate(&body)?;
    let lifetime = u64::from(duration).min(state.config.location_ttl_secs);
    let expires_at = Utc::now()
        + chrono::Duration::seconds(i64::try_from(lifetime).unwrap_or(i64::from(duration)));
    let details = Details {
        accuracy: body.accuracy,
        expires_at,
    };
    let details = serde_json::to_string(&details).map_err(ApiError::internal)?;
    let key = member(conversation, auth.user_id);
    state.realtime.location_set(&key, position).await?;
    state.realtime.location_details_set(&key, &details).await?;
    let others: Vec<UserId> = participants
        .into_iter()
        .filter(|u| *u != auth.user_id)
        .collect();
    let frame = ServerFrame::Location {
        conversation_id: conversation,
        user_id: auth.user_id,
        latitude: position.latitude,
        longitude: position.longitude,
        accuracy: body.accuracy,
        expires_at,
    };
    publish(state, others, None, None, frame).await;
    Ok(LiveLocation {
        user_id: auth.user_id,
        latitude: position.latitude,
        longitude: position.longitude,
        accuracy: body.accuracy,
        expires_at,
        distance_m: None,
    })
}

/// `GET /v1/conversations/{id}/locations`: the participants' live positions,
/// with the distance from the caller's own when the caller shares too.
pub async fn list(
    state: &AppState,
    auth: &Auth,
    conversation: ConversationId,
) -> ApiResult<Vec<LiveLocation>> {
    let participants = require_participant(state, auth.user_id, conversation).await?;
    let members: Vec<String> = participants
        .iter()
        .map(|u| member(conversation, *u))
        .collect();
    let positions = state.realtime.location_get(&members).await?;
    let details = state.realtime.location_details_get(&members).await?;
    let now = Utc::now();
    let mut live = Vec::new();
    for ((user, position), details) in participants.iter().zip(positions).zip(details) {
        let details = details.and_then(|d| serde_json::from_str::<Details>(&d).ok());
        if let (Some(p), Some(d)) = (position, details)
            && d.expires_at > now
        {
            live.push((*user, p, d));
        }
    }
    let own = member(conversation, auth.user_id);
    let sharing = live.iter().any(|(u, ..)| *u == auth.user_id);
    let mut out = Vec::with_capacity(live.len());
    for (user, p, d) in live {
        let distance_m = if sharing && user != auth.user_id {
            let other = member(conversation, user);
            state.realtime.location_distance(&own, &other).await?
        } else {
            None
        };
        out.push(LiveLocation {
            user_id: user,
            latitude: p.latitude,
            longitude: p.longitude,
            accuracy: d.accuracy,
            expires_at: d.expires_at,
            distance_m,
        });
    }
    Ok(out)
}

/// `DELETE /v1/conversations/{id}/location`: stops sharing
/// (`location.stopped` to the other participants).
pub async fn stop(state: &AppState, auth: &Auth, conversation: ConversationId) -> ApiResult<()> {
    let participants = require_participant(state, auth.user_id, conversation).await?;
    state
        .realtime
        .location_remove(&member(conversation, auth.user_id))
        .await?;
    let others: Vec<UserId> = participants
        .into_iter()
        .filter(|u| *u != auth.user_id)
        .collect();
    let frame = ServerFrame::LocationStopped {
        conversation_id: conversation,
        user_id: auth.user_id,
    };
    publish(state, others, None, None, frame).await;
    Ok(())
}
