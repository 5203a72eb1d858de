//! Elementwise operations, constants, states, inputs and outputs.

use snn_ir::{BinaryFn, Const, Op, UnaryFn};

use super::{Net, assert_output, assert_trace};

#[test]
fn unary_functions() {
    // x = (−1, 0, 2) then (0.5, −3, 1):
    //   neg: −x;  relu: max(x, 0);  heaviside: 1 where x > 0 (0 at 0)
    //   tanh(−1) = −0.7615942, tanh 2 = 0.9640276, tanh .5 = 0.46211717,
    //   tanh(−3) = −0.9950548, tanh 1 = 0.7615942
    //   sigmoid(−1) = 0.26894143, (0) = .5, (2) = 0.8807971,
    //   (.5) = 0.62245935, (−3) = 0.047425874, (1) = 0.7310586
    //   exp(−1) = 0.36787945, exp 2 = 7.389056, exp .5 = 1.6487213,
    //   exp(−3) = 0.049787067, exp 1 = 2.7182817
    let mut n = Net::new();
    let x = n.input("x", 3);
    for f in UnaryFn::ALL {
        let y = n.add(Op::Unary(f), &[x]);
        n.output(f.name(), y);
    }
    let out = n.run(&[("x", &[&[-1.0, 0.0, 2.0], &[0.5, -3.0, 1.0]])], 2);
    assert_output(&out, "neg", &[vec![1.0, 0.0, -2.0], vec![-0.5, 3.0, -1.0]]);
    assert_output(&out, "relu", &[vec![0.0, 0.0, 2.0], vec![0.5, 0.0, 1.0]]);
    assert_output(
        &out,
        "tanh",
        &[
            vec![-0.7615942, 0.0, 0.9640276],
            vec![0.46211717, -0.9950548, 0.7615942],
        ],
    );
    assert_output(
        &out,
        "sigmoid",
        &[
            vec![0.26894143, 0.5, 0.8807971],
            vec![0.62245935, 0.047425874, 0.7310586],
        ],
    );
    assert_output(
        &out,
        "exp",
        &[
            vec![0.36787945, 1.0, 7.389056],
            vec![1.6487213, 0.049787067, 2.7182817],
        ],
    );
    assert_output(
        &out,
        "heaviside",
        &[vec![0.0, 0.0, 1.0], vec![1.0, 0.0, 1.0]],
    );
}

#[test]
fn binary_functions_broadcast_scalars() {
    // x = (1, 2, 4) then (−2, 0.5, 8); c = 2 (scalar constant).
    //   x + c, c − x, x · x, x / c, c / x
    let mut n = Net::new();
    let x = n.input("x", 3);
    let c = n.add(Op::Const(Const::Scalar(2.0)), &[]);
    let add = n.add(Op::Binary(BinaryFn::Add), &[x, c]);
    let sub = n.add(Op::Binary(BinaryFn::Sub), &[c, x]);
    let mul = n.add(Op::Binary(BinaryFn::Mul), &[x, x]);
    let div = n.add(Op::Binary(BinaryFn::Div), &[x, c]);
    let rdiv = n.add(Op::Binary(BinaryFn::Div), &[c, x]);
    n.output("add", add);
    n.output("sub", sub);
    n.output("mul", mul);
    n.output("div", div);
    n.output("rdiv", rdiv);
    let out = n.run(&[("x", &[&[1.0, 2.0, 4.0], &[-2.0, 0.5, 8.0]])], 2);
    assert_output(&out, "add", &[vec![3.0, 4.0, 6.0], vec![0.0, 2.5, 10.0]]);
    assert_output(&out, "sub", &[vec![1.0, 0.0, -2.0], vec![4.0, 1.5, -6.0]]);
    assert_output(&out, "mul", &[vec![1.0, 4.0, 16.0], vec![4.0, 0.25, 64.0]]);
    assert_output(&out, "div", &[vec![0.5, 1.0, 2.0], vec![-1.0, 0.25, 4.0]]);
    assert_output(&out, "rdiv", &[vec![2.0, 1.0, 0.5], vec![-1.0, 4.0, 0.25]]);
}

