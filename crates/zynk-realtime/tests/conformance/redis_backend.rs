//! The suite on `RedisRealtime` (real sleeps, short TTLs, a random key prefix
//! per test, its keys deleted afterwards even if the case panics), plus
//! Redis-only checks of the raw keys through a plain connection.
//!
//! Needs `ZYNK_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`); without it
//! these tests pass vacuously, unless `ZYNK_TEST_REQUIRE_BACKENDS=1`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use redis::FromRedisValue;
use redis::aio::ConnectionManager;
use uuid::Uuid;
use zynk_proto::UserId;
use zynk_realtime::{Event, Position, Realtime, RedisRealtime, Ttls, connect};

use crate::cases::{Clock, Ctx};
use crate::coordination::{DELIVERY, closes, expect_message, next_event};

/// Short enough for real sleeps, each at least 2 × `MARGIN` above
/// `2 × MARGIN` so a slow machine has slack.
const TTLS: Ttls = Ttls {
    session: Duration::from_millis(800),
    typing: Duration::from_millis(500),
    location: Duration::from_millis(700),
    user_cache: Duration::from_millis(600),
    group_members: Duration::from_millis(600),
    rate_window: Duration::from_millis(700),
};
const MARGIN: Duration = Duration::from_millis(150);

/// The Redis URL, `None` to skip; panics if backends are required.
fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var("ZYNK_TEST_REDIS_URL")
        && !url.is_empty()
    {
        return Some(url);
    }
    if std::env::var("ZYNK_TEST_REQUIRE_BACKENDS").as_deref() == Ok("1") {
        panic!(
            "ZYNK_TEST_REQUIRE_BACKENDS=1 but ZYNK_TEST_REDIS_URL is unset: \
             the Redis leg of the realtime conformance suite cannot run"
        );
    }
    eprintln!("skipped: set ZYNK_TEST_REDIS_URL to run the Redis leg");
    None
}

/// A plain connection for looking at the raw keys.
pub struct Raw {
    conn: ConnectionManager,
    prefix: String,
}

