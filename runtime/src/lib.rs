//! snn-runtime: executes snnc networks and measures them.
//!
//! This crate is where compiled networks run. It is meant to hold the config
//! formats it executes, the event engine, per-chip core models, the float
//! reference interpreter and statistics. Only the reference exists so far:
//!
//! - [`reference`](mod@reference): the float interpreter of the IR. It implements
//!   `docs/semantics.md` exactly, in `f32`, and is what every backend is
//!   compared against.
//!
//! Invariants:
//! - nothing here panics on a graph that passed [`snn_ir::verify`] or on
//!   user-supplied input data: every problem is a returned error;
//! - the reference reads a graph, never changes it.

pub mod config;
pub mod engine;
pub mod memory;
pub mod reference;
