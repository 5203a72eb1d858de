//! Why the reference interpreter cannot run a graph or its inputs.

use snn_ir::{NodeId, TensorId, VerifyError};

/// Everything that can stop a simulation. Messages name nodes by
/// [`snn_ir::Graph::label`] and inputs by their declared names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// Some cycle of the graph passes through neither a `State` nor a
    /// projection whose every delay is at least one step.
    #[error("the graph has a cycle without a delay through {}", .labels.join(", "))]
    ZeroDelayCycle {
        /// The nodes of the cycle, in id order.
        nodes: Vec<NodeId>,
        /// Their labels, for the message.
        labels: Vec<String>,
    },
    /// A tensor read from a dump that did not carry its values.
    #[error("tensor {tensor} has no values in this dump; dump with --values")]
    MissingValues {
        /// The placeholder tensor.
        tensor: TensorId,
        /// A node that uses it.
        node: NodeId,
    },
    /// The graph breaks an IR invariant (see [`snn_ir::verify`]).
    #[error("the graph is not valid: {}", join_errors(.0))]
    Invalid(Vec<VerifyError>),
    /// A sparse weight tensor whose pattern is malformed.
    #[error("{node}: sparse weights {tensor}: {message}")]
    BadPattern {
        /// Label of the projection.
        node: String,
        /// The weight tensor.
        tensor: TensorId,
        /// What is wrong with the pattern.
        message: String,
    },
    /// A tensor whose values do not match what its user needs.
    #[error("{node}: tensor {tensor} has {actual} values, expected {expected}")]
    TensorSize {
        /// Label of the node that uses the tensor.
        node: String,
        /// The tensor.
        tensor: TensorId,
        /// Values needed.
        expected: usize,
        /// Values stored.
        actual: usize,
    },
    /// A node the simulator cannot lay out: a buffer (delay line, synapse
    /// table) that does not fit in memory, or weights and delays that do
    /// not match.
    #[error("{node}: {message}")]
    Layout {
        /// Label of the node.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// A buffer larger than the memory budget allows (see
    /// [`snn_ir::budget`]).
    #[error("{0}")]
    Budget(snn_ir::budget::BudgetError),
    /// Input data for a name the graph has no input for.
    #[error("the graph has no input named `{name}`")]
    UnknownInput {
        /// The name given with the data.
        name: String,
    },
    /// Two arrays given for the same input name.
    #[error("input `{name}` is given twice")]
    DuplicateInput {
        /// The repeated name.
        name: String,
    },
    /// No data for one of the graph's inputs.
    #[error("no data for input `{name}` ({size} columns)")]
    MissingInput {
        /// The input's name.
        name: String,
        /// Its number of elements.
        size: usize,
    },
    /// An input array whose width is not the input's size.
    #[error("input `{name}` has {actual} columns, expected {expected}")]
    InputColumns {
        /// The input's name.
        name: String,
        /// The input's size.
        expected: usize,
        /// Columns of the array given.
        actual: usize,
    },
    /// A combined input array (or one row of it) of the wrong width.
    #[error(
        "the input array has {actual} columns, but the network's inputs take {expected} ({layout})"
    )]
    InputWidth {
        /// Columns the inputs take together.
        expected: usize,
        /// Columns given.
        actual: usize,
        /// The inputs in column order, `name: size`, for the message.
        layout: String,
    },
}

fn join_errors(errors: &[VerifyError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
