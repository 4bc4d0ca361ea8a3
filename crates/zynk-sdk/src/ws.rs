//! The realtime WebSocket: `Client::connect` and `Connection`.
//!
//! `connect` opens `ws(s)://{base}/v1/ws`, authenticates with the first
//! frame (`{"type":"auth","token":…}`) and waits for `ready`. Then:
//! - `Connection::next` / `next_timeout` return every server frame as it
//!   arrives (answering WebSocket pings, skipping non-text frames);
//! - `Connection::next_new` implements the delivery contract: it returns
//!   each `message.new` / `device_message` once (an `Inbox` drops
//!   redeliveries) and acks it right after handing it over, so delivery is
//!   at-least-once on the wire and exactly-once to the app.
//!
//! `Ok(None)` from the readers always means the connection is closed; a
//! reader that runs out of time fails with `SdkError::Timeout` instead.
//!
//! Plain `ws://` only for now: the TLS features of `tokio-tungstenite` are
//! not enabled, so an `https://` base yields a `wss://` URL that fails to
//! connect with `SdkError::WebSocket`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;
use zynk_proto::*;

use crate::{Client, Inbox, Result, SdkError};

/// How long `connect` may take, handshake and `ready` included.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `close` waits for the server's side of the closing handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most ids in one `ack` frame.
const ACK_BATCH: usize = 500;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The WebSocket URL of the server at `base`: `http://h` → `ws://h/v1/ws`,
/// `https://h` → `wss://h/v1/ws` (a `ws(s)://` base is kept as it is).
pub fn ws_url(base: &str) -> Result<String> {
    let base = base.trim_end_matches('/');
    let swap = [
        ("http://", "ws://"),
        ("https://", "wss://"),
        ("ws://", "ws://"),
        ("wss://", "wss://"),
    ];
    for (from, to) in swap {
        let scheme = base.get(..from.len());
        if scheme.is_some_and(|s| s.eq_ignore_ascii_case(from)) {
            let rest = &base[from.len()..];
            if rest.is_empty() {
                break;
            }
            return Ok(format!("{to}{rest}/v1/ws"));
        }
    }
    Err(SdkError::Url(format!("not an http(s) URL: {base:?}")))
}

impl SdkError {
    /// Whether this is a reader's (or `connect`'s) timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, SdkError::Timeout(_))
    }
}

impl Client {
    /// Opens the realtime WebSocket as the current session (fresh `Inbox`).
    pub async fn connect(&self) -> Result<Connection> {
        self.connect_with(Inbox::default()).await
    }

    /// Opens the realtime WebSocket, deduplicating against `inbox` (e.g. the
    /// previous connection's, from `Connection::into_inbox`). Fails with the
    /// server's problem (`SdkError::Api`) if it refuses the token, and with
    /// `SdkError::Timeout` if `ready` does not come within `CONNECT_TIMEOUT`.
    pub async fn connect_with(&self, inbox: Inbox) -> Result<Connection> {
        let url = ws_url(&self.base)?;
        let token = self.session_token()?;
        let open = Connection::open(&url, token, inbox);
        tokio::time::timeout(CONNECT_TIMEOUT, open)
            .await
            .map_err(|_| SdkError::Timeout(CONNECT_TIMEOUT))?
    }
}

/// One authenticated realtime connection (one device). Never prints the
/// token: it is not kept after authentication.
pub struct Connection {
    socket: Socket,
    user_id: UserId,
    device_id: DeviceId,
    inbox: Inbox,
    /// Ids handed over (or redelivered) whose ack is not sent yet.
    unacked: Vec<Uuid>,
    /// A frame `next_new` accepted but has not returned yet (its call was
    /// cancelled while acking): the next reader returns it first.
    held: Option<ServerFrame>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("user_id", &self.user_id)
            .field("device_id", &self.device_id)
            .field("seen", &self.inbox.len())
            .field("unacked", &self.unacked.len())
            .finish_non_exhaustive()
    }
}

/// The server's refusal of the upgrade, as its problem document.
fn handshake_error(e: WsError) -> SdkError {
    let WsError::Http(response) = e else {
        return e.into();
    };
    let status = response.status();
    let body = response.body().as_deref().unwrap_or_default();
    let problem = serde_json::from_slice(body).unwrap_or_else(|_| Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("error").into(),
        status: status.as_u16(),
        detail: Some(String::from_utf8_lossy(body).into_owned()),
    });
    SdkError::Api {
        status: status.as_u16(),
        problem,
    }
}

