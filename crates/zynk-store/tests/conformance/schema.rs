//! The schema itself: every table of the data model, and the rules its
//! constraints enforce whatever code writes the rows (raw SQL here).

use uuid::Uuid;
use zynk_proto::UserId;

use crate::support::{Harness, Raw, hash, now, register, ts};

conformance!(
    every_table_of_the_data_model_exists,
    enumerations_are_checked,
    usernames_are_3_to_64_characters,
    trust_scores_are_0_to_100_and_default_to_50,
    groups_default_to_256_members,
    files_are_at_most_2_gib,
    hashes_are_checked,
);

async fn every_table_of_the_data_model_exists(h: Harness) {
    let tables = h.raw.tables().await;
    for table in [
        "users",
        "user_profiles",
        "devices",
        "conversations",
        "conversation_participants",
        "messages",
        "groups",
        "group_members",
        "files",
        "calls",
        "call_participants",
        "sessions",
        "blockchain_identities",
        "trust_score_history",
        "blockchain_transactions",
        "message_anchors",
        "message_merkle_proofs",
        // Beyond the model: refresh-token reuse detection, idempotent sends.
        "refresh_token_history",
        "message_idempotency",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
}

/// Inserts with each allowed value succeed and one with `bad` is rejected.
/// `{v}` in the template is the value, `{id}` a fresh UUID, `{hash}` a
/// fresh 64-character hex string.
async fn check_values(r: &Raw, template: &str, good: &[&str], bad: &str) {
    let sql = |value: &str| {
        template
            .replace("{id}", &r.uuid(Uuid::new_v4()))
            .replace("{hash}", &hash())
            .replace("{v}", &format!("'{value}'"))
    };
    for value in good {
        r.ok(&sql(value)).await;
    }
    r.violates_check(&sql(bad)).await;
}

async fn enumerations_are_checked(h: Harness) {
    let r = &h.raw;
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let bob = register(&*h.store, "bob", "fp-bob-0001").await;
    let (a, b) = (r.uuid(alice.user.0), r.uuid(bob.user.0));
    let t = ts(now());
    let conversation = Uuid::new_v4();
    let c = r.uuid(conversation);

    check_values(
        r,
        &format!(
            "INSERT INTO conversations (id, type, created_at, updated_at) \
             VALUES ({{id}}, {{v}}, {t}, {t})"
        ),
        &["one_to_one", "group"],
        "three_way",
    )
    .await;
    r.ok(&format!(
        "INSERT INTO conversations (id, type, created_at, updated_at) \
         VALUES ({c}, 'group', {t}, {t})"
    ))
    .await;
    for (user, role) in [(&a, "admin"), (&b, "member")] {
        r.ok(&format!(
            "INSERT INTO conversation_participants (conversation_id, user_id, role, joined_at) \
             VALUES ({c}, {user}, '{role}', {t})"
        ))
        .await;
    }
    r.violates_check(&format!(
        "UPDATE conversation_participants SET role = 'owner' WHERE user_id = {a}"
    ))
    .await;

    let message = |column: &str| {
        format!(
            "INSERT INTO messages (id, conversation_id, sender_id, encrypted_content, \
             content_hash, message_type, status, created_at) \
             VALUES ({{id}}, {c}, {a}, {}, '{}', {}, {}, {t})",
            r.blob("00ff"),
            hash(),
            if column == "message_type" {
                "{v}"
            } else {
                "'text'"
            },
            if column == "status" { "{v}" } else { "'sent'" },
        )
    };
    let types = ["text", "image", "file", "audio", "video"];
    check_values(r, &message("message_type"), &types, "gif").await;
    let statuses = ["sent", "delivered", "read", "failed"];
    check_values(r, &message("status"), &statuses, "seen").await;

    let platforms = ["android", "ios", "web", "desktop", "cli"];
    check_values(
        r,
        &format!(
            "INSERT INTO devices (id, user_id, device_name, device_fingerprint, platform, \
             public_key, created_at) \
             VALUES ({{id}}, {a}, 'd', 'fp-' || {{v}} || '-x', {{v}}, 'k', {t})"
        ),
        &platforms,
        "symbian",
    )
    .await;

    let call = |column: &str| {
        format!(
            "INSERT INTO calls (id, initiator_id, call_type, status, conversation_id, created_at) \
             VALUES ({{id}}, {a}, {}, {}, {c}, {t})",
            if column == "call_type" {
                "{v}"
            } else {
                "'audio'"
            },
            if column == "status" {
                "{v}"
            } else {
                "'initiated'"
            },
        )
    };
    check_values(r, &call("call_type"), &["audio", "video"], "hologram").await;
    let call_statuses = [
        "initiated",
        "ringing",
        "in_progress",
        "ended",
        "missed",
        "declined",
    ];
    check_values(r, &call("status"), &call_statuses, "busy").await;

    let did = format!("did:zynk:{}", alice.user);
    r.ok(&format!(
        "INSERT INTO blockchain_identities (did, user_id, public_key, created_at, updated_at) \
         VALUES ('{did}', {a}, 'k', {t}, {t})"
    ))
    .await;
    check_values(
        r,
        &format!(
            "INSERT INTO trust_score_history (id, did, old_score, new_score, change_reason, \
             created_at) VALUES ({{id}}, '{did}', 50, 51, {{v}}, {t})"
        ),
        &[
            "verified_by_community",
            "spam_report",
            "account_age_milestone",
        ],
        "bribery",
    )
    .await;

    let tx = |column: &str| {
        format!(
            "INSERT INTO blockchain_transactions (id, transaction_hash, transaction_type, status, \
             created_at) VALUES ({{id}}, '0x{{hash}}', {}, {}, {t})",
            if column == "type" {
                "{v}"
            } else {
                "'message_anchor'"
            },
            if column == "status" {
                "{v}"
            } else {
                "'pending'"
            },
        )
    };
    let tx_types = [
        "identity_registration",
        "identity_key_rotation",
        "trust_score_update",
        "message_anchor",
    ];
    check_values(r, &tx("type"), &tx_types, "transfer").await;
    check_values(
        r,
        &tx("status"),
        &["pending", "confirmed", "failed"],
        "lost",
    )
    .await;
}

async fn usernames_are_3_to_64_characters(h: Harness) {
    let r = &h.raw;
    let t = ts(now());
    let user = |name: &str| {
        format!(
            "INSERT INTO users (id, username, password_hash, public_key, created_at, updated_at) \
             VALUES ({}, '{name}', 'h', 'k', {t}, {t})",
            r.uuid(Uuid::new_v4())
        )
    };
    r.violates_check(&user("ab")).await;
    r.violates_check(&user(&"x".repeat(65))).await;
    r.ok(&user("abc")).await;
    r.ok(&user(&"y".repeat(64))).await;
}

async fn trust_scores_are_0_to_100_and_default_to_50(h: Harness) {
    let r = &h.raw;
    let t = ts(now());
    let identity = |user: UserId, score: Option<i64>| {
        format!(
            "INSERT INTO blockchain_identities \
             (did, user_id, public_key, {}created_at, updated_at) \
             VALUES ('did:zynk:{user}', {}, 'k', {}{t}, {t})",
            if score.is_some() { "trust_score, " } else { "" },
            r.uuid(user.0),
            score.map(|s| format!("{s}, ")).unwrap_or_default(),
        )
    };
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(
            register(&*h.store, &format!("user{n}"), &format!("fp-user-{n}"))
                .await
                .user,
        );
    }
    r.ok(&identity(users[0], None)).await;
    r.violates_check(&identity(users[1], Some(101))).await;
    r.violates_check(&identity(users[2], Some(-1))).await;
    r.ok(&identity(users[3], Some(100))).await;
    let scores = r
        .int("SELECT CAST(sum(trust_score) AS BIGINT) FROM blockchain_identities")
        .await;
    assert_eq!(scores, 50 + 100, "the default score is 50");
}

