//! Registration and login.

use axum::http::StatusCode;
use chrono::Utc;
use zynk_proto::{AuthTokens, DeviceId, Login, NewDevice, Register, SessionId, UserId};
use zynk_store::{DeviceSpec, NewUser, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::ops::sessions::{issued, mint};
use crate::state::AppState;
use crate::validate;

fn device_spec(d: NewDevice) -> DeviceSpec {
    DeviceSpec {
        id: DeviceId::new(),
        name: d.name,
        fingerprint: d.fingerprint,
        platform: d.platform,
        public_key: d.public_key,
        push_token: d.push_token.map(|t| t.0),
    }
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict("username") => {
            ApiError::conflict("username-taken", "this username is already taken")
        }
        StoreError::Conflict("fingerprint") => ApiError::conflict(
            "device-fingerprint-taken",
            "a device with this fingerprint belongs to another account",
        ),
        other => other.into(),
    }
}

/// `POST /v1/auth/register`: user, profile, first device and session, at once.
pub async fn register(state: &AppState, body: Register) -> ApiResult<AuthTokens> {
    let username = validate::username(&body.username)?;
    validate::password(body.password.expose())?;
    validate::identity_key(&body.identity_key)?;
    validate::device(&body.device)?;
    // Cheap early answer for the common case; the unique index decides races.
    if state.store.user_by_username(&username).await?.is_some() {
        return Err(conflict(StoreError::Conflict("username")));
    }
    let password_hash = state
        .passwords
        .hash(body.password.0)
        .await
        .map_err(ApiError::internal)?;
    let now = Utc::now();
    let minted = mint(state, SessionId::new(), now);
    let id = UserId::new();
    let ledger_tx = crate::ops::ledger::registration(id, &body.identity_key, now)?;
    let user = NewUser {
        id,
        username,
        password_hash,
        public_key: body.identity_key,
        ledger_tx: Some(ledger_tx),
    };
    let (_device, session) = state
        .store
        .register(user, device_spec(body.device), minted.row.clone(), now)
        .await
        .map_err(conflict)?;
    Ok(issued(state, &session, minted).await)
}

/// `POST /v1/auth/login`. Unknown user and wrong password give the same
/// answer after the same amount of hashing work.
pub async fn login(state: &AppState, body: Login) -> ApiResult<AuthTokens> {
    validate::device(&body.device)?;
    let user = match validate::username(&body.username) {
        Ok(name) => state.store.user_by_username(&name).await?,
        Err(_) => None,
    };
    let verified = state
        .passwords
        .verify(
            body.password.0.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(u) if verified.ok => u,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "invalid username or password",
            ));
        }
    };
    if verified.needs_upgrade {
        let upgraded = state
            .passwords
            .hash(body.password.0)
            .await
            .map_err(ApiError::internal)?;
        state
            .store
            .set_password_hash(user.id, &upgraded, Utc::now())
            .await?;
        tracing::info!(user = %user.id, "password hash upgraded to the configured iterations");
    }
    let now = Utc::now();
    let minted = mint(state, SessionId::new(), now);
    let (_device, session) = state
        .store
        .login(user.id, device_spec(body.device), minted.row.clone(), now)
        .await
        .map_err(conflict)?;
    Ok(issued(state, &session, minted).await)
}
