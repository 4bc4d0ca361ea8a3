//! The hub: which devices are connected to this instance, and a bounded
//! outbound queue per connection. A connection whose queue is full is told
//! to resynchronise from the store instead of blocking the sender: the store
//! holds every undelivered message, so nothing is lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use zynk_proto::{DeviceId, SessionId, UserId};

/// Outbound queue length per connection.
pub const QUEUE: usize = 1024;

/// What a connection task receives from the hub.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// A serialised `ServerFrame`.
    Frame(Arc<str>),
    /// Live events may have been missed: re-read pending items from the store.
    Resync,
    /// The connection's session was revoked: close it.
    Close,
}

struct Conn {
    id: u64,
    device: DeviceId,
    session: SessionId,
    tx: mpsc::Sender<Outbound>,
    /// Set when a frame could not be queued: the connection must resync.
    overflow: Arc<AtomicBool>,
}

/// A registered connection's end: its queue and its overflow flag.
pub struct Registration {
    pub id: u64,
    pub rx: mpsc::Receiver<Outbound>,
    overflow: Arc<AtomicBool>,
}

impl Registration {
    /// Whether frames were dropped since the last call (then: resync).
    pub fn take_overflow(&self) -> bool {
        self.overflow.swap(false, Ordering::AcqRel)
    }
}

/// Local connections by user. std `Mutex`: held for map operations and
/// non-blocking `try_send`s only, never across `.await`.
#[derive(Default)]
pub struct Hub {
    conns: Mutex<HashMap<UserId, Vec<Conn>>>,
    next_id: AtomicU64,
}

/// Who an event is for.
#[derive(Clone, Debug, Default)]
pub struct Target<'a> {
    pub users: &'a [UserId],
    /// Only these devices of those users (device messages, call frames).
    pub devices: Option<&'a [DeviceId]>,
    /// Not this device (the sender's own).
    pub except_device: Option<DeviceId>,
}

impl Hub {
    /// Registers a connection.
    pub fn register(&self, user: UserId, device: DeviceId, session: SessionId) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        let overflow = Arc::new(AtomicBool::new(false));
        if let Ok(mut map) = self.conns.lock() {
            let conn = Conn {
                id,
                device,
                session,
                tx,
                overflow: overflow.clone(),
            };
            map.entry(user).or_default().push(conn);
        }
        Registration { id, rx, overflow }
    }

    /// Removes a connection; returns whether the user has no local connection left.
    pub fn unregister(&self, user: UserId, id: u64) -> bool {
        let Ok(mut map) = self.conns.lock() else {
            return false;
        };
        let Some(list) = map.get_mut(&user) else {
            return true;
        };
        list.retain(|c| c.id != id);
        if list.is_empty() {
            map.remove(&user);
            return true;
        }
        false
    }

    /// Queues `frame` for every matching local connection.
    pub fn deliver(&self, target: &Target<'_>, frame: &Arc<str>) {
        let Ok(map) = self.conns.lock() else { return };
        for user in target.users {
            let Some(list) = map.get(user) else { continue };
            for c in list {
                if target.except_device == Some(c.device) {
                    continue;
                }
                if let Some(devices) = target.devices
                    && !devices.contains(&c.device)
                {
                    continue;
                }
                if c.tx.try_send(Outbound::Frame(frame.clone())).is_err() {
                    // Full (slow reader) or closing: it will catch up from the store.
                    c.overflow.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Closes the user's local connections made with any of `sessions`.
    pub fn close_sessions(&self, user: UserId, sessions: &[SessionId]) {
        let Ok(map) = self.conns.lock() else { return };
        for c in map.get(&user).into_iter().flatten() {
            if sessions.contains(&c.session) && c.tx.try_send(Outbound::Close).is_err() {
                // Queue full: the connection re-authenticates on its resync.
                c.overflow.store(true, Ordering::Release);
            }
        }
    }

    /// Tells every local connection to resynchronise from the store.
    pub fn resync_all(&self) {
        let Ok(map) = self.conns.lock() else { return };
        for c in map.values().flatten() {
            if c.tx.try_send(Outbound::Resync).is_err() {
                c.overflow.store(true, Ordering::Release);
            }
        }
    }

    /// Users with at least one local connection.
    pub fn users(&self) -> Vec<UserId> {
        self.conns
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Devices with at least one local connection.
    pub fn devices(&self) -> Vec<DeviceId> {
        let Ok(map) = self.conns.lock() else {
            return Vec::new();
        };
        let mut devices: Vec<DeviceId> = map.values().flatten().map(|c| c.device).collect();
        devices.sort_unstable();
        devices.dedup();
        devices
    }

    /// Whether this device has a local connection.
    pub fn is_connected(&self, user: UserId, device: DeviceId) -> bool {
        self.conns
            .lock()
            .map(|m| {
                m.get(&user)
                    .is_some_and(|l| l.iter().any(|c| c.device == device))
            })
            .unwrap_or(false)
    }
}
