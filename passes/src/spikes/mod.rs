//! `spike_codes`: on chips whose spikes carry no value (Loihi 1, TrueNorth),
//! sigma-delta populations send binary spikes, and the network runs `K`
//! ticks per model step (`--ticks-per-step`, default 16): the graph's
//! `ticks_per_step` becomes `K`, an input row is held for `K` ticks and
//! every output is read at the last tick of its step.
//!
//! Two codes carry a value `y ∈ [0, q]` (`q`: the activation's upper clamp,
//! or the population's proven or calibrated bound for a ReLU):
//!
//! - **Low-pass ΣΔ** (METHODS §1, Boeshertz et al.; Loihi 1, for a
//!   population with a low-pass `α > 0`). The population `P` becomes two
//!   compartments. `P.ip` (a `li` with floor `lo` and no memory) holds the
//!   pre-activation `max(lo, z)`, `z` rebuilt from its sources' spikes by its
//!   synaptic filter; the soma `P` (a `lif` without memory) low-passes it
//!   with the per-tick retention `α_t = α^(1/K)` and subtracts the same
//!   low-pass of its own spikes (a self-synapse of weight `−(1 − α_t) q`,
//!   one tick late): it fires whenever the filtered input exceeds the
//!   filtered reconstruction of its output (by a quarter of a spike's
//!   step), so a receiver whose synaptic filter has the same `α_t`
//!   rebuilds `h`, up to `(1 − α_t) q`. One spike a tick at most caps `y` at
//!   `q`, the activation's upper clamp.
//! - **Spike counts** (Diehl et al.; TrueNorth, and Loihi 1 for `α = 0`).
//!   `P` becomes integrate-and-fire neurons (threshold `q`, subtractive
//!   reset, floor 0) that add each tick what their sources send and the
//!   bias: over a step of `K` ticks they fire `K·y/q` times.
//!
//! A source's spike stands for `q_S` per tick of rate (an input, rate-coded
//! by the chip, for 1), so receivers scale its weights by `q_S` and then:
//! a spike-count population adds them raw; a low-pass compartment and a
//! leaky readout rebuild the value with a synaptic filter (`1 − a_in`
//! times the weight; `a_in`: the senders' `α_t`, or for inputs and counts a
//! filter of `K/4` ticks); a readout without leak adds `1/K` of them each
//! tick. Delays of `d` steps become `d·K` ticks, so a recurrence lands in
//! the next step; from a low-pass sender `d·K − K/2`, so the continuous
//! value a receiver reads during its step is centred on the step boundary
//! the model reads. A readout's leak `α` becomes `α^(1/K)` a tick, its input
//! scaled to keep its steady state (on TrueNorth with `--approximate
//! leak=linear`, unfiltered: `legalize` then makes that decay a linear leak).
//!
//! On TrueNorth, which has no synaptic filter, a low-pass population first
//! becomes two spike-count ones ([`split_low_pass`]), and the weights into
//! a spike-count population then take Diehl's 16 levels through four axon
//! types (`--weight-bits b` below 4: `2^b` levels through `b`; see
//! `bits.rs`). A memoryless readout there (`alpha_mem = 0`, `alpha_syn =
//! 0`: a step's value is that step's input) becomes an integrator without
//! leak that outputs read as its change over the step ([`ProbeVar::Dv`]).
//!
//! Errors: a spiking population next to the sigma-delta ones (E0490: its
//! dynamics would change with the ticks), values below zero or a clamp
//! whose lower end is not 0 for spike counts (E0491), a low-pass on
//! TrueNorth that cannot be split (E0460: a retention outside `[0, 1)`), a ReLU with no bound and no data (E0492), an output reading spike counts
//! directly on TrueNorth (E0496). Report:
//! the table `spike codes` per population.

mod bits;

use snn_ir::tensor::{Origin, SparsePattern, Tensor, Values};
use snn_ir::{
    Act, Const, Delay, Graph, Model, ModelKind, NodeId, Op, ParamValue, Population, ProbeVar,
    Projection, Reset,
};

use crate::legalize::synapses::relaid;
use crate::manager::{Failed, PassCx, PassDiag, Table};
use crate::quantize::params;

