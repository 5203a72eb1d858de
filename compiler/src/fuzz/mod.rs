//! Fuzzing snnc: cases made from the bundled examples, the test models and
//! a grammar of the language, mutated ([`mutate`]) and run through the
//! commands a user runs, each classified by its [`Outcome`].
//!
//! A case is a function of `(seed, index)`: the same pair gives the same
//! files and command line on every machine, so a finding is reproduced
//! from its index alone (`cargo run --release -p snnc --example fuzz --
//! --seed S --only I` writes it out). `tests/fuzz.rs` runs a bounded set
//! in-process in CI; the `fuzz` example runs millions in supervised child
//! processes and counts outcomes, timeouts and memory.
//!
//! Mix of cases (out of 100): 60 `check` of a model (nine in ten mutated), 8 `check` of a
//! generated one, 6 `check` with a mutated weight file, 5 `dump-ir` of a
//! mutated IR dump, 3 `dump-ir --backend` around a pass, 7 `sim`, 5
//! `compile` then `run`, 4 `run` of a mutated configuration, 2 `compare`.

mod case;
mod corpus;
pub mod grammar;
pub mod mutate;
pub mod rng;
mod run;

pub use case::{Case, CaseFile, case, npy_f32};
pub use corpus::{ConfigSeed, Corpus, Seed, SeedFile};
pub use run::{Outcome, keep_panic_messages, run_case, run_line, write_files};
