//! The published RFC 6962 vectors of transparency-dev/merkle (see fixtures/README.md).

#![allow(clippy::unwrap_used)] // tests panic on failure by design

use zynk_ledger::Hash;
use zynk_ledger::merkle::{self, MemoryLog, NodeStore as _, hash_leaf};
use zynk_ledger::{root_from_inclusion, verify_consistency, verify_inclusion};

#[derive(Default)]
struct Vectors {
    leaves: Vec<Vec<u8>>,
    nodes: Vec<(u32, u64, Hash)>,
    roots: Vec<(u64, Hash)>,
    inclusions: Vec<(u64, u64, Vec<Hash>)>,
    consistencies: Vec<(u64, u64, Vec<Hash>)>,
}

fn h(s: &str) -> Hash {
    zynk_ledger::hex::decode32(s).unwrap()
}

fn load() -> Vectors {
    let text = include_str!("fixtures/rfc6962-vectors.txt");
    let mut v = Vectors::default();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| f[i].parse::<u64>().unwrap();
        match f[0] {
            "leaf" => {
                assert_eq!(n(1) as usize, v.leaves.len());
                v.leaves.push(if f[2] == "-" {
                    vec![]
                } else {
                    zynk_ledger::hex::decode(f[2]).unwrap()
                });
            }
            "node" => v.nodes.push((n(1) as u32, n(2), h(f[3]))),
            "root" => v.roots.push((n(1), h(f[2]))),
            "inclusion" => v
                .inclusions
                .push((n(1), n(2), f[3..].iter().map(|s| h(s)).collect())),
            "consistency" => {
                v.consistencies
                    .push((n(1), n(2), f[3..].iter().map(|s| h(s)).collect()))
            }
            other => panic!("unknown record {other}"),
        }
    }
    assert_eq!(v.leaves.len(), 8);
    v
}

fn log(v: &Vectors) -> MemoryLog {
    let mut log = MemoryLog::new();
    for l in &v.leaves {
        log.append(l);
    }
    log
}

#[test]
fn nodes_and_roots_match() {
    let v = load();
    let mut log = log(&v);
    assert_eq!(v.nodes.len(), 15);
    for &(level, index, want) in &v.nodes {
        assert_eq!(
            log.node(level, index).unwrap(),
            want,
            "node ({level}, {index})"
        );
    }
    assert_eq!(v.roots.len(), 9);
    for &(size, want) in &v.roots {
        assert_eq!(
            merkle::root(&mut log, size).unwrap(),
            want,
            "root of size {size}"
        );
    }
    // Incremental appends see the same roots.
    let mut inc = MemoryLog::new();
    for (i, l) in v.leaves.iter().enumerate() {
        inc.append(l);
        assert_eq!(inc.current_root(), v.roots[i + 1].1);
    }
}

