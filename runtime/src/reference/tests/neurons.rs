//! Every neuron model, step by step, with hand-computed values.

use snn_ir::{Act, Const, ModelKind, ParamValue, ProbeVar, Reset};

use super::{Net, assert_output, assert_trace, real};

#[test]
fn lif_with_synaptic_current_and_per_neuron_threshold() {
    // alpha_syn = alpha_mem = 0.5, threshold [1, 2.5] (per neuron), reset zero,
    // same input I = 1, 1, 0, 0, 1 into both neurons.
    // Neuron 0 (θ = 1):
    //   t0: i = 0.5·0 + 1 = 1;        v = 0.5·0 + 1 = 1        (not > 1)  s = 0
    //   t1: i = 0.5·1 + 1 = 1.5;      v = 0.5·1 + 1.5 = 2 > 1  s = 1, v = 0
    //   t2: i = 0.75;                 v = 0 + 0.75 = 0.75       s = 0
    //   t3: i = 0.375;                v = 0.375 + 0.375 = 0.75  s = 0
    //   t4: i = 0.1875 + 1 = 1.1875;  v = 0.375 + 1.1875 = 1.5625 > 1: s = 1, v = 0
    // Neuron 1 (θ = 2.5), same i: v = 1, 2, 1 + 0.75 = 1.75,
    //   0.875 + 0.375 = 1.25, 0.625 + 1.1875 = 1.8125; never spikes.
    let mut n = Net::new();
    let x = n.input("x", 2);
    let theta = n.dense(&[2], &[1.0, 2.5]);
    let p = n.pop(
        ModelKind::Lif,
        2,
        vec![
            ("alpha_syn", real(0.5)),
            ("alpha_mem", real(0.5)),
            ("threshold", ParamValue::Real(Const::Tensor(theta))),
        ],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    let i = n.probe(p, ProbeVar::I);
    n.output("s", p);
    n.output("v", v);
    n.output("i", i);
    let input: &[&[f32]] = &[
        &[1.0, 1.0],
        &[1.0, 1.0],
        &[0.0, 0.0],
        &[0.0, 0.0],
        &[1.0, 1.0],
    ];
    let out = n.run(&[("x", input)], 5);
    assert_output(
        &out,
        "s",
        &[
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 0.0],
            vec![0.0, 0.0],
            vec![1.0, 0.0],
        ],
    );
    assert_output(
        &out,
        "v",
        &[
            vec![1.0, 1.0],
            vec![0.0, 2.0],
            vec![0.75, 1.75],
            vec![0.75, 1.25],
            vec![0.0, 1.8125],
        ],
    );
    assert_output(
        &out,
        "i",
        &[
            vec![1.0, 1.0],
            vec![1.5, 1.5],
            vec![0.75, 0.75],
            vec![0.375, 0.375],
            vec![1.1875, 1.1875],
        ],
    );
}

