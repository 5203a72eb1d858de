//! Conformance: every example through every backend — compile, place, emit,
//! run on the chip runtime — against the float reference on the example's
//! own input. The agreement each must reach is below, with the reason.
//!
//! - SENeCA computes in bfloat16 (8 significant bits, 2–3 decimal digits)
//!   with float weights; Loihi and Loihi 2 hold 8-bit weight mantissas on a
//!   power-of-two scale, integer membranes and sigma-delta messages in whole
//!   state units. Both keep the graded and voltage outputs at a correlation
//!   of at least 0.99 with the float model (measured 0.9992–0.9999 on Loihi
//!   and 0.9972–0.9998 on SENeCA), and the arg-max of the time-summed
//!   classifier output must be the float model's.
//! - The LSTM stand-ins, where spiking adaptation amplifies every rounding
//!   and leaky integrators (the auxiliary compartments) send their voltage
//!   to the adaptive neurons: 0.95 asked, 0.987–0.996 measured.
//! - Spike-train outputs (`alif_srnn`'s hidden spikes) diverge in timing
//!   once one rounding flips one spike, so only a correlation of their
//!   trains of 0.6 is asked (0.73–0.75 measured).
//! - TrueNorth runs only non-leaky integrate-and-fire neurons with binary
//!   spikes; every example uses leaky or graded neurons and is rejected by
//!   `legalize` with E0460, which the test checks.

use std::path::{Path, PathBuf};

use snn_passes::place::{self, PlaceOptions};
use snn_runtime::engine::Engine;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Expect {
    example: &'static str,
    output: &'static str,
    /// `None`: the backend rejects the example (tested below).
    min_correlation: [Option<f64>; 3],
    /// The arg-max of the summed output must agree (classifier outputs).
    argmax: bool,
}

/// Minimum correlation on [loihi, loihi2, seneca]. The sigma-delta
/// examples need graded spikes, which Loihi 1 does not have.
const EXPECT: &[Expect] = &[
    Expect {
        example: "lprnn",
        output: "logits",
        min_correlation: [None, Some(0.99), Some(0.99)],
        argmax: true,
    },
    Expect {
        example: "elman",
        output: "logits",
        min_correlation: [None, Some(0.99), Some(0.99)],
        argmax: true,
    },
    Expect {
        example: "delays",
        output: "y",
        min_correlation: [Some(0.99), Some(0.99), Some(0.99)],
        argmax: true,
    },
    Expect {
        example: "alif_srnn",
        output: "logits",
        min_correlation: [Some(0.99), Some(0.99), Some(0.99)],
        argmax: true,
    },
    Expect {
        example: "alif_srnn",
        output: "hidden_spikes",
        min_correlation: [Some(0.6), Some(0.6), Some(0.6)],
        argmax: false,
    },
    // The auxiliary compartments send their (negative) voltages to the
    // adaptive neurons: measured 0.995-0.996.
    Expect {
        example: "adaptive_lstm",
        output: "y",
        min_correlation: [Some(0.95), Some(0.95), Some(0.95)],
        argmax: true,
    },
    // The same network at 400 + 300 (+ 300) neurons, spread over several
    // cores: measured 0.987 (Loihi) and 0.990 (SENeCA).
    Expect {
        example: "adaptive_lstm_large",
        output: "y",
        min_correlation: [Some(0.95), Some(0.95), Some(0.95)],
        argmax: true,
    },
    // A chaotic spiking network (a fifth of its neurons fire each step),
    // so quantized weights move single spikes; the leaky readout averages
    // them: measured 0.9957 (Loihi, Loihi 2) and 0.9936 (SENeCA).
    Expect {
        example: "modular",
        output: "y",
        min_correlation: [Some(0.98), Some(0.98), Some(0.98)],
        argmax: true,
    },
];

