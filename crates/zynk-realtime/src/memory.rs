//! The in-process backend: the §4 structures in one `Mutex<State>`, for the
//! embedded single-instance server.
//!
//! Semantics match the Redis backend (the conformance suite runs both):
//! lifetimes are measured with `tokio::time::Instant`, so tests drive them
//! with `tokio::time::pause()`/`advance()`. An expired entry is invisible to
//! reads and removed when it is next touched; in addition every write counts
//! towards a full sweep, run once the number of writes since the last sweep
//! reaches the number of entries (at least `SWEEP_MIN_WRITES`), so memory stays
//! bounded by the live entries at an amortised constant cost per write.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use tokio::time::Instant;
use uuid::Uuid;
use zynk_proto::UserId;

use crate::{EVENT_CAPACITY, Event, Position, RateDecision, Realtime, Result, Ttls, millis};

/// Writes between two sweeps, at least.
const SWEEP_MIN_WRITES: usize = 1024;

/// Redis' earth radius for GEODIST, so both backends agree to the metre.
const EARTH_RADIUS_M: f64 = 6_372_797.560_856;

pub struct MemoryRealtime {
    ttls: Ttls,
    /// A std `Mutex`: every critical section is short and synchronous, and
    /// the guard is never held across an `.await`.
    state: Mutex<State>,
    /// The event bus: with one instance, publishing is broadcasting.
    events: broadcast::Sender<Event>,
}

#[derive(Clone, Copy)]
struct Expiring<T> {
    value: T,
    expires_at: Instant,
}

impl<T> Expiring<T> {
    fn new(value: T, now: Instant, ttl: Duration) -> Self {
        Self {
            value,
            expires_at: now + ttl,
        }
    }

    fn live(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

#[derive(Default)]
struct State {
    /// `session:{token_hash}`
    sessions: HashMap<String, Expiring<String>>,
    /// `online_users`: unix milliseconds, no lifetime (pruned by score).
    online: HashMap<UserId, i64>,
    /// `typing:{conversation_id}:{user_id}`
    typing: HashMap<(Uuid, UserId), Instant>,
    /// `queue:messages:{recipient}`; an emptied list is removed, as in Redis.
    queues: HashMap<String, VecDeque<String>>,
    /// `locations`, each member with its own lifetime.
    locations: HashMap<String, Expiring<Position>>,
    /// `location:{member}`
    location_details: HashMap<String, Expiring<String>>,
    /// `user:{user_id}`
    users: HashMap<UserId, Expiring<String>>,
    /// `group_members:{group_id}`; an empty set is a cached empty group.
    groups: HashMap<Uuid, Expiring<BTreeSet<UserId>>>,
    /// `ratelimit:{ip}:{endpoint}`, keyed by `{ip}:{endpoint}` exactly as
    /// Redis concatenates it.
    rates: HashMap<String, Expiring<u64>>,
    /// `lock:{name}` → owner.
    leases: HashMap<String, Expiring<String>>,
    /// `device_online:{device_id}`
    devices: HashMap<Uuid, Expiring<()>>,
    writes_until_sweep: usize,
}

impl State {
    /// Counts one write; sweeps every expired entry when the count is due.
    fn wrote(&mut self, now: Instant) {
        self.writes_until_sweep = self.writes_until_sweep.saturating_sub(1);
        if self.writes_until_sweep > 0 {
            return;
        }
        self.sessions.retain(|_, e| e.live(now));
        self.typing.retain(|_, at| now < *at);
        self.locations.retain(|_, e| e.live(now));
        self.location_details.retain(|_, e| e.live(now));
        self.users.retain(|_, e| e.live(now));
        self.groups.retain(|_, e| e.live(now));
        self.rates.retain(|_, e| e.live(now));
        self.leases.retain(|_, e| e.live(now));
        self.devices.retain(|_, e| e.live(now));
        let entries = self.sessions.len()
            + self.typing.len()
            + self.locations.len()
            + self.location_details.len()
            + self.users.len()
            + self.groups.len()
            + self.rates.len()
            + self.leases.len()
            + self.devices.len();
        self.writes_until_sweep = entries.max(SWEEP_MIN_WRITES);
    }
}

/// The live value under `key`, removing it if it has expired.
fn read<'a, K, Q, V>(map: &'a mut HashMap<K, Expiring<V>>, key: &Q, now: Instant) -> Option<&'a V>
where
    K: Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ?Sized,
{
    if map.get(key).is_some_and(|e| !e.live(now)) {
        map.remove(key);
    }
    map.get(key).map(|e| &e.value)
}

/// GEODIST's haversine, with Redis' constants.
fn distance(a: Position, b: Position) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let u = ((lat2 - lat1) / 2.0).sin();
    let v = ((b.longitude.to_radians() - a.longitude.to_radians()) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1.cos() * lat2.cos() * v * v).sqrt().asin()
}

