//! Accounts, sessions, devices and profiles through the SDK over a real socket.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use common::{Backend, TestServer, device, registration, unique, user};
use zynk_proto::{
    Login, PrivacySettings, Refresh, Secret, UpdateDevice, UpdateProfile, Visibility,
};

backend_tests!(
    register_login_and_devices,
    duplicate_username_leaves_nothing_behind,
    refresh_rotates_and_reuse_revokes,
    logout_and_session_revocation,
    devices_update_and_delete,
    other_users_resources_are_invisible,
    profiles_and_privacy,
    wrong_user_and_wrong_password_look_alike,
);

async fn register_login_and_devices(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, reg) = user(&server).await;
    let me = alice.me().await.unwrap();
    assert_eq!(me.username, reg.username);
    assert_eq!(me.identity_key, reg.identity_key);
    assert_eq!(me.profile.privacy_settings, PrivacySettings::default());

    // The same fingerprint logs in on the same device; a new one adds a device.
    let mut again = server.client();
    let same = again
        .login(&Login {
            username: reg.username.clone(),
            password: reg.password.clone(),
            device: reg.device.clone(),
        })
        .await
        .unwrap();
    assert_eq!(same.device_id, me.device_id);
    assert_ne!(same.session_id, me.session_id);
    let mut phone = server.client();
    let other = phone
        .login(&Login {
            username: reg.username.to_uppercase(),
            password: reg.password.clone(),
            device: device("phone"),
        })
        .await
        .unwrap();
    assert_ne!(other.device_id, me.device_id);
    let devices = phone.devices().await.unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().any(|d| d.id == other.device_id && d.current));
    assert_eq!(phone.sessions().await.unwrap().len(), 3);
}