impl Raw {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn q<T: FromRedisValue>(&mut self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        match cmd.query_async(&mut self.conn).await {
            Ok(value) => value,
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    async fn assert_type(&mut self, name: &str, want: &str) {
        let key = self.key(name);
        let got: String = self.q(&["TYPE", &key]).await;
        assert_eq!(got, want, "TYPE {key}");
    }

    /// The key's remaining lifetime is in `(0, ttl]`.
    async fn assert_pttl(&mut self, name: &str, ttl: Duration) {
        let key = self.key(name);
        let pttl: i64 = self.q(&["PTTL", &key]).await;
        let max = i64::try_from(ttl.as_millis()).expect("ttl");
        assert!(
            pttl > 0 && pttl <= max,
            "PTTL {key} = {pttl}, want (0, {max}]"
        );
    }

    /// Deletes every key under the prefix (SCAN is fine in a test).
    async fn cleanup(&mut self) {
        let pattern = format!("{}*", self.prefix);
        let mut cursor = 0_u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let page: Result<(u64, Vec<String>), _> = scan.query_async(&mut self.conn).await;
            let Ok((next, keys)) = page else {
                eprintln!("cleanup of {pattern} failed: {page:?}");
                return;
            };
            if !keys.is_empty() {
                let deleted: redis::RedisResult<u64> = redis::cmd("DEL")
                    .arg(keys)
                    .query_async(&mut self.conn)
                    .await;
                if let Err(e) = deleted {
                    eprintln!("cleanup of {pattern} failed: {e}");
                }
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}

/// Runs `case` on a fresh prefix, then deletes the prefix's keys.
pub async fn run_raw<F, Fut>(case: F)
where
    F: FnOnce(Ctx, Raw) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = redis_url() else { return };
    let prefix = format!("zynk-test:{}:", Uuid::new_v4());
    let rt = ok!(RedisRealtime::connect(&url, TTLS, &prefix));
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let conn = ConnectionManager::new(client)
        .await
        .expect("raw connection");
    let mut cleaner = Raw {
        conn: conn.clone(),
        prefix: prefix.clone(),
    };
    let ctx = Ctx {
        rt: Arc::new(rt),
        ttls: TTLS,
        margin: MARGIN,
        clock: Clock::Real,
        backend: "redis",
    };
    // Spawned, so that a panicking case still reaches the cleanup.
    let outcome = tokio::spawn(case(ctx, Raw { conn, prefix })).await;
    cleaner.cleanup().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("case did not finish: {e}"),
        }
    }
}

pub async fn run<F, Fut>(case: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_raw(|ctx, _raw| case(ctx)).await;
}

conformance!(run);

#[tokio::test]
async fn connect_with_url_is_redis() {
    let Some(url) = redis_url() else { return };
    let realtime = ok!(connect(Some(&url), Ttls::default()));
    assert_eq!(realtime.backend(), "redis");
    ok!(realtime.ping());
}

#[tokio::test]
async fn raw_key_names_types_and_ttls() {
    run_raw(|ctx, mut raw| async move {
        let rt = &ctx.rt;
        let (user, conversation, group) = (UserId::new(), Uuid::new_v4(), Uuid::new_v4());

        ok!(rt.session_put("tokhash", "u:d", Duration::from_secs(3600)));
        raw.assert_type("session:tokhash", "string").await;
        let value: String = raw.q(&["GET", &raw.key("session:tokhash")]).await;
        assert_eq!(value, "u:d");
        raw.assert_pttl("session:tokhash", TTLS.session).await;

        let now = Utc::now();
        ok!(rt.presence_touch(user, now));
        raw.assert_type("online_users", "zset").await;
        let score: i64 = raw
            .q(&["ZSCORE", &raw.key("online_users"), &user.to_string()])
            .await;
        assert_eq!(score, now.timestamp_millis());

        ok!(rt.typing_set(conversation, user));
        let typing = format!("typing:{conversation}:{user}");
        let flag: String = raw.q(&["GET", &raw.key(&typing)]).await;
        assert_eq!(flag, "1");
        raw.assert_pttl(&typing, TTLS.typing).await;

        ok!(rt.queue_push("rcpt", r#"{"id":1}"#));
        raw.assert_type("queue:messages:rcpt", "list").await;
        let items: Vec<String> = raw
            .q(&["LRANGE", &raw.key("queue:messages:rcpt"), "0", "-1"])
            .await;
        assert_eq!(items, [r#"{"id":1}"#]);

        let here = Position {
            longitude: 2.3522,
            latitude: 48.8566,
        };
        let before_ms = Utc::now().timestamp_millis();
        ok!(rt.location_set("m", here));
        raw.assert_type("locations", "zset").await;
        raw.assert_type("locations:expiry", "zset").await;
        raw.assert_pttl("locations", TTLS.location).await;
        raw.assert_pttl("locations:expiry", TTLS.location).await;
        let pos: Vec<Option<(f64, f64)>> = raw.q(&["GEOPOS", &raw.key("locations"), "m"]).await;
        let (lon, lat) = pos[0].expect("GEOPOS");
        assert!((lon - here.longitude).abs() < 1e-4 && (lat - here.latitude).abs() < 1e-4);
        let expiry: i64 = raw.q(&["ZSCORE", &raw.key("locations:expiry"), "m"]).await;
        let ttl_ms = i64::try_from(TTLS.location.as_millis()).expect("ttl");
        let lifetime = expiry - before_ms;
        assert!(
            lifetime > 0 && lifetime <= ttl_ms + 50,
            "expiry score {lifetime} ms ahead"
        );

        ok!(rt.user_cache_put(user, "{}"));
        raw.assert_type(&format!("user:{user}"), "string").await;
        raw.assert_pttl(&format!("user:{user}"), TTLS.user_cache)
            .await;

        ok!(rt.group_members_put(group, &[user]));
        let members = format!("group_members:{group}");
        raw.assert_type(&members, "set").await;
        raw.assert_pttl(&members, TTLS.group_members).await;
        let is_member: bool = raw
            .q(&["SISMEMBER", &raw.key(&members), &user.to_string()])
            .await;
        assert!(is_member);
        let empty_group = Uuid::new_v4();
        ok!(rt.group_members_put(empty_group, &[]));
        let exists: bool = raw
            .q(&["EXISTS", &raw.key(&format!("group_members:{empty_group}"))])
            .await;
        assert!(
            exists,
            "an empty group is cached as a key (with the sentinel)"
        );

        ok!(rt.rate_limit_hit("192.0.2.1", "/v1/x", 5));
        ok!(rt.rate_limit_hit("192.0.2.1", "/v1/x", 5));
        let count: String = raw.q(&["GET", &raw.key("ratelimit:192.0.2.1:/v1/x")]).await;
        assert_eq!(count, "2");
        raw.assert_pttl("ratelimit:192.0.2.1:/v1/x", TTLS.rate_window)
            .await;
    })
    .await;
}

#[tokio::test]
async fn raw_expired_locations_leave_both_keys() {
    run_raw(|ctx, mut raw| async move {
        let rt = &ctx.rt;
        let here = Position {
            longitude: 2.3522,
            latitude: 48.8566,
        };
        ok!(rt.location_set("gone", here));
        ok!(rt.location_set("kept", here));
        tokio::time::sleep(TTLS.location - MARGIN).await;
        ok!(rt.location_set("kept", here));
        tokio::time::sleep(2 * MARGIN).await;

        assert_eq!(
            ok!(rt.location_get(&["gone".to_owned()])),
            [None::<Position>]
        );
        for key in ["locations", "locations:expiry"] {
            let key = raw.key(key);
            let gone: Option<f64> = raw.q(&["ZSCORE", &key, "gone"]).await;
            assert_eq!(gone, None, "expired member still in {key}");
            let kept: Option<f64> = raw.q(&["ZSCORE", &key, "kept"]).await;
            assert!(kept.is_some(), "live member missing from {key}");
        }
    })
    .await;
}

#[tokio::test]
async fn raw_lease_key() {
    run_raw(|ctx, mut raw| async move {
        let ttl = Duration::from_secs(60);
        assert!(ok!(ctx.rt.try_lease("scheduler", "instance-a", ttl)));
        raw.assert_type("lock:scheduler", "string").await;
        let owner: String = raw.q(&["GET", &raw.key("lock:scheduler")]).await;
        assert_eq!(owner, "instance-a");
        raw.assert_pttl("lock:scheduler", ttl).await;
    })
    .await;
}

fn test_prefix() -> String {
    format!("zynk-test:{}:", Uuid::new_v4())
}

async fn raw_conn(url: &str) -> ConnectionManager {
    let client = redis::Client::open(url).expect("redis url");
    ConnectionManager::new(client)
        .await
        .expect("raw connection")
}

#[tokio::test]
async fn instances_on_one_prefix_hear_each_other_and_no_other_prefix() {
    let Some(url) = redis_url() else { return };
    let prefix = test_prefix();
    let a = ok!(RedisRealtime::connect(&url, TTLS, &prefix));
    let b = ok!(RedisRealtime::connect(&url, TTLS, &prefix));
    let elsewhere = ok!(RedisRealtime::connect(&url, TTLS, &test_prefix()));
    let (mut ra, mut rb, mut re) = (a.subscribe(), b.subscribe(), elsewhere.subscribe());

    // Each PUBLISH has reached Redis' subscribers when it returns.
    ok!(a.publish("from a"));
    ok!(b.publish("from b"));
    for rx in [&mut ra, &mut rb] {
        expect_message(rx, "from a").await;
        expect_message(rx, "from b").await;
    }

    ok!(elsewhere.publish("elsewhere"));
    expect_message(&mut re, "elsewhere").await;
    ok!(a.publish("fence"));
    expect_message(&mut ra, "fence").await;
    expect_message(&mut rb, "fence").await;
    assert!(ra.is_empty() && rb.is_empty() && re.is_empty());
}

/// `PUBSUB NUMSUB channel`.
async fn subscribers(conn: &mut ConnectionManager, channel: &str) -> u64 {
    let counts: Vec<(String, u64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(conn)
        .await
        .expect("PUBSUB NUMSUB");
    counts.first().map_or(0, |(_, n)| *n)
}

#[tokio::test]
async fn dropping_the_backend_ends_its_subscription() {
    let Some(url) = redis_url() else { return };
    let prefix = test_prefix();
    let channel = format!("{prefix}events");
    let mut raw = raw_conn(&url).await;
    let rt = ok!(RedisRealtime::connect(&url, TTLS, &prefix));
    let mut rx = rt.subscribe();
    assert_eq!(subscribers(&mut raw, &channel).await, 1);

    drop(rt);
    assert!(closes(&mut rx).await, "the event channel closes");
    let deadline = tokio::time::Instant::now() + DELIVERY;
    while subscribers(&mut raw, &channel).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the subscription connection outlived the backend"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kills the backend's connections (a dedicated ACL user tells them apart
/// from every other client of the shared Redis) and expects `Resync`, then
/// live events again.
#[tokio::test]
async fn a_lost_subscription_reconnects_and_sends_resync() {
    let Some(url) = redis_url() else { return };
    let Some(host) = url.strip_prefix("redis://").filter(|h| !h.contains('@')) else {
        eprintln!("skipped: needs a plain redis:// URL without credentials");
        return;
    };
    let user = format!("zynk-test-{}", Uuid::new_v4());
    let mut admin = raw_conn(&url).await;
    let created: redis::RedisResult<()> = redis::cmd("ACL")
        .arg(&["SETUSER", &user, "on", "nopass", "~*", "&*", "+@all"])
        .query_async(&mut admin)
        .await;
    if let Err(e) = created {
        eprintln!("skipped: cannot create an ACL user: {e}");
        return;
    }
    let user_url = format!("redis://{user}:unused@{host}");
    let killer = admin.clone();
    let name = user.clone();
    let outcome = tokio::spawn(async move {
        let mut killer = killer;
        let rt = ok!(RedisRealtime::connect(&user_url, TTLS, &test_prefix()));
        let mut rx = rt.subscribe();
        ok!(rt.publish("before"));
        expect_message(&mut rx, "before").await;

        let killed: u64 = redis::cmd("CLIENT")
            .arg(&["KILL", "USER", &name])
            .query_async(&mut killer)
            .await
            .expect("CLIENT KILL");
        assert!(killed >= 1, "killed {killed} connections");
        assert_eq!(next_event(&mut rx).await, Event::Resync);

        // The command connection reconnects on its own, maybe after a failure.
        let mut published = rt.publish("after").await;
        for _ in 0..50 {
            if published.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            published = rt.publish("after").await;
        }
        if let Err(e) = published {
            panic!("publish after reconnection: {e}");
        }
        expect_message(&mut rx, "after").await;
    })
    .await;
    let deleted: redis::RedisResult<u64> = redis::cmd("ACL")
        .arg(&["DELUSER", &user])
        .query_async(&mut admin)
        .await;
    if let Err(e) = deleted {
        eprintln!("ACL DELUSER {user} failed: {e}");
    }
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("case did not finish: {e}"),
        }
    }
}
