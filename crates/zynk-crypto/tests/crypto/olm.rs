use zynk_crypto::{
    CryptoError, DeviceAccount, FALLBACK_KEY_ID_PREFIX, OlmCiphertext, OlmSession, UserIdentity,
    verify_device_keys,
};

use crate::Device;

/// Alice opens a session to Bob from `bundle`; Bob answers. Returns both ends.
fn handshake(alice: &mut Device, bob: &mut Device, fallback: bool) -> (OlmSession, OlmSession) {
    let bundle = if fallback {
        bob.claim_fallback()
    } else {
        bob.claim_otk()
    };
    let mut a = alice.account.create_outbound_session(&bundle).unwrap();
    let first = a.encrypt(b"hello bob").unwrap();
    assert!(first.is_pre_key());
    let (mut b, plaintext) = bob
        .account
        .create_inbound_session(&alice.account.curve25519_base64(), &first)
        .unwrap();
    assert_eq!(plaintext, b"hello bob");
    assert_eq!(a.session_id(), b.session_id());
    assert!(b.matches_prekey(&first));

    let reply = b.encrypt(b"hello alice").unwrap();
    assert_eq!(reply.message_type, OlmCiphertext::NORMAL);
    assert_eq!(a.decrypt(&reply).unwrap(), b"hello alice");
    // Established: Alice now sends normal messages.
    assert_eq!(
        a.encrypt(b"x").map(|c| c.message_type).unwrap(),
        OlmCiphertext::NORMAL
    );
    (a, b)
}

fn pair() -> (Device, Device) {
    (
        Device::new(&UserIdentity::generate()),
        Device::new(&UserIdentity::generate()),
    )
}

#[test]
fn session_via_one_time_key_both_directions() {
    let (mut alice, mut bob) = pair();
    let (mut a, mut b) = handshake(&mut alice, &mut bob, false);
    let _ = b.decrypt(&a.encrypt(b"skip").unwrap());
    for i in 0..5u8 {
        assert_eq!(b.decrypt(&a.encrypt(&[i; 3]).unwrap()).unwrap(), [i; 3]);
        assert_eq!(a.decrypt(&b.encrypt(&[i; 4]).unwrap()).unwrap(), [i; 4]);
    }
}

#[test]
fn session_via_fallback_key() {
    let (mut alice, mut bob) = pair();
    let bundle = bob.claim_fallback();
    assert!(
        bundle
            .one_time_key
            .key_id
            .starts_with(FALLBACK_KEY_ID_PREFIX)
    );
    let (mut a, mut b) = handshake(&mut alice, &mut bob, true);
    assert_eq!(
        b.decrypt(&a.encrypt(b"via fallback").unwrap()).unwrap(),
        b"via fallback"
    );
}

#[test]
fn out_of_order_messages() {
    let (mut alice, mut bob) = pair();
    let (mut a, mut b) = handshake(&mut alice, &mut bob, false);
    let msgs: Vec<_> = (0..6u8).map(|i| a.encrypt(&[i]).unwrap()).collect();
    for i in [3usize, 0, 5, 1, 4, 2] {
        assert_eq!(b.decrypt(&msgs[i]).unwrap(), [i as u8]);
    }
}

#[test]
fn tampered_ciphertext_is_rejected() {
    let (mut alice, mut bob) = pair();
    let (mut a, mut b) = handshake(&mut alice, &mut bob, false);
    let msg = a.encrypt(b"integrity").unwrap();
    let mut bytes = vodozemac::base64_decode(&msg.body).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let tampered = OlmCiphertext {
        message_type: msg.message_type,
        body: vodozemac::base64_encode(&bytes),
    };
    assert!(b.decrypt(&tampered).is_err());
    let garbage = OlmCiphertext {
        message_type: 1,
        body: "!!!".into(),
    };
    assert!(matches!(b.decrypt(&garbage), Err(CryptoError::BadBase64)));
    // The original still decrypts: a forgery does not burn the key.
    assert_eq!(b.decrypt(&msg).unwrap(), b"integrity");
}

#[test]
fn replayed_message_is_rejected() {
    let (mut alice, mut bob) = pair();
    let (mut a, mut b) = handshake(&mut alice, &mut bob, false);
    let msg = a.encrypt(b"once").unwrap();
    assert_eq!(b.decrypt(&msg).unwrap(), b"once");
    assert!(matches!(b.decrypt(&msg), Err(CryptoError::Replay)));
}

