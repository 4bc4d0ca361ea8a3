//! The Redis backend: several `zynkd` instances share one Redis.
//!
//! Every method is one command, one `MULTI` pipeline or one Lua script (a
//! script runs atomically; `Script` sends `EVALSHA` and loads the script once
//! on `NOSCRIPT`). Lifetimes are Redis' own (`PX`, `PEXPIRE`), except for the
//! members of the GEO index `locations`, which cannot expire one by one: each
//! member's expiry (unix ms, Redis' clock via `TIME`) is the score of the same
//! member in the companion sorted set `locations:expiry`. Reads treat members
//! whose expiry has passed as absent and remove a bounded batch of expired
//! members from both keys; both keys also get the location lifetime as a
//! whole, refreshed by every `location_set`.
//!
//! Every key is `{prefix}{contract name}`; the prefix is `""` in production.
//! So is the pub/sub channel `{prefix}events`, published to through the
//! `ConnectionManager` and heard through a dedicated connection
//! (`events.rs`).

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{Cmd, FromRedisValue, Pipeline, Script, cmd};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;
use zynk_proto::UserId;

use crate::{
    EVENT_CAPACITY, Event, Position, RateDecision, Realtime, RealtimeError, Result, Ttls, millis,
};

mod events;

/// The member every `group_members:{…}` set holds, so that a cached empty
/// group is a key that exists (Redis deletes empty sets). Never a user id.
const GROUP_SENTINEL: &str = "";

/// Lua prelude of the location scripts: `now` (unix ms, Redis' clock), then
/// removes at most 100 expired members from both keys.
macro_rules! location_script {
    ($body:literal) => {
        concat!(
            "local t = redis.call('TIME')\n",
            "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
            "local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)\n",
            "if #dead > 0 then\n",
            "  redis.call('ZREM', KEYS[1], unpack(dead))\n",
            "  redis.call('ZREM', KEYS[2], unpack(dead))\n",
            "end\n",
            $body
        )
    };
}

