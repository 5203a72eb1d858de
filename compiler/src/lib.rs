//! snnc: the compiler driver. Reads `.snn` files (lexer, parser,
//! diagnostics), lowers them to the IR, and runs the rest of the pipeline.
//!
//! Invariants:
//! - user input never panics: every problem is a [`diag::Diagnostic`] with a
//!   code and, where there is one, a source span;
//! - every graph handed on from [`driver::load`] has passed the IR verifier;
//! - files are written atomically (no partial outputs on error).

pub mod arrays;
pub mod cli;
pub mod diag;
pub mod driver;
pub mod lower;
pub mod syntax;
