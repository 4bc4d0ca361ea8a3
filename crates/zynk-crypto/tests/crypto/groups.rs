use zynk_crypto::{CryptoError, InboundGroup, OutboundGroup, RotationPolicy};

const NOW: u64 = 1_700_000_000;

#[test]
fn three_members_decrypt() {
    let mut sender = OutboundGroup::new(NOW);
    let key = sender.session_key();
    let mut members: Vec<InboundGroup> = (0..3)
        .map(|_| InboundGroup::from_session_key(&key).unwrap())
        .collect();
    for m in &members {
        assert_eq!(m.session_id(), sender.session_id());
        assert_eq!(m.first_known_index(), 0);
    }
    for i in 0..4u32 {
        let text = format!("message {i}");
        let ct = sender.encrypt(text.as_bytes());
        for m in &mut members {
            assert_eq!(m.decrypt(&ct).unwrap(), (text.clone().into_bytes(), i));
        }
    }
    assert_eq!(sender.message_index(), 4);
    assert_eq!(sender.messages_sent(), 4);
}

#[test]
fn replay_is_detected() {
    let mut sender = OutboundGroup::new(NOW);
    let mut member = InboundGroup::from_session_key(&sender.session_key()).unwrap();
    let first = sender.encrypt(b"one");
    let second = sender.encrypt(b"two");
    // Out of order is fine; the second delivery of either is a replay.
    assert_eq!(member.decrypt(&second).unwrap().1, 1);
    assert_eq!(member.decrypt(&first).unwrap().1, 0);
    assert!(matches!(member.decrypt(&first), Err(CryptoError::Replay)));
    assert!(matches!(member.decrypt(&second), Err(CryptoError::Replay)));
}

#[test]
fn late_joiner_cannot_decrypt_earlier_messages() {
    let mut sender = OutboundGroup::new(NOW);
    let early = sender.encrypt(b"before you joined");
    let late_key = sender.session_key();
    let later = sender.encrypt(b"after you joined");
    let mut joiner = InboundGroup::from_session_key(&late_key).unwrap();
    assert_eq!(joiner.first_known_index(), 1);
    assert!(matches!(
        joiner.decrypt(&early),
        Err(CryptoError::UnknownMessageIndex {
            first_known: 1,
            index: 0
        })
    ));
    assert_eq!(
        joiner.decrypt(&later).unwrap(),
        (b"after you joined".to_vec(), 1)
    );
}

#[test]
fn rotation_excludes_removed_member() {
    let mut old = OutboundGroup::new(NOW);
    let mut removed = InboundGroup::from_session_key(&old.session_key()).unwrap();
    let mut kept = InboundGroup::from_session_key(&old.session_key()).unwrap();
    let ct = old.encrypt(b"all three");
    assert!(removed.decrypt(&ct).is_ok() && kept.decrypt(&ct).is_ok());

    // A member leaves: new session, key shared only with those who stay.
    let mut new = OutboundGroup::new(NOW + 60);
    assert_ne!(new.session_id(), old.session_id());
    let mut kept_new = InboundGroup::from_session_key(&new.session_key()).unwrap();
    let secret = new.encrypt(b"not for the removed member");
    assert!(matches!(
        removed.decrypt(&secret),
        Err(CryptoError::BadSignature)
    ));
    assert!(kept.decrypt(&secret).is_err());
    assert_eq!(
        kept_new.decrypt(&secret).unwrap().0,
        b"not for the removed member"
    );
}

#[test]
fn tampered_and_malformed_messages_fail() {
    let mut sender = OutboundGroup::new(NOW);
    let mut member = InboundGroup::from_session_key(&sender.session_key()).unwrap();
    let ct = sender.encrypt(b"payload");
    let mut bytes = vodozemac::base64_decode(&ct).unwrap();
    bytes[10] ^= 0x40;
    assert!(member.decrypt(&vodozemac::base64_encode(&bytes)).is_err());
    assert!(matches!(member.decrypt("!!"), Err(CryptoError::BadBase64)));
    assert!(member.decrypt("AAAA").is_err());
    assert!(InboundGroup::from_session_key("AAAA").is_err());
    // The forgery did not mark index 0 as seen.
    assert_eq!(member.decrypt(&ct).unwrap().1, 0);
}

#[test]
fn rotation_policy() {
    let policy = RotationPolicy {
        max_messages: 3,
        max_age_secs: 3600,
    };
    let mut s = OutboundGroup::new(NOW);
    assert!(!s.should_rotate(&policy, NOW));
    assert!(!s.should_rotate(&policy, NOW + 3599));
    assert!(s.should_rotate(&policy, NOW + 3600));
    for _ in 0..2 {
        s.encrypt(b"x");
    }
    assert!(!s.should_rotate(&policy, NOW));
    s.encrypt(b"x");
    assert!(s.should_rotate(&policy, NOW));
    // A clock that went backwards does not underflow.
    assert!(!OutboundGroup::new(NOW).should_rotate(&policy, NOW - 10));
    assert_eq!(RotationPolicy::default().max_messages, 100);
}
