//! The LevelDB ledger: blocks, reads, proofs, identity rules, anchors, reopen.

#![allow(clippy::unwrap_used)] // tests panic on failure by design

mod common;

use zynk_ledger::merkle::hash_leaf;
use zynk_ledger::{
    AnchorBatch, Ledger, LedgerError, Transaction, anchor_batch, message_commitment,
    verify_checkpoint, verify_consistency, verify_inclusion,
};

#[test]
fn blocks_chain_and_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), common::key()).unwrap();
    assert!(ledger.head().unwrap().is_none());
    let mut blocks = Vec::new();
    for b in 0..5u64 {
        let txs: Vec<Transaction> = (0..b * 3 + 1)
            .map(|i| common::registration(b * 100 + i))
            .collect();
        blocks.push(ledger.append_block(&txs, 1_000 + b as i64).unwrap());
    }
    let empty = ledger.append_block(&[], 2_000).unwrap();
    assert_eq!(empty.size, blocks[4].size);
    assert_eq!(ledger.verify().unwrap().blocks, 6);

    let pk = common::key().public_key();
    for (n, b) in blocks.iter().enumerate() {
        assert_eq!(ledger.block(n as u64).unwrap().as_ref(), Some(b));
        if n > 0 {
            assert_eq!(b.prev_hash, blocks[n - 1].hash());
        }
        let cp = verify_checkpoint(&pk, &b.checkpoint("ledger.zynk.test")).unwrap();
        assert_eq!(ledger.root_at(cp.size).unwrap(), cp.root);
        // Every transaction: fetch by hash, prove inclusion in this block's tree.
        for h in &b.tx_hashes {
            let rec = ledger.transaction(h).unwrap().unwrap();
            assert_eq!(rec.block, n as u64);
            assert!(rec.gas_used() > 21);
            let (index, proof) = ledger.inclusion_proof(h, b.size).unwrap();
            verify_inclusion(&hash_leaf(&rec.bytes), index, b.size, &proof, &b.root).unwrap();
        }
        // Consistency of every earlier checkpoint with every later one.
        for later in &blocks[n..] {
            let proof = ledger.consistency_proof(b.size, later.size).unwrap();
            verify_consistency(b.size, later.size, &b.root, &later.root, &proof).unwrap();
        }
    }
    // Reopen: same head, same root, appends continue the chain.
    let root = ledger.root();
    drop(ledger);
    let mut ledger = Ledger::open(dir.path(), common::key()).unwrap();
    assert_eq!(ledger.root(), root);
    assert_eq!(ledger.head().unwrap(), Some(empty.clone()));
    let next = ledger.append_block(&[common::trust(1)], 3_000).unwrap();
    assert_eq!((next.number, next.prev_hash), (6, empty.hash()));
    assert_eq!(ledger.verify().unwrap().transactions, next.size);
    drop(ledger);
    let other = zynk_ledger::LedgerKey::from_seed("ledger.zynk.test", &[9; 32]).unwrap();
    assert!(matches!(
        Ledger::open(dir.path(), other),
        Err(LedgerError::KeyMismatch(_))
    ));
}

#[test]
fn identity_rules_are_enforced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), common::key()).unwrap();
    ledger.append_block(&[common::registration(1)], 1).unwrap();
    let state = ledger.identity(&common::did(1)).unwrap().unwrap();
    assert_eq!((state.key, state.version), ([1; 32], 1));

    // Registering twice, rotating from a wrong key, or repeating a transaction fails,
    // and a failing block writes nothing at all.
    let size = ledger.size();
    assert!(
        ledger
            .append_block(&[common::registration(2), common::registration(1)], 2)
            .is_err()
    );
    assert!(ledger.identity(&common::did(2)).unwrap().is_none());
    let wrong = Transaction::IdentityKeyRotation {
        did: common::did(1),
        old_key: [9; 32],
        new_key: [3; 32],
        timestamp: 2,
    };
    assert!(ledger.append_block(&[wrong], 2).is_err());
    assert!(
        ledger
            .append_block(&[common::trust(5), common::trust(5)], 2)
            .is_err()
    );
    assert!(ledger.append_block(&[], 0).is_err(), "time went backwards");
    assert_eq!(ledger.size(), size);

    let rotate = |old: u8, new: u8| Transaction::IdentityKeyRotation {
        did: common::did(1),
        old_key: [old; 32],
        new_key: [new; 32],
        timestamp: 3 + i64::from(new),
    };
    // Two rotations in one block chain correctly.
    ledger
        .append_block(&[rotate(1, 2), rotate(2, 3)], 3)
        .unwrap();
    let state = ledger.identity(&common::did(1)).unwrap().unwrap();
    assert_eq!((state.key, state.version), ([3; 32], 3));
    let report = ledger.verify().unwrap();
    assert_eq!((report.blocks, report.identities), (2, 1));
}

#[test]
fn message_anchors_store_their_batch_and_prove_each_message() {
    let commitments: Vec<[u8; 32]> = (0..37u8)
        .map(|i| message_commitment(&[i; 16], &[i.wrapping_mul(3); 32]))
        .collect();
    let (root, proofs) = anchor_batch(&commitments);
    for (i, (c, p)) in commitments.iter().zip(&proofs).enumerate() {
        verify_inclusion(&hash_leaf(c), i as u64, 37, p, &root).unwrap();
    }
    assert_ne!(
        message_commitment(&[0; 16], &[0; 32]),
        message_commitment(&[1; 16], &[0; 32])
    );

    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), common::key()).unwrap();
    let batch = AnchorBatch::new(commitments.clone());
    assert_eq!(batch.root, root);
    let tx = Transaction::MessageAnchor {
        merkle_root: root,
        message_count: 37,
        first_timestamp: 10,
        last_timestamp: 20,
    };
    // A batch must match an anchor transaction in the same block.
    assert!(
        ledger
            .append_block_with_anchors(&[common::trust(1)], std::slice::from_ref(&batch), 30)
            .is_err()
    );
    ledger
        .append_block_with_anchors(&[tx], std::slice::from_ref(&batch), 30)
        .unwrap();
    assert_eq!(ledger.anchor(&root).unwrap(), Some(batch));
    assert_eq!(ledger.verify().unwrap().anchors, 1);
}
