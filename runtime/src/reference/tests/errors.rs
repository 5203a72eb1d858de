//! What the interpreter refuses, and the messages it gives.

use ndarray::Array2;
use snn_ir::tensor::{DType, Origin, SparsePattern, Values};
use snn_ir::{BinaryFn, Const, Delay, NodeId, Op, Projection, Tensor, UnaryFn};
use std::sync::Arc;

use super::{Net, array};
use crate::reference::{Inputs, SimError, Simulator, simulate};

#[test]
fn a_cycle_without_delay_is_named() {
    // h = relu(x + W·h) with delay 0: the projection reads h in the same step.
    let mut n = Net::new();
    let x = n.input("x", 2);
    let w = n.dense(&[2, 2], &[1.0, 0.0, 0.0, 1.0]);
    let sum = n.add(Op::Binary(BinaryFn::Add), &[x, x]);
    let h = n.add(Op::Unary(UnaryFn::Relu), &[sum]);
    n.g.set_name(h, "h");
    let p = n.add(
        Op::Project(Projection {
            weights: w,
            delay: Delay::Const(0),
        }),
        &[h],
    );
    n.g.set_arg(sum, 1, p);
    let err = Simulator::new(&n.g).unwrap_err();
    assert_eq!(
        err,
        SimError::ZeroDelayCycle {
            nodes: vec![sum, h, p],
            labels: vec![sum.to_string(), "`h`".into(), p.to_string()],
        }
    );
    assert_eq!(
        err.to_string(),
        format!("the graph has a cycle without a delay through {sum}, `h`, {p}")
    );
}

#[test]
fn a_placeholder_tensor_has_no_values() {
    // A dump without --values: the weights are known by shape and hash only.
    let mut n = Net::new();
    let x = n.input("x", 2);
    let t = n.g.add_tensor(Tensor::placeholder(
        vec![3, 2],
        DType::F32,
        None,
        None,
        42,
        Origin::Literal,
    ));
    let p = n.add(
        Op::Project(Projection {
            weights: t,
            delay: Delay::Const(0),
        }),
        &[x],
    );
    n.output("y", p);
    let err = simulate(&n.g, &Inputs::new(), 1).unwrap_err();
    assert_eq!(err, SimError::MissingValues { tensor: t, node: p });
    assert_eq!(
        err.to_string(),
        "tensor t0 has no values in this dump; dump with --values"
    );
}

#[test]
fn a_placeholder_delay_tensor_is_reported_before_any_cycle() {
    // A recurrent projection whose per-synapse delays are a placeholder: the
    // schedule cannot know they are at least one, but the real problem is
    // the missing values.
    let mut n = Net::new();
    let w = n.dense(&[1, 1], &[1.0]);
    let d = n.g.add_tensor(Tensor::placeholder(
        vec![1, 1],
        DType::I32,
        None,
        None,
        7,
        Origin::Literal,
    ));
    let s = n.add(
        Op::State {
            size: 1,
            init: Const::Scalar(0.0),
        },
        &[],
    );
    let r = n.add(Op::Unary(UnaryFn::Relu), &[s]);
    let p = n.add(
        Op::Project(Projection {
            weights: w,
            delay: Delay::PerSynapse(d),
        }),
        &[r],
    );
    n.g.set_arg(r, 0, p);
    n.g.push_arg(s, r);
    let err = Simulator::new(&n.g).unwrap_err();
    assert_eq!(err, SimError::MissingValues { tensor: d, node: p });
}

#[test]
fn an_invalid_graph_is_rejected_with_the_verifier_messages() {
    // add of shapes [2] and [3].
    let mut n = Net::new();
    let a = n.input("a", 2);
    let b = n.input("b", 3);
    let s = n.add(Op::Binary(BinaryFn::Add), &[a, b]);
    n.output("s", s);
    let err = Simulator::new(&n.g).unwrap_err();
    let SimError::Invalid(errors) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(
        err.to_string(),
        format!("the graph is not valid: {s}: {s}: `+` of shapes [2] and [3]")
    );
}

#[test]
fn a_malformed_sparse_pattern_is_rejected() {
    // Column index 5 in a matrix of 2 columns: the verifier rejects it
    // before the interpreter could index out of bounds.
    let mut n = Net::new();
    let x = n.input("x", 2);
    let pattern = SparsePattern {
        rows: 1,
        cols: 2,
        row_ptr: vec![0, 1],
        col_idx: vec![5],
    };
    let w = n.g.add_tensor(
        Tensor::sparse(
            Arc::new(pattern),
            Values::F32(vec![1.0].into()),
            Origin::Literal,
        )
        .expect("one value per entry"),
    );
    let p = n.add(
        Op::Project(Projection {
            weights: w,
            delay: Delay::Const(0),
        }),
        &[x],
    );
    n.output("y", p);
    let err = Simulator::new(&n.g).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the graph is not valid: tensor {w}: bad sparse pattern: row 0 has a column index >= 2"
        )
    );
    let _ = p;
}

/// A graph with inputs `a` (2 wide) then `b` (1 wide), both output.
fn two_inputs() -> (Net, NodeId, NodeId) {
    let mut n = Net::new();
    let a = n.input("a", 2);
    let b = n.input("b", 1);
    n.output("oa", a);
    n.output("ob", b);
    (n, a, b)
}

#[test]
fn input_data_must_match_the_inputs() {
    let (n, _, _) = two_inputs();
    let zeros = |cols| Array2::<f32>::zeros((3, cols));
    let run = |arrays: Vec<(&str, Array2<f32>)>| {
        let inputs = Inputs::from_named(arrays).expect("distinct names");
        simulate(&n.g, &inputs, 3).unwrap_err().to_string()
    };
    assert_eq!(
        run(vec![("a", zeros(3)), ("b", zeros(1))]),
        "input `a` has 3 columns, expected 2"
    );
    assert_eq!(
        run(vec![("a", zeros(2))]),
        "no data for input `b` (1 columns)"
    );
    assert_eq!(
        run(vec![("a", zeros(2)), ("b", zeros(1)), ("c", zeros(1))]),
        "the graph has no input named `c`"
    );
    assert_eq!(
        Inputs::from_named([("a", zeros(2)), ("a", zeros(2))])
            .unwrap_err()
            .to_string(),
        "input `a` is given twice"
    );
    assert_eq!(
        Inputs::split(&n.g, zeros(4).view())
            .unwrap_err()
            .to_string(),
        "the input array has 4 columns, but the network's inputs take 3 (a: 2, b: 1)"
    );
    let mut sim = Simulator::new(&n.g).expect("valid");
    assert_eq!(
        sim.step(&[1.0]).unwrap_err().to_string(),
        "the input array has 1 columns, but the network's inputs take 3 (a: 2, b: 1)"
    );
    assert_eq!(sim.time(), 0, "a refused step does not advance time");
}

#[test]
fn arrays_of_different_lengths_each_end_in_zeros() {
    // a has two rows, b one; three steps.
    let (n, _, _) = two_inputs();
    let inputs = Inputs::from_named([
        ("a", array(&[&[1.0, 2.0], &[3.0, 4.0]])),
        ("b", array(&[&[5.0]])),
    ])
    .expect("distinct");
    let out = simulate(&n.g, &inputs, 3).expect("runs");
    super::assert_output(
        &out,
        "oa",
        &[vec![1.0, 2.0], vec![3.0, 4.0], vec![0.0, 0.0]],
    );
    super::assert_trace(&out, "ob", &[5.0, 0.0, 0.0]);
}