/// A low-pass soma's threshold, in spikes' steps `(1 − α_t) q`. At 0 the
/// spike rate of a constant input is unbiased, but every tick's noise in
/// the rebuilt input fires it; at 1/2 the rate falls short by about 4% (a
/// soma whose own spike arrives a tick late settles a half step above the
/// threshold). A quarter scored best on the digits calibration split
/// (99% against 96% at 0 and 98% at 1/2, `lprnn` on `loihi`).
const SOMA_THRESHOLD: f64 = 0.25;

/// Ticks per model step when `--ticks-per-step` is not given.
pub const DEFAULT_TICKS: u32 = 16;

/// How a population's (or input's) values travel.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Code {
    /// An input, rate-coded by the chip: a spike a tick stands for 1.
    Input,
    /// Low-pass ΣΔ with per-tick retention `a`, a spike standing for `q`.
    LowPass { a: f64, q: f64 },
    /// Spike counts: `K·y/q` spikes a step.
    Counts { q: f64 },
    /// A population that keeps its kind (a readout).
    Readout,
}

impl Code {
    fn q(self) -> f64 {
        match self {
            Code::Input | Code::Readout => 1.0,
            Code::LowPass { q, .. } | Code::Counts { q } => q,
        }
    }
}

fn real(v: f64) -> ParamValue {
    ParamValue::Real(Const::Scalar(v as f32))
}

/// A real parameter of `pop` as one value (its largest for per-neuron
/// values: the codes here need one per population).
fn scalar(g: &Graph, pop: NodeId, name: &str) -> f64 {
    params::max(g, pop, name).unwrap_or(0.0)
}

/// A per-neuron or scalar parameter kept as it is.
fn param(g: &Graph, pop: NodeId, name: &str) -> ParamValue {
    match g.op(pop) {
        Op::Population(p) => ParamValue::Real(p.model.real(name)),
        _ => real(0.0),
    }
}

/// `w` times `c`, in the same layout.
fn scaled(g: &Graph, w: snn_ir::TensorId, c: f64) -> Tensor {
    let t = g.tensor(w);
    let v: Vec<f32> = t
        .f32s()
        .map(|v| v.iter().map(|&x| (x as f64 * c) as f32).collect())
        .unwrap_or_default();
    relaid(t, Values::F32(v.into()))
}

