//! `connect`: the URL's scheme picks the backend.

use zynk_store::{Backend, StoreError, connect, testing};

use crate::support::register;

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = connect("sqlite::memory:").await.expect("connect");
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.expect("migrate");
    let alice = register(&*store, "alice", "fp-alice-1").await;
    let found = store
        .session_by_token(&alice.session.session_token_hash)
        .await;
    assert_eq!(found.expect("lookup"), Some(alice.session));
}

#[tokio::test]
async fn other_schemes_are_refused() {
    for url in ["mysql://localhost/zynk", "zynk.db", "redis://127.0.0.1"] {
        match connect(url).await {
            Err(StoreError::Url(message)) => assert!(message.contains("sqlite://"), "{message}"),
            Err(e) => panic!("{url}: expected a URL error, got {e}"),
            Ok(_) => panic!("{url}: expected a URL error, got a store"),
        }
    }
}

#[tokio::test]
async fn postgresql_scheme_is_postgres() {
    let Some(base) = testing::postgres_test_url() else {
        return;
    };
    let url = testing::fresh_postgres(&base).await.expect("database");
    let alias = url.replacen("postgres://", "postgresql://", 1);
    let store = connect(&alias).await.expect("connect");
    assert_eq!(store.backend(), Backend::Postgres);
    store.ping().await.expect("ping");
}

/// Two stores on one file, as two server processes would be: their write
/// transactions queue for SQLite's lock (BEGIN IMMEDIATE + busy_timeout)
/// instead of failing with SQLITE_BUSY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sqlite_stores_write_one_file_concurrently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("zynk.db").display());
    let first = connect(&url).await.expect("connect");
    first.migrate().await.expect("migrate");
    let second = connect(&url).await.expect("connect");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move {
                let alice = register(&*store, &format!("user{i}"), &format!("fp-user-{i}")).await;
                // Rotations read before they write: the case SQLite would
                // answer with SQLITE_BUSY if the lock were not taken up front.
                let mut refresh = alice.session.refresh_token_hash;
                for _ in 0..5 {
                    let t = crate::support::now();
                    let next = crate::support::session(t);
                    let outcome = store.rotate_refresh(&refresh, next.clone(), t).await?;
                    assert!(matches!(
                        outcome,
                        zynk_store::RefreshOutcome::Rotated { .. }
                    ));
                    refresh = next.refresh_token_hash;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("no SQLITE_BUSY");
    }
    assert_eq!(
        second
            .user_by_username("user0")
            .await
            .expect("lookup")
            .map(|u| u.username),
        Some("user0".to_owned())
    );
}
