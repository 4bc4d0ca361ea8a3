//! The caller's account and profile, and other users' public profiles with
//! their privacy settings enforced.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use zynk_proto::{Me, PrivacySettings, Profile, PublicProfile, UpdateProfile, UserId, Visibility};
use zynk_store::ProfileRecord;

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::state::AppState;
use crate::validate;

/// A user counts as online if active within this window.
pub const PRESENCE_WINDOW: Duration = Duration::seconds(120);

/// What `user:{user_id}` caches: the public profile before privacy is applied.
#[derive(Serialize, Deserialize)]
struct CachedUser {
    user_id: UserId,
    username: String,
    identity_key: String,
    display_name: Option<String>,
    avatar_url: Option<String>,
    bio: Option<String>,
    last_seen_at: Option<DateTime<Utc>>,
    privacy_settings: PrivacySettings,
}

fn profile(p: ProfileRecord) -> Profile {
    Profile {
        display_name: p.display_name,
        avatar_url: p.avatar_url,
        bio: p.bio,
        privacy_settings: p.privacy_settings,
    }
}

/// `GET /v1/me`.
pub async fn me(state: &AppState, auth: &Auth) -> ApiResult<Me> {
    let user = state
        .store
        .user_by_id(auth.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
    let p = state
        .store
        .profile(auth.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("profile"))?;
    Ok(Me {
        user_id: user.id,
        username: user.username,
        identity_key: user.public_key,
        device_id: auth.device_id,
        session_id: auth.session_id,
        created_at: user.created_at,
        profile: profile(p),
    })
}

/// `PATCH /v1/me/profile`.
pub async fn update(state: &AppState, auth: &Auth, body: UpdateProfile) -> ApiResult<Profile> {
    if let Some(Some(v)) = &body.display_name {
        validate::text("display_name", v, 1, 64)?;
    }
    if let Some(Some(v)) = &body.bio {
        validate::text("bio", v, 0, 500)?;
    }
    if let Some(Some(v)) = &body.avatar_url {
        validate::url("avatar_url", v)?;
    }
    let updated = state
        .store
        .update_profile(auth.user_id, &body, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("profile"))?;
    state.realtime.user_cache_del(auth.user_id).await?;
    Ok(profile(updated))
}

/// `GET /v1/users/{username_or_id}`.
pub async fn public(state: &AppState, viewer: &Auth, key: &str) -> ApiResult<PublicProfile> {
    let user = lookup(state, key)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let may_see = |v: Visibility| async move {
        match v {
            _ if viewer.user_id == user.user_id => Ok::<bool, ApiError>(true),
            Visibility::Everyone => Ok(true),
            Visibility::Nobody => Ok(false),
            Visibility::Contacts => Ok(state
                .store
                .shares_conversation(viewer.user_id, user.user_id)
                .await?),
        }
    };
    let privacy = user.privacy_settings;
    let online = if may_see(privacy.online_status).await? {
        let since = Utc::now() - PRESENCE_WINDOW;
        Some(
            !state
                .realtime
                .presence_online(&[user.user_id], since)
                .await?
                .is_empty(),
        )
    } else {
        None
    };
    let last_seen_at = if may_see(privacy.last_seen).await? {
        user.last_seen_at
    } else {
        None
    };
    Ok(PublicProfile {
        user_id: user.user_id,
        username: user.username,
        identity_key: user.identity_key,
        display_name: user.display_name,
        avatar_url: user.avatar_url,
        bio: user.bio,
        online,
        last_seen_at,
    })
}

/// By id through the `user:{id}` cache, or by username through the store.
async fn lookup(state: &AppState, key: &str) -> ApiResult<Option<CachedUser>> {
    let id = match key.parse::<UserId>() {
        Ok(id) => id,
        Err(_) => {
            let Ok(name) = validate::username(key) else {
                return Ok(None);
            };
            match state.store.user_by_username(&name).await? {
                Some(u) => u.id,
                None => return Ok(None),
            }
        }
    };
    if let Some(json) = state.realtime.user_cache_get(id).await?
        && let Ok(cached) = serde_json::from_str(&json)
    {
        return Ok(Some(cached));
    }
    let (Some(user), Some(p)) = (
        state.store.user_by_id(id).await?,
        state.store.profile(id).await?,
    ) else {
        return Ok(None);
    };
    let cached = CachedUser {
        user_id: user.id,
        username: user.username,
        identity_key: user.public_key,
        display_name: p.display_name,
        avatar_url: p.avatar_url,
        bio: p.bio,
        last_seen_at: p.last_seen_at,
        privacy_settings: p.privacy_settings,
    };
    let json = serde_json::to_string(&cached).map_err(ApiError::internal)?;
    state.realtime.user_cache_put(id, &json).await?;
    Ok(Some(cached))
}
