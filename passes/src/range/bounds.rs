//! Proven bounds: how large each population's registers and messages can
//! get for any input within the assumed input range.
//!
//! Per neuron `i` of a population, the summed input of one step is at most
//! `Y_i = Σ_p L1_p[i] · S_src(p)`: every synapse at once, each source at its
//! largest (`L1_p[i]`, the row L1 norm of projection `p`; `S`, what the
//! source sends: 1 for spikes, a graded population's bound, the input
//! bound). A synapse delivers at most once per step whatever its delay, so
//! delays do not change the bound. With `B_i = |bias_i|` and the retention
//! factors as the chip keeps them:
//!
//! | model | registers (`state`) | sends |
//! |---|---|---|
//! | `lif`, `if` | `U + B` (`U = Y/(1 − α_syn)`, the current), `θ`, and below zero `|v_min|` or `(U + B)/(1 − α_mem)` | 1 |
//! | `alif` | `Y + B` (the input register), `b0 + β` | 1 |
//! | `li` | `U`, `V = (U + B)/(1 − α_mem)` | `V` |
//! | `sigma_delta` | `Y + B` (the Σ accumulator), `A` | `A + θ` |
//!
//! where `A` bounds the activation's output (`clamp(lo, hi)` caps it,
//! `relu`/`identity` do not) and so the low-passed value `h`, a convex
//! blend of activations; the reconstruction `r` stays within `θ` of `h`.
//! A spiking neuron's voltage is bounded above by one step's drive past its
//! threshold; below, by its floor `v_min`, or by the steady state of its
//! leak under the largest negative drive. An integrate-and-fire neuron with
//! neither drifts without bound below zero: that side is left out (the chip
//! saturates it, and the runtime counts it).
//!
//! Recurrence makes `S` depend on itself. The bounds are the least fixed
//! point of the monotone map `S ← f(S)`, iterated from 0 (spiking sources
//! at 1). Any `x` with `f(x) ≤ x` bounds every reachable value (from
//! `0 ≤ x`, each step stays below `x`), so after each step of the iteration
//! `x = 1.01 · f(S)` is tried and kept as soon as it holds. Sources still
//! growing after [`MAX_ITERATIONS`] (a recurrent gain of 1 or more, an
//! integrator without leak) have no finite bound: `∞`.

use snn_ir::target::DecayFormat;
use snn_ir::{Act, Graph, ModelKind, NodeId, Op};

use crate::legalize::synapses::Synapses;
use crate::quantize::decays;
use crate::quantize::params::{self, Values};

/// Iterations of the fixed point before a growing bound counts as
/// unbounded.
pub const MAX_ITERATIONS: usize = 2000;
/// The factor by which a candidate post-fixed point exceeds the iterate.
const POST_FIXED: f64 = 1.01;

/// Where a projection's values come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// An input (its bound is the assumed input range).
    Input(NodeId),
    /// A population: an index into [`Net::pops`].
    Pop(usize),
    /// Anything else (cell algebra the passes left): no bound.
    Other,
}

/// One population as the analysis sees it.
#[derive(Clone, Debug)]
pub struct Pop {
    pub node: NodeId,
    pub kind: ModelKind,
    pub size: usize,
    /// Each incoming projection: its source and the L1 norm of each row.
    pub inputs: Vec<(Source, Vec<f64>)>,
    bias: Vec<f64>,
    alpha_syn: Vec<f64>,
    alpha_mem: Vec<f64>,
    /// Threshold (`b0` for `alif`), largest.
    theta: f64,
    /// `alif`: largest β; `sigma_delta`: largest threshold.
    extra: f64,
    /// The voltage's floor (`v_min`) per neuron: `−∞` without one.
    v_min: Vec<f64>,
    act: Option<Act>,
}

/// The populations of a graph with what the analysis needs of each.
#[derive(Clone, Debug, Default)]
pub struct Net {
    pub pops: Vec<Pop>,
}

/// The L1 norm of each row of a weight tensor (zeros for a tensor without
/// values, which `quantize` reports).
fn row_l1(g: &Graph, weights: snn_ir::TensorId, rows: usize) -> Vec<f64> {
    let Some(s) = Synapses::of(g.tensor(weights)) else {
        return vec![0.0; rows];
    };
    (0..s.rows)
        .map(|r| s.row(r).map(|k| s.weights[k].abs() as f64).sum())
        .collect()
}

/// Parameter `name` of `pop` per neuron (`default` for a model without it).
fn per_neuron(g: &Graph, pop: NodeId, name: &str, n: usize, default: f64) -> Vec<f64> {
    match params::values(g, pop, name) {
        Some(Values::Scalar(x)) => vec![x as f64; n],
        Some(Values::PerNeuron(v)) if v.len() == n => v.iter().map(|&x| x as f64).collect(),
        _ => vec![default; n],
    }
}

