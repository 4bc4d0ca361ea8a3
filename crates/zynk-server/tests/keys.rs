//! End-to-end encryption key distribution over HTTP, on both backends:
//! uploads and their signature checks, device lists, claims (also
//! concurrent ones), and what device removal does to keys.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use zynk_proto::{ClaimKeys, ClaimedKeys, DeviceKeys, OneTimeKey, Register, UploadKeys, UserId};
use zynk_sdk::{Client, SdkError};

use common::{Backend, TestServer, registration, second_device, uid, unique};

backend_tests!(
    upload_and_counts,
    upload_validation,
    claims_consume_one_key_then_the_fallback,
    concurrent_claims_never_share_a_key,
    bad_signatures_store_nothing,
    uploads_only_for_the_calling_device,
    unsigned_devices_reach_only_their_own_user,
    device_keys_are_permanent,
    removed_devices_lose_their_keys,
    unknown_users_are_not_found,
);

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A fresh random Ed25519 key.
fn signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    SigningKey::from_bytes(&seed)
}

/// A registered user whose identity key is a real Ed25519 key.
struct Account {
    client: Client,
    reg: Register,
    identity: SigningKey,
}

async fn account(server: &TestServer) -> Account {
    let identity = signing_key();
    let mut reg = registration(&unique("keys"));
    reg.identity_key = b64(identity.verifying_key().as_bytes());
    let mut client = server.client();
    client.register(&reg).await.unwrap();
    Account {
        client,
        reg,
        identity,
    }
}

/// A device's keys: the client's own ids, a fresh Curve25519 stand-in, the
/// device's Ed25519 key, signed by `identity` when given.
fn device_keys(c: &Client, device: &SigningKey, identity: Option<&SigningKey>) -> DeviceKeys {
    let tokens = c.tokens().unwrap();
    let mut keys = DeviceKeys {
        user_id: tokens.user_id,
        device_id: tokens.device_id,
        curve25519: b64(signing_key().verifying_key().as_bytes()),
        ed25519: b64(device.verifying_key().as_bytes()),
        signature: None,
    };
    keys.signature = identity.map(|id| b64(&id.sign(&keys.signing_bytes()).to_bytes()));
    keys
}

/// `n` one-time keys of `c`'s device, signed by its device key.
fn one_time_keys(c: &Client, device: &SigningKey, prefix: &str, n: usize) -> Vec<OneTimeKey> {
    let id = c.tokens().unwrap().device_id;
    (0..n)
        .map(|i| {
            let mut k = OneTimeKey {
                key_id: format!("{prefix}{i:03}"),
                key: b64(signing_key().verifying_key().as_bytes()),
                signature: String::new(),
            };
            k.signature = b64(&device.sign(&k.signing_bytes(id)).to_bytes());
            k
        })
        .collect()
}

/// Uploads signed device keys, `n` one-time keys and a fallback key.
async fn publish(c: &Client, identity: Option<&SigningKey>, n: usize) -> SigningKey {
    let device = signing_key();
    let counts = c
        .upload_keys(&UploadKeys {
            device_keys: Some(device_keys(c, &device, identity)),
            one_time_keys: one_time_keys(c, &device, "otk", n),
            fallback_key: one_time_keys(c, &device, "fallback", 1).pop(),
        })
        .await
        .unwrap();
    assert_eq!(
        (counts.one_time_keys, counts.fallback_key),
        (n as u32, true)
    );
    device
}

fn claim(user: UserId) -> ClaimKeys {
    ClaimKeys {
        user_id: user,
        device_ids: None,
    }
}

fn refused(r: Result<impl std::fmt::Debug, SdkError>, status: u16, kind: &str) {
    let e = r.expect_err("refused");
    assert_eq!((e.status(), e.kind()), (Some(status), Some(kind)), "{e}");
}

fn devices_of(claimed: &ClaimedKeys) -> Vec<zynk_proto::DeviceId> {
    claimed
        .bundles
        .iter()
        .map(|b| b.device_keys.device_id)
        .collect()
}