/// A read error, or `None` if it only says the connection is over.
fn closed_or(e: WsError) -> Result<Option<ServerFrame>> {
    match e {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Ok(None),
        e => Err(e.into()),
    }
}

/// The next text frame, parsed; `None` once closed.
async fn recv(socket: &mut Socket) -> Result<Option<ServerFrame>> {
    loop {
        let msg = match socket.next().await {
            None => return Ok(None),
            Some(Err(e)) => return closed_or(e),
            Some(Ok(msg)) => msg,
        };
        match msg {
            WsMessage::Text(text) => {
                return match serde_json::from_str(text.as_str()) {
                    Ok(frame) => Ok(Some(frame)),
                    Err(e) => {
                        let start: String = text.as_str().chars().take(200).collect();
                        Err(SdkError::Protocol(format!("bad frame ({e}): {start}")))
                    }
                };
            }
            // tungstenite queued the pong; send it now.
            WsMessage::Ping(_) => {
                if let Err(e) = socket.flush().await {
                    return closed_or(e);
                }
            }
            // The closing handshake is answered by tungstenite; the stream
            // ends right after.
            WsMessage::Close(_) | WsMessage::Binary(_) | WsMessage::Pong(_) => {}
            WsMessage::Frame(_) => {}
        }
    }
}

/// The id `next_new` dedupes and acks `frame` by, if any.
fn delivery_id(frame: &ServerFrame) -> Option<Uuid> {
    match frame {
        ServerFrame::MessageNew { message } => Some(message.id.0),
        ServerFrame::DeviceMessage { message } => Some(message.id.0),
        _ => None,
    }
}

impl Connection {
    async fn open(url: &str, token: &str, inbox: Inbox) -> Result<Self> {
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(handshake_error)?;
        let auth = ClientFrame::Auth {
            token: token.to_owned(),
        };
        let text = serde_json::to_string(&auth).map_err(|e| SdkError::Protocol(e.to_string()))?;
        socket.send(WsMessage::Text(text.into())).await?;
        let (user_id, device_id) = match recv(&mut socket).await? {
            Some(ServerFrame::Ready { user_id, device_id }) => (user_id, device_id),
            Some(ServerFrame::Error { problem }) => {
                return Err(SdkError::Api {
                    status: problem.status,
                    problem,
                });
            }
            Some(_) => return Err(SdkError::Protocol("expected `ready` first".into())),
            None => {
                return Err(SdkError::Protocol(
                    "connection closed before `ready`".into(),
                ));
            }
        };
        Ok(Self {
            socket,
            user_id,
            device_id,
            inbox,
            unacked: Vec::new(),
            held: None,
        })
    }

