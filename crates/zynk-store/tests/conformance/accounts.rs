//! Users, profiles, registration and login.

use chrono::Duration;
use zynk_proto::{Platform, PrivacySettings, UpdateProfile, UserId, Visibility};
use zynk_store::{Backend, ProfileRecord, SessionRecord, StoreError, User};

use crate::support::{Harness, device, micros, new_user, now, register, session};

conformance!(
    register_then_look_up,
    duplicate_username_leaves_nothing,
    fingerprint_of_another_user_conflicts,
    login_reuses_own_fingerprint_and_adds_new_ones,
    password_hash_is_replaced,
    profile_updates_and_clears,
    shares_conversation_through_participants,
    migrate_is_idempotent,
);

async fn register_then_look_up(h: Harness) {
    let store = &*h.store;
    let t = now();
    let user = new_user("alice");
    let spec = device("fp-alice-1");
    let new_session = session(t);
    let (dev, sess) = store
        .register(user.clone(), spec.clone(), new_session.clone(), t)
        .await
        .expect("register");

    assert_eq!(dev.id, spec.id);
    assert_eq!(dev.user_id, user.id);
    assert_eq!(
        (dev.name.as_str(), dev.fingerprint.as_str(), dev.platform),
        (
            spec.name.as_str(),
            spec.fingerprint.as_str(),
            Platform::Android
        )
    );
    assert_eq!(dev.public_key, spec.public_key);
    assert_eq!(dev.push_token, spec.push_token);
    assert_eq!(dev.created_at, micros(t));
    assert_eq!(dev.last_active_at, Some(micros(t)));
    assert_eq!(
        sess,
        SessionRecord {
            id: new_session.id,
            user_id: user.id,
            device_id: spec.id,
            session_token_hash: new_session.session_token_hash.clone(),
            refresh_token_hash: new_session.refresh_token_hash.clone(),
            expires_at: micros(new_session.expires_at),
            refresh_expires_at: micros(new_session.refresh_expires_at),
            created_at: micros(t),
            last_used_at: micros(t),
        }
    );

    let expected = User {
        id: user.id,
        username: "alice".to_owned(),
        password_hash: user.password_hash.clone(),
        public_key: user.public_key.clone(),
        created_at: micros(t),
        updated_at: micros(t),
    };
    let by_name = store.user_by_username("alice").await.expect("by name");
    assert_eq!(by_name, Some(expected.clone()));
    // Usernames are case-insensitive.
    let by_other_case = store.user_by_username("ALICE").await.expect("by name");
    assert_eq!(by_other_case, Some(expected.clone()));
    let by_id = store.user_by_id(user.id).await.expect("by id");
    assert_eq!(by_id, Some(expected));
    assert_eq!(store.user_by_username("bob").await.expect("by name"), None);
    assert_eq!(store.user_by_id(UserId::new()).await.expect("by id"), None);

    let profile = store.profile(user.id).await.expect("profile");
    assert_eq!(
        profile,
        Some(ProfileRecord {
            user_id: user.id,
            display_name: None,
            avatar_url: None,
            bio: None,
            last_seen_at: None,
            privacy_settings: PrivacySettings::default(),
        })
    );
    assert_eq!(
        store
            .session_by_token(&sess.session_token_hash)
            .await
            .expect("session"),
        Some(sess)
    );
}

async fn assert_counts(h: &Harness, users: i64) {
    for table in ["users", "user_profiles", "devices", "sessions"] {
        assert_eq!(h.raw.count(table).await, users, "rows in {table}");
    }
}

async fn duplicate_username_leaves_nothing(h: Harness) {
    let store = &*h.store;
    let t = now();
    register(store, "alice", "fp-alice-1").await;

    for name in ["alice", "ALICE"] {
        let err = store
            .register(new_user(name), device("fp-second-1"), session(t), t)
            .await
            .expect_err("a taken username");
        assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    }
    // Nothing of the failed registrations was kept: no user, profile,
    // device or session, and their fingerprint is still free.
    assert_counts(&h, 1).await;
    register(store, "bob", "fp-second-1").await;
    assert_counts(&h, 2).await;
}

async fn fingerprint_of_another_user_conflicts(h: Harness) {
    let store = &*h.store;
    let t = now();
    let alice = register(store, "alice", "fp-shared-1").await;

    let err = store
        .register(new_user("bob"), device("fp-shared-1"), session(t), t)
        .await
        .expect_err("a taken fingerprint");
    assert!(
        matches!(err, StoreError::Conflict("fingerprint")),
        "{err:?}"
    );
    assert_eq!(store.user_by_username("bob").await.expect("lookup"), None);
    assert_counts(&h, 1).await;

    let bob = register(store, "bob", "fp-bob-0001").await;
    let err = store
        .login(bob.user, device("fp-shared-1"), session(t), t)
        .await
        .expect_err("another user's fingerprint");
    assert!(
        matches!(err, StoreError::Conflict("fingerprint")),
        "{err:?}"
    );
    // Alice's device is untouched and Bob got no session.
    let alices = store
        .device(alice.user, alice.device.id)
        .await
        .expect("device");
    assert_eq!(alices, Some(alice.device));
    assert_eq!(store.sessions(bob.user).await.expect("sessions").len(), 1);
}

