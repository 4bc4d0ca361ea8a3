//! Request extractors that turn every rejection into a problem document:
//! `ApiJson` (bodies), `ApiPath` (path parameters), `Auth` (the bearer
//! session) and `ClientIp`.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use zynk_proto::{DeviceId, SessionId, UserId};

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body; malformed (400), mistyped (422), too large (413) or not JSON (415).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let status = r.status();
    let kind = match status {
        StatusCode::BAD_REQUEST => "malformed-json",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-body",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        _ => "bad-request",
    };
    ApiError::new(status, kind, r.body_text())
}

/// Path parameters; an unparsable one (a bad UUID) is a 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Self(v))
            .map_err(|r: PathRejection| {
                ApiError::bad_request("invalid-path-parameter", r.body_text())
            })
    }
}

/// The client's IP address (the socket peer).
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(Self(ip))
    }
}

/// The authenticated session of a request (`Authorization: Bearer …`).
#[derive(Clone, Debug)]
pub struct Auth {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub session_id: SessionId,
    /// SHA-256 hex of the bearer token (its cache and store key).
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        crate::ops::sessions::authenticate(state, token.trim()).await
    }
}