async fn upload_and_counts(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let c = &alice.client;
    let device = publish(c, Some(&alice.identity), 5).await;

    // More one-time keys later, signed by the stored device key.
    let more = UploadKeys {
        one_time_keys: one_time_keys(c, &device, "more", 3),
        ..UploadKeys::default()
    };
    let counts = c.upload_keys(&more).await.unwrap();
    assert_eq!(counts.one_time_keys, 8);
    assert_eq!(
        c.upload_keys(&more).await.unwrap().one_time_keys,
        8,
        "idempotent"
    );
    // An empty upload just reports the counts.
    let counts = c.upload_keys(&UploadKeys::default()).await.unwrap();
    assert_eq!((counts.one_time_keys, counts.fallback_key), (8, true));

    let listed = c.user_devices(uid(c)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].verified);
    let keys = listed[0].keys.clone().unwrap();
    assert_eq!(keys.ed25519, b64(device.verifying_key().as_bytes()));
    server.stop().await;
}

async fn upload_validation(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let c = &alice.client;
    let device = signing_key();

    let orphan = UploadKeys {
        one_time_keys: one_time_keys(c, &device, "k", 1),
        ..UploadKeys::default()
    };
    refused(c.upload_keys(&orphan).await, 422, "validation-failed");

    let mut bad_key = device_keys(c, &device, Some(&alice.identity));
    bad_key.curve25519 = b64(&[1u8; 31]);
    let upload = UploadKeys {
        device_keys: Some(bad_key),
        ..UploadKeys::default()
    };
    refused(c.upload_keys(&upload).await, 422, "validation-failed");

    let keys = device_keys(c, &device, Some(&alice.identity));
    let too_many = UploadKeys {
        device_keys: Some(keys.clone()),
        one_time_keys: one_time_keys(c, &device, "k", 101),
        fallback_key: None,
    };
    refused(c.upload_keys(&too_many).await, 422, "validation-failed");
    for key_id in [String::new(), "x".repeat(65)] {
        let mut k = one_time_keys(c, &device, "k", 1).pop().unwrap();
        k.key_id = key_id;
        let upload = UploadKeys {
            device_keys: Some(keys.clone()),
            one_time_keys: vec![k],
            fallback_key: None,
        };
        refused(c.upload_keys(&upload).await, 422, "validation-failed");
    }
    let listed = c.user_devices(uid(c)).await.unwrap();
    assert_eq!(listed[0].keys, None, "nothing stored");

    let max = UploadKeys {
        device_keys: Some(keys),
        one_time_keys: one_time_keys(c, &device, "k", 100),
        fallback_key: None,
    };
    let counts = c.upload_keys(&max).await.unwrap();
    assert_eq!((counts.one_time_keys, counts.fallback_key), (100, false));
    server.stop().await;
}

async fn claims_consume_one_key_then_the_fallback(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let bob = account(&server).await;
    publish(&alice.client, Some(&alice.identity), 3).await;
    let a = uid(&alice.client);

    let mut seen = HashSet::new();
    for left in [2, 1, 0] {
        let claimed = bob.client.claim_keys(&claim(a)).await.unwrap();
        assert_eq!(claimed.bundles.len(), 1);
        let bundle = &claimed.bundles[0];
        assert!(!bundle.fallback);
        assert!(seen.insert(bundle.one_time_key.key_id.clone()));
        // The bundle carries everything the claimer needs to check it.
        let identity = alice.identity.verifying_key();
        let signature = STANDARD
            .decode(bundle.device_keys.signature.as_deref().unwrap())
            .unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        identity
            .verify_strict(&bundle.device_keys.signing_bytes(), &signature)
            .unwrap();
        let counts = alice
            .client
            .upload_keys(&UploadKeys::default())
            .await
            .unwrap();
        assert_eq!(counts.one_time_keys, left);
    }
    for _ in 0..2 {
        let claimed = bob.client.claim_keys(&claim(a)).await.unwrap();
        assert_eq!(claimed.bundles.len(), 1);
        assert!(claimed.bundles[0].fallback);
        assert_eq!(claimed.bundles[0].one_time_key.key_id, "fallback000");
    }
    server.stop().await;
}

async fn concurrent_claims_never_share_a_key(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let bob = account(&server).await;
    publish(&alice.client, Some(&alice.identity), 5).await;
    let a = uid(&alice.client);

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = bob.client.clone();
            tokio::spawn(async move { c.claim_keys(&claim(a)).await })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut fallbacks = 0;
    for t in tasks {
        let claimed = t.await.unwrap().unwrap();
        assert_eq!(claimed.bundles.len(), 1);
        let bundle = &claimed.bundles[0];
        if bundle.fallback {
            fallbacks += 1;
        } else {
            assert!(
                seen.insert(bundle.one_time_key.key_id.clone()),
                "{} handed out twice",
                bundle.one_time_key.key_id
            );
        }
    }
    assert_eq!((seen.len(), fallbacks), (5, 5));
    server.stop().await;
}