#[test]
fn scalar_op_scalar_and_scalar_output() {
    // Two scalar constants 3 and 4: 3 − 4 = −1 every step; a scalar output
    // is recorded as one column.
    let mut n = Net::new();
    let a = n.add(Op::Const(Const::Scalar(3.0)), &[]);
    let b = n.add(Op::Const(Const::Scalar(4.0)), &[]);
    let d = n.add(Op::Binary(BinaryFn::Sub), &[a, b]);
    n.output("d", d);
    let out = n.run(&[], 3);
    assert_trace(&out, "d", &[-1.0, -1.0, -1.0]);
}

#[test]
fn vector_constant_and_clamp() {
    // const (−1, .5, 3) + x, clamped to [0, 2]:
    //   x = 0:   (−1, .5, 3)  → (0, .5, 2)
    //   x = 1.5: (.5, 2, 4.5) → (.5, 2, 2)
    let mut n = Net::new();
    let x = n.input("x", 3);
    let t = n.dense(&[3], &[-1.0, 0.5, 3.0]);
    let c = n.add(Op::Const(Const::Tensor(t)), &[]);
    let s = n.add(Op::Binary(BinaryFn::Add), &[c, x]);
    let k = n.add(Op::Clamp { lo: 0.0, hi: 2.0 }, &[s]);
    n.output("c", c);
    n.output("k", k);
    let out = n.run(&[("x", &[&[0.0; 3], &[1.5; 3]])], 2);
    assert_output(&out, "c", &[vec![-1.0, 0.5, 3.0], vec![-1.0, 0.5, 3.0]]);
    assert_output(&out, "k", &[vec![0.0, 0.5, 2.0], vec![0.5, 2.0, 2.0]]);
}

#[test]
fn state_is_init_then_previous_operand() {
    // s1 = state(init 0, next x); s2 = state(init (5, 6), next s1).
    //   s1[t] = x[t − 1]; s2[0] = init; s2[t] = s1[t − 1] (latched together,
    //   so s2 sees s1's value of the same step, not the new one).
    // x = (1, 2), (3, 4), (5, 6):
    //   s1: (0, 0), (1, 2), (3, 4)
    //   s2: (5, 6), (0, 0), (1, 2)
    let mut n = Net::new();
    let x = n.input("x", 2);
    let s1 = n.add(
        Op::State {
            size: 2,
            init: Const::Scalar(0.0),
        },
        &[x],
    );
    let init = n.dense(&[2], &[5.0, 6.0]);
    let s2 = n.add(
        Op::State {
            size: 2,
            init: Const::Tensor(init),
        },
        &[s1],
    );
    n.output("s1", s1);
    n.output("s2", s2);
    let out = n.run(&[("x", &[&[1.0, 2.0], &[3.0, 4.0], &[5.0, 6.0]])], 3);
    assert_output(
        &out,
        "s1",
        &[vec![0.0, 0.0], vec![1.0, 2.0], vec![3.0, 4.0]],
    );
    assert_output(
        &out,
        "s2",
        &[vec![5.0, 6.0], vec![0.0, 0.0], vec![1.0, 2.0]],
    );
}

#[test]
fn state_in_a_cycle_counts() {
    // c = state(init 10, next c + 1): 10, 11, 12, 13. A state of size 2 whose
    // operand is a scalar takes it broadcast: (7, 7), then (−1, −1) from the
    // constant −1.
    let mut n = Net::new();
    let c = n.add(
        Op::State {
            size: 1,
            init: Const::Scalar(10.0),
        },
        &[],
    );
    let one = n.add(Op::Const(Const::Scalar(1.0)), &[]);
    let next = n.add(Op::Binary(BinaryFn::Add), &[c, one]);
    n.g.push_arg(c, next);
    let m = n.add(Op::Const(Const::Scalar(-1.0)), &[]);
    let b = n.add(
        Op::State {
            size: 2,
            init: Const::Scalar(7.0),
        },
        &[m],
    );
    n.output("c", c);
    n.output("b", b);
    let out = n.run(&[], 4);
    assert_trace(&out, "c", &[10.0, 11.0, 12.0, 13.0]);
    assert_output(
        &out,
        "b",
        &[
            vec![7.0, 7.0],
            vec![-1.0, -1.0],
            vec![-1.0, -1.0],
            vec![-1.0, -1.0],
        ],
    );
}

