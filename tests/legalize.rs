//! The `legalize` and `delays` passes on small networks, with the expected
//! structure and values worked out by hand in each test.

use ndarray::Array2;
use snn_ir::{Delay, Graph, NodeId, Op, QuantKind};
use snn_passes::{Options, Outcome, PassDiag, PassReport, PruneMode};
use snn_runtime::reference::{Inputs, simulate};

fn lower(name: &str, source: &str) -> Graph {
    let dir = std::env::temp_dir().join(format!("snnc-legal-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.snn");
    std::fs::write(&path, source).unwrap();
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    std::fs::remove_dir_all(&dir).unwrap();
    g
}

/// The pipeline without `quantize` (so weights keep their float values).
fn compile(
    name: &str,
    source: &str,
    backend: &str,
    options: Options,
) -> Result<Outcome, Vec<PassDiag>> {
    let g = lower(name, source);
    let target = snn_backends::target(backend).unwrap();
    let skip = vec!["quantize".to_string()];
    let options = Options { skip, ..options };
    snn_passes::run(
        g,
        &snn_passes::pipeline(target),
        target,
        &options,
        &mut |_| {},
    )
}

/// The pipeline up to and including `legalize`, and the lowered graph.
fn legalized(name: &str, source: &str, backend: &str) -> (Graph, Outcome) {
    let g = lower(name, source);
    let target = snn_backends::target(backend).unwrap();
    let passes: Vec<_> = snn_passes::pipeline(target)
        .into_iter()
        .filter(|p| matches!(p.name, "fold" | "cleanup" | "legalize"))
        .collect();
    let o = snn_passes::run(g.clone(), &passes, target, &Options::default(), &mut |_| {})
        .unwrap_or_else(|d| panic!("{d:?}"));
    (g, o)
}

fn report<'a>(o: &'a Outcome, pass: &str) -> &'a PassReport {
    o.reports.iter().find(|r| r.pass == pass).unwrap()
}

/// Projections named `name`, in id order.
fn projections(g: &Graph, name: &str) -> Vec<NodeId> {
    g.nodes()
        .into_iter()
        .filter(|&n| matches!(g.op(n), Op::Project(_)) && g.name(n) == Some(name))
        .collect()
}

fn projection(g: &Graph, name: &str) -> NodeId {
    *projections(g, name)
        .first()
        .unwrap_or_else(|| panic!("no projection {name}"))
}

fn population(g: &Graph, name: &str) -> NodeId {
    g.populations()
        .into_iter()
        .find(|&n| g.name(n) == Some(name))
        .unwrap_or_else(|| panic!("no population {name}"))
}

/// The dense matrix of a projection.
fn dense(g: &Graph, p: NodeId) -> Vec<Vec<f32>> {
    let Op::Project(pr) = g.op(p) else { panic!() };
    let t = g.tensor(pr.weights);
    let (rows, cols) = (t.shape()[0] as usize, t.shape()[1] as usize);
    let mut m = vec![vec![0.0; cols]; rows];
    let v = t.f32s().unwrap();
    match t.pattern() {
        Some(pat) => {
            for (r, row) in m.iter_mut().enumerate() {
                for k in pat.row(r) {
                    row[pat.col_idx[k] as usize] += v[k];
                }
            }
        }
        None => {
            for (k, &x) in v.iter().enumerate() {
                m[k / cols][k % cols] = x;
            }
        }
    }
    m
}

/// Delays as a dense matrix (−1 where there is no synapse).
fn delays(g: &Graph, p: NodeId) -> Vec<Vec<i32>> {
    let Op::Project(pr) = g.op(p) else { panic!() };
    let w = g.tensor(pr.weights);
    let (rows, cols) = (w.shape()[0] as usize, w.shape()[1] as usize);
    let mut m = vec![vec![-1; cols]; rows];
    let per = match pr.delay {
        Delay::PerSynapse(d) => Some(g.tensor(d).i32s().unwrap()),
        Delay::Const(_) => None,
    };
    let d = |k: usize| match (per, pr.delay) {
        (Some(v), _) => v[k],
        (None, Delay::Const(c)) => c as i32,
        (None, Delay::PerSynapse(_)) => unreachable!(),
    };
    let v = w.f32s().unwrap();
    match w.pattern() {
        Some(pat) => {
            for (r, row) in m.iter_mut().enumerate() {
                for k in pat.row(r) {
                    if v[k] != 0.0 {
                        row[pat.col_idx[k] as usize] = d(k);
                    }
                }
            }
        }
        None => {
            for k in 0..v.len() {
                if v[k] != 0.0 {
                    m[k / cols][k % cols] = d(k);
                }
            }
        }
    }
    m
}

/// The source node of a projection.
fn source(g: &Graph, p: NodeId) -> NodeId {
    g.arg(p, 0).unwrap()
}

/// Both graphs give the same outputs (to 1e-5 relative) on a seeded random
/// input of 0s and 1s over 30 steps.
fn assert_same_outputs(before: &Graph, after: &Graph) {
    let width: u32 = before.inputs().iter().map(|&n| before.shape(n).len()).sum();
    let mut state = 12345u64;
    let values: Vec<f32> = (0..30 * width)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 2) as f32
        })
        .collect();
    let m = Array2::from_shape_vec((30, width as usize), values).unwrap();
    let run = |g: &Graph| {
        let inputs = Inputs::split(g, m.view()).unwrap();
        simulate(g, &inputs, 30).unwrap().into_vec()
    };
    let (a, b) = (run(before), run(after));
    assert_eq!(a.len(), b.len());
    let mut spikes = 0.0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        let scale = x.values.iter().fold(1f32, |s, v| s.max(v.abs()));
        for (p, q) in x.values.iter().zip(y.values.iter()) {
            assert!(
                (p - q).abs() <= 1e-5 * scale,
                "output {}: {p} vs {q}",
                x.name
            );
        }
        spikes += x.values.sum();
    }
    assert!(spikes > 0.0, "the test input makes no output at all");
}