async fn bad_signatures_store_nothing(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let c = &alice.client;
    let device = signing_key();

    // Signed by some other key, not alice's identity.
    let forged = UploadKeys {
        device_keys: Some(device_keys(c, &device, Some(&signing_key()))),
        one_time_keys: one_time_keys(c, &device, "k", 2),
        fallback_key: None,
    };
    refused(c.upload_keys(&forged).await, 422, "bad-signature");
    let mut garbage = device_keys(c, &device, None);
    garbage.signature = Some("not base64!".into());
    let upload = UploadKeys {
        device_keys: Some(garbage),
        ..UploadKeys::default()
    };
    refused(c.upload_keys(&upload).await, 422, "bad-signature");
    let listed = c.user_devices(uid(c)).await.unwrap();
    assert_eq!(listed[0].keys, None, "nothing stored");
    assert!(!listed[0].verified);

    // A one-time key signed by another device key.
    let keys = device_keys(c, &device, Some(&alice.identity));
    let mut otks = one_time_keys(c, &device, "k", 2);
    otks.extend(one_time_keys(c, &signing_key(), "x", 1));
    let upload = UploadKeys {
        device_keys: Some(keys.clone()),
        one_time_keys: otks,
        fallback_key: None,
    };
    refused(c.upload_keys(&upload).await, 422, "bad-signature");
    // A fallback key whose content was changed after signing.
    let mut fallback = one_time_keys(c, &device, "f", 1).pop().unwrap();
    fallback.key_id = "f001".into();
    let upload = UploadKeys {
        device_keys: Some(keys),
        one_time_keys: Vec::new(),
        fallback_key: Some(fallback),
    };
    refused(c.upload_keys(&upload).await, 422, "bad-signature");
    let listed = c.user_devices(uid(c)).await.unwrap();
    assert_eq!(listed[0].keys, None, "nothing stored");
    let counts = c.upload_keys(&UploadKeys::default()).await.unwrap();
    assert_eq!((counts.one_time_keys, counts.fallback_key), (0, false));
    server.stop().await;
}

async fn uploads_only_for_the_calling_device(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let bob = account(&server).await;
    let laptop = second_device(&server, &alice.reg, "laptop").await;
    let device = signing_key();

    // Alice's first device uploading keys for her laptop.
    let mut keys = device_keys(&laptop, &device, Some(&alice.identity));
    let upload = UploadKeys {
        device_keys: Some(keys.clone()),
        ..UploadKeys::default()
    };
    refused(alice.client.upload_keys(&upload).await, 403, "forbidden");
    // Bob uploading for alice's device, even correctly signed.
    refused(bob.client.upload_keys(&upload).await, 403, "forbidden");
    // Bob claiming alice's device as his own user.
    keys.user_id = uid(&bob.client);
    keys.signature = None;
    let upload = UploadKeys {
        device_keys: Some(keys),
        ..UploadKeys::default()
    };
    refused(bob.client.upload_keys(&upload).await, 403, "forbidden");
    for d in bob.client.user_devices(uid(&alice.client)).await.unwrap() {
        assert_eq!(d.keys, None, "nothing stored");
        assert_eq!(d.name, "", "device names are for their owner only");
    }
    let own = alice.client.user_devices(uid(&alice.client)).await.unwrap();
    assert!(
        own.iter().all(|d| !d.name.is_empty()),
        "the owner sees the names"
    );
    server.stop().await;
}

