//! Shared helpers for the ledger tests (included with `mod common;`).
#![allow(dead_code, clippy::unwrap_used)] // tests panic on failure by design

use zynk_ledger::{LedgerKey, Transaction, TrustReason};

pub fn key() -> LedgerKey {
    LedgerKey::from_seed("ledger.zynk.test", &[7; 32]).unwrap()
}

pub fn did(i: u64) -> String {
    format!("did:zynk:00000000-0000-4000-8000-{i:012}")
}

pub fn registration(i: u64) -> Transaction {
    Transaction::IdentityRegistration {
        did: did(i),
        user_identity_key: [i as u8; 32],
        timestamp: 1_700_000_000_000 + i as i64,
    }
}

pub fn trust(i: u64) -> Transaction {
    Transaction::TrustScoreUpdate {
        did: did(i),
        old_score: 50,
        new_score: 60,
        reason: TrustReason::VerifiedByCommunity,
        commitment: [i as u8; 32],
        timestamp: 1_700_000_000_000 + i as i64,
    }
}
