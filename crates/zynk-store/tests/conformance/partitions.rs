//! PostgreSQL only: the monthly partitions of `messages`, and the plan of
//! the history query over them.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Utc};
use serde_json::Value;
use uuid::Uuid;
use zynk_store::queries::MESSAGE_HISTORY;

use crate::support::{Harness, MAX_UUID, register};

postgres_only!(
    months_are_partitioned_after_migrate,
    maintenance_is_idempotent_and_safe_to_run_concurrently,
    history_plan_is_an_index_only_scan_of_the_range,
);

/// The first instant of the month `ahead` months after `t`'s.
fn month_start(t: DateTime<Utc>, ahead: u32) -> DateTime<Utc> {
    let first = Utc
        .with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .expect("a valid date");
    first + Months::new(ahead)
}

fn month_table(t: DateTime<Utc>) -> String {
    format!("messages_{}", t.format("%Y_%m"))
}

async fn partitions(h: &Harness) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'messages'::regclass ORDER BY 1",
    )
    .fetch_all(h.raw.pg())
    .await
    .expect("list partitions")
}

/// Inserts one message at `at` and returns the partition it landed in.
async fn partition_of_message_at(
    h: &Harness,
    conversation: Uuid,
    sender: Uuid,
    at: DateTime<Utc>,
) -> String {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, sender_id, encrypted_content, content_hash, \
         message_type, created_at) \
         VALUES ($1, $2, $3, '\\x00'::bytea, repeat('a', 64), 'text', $4)",
    )
    .bind(id)
    .bind(conversation)
    .bind(sender)
    .bind(at)
    .execute(h.raw.pg())
    .await
    .expect("insert a message");
    sqlx::query_scalar("SELECT tableoid::regclass::text FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(h.raw.pg())
        .await
        .expect("partition of the message")
}

async fn months_are_partitioned_after_migrate(h: Harness) {
    let now = Utc::now();
    let parts = partitions(&h).await;
    assert!(parts.iter().any(|p| p == "messages_default"), "{parts:?}");
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let conversation = h.conversation(&[alice.user]).await;
    for ahead in 0..=3 {
        let start = month_start(now, ahead);
        let name = month_table(start);
        assert!(parts.contains(&name), "{name} missing from {parts:?}");
        for at in [start, start + Duration::days(10)] {
            let landed = partition_of_message_at(&h, conversation, alice.user.0, at).await;
            assert_eq!(landed, name);
        }
    }
    let far = month_start(now, 60);
    let landed = partition_of_message_at(&h, conversation, alice.user.0, far).await;
    assert_eq!(landed, "messages_default");
}

async fn maintenance_is_idempotent_and_safe_to_run_concurrently(h: Harness) {
    let report = h
        .store
        .maintain_partitions(Utc::now())
        .await
        .expect("maintain");
    assert_eq!(report.manager, "zynkd");
    assert!(report.created.is_empty(), "{report:?}");

    // Months 14 to 17 ahead do not exist yet; four instances race for them.
    let later = month_start(Utc::now(), 14) + Duration::days(3);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = h.store.clone();
            tokio::spawn(async move { store.maintain_partitions(later).await })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        let report = task.await.expect("task").expect("maintain");
        assert_eq!(report.manager, "zynkd");
        created.extend(report.created);
    }
    created.sort();
    let expected: Vec<String> = (0..=3)
        .map(|m| month_table(month_start(later, m)))
        .collect();
    assert_eq!(created, expected, "each partition created exactly once");
    let parts = partitions(&h).await;
    assert!(expected.iter().all(|e| parts.contains(e)), "{parts:?}");
}

/// Collects (node type, relation, index) of every node of an EXPLAIN plan.
fn nodes(plan: &Value, out: &mut Vec<(String, Option<String>, Option<String>)>) {
    let text = |key: &str| plan.get(key).and_then(Value::as_str).map(str::to_owned);
    out.push((
        text("Node Type").unwrap_or_default(),
        text("Relation Name"),
        text("Index Name"),
    ));
    for child in plan
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        nodes(child, out);
    }
}

async fn history_plan_is_an_index_only_scan_of_the_range(h: Harness) {
    let pool = h.raw.pg();
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let mut conversations = Vec::new();
    for _ in 0..5 {
        conversations.push(h.conversation(&[alice.user]).await);
    }
    // Every 90 minutes for 115 days from the start of this month: four
    // months, spread over five conversations.
    let start = month_start(Utc::now(), 0);
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, sender_id, encrypted_content, content_hash, \
         message_type, created_at) \
         SELECT gen_random_uuid(), ($1::uuid[])[1 + i % 5], $2, '\\x00'::bytea, repeat('a', 64), \
         'text', $3 + i * interval '90 minutes' FROM generate_series(0, 1840) AS i",
    )
    .bind(&conversations)
    .bind(alice.user.0)
    .bind(start)
    .execute(pool)
    .await
    .expect("insert messages");
    sqlx::query("VACUUM ANALYZE messages")
        .execute(pool)
        .await
        .expect("vacuum");

    // Months +1 and +2, read back from the newest: the cursor is the last
    // microsecond of month +2.
    let since = month_start(start, 1);
    let before = month_start(start, 3) - Duration::microseconds(1);
    let expected: BTreeSet<String> =
        [month_table(since), month_table(month_start(start, 2))].into();

    let mut conn = pool.acquire().await.expect("connection");
    // Small tables tempt the planner into sequential scans; the point is
    // whether the index can answer alone.
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .expect("set");
    let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (FORMAT JSON) {MESSAGE_HISTORY}"))
        .bind(conversations[0])
        .bind(before)
        .bind(MAX_UUID)
        .bind(since)
        .bind(Utc::now())
        .bind(50_i64)
        .fetch_one(&mut *conn)
        .await
        .expect("explain");

    let covering: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'messages_conversation_created_idx'::regclass",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("partition indexes");

    let mut all = Vec::new();
    nodes(&plan[0]["Plan"], &mut all);
    let scanned: BTreeSet<String> = all.iter().filter_map(|(_, rel, _)| rel.clone()).collect();
    assert_eq!(
        scanned, expected,
        "only the partitions of the range: {plan:#}"
    );
    for (node, relation, index) in &all {
        if relation.is_some() {
            assert_eq!(node, "Index Only Scan", "{plan:#}");
            let index = index.as_deref().unwrap_or_default();
            assert!(
                covering.iter().any(|c| c == index),
                "{index} is not the covering index: {plan:#}"
            );
        }
    }
}