impl MemoryRealtime {
    pub fn new(ttls: Ttls) -> Self {
        Self {
            ttls,
            state: Mutex::new(State::default()),
            events: broadcast::Sender::new(EVENT_CAPACITY),
        }
    }

    /// The state, even after a panic elsewhere: every update leaves it
    /// consistent, and it is only a cache.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state as one write.
    fn write<T>(&self, f: impl FnOnce(&mut State, Instant) -> T) -> T {
        let now = Instant::now();
        let mut state = self.state();
        let out = f(&mut state, now);
        state.wrote(now);
        out
    }

    /// Runs `f` on the state as a read (which may drop expired entries).
    fn read<T>(&self, f: impl FnOnce(&mut State, Instant) -> T) -> T {
        let now = Instant::now();
        f(&mut self.state(), now)
    }
}

#[async_trait]
impl Realtime for MemoryRealtime {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn session_put(&self, token_hash: &str, value: &str, ttl: Duration) -> Result<()> {
        let ttl = ttl.min(self.ttls.session);
        self.write(|s, now| {
            if millis(ttl) == 0 {
                s.sessions.remove(token_hash);
            } else {
                let entry = Expiring::new(value.to_owned(), now, ttl);
                s.sessions.insert(token_hash.to_owned(), entry);
            }
        });
        Ok(())
    }

    async fn session_get(&self, token_hash: &str) -> Result<Option<String>> {
        Ok(self.read(|s, now| read(&mut s.sessions, token_hash, now).cloned()))
    }

    async fn session_del(&self, token_hashes: &[String]) -> Result<()> {
        self.write(|s, _| {
            for hash in token_hashes {
                s.sessions.remove(hash);
            }
        });
        Ok(())
    }

    async fn presence_touch(&self, user: UserId, at: DateTime<Utc>) -> Result<()> {
        self.write(|s, _| s.online.insert(user, at.timestamp_millis()));
        Ok(())
    }

    async fn presence_remove(&self, user: UserId) -> Result<()> {
        self.write(|s, _| s.online.remove(&user));
        Ok(())
    }

    async fn presence_online(&self, users: &[UserId], since: DateTime<Utc>) -> Result<Vec<UserId>> {
        let since = since.timestamp_millis();
        Ok(self.read(|s, _| {
            let online = |u: &&UserId| s.online.get(u).is_some_and(|at| *at >= since);
            users.iter().filter(online).copied().collect()
        }))
    }

