//! Property-based fuzzing (proptest): one test crate, one module per target. What parses
//! untrusted input (a client's frame, a snapshot's bytes) never panics and refuses the bad with
//! the right answer; what folds a sequence (the rules, the session state) keeps its invariants.
//!
//! Cases per property: the default below (a few thousand per target, the whole crate well
//! under a minute in debug), or `ROOKERY_FUZZ_CASES` (else `PROPTEST_CASES`) for a long run
//! (`scripts/fuzz`); a costly property runs a fraction of that. Every property prints one line
//! `fuzz <target>::<property>: <cases> cases in <seconds> s` (seen with `--nocapture`, and
//! appended to the file `ROOKERY_FUZZ_REPORT` names). The
//! seed is random and printed on failure (`PROPTEST_RNG_SEED=<seed>` replays it). Failures are
//! not persisted to files: each one found became an explicit regression test beside its target.

mod frames;
mod json;
mod rules;
mod session_fold;
mod snapshots;

use std::fmt::Debug;
use std::io::Write;
use std::time::Instant;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseResult, TestError, TestRunner};

/// The cases a property runs: `default` in an ordinary `cargo test`; with a case count in the
/// environment, that count divided by `cost` (a property whose case costs `cost` ordinary ones).
pub fn cases(default: u32, cost: u32) -> u32 {
    let from_env = ["ROOKERY_FUZZ_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse::<u32>().ok());
    match from_env {
        Some(n) => (n / cost.max(1)).max(1),
        None => default,
    }
}

/// Prints one result line, and appends it to the file `ROOKERY_FUZZ_REPORT` names, if any
/// (how `scripts/fuzz` counts cases without `--nocapture`).
fn report(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("ROOKERY_FUZZ_REPORT") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("ROOKERY_FUZZ_REPORT names a writable file");
        writeln!(file, "{line}").expect("the report is written");
    }
}

/// Runs `test` on `cases` values of `strategy`, with a shrunk counterexample and its seed on
/// failure, and prints how many cases ran in how long.
pub fn fuzz<S>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let seed = match std::env::var("PROPTEST_RNG_SEED") {
        Ok(seed) => seed.trim().parse().expect("PROPTEST_RNG_SEED is a u64"),
        Err(_) => rand::random::<u64>(),
    };
    let config = Config {
        cases,
        // Explicit regression tests instead of `proptest-regressions/` files.
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        // Each target stays in one process: a panic is a failure, shrunk like any other.
        fork: false,
        timeout: 0,
        ..Config::default()
    };
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    match runner.run(&strategy, test) {
        Ok(()) => report(&format!(
            "fuzz {name}: {cases} cases in {:.2} s",
            started.elapsed().as_secs_f64()
        )),
        Err(TestError::Fail(reason, value)) => panic!(
            "fuzz {name} failed: {reason}\nminimal input: {value:#?}\nreplay: PROPTEST_RNG_SEED={seed}"
        ),
        Err(TestError::Abort(reason)) => {
            panic!("fuzz {name} aborted: {reason} (PROPTEST_RNG_SEED={seed})")
        }
    }
}
