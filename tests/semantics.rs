//! `.snn` sources through the whole front end and the reference
//! interpreter, with outputs computed by hand: evaluation order, time
//! constants, units and delays as `docs/language.md` defines them.

use ndarray::Array2;
use snn_runtime::reference::{Inputs, simulate};

/// Lowers `src` and runs it on the single-column input `x`.
fn run(src: &str, x: &[f32]) -> Vec<(String, Vec<Vec<f32>>)> {
    let dir = std::env::temp_dir().join(format!(
        "snnc-semantics-{}-{}",
        std::process::id(),
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.snn");
    std::fs::write(&path, src).unwrap();
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    let input = Array2::from_shape_vec((x.len(), 1), x.to_vec()).unwrap();
    let inputs = Inputs::split(&g, input.view()).unwrap();
    let out = simulate(&g, &inputs, x.len()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out.iter()
        .map(|r| {
            let rows = r
                .values
                .rows()
                .into_iter()
                .map(|row| row.to_vec())
                .collect();
            (r.name.clone(), rows)
        })
        .collect()
}

fn column(out: &[(String, Vec<Vec<f32>>)], name: &str) -> Vec<f32> {
    out.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no output {name}"))
        .1
        .iter()
        .map(|r| r[0])
        .collect()
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{a:?} != {b:?}");
    }
}

#[test]
fn a_state_read_before_its_update_is_the_previous_value() {
    let out = run(
        "timestep 1ms;\ninput x[1];\nstate h[1] = 0;\noutput before = h;\n\
         h = 0.5*h + x;\noutput after = h;\n",
        &[1.0, 2.0, 3.0],
    );
    // h: 1, 0.5·1 + 2 = 2.5, 0.5·2.5 + 3 = 4.25; `before` lags one step.
    assert_eq!(column(&out, "after"), vec![1.0, 2.5, 4.25]);
    assert_eq!(column(&out, "before"), vec![0.0, 1.0, 2.5]);
}

#[test]
fn a_state_initial_value_is_its_value_at_step_zero() {
    let out = run(
        "timestep 1ms;\ninput x[1];\nstate h[1] = 10;\nh = h - x;\noutput y = h;\n",
        &[1.0, 1.0],
    );
    assert_eq!(column(&out, "y"), vec![9.0, 8.0]);
}

#[test]
fn lets_may_be_used_before_they_are_written() {
    let out = run(
        "timestep 1ms;\ninput x[1];\noutput y = twice + 1;\nlet twice = 2 * x;\n",
        &[1.0, -3.0],
    );
    assert_eq!(column(&out, "y"), vec![3.0, -5.0]);
}

#[test]
fn a_recurrent_projection_reads_the_previous_spikes() {
    // v accumulates (if neuron, threshold 1.5, reset to zero):
    // t0: v = 1 (x), no spike; t1: v = 1 + 1 = 2 > 1.5, spike, v = 0;
    // t2: v = 0 + 0 (x) + 1 (own spike of t1) = 1; t3: v = 1 + 0 = 1.
    let out = run(
        "timestep 1ms;\ninput x[1];\npopulation p: if[1] { threshold = 1.5; }\n\
         x -> p { weight = 1.0; }\np -> p { weight = 1.0; }\noutput s = p;\noutput v = p.v;\n",
        &[1.0, 1.0, 0.0, 0.0],
    );
    assert_eq!(column(&out, "s"), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(column(&out, "v"), vec![1.0, 0.0, 1.0, 1.0]);
}

#[test]
fn a_population_read_before_its_declaration_is_its_previous_output() {
    // `early` reads p before p's line (previous step), `late` after it.
    let out = run(
        "timestep 1ms;\ninput x[1];\noutput early = p;\n\
         population p: if[1] { threshold = 0.5; }\nx -> p { weight = 1.0; }\noutput late = p;\n",
        &[1.0, 0.0, 1.0],
    );
    assert_eq!(column(&out, "late"), vec![1.0, 0.0, 1.0]);
    assert_eq!(column(&out, "early"), vec![0.0, 1.0, 0.0]);
}

#[test]
fn time_constants_become_exact_retention_factors() {
    // dt = 0.5ms, tau = 1ms: alpha = exp(-0.5) = 0.60653066.
    let out = run(
        "timestep 0.5ms;\ninput x[1];\npopulation r: li[1] { tau_mem = 1ms; }\n\
         x -> r { weight = 1.0; }\noutput v = r;\n",
        &[1.0, 0.0, 0.0],
    );
    close(&column(&out, "v"), &[1.0, 0.60653066, 0.36787944]);
    // The same with the time constant in steps.
    let out = run(
        "timestep 0.5ms;\ninput x[1];\npopulation r: li[1] { tau_mem = 2steps; }\n\
         x -> r { weight = 1.0; }\noutput v = r;\n",
        &[1.0, 0.0, 0.0],
    );
    close(&column(&out, "v"), &[1.0, 0.60653066, 0.36787944]);
}

#[test]
fn delays_in_time_units_are_whole_steps() {
    // delay 1.5ms at dt 0.5ms = 3 steps: the input of t0 arrives at t3.
    let out = run(
        "timestep 0.5ms;\ninput x[1];\npopulation r: li[1] { alpha_mem = 0; }\n\
         x -> r { weight = 2.0; delay = 1.5ms; }\noutput v = r;\n",
        &[1.0, 0.0, 0.0, 0.0, 0.0],
    );
    assert_eq!(column(&out, "v"), vec![0.0, 0.0, 0.0, 2.0, 0.0]);
}

#[test]
fn lif_parameters_from_the_source() {
    // alpha_syn = 0.5, alpha_mem = 0.5, threshold 1, subtract reset, bias 0.25:
    // t0: i = 1, v = 0 + 1 + 0.25 = 1.25 > 1, spike, v = 0.25
    // t1: i = 0.5, v = 0.125 + 0.5 + 0.25 = 0.875
    // t2: i = 0.25, v = 0.4375 + 0.25 + 0.25 = 0.9375
    let out = run(
        "timestep 1ms;\ninput x[1];\npopulation p: lif[1] {\n  alpha_syn = 0.5; alpha_mem = 0.5;\n  \
         threshold = 1; bias = 0.25; reset = subtract;\n}\nx -> p { weight = 1.0; }\n\
         output s = p;\noutput v = p.v;\noutput i = p.i;\n",
        &[1.0, 0.0, 0.0],
    );
    assert_eq!(column(&out, "s"), vec![1.0, 0.0, 0.0]);
    assert_eq!(column(&out, "v"), vec![0.25, 0.875, 0.9375]);
    assert_eq!(column(&out, "i"), vec![1.0, 0.5, 0.25]);
}

#[test]
fn cell_algebra_matches_the_written_formula() {
    // y = clamp(3x - 1, 0, 2) / 2 + sigmoid(0) on x = 0, 0.5, 1
    //   = 0/2 + 0.5, 0.5/2 + 0.5, 2/2 + 0.5
    let out = run(
        "timestep 1ms;\ninput x[1];\noutput y = clamp(3*x - 1, 0, 2) / 2 + sigmoid(0*x);\n",
        &[0.0, 0.5, 1.0],
    );
    assert_eq!(column(&out, "y"), vec![0.5, 0.75, 1.5]);
}