async fn duplicate_username_leaves_nothing_behind(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (_alice, reg) = user(&server).await;
    let mut dup = registration(&reg.username.to_uppercase());
    dup.password = Secret("another password".into());
    let fingerprint = dup.device.fingerprint.clone();
    let err = server.client().register(&dup).await.unwrap_err();
    assert_eq!(
        (err.status(), err.kind()),
        (Some(409), Some("username-taken"))
    );
    // Nothing of the refused registration exists: its password does not log
    // in, and its device fingerprint is still free for someone else.
    let err = server
        .client()
        .login(&Login {
            username: reg.username.clone(),
            password: dup.password.clone(),
            device: dup.device.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    let mut other = registration(&unique("carol"));
    other.device.fingerprint = fingerprint;
    server.client().register(&other).await.unwrap();

    // A fingerprint belongs to one account.
    let mut thief = registration(&unique("mallory"));
    thief.device.fingerprint = other.device.fingerprint.clone();
    let err = server.client().register(&thief).await.unwrap_err();
    assert_eq!(
        (err.status(), err.kind()),
        (Some(409), Some("device-fingerprint-taken"))
    );
    let err = server
        .client()
        .login(&Login {
            username: thief.username.clone(),
            password: thief.password.clone(),
            device: thief.device.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(401),
        "the refused account must not exist"
    );
}

async fn refresh_rotates_and_reuse_revokes(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (mut alice, _) = user(&server).await;
    let first = alice.tokens().unwrap().clone();
    let second = alice.refresh().await.unwrap();
    assert_eq!(second.session_id, first.session_id);
    assert_ne!(second.refresh_token, first.refresh_token);
    alice.me().await.unwrap();

    // The rotated-away access token no longer works.
    let mut stale = server.client();
    stale.set_tokens(Some(first.clone()));
    assert_eq!(stale.me().await.unwrap_err().status(), Some(401));

    // Presenting the old refresh token again: theft. The session dies.
    let err = alice
        .refresh_with(&Refresh {
            refresh_token: first.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.kind()),
        (Some(401), Some("refresh-token-reused"))
    );
    assert_eq!(
        alice.me().await.unwrap_err().status(),
        Some(401),
        "session token revoked"
    );
    let err = alice.refresh().await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(401),
        "the newest refresh token is revoked too"
    );

    let err = alice
        .refresh_with(&Refresh {
            refresh_token: Secret("zr1.garbage".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
}

async fn logout_and_session_revocation(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (mut alice, reg) = user(&server).await;
    let mut laptop = server.client();
    let second = laptop
        .login(&Login {
            username: reg.username.clone(),
            password: reg.password.clone(),
            device: device("laptop2"),
        })
        .await
        .unwrap();
    let sessions = alice.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);

    alice.revoke_session(second.session_id).await.unwrap();
    assert_eq!(
        laptop.me().await.unwrap_err().status(),
        Some(401),
        "revoked on the very next request"
    );
    assert_eq!(
        alice
            .revoke_session(second.session_id)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );

    let kept = alice.clone();
    alice.logout().await.unwrap();
    assert_eq!(kept.me().await.unwrap_err().status(), Some(401));
    assert_eq!(kept.sessions().await.unwrap_err().status(), Some(401));
}

async fn devices_update_and_delete(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, reg) = user(&server).await;
    let mut phone = server.client();
    let p = phone
        .login(&Login {
            username: reg.username.clone(),
            password: reg.password.clone(),
            device: device("phone"),
        })
        .await
        .unwrap();
    let renamed = alice
        .update_device(
            p.device_id,
            &UpdateDevice {
                name: Some("pixel".into()),
                push_token: Some(Some(Secret("tok-123".into()))),
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "pixel");
    assert!(renamed.has_push_token);
    let cleared = alice
        .update_device(
            p.device_id,
            &UpdateDevice {
                name: None,
                push_token: Some(None),
            },
        )
        .await
        .unwrap();
    assert!(!cleared.has_push_token);
    assert_eq!(cleared.name, "pixel");
    let err = alice
        .update_device(
            p.device_id,
            &UpdateDevice {
                name: Some(String::new()),
                push_token: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));

    alice.delete_device(p.device_id).await.unwrap();
    assert_eq!(
        phone.me().await.unwrap_err().status(),
        Some(401),
        "the device's sessions are revoked"
    );
    assert_eq!(alice.devices().await.unwrap().len(), 1);
    assert_eq!(
        alice.delete_device(p.device_id).await.unwrap_err().status(),
        Some(404)
    );
}

async fn other_users_resources_are_invisible(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, _) = user(&server).await;
    let (bob, _) = user(&server).await;
    let bob_tokens = bob.tokens().unwrap().clone();
    let bob_device = bob_tokens.device_id;
    let bob_session = bob_tokens.session_id;

    let e = alice
        .update_device(
            bob_device,
            &UpdateDevice {
                name: Some("pwned".into()),
                push_token: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(
        alice.delete_device(bob_device).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        alice
            .revoke_session(bob_session)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    assert!(
        alice
            .sessions()
            .await
            .unwrap()
            .iter()
            .all(|s| s.id != bob_session)
    );
    assert!(
        alice
            .devices()
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != bob_device)
    );

    // Bob is untouched.
    let devices = bob.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name, "laptop");
    assert_eq!(bob.sessions().await.unwrap().len(), 1);
}

async fn profiles_and_privacy(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (alice, areg) = user(&server).await;
    let (bob, _) = user(&server).await;
    let alice_id = alice.tokens().unwrap().user_id;

    let p = alice
        .update_profile(&UpdateProfile {
            display_name: Some(Some("Alice".into())),
            bio: Some(Some("hi".into())),
            avatar_url: Some(Some("https://example.org/a.png".into())),
            privacy_settings: None,
        })
        .await
        .unwrap();
    assert_eq!(p.display_name.as_deref(), Some("Alice"));
    let seen = bob.user(&areg.username).await.unwrap();
    assert_eq!(seen.user_id, alice_id);
    assert_eq!(seen.display_name.as_deref(), Some("Alice"));
    assert_eq!(seen.online, Some(true), "alice was active just now");
    assert!(seen.last_seen_at.is_some());
    assert_eq!(
        bob.user(&alice_id.to_string())
            .await
            .unwrap()
            .bio
            .as_deref(),
        Some("hi")
    );

    // Changes reach readers at once (the user cache is invalidated).
    let hidden = PrivacySettings {
        online_status: Visibility::Nobody,
        last_seen: Visibility::Contacts,
        read_receipts: false,
    };
    alice
        .update_profile(&UpdateProfile {
            bio: Some(None),
            privacy_settings: Some(hidden),
            ..Default::default()
        })
        .await
        .unwrap();
    let seen = bob.user(&alice_id.to_string()).await.unwrap();
    assert_eq!(seen.bio, None);
    assert_eq!(seen.online, None, "online status hidden from everyone");
    assert_eq!(
        seen.last_seen_at, None,
        "bob shares no conversation with alice"
    );
    let own = alice.user(&areg.username).await.unwrap();
    assert!(
        own.online.is_some() && own.last_seen_at.is_some(),
        "the owner sees their own"
    );
    assert_eq!(alice.me().await.unwrap().profile.privacy_settings, hidden);

    for bad in [
        UpdateProfile {
            display_name: Some(Some("x".repeat(65))),
            ..Default::default()
        },
        UpdateProfile {
            avatar_url: Some(Some("javascript:alert(1)".into())),
            ..Default::default()
        },
        UpdateProfile {
            bio: Some(Some("y".repeat(501))),
            ..Default::default()
        },
    ] {
        assert_eq!(
            alice.update_profile(&bad).await.unwrap_err().status(),
            Some(422)
        );
    }
    assert_eq!(
        bob.user("nobody-here").await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        bob.user(&uuid::Uuid::new_v4().to_string())
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
}

async fn wrong_user_and_wrong_password_look_alike(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let (_alice, reg) = user(&server).await;
    let wrong_pw = server
        .client()
        .login(&Login {
            username: reg.username.clone(),
            password: Secret("not the password".into()),
            device: device("x"),
        })
        .await
        .unwrap_err();
    let no_user = server
        .client()
        .login(&Login {
            username: unique("ghost"),
            password: Secret("not the password".into()),
            device: device("x"),
        })
        .await
        .unwrap_err();
    let (zynk_sdk::SdkError::Api { problem: p1, .. }, zynk_sdk::SdkError::Api { problem: p2, .. }) =
        (wrong_pw, no_user)
    else {
        panic!("expected problems");
    };
    assert_eq!(p1, p2);
    assert_eq!(p1.status, 401);
}