#[test]
fn loihi_splits_a_mixed_sign_projection_in_two() {
    let src = "timestep 1ms;\n\
        input x[3];\n\
        population p: lif[2] { tau_mem = 20ms; }\n\
        x -> p { weight = [[1.0, -2.0, 0.5], [-0.25, 0.0, 3.0]]; }\n\
        output y = p;\n";
    let o = compile("sign", src, "loihi", Options::default()).unwrap();
    let g = &o.graph;
    assert_eq!(
        dense(g, projection(g, "x->p(+)")),
        vec![vec![1.0, 0.0, 0.5], vec![0.0, 0.0, 3.0]]
    );
    assert_eq!(
        dense(g, projection(g, "x->p(-)")),
        vec![vec![0.0, -2.0, 0.0], vec![-0.25, 0.0, 0.0]]
    );
    let r = report(&o, "legalize");
    assert_eq!(r.counter("projections split by sign"), 1);
    assert_eq!(r.counter("projections split by weight exponent"), 0);
    let t = &r.tables[0];
    assert_eq!(
        t.rows,
        vec![
            vec!["`x->p`", "`x->p(+)`", "+", "0", "3", "3", "0.5"],
            vec!["`x->p`", "`x->p(-)`", "-", "0", "2", "2", "0.25"],
        ]
    );
    // SENeCA keeps one projection.
    let o = compile("sign-seneca", src, "seneca", Options::default()).unwrap();
    assert_eq!(
        dense(&o.graph, projection(&o.graph, "x->p")),
        vec![vec![1.0, -2.0, 0.5], vec![-0.25, 0.0, 3.0]]
    );
}

/// Largest weight 1.0: with an 8-bit mantissa (|m| ≤ 127) its format's step
/// is 2^⌈log2(1/127)⌉ = 2^-6, so weights below half a step, 2^-7 =
/// 0.0078125, would round to zero. Those here sum to 0.006 + 0.005 + 0.004
/// = 0.015, more than the rounding error of the three weights above
/// (3 × 2^-6 / 4 = 0.0117), so they form a second group: step
/// 2^⌈log2(0.006/127)⌉ = 2^-14, 8 powers of two below.
#[test]
fn loihi_groups_weights_by_exponent() {
    let src = "timestep 1ms;\n\
        input x[3];\n\
        population p: lif[2] { tau_mem = 5ms; threshold = 0.5; }\n\
        x -> p { weight = [[1.0, 0.006, -0.5], [0.005, 0.75, -0.004]]; }\n\
        output y = p;\n\
        output v = p.v;\n";
    let (before, o) = legalized("exp", src, "loihi");
    let g = &o.graph;
    assert_eq!(
        dense(g, projection(g, "x->p(+)")),
        vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.75, 0.0]]
    );
    assert_eq!(
        dense(g, projection(g, "x->p(-)")),
        vec![vec![0.0, 0.0, -0.5], vec![0.0, 0.0, 0.0]]
    );
    assert_eq!(
        dense(g, projection(g, "x->p(+, e-8)")),
        vec![vec![0.0, 0.006, 0.0], vec![0.005, 0.0, 0.0]]
    );
    assert_eq!(
        dense(g, projection(g, "x->p(-, e-8)")),
        vec![vec![0.0, 0.0, 0.0], vec![0.0, 0.0, -0.004]]
    );
    assert_eq!(g.args(population(g, "p")).len(), 4);
    let r = report(&o, "legalize");
    assert_eq!(r.counter("synapse groups"), 4);
    assert_eq!(r.counter("projections split by weight exponent"), 1);
    assert_eq!(
        r.tables[0].rows[2],
        vec!["`x->p`", "`x->p(+, e-8)`", "+", "-8", "2", "0.006", "0.005"]
    );
    assert!(o.diags.is_empty());
    assert_same_outputs(&before, g);
    // Below the rounding error, a small weight stays with the large ones.
    let src = "timestep 1ms;\n\
        input x[3];\n\
        population p: lif[1] { tau_mem = 5ms; }\n\
        x -> p { weight = [[1.0, 0.75, 0.003]]; }\n\
        output y = p;\n";
    let (_, o) = legalized("exp-tail", src, "loihi");
    assert_eq!(
        dense(&o.graph, projection(&o.graph, "x->p")),
        vec![vec![1.0, 0.75, 0.003]]
    );
    assert_eq!(report(&o, "legalize").counter("synapse groups"), 0);
}

/// 399 weights of 0.00002 (together 0.008, more than the rounding error of
/// the 1.0 above them, 2^-6 / 4) need a step of 2^⌈log2(0.00002/127)⌉ =
/// 2^-22, 16 powers of two below 2^-6: more than Loihi's exponents span
/// (−8..7), so they stay with 1.0 and are reported.
#[test]
fn loihi_warns_about_weights_below_every_exponent() {
    let small = vec!["0.00002"; 399].join(", ");
    let src = format!(
        "timestep 1ms;\n\
         input x[400];\n\
         population p: lif[1] {{ tau_mem = 5ms; }}\n\
         x -> p {{ weight = [[1.0, {small}]]; }}\n\
         output y = p;\n"
    );
    let (_, o) = legalized("exp-span", &src, "loihi");
    assert_eq!(projections(&o.graph, "x->p").len(), 1);
    assert_eq!(o.diags.len(), 1);
    assert_eq!(o.diags[0].code, "W0464");
    assert_eq!(
        o.diags[0].message,
        "399 synapses of projection `x->p` have weights below 7.8125e-3, out of reach of the weight exponents loihi can give a projection whose largest weight is 1e0; they will round to zero when quantized"
    );
}