fn corrupt_proofs(proof: &[Hash], some: Hash) -> Vec<(String, Vec<Hash>)> {
    let mut out = vec![
        ("trailing hash".to_string(), [proof, &[some]].concat()),
        ("preceding hash".to_string(), [&[some], proof].concat()),
    ];
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i][0] ^= 8;
        out.push((format!("modified proof[{i}]"), p));
    }
    if !proof.is_empty() {
        out.push((
            "removed component".into(),
            proof[..proof.len() - 1].to_vec(),
        ));
    }
    if proof.len() > 1 {
        out.push((
            "inserted component".into(),
            [&proof[..1], &[some], &proof[1..]].concat(),
        ));
    }
    out
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let v = load();
    let mut log = log(&v);
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    assert_eq!(v.inclusions.len(), 7);
    for (index, size, want) in &v.inclusions {
        let (index, size) = (*index, *size);
        assert_eq!(
            &merkle::inclusion_proof(&mut log, index, size).unwrap(),
            want,
            "proof {index}/{size}"
        );
        let leaf = hash_leaf(&v.leaves[index as usize]);
        let root = v.roots[size as usize].1;
        assert_eq!(root_from_inclusion(&leaf, index, size, want).unwrap(), root);
        verify_inclusion(&leaf, index, size, want, &root).unwrap();
        // The probes of proof/verify_test.go's corruptInclusionProof.
        let wrong = |i: u64, s: u64, l: &Hash, p: &[Hash], r: &Hash| {
            verify_inclusion(l, i, s, p, r).is_err()
        };
        assert!(
            wrong(index.wrapping_sub(1), size, &leaf, want, &root),
            "index - 1"
        );
        assert!(wrong(index + 1, size, &leaf, want, &root), "index + 1");
        if index ^ 2 != index {
            assert!(wrong(index ^ 2, size, &leaf, want, &root), "index ^ 2");
        }
        assert!(wrong(index, size * 2, &leaf, want, &root), "size * 2");
        assert!(wrong(index, size / 2, &leaf, want, &root), "size / 2");
        assert!(wrong(index, size, &some, want, &root), "wrong leaf");
        assert!(
            wrong(index, size, &leaf, want, &merkle::EMPTY_ROOT),
            "empty root"
        );
        assert!(wrong(index, size, &leaf, want, &some), "random root");
        for (what, p) in corrupt_proofs(want, some) {
            assert!(
                wrong(index, size, &leaf, &p, &root),
                "{what} for {index}/{size}"
            );
        }
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let v = load();
    let mut log = log(&v);
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    assert_eq!(v.consistencies.len(), 5);
    for (s1, s2, want) in &v.consistencies {
        let (s1, s2) = (*s1, *s2);
        assert_eq!(
            &merkle::consistency_proof(&mut log, s1, s2).unwrap(),
            want,
            "proof {s1}→{s2}"
        );
        let (r1, r2) = (v.roots[s1 as usize].1, v.roots[s2 as usize].1);
        verify_consistency(s1, s2, &r1, &r2, want).unwrap();
        if want.is_empty() {
            continue;
        }
        // The probes of proof/verify_test.go's corruptConsistencyProof.
        let wrong = |a: u64, b: u64, x: &Hash, y: &Hash, p: &[Hash]| {
            verify_consistency(a, b, x, y, p).is_err()
        };
        assert!(wrong(s1 - 1, s2, &r1, &r2, want), "size1 - 1");
        assert!(wrong(s1 + 1, s2, &r1, &r2, want), "size1 + 1");
        assert!(wrong(s1 ^ 2, s2, &r1, &r2, want), "size1 ^ 2");
        assert!(wrong(s1, s2 * 2, &r1, &r2, want), "size2 * 2");
        assert!(wrong(s1, s2 / 2, &r1, &r2, want), "size2 / 2");
        assert!(wrong(s1, s2, &some, &r2, want), "wrong root1");
        assert!(wrong(s1, s2, &r1, &some, want), "wrong root2");
        assert!(wrong(s1, s2, &r2, &r1, want), "swapped roots");
        assert!(wrong(s1, s2, &r1, &r2, &[]), "empty proof");
        for extra in [r1, r2] {
            assert!(
                wrong(s1, s2, &r1, &r2, &[want.as_slice(), &[extra]].concat()),
                "trailing root"
            );
            assert!(
                wrong(s1, s2, &r1, &r2, &[&[extra], want.as_slice()].concat()),
                "preceding root"
            );
        }
        assert!(
            wrong(s1, s2, &r1, &r2, &[&[want[0]], want.as_slice()].concat()),
            "preceding proof[0]"
        );
        for (what, p) in corrupt_proofs(want, some) {
            assert!(wrong(s1, s2, &r1, &r2, &p), "{what} for {s1}→{s2}");
        }
    }
}

#[test]
fn trivial_consistency_cases() {
    // proof/verify_test.go TestVerifyConsistency's table.
    let (r1, r2, e) = ([1u8; 32], [2u8; 32], merkle::EMPTY_ROOT);
    assert!(verify_consistency(0, 0, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 1, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(0, 0, &r1, &r1, &[]).is_ok());
    assert!(verify_consistency(0, 1, &r1, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 1, &r2, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 0, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(2, 1, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 2, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(0, 0, &e, &e, &[e]).is_err());
    assert!(verify_consistency(0, 1, &e, &e, &[e]).is_err());
    assert!(verify_consistency(1, 1, &e, &e, &[e]).is_err());
    // TestVerifyInclusion's degenerate probes.
    for (i, s) in [(0, 0), (1, 0), (2, 1)] {
        assert!(verify_inclusion(&r1, i, s, &[], &e).is_err());
    }
    let leaf = hash_leaf(b"data");
    assert!(verify_inclusion(&leaf, 0, 1, &[], &leaf).is_ok());
    assert!(verify_inclusion(&leaf, 0, 1, &[], &e).is_err());
}