impl Net {
    /// Reads every population of `g`, with its retention factors rounded the
    /// way `decays` will store them on the target.
    pub fn of(g: &Graph, format: DecayFormat) -> Net {
        let nodes = g.populations();
        let index: std::collections::HashMap<NodeId, usize> =
            nodes.iter().enumerate().map(|(k, &n)| (n, k)).collect();
        let pops = nodes
            .iter()
            .map(|&node| {
                let Op::Population(p) = g.op(node) else {
                    unreachable!("`populations` returns populations")
                };
                let kind = p.model.kind();
                let size = p.size as usize;
                let mut inputs = Vec::new();
                for a in g.args(node) {
                    let Op::Project(pr) = g.op(a) else { continue };
                    let source = match g.arg(a, 0) {
                        Some(s) if matches!(g.op(s), Op::Input { .. }) => Source::Input(s),
                        Some(s) => index.get(&s).map_or(Source::Other, |&k| Source::Pop(k)),
                        None => Source::Other,
                    };
                    inputs.push((source, row_l1(g, pr.weights, size)));
                }
                // A retention factor as the chip will hold it.
                let kept = |name: &str, default: f64| -> Vec<f64> {
                    let role = decays::of(kind).iter().find(|(n, _)| *n == name);
                    per_neuron(g, node, name, size, default)
                        .into_iter()
                        .map(|a| match role {
                            Some(&(_, role)) => decays::round(format, role, a as f32) as f64,
                            None => a,
                        })
                        .collect()
                };
                let (alpha_syn, alpha_mem) = match kind {
                    ModelKind::Lif | ModelKind::Li => {
                        (kept("alpha_syn", 0.0), kept("alpha_mem", 1.0))
                    }
                    ModelKind::If => (vec![0.0; size], vec![1.0; size]),
                    ModelKind::Alif | ModelKind::SigmaDelta => (vec![0.0; size], vec![0.0; size]),
                };
                let theta_name = if kind == ModelKind::Alif {
                    "b0"
                } else {
                    "threshold"
                };
                let extra = match kind {
                    ModelKind::Alif => params::max_abs(g, node, "beta"),
                    ModelKind::SigmaDelta => params::max_abs(g, node, "threshold"),
                    _ => 0.0,
                };
                let gain = per_neuron(g, node, "gain", size, 1.0);
                // The gain scales the input (legalize folds it into the
                // weights and leaves 1).
                for (_, l1) in &mut inputs {
                    for (x, k) in l1.iter_mut().zip(&gain) {
                        *x *= k.abs();
                    }
                }
                Pop {
                    node,
                    kind,
                    size,
                    inputs,
                    bias: per_neuron(g, node, "bias", size, 0.0)
                        .into_iter()
                        .map(f64::abs)
                        .collect(),
                    alpha_syn,
                    alpha_mem,
                    theta: params::max(g, node, theta_name).unwrap_or(0.0).max(0.0),
                    extra,
                    v_min: per_neuron(g, node, "v_min", size, f64::NEG_INFINITY),
                    act: params::act(g, node),
                }
            })
            .collect();
        Net { pops }
    }
}

/// `a / (1 − α)`: the steady state of `x ← α x + a` (∞ for `α ≥ 1`, unless
/// `a` is 0).
fn accumulated(a: f64, alpha: f64) -> f64 {
    if a == 0.0 {
        0.0
    } else if alpha >= 1.0 {
        f64::INFINITY
    } else {
        a / (1.0 - alpha.max(0.0))
    }
}

/// The largest `|y|` of `act(x)` for `|x| ≤ pre`.
fn activation_bound(act: Option<Act>, pre: f64) -> f64 {
    match act {
        None | Some(Act::Identity) | Some(Act::Relu) => pre,
        Some(Act::Clamp { lo, hi }) => {
            let c = |x: f64| x.max(lo as f64).min(hi as f64).abs();
            if pre.is_infinite() {
                (lo as f64).abs().max((hi as f64).abs())
            } else {
                c(-pre).max(c(pre))
            }
        }
    }
}

/// A population's bounds given what each source sends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    pub state: f64,
    pub sends: f64,
}

impl Pop {
    /// Whether what it sends depends on its input (graded senders).
    pub fn graded(&self) -> bool {
        matches!(self.kind, ModelKind::Li | ModelKind::SigmaDelta)
    }

    /// The population's bounds when source `s` sends at most `send(s)`.
    pub fn bound(&self, send: &dyn Fn(Source) -> f64) -> Bound {
        self.bound_with(send, true)
    }