#[test]
fn gains_move_into_the_weights() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population p: lif[2] { tau_mem = 20ms; gain = [2.0, 0.5]; }\n\
        x -> p { weight = [[1.0, 3.0], [4.0, 8.0]]; }\n\
        output y = p;\n";
    let o = compile("gain", src, "seneca", Options::default()).unwrap();
    let g = &o.graph;
    assert_eq!(
        dense(g, projection(g, "x->p")),
        vec![vec![2.0, 6.0], vec![2.0, 4.0]]
    );
}

#[test]
fn truenorth_refuses_a_leaky_population_and_says_why() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population p: lif[2] { tau_mem = 20ms; }\n\
        x -> p { weight = ones(); }\n\
        output y = p;\n";
    let d = compile("tn-lif", src, "truenorth", Options::default()).unwrap_err();
    assert_eq!(d[0].code, "E0460");
    assert_eq!(
        d[0].message,
        "lif population `p` cannot run on truenorth: TrueNorth neurons leak linearly (a constant per tick), not by a factor, and hold no synaptic current"
    );
    assert_eq!(d[0].label, "a `lif` population");
    assert_eq!(d[0].span.map(|s| (s.start, s.end)), Some((26, 66)));
    assert_eq!(
        d[0].help.as_deref(),
        Some(
            "truenorth runs `if`; `--approximate leak=linear` replaces a decay (with alpha_syn = 0) by the nearest linear leak; or compile for another backend"
        )
    );
}

/// Random connectivity with 200 inputs per neuron leaves one neuron per
/// 256-axon TrueNorth core: 1000 parts, each reading the whole copy
/// population (a copy of each source per core it feeds, 200,000 in all),
/// so 1000 × ~200,000 columns, beyond what axon types are factored over.
/// The compile stops with E0476 instead of running out of memory.
#[test]
fn truenorth_refuses_a_fan_in_too_scattered_for_its_cores() {
    let src = "timestep 1ms;\n\
        population p: if[1000] { threshold = 1.0; bias = 0.01; }\n\
        p -> p { weight = sparse(density=0.2, values=0.01, seed=3); }\n\
        output y = p;\n";
    let d = compile("tn-scattered", src, "truenorth", Options::default()).unwrap_err();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, "E0476");
    let m = &d[0].message;
    assert!(
        m.starts_with("population `p` reads 1000 projection parts from 1 source population, "),
        "{m}"
    );
    assert!(
        m.ends_with(" source columns in all, more than the 33554432 that truenorth's axon-type factoring takes: its neurons' inputs come from so many different sources that few of its neurons share a 256-axon core, and every core's part reads a whole copy population"),
        "{m}"
    );
    assert_eq!(d[0].label, "this population");
    assert_eq!(
        d[0].help.as_deref(),
        Some(
            "truenorth suits block-local connectivity (each block of up to 256 neurons reading up to 256 sources); compile for loihi, loihi2 or seneca, or connect the population more locally"
        )
    );
}

/// `--approximate leak=linear`: α = 0.75 and θ = 2 give λ = 0.25 · 2 / 2 =
/// 0.25 a step; the `lif` becomes an `if` with that leak, and W0463 says so.
/// A readout (`li`, α = 0.5) is sized by its range: one input of weight 1
/// and one of 0.5 at most 1 each, so |v| ≤ 1.5 / (1 − 0.5) = 3, λ = 0.75.
#[test]
fn truenorth_approximates_a_decay_by_the_nearest_linear_leak() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population p: lif[2] { alpha_mem = 0.75; threshold = 2.0; }\n\
        population r: li[1] { alpha_mem = 0.5; }\n\
        x -> p { weight = ones(); }\n\
        p -> r { weight = [[1.0, 0.5]]; }\n\
        output y = r;\n";
    let options = Options {
        approximate_leak: true,
        ..Options::default()
    };
    let o = compile("tn-leak", src, "truenorth", options).unwrap();
    let g = &o.graph;
    let model = |name: &str| match g.op(population(g, name)) {
        Op::Population(p) => p.model.clone(),
        _ => panic!(),
    };
    let p = model("p");
    assert_eq!(p.kind(), snn_ir::ModelKind::If);
    assert_eq!(p.real("leak"), snn_ir::Const::Scalar(0.25));
    assert_eq!(p.real("threshold"), snn_ir::Const::Scalar(2.0));
    let r = model("r");
    assert_eq!(r.kind(), snn_ir::ModelKind::Li);
    assert_eq!(r.real("alpha_mem"), snn_ir::Const::Scalar(1.0));
    assert_eq!(r.real("leak"), snn_ir::Const::Scalar(0.75));
    let w: Vec<&PassDiag> = o.diags.iter().filter(|d| d.code == "W0463").collect();
    assert_eq!(w.len(), 2);
    assert_eq!(
        w[0].message,
        "lif population `p` decays by a factor (0.75 a step) but TrueNorth leaks linearly: it leaks 0.25 a step toward 0 instead, the nearest constant for |v| up to 2 (its threshold); the two differ by up to 0.25 a step"
    );
    assert_eq!(
        w[1].message,
        "li population `r` decays by a factor (0.5 a step) but TrueNorth leaks linearly: it leaks 0.75 a step toward 0 instead, the nearest constant for |v| up to 3 (its range); the two differ by up to 0.75 a step"
    );
}