/// KEYS: locations, locations:expiry. ARGV: longitude, latitude, member, ttl ms.
const LOCATION_SET: &str = location_script!(
    r"
redis.call('GEOADD', KEYS[1], ARGV[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"
);

/// KEYS: locations, locations:expiry. ARGV: members. Returns `[lon, lat]` or nil each.
/// (Lua's `unpack` bounds a call to some 7,900 members; callers ask for a
/// conversation's participants.)
const LOCATION_GET: &str = location_script!(
    r"
local expiry = redis.call('ZMSCORE', KEYS[2], unpack(ARGV))
local pos = redis.call('GEOPOS', KEYS[1], unpack(ARGV))
local out = {}
for i = 1, #ARGV do
  if expiry[i] and tonumber(expiry[i]) > now and pos[i] then
    out[i] = pos[i]
  else
    out[i] = false
  end
end
return out
"
);

/// KEYS: locations, locations:expiry. ARGV: member a, member b. Metres or nil.
const LOCATION_DISTANCE: &str = location_script!(
    r"
local expiry = redis.call('ZMSCORE', KEYS[2], ARGV[1], ARGV[2])
for i = 1, 2 do
  if not expiry[i] or tonumber(expiry[i]) <= now then return false end
end
return redis.call('GEODIST', KEYS[1], ARGV[1], ARGV[2], 'm')
"
);

/// KEYS: the counter. ARGV: window ms. Fixed window from the first request:
/// the lifetime is set only when the key has none (i.e. it was just created).
const RATE_LIMIT_HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// KEYS: the lock. ARGV: owner, ttl ms. 1 if `owner` holds it afterwards.
const TRY_LEASE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

pub struct RedisRealtime {
    /// Multiplexed and reconnecting; cloned (cheaply) per command.
    conn: ConnectionManager,
    ttls: Ttls,
    prefix: String,
    location_set: Script,
    location_get: Script,
    location_distance: Script,
    rate_limit_hit: Script,
    try_lease: Script,
    /// `{prefix}events`.
    channel: String,
    /// Fed by `subscriber`; `subscribe` hands out its receivers.
    events: broadcast::Sender<Event>,
    /// Stops the subscription task when this backend is dropped.
    _subscriber: events::Subscriber,
}

/// Milliseconds for `PX`/`PEXPIRE`, which reject 0.
fn px(d: Duration) -> u64 {
    millis(d).max(1)
}

impl RedisRealtime {
    /// Connects to `url`; every key gets `key_prefix` (`""` in production,
    /// random in tests so they do not see each other's keys).
    pub async fn connect(url: &str, ttls: Ttls, key_prefix: &str) -> Result<Self> {
        let client = ::redis::Client::open(url).map_err(|e| RealtimeError::Url(e.to_string()))?;
        let conn = ConnectionManager::new(client.clone()).await?;
        let channel = format!("{key_prefix}events");
        let events = broadcast::Sender::new(EVENT_CAPACITY);
        let subscriber = events::Subscriber::start(client, channel.clone(), events.clone()).await?;
        Ok(Self {
            conn,
            ttls,
            prefix: key_prefix.to_owned(),
            location_set: Script::new(LOCATION_SET),
            location_get: Script::new(LOCATION_GET),
            location_distance: Script::new(LOCATION_DISTANCE),
            rate_limit_hit: Script::new(RATE_LIMIT_HIT),
            try_lease: Script::new(TRY_LEASE),
            channel,
            events,
            _subscriber: subscriber,
        })
    }

    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        Ok(cmd.query_async(&mut self.conn.clone()).await?)
    }

    async fn exec(&self, pipe: &Pipeline) -> Result<()> {
        Ok(pipe.query_async(&mut self.conn.clone()).await?)
    }

    fn key(&self, name: std::fmt::Arguments<'_>) -> String {
        format!("{}{name}", self.prefix)
    }

    fn session_key(&self, token_hash: &str) -> String {
        self.key(format_args!("session:{token_hash}"))
    }

    fn online_key(&self) -> String {
        self.key(format_args!("online_users"))
    }

    fn typing_key(&self, conversation: Uuid, user: UserId) -> String {
        self.key(format_args!("typing:{conversation}:{user}"))
    }

    fn queue_key(&self, recipient: &str) -> String {
        self.key(format_args!("queue:messages:{recipient}"))
    }

    fn location_keys(&self) -> [String; 2] {
        [
            self.key(format_args!("locations")),
            self.key(format_args!("locations:expiry")),
        ]
    }

    fn location_details_key(&self, member: &str) -> String {
        self.key(format_args!("location:{member}"))
    }

    fn user_key(&self, user: UserId) -> String {
        self.key(format_args!("user:{user}"))
    }

    fn group_key(&self, group: Uuid) -> String {
        self.key(format_args!("group_members:{group}"))
    }

    fn rate_key(&self, ip: &str, endpoint: &str) -> String {
        self.key(format_args!("ratelimit:{ip}:{endpoint}"))
    }

    fn lock_key(&self, name: &str) -> String {
        self.key(format_args!("lock:{name}"))
    }

    fn device_key(&self, device: Uuid) -> String {
        self.key(format_args!("device_online:{device}"))
    }
}

#[async_trait]
impl Realtime for RedisRealtime {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<()> {
        self.query::<String>(&cmd("PING")).await.map(drop)
    }

    async fn session_put(&self, token_hash: &str, value: &str, ttl: Duration) -> Result<()> {
        let key = self.session_key(token_hash);
        let ms = millis(ttl.min(self.ttls.session));
        if ms == 0 {
            // Already expired: what was there must go too.
            return self.query(cmd("DEL").arg(key)).await;
        }
        self.query(cmd("SET").arg(key).arg(value).arg("PX").arg(ms))
            .await
    }

    async fn session_get(&self, token_hash: &str) -> Result<Option<String>> {
        self.query(cmd("GET").arg(self.session_key(token_hash)))
            .await
    }

    async fn session_del(&self, token_hashes: &[String]) -> Result<()> {
        if token_hashes.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = token_hashes.iter().map(|h| self.session_key(h)).collect();
        self.query(cmd("DEL").arg(keys)).await
    }

    async fn presence_touch(&self, user: UserId, at: DateTime<Utc>) -> Result<()> {
        let zadd = cmd("ZADD")
            .arg(self.online_key())
            .arg(at.timestamp_millis())
            .arg(user.to_string())
            .clone();
        self.query(&zadd).await
    }

    async fn presence_remove(&self, user: UserId) -> Result<()> {
        self.query(cmd("ZREM").arg(self.online_key()).arg(user.to_string()))
            .await
    }

    async fn presence_online(&self, users: &[UserId], since: DateTime<Utc>) -> Result<Vec<UserId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let members: Vec<String> = users.iter().map(UserId::to_string).collect();
        let scores: Vec<Option<f64>> = self
            .query(cmd("ZMSCORE").arg(self.online_key()).arg(members))
            .await?;
        // Unix milliseconds are below 2^53: exact as f64.
        let since = since.timestamp_millis() as f64;
        let online = users.iter().zip(scores);
        Ok(online
            .filter(|(_, score)| score.is_some_and(|s| s >= since))
            .map(|(user, _)| *user)
            .collect())
    }

    async fn presence_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let below = format!("({}", before.timestamp_millis());
        let prune = cmd("ZREMRANGEBYSCORE")
            .arg(self.online_key())
            .arg("-inf")
            .arg(below)
            .clone();
        self.query(&prune).await
    }

    async fn typing_set(&self, conversation: Uuid, user: UserId) -> Result<()> {
        let key = self.typing_key(conversation, user);
        let ms = px(self.ttls.typing);
        self.query(cmd("SET").arg(key).arg("1").arg("PX").arg(ms))
            .await
    }

    async fn typing_users(&self, conversation: Uuid, candidates: &[UserId]) -> Result<Vec<UserId>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = candidates
            .iter()
            .map(|u| self.typing_key(conversation, *u))
            .collect();
        let flags: Vec<Option<String>> = self.query(cmd("MGET").arg(keys)).await?;
        let typing = candidates.iter().zip(flags);
        Ok(typing
            .filter(|(_, flag)| flag.is_some())
            .map(|(user, _)| *user)
            .collect())
    }

    async fn queue_push(&self, recipient: &str, item: &str) -> Result<u64> {
        self.query(cmd("RPUSH").arg(self.queue_key(recipient)).arg(item))
            .await
    }

    async fn queue_peek(&self, recipient: &str, max: usize) -> Result<Vec<String>> {
        let Some(last) = max.checked_sub(1) else {
            return Ok(Vec::new());
        };
        let last = i64::try_from(last).unwrap_or(-1);
        self.query(
            cmd("LRANGE")
                .arg(self.queue_key(recipient))
                .arg(0)
                .arg(last),
        )
        .await
    }

    async fn queue_remove(&self, recipient: &str, item: &str) -> Result<()> {
        let key = self.queue_key(recipient);
        self.query::<u64>(cmd("LREM").arg(key).arg(0).arg(item))
            .await
            .map(drop)
    }

    async fn queue_len(&self, recipient: &str) -> Result<u64> {
        self.query(cmd("LLEN").arg(self.queue_key(recipient))).await
    }

    async fn queue_clear(&self, recipient: &str) -> Result<()> {
        self.query(cmd("DEL").arg(self.queue_key(recipient))).await
    }

    async fn location_set(&self, member: &str, position: Position) -> Result<()> {
        let position = position.check()?;
        let [geo, expiry] = self.location_keys();
        let mut invocation = self.location_set.key(geo);
        invocation
            .key(expiry)
            .arg(position.longitude)
            .arg(position.latitude)
            .arg(member)
            .arg(px(self.ttls.location));
        let _: i64 = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn location_get(&self, members: &[String]) -> Result<Vec<Option<Position>>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let [geo, expiry] = self.location_keys();
        let mut invocation = self.location_get.key(geo);
        invocation.key(expiry).arg(members);
        let found: Vec<Option<(f64, f64)>> =
            invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(found
            .into_iter()
            .map(|p| {
                p.map(|(longitude, latitude)| Position {
                    longitude,
                    latitude,
                })
            })
            .collect())
    }

    async fn location_distance(&self, a: &str, b: &str) -> Result<Option<f64>> {
        let [geo, expiry] = self.location_keys();
        let mut invocation = self.location_distance.key(geo);
        invocation.key(expiry).arg(a).arg(b);
        Ok(invocation.invoke_async(&mut self.conn.clone()).await?)
    }

    async fn location_remove(&self, member: &str) -> Result<()> {
        let [geo, expiry] = self.location_keys();
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        pipe.cmd("ZREM").arg(geo).arg(member).ignore();
        pipe.cmd("ZREM").arg(expiry).arg(member).ignore();
        pipe.cmd("DEL")
            .arg(self.location_details_key(member))
            .ignore();
        self.exec(&pipe).await
    }

    async fn location_details_set(&self, member: &str, details: &str) -> Result<()> {
        let (key, ms) = (self.location_details_key(member), px(self.ttls.location));
        self.query(cmd("SET").arg(key).arg(details).arg("PX").arg(ms))
            .await
    }

    async fn location_details_get(&self, members: &[String]) -> Result<Vec<Option<String>>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = members
            .iter()
            .map(|m| self.location_details_key(m))
            .collect();
        self.query(cmd("MGET").arg(keys)).await
    }

    async fn user_cache_put(&self, user: UserId, json: &str) -> Result<()> {
        let key = self.user_key(user);
        let ms = px(self.ttls.user_cache);
        self.query(cmd("SET").arg(key).arg(json).arg("PX").arg(ms))
            .await
    }

    async fn user_cache_get(&self, user: UserId) -> Result<Option<String>> {
        self.query(cmd("GET").arg(self.user_key(user))).await
    }

    async fn user_cache_del(&self, user: UserId) -> Result<()> {
        self.query(cmd("DEL").arg(self.user_key(user))).await
    }

    async fn group_members_put(&self, group: Uuid, members: &[UserId]) -> Result<()> {
        let key = self.group_key(group);
        let mut set = vec![GROUP_SENTINEL.to_owned()];
        set.extend(members.iter().map(UserId::to_string));
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        pipe.cmd("DEL").arg(&key).ignore();
        pipe.cmd("SADD").arg(&key).arg(set).ignore();
        pipe.cmd("PEXPIRE")
            .arg(&key)
            .arg(px(self.ttls.group_members))
            .ignore();
        self.exec(&pipe).await
    }

    async fn group_members_get(&self, group: Uuid) -> Result<Option<Vec<UserId>>> {
        let key = self.group_key(group);
        let set: Vec<String> = self.query(cmd("SMEMBERS").arg(&key)).await?;
        if set.is_empty() {
            return Ok(None);
        }
        let mut members = Vec::with_capacity(set.len());
        for member in set.iter().filter(|m| *m != GROUP_SENTINEL) {
            match member.parse::<UserId>() {
                Ok(user) => members.push(user),
                Err(e) => {
                    // Not written by us: treat as a miss, the store answers.
                    tracing::warn!(%key, %member, error = %e, "bad group_members entry");
                    return Ok(None);
                }
            }
        }
        members.sort_unstable();
        Ok(Some(members))
    }

    async fn group_members_del(&self, group: Uuid) -> Result<()> {
        self.query(cmd("DEL").arg(self.group_key(group))).await
    }

    async fn rate_limit_hit(&self, ip: &str, endpoint: &str, limit: u64) -> Result<RateDecision> {
        let mut invocation = self.rate_limit_hit.key(self.rate_key(ip, endpoint));
        invocation.arg(px(self.ttls.rate_window));
        let (count, ttl): (u64, i64) = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(RateDecision {
            count,
            allowed: count <= limit,
            reset_in: Duration::from_millis(u64::try_from(ttl).unwrap_or(0)),
        })
    }

    async fn publish(&self, payload: &str) -> Result<()> {
        self.query::<u64>(cmd("PUBLISH").arg(&self.channel).arg(payload))
            .await
            .map(drop)
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let mut invocation = self.try_lease.key(self.lock_key(name));
        invocation.arg(owner).arg(px(ttl));
        let held: i64 = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(held == 1)
    }

    async fn device_connected(&self, device: Uuid, ttl: Duration) -> Result<()> {
        let key = self.device_key(device);
        self.query(cmd("SET").arg(key).arg("1").arg("PX").arg(px(ttl)))
            .await
    }

    async fn device_disconnected(&self, device: Uuid) -> Result<()> {
        self.query(cmd("DEL").arg(self.device_key(device))).await
    }

    async fn devices_connected(&self, devices: &[Uuid]) -> Result<Vec<Uuid>> {
        if devices.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = devices.iter().map(|d| self.device_key(*d)).collect();
        let found: Vec<Option<String>> = self.query(cmd("MGET").arg(keys)).await?;
        Ok(devices
            .iter()
            .zip(found)
            .filter_map(|(d, v)| v.map(|_| *d))
            .collect())
    }
}
