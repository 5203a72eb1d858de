//! Values carried as spikes on chips whose spikes carry none (`spike_codes`):
//! a binary sigma-delta neuron on Loihi 1 tracking a constant and a step,
//! an integrate-and-fire neuron's count over `K` ticks on Loihi 1 and
//! TrueNorth, and TrueNorth's four-axon-type weight factoring, each against
//! values worked out by hand.

use std::path::PathBuf;

use snn_ir::{Graph, Op};
use snn_runtime::engine::Engine;
use snnc::cli::compare::{Compiled, compile_model};
use snnc::cli::passes::PassArgs;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-spikes-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn compile(tag: &str, source: &str, backend: &str) -> Compiled {
    let d = dir(tag);
    let path = d.join("model.snn");
    std::fs::write(&path, source).unwrap();
    let args = PassArgs {
        backend: Some(backend.to_string()),
        ..Default::default()
    };
    let c = compile_model(&path, &args, "1").unwrap_or_else(|r| panic!("{}", r.render(false)));
    std::fs::remove_dir_all(&d).unwrap();
    c
}

/// Runs `rows` (one value a step for the one input) on the chip; per step,
/// the output `y` and the events `pop` sent in that step.
fn run(c: &Compiled, rows: &[f32], pop: &str) -> (Vec<f32>, Vec<u64>) {
    let mut e = Engine::new(c.config.clone());
    let (mut ys, mut counts) = (Vec::new(), Vec::new());
    let mut before = 0u64;
    for &x in rows {
        e.step(&[&[x]]);
        let y = e.read().into_iter().find(|(n, _)| n == "y").unwrap().1[0];
        ys.push(y);
        let sent: u64 = e
            .sent_per_population()
            .into_iter()
            .find(|(n, _)| n == pop)
            .unwrap_or_else(|| panic!("no population {pop}"))
            .1
            .iter()
            .sum();
        counts.push(sent - before);
        before = sent;
    }
    (ys, counts)
}

/// A weight matrix of `cols` columns as dense rows.
fn dense(t: &snn_ir::tensor::Tensor, cols: usize) -> Vec<f32> {
    let values = t.f32s().expect("f32 weights");
    match t.pattern() {
        None => values.to_vec(),
        Some(p) => {
            let mut out = vec![0f32; p.rows as usize * cols];
            for r in 0..p.rows as usize {
                for k in p.row_ptr[r] as usize..p.row_ptr[r + 1] as usize {
                    out[r * cols + p.col_idx[k] as usize] += values[k];
                }
            }
            out
        }
    }
}

fn names(g: &Graph) -> Vec<String> {
    let mut v: Vec<String> = g
        .nodes()
        .into_iter()
        .filter(|&n| matches!(g.op(n), Op::Population(_)))
        .filter_map(|n| g.name(n).map(str::to_string))
        .collect();
    v.sort();
    v
}

/// `h = 0.5 h + 0.5 clamp(x, 0, 1)` on Loihi 1, K = 16 ticks a step. By
/// hand: the soma keeps `α_t = 0.5^(1/16) = 0.95760` a tick, so a spike is
/// worth `(1 − α_t) q = 0.0424` of `h`, and the soma fires when its filtered
/// input leads the filtered reconstruction by half that. With `x = 0`, no
/// spike at all and `y = 0`. A constant `x = 0.5` settles at `h = 0.5`:
/// `K · h / q = 8` spikes a step. A step to `x = 1` after 4 steps of 0: the
/// model's `h` is `1 − 0.5^n` after `n` steps of 1 (0.5, 0.75, 0.875, ...),
/// and the chip's decoded value follows within a few spikes' worth (the
/// input's own filter of K/4 ticks delays the first step's rise).
#[test]
fn a_binary_sigma_delta_neuron_tracks_a_constant_and_a_step() {
    let src = "timestep 1ms;\ninput x[1];\nstate h[1] = 0;\nh = 0.5*h + 0.5*clamp(x, 0, 1);\noutput y = h;\n";
    let c = compile("sd", src, "loihi");
    assert_eq!(c.graph.ticks_per_step, 16);
    assert_eq!(c.config.manifest.ticks_per_step, 16);
    assert_eq!(names(&c.graph), ["h", "h.ip", "h.value"]);
    assert!(c.lowered.is_some());

    let (ys, counts) = run(&c, &[0.5; 40], "h");
    // Steady state: 8 spikes a step (one spike's rounding either way).
    for (t, &k) in counts.iter().enumerate().skip(20) {
        assert!((7..=9).contains(&k), "step {t}: {k} spikes");
    }
    let total: u64 = counts[20..].iter().sum();
    assert!((158..=162).contains(&total), "{total} spikes in 20 steps");
    for &y in &ys[20..] {
        assert!((y - 0.5).abs() < 0.05, "y = {y}");
    }

    let mut rows = vec![0.0f32; 4];
    rows.extend([1.0f32; 12]);
    let (ys, counts) = run(&c, &rows, "h");
    assert_eq!(&counts[..4], &[0, 0, 0, 0]);
    assert_eq!(&ys[..4], &[0.0, 0.0, 0.0, 0.0]);
    for n in 1..=12 {
        let h = 1.0 - 0.5f32.powi(n as i32);
        let y = ys[3 + n];
        let tolerance = if n == 1 { 0.2 } else { 0.09 };
        assert!(
            (y - h).abs() < tolerance,
            "{n} steps after the step: y = {y}, h = {h}"
        );
    }
}