async fn groups_default_to_256_members(h: Harness) {
    let r = &h.raw;
    let t = ts(now());
    let group = |max: Option<i64>| {
        let conversation = r.uuid(Uuid::new_v4());
        [
            format!(
                "INSERT INTO conversations (id, type, created_at, updated_at) \
                 VALUES ({conversation}, 'group', {t}, {t})"
            ),
            format!(
                "INSERT INTO groups (id, conversation_id, name, {}created_at, updated_at) \
                 VALUES ({}, {conversation}, 'friends', {}{t}, {t})",
                if max.is_some() { "max_members, " } else { "" },
                r.uuid(Uuid::new_v4()),
                max.map(|m| format!("{m}, ")).unwrap_or_default(),
            ),
        ]
    };
    let [conversation, insert] = group(None);
    r.ok(&conversation).await;
    r.ok(&insert).await;
    let max = r
        .int("SELECT CAST(max_members AS BIGINT) FROM groups")
        .await;
    assert_eq!(max, 256);
    let [conversation, insert] = group(Some(0));
    r.ok(&conversation).await;
    r.violates_check(&insert).await;
}

async fn files_are_at_most_2_gib(h: Harness) {
    let r = &h.raw;
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let conversation = h.conversation(&[alice.user]).await;
    let t = ts(now());
    let file = |size: i64| {
        let id = Uuid::new_v4();
        format!(
            "INSERT INTO files (id, uploader_id, conversation_id, filename, file_size, mime_type, \
             storage_path, encryption_key_encrypted, content_hash, created_at) \
             VALUES ({}, {}, {}, 'a.bin', {size}, 'application/octet-stream', 'encrypted/{id}', \
             {}, '{}', {t})",
            r.uuid(id),
            r.uuid(alice.user.0),
            r.uuid(conversation),
            r.blob("0102"),
            hash(),
        )
    };
    r.ok(&file(2_147_483_648)).await;
    r.ok(&file(1)).await;
    r.violates_check(&file(2_147_483_649)).await;
    r.violates_check(&file(0)).await;
}

async fn hashes_are_checked(h: Harness) {
    let r = &h.raw;
    let alice = register(&*h.store, "alice", "fp-alice-1").await;
    let t = ts(now());
    let tx = |hash: &str| {
        format!(
            "INSERT INTO blockchain_transactions (id, transaction_hash, transaction_type, \
             created_at) VALUES ({}, '{hash}', 'message_anchor', {t})",
            r.uuid(Uuid::new_v4())
        )
    };
    r.ok(&tx(&format!("0x{}", hash()))).await;
    r.violates_check(&tx(&hash())).await;
    r.violates_check(&tx(&format!("0x{}", &hash()[1..]))).await;
    r.violates_check(&tx(&format!("0x{}", hash().to_uppercase())))
        .await;

    // Session tokens are stored as SHA-256 hex, never as the token itself.
    let session = |token: &str| {
        format!(
            "INSERT INTO sessions (id, user_id, device_id, session_token, refresh_token, \
             expires_at, refresh_expires_at, created_at, last_used_at) \
             VALUES ({}, {}, {}, '{token}', '{}', {t}, {t}, {t}, {t})",
            r.uuid(Uuid::new_v4()),
            r.uuid(alice.user.0),
            r.uuid(alice.device.id.0),
            hash(),
        )
    };
    r.ok(&session(&hash())).await;
    r.violates_check(&session("a-raw-bearer-token")).await;
}