    /// The bounds of a single step from rest: [`Pop::bound`] without the
    /// accumulation of currents and voltages over steps (what the range is
    /// assumed to be when nothing bounds it and there is no data).
    pub fn one_step(&self, send: &dyn Fn(Source) -> f64) -> Bound {
        self.bound_with(send, false)
    }

    fn bound_with(&self, send: &dyn Fn(Source) -> f64, accumulate: bool) -> Bound {
        let acc = |a: f64, alpha: f64| if accumulate { accumulated(a, alpha) } else { a };
        let sends: Vec<f64> = self.inputs.iter().map(|(s, _)| send(*s)).collect();
        let mut state = 0f64;
        let mut out = 0f64;
        for i in 0..self.size {
            let mut y = 0f64;
            for ((_, l1), &s) in self.inputs.iter().zip(&sends) {
                // A projection without weight on this row adds nothing,
                // however large its source.
                if l1[i] != 0.0 {
                    y += l1[i] * s;
                }
            }
            let b = self.bias[i];
            let (st, se) = match self.kind {
                ModelKind::Lif | ModelKind::If => {
                    let u = acc(y, self.alpha_syn[i]);
                    // Above, one step's drive past the threshold; below,
                    // the floor, or the leak's steady state under the
                    // largest negative drive (an integrator without a
                    // floor has none: it saturates, and the runtime counts
                    // it).
                    let below = if self.v_min[i].is_finite() {
                        self.v_min[i].abs()
                    } else {
                        acc(u + b, self.alpha_mem[i])
                    };
                    let below = if below.is_finite() { below } else { 0.0 };
                    ((u + b).max(below), 1.0)
                }
                ModelKind::Alif => (y + b, 1.0),
                ModelKind::Li => {
                    let u = acc(y, self.alpha_syn[i]);
                    let v = acc(u + b, self.alpha_mem[i]);
                    (u.max(v), v)
                }
                ModelKind::SigmaDelta => {
                    let a = activation_bound(self.act, y + b);
                    ((y + b).max(a), a + self.extra)
                }
            };
            state = state.max(st);
            out = out.max(se);
        }
        let floor = match self.kind {
            ModelKind::Alif => self.theta + self.extra,
            _ => self.theta,
        };
        Bound {
            state: state.max(floor).max(out),
            sends: out,
        }
    }
}

/// The least fixed point of the bounds: what every population sends, when
/// every input sends at most `input(node)`.
pub fn fixed_point(net: &Net, input: &dyn Fn(NodeId) -> f64) -> Vec<f64> {
    let n = net.pops.len();
    let mut s: Vec<f64> = net
        .pops
        .iter()
        .map(|p| if p.graded() { 0.0 } else { 1.0 })
        .collect();
    let eval = |s: &[f64]| -> Vec<f64> {
        let send = |src: Source| match src {
            Source::Input(node) => input(node),
            Source::Pop(k) => s[k],
            Source::Other => f64::INFINITY,
        };
        net.pops
            .iter()
            .map(|p| {
                if p.graded() {
                    p.bound(&send).sends
                } else {
                    1.0
                }
            })
            .collect()
    };
    let same = |a: f64, b: f64| a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
    // A chain of `graded` populations settles in as many iterations; only
    // after that can the iteration be growing through a cycle.
    let graded = net.pops.iter().filter(|p| p.graded()).count();
    for _ in 0..n.max(1) {
        let mut converged = false;
        for k in 0..MAX_ITERATIONS {
            let next = eval(&s);
            if next.iter().zip(&s).all(|(&a, &b)| same(a, b)) {
                s = next;
                converged = true;
                break;
            }
            // A post-fixed point a little above the iterate bounds the
            // least fixed point.
            if k > graded {
                let x: Vec<f64> = next
                    .iter()
                    .zip(&net.pops)
                    .map(|(&v, p)| if p.graded() { v * POST_FIXED } else { v })
                    .collect();
                if eval(&x).iter().zip(&x).all(|(&a, &b)| a <= b) {
                    return x;
                }
            }
            s = next;
        }
        if converged {
            return s;
        }
        // What still grows has no finite bound; the rest may settle once
        // those are infinite.
        let next = eval(&s);
        for (v, nv) in s.iter_mut().zip(next) {
            if !same(*v, nv) {
                *v = f64::INFINITY;
            }
        }
    }
    s
}

/// Every population's proven bounds (∞ where there is none).
pub fn proven(net: &Net, input: &dyn Fn(NodeId) -> f64) -> Vec<Bound> {
    let s = fixed_point(net, input);
    let send = |src: Source| match src {
        Source::Input(node) => input(node),
        Source::Pop(k) => s[k],
        Source::Other => f64::INFINITY,
    };
    net.pops.iter().map(|p| p.bound(&send)).collect()
}