/// `h = clamp(0.5 x + 0.1375, 0, 1)` (no low-pass): spike counts. By hand,
/// with `x = 0.5` the input sends a spike every second tick (the chip's
/// rate code adds 0.5 a tick and fires at 1), so over a step of 16 ticks
/// the neuron takes 8 · 0.5 + 16 · 0.1375 = 6.2 thresholds and fires 6
/// times, keeping 0.2; the second step brings it to 12.4: 6 again, the
/// fifth to 31.0 − 30 → 1.0, not above the threshold, and the sixth to 37.2:
/// 7. With `x = 1`: 16 · 0.6375 = 10.2, so 10 a step until the fractions add
/// up (step 5: 51.0, not above; step 6: 61.2, 11).
#[test]
fn an_integrate_and_fire_neuron_counts_its_input_over_k_ticks() {
    // TrueNorth reads spike counts through an integrator without leak.
    let src = "timestep 1ms;\ninput x[1];\npopulation h: sigma_delta[1] { act = clamp(0, 1); bias = 0.1375; }\nx -> h { weight = [[0.5]]; }\nstate acc[1] = 0;\nacc = acc + h;\noutput y = acc;\n";
    for backend in ["loihi", "truenorth"] {
        let c = compile(&format!("if-{backend}"), src, backend);
        assert_eq!(c.config.manifest.ticks_per_step, 16, "{backend}");
        let (_, counts) = run(&c, &[0.5; 4], "h");
        let lag = counts.iter().position(|&k| k > 0).unwrap_or(0);
        assert_eq!(lag, 0, "{backend}: {counts:?}");
        let total: u64 = counts.iter().sum();
        // Relays and delays may move a spike across a step boundary on
        // TrueNorth; the count over the run is the code's.
        assert!(
            (24..=25).contains(&total),
            "{backend}: {counts:?} (4 steps of 6.2)"
        );
        if backend == "loihi" {
            assert_eq!(counts, [6, 6, 6, 6]);
            let (_, counts) = run(&c, &[1.0; 4], "h");
            assert_eq!(counts, [10, 10, 10, 10]);
        }
    }
}