/// A leak toward zero is TrueNorth's alone, and shares its register with
/// the bias.
#[test]
fn a_leak_toward_zero_runs_only_on_truenorth_and_not_beside_a_bias() {
    let src = |extra: &str| {
        format!(
            "timestep 1ms;\n\
             input x[2];\n\
             population p: if[2] {{ leak = 0.25;{extra} }}\n\
             x -> p {{ weight = ones(); }}\n\
             output y = p;\n"
        )
    };
    compile("tn-leak-ok", &src(""), "truenorth", Options::default()).unwrap();
    let d = compile("l2-leak", &src(""), "loihi2", Options::default()).unwrap_err();
    assert_eq!(d[0].code, "E0460");
    assert_eq!(
        d[0].message,
        "if population `p` cannot run on loihi2: its leak toward zero (`leak`) is TrueNorth's; loihi2 has none"
    );
    let d = compile(
        "tn-leak-bias",
        &src(" bias = 0.5;"),
        "truenorth",
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        d[0].message,
        "if population `p` cannot run on truenorth: TrueNorth neurons have one leak register, which cannot hold both its bias and its leak toward zero"
    );
}

/// A leaky integrator sends its voltage; Loihi 1 spikes carry no value, so
/// it may feed only the neuron it is a compartment of (one-to-one). Loihi 2
/// sends it as graded spikes.
#[test]
fn loihi_1_refuses_a_voltage_sent_through_a_full_projection() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population a: li[2] { tau_mem = 20ms; }\n\
        population b: lif[3] { tau_mem = 20ms; }\n\
        x -> a { weight = ones(); }\n\
        a -> b { weight = ones(); }\n\
        output y = b;\n";
    let d = compile("l1-li", src, "loihi", Options::default()).unwrap_err();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "E0462");
    assert_eq!(
        d[0].message,
        "li population `a` sends its voltage through projection `a->b`, and loihi spikes carry no value: a leaky integrator can feed only the neuron it is a compartment of (one-to-one, on its core)"
    );
    assert_eq!(d[0].label, "a projection of a voltage");
    assert_eq!(
        d[0].help.as_deref(),
        Some(
            "compile for a chip with graded spikes (loihi2, seneca), or make `a` a spiking population"
        )
    );
    compile("l2-li", src, "loihi2", Options::default()).unwrap();
    // One-to-one, the integrator is a compartment of its target: accepted.
    let joined = src
        .replace("lif[3]", "lif[2]")
        .replace("a -> b { weight = ones(); }", "a -> b { weight = 1.0; }");
    compile("l1-li-joined", &joined, "loihi", Options::default()).unwrap();
}

#[test]
fn truenorth_runs_a_lif_without_leak_as_if() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population p: lif[2] { alpha_mem = 1; threshold = 2.0; }\n\
        x -> p { weight = ones(); }\n\
        output y = p;\n";
    let o = compile("tn-if", src, "truenorth", Options::default()).unwrap();
    let pop = o.graph.populations()[0];
    let Op::Population(p) = o.graph.op(pop) else {
        panic!()
    };
    assert_eq!(p.model.kind(), snn_ir::ModelKind::If);
}

#[test]
fn loihi_counts_two_compartments_per_adaptive_neuron_and_checks_decays() {
    let src = |rho: &str| {
        format!(
            "timestep 1ms;\n\
             input x[2];\n\
             population q: alif[2] {{ alpha_mem = 0.9; rho = {rho}; }}\n\
             x -> q {{ weight = 1.0; }}\n\
             output z = q;\n"
        )
    };
    let (_, o) = legalized("alif", &src("0.99"), "loihi");
    let r = report(&o, "legalize");
    assert_eq!(r.counter("compartments of adaptive neurons"), 4);
    assert_eq!(
        r.tables[0].rows[0],
        vec!["`q`", "2", "4", "0.9", "0.99", "1.8"]
    );
    // Loihi 2 runs `alif` on one neuron.
    let (_, o) = legalized("alif2", &src("0.99"), "loihi2");
    assert_eq!(
        report(&o, "legalize").counter("compartments of adaptive neurons"),
        0
    );
    let d = compile("alif-bad", &src("1.5"), "loihi", Options::default()).unwrap_err();
    assert_eq!(d[0].code, "E0461");
    assert_eq!(
        d[0].message,
        "alif population `q` has rho = 1.5, but on loihi its auxiliary compartment decays by a fraction between 0 and 1"
    );
}

/// Columns 0 and 1 share a type (weights 1 and 2 by row); columns 2, 3
/// and 4 have one each: four types, exact.
#[test]
fn truenorth_factors_an_exact_four_type_matrix() {
    let src = "timestep 1ms;\n\
        input x[5];\n\
        population p: if[2] { threshold = 1.5; }\n\
        x -> p { weight = [[1.0, 1.0, -1.0, 5.0, 0.1], [2.0, 2.0, -3.0, 0.5, 0.2]]; }\n\
        output y = p;\n";
    let (before, o) = legalized("tn-types", src, "truenorth");
    let g = &o.graph;
    let p = projection(g, "x->p");
    let q = g.quant(p).unwrap();
    let QuantKind::AxonTypes {
        bits,
        types,
        values,
    } = q.kind
    else {
        panic!("{q}")
    };
    assert_eq!((bits, q.scale), (9, 1.0));
    assert_eq!(g.tensor(types).i32s().unwrap(), &[0, 0, 1, 2, 3]);
    assert_eq!(g.tensor(values).shape(), &[2, 4]);
    assert_eq!(
        g.tensor(values).f32s().unwrap(),
        &[1.0, -1.0, 5.0, 0.1, 2.0, -3.0, 0.5, 0.2]
    );
    assert_eq!(
        dense(g, p),
        vec![
            vec![1.0, 1.0, -1.0, 5.0, 0.1],
            vec![2.0, 2.0, -3.0, 0.5, 0.2]
        ]
    );
    let r = report(&o, "legalize");
    assert_eq!(r.counter("projections factored exactly"), 1);
    assert_eq!(
        r.tables[0].rows[0],
        vec!["`x->p`", "2", "5", "0.000e0", "0.000e0"]
    );
    assert!(o.diags.is_empty());
    assert_same_outputs(&before, g);
}

