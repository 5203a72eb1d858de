//! snn-passes: IR → IR passes and the pass manager.
//!
//! The pipeline for a target is one readable list in [`pipeline`]. Each pass
//! is a function `fn(&mut Graph, &mut PassCx) -> Result<(), Failed>`; the
//! manager verifies the graph after each pass (debug and test builds),
//! times it, and lets the caller dump the graph around it.
//!
//! Invariants:
//! - passes marked `exact` keep the float semantics: the reference
//!   interpreter gives the same outputs (to 1e-5 relative) before and after;
//! - a pass reports problems as [`PassDiag`]s with the source span of the
//!   node concerned, never by panicking;
//! - after `fold`, a graph for a spiking target holds no cell algebra, only
//!   inputs, populations, projections, probes and outputs.

pub mod cleanup;
pub mod delays;
pub mod fold;
pub mod legalize;
pub mod manager;
pub mod pipeline;
pub mod place;
pub mod quantize;
pub mod range;
pub mod spikes;

pub use manager::{
    Event, Failed, Options, Outcome, Pass, PassCx, PassDiag, PassReport, PruneMode, Severity, Stop,
    Table, run,
};
pub use pipeline::pipeline;