    async fn presence_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = before.timestamp_millis();
        let removed = self.write(|s, _| {
            let len = s.online.len();
            s.online.retain(|_, at| *at >= before);
            len - s.online.len()
        });
        Ok(u64::try_from(removed).unwrap_or(u64::MAX))
    }

    async fn typing_set(&self, conversation: Uuid, user: UserId) -> Result<()> {
        let ttl = self.ttls.typing;
        self.write(|s, now| s.typing.insert((conversation, user), now + ttl));
        Ok(())
    }

    async fn typing_users(&self, conversation: Uuid, candidates: &[UserId]) -> Result<Vec<UserId>> {
        Ok(self.read(|s, now| {
            let mut typing = Vec::new();
            for &user in candidates {
                match s.typing.get(&(conversation, user)) {
                    Some(until) if now < *until => typing.push(user),
                    Some(_) => {
                        s.typing.remove(&(conversation, user));
                    }
                    None => {}
                }
            }
            typing
        }))
    }

    async fn queue_push(&self, recipient: &str, item: &str) -> Result<u64> {
        let len = self.write(|s, _| {
            let queue = s.queues.entry(recipient.to_owned()).or_default();
            queue.push_back(item.to_owned());
            queue.len()
        });
        Ok(u64::try_from(len).unwrap_or(u64::MAX))
    }

    async fn queue_peek(&self, recipient: &str, max: usize) -> Result<Vec<String>> {
        Ok(self.read(|s, _| {
            let queue = s.queues.get(recipient).into_iter().flatten();
            queue.take(max).cloned().collect()
        }))
    }

    async fn queue_remove(&self, recipient: &str, item: &str) -> Result<()> {
        self.write(|s, _| {
            if let Some(queue) = s.queues.get_mut(recipient) {
                queue.retain(|queued| queued != item);
                if queue.is_empty() {
                    s.queues.remove(recipient);
                }
            }
        });
        Ok(())
    }

    async fn queue_len(&self, recipient: &str) -> Result<u64> {
        let len = self.read(|s, _| s.queues.get(recipient).map_or(0, VecDeque::len));
        Ok(u64::try_from(len).unwrap_or(u64::MAX))
    }

    async fn queue_clear(&self, recipient: &str) -> Result<()> {
        self.write(|s, _| s.queues.remove(recipient));
        Ok(())
    }

    async fn location_set(&self, member: &str, position: Position) -> Result<()> {
        let position = position.check()?;
        let ttl = self.ttls.location;
        self.write(|s, now| {
            let entry = Expiring::new(position, now, ttl);
            s.locations.insert(member.to_owned(), entry);
        });
        Ok(())
    }

    async fn location_get(&self, members: &[String]) -> Result<Vec<Option<Position>>> {
        Ok(self.read(|s, now| {
            let mut get = |m: &String| read(&mut s.locations, m.as_str(), now).copied();
            members.iter().map(&mut get).collect()
        }))
    }

    async fn location_distance(&self, a: &str, b: &str) -> Result<Option<f64>> {
        Ok(self.read(|s, now| {
            let a = read(&mut s.locations, a, now).copied()?;
            let b = read(&mut s.locations, b, now).copied()?;
            Some(distance(a, b))
        }))
    }

    async fn location_remove(&self, member: &str) -> Result<()> {
        self.write(|s, _| {
            s.locations.remove(member);
            s.location_details.remove(member)
        });
        Ok(())
    }

    async fn location_details_set(&self, member: &str, details: &str) -> Result<()> {
        let entry = |now| Expiring::new(details.to_owned(), now, self.ttls.location);
        self.write(|s, now| s.location_details.insert(member.to_owned(), entry(now)));
        Ok(())
    }

    async fn location_details_get(&self, members: &[String]) -> Result<Vec<Option<String>>> {
        Ok(self.read(|s, now| {
            let mut get = |m: &String| read(&mut s.location_details, m.as_str(), now).cloned();
            members.iter().map(&mut get).collect()
        }))
    }

    async fn user_cache_put(&self, user: UserId, json: &str) -> Result<()> {
        let ttl = self.ttls.user_cache;
        self.write(|s, now| {
            s.users
                .insert(user, Expiring::new(json.to_owned(), now, ttl))
        });
        Ok(())
    }

    async fn user_cache_get(&self, user: UserId) -> Result<Option<String>> {
        Ok(self.read(|s, now| read(&mut s.users, &user, now).cloned()))
    }

    async fn user_cache_del(&self, user: UserId) -> Result<()> {
        self.write(|s, _| s.users.remove(&user));
        Ok(())
    }

    async fn group_members_put(&self, group: Uuid, members: &[UserId]) -> Result<()> {
        let ttl = self.ttls.group_members;
        let set: BTreeSet<UserId> = members.iter().copied().collect();
        self.write(|s, now| s.groups.insert(group, Expiring::new(set, now, ttl)));
        Ok(())
    }

    async fn group_members_get(&self, group: Uuid) -> Result<Option<Vec<UserId>>> {
        Ok(self.read(|s, now| {
            let set = read(&mut s.groups, &group, now)?;
            Some(set.iter().copied().collect())
        }))
    }

    async fn group_members_del(&self, group: Uuid) -> Result<()> {
        self.write(|s, _| s.groups.remove(&group));
        Ok(())
    }

    async fn rate_limit_hit(&self, ip: &str, endpoint: &str, limit: u64) -> Result<RateDecision> {
        let window = self.ttls.rate_window;
        let (count, expires_at, now) = self.write(|s, now| {
            let fresh = Expiring::new(0, now, window);
            let entry = s
                .rates
                .entry(format!("{ip}:{endpoint}"))
                .and_modify(|e| {
                    if !e.live(now) {
                        *e = fresh;
                    }
                })
                .or_insert(fresh);
            entry.value = entry.value.saturating_add(1);
            (entry.value, entry.expires_at, now)
        });
        Ok(RateDecision {
            count,
            allowed: count <= limit,
            reset_in: expires_at.saturating_duration_since(now),
        })
    }

    async fn publish(&self, payload: &str) -> Result<()> {
        // No receiver is not an error: nobody is listening.
        let _ = self.events.send(Event::Message(payload.into()));
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        // As `PX`, which rejects 0: at least one millisecond.
        let ttl = ttl.max(Duration::from_millis(1));
        Ok(self.write(|s, now| {
            if read(&mut s.leases, name, now).is_some_and(|held| held != owner) {
                return false;
            }
            let lease = Expiring::new(owner.to_owned(), now, ttl);
            s.leases.insert(name.to_owned(), lease);
            true
        }))
    }

    async fn device_connected(&self, device: Uuid, ttl: Duration) -> Result<()> {
        let ttl = ttl.max(Duration::from_millis(1));
        self.write(|s, now| s.devices.insert(device, Expiring::new((), now, ttl)));
        Ok(())
    }

    async fn device_disconnected(&self, device: Uuid) -> Result<()> {
        self.write(|s, _| s.devices.remove(&device));
        Ok(())
    }

    async fn devices_connected(&self, devices: &[Uuid]) -> Result<Vec<Uuid>> {
        Ok(self.read(|s, now| {
            let live = |d: &&Uuid| read(&mut s.devices, *d, now).is_some();
            devices.iter().filter(live).copied().collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sweep_bounds_memory_of_unread_expired_entries() {
        let rt = MemoryRealtime::new(Ttls::default());
        let conversation = Uuid::new_v4();
        for _ in 0..3 * SWEEP_MIN_WRITES {
            rt.typing_set(conversation, UserId::new())
                .await
                .expect("typing_set");
        }
        assert_eq!(rt.state().typing.len(), 3 * SWEEP_MIN_WRITES);
        tokio::time::advance(Ttls::default().typing + Duration::from_secs(1)).await;
        // No reads of the expired entries: only writes elsewhere.
        for i in 0..4 * SWEEP_MIN_WRITES {
            rt.queue_push("r", &i.to_string())
                .await
                .expect("queue_push");
        }
        assert_eq!(
            rt.state().typing.len(),
            0,
            "expired typing entries were swept"
        );
    }

    #[test]
    fn distance_matches_redis_geodist() {
        // `GEODIST Sicily Palermo Catania` in the Redis documentation.
        let palermo = Position {
            longitude: 13.361389,
            latitude: 38.115556,
        };
        let catania = Position {
            longitude: 15.087269,
            latitude: 37.502669,
        };
        let d = distance(palermo, catania);
        assert!((d - 166_274.151_6).abs() < 1.0, "{d}");
    }
}
