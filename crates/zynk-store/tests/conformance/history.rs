//! The history query (`queries::MESSAGE_HISTORY`), run verbatim on every
//! backend. Its PostgreSQL plan is checked in `partitions`.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use uuid::Uuid;
use zynk_proto::UserId;
use zynk_store::queries::MESSAGE_HISTORY;

use crate::support::{Harness, HistoryRow, MAX_UUID, Raw, hash, micros, now, register, ts};

conformance!(history_pages_newest_first_without_deleted_or_expired);

async fn insert_message(
    h: &Harness,
    conversation: Uuid,
    sender: UserId,
    id: Uuid,
    at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
) {
    let r = &h.raw;
    let or_null = |t: Option<DateTime<Utc>>| t.map_or("NULL".to_owned(), ts);
    r.ok(&format!(
        "INSERT INTO messages (id, conversation_id, sender_id, encrypted_content, content_hash, \
         message_type, expires_at, created_at, deleted_at) \
         VALUES ({}, {}, {}, {}, '{}', 'image', {}, {}, {})",
        r.uuid(id),
        r.uuid(conversation),
        r.uuid(sender.0),
        r.blob("00"),
        hash(),
        or_null(expires_at),
        ts(at),
        or_null(deleted_at),
    ))
    .await;
}

async fn history_pages_newest_first_without_deleted_or_expired(h: Harness) {
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let conversation = h.conversation(&[alice.user]).await;
    let other = h.conversation(&[alice.user]).await;
    let t = micros(now());
    let base = t - Duration::hours(1);
    let at = |s: i64| base + Duration::seconds(s);
    let ids: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
    let sender = alice.user;
    insert_message(&h, conversation, sender, ids[0], at(1), None, None).await;
    insert_message(&h, conversation, sender, ids[1], at(2), None, None).await;
    // Two at the same instant: the id breaks the tie.
    insert_message(&h, conversation, sender, ids[2], at(3), None, None).await;
    insert_message(&h, conversation, sender, ids[3], at(3), None, None).await;
    insert_message(&h, conversation, sender, ids[4], at(4), Some(at(10)), None).await;
    insert_message(&h, conversation, sender, ids[5], at(5), None, Some(at(20))).await;
    let later = t + Duration::hours(1);
    insert_message(&h, conversation, sender, ids[6], at(6), None, Some(later)).await;
    insert_message(&h, other, sender, ids[7], at(7), None, None).await;

    let (high, low) = (ids[2].max(ids[3]), ids[2].min(ids[3]));
    // Not the deleted one, not the expired one, not the other conversation's.
    let expected = [ids[6], high, low, ids[1], ids[0]];
    let since = base - Duration::days(40);

    let mut pages = Vec::new();
    let mut cursor = (t, MAX_UUID);
    loop {
        let page = h.raw.history(conversation, cursor, since, t, 2).await;
        let Some(last) = page.last() else { break };
        cursor = (last.created_at, last.id);
        pages.push(page.iter().map(|m| m.id).collect::<Vec<_>>());
        assert!(
            pages.len() <= expected.len(),
            "paging does not end: {pages:?}"
        );
    }
    assert_eq!(
        pages,
        [vec![ids[6], high], vec![low, ids[1]], vec![ids[0]]],
        "expected order {expected:?}"
    );

    let first = h
        .raw
        .history(conversation, (t, MAX_UUID), since, t, 1)
        .await;
    assert_eq!(
        first,
        [HistoryRow {
            id: ids[6],
            created_at: at(6),
            sender_id: alice.user.0,
            message_type: "image".to_owned(),
            status: "sent".to_owned(),
        }]
    );
    // The lower bound is inclusive.
    let recent = h
        .raw
        .history(conversation, (t, MAX_UUID), at(3), t, 10)
        .await;
    let recent: Vec<_> = recent.into_iter().map(|m| m.id).collect();
    assert_eq!(recent, [ids[6], high, low]);
    // Past its expiry, a message is not served.
    let after = h
        .raw
        .history(conversation, (later, MAX_UUID), since, later, 10)
        .await;
    assert!(after.iter().all(|m| m.id != ids[6]), "{after:?}");
}

/// SQLite answers the history query from its index alone as well.
#[tokio::test]
async fn sqlite_history_uses_the_covering_index() {
    let h = Harness::sqlite().await;
    let Raw::Sqlite(pool) = &h.raw else {
        panic!("Harness::sqlite is SQLite");
    };
    let plan = sqlx::query(&format!("EXPLAIN QUERY PLAN {MESSAGE_HISTORY}"))
        .fetch_all(pool)
        .await
        .expect("explain");
    let details: Vec<String> = plan
        .iter()
        .map(|row| row.try_get("detail").expect("detail column"))
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("USING COVERING INDEX messages_conversation_created_idx")),
        "{details:?}"
    );
    assert!(
        details.iter().all(|d| !d.contains("TEMP B-TREE")),
        "no sort step: {details:?}"
    );
}