#[test]
fn inputs_split_by_declaration_order_and_outputs_in_graph_order() {
    // Inputs b (2 wide, declared first) and a (1 wide): the combined array's
    // columns are b's then a's. Outputs are listed in id order.
    let mut n = Net::new();
    let b = n.input("b", 2);
    let a = n.input("a", 1);
    n.output("ob", b);
    n.output("oa", a);
    let combined = super::array(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]]);
    let inputs = super::Inputs::split(&n.g, combined.view()).expect("widths match");
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs.rows(), 2);
    let out = super::simulate(&n.g, &inputs, 2).expect("runs");
    let names: Vec<&str> = out.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["ob", "oa"]);
    assert_eq!(out.steps(), 2);
    assert_output(&out, "ob", &[vec![1.0, 2.0], vec![4.0, 5.0]]);
    assert_output(&out, "oa", &[vec![3.0], vec![6.0]]);
}

#[test]
fn running_past_the_inputs_feeds_zeros() {
    // Two rows of input, four steps: x is 0 at steps 2 and 3, so the state
    // (x one step late) ends 0 too, and an li (v = .5·v + x) decays.
    //   x: 1, 2, 0, 0;  state: 0, 1, 2, 0;  li: 1, 2.5, 1.25, .625
    let mut n = Net::new();
    let x = n.input("x", 1);
    let s = n.add(
        Op::State {
            size: 1,
            init: Const::Scalar(0.0),
        },
        &[x],
    );
    let li = n.pop(
        snn_ir::ModelKind::Li,
        1,
        vec![("alpha_mem", super::real(0.5))],
        &[x],
    );
    n.output("x", x);
    n.output("s", s);
    n.output("li", li);
    let out = n.run(&[("x", &[&[1.0], &[2.0]])], 4);
    assert_trace(&out, "x", &[1.0, 2.0, 0.0, 0.0]);
    assert_trace(&out, "s", &[0.0, 1.0, 2.0, 0.0]);
    assert_trace(&out, "li", &[1.0, 2.5, 1.25, 0.625]);
}

#[test]
fn a_network_without_inputs_runs_for_the_given_steps() {
    let mut n = Net::new();
    let c = n.add(Op::Const(Const::Scalar(0.5)), &[]);
    n.output("c", c);
    let out = n.run(&[], 5);
    assert_trace(&out, "c", &[0.5; 5]);
    let none = n.run(&[], 0);
    assert_eq!(none.get("c").map(|a| a.dim()), Some((0, 1)));
}

#[test]
fn stepping_by_hand_matches_run() {
    // The step API takes one combined row; `value` reads any node.
    // x + 1 for x = 2, then 5; then the simulator continues with `run`,
    // whose row 0 feeds the third step.
    let mut n = Net::new();
    let x = n.input("x", 1);
    let one = n.add(Op::Const(Const::Scalar(1.0)), &[]);
    let y = n.add(Op::Binary(BinaryFn::Add), &[x, one]);
    n.output("y", y);
    let mut sim = super::super::Simulator::new(&n.g).expect("valid");
    assert_eq!(sim.input_width(), 1);
    sim.step(&[2.0]).expect("one column");
    assert_eq!(sim.value(y), Some(&[3.0][..]));
    sim.step(&[5.0]).expect("one column");
    assert_eq!(sim.value(y), Some(&[6.0][..]));
    assert_eq!(sim.time(), 2);
    let inputs = super::Inputs::from_named([("x", super::array(&[&[-1.0]]))]).expect("one");
    let out = sim.run(&inputs, 2).expect("runs");
    assert_trace(&out, "y", &[0.0, 1.0]);
    assert_eq!(sim.time(), 4);
}