    /// The account this connection is authenticated as.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The device this connection is authenticated as.
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The ids `next_new` has handed over.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// The inbox, to carry over to the next connection (`connect_with`).
    pub fn into_inbox(self) -> Inbox {
        self.inbox
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<()> {
        let text = serde_json::to_string(frame).map_err(|e| SdkError::Protocol(e.to_string()))?;
        self.socket.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    /// The next frame, exactly as the server sent it (no dedupe, no acks;
    /// `error` frames included); `Ok(None)` once the connection is closed.
    /// Cancel-safe. A frame that does not parse is `SdkError::Protocol`.
    pub async fn next(&mut self) -> Result<Option<ServerFrame>> {
        if let Some(frame) = self.held.take() {
            return Ok(Some(frame));
        }
        recv(&mut self.socket).await
    }

    /// `next`, waiting at most `timeout`: `Err(SdkError::Timeout)` if
    /// nothing came (the connection stays usable), `Ok(None)` only if closed.
    pub async fn next_timeout(&mut self, timeout: Duration) -> Result<Option<ServerFrame>> {
        tokio::time::timeout(timeout, self.next())
            .await
            .map_err(|_| SdkError::Timeout(timeout))?
    }

    /// The next frame not handed over before, waiting at most `timeout`
    /// (`Err(SdkError::Timeout)`; `Ok(None)` once closed). `message.new` and
    /// `device_message` frames are deduplicated by id through the inbox and
    /// acked right after being taken — redeliveries are acked again, since
    /// the server resends only what it believes unacked. Other frames pass
    /// through. At-least-once on the wire, exactly-once to the app (within
    /// the inbox's memory). Cancel-safe: a frame taken by a cancelled call
    /// is returned by the next one. An ack that cannot be sent is retried
    /// by the next call (the broken connection then shows as its error).
    pub async fn next_new(&mut self, timeout: Duration) -> Result<Option<ServerFrame>> {
        if self.held.is_none() {
            let deadline = Instant::now() + timeout;
            loop {
                let read = tokio::time::timeout_at(deadline, recv(&mut self.socket)).await;
                let Ok(read) = read else {
                    self.try_flush_acks().await;
                    return Err(SdkError::Timeout(timeout));
                };
                let Some(frame) = read? else {
                    return Ok(None);
                };
                match delivery_id(&frame) {
                    None => {}
                    Some(id) => {
                        self.unacked.push(id);
                        if !self.inbox.insert(id) {
                            continue;
                        }
                    }
                }
                self.held = Some(frame);
                break;
            }
        }
        self.try_flush_acks().await;
        Ok(self.held.take())
    }

    /// Sends the acks `next_new` owes, if any.
    pub async fn flush_acks(&mut self) -> Result<()> {
        while !self.unacked.is_empty() {
            let n = self.unacked.len().min(ACK_BATCH);
            // Cloned, not drained: if this is cancelled, they are sent again
            // later (a repeated ack is harmless).
            let ids = self.unacked[..n].to_vec();
            self.send(&ClientFrame::Ack { ids }).await?;
            self.unacked.drain(..n);
        }
        Ok(())
    }

    async fn try_flush_acks(&mut self) {
        // A failure leaves the ids queued; the next read reports it.
        let _ = self.flush_acks().await;
    }

    /// Acknowledges messages / device messages by id: they will not be
    /// delivered again. (`next_new` does this itself.)
    pub async fn ack(&mut self, ids: impl IntoIterator<Item = Uuid>) -> Result<()> {
        let ids = ids.into_iter().collect();
        self.send(&ClientFrame::Ack { ids }).await
    }

    /// Says the user is typing in `conversation_id`.
    pub async fn typing(&mut self, conversation_id: ConversationId) -> Result<()> {
        self.send(&ClientFrame::Typing { conversation_id }).await
    }

    /// Marks `conversation_id` read up to `up_to`.
    pub async fn read(
        &mut self,
        conversation_id: ConversationId,
        up_to: DateTime<Utc>,
    ) -> Result<()> {
        self.send(&ClientFrame::Read {
            conversation_id,
            up_to,
        })
        .await
    }

    /// An application-level ping; the server answers with `pong`.
    pub async fn ping(&mut self) -> Result<()> {
        self.send(&ClientFrame::Ping).await
    }

    /// Sends a message over the socket (see `outgoing`); the server answers
    /// with `sent` (or `error`).
    pub async fn send_message(
        &mut self,
        conversation_id: ConversationId,
        message: SendMessage,
    ) -> Result<()> {
        self.send(&ClientFrame::Send {
            conversation_id,
            message,
        })
        .await
    }

    /// Sends the owed acks, then closes the connection cleanly (waiting
    /// briefly for the server's side of the closing handshake; frames still
    /// in flight are dropped and, unacked, redelivered next time).
    pub async fn close(&mut self) -> Result<()> {
        self.try_flush_acks().await;
        match self.socket.close(None).await {
            Ok(()) => {}
            Err(e) => {
                closed_or(e)?;
            }
        }
        // Until the stream ends: the server's close frame ends it.
        let drain = async { while let Some(Ok(_)) = self.socket.next().await {} };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_url_follows_the_http_scheme() {
        let url = |base| ws_url(base).ok();
        assert_eq!(
            url("http://127.0.0.1:8080").as_deref(),
            Some("ws://127.0.0.1:8080/v1/ws")
        );
        assert_eq!(url("http://h:1/").as_deref(), Some("ws://h:1/v1/ws"));
        assert_eq!(
            url("https://chat.example").as_deref(),
            Some("wss://chat.example/v1/ws")
        );
        assert_eq!(
            url("HTTPS://chat.example/zynk").as_deref(),
            Some("wss://chat.example/zynk/v1/ws")
        );
        assert_eq!(url("ws://h").as_deref(), Some("ws://h/v1/ws"));
        assert_eq!(url("wss://h").as_deref(), Some("wss://h/v1/ws"));
    }

    #[test]
    fn ws_url_rejects_other_schemes() {
        for base in ["ftp://h", "127.0.0.1:8080", "", "http://", "https:///"] {
            let err = ws_url(base).err();
            assert!(matches!(err, Some(SdkError::Url(_))), "{base}: {err:?}");
        }
    }
}