/// A delay of `d` steps in ticks: `d·K`, so a step's spike count lands in
/// the window `d` steps later; for a low-pass sender (`centered`) `d·K − K/2`,
/// so the `K` ticks of continuous value a receiver reads in its step are
/// centred on the step boundary whose value the model reads.
fn in_ticks(g: &mut Graph, d: Delay, k: u32, centered: bool) -> Delay {
    let ticks = |x: i64| -> i64 {
        if centered && x > 0 {
            x * k as i64 - (k / 2) as i64
        } else {
            x * k as i64
        }
    };
    match d {
        Delay::Const(x) => Delay::Const(ticks(x as i64).clamp(0, u32::MAX as i64) as u32),
        Delay::PerSynapse(t) => {
            let old = g.tensor(t);
            let v: Vec<i32> = old
                .i32s()
                .map(|v| {
                    v.iter()
                        .map(|&x| ticks(x as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32)
                        .collect()
                })
                .unwrap_or_default();
            let n = relaid(old, Values::I32(v.into()));
            Delay::PerSynapse(g.add_tensor(n))
        }
    }
}

/// A one-to-one projection of weight `w` and delay `d` from `src` (size `n`).
fn one_to_one(g: &mut Graph, src: NodeId, n: u32, w: f32, d: u32) -> NodeId {
    diagonal(g, src, &vec![w; n as usize], d)
}

/// Names the projections `inputs` and makes them inputs of `pop`, at its
/// span.
fn feed<const N: usize>(g: &mut Graph, pop: NodeId, inputs: [(NodeId, String); N]) {
    for (n, name) in inputs {
        g.set_name(n, name);
        if let Some(s) = g.span(pop) {
            g.set_span(n, s);
        }
        g.push_arg(pop, n);
    }
}

/// A population of `model` with `args`, named and placed at `like`'s span.
fn population(
    g: &mut Graph,
    size: u32,
    kind: ModelKind,
    values: Vec<(&str, ParamValue)>,
    name: String,
    like: NodeId,
) -> NodeId {
    // Invariant: the callers give only parameters `kind` has, of their kinds.
    let model = Model::new(kind, values.into_iter().map(|(n, v)| (n.to_string(), v)))
        .expect("parameters of the model");
    let n = g.add(Op::Population(Population { size, model }), &[]);
    g.set_name(n, name);
    if let Some(s) = g.span(like) {
        g.set_span(n, s);
    }
    n
}

/// The per-tick retention of a reconstruction filter of `K/4` ticks: short
/// enough that a step's value is mostly rebuilt within the step, long enough
/// to smooth a rate code of `K` ticks.
fn fast_filter(k: u32) -> f64 {
    (-4.0 / k as f64).exp()
}

/// The pass.
pub fn carry_values_as_spikes(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let sds: Vec<NodeId> = g
        .populations()
        .into_iter()
        .filter(
            |&p| matches!(g.op(p), Op::Population(x) if x.model.kind() == ModelKind::SigmaDelta),
        )
        .collect();
    if cx.target.graded_spikes || sds.is_empty() {
        if let Some(k) = cx.options.ticks_per_step {
            let why = if cx.target.graded_spikes {
                format!("{} sends graded values", cx.target.name)
            } else {
                "the network has no sigma-delta population".to_string()
            };
            cx.warn(PassDiag::warning(
                "W0493",
                format!("--ticks-per-step {k} has no effect: {why}, so it runs one tick per step"),
            ));
        }
        return Ok(());
    }
    let truenorth = cx.target.name == "truenorth";
    // A leaky readout on TrueNorth, which has no synaptic filter, adds its
    // input straight to its voltage; `legalize` then turns the per-tick
    // decay into a linear leak.
    let leak_linear = truenorth && cx.options.approximate_leak;
    let k = cx.options.ticks_per_step.unwrap_or(DEFAULT_TICKS);
    let split = if truenorth {
        split_low_pass(g, cx)
    } else {
        Vec::new()
    };
    // Upper bounds of every sigma-delta population's values.
    let chosen = crate::range::choose(g, cx)?;
    let mut codes: std::collections::HashMap<NodeId, Code> = std::collections::HashMap::new();
    let mut errors = Vec::new();
    let mut table = Table::new(
        "spike codes",
        &[
            "population",
            "code",
            "q (a spike's value)",
            "filter (ticks)",
            "from",
        ],
    );
    for pop in g.populations() {
        let Op::Population(p) = g.op(pop) else {
            continue;
        };
        let kind = p.model.kind();
        match kind {
            ModelKind::SigmaDelta => {}
            ModelKind::Li => {
                codes.insert(pop, Code::Readout);
                continue;
            }
            _ => {
                errors.push(
                    PassDiag::error(
                        "E0490",
                        format!(
                            "{} population {} cannot run beside the sigma-delta populations on {}: they carry values as spikes over {k} ticks a step, and its own dynamics would change with the ticks",
                            kind.name(),
                            g.label(pop),
                            cx.target.name
                        ),
                    )
                    .at(g.span(pop), "this population")
                    .help(
                        "compile this network for a chip with graded spikes (loihi2, seneca), or write it with sigma-delta and leaky-integrator neurons only",
                    ),
                );
                continue;
            }
        }
        let act = p.model.act();
        let alpha = scalar(g, pop, "alpha");
        let (lo, hi) = match act {
            Act::Relu => (0.0, f64::INFINITY),
            Act::Clamp { lo, hi } => (lo as f64, hi as f64),
            Act::Identity => (f64::NEG_INFINITY, f64::INFINITY),
        };
        if lo < 0.0 {
            errors.push(
                PassDiag::error(
                    "E0491",
                    format!(
                        "sigma-delta population {} can take values below zero ({act}), but a spike code carries only values from 0 up",
                        g.label(pop)
                    ),
                )
                .at(g.span(pop), "this population")
                .help("use `relu` or `clamp(0, hi)`, or a chip with graded spikes (loihi2, seneca)"),
            );
            continue;
        }
        let lowpass = alpha > 0.0;
        if lowpass && truenorth {
            errors.push(
                PassDiag::error(
                    "E0460",
                    format!(
                        "sigma-delta population {} low-passes its value (alpha = {}), but TrueNorth neurons have no synaptic filter to carry a low-pass through spikes; only alpha = 0 (spike counts, Diehl et al.) runs",
                        g.label(pop),
                        alpha as f32
                    ),
                )
                .at(g.span(pop), "this population")
                .help("compile for loihi (binary sigma-delta with low-pass) or loihi2/seneca"),
            );
            continue;
        }
        if !lowpass && lo > 0.0 {
            errors.push(
                PassDiag::error(
                    "E0491",
                    format!(
                        "sigma-delta population {} clamps from {lo}, but spike counts start at 0",
                        g.label(pop)
                    ),
                )
                .at(g.span(pop), "this population"),
            );
            continue;
        }
        let (q, from) = if hi.is_finite() {
            (hi, "the clamp".to_string())
        } else {
            let c = chosen.iter().find(|c| c.node == pop);
            match c {
                Some(c) if c.range.sends.is_finite() && c.range.sends > 0.0 => {
                    if let Some(w) = &c.warning {
                        cx.warn(w.clone());
                    }
                    // An observed range carries a head-room against
                    // wrapping; a spike code cannot wrap (above `q` it
                    // fires every tick, a clamp), so it spends its levels
                    // on what was seen.
                    let q = match c.range.origin {
                        snn_ir::RangeOrigin::Proven => c.range.sends as f64,
                        _ => c.range.sends as f64 / crate::range::HEADROOM,
                    };
                    (q, format!("its {} range", c.range.origin.name()))
                }
                _ => {
                    errors.push(
                        PassDiag::error(
                            "E0492",
                            format!(
                                "ReLU population {} has no bound, so no spike can be given a value",
                                g.label(pop)
                            ),
                        )
                        .at(g.span(pop), "this population")
                        .help("clamp the activation, or give --calibrate DATA.npz (or an input.npy beside the model)"),
                    );
                    continue;
                }
            }
        };
        let code = if lowpass {
            let a = alpha.powf(1.0 / k as f64).max(fast_filter(k));
            Code::LowPass { a, q }
        } else {
            Code::Counts { q }
        };
        table.row(vec![
            g.label(pop),
            if lowpass {
                "low-pass ΣΔ"
            } else {
                "spike counts"
            }
            .into(),
            format!("{}", q as f32),
            match code {
                Code::LowPass { a, .. } => format!("{:.1}", -1.0 / a.ln()),
                _ => "-".into(),
            },
            from,
        ]);
        codes.insert(pop, code);
    }
    if !errors.is_empty() {
        for e in errors {
            cx.error(e);
        }
        return Err(Failed);
    }
    // On TrueNorth a memoryless readout (`v = g·I + b` each step) becomes
    // an integrator without leak (rewritten below as any other) whose
    // change over a step is that value.
    let changes: Vec<NodeId> = if truenorth {
        memoryless_readouts(g)
    } else {
        Vec::new()
    };
    for &pop in &changes {
        if let Op::Population(p) = g.op_mut(pop) {
            // Invariant: `li` has `alpha_mem`.
            let _ = p.model.set("alpha_mem", real(1.0));
        }
    }
    let code_of = |g: &Graph, n: NodeId| -> Code {
        match g.op(n) {
            Op::Input { .. } => Code::Input,
            _ => codes.get(&n).copied().unwrap_or(Code::Readout),
        }
    };
    // Rewrite every population's incoming projections, then the
    // sigma-delta populations themselves.
    for pop in g.populations() {
        let target = code_of(g, pop);
        let projections: Vec<NodeId> = g
            .args(pop)
            .into_iter()
            .filter(|&a| matches!(g.op(a), Op::Project(_)))
            .collect();
        let sources: Vec<Code> = projections
            .iter()
            .map(|&p| g.arg(p, 0).map_or(Code::Input, |s| code_of(g, s)))
            .collect();
        // The filter that rebuilds this population's input values: its
        // low-pass senders' own, else one of K/4 ticks.
        let rebuild = sources
            .iter()
            .find_map(|c| match c {
                Code::LowPass { a, .. } => Some(*a),
                _ => None,
            })
            .unwrap_or_else(|| fast_filter(k));
        if let Some(other) = sources.iter().find_map(|c| match c {
            Code::LowPass { a, .. } if (*a - rebuild).abs() > 1e-12 => Some(*a),
            _ => None,
        }) {
            cx.warn(
                PassDiag::warning(
                    "W0494",
                    format!(
                        "{} reads low-pass senders of different time constants ({:.1} and {:.1} ticks): all are rebuilt through the first one's filter",
                        g.label(pop),
                        -1.0 / rebuild.ln(),
                        -1.0 / other.ln()
                    ),
                )
                .at(g.span(pop), "this population"),
            );
        }
        let gain = scalar(g, pop, "gain");
        let factor = match (target, g.op(pop)) {
            (Code::LowPass { .. }, _) => (1.0 - rebuild) * gain,
            (Code::Counts { .. }, _) => gain,
            (Code::Readout, Op::Population(p)) => {
                let alpha = scalar(g, pop, "alpha_mem");
                if p.model.kind() == ModelKind::Li && scalar(g, pop, "alpha_syn") != 0.0 {
                    cx.error(
                        PassDiag::error(
                            "E0490",
                            format!(
                                "leaky integrator {} filters its input (alpha_syn), but reading a spike code needs that filter to rebuild the values",
                                g.label(pop)
                            ),
                        )
                        .at(g.span(pop), "this population")
                        .help("set alpha_syn = 0, or compile for a chip with graded spikes"),
                    );
                    return Err(Failed);
                }
                if alpha >= 1.0 {
                    gain / k as f64
                } else {
                    let at = alpha.max(0.0).powf(1.0 / k as f64);
                    let filter = if leak_linear { 1.0 } else { 1.0 - rebuild };
                    filter * gain * (1.0 - at) / (1.0 - alpha.max(0.0))
                }
            }
            _ => 1.0,
        };
        for (&p, src) in projections.iter().zip(&sources) {
            let Op::Project(pr) = *g.op(p) else { continue };
            let t = scaled(g, pr.weights, factor * src.q());
            let weights = g.add_tensor(t);
            let delay = in_ticks(g, pr.delay, k, matches!(src, Code::LowPass { .. }));
            if let Op::Project(x) = g.op_mut(p) {
                x.weights = weights;
                x.delay = delay;
            }
        }
        // A readout: its leak and bias per tick, its filter.
        if target == Code::Readout
            && let Op::Population(p) = g.op(pop)
        {
            let alpha = scalar(g, pop, "alpha_mem");
            let mut model = p.model.clone();
            let (a_t, bias_factor, syn) = if alpha >= 1.0 {
                (1.0, 1.0 / k as f64, 0.0)
            } else {
                let at = alpha.max(0.0).powf(1.0 / k as f64);
                let syn = if leak_linear { 0.0 } else { rebuild };
                (at, (1.0 - at) / (1.0 - alpha.max(0.0)), syn)
            };
            let bias = match p.model.real("bias") {
                Const::Scalar(b) => Const::Scalar((b as f64 * bias_factor) as f32),
                Const::Tensor(t) => {
                    let nt = scaled(g, t, bias_factor);
                    Const::Tensor(g.add_tensor(nt))
                }
            };
            let set = |m: &mut Model, n: &str, v: ParamValue| {
                // Invariant: `li` has these real parameters.
                let _ = m.set(n, v);
            };
            set(&mut model, "alpha_mem", real(a_t));
            set(&mut model, "alpha_syn", real(syn));
            set(&mut model, "gain", real(1.0));
            set(&mut model, "bias", ParamValue::Real(bias));
            if let Op::Population(x) = g.op_mut(pop) {
                x.model = model;
            }
        }
    }
    for (&pop, &code) in &codes {
        let Op::Population(p) = g.op(pop).clone() else {
            continue;
        };
        let size = p.size;
        let base = base_name(g, pop);
        match code {
            Code::LowPass { a, q } => {
                let lo = match p.model.act() {
                    Act::Clamp { lo, .. } => lo as f64,
                    _ => 0.0,
                };
                // The pre-activation compartment takes the projections.
                let ip = population(
                    g,
                    size,
                    ModelKind::Li,
                    vec![
                        ("alpha_syn", real(rebuild_of(g, pop, &codes, k))),
                        ("alpha_mem", real(0.0)),
                        ("bias", param(g, pop, "bias")),
                        ("v_min", real(lo)),
                    ],
                    format!("{base}.ip"),
                    pop,
                );
                for a in g.args(pop) {
                    g.push_arg(ip, a);
                }
                g.clear_args(pop);
                let soma = Model::new(
                    ModelKind::Lif,
                    [
                        ("alpha_syn".to_string(), real(a)),
                        ("alpha_mem".to_string(), real(0.0)),
                        (
                            "threshold".to_string(),
                            real(SOMA_THRESHOLD * (1.0 - a) * q),
                        ),
                    ],
                )
                .expect("a lif with its retention factors and threshold");
                g.set_op(pop, Op::Population(Population { size, model: soma }));
                let join = one_to_one(g, ip, size, (1.0 - a) as f32, 0);
                let own = one_to_one(g, pop, size, (-(1.0 - a) * q) as f32, 1);
                feed(
                    g,
                    pop,
                    [
                        (join, format!("{base}.ip->{base}")),
                        (own, format!("{base}.self")),
                    ],
                );
            }
            Code::Counts { q } => {
                let model = Model::new(
                    ModelKind::If,
                    [
                        ("threshold".to_string(), real(q)),
                        ("bias".to_string(), param(g, pop, "bias")),
                        ("v_min".to_string(), real(0.0)),
                        ("reset".to_string(), ParamValue::Reset(Reset::Subtract)),
                    ],
                )
                .expect("an if neuron with threshold, bias and floor");
                g.set_op(pop, Op::Population(Population { size, model }));
            }
            _ => {}
        }
    }
    if truenorth {
        let direct = direct_outputs(g, &codes);
        if !direct.is_empty() {
            for (out, pop) in direct {
                cx.error(
                    PassDiag::error(
                        "E0496",
                        format!(
                            "output {} reads spike-count population {} directly, but a TrueNorth neuron has no multiplicative leak to rebuild a step's value from its spikes",
                            g.label(out),
                            g.label(pop)
                        ),
                    )
                    .at(g.span(out), "this output")
                    .help("read it through an integrator without leak (`state acc = acc + W @ h`, as the elman example does), or compile for loihi, loihi2 or seneca"),
                );
            }
            return Err(Failed);
        }
    }
    for &pop in &changes {
        read_change(g, pop);
        table.row(vec![
            g.label(pop),
            "integrator, read as its change a step".into(),
            "-".into(),
            "-".into(),
            "a memoryless readout".into(),
        ]);
    }
    decode_outputs(g, &codes, k);
    g.ticks_per_step = k;
    if truenorth {
        bits::spread_levels(g, &codes_counts(&codes), levels(cx), &split, cx);
    }
    cx.report.count("ticks per step", k as u64);
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
    Ok(())
}

/// On TrueNorth, which has no synaptic filter to carry a low-pass through
/// spikes, a low-pass sigma-delta population `P` (`h = α·h + (1 − α)·y`,
/// `y = act(g·I + b)`) becomes two memoryless ones that spike counts carry:
/// `P.act` computes `y` from `P`'s inputs, and `P` adds `(1 − α)·y` of the
/// same step to `α·h` of the last (a self-projection one step late). Both
/// terms lie in `[0, hi]` when `act` does (`relu` or `clamp(0, hi)`; others
/// are refused below as before), so `P`'s clamp changes nothing and the
/// pair computes exactly what `P` did. Each becomes Diehl's rate code.
/// Returns the populations `P` (their weights, `α` and `1 − α`, are the
/// compiler's, and keep 16 levels whatever `--weight-bits` says).
fn split_low_pass(g: &mut Graph, cx: &mut PassCx) -> Vec<NodeId> {
    let mut split = Vec::new();
    let mut table = Table::new(
        "low-pass split into spike counts (truenorth)",
        &["population", "alpha", "activation population"],
    );
    for pop in g.populations() {
        let Op::Population(p) = g.op(pop).clone() else {
            continue;
        };
        if p.model.kind() != ModelKind::SigmaDelta {
            continue;
        }
        let alpha = p.model.real("alpha");
        let (lo, hi) = match p.model.act() {
            Act::Relu => (0.0, f32::INFINITY),
            Act::Clamp { lo, hi } => (lo, hi),
            Act::Identity => continue,
        };
        let retains = match alpha {
            Const::Scalar(a) => a > 0.0,
            Const::Tensor(t) => g
                .tensor(t)
                .f32s()
                .is_some_and(|v| v.iter().any(|&a| a > 0.0)),
        };
        if !retains || lo != 0.0 {
            continue;
        }
        let alphas: Vec<f32> = match alpha {
            Const::Scalar(a) => vec![a; p.size as usize],
            Const::Tensor(t) => match g.tensor(t).f32s() {
                Some(v) => v.to_vec(),
                None => continue,
            },
        };
        if alphas.iter().any(|&a| !(0.0..1.0).contains(&a)) {
            continue;
        }
        let size = p.size;
        let base = base_name(g, pop);
        let act = population(
            g,
            size,
            ModelKind::SigmaDelta,
            vec![
                ("alpha", real(0.0)),
                ("act", ParamValue::Act(p.model.act())),
                ("bias", param(g, pop, "bias")),
                ("gain", param(g, pop, "gain")),
            ],
            format!("{base}.act"),
            pop,
        );
        for a in g.args(pop) {
            g.push_arg(act, a);
        }
        g.clear_args(pop);
        let mut model = p.model.clone();
        let range = if hi.is_finite() {
            Act::Clamp { lo: 0.0, hi }
        } else {
            Act::Relu
        };
        for (name, v) in [
            ("alpha", real(0.0)),
            ("bias", real(0.0)),
            ("gain", real(1.0)),
            ("act", ParamValue::Act(range)),
        ] {
            // Invariant: `sigma_delta` has these parameters, of these kinds.
            let _ = model.set(name, v);
        }
        g.set_op(pop, Op::Population(Population { size, model }));
        let fresh: Vec<f32> = alphas.iter().map(|&a| 1.0 - a).collect();
        let join = diagonal(g, act, &fresh, 0);
        let own = diagonal(g, pop, &alphas, 1);
        feed(
            g,
            pop,
            [
                (join, format!("{base}.act->{base}")),
                (own, format!("{base}.keep")),
            ],
        );
        let shown = match alpha {
            Const::Scalar(a) => format!("{a}"),
            Const::Tensor(_) => "per neuron".to_string(),
        };
        table.row(vec![g.label(pop), shown, format!("{base}.act")]);
        cx.report.count("low-pass populations split", 1);
        split.push(pop);
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
    split
}

/// A one-to-one projection from `src` with weight `w[i]` into neuron `i`
/// (zeros left out) and delay `d`.
fn diagonal(g: &mut Graph, src: NodeId, w: &[f32], d: u32) -> NodeId {
    let n = w.len() as u32;
    let keep: Vec<u32> = (0..n).filter(|&i| w[i as usize] != 0.0).collect();
    let mut row_ptr = Vec::with_capacity(n as usize + 1);
    row_ptr.push(0u64);
    let mut at = 0u64;
    for i in 0..n {
        at += u64::from(w[i as usize] != 0.0);
        row_ptr.push(at);
    }
    let pattern = std::sync::Arc::new(SparsePattern {
        rows: n,
        cols: n,
        row_ptr,
        col_idx: keep.clone(),
    });
    let values: Vec<f32> = keep.iter().map(|&i| w[i as usize]).collect();
    // Invariant: one weight per kept row, by construction.
    let t = Tensor::sparse(pattern, Values::F32(values.into()), Origin::Derived)
        .expect("one weight per kept neuron");
    let weights = g.add_tensor(t);
    g.add(
        Op::Project(Projection {
            weights,
            delay: Delay::Const(d),
        }),
        &[src],
    )
}

/// TrueNorth's weight levels: 16 through four axon types, or `2^b` through
/// `b` for `--weight-bits b` below 4 (more bits go to each type's weight,
/// in `quantize`).
fn levels(cx: &PassCx) -> bits::Levels {
    bits::Levels::new(
        cx.options
            .weight_bits
            .map_or(bits::Levels::MOST_BITS, u32::from),
    )
}

/// The spike-count populations (for TrueNorth's weight levels).
fn codes_counts(codes: &std::collections::HashMap<NodeId, Code>) -> Vec<NodeId> {
    let mut v: Vec<NodeId> = codes
        .iter()
        .filter(|(_, c)| matches!(c, Code::Counts { .. }))
        .map(|(&n, _)| n)
        .collect();
    v.sort_unstable();
    v
}

/// The rebuild filter of `pop`'s inputs (as chosen while rewriting them).
fn rebuild_of(
    g: &Graph,
    pop: NodeId,
    codes: &std::collections::HashMap<NodeId, Code>,
    k: u32,
) -> f64 {
    g.args(pop)
        .into_iter()
        .filter(|&a| matches!(g.op(a), Op::Project(_)))
        .find_map(|p| match g.arg(p, 0).and_then(|s| codes.get(&s)) {
            Some(Code::LowPass { a, .. }) => Some(*a),
            _ => None,
        })
        .unwrap_or_else(|| fast_filter(k))
}

/// The leaky integrators without memory (`alpha_mem = 0`, `alpha_syn =
/// 0`: the value of a step is that step's input and bias) that only
/// outputs read, directly or through their `v`.
fn memoryless_readouts(g: &Graph) -> Vec<NodeId> {
    let zero = |pop: NodeId, name: &str| {
        params::values(g, pop, name).is_some_and(|v| {
            !matches!(v, params::Values::Missing) && v.find(|a| a != 0.0).is_none()
        })
    };
    g.populations()
        .into_iter()
        .filter(|&pop| {
            matches!(g.op(pop), Op::Population(p) if p.model.kind() == ModelKind::Li)
                && zero(pop, "alpha_mem")
                && zero(pop, "alpha_syn")
                && !g.users(pop).is_empty()
                && g.users(pop).iter().all(|&(u, _)| match g.op(u) {
                    Op::Output { .. } => true,
                    Op::Probe(ProbeVar::V) => g
                        .users(u)
                        .iter()
                        .all(|&(o, _)| matches!(g.op(o), Op::Output { .. })),
                    _ => false,
                })
        })
        .collect()
}

/// Makes every output of `pop` (a memoryless readout become an integrator)
/// read the change of its voltage over a step.
fn read_change(g: &mut Graph, pop: NodeId) {
    for (u, slot) in g.users(pop) {
        match g.op(u) {
            Op::Probe(ProbeVar::V) => g.set_op(u, Op::Probe(ProbeVar::Dv)),
            Op::Output { .. } => {
                let probe = g.add(Op::Probe(ProbeVar::Dv), &[pop]);
                g.set_name(probe, format!("{}.dv", base_name(g, pop)));
                if let Some(s) = g.span(u) {
                    g.set_span(probe, s);
                }
                g.set_arg(u, slot, probe);
            }
            _ => {}
        }
    }
}

/// The population an output reads a value of (itself or its `v`).
fn read_population(g: &Graph, out: NodeId) -> Option<NodeId> {
    let src = g.arg(out, 0)?;
    match g.op(src) {
        Op::Population(_) => Some(src),
        Op::Probe(ProbeVar::V) => g.arg(src, 0),
        _ => None,
    }
}

/// Outputs (and the population) that read a spike-count population.
fn direct_outputs(
    g: &Graph,
    codes: &std::collections::HashMap<NodeId, Code>,
) -> Vec<(NodeId, NodeId)> {
    g.outputs()
        .into_iter()
        .filter_map(|out| {
            let pop = read_population(g, out)?;
            matches!(codes.get(&pop), Some(Code::Counts { .. })).then_some((out, pop))
        })
        .collect()
}

/// Outputs that read a sigma-delta population (or its `v`) read a decoder
/// instead: a leaky integrator that rebuilds the value from the spikes.
fn decode_outputs(g: &mut Graph, codes: &std::collections::HashMap<NodeId, Code>, k: u32) {
    for out in g.outputs() {
        let Some(pop) = read_population(g, out) else {
            continue;
        };
        let (a, q) = match codes.get(&pop) {
            Some(Code::LowPass { a, q }) => (*a, *q),
            Some(Code::Counts { q }) => (fast_filter(k), *q),
            _ => continue,
        };
        let size = g.shape(pop).len();
        let base = base_name(g, pop);
        let dec = population(
            g,
            size,
            ModelKind::Li,
            vec![("alpha_syn", real(a)), ("alpha_mem", real(0.0))],
            format!("{base}.value"),
            pop,
        );
        let p = one_to_one(g, pop, size, ((1.0 - a) * q) as f32, 0);
        g.set_name(p, format!("{base}->{base}.value"));
        g.push_arg(dec, p);
        g.set_arg(out, 0, dec);
    }
}

/// The name new populations derived from `pop` start with: its own, or
/// its label.
fn base_name(g: &Graph, pop: NodeId) -> String {
    g.name(pop)
        .map(str::to_string)
        .unwrap_or_else(|| g.label(pop))
}