/// Five distinct weights in one row: the two closest, 1.0 and 1.5, share a
/// type with weight 1.25. Errors 0.25, 0.25, 0, 0, 0: rms √(0.125/5) =
/// 0.158, largest 0.25.
#[test]
fn truenorth_reports_the_factorization_error() {
    let src = "timestep 1ms;\n\
        input x[5];\n\
        population p: if[1] { }\n\
        x -> p { weight = [[1.0, 1.5, 4.0, 8.0, -6.0]]; }\n\
        output y = p;\n";
    let (_, o) = legalized("tn-error", src, "truenorth");
    let g = &o.graph;
    let p = projection(g, "x->p");
    assert_eq!(dense(g, p), vec![vec![1.25, 1.25, 4.0, 8.0, -6.0]]);
    assert_eq!(
        report(&o, "legalize").tables[0].rows[0],
        vec!["`x->p`", "1", "5", "1.581e-1", "2.500e-1"]
    );
    assert_eq!(o.diags[0].code, "W0462");
    assert_eq!(
        o.diags[0].message,
        "the weights of projection `x->p` do not factor into 4 axon types: replaced by the nearest that do (rms error 1.581e-1, largest 2.500e-1 over 5 synapses), so `legalize` is not exact here"
    );
}

/// Neuron 0 of `p` feeds `a`, `b` and `c`: three destinations, so three
/// copies; neuron 1 feeds only `a` and keeps its synapse. Every delay is
/// 0, so the copies relay within the step (`p.copy`, fed with delay 0).
#[test]
fn truenorth_gives_a_fan_out_of_three_three_copy_neurons() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population p: if[2] { threshold = 0.5; }\n\
        population a: if[1] { threshold = 0.5; }\n\
        population b: if[1] { threshold = 1.5; }\n\
        population c: if[1] { threshold = 2.5; }\n\
        x -> p { weight = [[1.0, 0.0], [0.0, 1.0]]; }\n\
        p -> a { weight = [[1.0, 1.0]]; }\n\
        p -> b { weight = [[2.0, 0.0]]; }\n\
        p -> c { weight = [[3.0, 0.0]]; }\n\
        output ya = a;\n\
        output yb = b;\n\
        output yc = c;\n";
    let (before, o) = legalized("tn-copies", src, "truenorth");
    let g = &o.graph;
    let r = report(&o, "legalize");
    assert_eq!(r.counter("copy neurons"), 3);
    assert_eq!(r.tables[0].rows[0], vec!["`p`", "1", "3", "0", "3"]);
    let copy = population(g, "p.copy");
    let Op::Population(cp) = g.op(copy) else {
        panic!()
    };
    assert_eq!(cp.size, 3);
    assert_eq!(cp.model.real("threshold"), snn_ir::Const::Scalar(0.5));
    let feed = projection(g, "p->p.copy");
    assert_eq!(source(g, feed), population(g, "p"));
    assert_eq!(
        dense(g, feed),
        vec![vec![1.0, 0.0], vec![1.0, 0.0], vec![1.0, 0.0]]
    );
    assert_eq!(delays(g, feed), vec![vec![0, -1], vec![0, -1], vec![0, -1]]);
    // `p->a` keeps neuron 1; neuron 0's synapse comes from copy 0.
    let pa = projection(g, "p->a");
    assert_eq!(source(g, pa), population(g, "p"));
    assert_eq!(dense(g, pa), vec![vec![0.0, 1.0]]);
    let pa_copy = projection(g, "p->a(copy)");
    assert_eq!(source(g, pa_copy), copy);
    assert_eq!(dense(g, pa_copy), vec![vec![1.0, 0.0, 0.0]]);
    // `p->b` and `p->c` read only copies now.
    let pb = projection(g, "p->b");
    assert_eq!(source(g, pb), copy);
    assert_eq!(dense(g, pb), vec![vec![0.0, 2.0, 0.0]]);
    assert_eq!(dense(g, projection(g, "p->c")), vec![vec![0.0, 0.0, 3.0]]);
    // Every neuron now has one destination.
    for pop in g.populations() {
        let outs = g
            .users(pop)
            .into_iter()
            .filter(|&(u, _)| matches!(g.op(u), Op::Project(_)))
            .count();
        let Op::Population(p) = g.op(pop) else {
            panic!()
        };
        for j in 0..p.size as usize {
            let feeds = g
                .users(pop)
                .into_iter()
                .filter(|&(u, _)| matches!(g.op(u), Op::Project(_)))
                .filter(|&(u, _)| dense(g, u).iter().any(|row| row[j] != 0.0))
                .count();
            assert!(feeds <= 1, "{} neuron {j}: {feeds} of {outs}", g.label(pop));
        }
    }
    assert_same_outputs(&before, g);
}

