//! Calls (signaling over HTTP; the signaling frames go through
//! `Connection::send` with `ClientFrame::CallOffer` and friends) and live
//! location.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use zynk_proto::*;

use crate::{Client, Result};

impl Client {
    // Calls

    /// Starts a call in a conversation (status `initiated`).
    pub async fn create_call(
        &self,
        conversation_id: ConversationId,
        call_type: CallType,
    ) -> Result<Call> {
        let body = CreateCall {
            conversation_id,
            call_type,
        };
        self.call_json(Method::POST, "/v1/calls", Some(&body)).await
    }

    /// The caller's call history, newest first (`before`: the oldest
    /// `created_at` of the previous page; `limit` 1–200, default 50).
    pub async fn calls(
        &self,
        before: Option<DateTime<Utc>>,
        limit: Option<u32>,
    ) -> Result<Vec<Call>> {
        let mut params = Vec::new();
        if let Some(before) = before {
            // RFC 3339 with `Z`: no `+` to percent-encode.
            params.push(format!(
                "before={}",
                before.to_rfc3339_opts(SecondsFormat::Micros, true)
            ));
        }
        if let Some(limit) = limit {
            params.push(format!("limit={limit}"));
        }
        let query = if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        };
        let path = format!("/v1/calls{query}");
        self.call_json::<(), _>(Method::GET, &path, None).await
    }

    /// STUN/TURN servers, with TURN credentials for this user.
    pub async fn ice_servers(&self) -> Result<IceServers> {
        self.call_json::<(), _>(Method::GET, "/v1/calls/ice-servers", None)
            .await
    }

    async fn call_step(&self, id: CallId, step: &str) -> Result<Call> {
        let path = format!("/v1/calls/{id}/{step}");
        self.call_json::<(), _>(Method::POST, &path, None).await
    }

    /// This callee device is ringing (initiated → ringing).
    pub async fn call_ringing(&self, id: CallId) -> Result<Call> {
        self.call_step(id, "ringing").await
    }

    /// Answers a ringing call (→ in_progress).
    pub async fn accept_call(&self, id: CallId) -> Result<Call> {
        self.call_step(id, "accept").await
    }

    pub async fn decline_call(&self, id: CallId) -> Result<Call> {
        self.call_step(id, "decline").await
    }

    /// Hangs up (see `POST /v1/calls/{id}/hangup` in docs/API.md).
    pub async fn hangup_call(&self, id: CallId) -> Result<Call> {
        self.call_step(id, "hangup").await
    }

    /// Joins a (group) call in progress.
    pub async fn join_call(&self, id: CallId) -> Result<Call> {
        self.call_step(id, "join").await
    }

    pub async fn leave_call(&self, id: CallId) -> Result<Call> {
        self.call_step(id, "leave").await
    }

    // Live location

    /// Shares (or refreshes) this user's position with a conversation.
    pub async fn share_location(
        &self,
        conversation: ConversationId,
        body: &ShareLocation,
    ) -> Result<LiveLocation> {
        let path = format!("/v1/conversations/{conversation}/location");
        self.call_json(Method::PUT, &path, Some(body)).await
    }

    /// Stops sharing this user's position with a conversation.
    pub async fn stop_location(&self, conversation: ConversationId) -> Result<()> {
        let path = format!("/v1/conversations/{conversation}/location");
        self.call_unit::<()>(Method::DELETE, &path, None).await
    }

    /// The participants' live positions.
    pub async fn locations(&self, conversation: ConversationId) -> Result<Vec<LiveLocation>> {
        let path = format!("/v1/conversations/{conversation}/locations");
        self.call_json::<(), _>(Method::GET, &path, None).await
    }
}
