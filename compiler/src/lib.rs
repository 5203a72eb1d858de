//! snnc: the compiler driver. Reads `.snn` files (lexer, parser,
//! diagnostics), lowers them to the IR, and runs the rest of the pipeline.
//!
//! Invariants:
//! - user input never panics: every problem is a [`diag::Diagnostic`] with a
//!   code and, where there is one, a source span;
//! - user input never makes snnc allocate past the memory budget
//!   ([`snn_ir::budget`]) nor recurse past the limits of `docs/language.md`
//!   ("Limits"); commands run on a stack of [`cli::STACK_BYTES`];
//! - every graph handed on from [`driver::load`] has passed the IR verifier;
//! - files are written atomically (no partial outputs on error).

pub mod arrays;
pub mod cli;
pub mod dataset;
pub mod diag;
pub mod driver;
pub mod fuzz;
pub mod lower;
pub mod netx;
pub mod nir;
pub mod print;
pub mod syntax;
