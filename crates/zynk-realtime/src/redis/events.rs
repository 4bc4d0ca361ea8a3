//! The Redis backend's event subscriber: one background task owning a
//! dedicated pub/sub connection (the multiplexed `ConnectionManager` cannot
//! subscribe) on `{prefix}events`, forwarding every message into the
//! backend's broadcast channel.
//!
//! The first subscription is made by `Subscriber::start` itself, so a
//! publish after `RedisRealtime::connect` returns is never missed. After
//! that, any failure (the stream ends, or a keep-alive `PING` fails or goes
//! unanswered) is logged; the task waits (100 ms, doubling up to 5 s),
//! reconnects, resubscribes and then sends `Event::Resync`, since whatever
//! was published in between is lost. Dropping the `Subscriber` (i.e. the
//! `RedisRealtime`) aborts the task, which drops the connection.

use std::time::Duration;

use ::redis::aio::{PubSubSink, PubSubStream};
use ::redis::{Client, Msg, RedisResult, Value};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::{Event, Result};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an idle subscription is checked with `PING`…
const KEEPALIVE: Duration = Duration::from_secs(30);
/// …and how long the answer may take before the connection counts as dead.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The running subscriber; aborts its task when dropped.
pub(super) struct Subscriber {
    task: JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One live subscription.
struct Subscription {
    sink: PubSubSink,
    stream: PubSubStream,
}

impl Subscription {
    async fn open(client: &Client, channel: &str) -> RedisResult<Self> {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        let (sink, stream) = pubsub.split();
        Ok(Self { sink, stream })
    }

    /// Forwards messages until the subscription fails; returns why.
    async fn forward(&mut self, events: &broadcast::Sender<Event>) -> String {
        let mut keepalive =
            tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
        loop {
            tokio::select! {
                msg = self.stream.next() => match msg {
                    Some(msg) => {
                        // No receiver is fine: nobody is listening now.
                        let _ = events.send(Event::Message(payload(&msg)));
                    }
                    None => return "subscription connection closed".to_owned(),
                },
                _ = keepalive.tick() => {
                    match tokio::time::timeout(PING_TIMEOUT, self.sink.ping::<Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return format!("keep-alive ping failed: {e}"),
                        Err(_) => return "keep-alive ping timed out".to_owned(),
                    }
                }
            }
        }
    }
}

fn payload(msg: &Msg) -> std::sync::Arc<str> {
    match std::str::from_utf8(msg.get_payload_bytes()) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(msg.get_payload_bytes()).into(),
    }
}

impl Subscriber {
    /// Subscribes to `channel` (failing if Redis cannot be reached), then
    /// keeps the subscription alive in a background task.
    pub(super) async fn start(
        client: Client,
        channel: String,
        events: broadcast::Sender<Event>,
    ) -> Result<Self> {
        let first = Subscription::open(&client, &channel).await?;
        let task = tokio::spawn(run(client, channel, events, first));
        Ok(Self { task })
    }
}

async fn run(
    client: Client,
    channel: String,
    events: broadcast::Sender<Event>,
    mut subscription: Subscription,
) {
    loop {
        let why = subscription.forward(&events).await;
        tracing::warn!(%channel, reason = %why, "event subscription lost; reconnecting");
        subscription = reconnect(&client, &channel).await;
        tracing::info!(%channel, "event subscription restored");
        let _ = events.send(Event::Resync);
    }
}

/// Retries with exponential backoff until subscribed again.
async fn reconnect(client: &Client, channel: &str) -> Subscription {
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        match Subscription::open(client, channel).await {
            Ok(subscription) => return subscription,
            Err(e) => {
                backoff = (backoff * 2).min(MAX_BACKOFF);
                tracing::warn!(%channel, error = %e, retry_in = ?backoff, "event resubscription failed");
            }
        }
    }
}
