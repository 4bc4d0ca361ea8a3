//! Use cases: one function each, called by HTTP handlers (and, later, by
//! WebSocket frame handlers). A use case validates, talks to the store and
//! realtime state, and returns wire types or an `ApiError`.

pub mod accounts;
pub mod anchors;
pub mod calls;
pub mod committer;
pub mod conversations;
pub mod delivery;
pub mod devices;
pub mod files;
pub mod groups;
pub mod keys;
pub mod ledger;
pub mod location;
pub mod messages;
pub mod profiles;
pub mod sessions;
pub mod trust;