/// Diehl et al.'s 16 levels on TrueNorth: a neuron's weights `n · c` with
/// `n ∈ −8..7`, one `c` per neuron. Row 0 of `W = [[0.7, −0.8, 0.3], ...]`
/// has `c = max(0.7 / 7, 0.8 / 8) = 0.1`, so 0.7 = 7c (types 1 + 2 + 4),
/// −0.8 = −8c (type −8 alone) and 0.3 = 3c (1 + 2): exact, on 3 + 1 + 2
/// synapses from the splitters. Row 1 `[0.25, 0.5, −0.1]`: `c = 0.5/7`
/// (nothing clips) misses by 0.0357 (0.25 = 3.5c → 4c) and 0.0286 (−0.1 =
/// −1.4c → −1c); the scales that put 0.5 on a level do better at `c =
/// 0.5/6`: 0.25 = 3c and 0.5 = 6c exact, −0.1 = −1.2c → −1c = −0.0833
/// (error 0.0167, squared sum 2.8e-4 against 2.1e-3).
#[test]
fn weights_take_sixteen_levels_through_four_axon_types() {
    let src = "timestep 1ms;\ninput x[3];\npopulation h: sigma_delta[2] { act = clamp(0, 1); }\nx -> h { weight = [[0.7, -0.8, 0.3], [0.25, 0.5, -0.1]]; }\nstate acc[2] = 0;\nacc = acc + h;\noutput y = acc;\n";
    let c = compile("bits", src, "truenorth");
    let report = c.report.render(false);
    assert!(report.contains("W0495"), "{report}");
    assert!(report.contains("rounding them moves each by"), "{report}");
    let g = &c.lowered.as_ref().expect("spike codes ran");
    // The splitters: 3 inputs × a group of 4 relays.
    let split = g
        .nodes()
        .into_iter()
        .find(|&n| g.name(n) == Some("x.bits"))
        .expect("x.bits");
    assert_eq!(g.shape(split).len(), 12);
    let proj = g
        .nodes()
        .into_iter()
        .find(|&n| g.name(n) == Some("x->h"))
        .expect("x->h");
    let Op::Project(p) = g.op(proj) else {
        panic!("x->h is a projection")
    };
    assert_eq!(g.arg(proj, 0), Some(split));
    // Row r, column 4 j + k: input j on the axon of type k ({1, 2, 4, −8}).
    let dense = dense(g.tensor(p.weights), 12);
    let at = |r: usize, j: usize, k: usize| dense[r * 12 + 4 * j + k];
    let c0 = 0.1f32;
    assert_eq!(
        [at(0, 0, 0), at(0, 0, 1), at(0, 0, 2), at(0, 0, 3)],
        [c0, 2.0 * c0, 4.0 * c0, 0.0]
    );
    assert_eq!(
        [at(0, 1, 0), at(0, 1, 1), at(0, 1, 2), at(0, 1, 3)],
        [0.0, 0.0, 0.0, -8.0 * c0]
    );
    assert_eq!(
        [at(0, 2, 0), at(0, 2, 1), at(0, 2, 2), at(0, 2, 3)],
        [c0, 2.0 * c0, 0.0, 0.0]
    );
    let c1 = (0.5f64 / 6.0) as f32;
    // 3c: types 1 + 2; 6c: 2 + 4; −1c = −8c + 4c + 2c + 1c (1111).
    assert_eq!(
        [at(1, 0, 0), at(1, 0, 1), at(1, 0, 2), at(1, 0, 3)],
        [c1, 2.0 * c1, 0.0, 0.0]
    );
    assert_eq!(
        [at(1, 1, 0), at(1, 1, 1), at(1, 1, 2), at(1, 1, 3)],
        [0.0, 2.0 * c1, 4.0 * c1, 0.0]
    );
    assert_eq!(
        [at(1, 2, 0), at(1, 2, 1), at(1, 2, 2), at(1, 2, 3)],
        [c1, 2.0 * c1, 4.0 * c1, -8.0 * c1]
    );
}

/// `h = 0.5 h + 0.5 clamp(x, 0, 1)` on TrueNorth, which has no synaptic
/// filter: `h.act = clamp(x, 0, 1)` and `h = 0.5 h.act + 0.5 h` (its own
/// count one step late), both spike counts, K = 16. By hand, with x = 0.5
/// (a spike every second tick), `h.act` fires 8 times a step, and `h`
/// `0.5·8 + 0.5·n_{t−1}`: 4, 6, 7, 7.5, then 8 a step (the model's `h =
/// 0.25, 0.375, 0.4375, ...` times 16). On the chip every hop takes ticks
/// (x's splitter, h.act, its splitter, the synapse), so the last spikes of
/// `h.act`'s first step reach `h` in the next: 2, 5, 6, 7, then 8.
#[test]
fn a_low_pass_runs_on_truenorth_as_two_spike_counts() {
    let src = "timestep 1ms;\ninput x[1];\nstate h[1] = 0;\nh = 0.5*h + 0.5*clamp(x, 0, 1);\nstate acc[1] = 0;\nacc = acc + h;\noutput y = acc;\n";
    let c = compile("lp-tn", src, "truenorth");
    assert_eq!(c.config.manifest.ticks_per_step, 16);
    let g = c.lowered.as_ref().expect("spike codes ran");
    let pops = names(g);
    assert!(pops.contains(&"h.act".to_string()), "{pops:?}");
    let (ys, act) = run(&c, &[0.5; 12], "h.act");
    assert_eq!(act[1..], [8; 11], "h.act: {act:?}");
    let (_, h) = run(&c, &[0.5; 12], "h");
    assert_eq!(h[..4], [2, 5, 6, 7], "{h:?}");
    assert_eq!(h[4..], [8; 8], "{h:?}");
    // The integrator reads the counts: (2 + 5 + 6) / 16 after three steps.
    assert!(
        (ys[2] - 13.0 / 16.0).abs() < 0.07,
        "y after 3 steps: {ys:?}"
    );
}

