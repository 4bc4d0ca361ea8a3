//! No secret appears in `Debug` output, in any encoding we use.

use zynk_crypto::{DeviceAccount, FileKey, InboundGroup, OutboundGroup, StateKey, UserIdentity};

/// Encodings of `secret` that must not appear in `debug`.
fn assert_hidden(debug: &str, secret: &[u8]) {
    let b64 = vodozemac::base64_encode(secret);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let list = format!("{secret:?}");
    let list_inner = list.trim_start_matches('[').trim_end_matches(']');
    for needle in [
        b64.as_str(),
        &b64[..16],
        hex.as_str(),
        &hex[..16],
        list_inner,
    ] {
        assert!(!debug.contains(needle), "{debug} contains {needle}");
    }
}

#[test]
fn user_identity() {
    let id = UserIdentity::generate();
    let debug = format!("{id:?}");
    assert!(debug.contains(&id.public_key_base64()));
    assert_hidden(&debug, id.secret_bytes().as_ref());
}

#[test]
fn state_and_file_keys() {
    let key = StateKey::from_bytes([0x5a; 32]);
    let debug = format!("{key:?}");
    assert_eq!(debug, "StateKey(<redacted>)");
    assert_hidden(&debug, key.as_pickle_key());

    let file_key = FileKey::generate();
    let debug = format!("{file_key:?} {:#?}", file_key);
    let bytes = vodozemac::base64_decode(&*file_key.to_base64()).unwrap();
    assert_hidden(&debug, &bytes[..32]);
    assert_hidden(&debug, &bytes);
}

#[test]
fn account_and_sessions() {
    let pickle_key = [9u8; 32];
    let account = DeviceAccount::new();
    let debug = format!("{account:?}");
    assert!(debug.contains(&account.curve25519_base64()));
    // Nothing beyond the two public keys: the pickle (all secrets) is absent.
    assert!(!debug.contains(&account.pickle(&pickle_key)[..24]));
    assert!(debug.len() < 200, "{debug}");

    let mut out = OutboundGroup::new(0);
    let session_key = out.session_key();
    let key_bytes = vodozemac::base64_decode(&*session_key).unwrap();
    let debug = format!("{out:?}");
    assert!(debug.contains(&out.session_id()));
    // The ratchet (bytes 5..133 of the session key) must not show.
    assert_hidden(&debug, &key_bytes[5..133]);
    assert!(!debug.contains(&session_key[..24]));

    let inbound = InboundGroup::from_session_key(&session_key).unwrap();
    let debug = format!("{inbound:?}");
    assert_hidden(&debug, &key_bytes[5..133]);
    assert!(!debug.contains(&session_key[..24]));
    let _ = out.encrypt(b"x");

    let mut bob = crate::Device::new(&UserIdentity::generate());
    let session = account.create_outbound_session(&bob.claim_otk()).unwrap();
    let debug = format!("{session:?}");
    assert!(debug.contains(&session.session_id()));
    assert!(!debug.contains(&session.pickle(&pickle_key)[..24]));
    assert!(debug.len() < 200, "{debug}");
}
