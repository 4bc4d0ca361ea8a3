//! The cases, written once against `&dyn Realtime`. Lifetimes are checked
//! relative to `ctx.ttls` with `ctx.margin` either side, so the same case
//! runs on the data-model TTLs with a paused clock and on short TTLs with
//! real sleeps.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use uuid::Uuid;
use zynk_proto::UserId;
use zynk_realtime::{Position, Realtime, RealtimeError, Ttls};

pub use crate::coordination::{
    a_late_subscriber_misses_earlier_events, device_marker_is_set_renewed_cleared_and_expires,
    lease_is_exclusive_renewable_and_expires, publish_reaches_every_subscriber_in_order,
};

/// How a backend's time moves.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// `tokio::time::pause()` is in effect: `advance` is instant.
    Paused,
    /// Real time (Redis expires keys on its own clock): `advance` sleeps.
    Real,
}

pub struct Ctx {
    pub rt: Arc<dyn Realtime>,
    pub ttls: Ttls,
    /// How close to a lifetime's end a check may come, either side.
    pub margin: Duration,
    pub clock: Clock,
    pub backend: &'static str,
}

impl Ctx {
    pub async fn advance(&self, by: Duration) {
        match self.clock {
            Clock::Paused => tokio::time::advance(by).await,
            Clock::Real => tokio::time::sleep(by).await,
        }
    }

    /// After a write with lifetime `ttl`: to `margin` before its end.
    pub async fn to_just_before(&self, ttl: Duration) {
        self.advance(ttl - self.margin).await;
    }

    /// From `to_just_before` to `margin` after the end.
    pub async fn past_the_end(&self) {
        self.advance(2 * self.margin).await;
    }
}

const NOBODY: [UserId; 0] = [];

