//! Randomised properties of the log against a direct transcription of the
//! RFC 6962 §2.1 recursive definitions (MTH, PATH, PROOF).

#![allow(clippy::unwrap_used)] // tests panic on failure by design

use zynk_ledger::Hash;
use zynk_ledger::merkle::{self, MemoryLog, hash_children, hash_leaf};
use zynk_ledger::{verify_consistency, verify_inclusion};

/// SplitMix64: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn k(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => merkle::EMPTY_ROOT,
        1 => d[0],
        n => hash_children(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
    }
}
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() == 1 {
        return vec![];
    }
    let k = k(d.len());
    if m < k {
        [path(m, &d[..k]), vec![mth(&d[k..])]].concat()
    } else {
        [path(m - k, &d[k..]), vec![mth(&d[..k])]].concat()
    }
}
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k(n);
    if m <= k {
        [subproof(m, &d[..k], b), vec![mth(&d[k..])]].concat()
    } else {
        [subproof(m - k, &d[k..], false), vec![mth(&d[..k])]].concat()
    }
}

fn build(n: u64) -> (MemoryLog, Vec<Hash>) {
    let mut log = MemoryLog::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        log.append(&i.to_le_bytes());
        leaves.push(hash_leaf(&i.to_le_bytes()));
    }
    (log, leaves)
}

fn check_inclusion(
    log: &mut MemoryLog,
    leaves: &[Hash],
    roots: &[Hash],
    i: u64,
    s: u64,
    rng: &mut Rng,
) {
    let proof = merkle::inclusion_proof(log, i, s).unwrap();
    let root = roots[s as usize];
    verify_inclusion(&leaves[i as usize], i, s, &proof, &root).unwrap();
    // Tampering: a flipped proof bit, another index, another root.
    if !proof.is_empty() {
        let mut bad = proof.clone();
        let j = rng.below(bad.len() as u64) as usize;
        bad[j][rng.below(32) as usize] ^= 1 << rng.below(8);
        assert!(verify_inclusion(&leaves[i as usize], i, s, &bad, &root).is_err());
        let other = (i + 1 + rng.below(s - 1)) % s;
        assert!(verify_inclusion(&leaves[i as usize], other, s, &proof, &root).is_err());
    }
    let mut bad_root = root;
    bad_root[rng.below(32) as usize] ^= 0x80;
    assert!(verify_inclusion(&leaves[i as usize], i, s, &proof, &bad_root).is_err());
}

fn check_consistency(log: &mut MemoryLog, roots: &[Hash], a: u64, b: u64, rng: &mut Rng) {
    let proof = merkle::consistency_proof(log, a, b).unwrap();
    let (ra, rb) = (roots[a as usize], roots[b as usize]);
    verify_consistency(a, b, &ra, &rb, &proof).unwrap();
    if !proof.is_empty() {
        let mut bad = proof.clone();
        let j = rng.below(bad.len() as u64) as usize;
        bad[j][rng.below(32) as usize] ^= 1 << rng.below(8);
        assert!(
            verify_consistency(a, b, &ra, &rb, &bad).is_err(),
            "{a}→{b} tampered proof"
        );
        let mut bad_root = rb;
        bad_root[0] ^= 1;
        assert!(verify_consistency(a, b, &ra, &bad_root, &proof).is_err());
        assert!(verify_consistency(a, b, &rb, &ra, &proof).is_err() || ra == rb);
    }
}

#[test]
fn every_proof_matches_the_rfc_definitions_up_to_64() {
    let (mut log, leaves) = build(64);
    let roots: Vec<Hash> = (0..=64).map(|s| mth(&leaves[..s])).collect();
    let mut rng = Rng(1);
    for s in 1..=64u64 {
        assert_eq!(merkle::root(&mut log, s).unwrap(), roots[s as usize]);
        for i in 0..s {
            assert_eq!(
                merkle::inclusion_proof(&mut log, i, s).unwrap(),
                path(i as usize, &leaves[..s as usize])
            );
            check_inclusion(&mut log, &leaves, &roots, i, s, &mut rng);
        }
        for a in 1..s {
            let want = subproof(a as usize, &leaves[..s as usize], true);
            assert_eq!(
                merkle::consistency_proof(&mut log, a, s).unwrap(),
                want,
                "{a}→{s}"
            );
            check_consistency(&mut log, &roots, a, s, &mut rng);
        }
    }
}

#[test]
fn random_sizes_up_to_4096() {
    let (mut log, leaves) = build(4096);
    let roots: Vec<Hash> = {
        let mut inc = MemoryLog::new();
        let mut r = vec![merkle::EMPTY_ROOT];
        for l in &leaves {
            inc.append_hash(*l);
            r.push(inc.current_root());
        }
        r
    };
    let mut rng = Rng(0x5eed);
    for _ in 0..40 {
        let s = 1 + rng.below(4096);
        assert_eq!(merkle::root(&mut log, s).unwrap(), roots[s as usize]);
        assert_eq!(roots[s as usize], mth(&leaves[..s as usize]));
        for _ in 0..50 {
            let i = rng.below(s);
            check_inclusion(&mut log, &leaves, &roots, i, s, &mut rng);
            let a = 1 + rng.below(s);
            check_consistency(&mut log, &roots, a, s, &mut rng);
        }
        let a = s / 3 + 1;
        let want = subproof(a as usize, &leaves[..s as usize], true);
        assert_eq!(merkle::consistency_proof(&mut log, a, s).unwrap(), want);
    }
}

#[test]
fn out_of_range_requests_fail() {
    let (mut log, _) = build(10);
    assert!(merkle::inclusion_proof(&mut log, 10, 10).is_err());
    assert!(merkle::inclusion_proof(&mut log, 0, 11).is_err());
    assert!(merkle::consistency_proof(&mut log, 5, 11).is_err());
    assert!(merkle::consistency_proof(&mut log, 6, 5).is_err());
    assert!(merkle::root(&mut log, 11).is_err());
}