#[test]
fn lif_subtract_reset_refractory_gain_bias_and_v_min() {
    // alpha_syn 0, alpha_mem 1, θ 1, reset subtract, refractory 2, gain 2,
    // bias 0.25, v_min −0.5. i = 2·I.
    //   t0: I .5  i 1:  v = 0 + 1 + .25 = 1.25 > 1: s 1, v = .25, ref 2
    //   t1: I .5  i 1:  refractory (ref 2 → 1): v .25, s 0
    //   t2: I .5  i 1:  refractory (ref 1 → 0): v .25, s 0
    //   t3: I .5  i 1:  v = .25 + 1 + .25 = 1.5: s 1, v = .5, ref 2
    //   t4: I −2  i −4: refractory: v .5
    //   t5: I −2  i −4: refractory: v .5
    //   t6: I .5  i 1:  v = .5 + 1 + .25 = 1.75: s 1, v = .75, ref 2
    //   t7, t8: I −2, refractory: v .75
    //   t9: I −2  i −4: v = max(.75 − 4 + .25, −.5) = −.5
    //   t10: I 0  i 0:  v = max(−.5 + 0 + .25, −.5) = −.25
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::Lif,
        1,
        vec![
            ("alpha_mem", real(1.0)),
            ("gain", real(2.0)),
            ("bias", real(0.25)),
            ("v_min", real(-0.5)),
            ("reset", ParamValue::Reset(Reset::Subtract)),
            ("refractory", ParamValue::Steps(2)),
        ],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    let i = n.probe(p, ProbeVar::I);
    n.output("s", p);
    n.output("v", v);
    n.output("i", i);
    let input: Vec<[f32; 1]> = [0.5, 0.5, 0.5, 0.5, -2.0, -2.0, 0.5, -2.0, -2.0, -2.0, 0.0]
        .iter()
        .map(|&v| [v])
        .collect();
    let rows: Vec<&[f32]> = input.iter().map(|r| &r[..]).collect();
    let out = n.run(&[("x", &rows)], 11);
    assert_trace(
        &out,
        "s",
        &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    );
    assert_trace(
        &out,
        "v",
        &[
            0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, -0.5, -0.25,
        ],
    );
    assert_trace(
        &out,
        "i",
        &[1.0, 1.0, 1.0, 1.0, -4.0, -4.0, 1.0, -4.0, -4.0, -4.0, 0.0],
    );
}

#[test]
fn if_integrates_with_linear_leak_and_v_min() {
    // θ 1, bias −0.25 (a linear leak), gain 1, v_min −0.375, reset zero.
    //   t0: v = 0 + .75 − .25 = .5
    //   t1: v = .5 + .5 = 1      (not > 1)
    //   t2: v = 1.5 > 1: s 1, v = 0
    //   t3: v = 0 + 0 − .25 = −.25
    //   t4: v = max(−.5, −.375) = −.375
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::If,
        1,
        vec![("bias", real(-0.25)), ("v_min", real(-0.375))],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    n.output("s", p);
    n.output("v", v);
    let out = n.run(&[("x", &[&[0.75], &[0.75], &[0.75], &[0.0], &[0.0]])], 5);
    assert_trace(&out, "s", &[0.0, 0.0, 1.0, 0.0, 0.0]);
    assert_trace(&out, "v", &[0.5, 1.0, 0.0, -0.25, -0.375]);
}