/// What cannot travel as spikes is refused with the reason: values below
/// zero, a spike count read with no integrator on TrueNorth (a low-pass
/// too, once split into counts).
#[test]
fn what_no_spike_code_carries_is_refused() {
    let lowpass = "timestep 1ms;\ninput x[1];\nstate h[1] = 0;\nh = 0.5*h + 0.5*clamp(x, 0, 1);\noutput y = h;\n";
    let negative = "timestep 1ms;\ninput x[1];\npopulation h: sigma_delta[1] { act = clamp(-1, 1); }\nx -> h { weight = [[1.0]]; }\noutput y = h;\n";
    let direct = "timestep 1ms;\ninput x[1];\npopulation h: sigma_delta[1] { act = clamp(0, 1); }\nx -> h { weight = [[1.0]]; }\noutput y = h;\n";
    for (tag, src, backend, code, text) in [
        (
            "lp",
            lowpass,
            "truenorth",
            "E0496",
            "reads spike-count population `h` directly",
        ),
        (
            "neg",
            negative,
            "loihi",
            "E0491",
            "a spike code carries only values from 0 up",
        ),
        (
            "neg-tn",
            negative,
            "truenorth",
            "E0491",
            "a spike code carries only values from 0 up",
        ),
        (
            "direct",
            direct,
            "truenorth",
            "E0496",
            "reads spike-count population `h` directly",
        ),
    ] {
        let d = dir(tag);
        let path = d.join("model.snn");
        std::fs::write(&path, src).unwrap();
        let args = PassArgs {
            backend: Some(backend.to_string()),
            ..Default::default()
        };
        let r = match compile_model(&path, &args, "1") {
            Ok(_) => panic!("{tag} compiled on {backend}"),
            Err(r) => r,
        };
        let e = r.diags.iter().find(|d| d.is_error()).expect("an error");
        assert_eq!(e.code, code, "{tag}");
        assert!(r.render(false).contains(text), "{}", r.render(false));
        std::fs::remove_dir_all(&d).unwrap();
    }
}

/// `snnc constraints`: what a training script reads for TrueNorth (and
/// what changes with `--ticks-per-step`); an unknown backend has none.
#[test]
fn constraints_give_truenorths_rules_for_training() {
    use snnc::cli::constraints::rules;
    let value = |rs: &[snnc::cli::constraints::Rule], name: &str| {
        rs.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name}"))
            .value
            .clone()
    };
    let tn = rules("truenorth", None).unwrap();
    assert_eq!(value(&tn, "weight_levels"), serde_json::json!(16));
    assert_eq!(value(&tn, "fan_in"), serde_json::json!(64));
    assert_eq!(value(&tn, "delay_ticks"), serde_json::json!([1, 15]));
    assert_eq!(value(&tn, "ticks_per_step"), serde_json::json!(16));
    assert_eq!(value(&tn, "activity_levels"), serde_json::json!(17));
    assert_eq!(value(&tn, "decay"), serde_json::json!("linear"));
    let decay = tn.iter().find(|r| r.name == "decay").unwrap();
    assert!(
        decay.meaning.contains("--approximate leak=linear"),
        "{}",
        decay.meaning
    );
    let k8 = rules("truenorth", Some(8)).unwrap();
    assert_eq!(value(&k8, "ticks_per_step"), serde_json::json!(8));
    assert_eq!(value(&k8, "activity_levels"), serde_json::json!(9));
    assert!(rules("spinnaker", None).is_none());
}

/// A memoryless readout `y = 2 h + 0.25` of a spike count `h = clamp(x, 0,
/// 1)` on TrueNorth, which has no multiplicative leak: `y` becomes an
/// integrator without leak that adds `2/16` a spike of `h` and `0.25/16` a
/// tick, and the output reads its change over each step. With x = 0.5, `h`
/// fires 8 times a step, so a step adds `2·8/16 + 0.25 = 1.25`, the
/// model's `y`, once the counts arrive within their step (in the first
/// step, the relays' ticks hold back the last spikes).
#[test]
fn a_memoryless_readout_runs_on_truenorth_as_the_change_of_an_integrator() {
    let src = "timestep 1ms;\ninput x[1];\npopulation h: sigma_delta[1] { act = clamp(0, 1); }\nx -> h { weight = [[1.0]]; }\nconst W: [1, 1] = [[2.0]];\nconst b: [1] = [0.25];\noutput y = W @ h + b;\n";
    let c = compile("change-tn", src, "truenorth");
    let g = c.lowered.as_ref().expect("spike codes ran");
    let probe = g
        .nodes()
        .into_iter()
        .find(|&n| matches!(g.op(n), Op::Probe(snn_ir::ProbeVar::Dv)))
        .expect("a probe of the change");
    let readout = g.arg(probe, 0).expect("the readout");
    let Op::Population(p) = g.op(readout) else {
        panic!("the probe reads a population")
    };
    assert_eq!(p.model.real("alpha_mem"), snn_ir::Const::Scalar(1.0));
    assert_eq!(
        c.config.manifest.outputs[0].read,
        snn_runtime::config::Readout::VoltageChange
    );
    let (ys, h) = run(&c, &[0.5; 8], "h");
    assert_eq!(h[1..], [8; 7], "h: {h:?}");
    for (t, y) in ys.iter().enumerate().skip(1) {
        assert!((y - 1.25).abs() < 1e-3, "step {t}: {ys:?}");
    }
    assert!(ys[0] < 1.25, "{ys:?}");
}