async fn login_reuses_own_fingerprint_and_adds_new_ones(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = now() + Duration::minutes(1);

    let mut again = device("fp-alice-1");
    again.name = "renamed".to_owned();
    again.platform = Platform::Ios;
    again.public_key = "new-key".to_owned();
    again.push_token = None;
    let (dev, sess) = store
        .login(alice.user, again.clone(), session(t), t)
        .await
        .expect("login");
    assert_eq!(dev.id, alice.device.id, "the device is reused");
    assert_eq!(dev.name, "renamed");
    assert_eq!(dev.platform, Platform::Ios);
    assert_eq!(dev.public_key, "new-key");
    assert_eq!(dev.push_token, None);
    assert_eq!(dev.last_active_at, Some(micros(t)));
    assert_eq!(dev.created_at, alice.device.created_at);
    assert_eq!(sess.device_id, alice.device.id);

    let other = device("fp-alice-2");
    let (dev2, sess2) = store
        .login(alice.user, other.clone(), session(t), t)
        .await
        .expect("login");
    assert_eq!(dev2.id, other.id, "a new fingerprint is a new device");
    assert_eq!(sess2.device_id, other.id);
    let ids: Vec<_> = store
        .devices(alice.user)
        .await
        .expect("devices")
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, [alice.device.id, other.id]);
    assert_eq!(store.sessions(alice.user).await.expect("sessions").len(), 3);
}

async fn password_hash_is_replaced(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let before = store
        .user_by_id(alice.user)
        .await
        .expect("user")
        .expect("alice");
    let t = now() + Duration::minutes(5);
    store
        .set_password_hash(alice.user, "$pbkdf2-sha256$i=600000$bmV3$bmV3", t)
        .await
        .expect("set hash");
    let after = store
        .user_by_id(alice.user)
        .await
        .expect("user")
        .expect("alice");
    assert_eq!(after.password_hash, "$pbkdf2-sha256$i=600000$bmV3$bmV3");
    assert_eq!(after.updated_at, micros(t));
    assert_eq!(after.created_at, before.created_at);
}

async fn profile_updates_and_clears(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = now() + Duration::minutes(1);

    let update = UpdateProfile {
        display_name: Some(Some("Alice A.".to_owned())),
        bio: Some(Some("hello".to_owned())),
        ..UpdateProfile::default()
    };
    let p = store
        .update_profile(alice.user, &update, t)
        .await
        .expect("update")
        .expect("alice has a profile");
    assert_eq!(p.display_name.as_deref(), Some("Alice A."));
    assert_eq!(p.bio.as_deref(), Some("hello"));
    assert_eq!(p.avatar_url, None);
    assert_eq!(p.privacy_settings, PrivacySettings::default());

    let privacy = PrivacySettings {
        online_status: Visibility::Contacts,
        last_seen: Visibility::Nobody,
        read_receipts: false,
    };
    let update = UpdateProfile {
        display_name: Some(None),
        avatar_url: Some(Some("https://example.org/a.png".to_owned())),
        bio: None,
        privacy_settings: Some(privacy),
    };
    let t2 = t + Duration::minutes(1);
    let p = store
        .update_profile(alice.user, &update, t2)
        .await
        .expect("update")
        .expect("alice has a profile");
    assert_eq!(p.display_name, None, "null clears");
    assert_eq!(p.avatar_url.as_deref(), Some("https://example.org/a.png"));
    assert_eq!(p.bio.as_deref(), Some("hello"), "absent keeps");
    assert_eq!(p.privacy_settings, privacy);
    assert_eq!(store.profile(alice.user).await.expect("profile"), Some(p));
    let user = store
        .user_by_id(alice.user)
        .await
        .expect("user")
        .expect("alice");
    assert_eq!(user.updated_at, micros(t2));

    let nobody = store
        .update_profile(UserId::new(), &update, t2)
        .await
        .expect("update");
    assert_eq!(nobody, None);

    let seen = t2 + Duration::seconds(3);
    store
        .set_last_seen(alice.user, seen)
        .await
        .expect("last seen");
    let p = store
        .profile(alice.user)
        .await
        .expect("profile")
        .expect("alice");
    assert_eq!(p.last_seen_at, Some(micros(seen)));
}

async fn shares_conversation_through_participants(h: Harness) {
    let store = &*h.store;
    let a = register(store, "alice", "fp-alice-1").await.user;
    let b = register(store, "bob", "fp-bob-0001").await.user;
    let c = register(store, "carol", "fp-carol-01").await.user;
    assert!(!store.shares_conversation(a, b).await.expect("shares"));

    h.conversation(&[a, b]).await;
    h.conversation(&[c]).await;
    assert!(store.shares_conversation(a, b).await.expect("shares"));
    assert!(store.shares_conversation(b, a).await.expect("shares"));
    assert!(!store.shares_conversation(a, c).await.expect("shares"));
    assert!(!store.shares_conversation(c, b).await.expect("shares"));
}

async fn migrate_is_idempotent(h: Harness) {
    let store = &*h.store;
    assert_eq!(store.backend(), h.raw.backend());
    let applied = h.raw.count("_sqlx_migrations").await;
    assert!(applied >= 3, "{applied} migrations applied");
    store.migrate().await.expect("migrate again");
    store.migrate().await.expect("and again");
    assert_eq!(h.raw.count("_sqlx_migrations").await, applied);
    store.ping().await.expect("ping");
    register(store, "alice", "fp-alice-1").await;

    let report = store.maintain_partitions(now()).await.expect("maintain");
    let manager = match store.backend() {
        Backend::Sqlite => "none",
        Backend::Postgres => "zynkd",
    };
    assert_eq!(report.manager, manager);
    assert!(report.created.is_empty(), "migrate made them: {report:?}");
}
