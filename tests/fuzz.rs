//! Fuzzing in CI: a fixed set of cases from `snnc::fuzz` (the examples and
//! test models mutated, programs from the grammar, mutated weight files,
//! IR dumps and configurations), run in-process through the commands. Not
//! one may panic or report an internal error (E0900); every one ends in
//! success or a diagnostic. The long run is `cargo run --release -p snnc
//! --example fuzz -- --cases N`.

use std::collections::BTreeMap;
use std::path::Path;

use snnc::fuzz::{self, Corpus, Outcome};

#[global_allocator]
static ALLOC: snn_ir::budget::CountingAlloc = snn_ir::budget::CountingAlloc;

/// The run's seed and size: about a minute in a debug build.
const SEED: u64 = 12;
const CASES: u64 = 5000;

#[test]
fn fixed_cases_end_in_success_or_a_diagnostic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work = std::env::temp_dir().join(format!("snnc-fuzz-ci-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    snn_ir::budget::set_limit(256 << 20);
    fuzz::keep_panic_messages();
    let mut corpus = Corpus::read(&root, false);
    corpus.prepare(&work.join("corpus"), &["loihi", "loihi2"]);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for i in 0..CASES {
        let case = fuzz::case(&corpus, SEED, i);
        let outcome = fuzz::run_case(&case, &work.join("case"));
        *counts.entry(outcome.key()).or_default() += 1;
        *kinds.entry(case.kind).or_default() += 1;
        let bad = match &outcome {
            Outcome::Panic(m) => Some(format!("panic: {m}")),
            Outcome::Error(code) if code == "E0900" || code == "none" => {
                Some(format!("error {code}"))
            }
            _ => None,
        };
        if let Some(why) = bad {
            failures.push(format!(
                "case {i} ({}, from {}): {why}\n  reproduce: cargo run --release -p snnc --example fuzz -- --seed {SEED} --only {i}",
                case.kind, case.seed
            ));
        }
    }
    // Back to the default hook, so that a failed assertion is printed.
    let _ = std::panic::take_hook();
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("{kinds:?}\n{counts:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The cases reached every command and got past the front end.
    for kind in [
        "check",
        "check generated",
        "check weights",
        "dump-ir",
        "dump-ir pass",
        "sim",
        "compile",
        "run config",
        "compare",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no `{kind}` case: {kinds:?}"
        );
    }
    assert_eq!(counts.values().sum::<u64>(), CASES);
    assert!(
        counts.get("ok").copied().unwrap_or(0) > CASES / 10,
        "{counts:?}"
    );
}