#[test]
fn if_and_li_leak_toward_zero() {
    // `if`: θ 1, leak 0.25, reset zero; input .75, .75, .75, 0, −.5, 0, 0:
    //   t0: v' = .75           v = .75 − .25 = .5
    //   t1: v' = 1.25          v = 1 (not > 1)
    //   t2: v' = 1.75          v = 1.5 > 1: s 1, v = 0
    //   t3: v' = 0             v = 0 (sgn 0 = 0: no leak at zero)
    //   t4: v' = −.5           v = −.5 + .25 = −.25
    //   t5: v' = −.25          v = 0
    //   t6: v' = 0             v = 0
    // `li`: alpha_mem .5, leak .25, bias .125, same input:
    //   t0: v' = .875          v = .625
    //   t1: v' = .3125 + .875 = 1.1875         v = .9375
    //   t2: v' = .46875 + .875 = 1.34375       v = 1.09375
    //   t3: v' = .546875 + .125 = .671875      v = .421875
    //   t4: v' = .2109375 − .375 = −.1640625   v = .0859375
    //   t5: v' = .04296875 + .125 = .16796875  v = −.08203125 (one step past 0)
    //   t6: v' = −.041015625 + .125 = .083984375  v = −.166015625
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(ModelKind::If, 1, vec![("leak", real(0.25))], &[x]);
    let li = n.pop(
        ModelKind::Li,
        1,
        vec![
            ("alpha_mem", real(0.5)),
            ("leak", real(0.25)),
            ("bias", real(0.125)),
        ],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    n.output("s", p);
    n.output("v", v);
    n.output("li", li);
    let input: &[&[f32]] = &[&[0.75], &[0.75], &[0.75], &[0.0], &[-0.5], &[0.0], &[0.0]];
    let out = n.run(&[("x", input)], 7);
    assert_trace(&out, "s", &[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_trace(&out, "v", &[0.5, 1.0, 0.0, 0.0, -0.25, 0.0, 0.0]);
    assert_trace(
        &out,
        "li",
        &[
            5.0 / 8.0,
            15.0 / 16.0,
            35.0 / 32.0,
            27.0 / 64.0,
            11.0 / 128.0,
            -21.0 / 256.0,
            -85.0 / 512.0,
        ],
    );
}

#[test]
fn if_with_subtract_reset_and_refractory() {
    // θ 1, reset subtract, refractory 1, gain 0.5, input 3 every step:
    // g·I = 1.5.
    //   t0: v = 1.5 > 1: s 1, v = .5, ref 1
    //   t1: refractory: v .5, s 0
    //   t2: v = 2 > 1: s 1, v = 1
    //   t3: refractory: v 1
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::If,
        1,
        vec![
            ("gain", real(0.5)),
            ("reset", ParamValue::Reset(Reset::Subtract)),
            ("refractory", ParamValue::Steps(1)),
        ],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    n.output("s", p);
    n.output("v", v);
    let out = n.run(&[("x", &[&[3.0], &[3.0], &[3.0], &[3.0]])], 4);
    assert_trace(&out, "s", &[1.0, 0.0, 1.0, 0.0]);
    assert_trace(&out, "v", &[0.5, 0.5, 1.0, 1.0]);
}

/// An `alif` neuron with α = ρ = 0.5, β = 2, b0 = 0.5, and `extra` params.
fn alif(extra: Vec<(&str, ParamValue)>, input: &[f32]) -> super::Outputs {
    let mut n = Net::new();
    let x = n.input("x", 1);
    let mut params = vec![
        ("alpha_mem", real(0.5)),
        ("rho", real(0.5)),
        ("beta", real(2.0)),
        ("b0", real(0.5)),
    ];
    params.extend(extra);
    let p = n.pop(ModelKind::Alif, 1, params, &[x]);
    let v = n.probe(p, ProbeVar::V);
    let b = n.probe(p, ProbeVar::B);
    n.output("s", p);
    n.output("v", v);
    n.output("b", b);
    let rows: Vec<[f32; 1]> = input.iter().map(|&v| [v]).collect();
    let rows: Vec<&[f32]> = rows.iter().map(|r| &r[..]).collect();
    n.run(&[("x", &rows)], input.len())
}

#[test]
fn alif_subtract_reset() {
    // Input 3, 0, 0, 3, 3; (1 − α)·I = 1.5 or 0.
    //   t0: b = 0;                         θ = .5;    v = 0 + 1.5 = 1.5 > .5: s 1
    //   t1: b = .5·0 + .5·1 = .5;          θ = 1.5;   v = .75 + 0 − 1.5·1 = −.75: s 0
    //   t2: b = .25;                       θ = 1;     v = −.375: s 0
    //   t3: b = .125;                      θ = .75;   v = −.1875 + 1.5 = 1.3125 > .75: s 1
    //   t4: b = .0625 + .5 = .5625;        θ = 1.625; v = .65625 + 1.5 − 1.625 = .53125: s 0
    let out = alif(vec![], &[3.0, 0.0, 0.0, 3.0, 3.0]);
    assert_trace(&out, "s", &[1.0, 0.0, 0.0, 1.0, 0.0]);
    assert_trace(&out, "v", &[1.5, -0.75, -0.375, 1.3125, 0.53125]);
    assert_trace(&out, "b", &[0.0, 0.5, 0.25, 0.125, 0.5625]);
}

#[test]
fn alif_zero_reset() {
    // As above with reset zero: v' = 0 after a spike.
    //   t0: θ .5;    v = 1.5: s 1
    //   t1: θ 1.5;   v = .5·0 + 0 = 0
    //   t2: θ 1;     v = 0
    //   t3: θ .75;   v = 0 + 1.5 = 1.5: s 1
    //   t4: θ 1.625; v = .5·0 + 1.5 = 1.5 (not > 1.625): s 0
    let out = alif(
        vec![("reset", ParamValue::Reset(Reset::Zero))],
        &[3.0, 0.0, 0.0, 3.0, 3.0],
    );
    assert_trace(&out, "s", &[1.0, 0.0, 0.0, 1.0, 0.0]);
    assert_trace(&out, "v", &[1.5, 0.0, 0.0, 1.5, 1.5]);
    assert_trace(&out, "b", &[0.0, 0.5, 0.25, 0.125, 0.5625]);
}

#[test]
fn alif_refractory_gain_and_bias() {
    // gain 2, bias −3, input 3: g·I + bias = 3, (1 − α)·3 = 1.5. Refractory 1,
    // reset subtract.
    //   t0: b 0,   θ .5:  v = 1.5: s 1, ref 1
    //   t1: b .5,  θ 1.5: refractory: no leak or input, reset still applies:
    //       v = 1.5 − 1.5·1 = 0, s 0        (b still decays/charges)
    //   t2: b .25, θ 1:   v = .5·0 + 1.5 − 0 = 1.5 > 1: s 1, ref 1
    //   t3: b = .125 + .5 = .625, θ 1.75: refractory: v = 1.5 − 1.75 = −.25
    let out = alif(
        vec![
            ("gain", real(2.0)),
            ("bias", real(-3.0)),
            ("refractory", ParamValue::Steps(1)),
        ],
        &[3.0, 3.0, 3.0, 3.0],
    );
    assert_trace(&out, "s", &[1.0, 0.0, 1.0, 0.0]);
    assert_trace(&out, "v", &[1.5, 0.0, 1.5, -0.25]);
    assert_trace(&out, "b", &[0.0, 0.5, 0.25, 0.625]);
}

#[test]
fn sigma_delta_zero_threshold_follows_the_low_pass() {
    // α .5, θ 0, act relu (default). Input 2, −1, 4, 0.
    //   t0: y 2; h = 0 + .5·2 = 1;        r = 0 + (1 − 0) = 1
    //   t1: y 0; h = .5;                  r = .5
    //   t2: y 4; h = .25 + 2 = 2.25;      r = 2.25
    //   t3: y 0; h = 1.125;               r = 1.125
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(ModelKind::SigmaDelta, 1, vec![("alpha", real(0.5))], &[x]);
    let h = n.probe(p, ProbeVar::V);
    n.output("r", p);
    n.output("h", h);
    let out = n.run(&[("x", &[&[2.0], &[-1.0], &[4.0], &[0.0]])], 4);
    assert_trace(&out, "r", &[1.0, 0.5, 2.25, 1.125]);
    assert_trace(&out, "h", &[1.0, 0.5, 2.25, 1.125]);
}

#[test]
fn sigma_delta_positive_threshold_sends_only_large_changes() {
    // α 0, θ .5, act identity: h = I. Input .25, .75, .5, 1.25, −.5.
    //   t0: h .25,  d = .25 < .5:   r 0
    //   t1: h .75,  d = .75 ≥ .5:   r .75
    //   t2: h .5,   d = −.25:       r .75
    //   t3: h 1.25, d = .5 ≥ .5:    r 1.25
    //   t4: h −.5,  d = −1.75:      r −.5
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::SigmaDelta,
        1,
        vec![
            ("threshold", real(0.5)),
            ("act", ParamValue::Act(Act::Identity)),
        ],
        &[x],
    );
    let h = n.probe(p, ProbeVar::V);
    n.output("r", p);
    n.output("h", h);
    let out = n.run(&[("x", &[&[0.25], &[0.75], &[0.5], &[1.25], &[-0.5]])], 5);
    assert_trace(&out, "r", &[0.0, 0.75, 0.75, 1.25, -0.5]);
    assert_trace(&out, "h", &[0.25, 0.75, 0.5, 1.25, -0.5]);
}

#[test]
fn sigma_delta_clamp_activation_gain_and_bias() {
    // act clamp(0, 1), gain 2, bias .5, α 0, θ 0. Input −1, .125, 1:
    //   2·−1 + .5 = −1.5 → 0;  2·.125 + .5 = .75 → .75;  2 + .5 = 2.5 → 1
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::SigmaDelta,
        1,
        vec![
            ("act", ParamValue::Act(Act::Clamp { lo: 0.0, hi: 1.0 })),
            ("gain", real(2.0)),
            ("bias", real(0.5)),
        ],
        &[x],
    );
    n.output("r", p);
    let out = n.run(&[("x", &[&[-1.0], &[0.125], &[1.0]])], 3);
    assert_trace(&out, "r", &[0.0, 0.75, 1.0]);
}

#[test]
fn li_integrates_current_and_voltage() {
    // alpha_syn .5, alpha_mem .5, bias .25, gain 2. Input 1, 0, 0.
    //   t0: i = 0 + 2 = 2;   v = 0 + 2 + .25 = 2.25
    //   t1: i = 1;           v = 1.125 + 1 + .25 = 2.375
    //   t2: i = .5;          v = 1.1875 + .5 + .25 = 1.9375
    let mut n = Net::new();
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::Li,
        1,
        vec![
            ("alpha_syn", real(0.5)),
            ("alpha_mem", real(0.5)),
            ("bias", real(0.25)),
            ("gain", real(2.0)),
        ],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    let i = n.probe(p, ProbeVar::I);
    n.output("out", p);
    n.output("v", v);
    n.output("i", i);
    let out = n.run(&[("x", &[&[1.0], &[0.0], &[0.0]])], 3);
    assert_trace(&out, "out", &[2.25, 2.375, 1.9375]);
    assert_trace(&out, "v", &[2.25, 2.375, 1.9375]);
    assert_trace(&out, "i", &[2.0, 1.0, 0.5]);
}

#[test]
fn population_sums_its_operands_or_has_none() {
    // li with alpha_mem .5 and two inputs a, b: v = .5·v + a + b.
    //   a + b = 1, 2, 0  →  v = 1, 2.5, 1.25.
    // A second li with no operands and bias 1: v = 1, 1.5, 1.75.
    let mut n = Net::new();
    let a = n.input("a", 1);
    let b = n.input("b", 1);
    let p = n.pop(ModelKind::Li, 1, vec![("alpha_mem", real(0.5))], &[a, b]);
    let q = n.pop(
        ModelKind::Li,
        1,
        vec![("alpha_mem", real(0.5)), ("bias", real(1.0))],
        &[],
    );
    n.output("p", p);
    n.output("q", q);
    let out = n.run(
        &[
            ("a", &[&[0.5], &[1.0], &[0.0]]),
            ("b", &[&[0.5], &[1.0], &[0.0]]),
        ],
        3,
    );
    assert_trace(&out, "p", &[1.0, 2.5, 1.25]);
    assert_trace(&out, "q", &[1.0, 1.5, 1.75]);
}

#[test]
fn large_population_updates_in_parallel_like_single_neurons() {
    // 40,000 lif neurons (more than one parallel chunk) with bias j / 40,000
    // and no input; each must behave like a lone neuron with its bias. The
    // population takes the per-neuron parameter loop, a lone neuron the
    // shared-parameter one: both must give the same bits.
    const N: u32 = 40_000;
    let bias: Vec<f32> = (0..N).map(|j| j as f32 / N as f32).collect();
    let params = |b: ParamValue| {
        vec![
            ("alpha_mem", real(0.9)),
            ("threshold", real(2.0)),
            ("bias", b),
            ("refractory", ParamValue::Steps(1)),
        ]
    };
    let mut n = Net::new();
    let t = n.dense(&[N], &bias);
    let p = n.pop(
        ModelKind::Lif,
        N,
        params(ParamValue::Real(Const::Tensor(t))),
        &[],
    );
    let v = n.probe(p, ProbeVar::V);
    n.output("s", p);
    n.output("v", v);
    let big = n.run(&[], 40);
    let (s, v) = (big.get("s").expect("s"), big.get("v").expect("v"));
    let spikes: f32 = s.sum();
    assert!(spikes > 1000.0, "the test should make neurons spike");
    for j in [0usize, 8191, 8192, 16_385, 32_767, 32_768, 39_999] {
        let mut one = Net::new();
        let q = one.pop(ModelKind::Lif, 1, params(real(bias[j])), &[]);
        let w = one.probe(q, ProbeVar::V);
        one.output("s", q);
        one.output("v", w);
        let lone = one.run(&[], 40);
        let (ls, lv) = (lone.get("s").expect("s"), lone.get("v").expect("v"));
        for t in 0..40 {
            assert_eq!(s[[t, j]], ls[[t, 0]], "spike of neuron {j} at {t}");
            assert_eq!(v[[t, j]], lv[[t, 0]], "v of neuron {j} at {t}");
        }
    }
}

#[test]
fn activity_is_the_share_of_steps_each_neuron_fires() {
    // IF neurons, threshold 1, reset zero, inputs [1, 0.5, 0] every step:
    // neuron 0 integrates 1, 2 (spike), 1, 2 (spike): 2 of 4 steps;
    // neuron 1: 0.5, 1, 1.5 (spike), 0.5: 1 of 4; neuron 2 never.
    let mut n = Net::new();
    let x = n.input("x", 3);
    let p = n.pop(ModelKind::If, 3, vec![("threshold", real(1.0))], &[x]);
    n.output("s", p);
    let row: &[f32] = &[1.0, 0.5, 0.0];
    let inputs =
        crate::reference::Inputs::from_named([("x", super::array(&[row; 4]))]).expect("one input");
    let mut sim = crate::reference::Simulator::new(&n.g).expect("builds");
    let act = sim.activity(&inputs, 4, &[p]).expect("runs");
    assert_eq!(act, vec![vec![0.5, 0.25, 0.0]]);
}

#[test]
fn a_voltage_change_probe_reads_what_a_step_added() {
    // An integrator without leak (li, alpha_mem = 1, alpha_syn = 0, bias
    // 0.25), 4 ticks a step, input 1, 0.5, 0, 2 held for each step's ticks:
    // v adds x + 0.25 a tick, so after each step v = 5, 8, 9, 18 and its
    // change over the step is 4 (x + 0.25) = 5, 3, 1, 9.
    let mut n = Net::new();
    n.g.ticks_per_step = 4;
    let x = n.input("x", 1);
    let p = n.pop(
        ModelKind::Li,
        1,
        vec![
            ("alpha_mem", real(1.0)),
            ("alpha_syn", real(0.0)),
            ("bias", real(0.25)),
        ],
        &[x],
    );
    let v = n.probe(p, ProbeVar::V);
    let dv = n.probe(p, ProbeVar::Dv);
    n.output("v", v);
    n.output("dv", dv);
    let input: &[&[f32]] = &[&[1.0], &[0.5], &[0.0], &[2.0]];
    let out = n.run(&[("x", input)], 4);
    assert_trace(&out, "v", &[5.0, 8.0, 9.0, 18.0]);
    assert_trace(&out, "dv", &[5.0, 3.0, 1.0, 9.0]);
}
