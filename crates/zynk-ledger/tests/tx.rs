//! Transaction encoding, block encoding, checkpoints and the ledger key.

#![allow(clippy::unwrap_used)] // tests panic on failure by design

mod common;

use zynk_ledger::tx::TX_VERSION;
use zynk_ledger::{Block, Transaction, TrustReason, TxError, TxHash, verify_checkpoint};

fn samples() -> Vec<Transaction> {
    vec![
        common::registration(1),
        Transaction::IdentityKeyRotation {
            did: common::did(1),
            old_key: [1; 32],
            new_key: [2; 32],
            timestamp: -5,
        },
        common::trust(3),
        Transaction::MessageAnchor {
            merkle_root: [9; 32],
            message_count: 7,
            first_timestamp: 1,
            last_timestamp: 2,
        },
    ]
}

#[test]
fn round_trips_and_exact_layout() {
    for tx in samples() {
        let bytes = tx.encode().unwrap();
        assert_eq!(bytes[0], TX_VERSION);
        assert_eq!(bytes[1], tx.type_byte());
        assert_eq!(Transaction::decode(&bytes).unwrap(), tx);
    }
    // Layout of a message anchor, byte for byte.
    let tx = Transaction::MessageAnchor {
        merkle_root: [0xab; 32],
        message_count: 3,
        first_timestamp: 1,
        last_timestamp: 2,
    };
    let mut want = vec![1, 4, 0, 32];
    want.extend([0xab; 32]);
    want.extend([0, 4, 0, 0, 0, 3]);
    want.extend([0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
    want.extend([0, 8, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert_eq!(tx.encode().unwrap(), want);
    assert_eq!(Transaction::gas_used(want.len()), 21 + 16 * 62);
    let h = TxHash::of(&want);
    assert_eq!(h.to_string().len(), 66);
    assert!(h.to_string().starts_with("0x"));
    assert_eq!(TxHash::parse(&h.to_string()), Some(h));
}

#[test]
fn decoding_rejects_non_canonical_input() {
    let bytes = common::registration(1).encode().unwrap();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(Transaction::decode(&trailing), Err(TxError::Trailing(1)));
    let mut version = bytes.clone();
    version[0] = 2;
    assert_eq!(Transaction::decode(&version), Err(TxError::Version(2)));
    let mut ty = bytes.clone();
    ty[1] = 9;
    assert_eq!(Transaction::decode(&ty), Err(TxError::Type(9)));
    for cut in 0..bytes.len() {
        assert!(
            Transaction::decode(&bytes[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    let mut reason = common::trust(1).encode().unwrap();
    let at = reason.len() - 10 - 34 - 1; // the reason byte sits before the commitment and timestamp
    reason[at] = 77;
    assert!(matches!(
        Transaction::decode(&reason),
        Err(TxError::Field {
            field: "reason",
            ..
        })
    ));
}

#[test]
fn invalid_fields_are_refused() {
    let bad_did = Transaction::IdentityRegistration {
        did: "alice".into(),
        user_identity_key: [0; 32],
        timestamp: 0,
    };
    assert!(bad_did.encode().is_err());
    let spaces = Transaction::IdentityRegistration {
        did: "did:zynk:a b".into(),
        user_identity_key: [0; 32],
        timestamp: 0,
    };
    assert!(spaces.encode().is_err());
    let score = Transaction::TrustScoreUpdate {
        did: common::did(1),
        old_score: 50,
        new_score: 101,
        reason: TrustReason::SpamReport,
        commitment: [0; 32],
        timestamp: 0,
    };
    assert!(score.encode().is_err());
    let times = Transaction::MessageAnchor {
        merkle_root: [0; 32],
        message_count: 1,
        first_timestamp: 2,
        last_timestamp: 1,
    };
    assert!(times.encode().is_err());
}

fn sealed() -> (zynk_ledger::LedgerKey, Block, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = zynk_ledger::Ledger::open(dir.path(), common::key()).unwrap();
    let block = ledger
        .append_block(&samples()[..1], 1_700_000_000_000)
        .unwrap();
    (common::key(), block, dir)
}

#[test]
fn block_encoding_and_checkpoint() {
    let (key, block, _dir) = sealed();
    assert_eq!(Block::decode(&block.encode()).unwrap(), block);
    let mut longer = block.encode();
    longer.push(0);
    assert!(Block::decode(&longer).is_err());

    let text = block.checkpoint(key.name());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ledger.zynk.test");
    assert_eq!(lines[1], "1");
    assert!(lines[3].starts_with("zynk-block 0 1700000000000 0000"));
    assert_eq!(lines[4], "");
    assert!(lines[5].starts_with("\u{2014} ledger.zynk.test "));
    let cp = verify_checkpoint(&key.public_key(), &text).unwrap();
    assert_eq!((cp.size, cp.root, cp.number), (block.size, block.root, 0));

    // Any change to the body, or another key, fails.
    let tampered = text.replacen("\n1\n", "\n2\n", 1);
    assert!(verify_checkpoint(&key.public_key(), &tampered).is_err());
    let other = zynk_ledger::LedgerKey::from_seed("ledger.zynk.test", &[8; 32]).unwrap();
    assert!(verify_checkpoint(&other.public_key(), &text).is_err());
    assert!(verify_checkpoint(&key.public_key(), &text.replace('\u{2014}', "-")).is_err());
}

#[test]
fn ledger_key_debug_hides_the_secret() {
    let key = common::key();
    let shown = format!("{key:?}");
    let seed = zynk_ledger::hex::encode(&key.seed()[..]);
    assert!(!shown.contains(&seed), "{shown}");
    assert!(shown.contains("ledger.zynk.test"));
    assert!(zynk_ledger::LedgerKey::from_seed("has space", &[1; 32]).is_none());
    assert!(zynk_ledger::LedgerKey::generate("ok").is_some());
}
