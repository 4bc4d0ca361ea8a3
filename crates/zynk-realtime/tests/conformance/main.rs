//! The realtime conformance suite: one set of cases (`cases.rs`), run on every
//! backend by `conformance!`.
//!
//! - `memory`        — `MemoryRealtime`, data-model TTLs, paused tokio clock.
//! - `redis_backend` — `RedisRealtime` when `ZYNK_TEST_REDIS_URL` is set (a
//!   random key prefix per test, short TTLs, real sleeps), plus checks of the
//!   raw key names. Unset: skipped, unless `ZYNK_TEST_REQUIRE_BACKENDS=1`, in
//!   which case those tests fail.

/// Awaits a `Result` future, panicking with the call's text on `Err`.
macro_rules! ok {
    ($call:expr) => {
        match $call.await {
            Ok(value) => value,
            Err(e) => panic!("{} failed: {e}", stringify!($call)),
        }
    };
}

/// One `#[tokio::test]` per case, each run through the backend's `$run`.
macro_rules! conformance {
    ($run:path) => {
        conformance!(@cases $run;
            backend_and_ping,
            session_put_get_del,
            session_ttl_is_capped_and_expires,
            presence_touch_online_remove_prune,
            typing_set_users_and_expiry,
            queue_push_peek_remove_len_clear,
            location_set_get_distance_remove,
            location_expiry_and_refresh,
            location_details_live_with_the_member,
            user_cache_put_get_del_expiry,
            group_members_put_get_del_expiry,
            rate_limit_counts_in_a_fixed_window,
            publish_reaches_every_subscriber_in_order,
            a_late_subscriber_misses_earlier_events,
            lease_is_exclusive_renewable_and_expires,
            device_marker_is_set_renewed_cleared_and_expires,
        );
    };
    (@cases $run:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $run(crate::cases::$case).await;
            }
        )*
    };
}

mod cases;
mod coordination;
mod memory;
mod redis_backend;

use std::time::Duration;

use zynk_realtime::{RealtimeError, RedisRealtime, Ttls, connect};

#[tokio::test]
async fn connect_without_url_is_memory() {
    let realtime = ok!(connect(None, Ttls::default()));
    assert_eq!(realtime.backend(), "memory");
    ok!(realtime.ping());
}

#[tokio::test]
async fn connect_rejects_a_bad_url() {
    let attempt = RedisRealtime::connect("not a url", Ttls::default(), "").await;
    assert!(
        matches!(attempt, Err(RealtimeError::Url(_))),
        "{:?}",
        attempt.err()
    );
}

#[test]
fn default_ttls_are_the_data_models() {
    let ttls = Ttls::default();
    assert_eq!(ttls.session, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(ttls.typing, Duration::from_secs(5));
    assert_eq!(ttls.location, Duration::from_secs(300));
    assert_eq!(ttls.user_cache, Duration::from_secs(3600));
    assert_eq!(ttls.group_members, Duration::from_secs(600));
    assert_eq!(ttls.rate_window, Duration::from_secs(3600));
}