/// Compiles `example` for `backend` and runs both versions on its input.
fn run(example: &str, backend: &str) -> Result<Vec<snnc::cli::run::Agreement>, String> {
    let file = root().join("examples").join(example).join("model.snn");
    let (g, _) = snnc::driver::load(&file).map_err(|r| r.render(false))?;
    let target = snn_backends::target(backend).unwrap();
    let spec = snn_backends::chip(backend).unwrap();
    let input = file.with_file_name("input.npy");
    // As the command line does: ranges no bound covers come from the
    // model's sample input.
    let options = snn_passes::Options {
        calibration: Some(
            snnc::dataset::sample_calibration(&input, &g).map_err(|r| r.render(false))?,
        ),
        ..snn_passes::Options::default()
    };
    let outcome = snn_passes::run(
        g.clone(),
        &snn_passes::pipeline(target),
        target,
        &options,
        &mut |_| {},
    )
    .map_err(|d| {
        // The first error (warnings may come before it).
        let e = d
            .iter()
            .find(|x| x.severity == snn_passes::Severity::Error)
            .unwrap_or(&d[0]);
        format!("[{}] {}", e.code, e.message)
    })?;
    let placement = place::place(&outcome.graph, spec, &PlaceOptions::default())
        .map_err(|d| d[0].message.clone())?;
    let config = snnc::cli::compile::emit(&file, &outcome.graph, &placement, backend)
        .map_err(|d| d.message.clone())?;
    let inputs = snnc::cli::sim::read_inputs(&g, &input).map_err(|r| r.render(false))?;
    let steps = inputs.rows();
    let float = snn_runtime::reference::simulate(&g, &inputs, steps).map_err(|e| e.to_string())?;
    let rows: Vec<Vec<f32>> = (0..steps)
        .map(|t| inputs.iter().flat_map(|(_, a)| a.row(t).to_vec()).collect())
        .collect();
    let mut engine = Engine::new(config);
    let chip = engine.run(steps, &|t| vec![rows[t].clone()]);
    Ok(chip
        .iter()
        .filter_map(|(name, r)| {
            float
                .get(name)
                .map(|f| snnc::cli::run::agreement(name, r, f))
        })
        .collect())
}

