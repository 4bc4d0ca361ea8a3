//! Flipping one byte of any stored value makes `verify` fail, naming the key.

#![allow(clippy::unwrap_used)] // tests panic on failure by design

mod common;

use rusty_leveldb::{DB, LdbIterator as _, Options};
use zynk_ledger::{AnchorBatch, AuditError, Ledger, LedgerError, Transaction, message_commitment};

fn build(dir: &std::path::Path) {
    let mut ledger = Ledger::open(dir, common::key()).unwrap();
    ledger
        .append_block(&[common::registration(1), common::registration(2)], 10)
        .unwrap();
    let rotation = Transaction::IdentityKeyRotation {
        did: common::did(1),
        old_key: [1; 32],
        new_key: [5; 32],
        timestamp: 11,
    };
    ledger
        .append_block(&[rotation, common::trust(2)], 11)
        .unwrap();
    let batch = AnchorBatch::new(
        (0..5u8)
            .map(|i| message_commitment(&[i; 16], &[i; 32]))
            .collect(),
    );
    let anchor = Transaction::MessageAnchor {
        merkle_root: batch.root,
        message_count: 5,
        first_timestamp: 1,
        last_timestamp: 2,
    };
    ledger
        .append_block_with_anchors(&[anchor, common::registration(3)], &[batch], 12)
        .unwrap();
    ledger.verify().unwrap();
}

fn all_keys(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut db = DB::open(dir, Options::default()).unwrap();
    let mut it = db.new_iter().unwrap();
    let mut out = Vec::new();
    while let Some((k, v)) = it.next() {
        out.push((String::from_utf8(k).unwrap(), v));
    }
    out
}

#[test]
fn one_flipped_byte_in_each_kind_of_value_is_named() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let keys = all_keys(base.path());
    let kinds = [
        "block:",
        "tx:",
        "leaf:",
        "node:",
        "state:identity:",
        "merkle:",
        "meta:size",
        "meta:head",
        "meta:key",
    ];
    for kind in kinds {
        let targets: Vec<&(String, Vec<u8>)> =
            keys.iter().filter(|(k, _)| k.starts_with(kind)).collect();
        assert!(!targets.is_empty(), "no {kind} keys");
        // The first and the last value of each kind, at a middle and the last byte.
        for (key, value) in [targets[0], targets[targets.len() - 1]] {
            for at in [value.len() / 2, value.len() - 1] {
                let dir = tempfile::tempdir().unwrap();
                build(dir.path());
                {
                    let mut db = DB::open(dir.path(), Options::default()).unwrap();
                    let mut v = value.clone();
                    v[at] ^= 0x01;
                    db.put(key.as_bytes(), &v).unwrap();
                    db.close().unwrap();
                }
                // `open` already checks meta:key, meta:head and meta:size.
                let (named, problem) = match Ledger::open(dir.path(), common::key()) {
                    Ok(mut ledger) => match ledger.verify().unwrap_err() {
                        AuditError::Corrupt { key, problem } => (key, problem),
                        other => panic!("{key}: {other}"),
                    },
                    Err(LedgerError::Corrupt { key, problem }) => (key, problem),
                    Err(LedgerError::KeyMismatch(_)) if kind == "meta:key" => continue,
                    Err(e) => panic!("{key} byte {at}: open failed: {e}"),
                };
                let block_of_tx = kind == "tx:" && named.starts_with("block:");
                assert!(
                    &named == key || named.starts_with(kind) || block_of_tx,
                    "flipped {key} byte {at}, but the audit named {named}: {problem}"
                );
            }
        }
    }
}

#[test]
fn extra_and_missing_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    {
        let mut db = DB::open(dir.path(), Options::default()).unwrap();
        db.delete(b"node:0:1").unwrap();
        db.close().unwrap();
    }
    let err = Ledger::open(dir.path(), common::key())
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(err.to_string().starts_with("node:*"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    {
        let mut db = DB::open(dir.path(), Options::default()).unwrap();
        db.put(b"state:identity:did:zynk:ghost", &[0; 68]).unwrap();
        db.close().unwrap();
    }
    let err = Ledger::open(dir.path(), common::key())
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(
        err.to_string().starts_with("state:identity:did:zynk:ghost"),
        "{err}"
    );
}
