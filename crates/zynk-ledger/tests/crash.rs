//! Crash safety: a child process appends blocks in a loop and is SIGKILLed at
//! random moments; each time the ledger must reopen whole and pass `verify`.
//!
//! The child is this same test binary, re-run with `ZYNK_LEDGER_CRASH_DIR` set.

#![allow(clippy::unwrap_used)] // tests panic on failure by design

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use zynk_ledger::{Ledger, Transaction};

const DIR_VAR: &str = "ZYNK_LEDGER_CRASH_DIR";

/// Child mode: append blocks until killed.
fn append_forever(dir: &str) -> ! {
    let mut ledger = Ledger::open(dir, common::key()).unwrap();
    let mut time = ledger.head().unwrap().map_or(0, |b| b.time);
    loop {
        let base = ledger.size();
        let n = 1 + rand::random::<u64>() % 64;
        let txs: Vec<Transaction> = (0..n)
            .map(|i| {
                if i % 3 == 2 {
                    common::trust(base + i)
                } else {
                    common::registration(base + i)
                }
            })
            .collect();
        time += 1;
        ledger.append_block(&txs, time).unwrap();
    }
}

#[test]
fn killed_writer_leaves_a_whole_ledger() {
    if let Ok(dir) = std::env::var(DIR_VAR) {
        append_forever(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut last = (0u64, 0u64);
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args([
                "killed_writer_leaves_a_whole_ledger",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + rand::random::<u64>() % 350));
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: the writer exited early"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let mut ledger = Ledger::open(dir.path(), common::key()).unwrap();
        let report = ledger
            .verify()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            report.blocks >= last.0 && report.transactions >= last.1,
            "round {round} lost blocks"
        );
        last = (report.blocks, report.transactions);
    }
    assert!(
        last.0 > 6,
        "the writer made too little progress to test anything: {last:?}"
    );
}
