//! Live delivery inside and across `zynkd` instances.
//!
//! - `hub`      — this instance's connected devices and their outbound queues.
//! - `fanout`   — one published event per use case (`Envelope`), dispatched
//!   by every instance to its local connections; a lost subscription or a
//!   lagging receiver makes every connection resynchronise from the store.
//! - `presence` — heartbeats of connected users into `online_users`.

pub mod fanout;
pub mod hub;
