//! The snnc intermediate representation.
//!
//! A [`Graph`] describes what a network computes in one time step: nodes are
//! operations ([`Op`]) on per-step values, connected by ordered operands;
//! constants live in a tensor table; source spans and names live in side
//! tables keyed by [`NodeId`].
//!
//! Invariants (checked by [`verify`], assumed by every pass and backend):
//! - every operand and tensor id refers to something in the graph;
//! - every node's shape is the one its op computes from its operands;
//! - every cycle passes through a `State` or a projection whose smallest
//!   delay is at least one step, so a step can be evaluated in
//!   [`Graph::schedule`] order;
//! - input names and output names are unique.
//!
//! The text format ([`text`]) prints a graph and parses it back; printing
//! the parse of a dump gives the dump again, byte for byte.

pub mod budget;
pub mod chip;
mod doc;
mod dot;
pub mod entities;
mod graph;
pub mod limits;
pub mod op;
pub mod quant;
pub mod range;
pub mod span;
pub mod target;
pub mod tensor;
pub mod text;
pub mod time;
mod verify;
pub mod visit;

pub use chip::ChipSpec;
pub use doc::{GraphDoc, to_ron};
pub use dot::to_dot;
pub use entities::{NodeId, TensorId};
pub use graph::{Graph, Shape};
pub use op::{
    Act, BinaryFn, Const, Delay, Model, ModelKind, Op, ParamValue, Population, ProbeVar,
    Projection, Reset, UnaryFn,
};
pub use quant::{Quant, QuantKind};
pub use range::{Range, RangeOrigin};
pub use span::Span;
pub use target::Target;
pub use tensor::Tensor;
pub use time::Duration;
pub use verify::{VerifyError, verify};
