//! The store's conformance suite: one set of cases, run against every
//! backend. SQLite always runs (a file in a temp dir); PostgreSQL runs when
//! `ZYNK_TEST_POSTGRES_URL` is set (each test gets a fresh database there),
//! and `ZYNK_TEST_REQUIRE_BACKENDS=1` makes its absence a failure.
//!
//! Each case is an `async fn(Harness)`; `conformance!` turns it into
//! `sqlite::case` and `postgres::case` tests.

#[macro_use]
mod support;

mod accounts;
mod anchors;
mod calls;
mod connect;
mod conversations;
mod delivery;
mod devices;
mod files;
mod groups;
mod history;
mod keys;
mod lifecycle;
mod messages;
mod msg_support;
mod partitions;
mod push;
mod schema;
mod sessions;