/// Every synapse of neuron 0 is delayed: its copies relay one step later
/// (`p.copy+1`, fed with delay 1) and its synapses lose a step. The two of
/// delay 1 (to `a` and `b`) are left with 0, a tick late on the chip.
#[test]
fn truenorth_copies_absorb_one_step_of_delay() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population p: if[2] { threshold = 0.5; }\n\
        population a: if[1] { threshold = 0.5; }\n\
        population b: if[1] { threshold = 1.5; }\n\
        population c: if[1] { threshold = 2.5; }\n\
        x -> p { weight = [[1.0, 0.0], [0.0, 1.0]]; }\n\
        p -> a { weight = [[1.0, 1.0]]; delay = 1; }\n\
        p -> b { weight = [[2.0, 0.0]]; delay = 1; }\n\
        p -> c { weight = [[3.0, 0.0]]; delay = 3; }\n\
        output ya = a;\n\
        output yb = b;\n\
        output yc = c;\n";
    let (before, o) = legalized("tn-copies-delay", src, "truenorth");
    let g = &o.graph;
    assert_eq!(
        report(&o, "legalize").tables[0].rows[0],
        vec!["`p`", "1", "3", "3", "2"]
    );
    let copy = population(g, "p.copy+1");
    let feed = projection(g, "p->p.copy+1");
    assert_eq!(delays(g, feed), vec![vec![1, -1], vec![1, -1], vec![1, -1]]);
    assert_eq!(delays(g, projection(g, "p->a")), vec![vec![-1, 1]]);
    let pa_copy = projection(g, "p->a(copy+1)");
    assert_eq!(source(g, pa_copy), copy);
    assert_eq!(delays(g, pa_copy), vec![vec![0, -1, -1]]);
    assert_eq!(delays(g, projection(g, "p->b")), vec![vec![-1, 0, -1]]);
    assert_eq!(delays(g, projection(g, "p->c")), vec![vec![-1, -1, 2]]);
    assert_same_outputs(&before, g);
}

/// Delays at the ends of the ranges: Loihi holds 0 and 62 and clips 63
/// (W0471); Loihi 2 holds 63; TrueNorth raises 0 to 1 (W0472), holds 1 and
/// 15 and clips 16.
#[test]
fn delays_are_clipped_to_the_chip_range() {
    let src = |d: &str| {
        format!(
            "timestep 1ms;\n\
             input x[2];\n\
             population p: if[1] {{ }}\n\
             x -> p {{ weight = [[0.5, 0.25]]; delay = {d}; }}\n\
             output y = p;\n"
        )
    };
    let run = |name: &str, d: &str, backend: &str, options: Options| {
        let o = compile(name, &src(d), backend, options).unwrap();
        let codes: Vec<&str> = o.diags.iter().map(|d| d.code).collect::<Vec<_>>();
        let codes = codes.join(" ");
        (
            delays(&o.graph, projection(&o.graph, "x->p")),
            codes,
            report(&o, "delays").clone(),
        )
    };
    let (d, codes, r) = run("loihi-62", "[[0, 62]]", "loihi", Options::default());
    assert_eq!((d, codes.as_str()), (vec![vec![0, 62]], ""));
    assert_eq!(
        (r.counter("delay bits"), r.counter("compartments per core")),
        (6, 128)
    );
    let (d, codes, r) = run("loihi-63", "[[1, 63]]", "loihi", Options::default());
    assert_eq!((d, codes.as_str()), (vec![vec![1, 62]], "W0471"));
    assert_eq!(r.counter("delays clipped"), 1);
    let (d, codes, _) = run("loihi2-63", "[[1, 63]]", "loihi2", Options::default());
    assert_eq!((d, codes.as_str()), (vec![vec![1, 63]], ""));
    let (d, codes, _) = run("tn-0", "[[0, 16]]", "truenorth", Options::default());
    assert_eq!((d, codes.as_str()), (vec![vec![1, 15]], "W0471 W0472"));
    let (d, codes, _) = run("tn-1", "[[1, 15]]", "truenorth", Options::default());
    assert_eq!((d, codes.as_str()), (vec![vec![1, 15]], ""));
    // `--delay-bits 3` on Loihi: at most 7 steps, 8192 / 2^3 = 1024
    // compartments.
    let bits = |b| Options {
        delay_bits: Some(b),
        ..Options::default()
    };
    let (d, codes, r) = run("loihi-bits", "[[1, 20]]", "loihi", bits(3));
    assert_eq!((d, codes.as_str()), (vec![vec![1, 7]], "W0471"));
    assert_eq!(r.counter("compartments per core"), 1024);
    // Too many bits, and bits on a chip without a ring buffer.
    let e = compile("loihi-bits-7", &src("[[1, 2]]"), "loihi", bits(7)).unwrap_err();
    assert_eq!(
        e[0].message,
        "--delay-bits 7: loihi delays take at most 6 bits (delays up to 62)"
    );
    let (_, codes, _) = run("seneca-bits", "[[1, 2]]", "seneca", bits(3));
    assert_eq!(codes, "W0474");
}

/// Two projections `x -> p` with per-synapse delays; entries (row, col,
/// weight, delay):
///
/// ```text
/// first:  (0,0, 0.5,1) (0,1, 0.7,4) (1,0, 0.25,2) (1,1,-0.3,3)
/// second: (0,0,-0.6,5) (0,1, 0.1,4) (1,0, 0.25,2)          (weight 0 at (1,1))
/// ```
const PARALLEL: &str = "timestep 1ms;\n\
    input x[2];\n\
    population p: if[2] { }\n\
    x -> p { weight = [[0.5, 0.7], [0.25, -0.3]]; delay = [[1, 4], [2, 3]]; }\n\
    x -> p { weight = [[-0.6, 0.1], [0.25, 0.0]]; delay = [[5, 4], [2, 6]]; }\n\
    output y = p;\n";

fn pruned(name: &str, mode: PruneMode, k: usize) -> Outcome {
    let opts = Options {
        prune: Some((mode, k)),
        ..Options::default()
    };
    compile(name, PARALLEL, "seneca", opts).unwrap()
}

