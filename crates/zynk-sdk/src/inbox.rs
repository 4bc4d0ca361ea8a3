//! The client side of the delivery contract. The server delivers every
//! `message.new` and `device_message` at least once: until the device acks
//! it, it is sent again (on reconnection, or on a resync). An `Inbox`
//! remembers the ids already handed to the app, so that with
//! `Connection::next_new` delivery is at-least-once on the wire and
//! exactly-once to the app (within the inbox's memory: the last
//! `Inbox::DEFAULT_CAPACITY` ids by default).

use std::collections::{HashSet, VecDeque};

use uuid::Uuid;

/// The ids of the last `capacity` items handed to the app, oldest evicted
/// first. Carry it across reconnections with `Connection::into_inbox` and
/// `Client::connect_with`.
#[derive(Clone, Debug)]
pub struct Inbox {
    seen: HashSet<Uuid>,
    order: VecDeque<Uuid>,
    capacity: usize,
}

impl Default for Inbox {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl Inbox {
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An inbox remembering at most `capacity` ids (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Records `id`; true if it is new (the item goes to the app), false if
    /// it was seen already (a redelivery).
    pub fn insert(&mut self, id: Uuid) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.seen.contains(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupes() {
        let mut inbox = Inbox::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(inbox.insert(a));
        assert!(inbox.insert(b));
        assert!(!inbox.insert(a), "a redelivery");
        assert!(inbox.contains(&a) && inbox.contains(&b));
        assert_eq!(inbox.len(), 2);
    }

    #[test]
    fn is_bounded_and_forgets_the_oldest() {
        let mut inbox = Inbox::with_capacity(3);
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            assert!(inbox.insert(*id));
        }
        assert_eq!(inbox.len(), 3);
        assert!(!inbox.contains(&ids[0]) && !inbox.contains(&ids[1]));
        assert!(ids[2..].iter().all(|id| inbox.contains(id)));
        // A duplicate does not evict anything.
        assert!(!inbox.insert(ids[4]));
        assert_eq!(inbox.len(), 3);
        assert!(inbox.contains(&ids[2]));
        // A forgotten id counts as new again.
        assert!(inbox.insert(ids[0]));
        assert!(!inbox.contains(&ids[2]));
        assert_eq!(inbox.capacity(), 3);
        assert_eq!(Inbox::with_capacity(0).capacity(), 1);
        assert_eq!(Inbox::default().capacity(), Inbox::DEFAULT_CAPACITY);
    }

    #[test]
    fn stays_bounded_under_many_ids() {
        let mut inbox = Inbox::with_capacity(1000);
        for _ in 0..10_000 {
            inbox.insert(Uuid::new_v4());
        }
        assert_eq!(inbox.len(), 1000);
        assert_eq!(inbox.seen.len(), 1000);
    }
}
