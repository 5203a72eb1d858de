//! Tests of the reference interpreter: hand-computed expectations (the
//! derivation next to each), error cases, and the parallel kernels against
//! a plain sum.

mod errors;
mod neurons;
mod ops;
mod projections;

use ndarray::Array2;
use snn_ir::tensor::{Origin, SparsePattern, Values};
use snn_ir::{
    Const, Duration, Graph, Model, ModelKind, NodeId, Op, ParamValue, Population, ProbeVar, Tensor,
    TensorId,
};
use std::sync::Arc;

use super::{Inputs, Outputs, simulate};

/// A graph under construction, with shorthands for the nodes tests need.
struct Net {
    g: Graph,
}

impl Net {
    fn new() -> Self {
        // Invariant: a literal duration.
        Net {
            g: Graph::new(Duration::parse("1ms").expect("valid duration")),
        }
    }

    fn add(&mut self, op: Op, args: &[NodeId]) -> NodeId {
        self.g.add(op, args)
    }

    fn input(&mut self, name: &str, size: u32) -> NodeId {
        let n = self.g.add(
            Op::Input {
                name: name.into(),
                size,
            },
            &[],
        );
        self.g.set_name(n, name);
        n
    }

    fn output(&mut self, name: &str, x: NodeId) -> NodeId {
        self.g.add(Op::Output { name: name.into() }, &[x])
    }

    fn dense(&mut self, shape: &[u32], values: &[f32]) -> TensorId {
        self.g.add_tensor(
            Tensor::from_f32(shape.to_vec(), values.to_vec(), Origin::Literal)
                .expect("test tensor has the right size"),
        )
    }

    fn dense_i32(&mut self, shape: &[u32], values: &[i32]) -> TensorId {
        self.g.add_tensor(
            Tensor::dense(
                shape.to_vec(),
                Values::I32(values.to_vec().into()),
                Origin::Literal,
            )
            .expect("test tensor has the right size"),
        )
    }

    /// A sparse `[rows, cols]` tensor from `(row, col, value)` in row order.
    fn sparse(&mut self, rows: u32, cols: u32, entries: &[(u32, u32, f32)]) -> TensorId {
        let (p, v) = csr(rows, cols, entries);
        self.g.add_tensor(
            Tensor::sparse(p, Values::F32(v.into()), Origin::Literal).expect("sizes match"),
        )
    }

    /// Per-synapse delays laid out like `sparse(rows, cols, entries)`.
    fn sparse_delays(&mut self, rows: u32, cols: u32, entries: &[(u32, u32, i32)]) -> TensorId {
        let as_f: Vec<(u32, u32, f32)> = entries.iter().map(|&(r, c, _)| (r, c, 0.0)).collect();
        let (p, _) = csr(rows, cols, &as_f);
        let d: Vec<i32> = entries.iter().map(|e| e.2).collect();
        self.g.add_tensor(
            Tensor::sparse(p, Values::I32(d.into()), Origin::Literal).expect("sizes match"),
        )
    }

    fn pop(
        &mut self,
        kind: ModelKind,
        size: u32,
        params: Vec<(&str, ParamValue)>,
        args: &[NodeId],
    ) -> NodeId {
        let model = Model::new(kind, params.into_iter().map(|(k, v)| (k.to_string(), v)))
            .expect("test model is valid");
        self.g.add(Op::Population(Population { size, model }), args)
    }

    fn probe(&mut self, pop: NodeId, var: ProbeVar) -> NodeId {
        self.g.add(Op::Probe(var), &[pop])
    }

    /// Runs with one array per named input (rows of values).
    fn run(&self, inputs: &[(&str, &[&[f32]])], steps: usize) -> Outputs {
        snn_ir::verify(&self.g).expect("test graph verifies");
        let inputs = Inputs::from_named(inputs.iter().map(|(name, rows)| (*name, array(rows))))
            .expect("distinct names");
        simulate(&self.g, &inputs, steps).expect("simulation runs")
    }
}

/// CSR pattern and values from `(row, col, value)` sorted by row.
fn csr(rows: u32, cols: u32, entries: &[(u32, u32, f32)]) -> (Arc<SparsePattern>, Vec<f32>) {
    let mut row_ptr = vec![0u64; rows as usize + 1];
    for &(r, _, _) in entries {
        row_ptr[r as usize + 1] += 1;
    }
    for r in 0..rows as usize {
        row_ptr[r + 1] += row_ptr[r];
    }
    let p = SparsePattern {
        rows,
        cols,
        row_ptr,
        col_idx: entries.iter().map(|e| e.1).collect(),
    };
    p.check().expect("test pattern is valid");
    (Arc::new(p), entries.iter().map(|e| e.2).collect())
}

fn real(v: f32) -> ParamValue {
    ParamValue::Real(Const::Scalar(v))
}

/// A `[rows, cols]` array from rows of values.
fn array(rows: &[&[f32]]) -> Array2<f32> {
    let cols = rows.first().map_or(0, |r| r.len());
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Array2::from_shape_vec((rows.len(), cols), flat).expect("rows of equal length")
}

/// One column per step, as rows of one value.
fn column(values: &[f32]) -> Vec<Vec<f32>> {
    values.iter().map(|&v| vec![v]).collect()
}

fn close(a: f32, e: f32) -> bool {
    (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= 1e-6 * e.abs().max(1.0)
}

/// Asserts that output `name` recorded `expected` (rows per step).
#[track_caller]
fn assert_output(out: &Outputs, name: &str, expected: &[Vec<f32>]) {
    let a = out
        .get(name)
        .unwrap_or_else(|| panic!("no output `{name}`"));
    assert_eq!(a.nrows(), expected.len(), "steps of `{name}`:\n{a}");
    for (t, row) in expected.iter().enumerate() {
        assert_eq!(a.ncols(), row.len(), "width of `{name}`:\n{a}");
        for (j, &e) in row.iter().enumerate() {
            let v = a[[t, j]];
            assert!(
                close(v, e),
                "`{name}` step {t} element {j}: got {v}, expected {e}\n{a}"
            );
        }
    }
}

/// `assert_output` for a one-element output.
#[track_caller]
fn assert_trace(out: &Outputs, name: &str, expected: &[f32]) {
    assert_output(out, name, &column(expected));
}