/// `synaptic:1`: pair (0,0) keeps −0.6 (delay 5) over 0.5; (0,1) keeps 0.7
/// over 0.1; (1,0) has 0.25 twice at delay 2 and keeps the first
/// projection's; (1,1) has one synapse.
#[test]
fn synaptic_pruning_keeps_the_strongest_delayed_weight_of_each_pair() {
    let o = pruned("synaptic", PruneMode::Synaptic, 1);
    let g = &o.graph;
    let [a, b] = projections(g, "x->p")[..] else {
        panic!()
    };
    assert_eq!(dense(g, a), vec![vec![0.0, 0.7], vec![0.25, -0.3]]);
    assert_eq!(delays(g, a), vec![vec![-1, 4], vec![2, 3]]);
    assert_eq!(dense(g, b), vec![vec![-0.6, 0.0], vec![0.0, 0.0]]);
    assert_eq!(delays(g, b), vec![vec![5, -1], vec![-1, -1]]);
    let r = report(&o, "delays");
    assert_eq!(r.counter("synapses pruned"), 3);
    // Memory: first, 4 synapses × 3 bits (delays up to 4) = 2 bytes, after
    // 3 × 3 bits = 2; second, 3 × 3 bits (up to 5) = 2, after 1 × 3 = 1.
    // The population's buffer, counted with the first: 2 neurons × 6
    // slots (delays 0..5) × 4 bytes = 48.
    let t = r
        .tables
        .iter()
        .find(|t| t.title == "delays per projection")
        .unwrap();
    assert_eq!(
        t.rows,
        vec![
            vec!["`x->p`", "4", "3", "4", "3", "50", "50"],
            vec!["`x->p`", "3", "1", "3", "1", "2", "1"],
            vec!["total", "7", "4", "-", "-", "52", "51"],
        ]
    );
}

/// `axonal:1`, per source neuron over both projections. Neuron 0: delay 1
/// carries 0.5, delay 2 0.25 + 0.25 = 0.5, delay 5 0.6: keeps 5, and its
/// synapses at 1 and 2 move there. Neuron 1: delay 4 carries 0.7 + 0.1,
/// delay 3 0.3: keeps 4.
#[test]
fn axonal_pruning_moves_each_sources_synapses_to_its_kept_delays() {
    let o = pruned("axonal", PruneMode::Axonal, 1);
    let g = &o.graph;
    let [a, b] = projections(g, "x->p")[..] else {
        panic!()
    };
    assert_eq!(delays(g, a), vec![vec![5, 4], vec![5, 4]]);
    assert_eq!(delays(g, b), vec![vec![5, 4], vec![5, -1]]);
    assert_eq!(dense(g, a), vec![vec![0.5, 0.7], vec![0.25, -0.3]]);
    let r = report(&o, "delays");
    assert_eq!(r.counter("synapses moved to a kept delay"), 4);
    assert_eq!(r.counter("synapses pruned"), 0);
    // With k = 2, neuron 0 keeps 5 and, of 1 and 2 (0.5 each), the shorter.
    let o = pruned("axonal-2", PruneMode::Axonal, 2);
    let [a, b] = projections(&o.graph, "x->p")[..] else {
        panic!()
    };
    assert_eq!(delays(&o.graph, a), vec![vec![1, 4], vec![1, 3]]);
    assert_eq!(delays(&o.graph, b), vec![vec![5, 4], vec![1, -1]]);
}

/// `layer:2` over both projections: delay 1 carries 0.5, 2 0.5, 3 0.3,
/// 4 0.8, 5 0.6: keeps 4 and 5; 1, 2 and 3 move to 4, the nearest.
#[test]
fn layer_pruning_keeps_the_heaviest_delays_of_the_layer() {
    let o = pruned("layer", PruneMode::Layer, 2);
    let g = &o.graph;
    let [a, b] = projections(g, "x->p")[..] else {
        panic!()
    };
    assert_eq!(delays(g, a), vec![vec![4, 4], vec![4, 4]]);
    assert_eq!(delays(g, b), vec![vec![5, 4], vec![4, -1]]);
    let r = report(&o, "delays");
    assert_eq!(r.counter("synapses moved to a kept delay"), 4);
}

const DELAYED: &str = "timestep 1ms;\n\
    input x[2];\n\
    population p: if[2] { }\n\
    x -> p { weight = [[0.5, 0.7], [0.3, -0.3]]; delay = [[1, 4], [2, 3]]; }\n\
    output y = p;\n";

/// TrueNorth has one delay per sender: `x->p` (x0 with delays 1 and 2, x1
/// with 4 and 3) becomes one projection per delay, each holding the
/// synapses of that delay (the host sends an input's spike to the axons of
/// every part), and the network still computes the same.
#[test]
fn truenorth_splits_a_projection_by_delay() {
    let o = compile("tn-delay", DELAYED, "truenorth", Options::default()).unwrap();
    let g = &o.graph;
    let part = |d: u32| {
        let p = projection(g, &format!("x->p@{d}"));
        let Op::Project(pr) = g.op(p) else { panic!() };
        assert_eq!(pr.delay, Delay::Const(d), "x->p@{d}");
        dense(g, p)
    };
    assert_eq!(part(1), vec![vec![0.5, 0.0], vec![0.0, 0.0]]);
    assert_eq!(part(2), vec![vec![0.0, 0.0], vec![0.3, 0.0]]);
    assert_eq!(part(3), vec![vec![0.0, 0.0], vec![0.0, -0.3]]);
    assert_eq!(part(4), vec![vec![0.0, 0.7], vec![0.0, 0.0]]);
    let r = report(&o, "legalize");
    assert_eq!(r.counter("projections split by delay or target block"), 1);
    assert_eq!(r.counter("parts of split projections"), 4);
    // The float model is unchanged: with both inputs spiking on steps 0-3,
    // p0 gets 0.5 a step later and 0.7 four steps later, and spikes.
    let before = lower("tn-delay-ref", DELAYED);
    let x = Array2::from_shape_fn((8, 2), |(t, _)| if t < 4 { 1.0 } else { 0.0 });
    let run = |g: &Graph| {
        let inputs = Inputs::split(g, x.view()).unwrap();
        let y = simulate(g, &inputs, 8).unwrap().into_vec();
        y[0].values.clone()
    };
    let (a, b) = (run(&before), run(g));
    assert_eq!(a, b);
    assert!(a.iter().any(|&v| v != 0.0), "p spikes");
}

