//! Several servers on one database: revocation across instances, and the
//! password-hash upgrade after a configuration change.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use common::{Backend, TestServer, config, device, production_urls, user};
use zynk_proto::Login;

/// Two instances sharing PostgreSQL and Redis: a token revoked through one is
/// refused by the other on the very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_seen_by_another_instance() {
    if production_urls().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(Backend::Production, dir.path()).await;
    c.jwt_secret = Some("a shared secret of the two instances, 32+ chars".into());
    let a = TestServer::with_config(c.clone()).await;
    let b = TestServer::with_config(c).await;
    let (mut on_a, reg) = user(&a).await;
    let mut on_b = b.client();
    on_b.set_tokens(on_a.tokens().cloned());
    on_b.me().await.unwrap();

    let mut second = b.client();
    let s2 = second
        .login(&Login {
            username: reg.username.clone(),
            password: reg.password.clone(),
            device: device("other"),
        })
        .await
        .unwrap();
    let mut second_on_a = a.client();
    second_on_a.set_tokens(second.tokens().cloned());
    second_on_a.me().await.unwrap();

    on_a.logout().await.unwrap();
    assert_eq!(
        on_b.me().await.unwrap_err().status(),
        Some(401),
        "logout through A refused by B"
    );

    second.revoke_session(s2.session_id).await.unwrap();
    assert_eq!(
        second_on_a.me().await.unwrap_err().status(),
        Some(401),
        "revocation through B refused by A"
    );
    a.stop().await;
    b.stop().await;
}

/// A hash made with fewer iterations than configured is upgraded at login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weaker_password_hashes_are_upgraded_at_login() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(Backend::Embedded, dir.path()).await;
    c.pbkdf2_iterations = 1000;
    let old = TestServer::with_config(c.clone()).await;
    let (alice, reg) = user(&old).await;
    let id = alice.tokens().unwrap().user_id;
    old.stop().await;

    c.pbkdf2_iterations = 2000;
    let new = TestServer::with_config(c).await;
    let hash = |s: &TestServer| {
        let store = s.state.store.clone();
        async move { store.user_by_id(id).await.unwrap().unwrap().password_hash }
    };
    assert!(hash(&new).await.contains("i=1000,"));
    let mut again = new.client();
    again
        .login(&Login {
            username: reg.username.clone(),
            password: reg.password.clone(),
            device: device("x"),
        })
        .await
        .unwrap();
    assert!(hash(&new).await.contains("i=2000,"), "upgraded");
    // And the upgraded hash still verifies.
    new.client()
        .login(&Login {
            username: reg.username,
            password: reg.password,
            device: device("y"),
        })
        .await
        .unwrap();
    new.stop().await;
}