#[test]
fn replayed_prekey_message_cannot_reopen_a_session() {
    let (alice, mut bob) = pair();
    let bundle = bob.claim_otk();
    let mut a = alice.account.create_outbound_session(&bundle).unwrap();
    let first = a.encrypt(b"hi").unwrap();
    let sender = alice.account.curve25519_base64();
    let (mut b, _) = bob.account.create_inbound_session(&sender, &first).unwrap();
    // The one-time key is spent.
    assert!(matches!(
        bob.account.create_inbound_session(&sender, &first),
        Err(CryptoError::UnknownSession)
    ));
    // On the existing session, the same message is a replay.
    assert!(matches!(b.decrypt(&first), Err(CryptoError::Replay)));
    // A normal message is not a pre-key message.
    let normal = OlmCiphertext {
        message_type: OlmCiphertext::NORMAL,
        body: first.body.clone(),
    };
    assert!(
        bob.account
            .create_inbound_session(&sender, &normal)
            .is_err()
    );
}

#[test]
fn prekey_message_from_another_sender_key_is_refused() {
    let (alice, mut bob) = pair();
    let first = alice
        .account
        .create_outbound_session(&bob.claim_otk())
        .unwrap()
        .encrypt(b"x")
        .unwrap();
    let mallory = DeviceAccount::new();
    assert!(matches!(
        bob.account
            .create_inbound_session(&mallory.curve25519_base64(), &first),
        Err(CryptoError::SenderMismatch)
    ));
    // The refusal did not spend the one-time key.
    let sender = alice.account.curve25519_base64();
    assert!(bob.account.create_inbound_session(&sender, &first).is_ok());
}

#[test]
fn matches_prekey_routes_to_the_right_session() {
    let (mut alice, mut bob) = pair();
    let (a1, b1) = handshake(&mut alice, &mut bob, false);
    let mut a2 = alice
        .account
        .create_outbound_session(&bob.claim_otk())
        .unwrap();
    let other = a2.encrypt(b"second session").unwrap();
    assert!(!b1.matches_prekey(&other));
    assert!(!a1.matches_prekey(&OlmCiphertext {
        message_type: 1,
        body: other.body.clone()
    }));
}

#[test]
fn one_time_key_with_bad_signature_is_refused() {
    let (alice, mut bob) = pair();
    let mut bundle = bob.claim_otk();
    // Signed by another device key.
    bundle.one_time_key.signature =
        DeviceAccount::new().sign(&bundle.one_time_key.signing_bytes(bob.id));
    assert!(matches!(
        alice.account.create_outbound_session(&bundle),
        Err(CryptoError::BadSignature)
    ));
    // A substituted key under the original signature.
    let mut bundle = bob.claim_otk();
    bundle.one_time_key.key = DeviceAccount::new().curve25519_base64();
    assert!(matches!(
        alice.account.create_outbound_session(&bundle),
        Err(CryptoError::BadSignature)
    ));
}

#[test]
fn device_keys_with_bad_user_signature_are_refused() {
    let user = UserIdentity::generate();
    let device = Device::new(&user);
    verify_device_keys(&user.public_key_base64(), &device.keys).unwrap();
    let mut forged = device.keys.clone();
    forged.signature = Some(UserIdentity::generate().sign(&forged.signing_bytes()));
    assert!(matches!(
        verify_device_keys(&user.public_key_base64(), &forged),
        Err(CryptoError::BadSignature)
    ));
    forged.signature = None;
    assert!(matches!(
        verify_device_keys(&user.public_key_base64(), &forged),
        Err(CryptoError::BadSignature)
    ));
}

#[test]
fn one_time_keys_are_signed_and_numbered() {
    let user = UserIdentity::generate();
    let mut device = Device::new(&user);
    assert_eq!(device.account.max_one_time_keys(), 50);
    let keys = device.account.generate_one_time_keys(device.id, 5);
    assert_eq!(keys.len(), 5);
    let mut ids: Vec<_> = keys.iter().map(|k| k.key_id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    for k in &keys {
        zynk_crypto::verify_signature(
            &device.keys.ed25519,
            &k.signing_bytes(device.id),
            &k.signature,
        )
        .unwrap();
    }
    // Unpublished keys are not returned twice by a later batch.
    let more = device.account.generate_one_time_keys(device.id, 2);
    assert!(
        more.iter()
            .all(|k| keys.iter().all(|o| o.key_id != k.key_id))
    );
    // The fallback key stays the same until published.
    let f1 = device.account.fallback_key(device.id).unwrap();
    assert_eq!(device.account.fallback_key(device.id).unwrap(), f1);
    device.account.mark_keys_as_published();
    assert_ne!(device.account.fallback_key(device.id).unwrap().key, f1.key);
}