async fn unsigned_devices_reach_only_their_own_user(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let bob = account(&server).await;
    let a = uid(&alice.client);
    publish(&alice.client, Some(&alice.identity), 5).await;
    let laptop = second_device(&server, &alice.reg, "laptop").await;
    publish(&laptop, None, 5).await;
    let (first_id, laptop_id) = (
        alice.client.tokens().unwrap().device_id,
        laptop.tokens().unwrap().device_id,
    );

    let listed = bob.client.user_devices(a).await.unwrap();
    assert_eq!(listed.len(), 2);
    let unsigned = listed.iter().find(|d| d.device_id == laptop_id).unwrap();
    assert!(unsigned.keys.is_some());
    assert!(!unsigned.verified, "present but not verified");
    assert_eq!(unsigned.name, "", "other users do not see device names");

    let theirs = bob.client.claim_keys(&claim(a)).await.unwrap();
    assert_eq!(
        devices_of(&theirs),
        [first_id],
        "others see verified devices only"
    );
    let named = ClaimKeys {
        user_id: a,
        device_ids: Some(vec![laptop_id]),
    };
    assert!(
        bob.client
            .claim_keys(&named)
            .await
            .unwrap()
            .bundles
            .is_empty()
    );
    // Alice's own devices reach the unsigned one, never themselves.
    let own = alice.client.claim_keys(&claim(a)).await.unwrap();
    assert_eq!(devices_of(&own), [laptop_id]);
    assert_eq!(own.bundles[0].device_keys.signature, None);
    let own = laptop.claim_keys(&claim(a)).await.unwrap();
    assert_eq!(devices_of(&own), [first_id]);
    let itself = ClaimKeys {
        user_id: a,
        device_ids: Some(vec![laptop_id]),
    };
    assert!(laptop.claim_keys(&itself).await.unwrap().bundles.is_empty());

    // Approval: the same keys again, now signed by the identity key.
    let mut approved = listed
        .into_iter()
        .find(|d| d.device_id == laptop_id)
        .unwrap()
        .keys
        .unwrap();
    approved.signature = Some(b64(&alice
        .identity
        .sign(&approved.signing_bytes())
        .to_bytes()));
    let upload = UploadKeys {
        device_keys: Some(approved),
        ..UploadKeys::default()
    };
    laptop.upload_keys(&upload).await.unwrap();
    let listed = bob.client.user_devices(a).await.unwrap();
    assert!(listed.iter().all(|d| d.verified));
    let theirs = bob.client.claim_keys(&claim(a)).await.unwrap();
    assert_eq!(devices_of(&theirs), [first_id, laptop_id]);
    server.stop().await;
}

async fn device_keys_are_permanent(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let c = &alice.client;
    publish(c, Some(&alice.identity), 1).await;
    let other = signing_key();
    let upload = UploadKeys {
        device_keys: Some(device_keys(c, &other, Some(&alice.identity))),
        one_time_keys: one_time_keys(c, &other, "new", 2),
        fallback_key: None,
    };
    refused(c.upload_keys(&upload).await, 409, "device-keys-conflict");
    let counts = c.upload_keys(&UploadKeys::default()).await.unwrap();
    assert_eq!(
        counts.one_time_keys, 1,
        "nothing of the refused upload stored"
    );
    server.stop().await;
}

async fn removed_devices_lose_their_keys(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let bob = account(&server).await;
    let a = uid(&alice.client);
    publish(&alice.client, Some(&alice.identity), 3).await;
    let laptop = second_device(&server, &alice.reg, "laptop").await;
    publish(&laptop, Some(&alice.identity), 3).await;
    let (first_id, laptop_id) = (
        alice.client.tokens().unwrap().device_id,
        laptop.tokens().unwrap().device_id,
    );
    let claimed = bob.client.claim_keys(&claim(a)).await.unwrap();
    assert_eq!(devices_of(&claimed), [first_id, laptop_id]);

    alice.client.delete_device(laptop_id).await.unwrap();
    let claimed = bob.client.claim_keys(&claim(a)).await.unwrap();
    assert_eq!(devices_of(&claimed), [first_id]);
    let listed = bob.client.user_devices(a).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].device_id, first_id);
    server.stop().await;
}

async fn unknown_users_are_not_found(b: Backend) {
    let server = TestServer::start(b, |_| {}).await;
    let alice = account(&server).await;
    let nobody = UserId::new();
    refused(alice.client.user_devices(nobody).await, 404, "not-found");
    refused(
        alice.client.claim_keys(&claim(nobody)).await,
        404,
        "not-found",
    );
    let path = format!("/v1/users/{}/devices", uid(&alice.client));
    let anonymous = server.client();
    let r = anonymous.raw("GET", &path, None, Vec::new()).await.unwrap();
    assert_eq!(r.status, 401);
    server.stop().await;
}
