use zynk_crypto::{
    CryptoError, DeviceAccount, InboundGroup, OlmSession, OutboundGroup, StateKey, UserIdentity,
};

use crate::Device;

fn pickle_key() -> StateKey {
    StateKey::from_bytes([42; 32])
}

#[test]
fn account_round_trip() {
    let key = pickle_key();
    let mut device = Device::new(&UserIdentity::generate());
    let bundle = device.claim_otk();
    let pickle = device.account.pickle(key.as_pickle_key());
    let mut restored = DeviceAccount::from_pickle(&pickle, key.as_pickle_key()).unwrap();
    assert_eq!(
        restored.curve25519_base64(),
        device.account.curve25519_base64()
    );
    assert_eq!(restored.ed25519_base64(), device.account.ed25519_base64());

    // The restored account still holds the published one-time key.
    let alice = DeviceAccount::new();
    let mut session = alice.create_outbound_session(&bundle).unwrap();
    let msg = session.encrypt(b"after restart").unwrap();
    let (_, plain) = restored
        .create_inbound_session(&alice.curve25519_base64(), &msg)
        .unwrap();
    assert_eq!(plain, b"after restart");

    let wrong = StateKey::from_bytes([1; 32]);
    assert!(matches!(
        DeviceAccount::from_pickle(&pickle, wrong.as_pickle_key()),
        Err(CryptoError::Pickle)
    ));
}

#[test]
fn olm_session_round_trip() {
    let key = pickle_key();
    let mut bob = Device::new(&UserIdentity::generate());
    let alice = DeviceAccount::new();
    let mut a = alice.create_outbound_session(&bob.claim_otk()).unwrap();
    let first = a.encrypt(b"1").unwrap();
    let (b, _) = bob
        .account
        .create_inbound_session(&alice.curve25519_base64(), &first)
        .unwrap();

    let mut b =
        OlmSession::from_pickle(&b.pickle(key.as_pickle_key()), key.as_pickle_key()).unwrap();
    let mut a =
        OlmSession::from_pickle(&a.pickle(key.as_pickle_key()), key.as_pickle_key()).unwrap();
    assert_eq!(a.session_id(), b.session_id());
    assert!(b.matches_prekey(&first));
    assert_eq!(b.decrypt(&a.encrypt(b"2").unwrap()).unwrap(), b"2");
    assert_eq!(a.decrypt(&b.encrypt(b"3").unwrap()).unwrap(), b"3");
    // The ratchet state survived: the first message is still a replay.
    assert!(matches!(b.decrypt(&first), Err(CryptoError::Replay)));
    assert!(OlmSession::from_pickle("garbage", key.as_pickle_key()).is_err());
}

#[test]
fn group_sessions_round_trip() {
    let key = pickle_key();
    let mut out = OutboundGroup::new(1234);
    let mut inb = InboundGroup::from_session_key(&out.session_key()).unwrap();
    let first = out.encrypt(b"first");
    assert_eq!(inb.decrypt(&first).unwrap().1, 0);

    let mut out = OutboundGroup::from_pickle(
        &out.pickle(key.as_pickle_key()).unwrap(),
        key.as_pickle_key(),
    )
    .unwrap();
    assert_eq!(
        (
            out.created_at_unix(),
            out.messages_sent(),
            out.message_index()
        ),
        (1234, 1, 1)
    );
    let mut inb = InboundGroup::from_pickle(
        &inb.pickle(key.as_pickle_key()).unwrap(),
        key.as_pickle_key(),
    )
    .unwrap();
    assert_eq!(inb.session_id(), out.session_id());

    // Seen indices survive: the replay is still caught after a restart.
    assert!(matches!(inb.decrypt(&first), Err(CryptoError::Replay)));
    assert_eq!(
        inb.decrypt(&out.encrypt(b"second")).unwrap(),
        (b"second".to_vec(), 1)
    );

    let wrong = StateKey::from_bytes([0; 32]);
    let pickle = inb.pickle(key.as_pickle_key()).unwrap();
    assert!(matches!(
        InboundGroup::from_pickle(&pickle, wrong.as_pickle_key()),
        Err(CryptoError::Pickle)
    ));
    // Pickles of the two kinds are not interchangeable.
    assert!(OutboundGroup::from_pickle(&pickle, key.as_pickle_key()).is_err());
}
