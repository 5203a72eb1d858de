//! Input data for a run and the recorded outputs.

use ndarray::{Array2, ArrayView2, s};
use snn_ir::{Graph, NodeId, Op};

use super::error::SimError;

/// Input data: one `[T, n]` row-major `f32` array per input name. Row `t` is
/// what the input takes at step `t`; steps past the last row read zeros.
/// Arrays of different inputs may have different numbers of rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    arrays: Vec<(String, Array2<f32>)>,
}

impl Inputs {
    /// No data (for a network without inputs).
    pub fn new() -> Self {
        Self::default()
    }

    /// One array per input name. A name given twice is an error; whether the
    /// names and widths fit a graph is checked when the data is used.
    pub fn from_named<S: Into<String>>(
        arrays: impl IntoIterator<Item = (S, Array2<f32>)>,
    ) -> Result<Self, SimError> {
        let mut inputs = Self::new();
        for (name, array) in arrays {
            inputs.insert(name, array)?;
        }
        Ok(inputs)
    }

    /// Splits one combined `[T, N]` array across the graph's `Input` nodes:
    /// their columns in id order ([`Graph::inputs`]), as `docs/semantics.md`
    /// lays out the input array. `N` must be the inputs' total size.
    pub fn split(g: &Graph, combined: ArrayView2<'_, f32>) -> Result<Self, SimError> {
        let layout = input_layout(g);
        let expected: usize = layout.iter().map(|(_, n)| n).sum();
        if combined.ncols() != expected {
            return Err(SimError::InputWidth {
                expected,
                actual: combined.ncols(),
                layout: describe_layout(&layout),
            });
        }
        let mut inputs = Self::new();
        let mut at = 0;
        for (name, n) in layout {
            let part = combined.slice(s![.., at..at + n]).to_owned();
            inputs.insert(name, part)?;
            at += n;
        }
        Ok(inputs)
    }

    /// Adds the array for one input.
    pub fn insert(&mut self, name: impl Into<String>, array: Array2<f32>) -> Result<(), SimError> {
        let name = name.into();
        if self.arrays.iter().any(|(n, _)| *n == name) {
            return Err(SimError::DuplicateInput { name });
        }
        self.arrays.push((name, array));
        Ok(())
    }

    /// The array given for `name`.
    pub fn get(&self, name: &str) -> Option<&Array2<f32>> {
        self.arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// `(name, array)` in the order they were given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Array2<f32>)> {
        self.arrays.iter().map(|(n, a)| (n.as_str(), a))
    }

    /// The largest number of rows of any array (0 without data).
    pub fn rows(&self) -> usize {
        self.arrays
            .iter()
            .map(|(_, a)| a.nrows())
            .max()
            .unwrap_or(0)
    }

    /// Number of arrays.
    pub fn len(&self) -> usize {
        self.arrays.len()
    }

    /// Whether no array was given.
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty()
    }

    /// For each of `inputs` (name, size), the index of its array; checks
    /// that every array belongs to an input and has the input's width.
    pub(super) fn bind(&self, inputs: &[(String, usize)]) -> Result<Vec<usize>, SimError> {
        if let Some((name, _)) = self
            .arrays
            .iter()
            .find(|(n, _)| !inputs.iter().any(|(m, _)| m == n))
        {
            return Err(SimError::UnknownInput { name: name.clone() });
        }
        inputs
            .iter()
            .map(|(name, size)| {
                let k = self
                    .arrays
                    .iter()
                    .position(|(n, _)| n == name)
                    .ok_or_else(|| SimError::MissingInput {
                        name: name.clone(),
                        size: *size,
                    })?;
                let cols = self.arrays[k].1.ncols();
                if cols != *size {
                    return Err(SimError::InputColumns {
                        name: name.clone(),
                        expected: *size,
                        actual: cols,
                    });
                }
                Ok(k)
            })
            .collect()
    }

    /// The array at `k` (an index from [`Inputs::bind`]).
    pub(super) fn array(&self, k: usize) -> &Array2<f32> {
        &self.arrays[k].1
    }
}

/// `(name, size)` of every input of `g`, in column order.
pub(super) fn input_layout(g: &Graph) -> Vec<(String, usize)> {
    g.inputs()
        .into_iter()
        .filter_map(|n| match g.op(n) {
            Op::Input { name, size } => Some((name.clone(), *size as usize)),
            _ => None,
        })
        .collect()
}

/// `a: 3, b: 2` (or `no inputs`), for messages.
pub(super) fn describe_layout(layout: &[(String, usize)]) -> String {
    if layout.is_empty() {
        return "no inputs".into();
    }
    layout
        .iter()
        .map(|(name, n)| format!("{name}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One output's recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The output's declared name.
    pub name: String,
    /// The `Output` node.
    pub node: NodeId,
    /// `[T, m]`: row `t` is the output's value at step `t` (a scalar output
    /// has `m = 1`).
    pub values: Array2<f32>,
}

/// What a run recorded: every `Output` node, in [`Graph::outputs`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub(super) steps: usize,
    pub(super) recorded: Vec<Recorded>,
}

impl Outputs {
    /// The recording of the output named `name`.
    pub fn get(&self, name: &str) -> Option<&Array2<f32>> {
        self.recorded
            .iter()
            .find(|r| r.name == name)
            .map(|r| &r.values)
    }

    /// Every output, in graph order.
    pub fn iter(&self) -> impl Iterator<Item = &Recorded> {
        self.recorded.iter()
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.recorded.len()
    }

    /// Whether the graph has no outputs.
    pub fn is_empty(&self) -> bool {
        self.recorded.is_empty()
    }

    /// Number of steps recorded (rows of every array).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The recordings, in graph order.
    pub fn into_vec(self) -> Vec<Recorded> {
        self.recorded
    }
}