fn hashes(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

pub async fn backend_and_ping(ctx: Ctx) {
    assert_eq!(ctx.rt.backend(), ctx.backend);
    ok!(ctx.rt.ping());
}

pub async fn session_put_get_del(ctx: Ctx) {
    let rt = &ctx.rt;
    let ttl = ctx.ttls.session;
    ok!(rt.session_put("h1", "u1:d1", ttl));
    ok!(rt.session_put("h2", "u2:d2", ttl));
    ok!(rt.session_put("h3", "u3:d3", ttl));
    assert_eq!(ok!(rt.session_get("h1")).as_deref(), Some("u1:d1"));
    assert_eq!(ok!(rt.session_get("h2")).as_deref(), Some("u2:d2"));
    assert_eq!(ok!(rt.session_get("missing")), None);

    ok!(rt.session_put("h1", "u1:d9", ttl));
    assert_eq!(ok!(rt.session_get("h1")).as_deref(), Some("u1:d9"));

    ok!(rt.session_del(&hashes(&["h1", "h2", "never-stored"])));
    assert_eq!(ok!(rt.session_get("h1")), None);
    assert_eq!(ok!(rt.session_get("h2")), None);
    assert_eq!(ok!(rt.session_get("h3")).as_deref(), Some("u3:d3"));
    ok!(rt.session_del(&[]));
    assert_eq!(ok!(rt.session_get("h3")).as_deref(), Some("u3:d3"));

    // A lifetime of zero is already over: it also removes what was there.
    ok!(rt.session_put("h3", "u3:d3", Duration::ZERO));
    assert_eq!(ok!(rt.session_get("h3")), None);
}

pub async fn session_ttl_is_capped_and_expires(ctx: Ctx) {
    let rt = &ctx.rt;
    let cap = ctx.ttls.session;
    let short = cap / 2;
    ok!(rt.session_put("capped", "u1:d1", cap * 10));
    ok!(rt.session_put("short", "u2:d2", short));

    ctx.to_just_before(short).await;
    assert_eq!(ok!(rt.session_get("short")).as_deref(), Some("u2:d2"));
    assert_eq!(ok!(rt.session_get("capped")).as_deref(), Some("u1:d1"));

    ctx.past_the_end().await;
    assert_eq!(ok!(rt.session_get("short")), None, "gone after its own TTL");
    assert_eq!(ok!(rt.session_get("capped")).as_deref(), Some("u1:d1"));

    // Now `margin` past `cap`: the longer TTL asked for was capped.
    ctx.advance(cap - short).await;
    assert_eq!(
        ok!(rt.session_get("capped")),
        None,
        "capped to Ttls::session"
    );
}

pub async fn presence_touch_online_remove_prune(ctx: Ctx) {
    let rt = &ctx.rt;
    let now = Utc::now();
    let minutes = TimeDelta::minutes;
    let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
    ok!(rt.presence_touch(a, now));
    ok!(rt.presence_touch(b, now - minutes(10)));

    assert_eq!(ok!(rt.presence_online(&[a, b, c], now - minutes(5))), [a]);
    assert_eq!(
        ok!(rt.presence_online(&[b, a, c], now - minutes(20))),
        [b, a]
    );
    assert_eq!(
        ok!(rt.presence_online(&[a], now)),
        [a],
        "since is inclusive"
    );
    let later = now + TimeDelta::milliseconds(1);
    assert_eq!(ok!(rt.presence_online(&[a], later)), NOBODY);
    assert_eq!(ok!(rt.presence_online(&[], now - minutes(20))), NOBODY);

    ok!(rt.presence_touch(b, now));
    assert_eq!(ok!(rt.presence_online(&[a, b], now - minutes(1))), [a, b]);

    ok!(rt.presence_remove(a));
    ok!(rt.presence_remove(c));
    assert_eq!(ok!(rt.presence_online(&[a, b], now - minutes(20))), [b]);

    ok!(rt.presence_touch(c, now - minutes(60)));
    assert_eq!(ok!(rt.presence_prune(now - minutes(30))), 1);
    assert_eq!(ok!(rt.presence_online(&[b, c], now - minutes(120))), [b]);
    assert_eq!(ok!(rt.presence_prune(now - minutes(30))), 0);
    assert_eq!(ok!(rt.presence_prune(now + minutes(1))), 1);
    assert_eq!(ok!(rt.presence_online(&[b], now - minutes(120))), NOBODY);
}

pub async fn typing_set_users_and_expiry(ctx: Ctx) {
    let rt = &ctx.rt;
    let (conversation, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
    ok!(rt.typing_set(conversation, a));
    ok!(rt.typing_set(conversation, b));
    assert_eq!(ok!(rt.typing_users(conversation, &[a, b, c])), [a, b]);
    assert_eq!(ok!(rt.typing_users(conversation, &[c, b])), [b]);
    assert_eq!(ok!(rt.typing_users(other, &[a, b])), NOBODY);
    assert_eq!(ok!(rt.typing_users(conversation, &[])), NOBODY);

    ctx.to_just_before(ctx.ttls.typing).await;
    assert_eq!(ok!(rt.typing_users(conversation, &[a, b])), [a, b]);
    ok!(rt.typing_set(conversation, a));

    ctx.past_the_end().await;
    assert_eq!(
        ok!(rt.typing_users(conversation, &[a, b])),
        [a],
        "a refreshed, b expired"
    );

    ctx.advance(ctx.ttls.typing).await;
    assert_eq!(ok!(rt.typing_users(conversation, &[a, b])), NOBODY);
}

pub async fn queue_push_peek_remove_len_clear(ctx: Ctx) {
    let rt = &ctx.rt;
    let (r, other) = ("alice", "bob");
    assert_eq!(ok!(rt.queue_push(r, "m1")), 1);
    assert_eq!(ok!(rt.queue_push(r, "m2")), 2);
    assert_eq!(ok!(rt.queue_push(r, "m3")), 3);
    assert_eq!(ok!(rt.queue_push(other, "x")), 1);

    assert_eq!(ok!(rt.queue_peek(r, 2)), ["m1", "m2"]);
    assert_eq!(ok!(rt.queue_peek(r, 10)), ["m1", "m2", "m3"]);
    assert!(ok!(rt.queue_peek(r, 0)).is_empty());
    assert_eq!(ok!(rt.queue_len(r)), 3, "peek does not remove");

    ok!(rt.queue_remove(r, "m2"));
    assert_eq!(ok!(rt.queue_peek(r, 10)), ["m1", "m3"]);
    assert_eq!(ok!(rt.queue_push(r, "m1")), 3);
    ok!(rt.queue_remove(r, "m1"));
    assert_eq!(
        ok!(rt.queue_peek(r, 10)),
        ["m3"],
        "every occurrence removed"
    );
    ok!(rt.queue_remove(r, "absent"));
    ok!(rt.queue_remove("nobody", "m3"));
    assert_eq!(ok!(rt.queue_len(r)), 1);

    ok!(rt.queue_clear(r));
    assert_eq!(ok!(rt.queue_len(r)), 0);
    assert!(ok!(rt.queue_peek(r, 10)).is_empty());
    assert_eq!(ok!(rt.queue_peek(other, 10)), ["x"]);
    assert_eq!(ok!(rt.queue_len("nobody")), 0);
    ok!(rt.queue_clear("nobody"));
}

const PALERMO: Position = Position {
    longitude: 13.361389,
    latitude: 38.115556,
};
const CATANIA: Position = Position {
    longitude: 15.087269,
    latitude: 37.502669,
};
/// `GEODIST Sicily Palermo Catania` in the Redis documentation.
const PALERMO_CATANIA_M: f64 = 166_274.151_6;

/// Redis stores positions as 52-bit geohashes: equal to within ~1 m.
fn assert_near(got: Option<Position>, want: Position) {
    let got = got.unwrap_or_else(|| panic!("no position, expected {want:?}"));
    let close = (got.longitude - want.longitude).abs() < 1e-4
        && (got.latitude - want.latitude).abs() < 1e-4;
    assert!(close, "{got:?} is not {want:?}");
}

fn members(names: &[&str]) -> Vec<String> {
    hashes(names)
}

pub async fn location_set_get_distance_remove(ctx: Ctx) {
    let rt = &ctx.rt;
    ok!(rt.location_set("p", PALERMO));
    ok!(rt.location_set("c", CATANIA));
    let got = ok!(rt.location_get(&members(&["p", "c", "x"])));
    assert_eq!(got.len(), 3);
    assert_near(got[0], PALERMO);
    assert_near(got[1], CATANIA);
    assert_eq!(got[2], None);
    assert!(ok!(rt.location_get(&[])).is_empty());

    let d = ok!(rt.location_distance("p", "c")).expect("both live");
    assert!((d / PALERMO_CATANIA_M - 1.0).abs() < 0.01, "distance {d} m");
    assert_eq!(ok!(rt.location_distance("p", "x")), None);
    assert_eq!(ok!(rt.location_distance("x", "p")), None);
    let zero = ok!(rt.location_distance("p", "p")).expect("live");
    assert!(zero.abs() < 1.0, "{zero}");

    ok!(rt.location_set("p", CATANIA));
    assert_near(ok!(rt.location_get(&members(&["p"])))[0], CATANIA);
    let moved = ok!(rt.location_distance("p", "c")).expect("both live");
    assert!(moved < 1.0, "{moved}");

    ok!(rt.location_remove("p"));
    assert_eq!(ok!(rt.location_get(&members(&["p"]))), [None::<Position>]);
    assert_eq!(ok!(rt.location_distance("p", "c")), None);
    ok!(rt.location_remove("absent"));
    assert_near(ok!(rt.location_get(&members(&["c"])))[0], CATANIA);

    for (longitude, latitude) in [(180.5, 0.0), (0.0, 85.1), (0.0, -86.0), (f64::NAN, 0.0)] {
        let bad = Position {
            longitude,
            latitude,
        };
        let attempt = rt.location_set("bad", bad).await;
        let invalid = matches!(attempt, Err(RealtimeError::InvalidPosition { .. }));
        assert!(invalid, "{bad:?}: {attempt:?}");
    }
    assert_eq!(ok!(rt.location_get(&members(&["bad"]))), [None::<Position>]);
}

pub async fn location_expiry_and_refresh(ctx: Ctx) {
    let rt = &ctx.rt;
    let ttl = ctx.ttls.location;
    ok!(rt.location_set("a", PALERMO));
    ok!(rt.location_set("b", CATANIA));

    ctx.to_just_before(ttl).await;
    let got = ok!(rt.location_get(&members(&["a", "b"])));
    assert_near(got[0], PALERMO);
    assert_near(got[1], CATANIA);
    ok!(rt.location_set("a", PALERMO));

    ctx.past_the_end().await;
    let got = ok!(rt.location_get(&members(&["a", "b"])));
    assert_near(got[0], PALERMO);
    assert_eq!(got[1], None, "b expired");
    assert_eq!(ok!(rt.location_distance("a", "b")), None);

    ctx.advance(ttl).await;
    assert_eq!(
        ok!(rt.location_get(&members(&["a", "b"]))),
        [None::<Position>; 2]
    );

    ok!(rt.location_set("b", CATANIA));
    assert_near(ok!(rt.location_get(&members(&["b"])))[0], CATANIA);
}

pub async fn user_cache_put_get_del_expiry(ctx: Ctx) {
    let rt = &ctx.rt;
    let (u1, u2) = (UserId::new(), UserId::new());
    ok!(rt.user_cache_put(u1, r#"{"n":1}"#));
    assert_eq!(ok!(rt.user_cache_get(u1)).as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(ok!(rt.user_cache_get(u2)), None);
    ok!(rt.user_cache_put(u1, r#"{"n":2}"#));
    assert_eq!(ok!(rt.user_cache_get(u1)).as_deref(), Some(r#"{"n":2}"#));
    ok!(rt.user_cache_del(u1));
    assert_eq!(ok!(rt.user_cache_get(u1)), None);
    ok!(rt.user_cache_del(u2));

    ok!(rt.user_cache_put(u2, "{}"));
    ctx.to_just_before(ctx.ttls.user_cache).await;
    assert_eq!(ok!(rt.user_cache_get(u2)).as_deref(), Some("{}"));
    ctx.past_the_end().await;
    assert_eq!(ok!(rt.user_cache_get(u2)), None);
}

pub async fn group_members_put_get_del_expiry(ctx: Ctx) {
    let rt = &ctx.rt;
    let (g1, g2, g3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
    let sorted = |mut v: Vec<UserId>| {
        v.sort();
        v
    };
    assert_eq!(ok!(rt.group_members_get(g1)), None, "miss");

    ok!(rt.group_members_put(g1, &[b, a, b]));
    assert_eq!(ok!(rt.group_members_get(g1)), Some(sorted(vec![a, b])));
    ok!(rt.group_members_put(g2, &[]));
    assert_eq!(
        ok!(rt.group_members_get(g2)),
        Some(vec![]),
        "cached empty group"
    );
    assert_eq!(ok!(rt.group_members_get(g3)), None);

    ok!(rt.group_members_put(g1, &[c]));
    assert_eq!(ok!(rt.group_members_get(g1)), Some(vec![c]), "put replaces");
    ok!(rt.group_members_del(g1));
    ok!(rt.group_members_del(g2));
    assert_eq!(ok!(rt.group_members_get(g1)), None);
    assert_eq!(ok!(rt.group_members_get(g2)), None);

    ok!(rt.group_members_put(g1, &[a, c]));
    ok!(rt.group_members_put(g2, &[]));
    ctx.to_just_before(ctx.ttls.group_members).await;
    assert_eq!(ok!(rt.group_members_get(g1)), Some(sorted(vec![a, c])));
    assert_eq!(ok!(rt.group_members_get(g2)), Some(vec![]));
    ctx.past_the_end().await;
    assert_eq!(ok!(rt.group_members_get(g1)), None);
    assert_eq!(ok!(rt.group_members_get(g2)), None);
}

pub async fn rate_limit_counts_in_a_fixed_window(ctx: Ctx) {
    let rt = &ctx.rt;
    let window = ctx.ttls.rate_window;
    let (ip, endpoint) = ("203.0.113.7", "/v1/auth/login");
    let mut last_reset = window;
    for count in 1..=3 {
        let hit = ok!(rt.rate_limit_hit(ip, endpoint, 3));
        assert_eq!((hit.count, hit.allowed), (count, true));
        assert!(
            hit.reset_in > Duration::ZERO && hit.reset_in <= last_reset,
            "{hit:?}"
        );
        last_reset = hit.reset_in;
    }
    let over = ok!(rt.rate_limit_hit(ip, endpoint, 3));
    assert_eq!((over.count, over.allowed), (4, false));
    assert!(over.reset_in <= last_reset, "{over:?}");

    assert_eq!(ok!(rt.rate_limit_hit(ip, "/v1/other", 3)).count, 1);
    assert_eq!(ok!(rt.rate_limit_hit("::1", endpoint, 3)).count, 1);
    let none_allowed = ok!(rt.rate_limit_hit("198.51.100.1", endpoint, 0));
    assert_eq!((none_allowed.count, none_allowed.allowed), (1, false));

    // Later hits do not move the window: it ends `window` after the first.
    ctx.to_just_before(window).await;
    let late = ok!(rt.rate_limit_hit(ip, endpoint, 3));
    assert_eq!((late.count, late.allowed), (5, false));
    assert!(late.reset_in <= ctx.margin, "{late:?}");

    ctx.past_the_end().await;
    let fresh = ok!(rt.rate_limit_hit(ip, endpoint, 3));
    assert_eq!((fresh.count, fresh.allowed), (1, true), "new window");
    assert!(
        fresh.reset_in > window / 2 && fresh.reset_in <= window,
        "{fresh:?}"
    );
}

pub async fn location_details_live_with_the_member(ctx: Ctx) {
    let rt = &ctx.rt;
    let ttl = ctx.ttls.location;
    ok!(rt.location_set("a", PALERMO));
    ok!(rt.location_details_set("a", r#"{"accuracy":5}"#));
    ok!(rt.location_details_set("b", "{}"));
    let got = ok!(rt.location_details_get(&members(&["a", "b", "x"])));
    assert_eq!(
        got,
        [
            Some(r#"{"accuracy":5}"#.to_owned()),
            Some("{}".to_owned()),
            None
        ]
    );
    assert!(ok!(rt.location_details_get(&[])).is_empty());

    ok!(rt.location_remove("b"));
    assert_eq!(ok!(rt.location_details_get(&members(&["b"]))), [None]);

    ctx.to_just_before(ttl).await;
    assert!(ok!(rt.location_details_get(&members(&["a"])))[0].is_some());
    ctx.past_the_end().await;
    assert_eq!(ok!(rt.location_details_get(&members(&["a"]))), [None]);
}