/// The relay projection of two neurons with two copies each, side by side.
fn two_copies_each() -> Vec<Vec<f32>> {
    vec![
        vec![1.0, 0.0],
        vec![1.0, 0.0],
        vec![0.0, 1.0],
        vec![0.0, 1.0],
    ]
}

/// A neuron whose synapses in one projection have two delays gets one relay
/// copy per delay (its one destination is their axon), its copies side by
/// side; each copy sends with its part's delay less the relay's step.
#[test]
fn truenorth_gives_a_neuron_one_copy_per_delay() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population q: if[2] { }\n\
        population p: if[2] { }\n\
        x -> q { weight = [[1.0, 0.0], [0.0, 1.0]]; }\n\
        q -> p { weight = [[0.5, 0.7], [0.3, -0.3]]; delay = [[1, 4], [2, 3]]; }\n\
        output y = p;\n";
    let (_, o) = legalized("tn-delay-copies", src, "truenorth");
    let g = &o.graph;
    // Copies, neuron by neuron: q0 for delays 1 and 2, q1 for 3 and 4.
    let relay = projection(g, "q->q.copy+1");
    assert_eq!(dense(g, relay), two_copies_each());
    let copy = |d: u32| {
        let p = projection(g, &format!("q->p@{d}"));
        let Op::Project(pr) = g.op(p) else { panic!() };
        assert_eq!(g.name(g.arg(p, 0).unwrap()), Some("q.copy+1"));
        assert_eq!(pr.delay, Delay::Const(d - 1), "q->p@{d}");
        dense(g, p)
    };
    assert_eq!(copy(1), vec![vec![0.5, 0.0, 0.0, 0.0], vec![0.0; 4]]);
    assert_eq!(copy(2), vec![vec![0.0; 4], vec![0.0, 0.3, 0.0, 0.0]]);
    assert_eq!(copy(3), vec![vec![0.0; 4], vec![0.0, 0.0, -0.3, 0.0]]);
    assert_eq!(copy(4), vec![vec![0.0, 0.0, 0.0, 0.7], vec![0.0; 4]]);
}

/// Without `legalize` (a library pipeline), `delays` still refuses a
/// TrueNorth source with two delays in one projection.
#[test]
fn truenorth_delays_pass_alone_refuses_two_delays_per_source() {
    let g = lower("tn-delay-alone", DELAYED);
    let target = snn_backends::target("truenorth").unwrap();
    let passes: Vec<_> = snn_passes::pipeline(target)
        .into_iter()
        .filter(|p| matches!(p.name, "fold" | "delays"))
        .collect();
    let d = snn_passes::run(g, &passes, target, &Options::default(), &mut |_| {}).unwrap_err();
    assert_eq!(d[0].code, "E0470");
    assert_eq!(
        d[0].message,
        "truenorth has one delay per neuron, but source neuron 0 of projection `x->p` has synapses with delays 1 and 2"
    );
    assert_eq!(d[0].label, "per-synapse delays");
}

/// A TrueNorth core holds 256 neurons, so 300 targets take two blocks
/// (0-255, 256-299): each neuron of `a` reaches both and gets one relay
/// copy per block, each sending to one core; the network then places (it
/// did not: "neuron 0 of population `a` sends to 2 cores").
#[test]
fn truenorth_gives_a_neuron_one_copy_per_target_core() {
    let src = "timestep 1ms;\n\
        population a: if[2] { bias = 0.5; }\n\
        population b: if[300] { }\n\
        a -> b { weight = ones(); }\n\
        output y = b;\n";
    let (_, o) = legalized("tn-blocks", src, "truenorth");
    let g = &o.graph;
    let first = projection(g, "a->b#0");
    let second = projection(g, "a->b#1");
    let rows = |p| {
        dense(g, p)
            .iter()
            .filter(|r| r.iter().any(|&w| w != 0.0))
            .count()
    };
    assert_eq!((rows(first), rows(second)), (256, 44));
    // Two copies per neuron, side by side: a0's for blocks 0 and 1, then a1's.
    let relay = projections(g, "a->a.copy+1")
        .into_iter()
        .chain(projections(g, "a->a.copy"))
        .next()
        .expect("a relay projection");
    assert_eq!(dense(g, relay), two_copies_each());
    let target = snn_backends::target("truenorth").unwrap();
    let all = snn_passes::run(
        lower("tn-blocks-all", src),
        &snn_passes::pipeline(target),
        target,
        &Options::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let spec = snn_backends::chip("truenorth").unwrap();
    let placed = snn_passes::place::place(&all.graph, spec, &Default::default())
        .unwrap_or_else(|d| panic!("{}", d[0].message));
    // 306 neurons on two cores of 256; every copy sends to one of them.
    assert_eq!(placed.cores.len(), 2);
}
