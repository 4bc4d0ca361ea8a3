//! `cargo bench -p zynk-ledger`: a self-timed loop per measurement (no criterion;
//! each figure is the best of a few runs). Results go in BENCHMARKS.md.
#![allow(clippy::unwrap_used)] // a benchmark aborts on failure

use std::hint::black_box;
use std::time::{Duration, Instant};

use zynk_ledger::merkle::{self, MemoryLog, hash_leaf};
use zynk_ledger::{
    AnchorBatch, Ledger, LedgerKey, Transaction, TrustReason, anchor_batch, message_commitment,
};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn key() -> LedgerKey {
    LedgerKey::from_seed("bench.zynk", &[1; 32]).unwrap()
}

fn trust(i: u64) -> Transaction {
    Transaction::TrustScoreUpdate {
        did: format!("did:zynk:00000000-0000-4000-8000-{i:012}"),
        old_score: 50,
        new_score: 51,
        reason: TrustReason::AccountAgeMilestone,
        commitment: [7; 32],
        timestamp: i as i64,
    }
}

fn memory_append() {
    const N: u64 = 1_000_000;
    let d = best_of(3, || {
        let mut log = MemoryLog::new();
        for i in 0..N {
            log.append(&i.to_le_bytes());
        }
        log.current_root()
    });
    println!(
        "memory append: {N} entries in {d:?} = {:.0} entries/s",
        N as f64 / d.as_secs_f64()
    );
}

fn leveldb_blocks(per_block: u64, blocks: u64) {
    let total = per_block * blocks;
    let d = best_of(3, || {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path(), key()).unwrap();
        for b in 0..blocks {
            let txs: Vec<Transaction> = (0..per_block).map(|i| trust(b * per_block + i)).collect();
            ledger.append_block(&txs, b as i64).unwrap();
        }
        ledger.size()
    });
    println!(
        "leveldb blocks: {total} tx in {blocks} blocks of {per_block}: {d:?} = {:.0} tx/s",
        total as f64 / d.as_secs_f64()
    );
}

fn anchoring(n: u32) {
    let d = best_of(3, || {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path(), key()).unwrap();
        let commitments: Vec<[u8; 32]> = (0..n)
            .map(|i| {
                let mut id = [0u8; 16];
                id[..4].copy_from_slice(&i.to_be_bytes());
                message_commitment(&id, &[(i % 251) as u8; 32])
            })
            .collect();
        let (root, proofs) = anchor_batch(&commitments);
        let tx = Transaction::MessageAnchor {
            merkle_root: root,
            message_count: n,
            first_timestamp: 0,
            last_timestamp: 1,
        };
        let batch = AnchorBatch { root, commitments };
        ledger
            .append_block_with_anchors(&[tx], &[batch], 1)
            .unwrap();
        proofs.len()
    });
    println!(
        "anchoring: {n} messages (commitments + batch tree + proofs + anchor block) in {d:?} = {:.0} messages/s",
        f64::from(n) / d.as_secs_f64()
    );
}

fn proofs_at_a_million() {
    const N: u64 = 1_000_000;
    let mut log = MemoryLog::new();
    for i in 0..N {
        log.append(&i.to_le_bytes());
    }
    let root = log.current_root();
    let indices: Vec<u64> = (0..10_000u64).map(|i| (i * 7_919_993) % N).collect();
    let t = Instant::now();
    let proofs: Vec<Vec<[u8; 32]>> = indices
        .iter()
        .map(|&i| merkle::inclusion_proof(&mut log, i, N).unwrap())
        .collect();
    let gen_each = t.elapsed() / indices.len() as u32;
    let max_len = proofs.iter().map(Vec::len).max().unwrap();
    let leaves: Vec<[u8; 32]> = indices
        .iter()
        .map(|i| hash_leaf(&i.to_le_bytes()))
        .collect();
    let d = best_of(3, || {
        for ((p, &i), l) in proofs.iter().zip(&indices).zip(&leaves) {
            zynk_ledger::verify_inclusion(l, i, N, p, &root).unwrap();
        }
    });
    println!(
        "inclusion at {N} entries: proof {max_len} hashes = {} bytes; generate (memory) {gen_each:?}; verify {:?} per proof",
        max_len * 32,
        d / indices.len() as u32
    );
    let old = N / 3;
    let old_root = merkle::root(&mut log, old).unwrap();
    let proof = merkle::consistency_proof(&mut log, old, N).unwrap();
    let d = best_of(5, || {
        for _ in 0..1000 {
            zynk_ledger::verify_consistency(old, N, &old_root, &root, &proof).unwrap();
        }
    });
    println!(
        "consistency {old} -> {N}: proof {} hashes = {} bytes; verify {:?} per proof",
        proof.len(),
        proof.len() * 32,
        d / 1000
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: run tiny sizes then.
    if !std::env::args().any(|a| a == "--bench") {
        leveldb_blocks(10, 2);
        anchoring(10);
        return;
    }
    memory_append();
    leveldb_blocks(1000, 50);
    leveldb_blocks(100, 200);
    anchoring(100_000);
    proofs_at_a_million();
}