#[test]
fn every_example_on_every_backend_agrees_with_the_float_model() {
    let mut failures = Vec::new();
    for (b, backend) in ["loihi", "loihi2", "seneca"].iter().enumerate() {
        let mut cache: Vec<(&str, Vec<snnc::cli::run::Agreement>)> = Vec::new();
        for e in EXPECT {
            let Some(min) = e.min_correlation[b] else {
                continue;
            };
            if !cache.iter().any(|(x, _)| *x == e.example) {
                let got = run(e.example, backend)
                    .unwrap_or_else(|m| panic!("{} on {backend}: {m}", e.example));
                cache.push((e.example, got));
            }
            let got = &cache.iter().find(|(x, _)| *x == e.example).unwrap().1;
            let a = got
                .iter()
                .find(|a| a.output == e.output)
                .unwrap_or_else(|| panic!("no output {}", e.output));
            let corr = a.correlation.unwrap_or(0.0);
            if corr < min {
                failures.push(format!(
                    "{} `{}` on {backend}: correlation {corr:.4} < {min}",
                    e.example, e.output
                ));
            }
            if e.argmax && a.argmax_total != Some(true) {
                failures.push(format!(
                    "{} `{}` on {backend}: the arg-max of the summed output differs",
                    e.example, e.output
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn truenorth_rejects_the_examples_it_cannot_run_with_a_reason() {
    for example in [
        "delays",
        "alif_srnn",
        "adaptive_lstm",
        "adaptive_lstm_large",
        "modular",
    ] {
        let err = run(example, "truenorth")
            .err()
            .unwrap_or_else(|| panic!("{example} compiled for truenorth"));
        assert!(err.starts_with("[E0460]"), "{example}: {err}");
        assert!(err.contains("cannot run on truenorth"), "{example}: {err}");
    }
}

/// `lprnn` on TrueNorth, trained without its rules: its low-passes become
/// spike counts, its weights are rounded to 16 levels (and moved where a
/// neuron would read more than 256 axons), its memoryless readout becomes
/// an integrator read by its change a step. Measured on the sample input:
/// correlation 0.975, the same arg-max of the summed logits.
#[test]
fn lprnn_runs_on_truenorth_with_its_readout_as_an_integrators_change() {
    let a = run("lprnn", "truenorth").unwrap_or_else(|e| panic!("lprnn on truenorth: {e}"));
    let logits = a.iter().find(|x| x.output == "logits").expect("logits");
    assert!(
        logits.correlation.unwrap_or(0.0) > 0.95,
        "lprnn on truenorth: {logits:?}"
    );
    assert_eq!(logits.argmax_total, Some(true), "lprnn on truenorth");
}

/// The sigma-delta examples run on the chips whose spikes carry no value:
/// `lprnn` on Loihi 1 (binary sigma-delta), `elman` on Loihi 1 and
/// TrueNorth (spike counts), at 16 ticks a step.
#[test]
fn spike_codes_run_the_sigma_delta_examples_on_loihi_1_and_truenorth() {
    for (example, backend) in [
        ("lprnn", "loihi"),
        ("elman", "loihi"),
        ("elman", "truenorth"),
    ] {
        // Measured on the sample input: correlation 0.995-0.999 and the
        // same arg-max of the summed logits.
        let a = run(example, backend).unwrap_or_else(|e| panic!("{example} on {backend}: {e}"));
        let logits = a.iter().find(|x| x.output == "logits").expect("logits");
        assert!(
            logits.correlation.unwrap_or(0.0) > 0.99,
            "{example} on {backend}: {logits:?}"
        );
        assert_eq!(logits.argmax_total, Some(true), "{example} on {backend}");
    }
}

#[test]
fn the_chip_runtime_is_deterministic() {
    let a = run("lprnn", "loihi2").unwrap();
    let b = run("lprnn", "loihi2").unwrap();
    assert_eq!(a[0].max_abs_error.to_bits(), b[0].max_abs_error.to_bits());
    assert_eq!(a[0].mean_abs_error.to_bits(), b[0].mean_abs_error.to_bits());
}

/// A fresh scratch directory holding `model.snn` with `source`.
fn scratch(name: &str, source: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("snnc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.snn");
    std::fs::write(&model, source).unwrap();
    (dir, model)
}

/// Runs the `snnc` binary: (success, stdout, stderr).
fn cli(args: &[&str]) -> (bool, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .args(["--color", "never"])
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A network without inputs runs without `--input`, for `--steps` steps;
/// without `--steps` nothing says how long, which is an error.
#[test]
fn a_network_without_inputs_runs_for_the_steps_given() {
    // bias 0.5 per step with v ← v·(1 − 1/2): v = 0.5, 0.75, 0.875, ... and
    // the threshold 0.8 is crossed at the third step, every third step.
    let (dir, model) = scratch(
        "noinput",
        "timestep 1ms;\n\
         population p: lif[2] { alpha_mem = 0.5; threshold = 0.8; bias = 0.5; }\n\
         output s = p;\n",
    );
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let (ok, _, err) = cli(&[
        "compile",
        model.to_str().unwrap(),
        "--backend",
        "loihi",
        "-o",
        out,
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&["run", out, "--output", "x.npy"]);
    assert!(!ok);
    assert!(
        err.contains("the network has no inputs, so nothing says how long to run: give --steps T"),
        "{err}"
    );
    let y = dir.join("y.npy");
    let (ok, _, err) = cli(&["run", out, "--steps", "6", "--output", y.to_str().unwrap()]);
    assert!(ok, "{err}");
    let mut file = snnc::arrays::open(&y).unwrap();
    let name = file.names().into_iter().next().unwrap();
    let spikes = file.get(&name).unwrap().to_f32().unwrap();
    assert_eq!(
        spikes,
        vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Per output: its name, the chip's rows and the float model's rows.
type Runs = Vec<(String, Vec<Vec<f32>>, Vec<Vec<f32>>)>;

/// Compiles `source` for `backend` and runs the chip and the float model on
/// `rows` (one row per step, the inputs' columns in order).
fn chip_and_float(name: &str, source: &str, backend: &str, rows: &[Vec<f32>]) -> Runs {
    let dir = std::env::temp_dir().join(format!("snnc-conf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("model.snn");
    std::fs::write(&file, source).unwrap();
    let (g, _) = snnc::driver::load(&file).unwrap_or_else(|r| panic!("{}", r.render(false)));
    let target = snn_backends::target(backend).unwrap();
    let outcome = snn_passes::run(
        g.clone(),
        &snn_passes::pipeline(target),
        target,
        &snn_passes::Options::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|d| panic!("{}", d[0].message));
    let spec = snn_backends::chip(backend).unwrap();
    let placement = place::place(&outcome.graph, spec, &PlaceOptions::default()).unwrap();
    let config = snnc::cli::compile::emit(&file, &outcome.graph, &placement, backend).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let steps = rows.len();
    let width = rows[0].len();
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let combined = ndarray::Array2::from_shape_vec((steps, width), flat).unwrap();
    let inputs = snn_runtime::reference::Inputs::split(&g, combined.view()).unwrap();
    let float = snn_runtime::reference::simulate(&g, &inputs, steps).unwrap();
    let mut engine = Engine::new(config);
    let chip = engine.run(steps, &|t| vec![rows[t].clone()]);
    chip.into_iter()
        .map(|(name, c)| {
            let f = float.get(&name).unwrap();
            let f: Vec<Vec<f32>> = (0..steps).map(|t| f.row(t).to_vec()).collect();
            (name, c, f)
        })
        .collect()
}

/// TrueNorth runs integrate-and-fire neurons with integer weights exactly:
/// the spike trains of both reset modes match the float model's spike for
/// spike (whole weights and thresholds quantize without error), one tick
/// later per layer: every TrueNorth hop takes at least one tick, so the
/// `delays` pass lengthens the model's same-step connections to 1 (W0472).
#[test]
fn truenorth_integrate_and_fire_matches_the_float_model_exactly() {
    let source = "timestep 1ms;\n\
        input x[2];\n\
        population a: if[2] { threshold = 3; reset = subtract; }\n\
        population b: if[2] { threshold = 2; reset = zero; }\n\
        x -> a { weight = [[1, 2], [2, -1]]; }\n\
        a -> b { weight = [[2, 1], [1, 1]]; }\n\
        output sa = a;\n\
        output sb = b;\n";
    let rows: Vec<Vec<f32>> = (0..16)
        .map(|t| vec![(t % 2) as f32, ((t / 3) % 2) as f32])
        .collect();
    let out = chip_and_float("tn-if", source, "truenorth", &rows);
    for (name, chip, float) in &out {
        let lag = if name == "sa" { 1 } else { 2 };
        assert!(chip[..lag].iter().flatten().all(|&x| x == 0.0), "{name}");
        assert_eq!(chip[lag..], float[..float.len() - lag], "{name}");
    }
    // A hand check of the model's `a[0]`: its input is x0 + 2·x1 with
    // x0 = 0,1,0,1,... and x1 = 0,0,0,1,1,1,0,0,0,1,1,1,...; v > 3 spikes
    // and takes 3 off: v = 0,1,1,4→1,3,6→3,3,4→1,1,4→1,3,6→3,3,4→1,1,4→1.
    let a0: Vec<f32> = out[0].2.iter().map(|r| r[0]).collect();
    assert_eq!(
        a0,
        vec![
            0., 0., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1.
        ],
    );
}

/// A leak toward zero (`leak`) is TrueNorth's leak with reversal: an
/// integrate-and-fire layer and a readout that leak 1 a step match the
/// float model exactly, one tick later per layer.
#[test]
fn truenorth_leak_toward_zero_matches_the_float_model_exactly() {
    let source = "timestep 1ms;\n\
        input x[2];\n\
        population a: if[2] { threshold = 4; leak = 1; }\n\
        population r: li[1] { alpha_mem = 1; leak = 1; }\n\
        x -> a { weight = [[3, 1], [-2, 3]]; }\n\
        a -> r { weight = [[4, -3]]; }\n\
        output sa = a;\n\
        output vr = r;\n";
    let rows: Vec<Vec<f32>> = (0..24)
        .map(|t| vec![(t % 2) as f32, ((t / 3) % 2) as f32])
        .collect();
    let out = chip_and_float("tn-leak", source, "truenorth", &rows);
    for (name, chip, float) in &out {
        let lag = if name == "sa" { 1 } else { 2 };
        // Voltages come back through the chip's scale (1/63 here), to
        // within an f32 rounding.
        for (c, f) in chip[lag..].iter().flatten().zip(float.iter().flatten()) {
            assert!((c - f).abs() < 1e-5, "{name}: chip {c}, float {f}");
        }
    }
    // The readout: 4·a0 − 3·a1 with a leak of 1 a step, so after a spike
    // of a0 it reads 3, 2, 1, 0.
    let vr: Vec<f32> = out[1].2.iter().skip(5).take(4).map(|r| r[0]).collect();
    assert_eq!(vr, vec![3., 2., 1., 0.]);
    // By hand, `a[0]` (input 3·x0 + x1, leak 1, v > 4 fires):
    // x0 = 0,1,0,1,…; x1 = 0,0,0,1,1,1,0,0,0,…
    // v: 0, 2, 1, 3+… → t3: 1 + 4 − 1 = 4 (not > 4), t4: 4 + 1 − 1 = 4,
    // t5: 4 + 4 − 1 = 7 > 4: spike, v = 0.
    let a0: Vec<f32> = out[0].2.iter().take(6).map(|r| r[0]).collect();
    assert_eq!(a0, vec![0., 0., 0., 0., 0., 1.]);
}

/// `compare --dataset`: accuracy of the float model and of the chip on a
/// labelled dataset. The network reads its three inputs out directly, so
/// the class of a sample is the channel with the most input; two of the
/// ten labels are wrong on purpose, so both reach exactly 80%.
#[test]
fn compare_on_a_dataset_prints_the_accuracy_of_both() {
    use snnc::arrays::{Array, write_npz};
    let (dir, model) = scratch(
        "dataset",
        "timestep 1ms;\n\
         input x[3];\n\
         population out: li[3] { alpha_mem = 0.5; }\n\
         x -> out { weight = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]; }\n\
         output y = out;\n",
    );
    let (samples, steps) = (10usize, 8usize);
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for s in 0..samples {
        let class = s % 3;
        for _ in 0..steps {
            for ch in 0..3 {
                x.push(if ch == class { 1.0 } else { 0.25 });
            }
        }
        // Samples 4 and 7 are labelled wrong.
        labels.push(if s == 4 || s == 7 {
            (class + 1) % 3
        } else {
            class
        } as i32);
    }
    let data = dir.join("data.npz");
    let inputs = Array::f32(vec![samples, steps, 3], x);
    let labels = Array::i32(vec![samples], labels);
    write_npz(&data, &[("inputs", &inputs), ("labels", &labels)]).unwrap();
    let m = model.to_str().unwrap();
    let d = data.to_str().unwrap();
    for backend in ["loihi", "seneca"] {
        let (ok, out, err) = cli(&["compare", m, "--backend", backend, "--dataset", d]);
        assert!(ok, "{err}");
        assert!(out.contains("10 samples"), "{out}");
        assert!(out.contains("classified by `y`"), "{out}");
        for line in ["float accuracy", "chip accuracy"] {
            let l = out.lines().find(|l| l.contains(line)).unwrap();
            assert!(l.trim_end().ends_with("80.0%"), "{backend}: {l}");
        }
        let l = out.lines().find(|l| l.contains("same class")).unwrap();
        assert!(l.trim_end().ends_with("100.0%"), "{backend}: {l}");
    }
    // Bad datasets are named precisely.
    let bad = dir.join("bad.npz");
    let refused = |arrays: &[(&str, &Array)], expect: &str| {
        write_npz(&bad, arrays).unwrap();
        let b = bad.to_str().unwrap();
        let (ok, _, err) = cli(&["compare", m, "--backend", "loihi", "--dataset", b]);
        assert!(!ok);
        assert!(err.contains(expect), "{err}");
    };
    refused(
        &[("inputs", &inputs)],
        "no array `labels` (it holds inputs)",
    );
    let wrong = Array::f32(vec![samples, steps, 2], vec![0.0; samples * steps * 2]);
    refused(
        &[("inputs", &wrong), ("labels", &labels)],
        "`inputs` has shape [10, 8, 2]; expected [S, T, 3]",
    );
    let big = Array::i32(vec![samples], vec![3; samples]);
    refused(
        &[("inputs", &inputs), ("labels", &big)],
        "`labels[0]` is 3, but `y` has 3 classes (0..2)",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A leaky integrator feeding another one sends its voltage (as its
/// changes), including negative values: the chip follows the float model
/// to the quantization step.
#[test]
fn a_leaky_integrator_sends_its_voltage_to_its_targets() {
    let source = "timestep 1ms;\n\
        input x[1];\n\
        population b: li[1] { alpha_mem = 0.9; }\n\
        population a: li[1] { alpha_mem = 0.5; }\n\
        x -> b { weight = -1.0; }\n\
        b -> a { weight = 1.0; }\n\
        output va = a;\n";
    let rows: Vec<Vec<f32>> = (0..30).map(|t| vec![(t % 3 == 0) as u8 as f32]).collect();
    for backend in ["loihi", "loihi2", "seneca"] {
        let out = chip_and_float("li-li", source, backend, &rows);
        let (_, chip, float) = &out[0];
        // b: -1, -0.9, -0.81, -1.729, ...; a = 0.5 a + b: a is negative.
        assert!(float[5][0] < -2.0, "{:?}", float[5]);
        for (t, (c, f)) in chip.iter().zip(float).enumerate() {
            // Loihi: 24-bit fixed point, errors of a few steps that grow
            // with the value; SENeCA: bfloat16's 8 significant bits.
            let tol = if backend == "seneca" {
                0.02 * f[0].abs() + 0.01
            } else {
                0.002 * f[0].abs() + 0.005
            };
            assert!(
                (c[0] - f[0]).abs() <= tol,
                "{backend} step {t}: {} vs {}",
                c[0],
                f[0]
            );
        }
    }
}

/// `compare` knows TrueNorth's tick per hop: it lines the chip's outputs
/// up one step later per layer, and the IF network then agrees exactly.
#[test]
fn compare_lines_up_truenorth_outputs_by_their_latency() {
    let (dir, model) = scratch(
        "tn-lag",
        "timestep 1ms;\n\
         input x[2];\n\
         population a: if[2] { threshold = 3; reset = subtract; }\n\
         population b: if[2] { threshold = 2; reset = zero; }\n\
         x -> a { weight = [[1, 2], [2, -1]]; }\n\
         a -> b { weight = [[2, 1], [1, 1]]; }\n\
         output sa = a;\n\
         output sb = b;\n",
    );
    let x: Vec<f32> = (0..16)
        .flat_map(|t| [(t % 2) as f32, ((t / 3) % 2) as f32])
        .collect();
    let input = snnc::arrays::Array::f32(vec![16, 2], x);
    snnc::arrays::write_npy(&dir.join("input.npy"), &input).unwrap();
    let (ok, out, err) = cli(&["compare", model.to_str().unwrap(), "--backend", "truenorth"]);
    assert!(ok, "{err}");
    let line = |name: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // output, lag, max |error|, mean |error|, correlation, ...
    assert_eq!(line("sa ")[1..5], ["1", "0.0000e0", "0.0000e0", "1.0000"]);
    assert_eq!(line("sb ")[1..5], ["2", "0.0000e0", "0.0000e0", "1.0000"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The growth-order cut moves `modular`'s neurons to other cores and
/// positions, and Loihi sums integers in any order: the chip's spike trains
/// and readout, read back through the output maps, are bit for bit those
/// of the index-order cut (`grow_synapses: 0`).
#[test]
fn the_growth_order_cut_changes_where_neurons_sit_not_what_they_compute() {
    let dir = root().join("examples/modular");
    let scratch = std::env::temp_dir().join(format!("snnc-conf-{}-grow", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let file = scratch.join("model.snn");
    let source = std::fs::read_to_string(dir.join("model.snn")).unwrap();
    std::fs::write(
        &file,
        source.replace("output y = out;", "output y = out;\noutput spikes = e;"),
    )
    .unwrap();
    std::fs::copy(dir.join("weights.npz"), scratch.join("weights.npz")).unwrap();
    let (g, _) = snnc::driver::load(&file).unwrap_or_else(|r| panic!("{}", r.render(false)));
    let target = snn_backends::target("loihi").unwrap();
    let spec = snn_backends::chip("loihi").unwrap();
    let outcome = snn_passes::run(
        g.clone(),
        &snn_passes::pipeline(target),
        target,
        &snn_passes::Options::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|d| panic!("{}", d[0].message));
    let inputs = snnc::cli::sim::read_inputs(&g, &dir.join("input.npy")).unwrap();
    let steps = inputs.rows();
    let rows: Vec<Vec<f32>> = (0..steps)
        .map(|t| inputs.iter().flat_map(|(_, a)| a.row(t).to_vec()).collect())
        .collect();
    let run_with = |grow_synapses: u64| {
        let opts = PlaceOptions {
            grow_synapses,
            ..PlaceOptions::default()
        };
        let placement = place::place(&outcome.graph, spec, &opts).unwrap();
        let first = placement.chunks.iter().find(|c| c.order.is_some()).cloned();
        let config = snnc::cli::compile::emit(&file, &outcome.graph, &placement, "loihi").unwrap();
        let map = config
            .manifest
            .outputs
            .iter()
            .find(|o| o.name == "spikes")
            .unwrap();
        let core: Vec<u32> = map.neurons.iter().map(|&(c, _)| c).collect();
        (
            first,
            core,
            Engine::new(config).run(steps, &|t| vec![rows[t].clone()]),
        )
    };
    let (first, grown_core, a) = run_with(PlaceOptions::default().grow_synapses);
    let (none, plain_core, b) = run_with(0);
    std::fs::remove_dir_all(&scratch).unwrap();
    assert!(none.is_none());
    // The lowest neuron the first grown chunk does not hold sits on
    // another core than neuron 0, though in index order they share one.
    let first = first.expect("a grown cut");
    let held: Vec<u32> = first.neurons().collect();
    let j = (0..).find(|j| !held.contains(j)).unwrap() as usize;
    assert!(j < held.len(), "{j}");
    assert_ne!(grown_core[0], grown_core[j]);
    assert_eq!(plain_core[0], plain_core[j]);
    let spikes = &a.iter().find(|(n, _)| n == "spikes").unwrap().1;
    let fired: f32 = spikes.iter().flatten().sum();
    assert!(fired > 1000.0, "{fired} spikes");
    assert_eq!(a, b);
}

/// `compare --dataset` on a trained example classifies the way its
/// `trained*.json` says (Elman's logits accumulate: the last step), and
/// says where that came from; `--decision` overrides it.
#[test]
fn compare_classifies_a_trained_example_as_it_was_trained() {
    let model = root().join("examples/elman/model.snn");
    let data = root().join("examples/elman/test.npz");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "compare",
            model.to_str().unwrap(),
            "--backend",
            "loihi2",
            "--dataset",
            data.to_str().unwrap(),
            "--limit",
            "8",
        ];
        a.extend_from_slice(extra);
        cli(&a)
    };
    let (ok, out, err) = args(&[]);
    assert!(ok, "{err}");
    let json = root().join("examples/elman/trained.json");
    assert!(
        out.contains(&format!(
            "classified by `logits` (last, from {})",
            json.display()
        )),
        "{out}"
    );
    let (ok, out, err) = args(&["--decision", "sum"]);
    assert!(ok, "{err}");
    assert!(out.contains("classified by `logits` (sum)"), "{out}");
}
