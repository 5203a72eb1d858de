//! `quantize`: weights, biases, thresholds and decays into the target's
//! number formats.
//!
//! After the pass every constant a population or projection holds is a
//! value the chip represents exactly, still written as an `f32`, so the
//! reference interpreter runs the quantized graph and shows how far it is
//! from the float one. The annotations (`Graph::quant`) say how to turn the
//! floats into the chip's integers (`x / scale`; Loihi weights
//! `x / (scale · 2^(6+exp))`). What is stored follows the target's formats
//! (`Target::weights`, `Target::decays`):
//!
//! - **Integer neurons with a shared scale** (`loihi`: Loihi's weight
//!   mantissa and exponent; `truenorth`: TrueNorth's axon types). A
//!   population's weights, threshold and bias are integers in one scale, so
//!   the integer neuron crosses its threshold when the float one does.
//! - **Floating-point neurons** (`float`: SENeCA). Constants are
//!   bfloat16; weights bfloat16, or `N`-bit integers with a per-projection
//!   scale (`--weight-bits N`).
//! - **Decays** (`decays`): the nearest retention factor the decay
//!   format holds (`Fraction`: Loihi's 12-bit `d`; `Linear`: none but "no
//!   decay"; `Bf16`).
//!
//! `--weight-bits N` sets the weights' bits (sign included) within what
//! the chip stores (2 to its width; E0450 outside), and lets scales that
//! clip the largest weights compete on squared error. Without it, the
//! largest weight of a projection never saturates.
//!
//! Everything that no scale can represent (values that are not numbers,
//! parameters outside the format, tensors without values) is found before
//! anything changes (E0451, E0452, E0454); a projection whose every weight
//! rounds to zero is E0453.
//!
//! Report: per projection the format, the step of its integers, the SQNR
//! `10 · log10(Σw² / Σ(w − q)²)` and the shares of weights that became zero
//! or saturated; per population the step of its state and its largest
//! relative parameter change.

mod check;
pub(crate) mod decays;
mod float;
mod grid;
mod loihi;
pub(crate) mod params;
pub mod truenorth;

use std::collections::{HashMap, HashSet};

use snn_ir::target::{DecayFormat, WeightFormat};
use snn_ir::{Graph, NodeId, Op};

use crate::manager::{Failed, PassCx, PassDiag, Table};
use grid::{Stats, percent};
use params::Worst;

/// How a target stores weights and neuron constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Family {
    /// A weight mantissa of `bits` bits and an exponent per projection.
    Loihi {
        bits: u8,
        full_bits: u8,
        exp_min: i8,
        exp_max: i8,
    },
    /// Per-neuron weights of `bits` bits per axon type.
    AxonTypes { bits: u8 },
    /// Integer weights of `bits` bits, or bfloat16 weights.
    Float { bits: Option<u8> },
}

impl Family {
    fn of(weights: WeightFormat, user: Option<u8>) -> Family {
        match weights {
            WeightFormat::LoihiMantissa {
                max_bits,
                exp_min,
                exp_max,
                ..
            } => Family::Loihi {
                bits: user.unwrap_or(max_bits),
                full_bits: max_bits,
                exp_min,
                exp_max,
            },
            WeightFormat::AxonTypes { bits, .. } => Family::AxonTypes {
                bits: user.unwrap_or(bits),
            },
            WeightFormat::Int { bits } => Family::Float {
                bits: Some(user.unwrap_or(bits)),
            },
            WeightFormat::Bf16 => Family::Float { bits: user },
        }
    }
}

/// Populations that share projections (so they share a scale), and the
/// projections into them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Group {
    pub pops: Vec<NodeId>,
    pub projections: Vec<NodeId>,
    /// For each population, its projections (indices into `projections`).
    pub incoming: Vec<Vec<usize>>,
}

/// One row of the weight table.
pub(crate) struct WeightRow {
    pub projection: NodeId,
    pub format: String,
    pub step: String,
    pub stats: Stats,
}

/// One row of the population table.
pub(crate) struct PopRow {
    pub population: NodeId,
    pub scale: String,
    pub worst: Worst,
}

/// What the pass did and found.
#[derive(Default)]
pub(crate) struct Found {
    pub weights: Vec<WeightRow>,
    pub populations: Vec<PopRow>,
    pub errors: Vec<PassDiag>,
}

/// The pass: checks what no format can hold, then quantizes each group of
/// populations with the projections into them, and reports.
pub fn quantize(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let mut user = weight_bits(cx)?;
    // On TrueNorth a spike code (`ticks_per_step` > 1) already spent up to
    // four of the bits on levels through axon types (`spike_codes`); only
    // more bits than that narrow each type's weight.
    if matches!(cx.target.weights, WeightFormat::AxonTypes { .. })
        && g.ticks_per_step > 1
        && user.is_some_and(|b| b <= 4)
    {
        user = None;
    }
    let family = Family::of(cx.target.weights, user);
    let search = user.is_some();
    let groups = groups(g);
    if !check::check(g, &groups, family, cx) {
        return Err(Failed);
    }
    let before = decay_snapshot(g);
    let mut found = Found::default();
    for grp in &groups {
        match family {
            Family::Loihi {
                bits,
                full_bits,
                exp_min,
                exp_max,
            } => {
                let f = loihi::Format {
                    bits,
                    full_bits,
                    exp_min,
                    exp_max,
                    search,
                    decays: cx.target.decays,
                    state_bits: cx.target.state_bits,
                };
                loihi::quantize_group(g, grp, &f, &mut found);
            }
            Family::AxonTypes { bits } => {
                let f = truenorth::Format {
                    bits,
                    search,
                    state_bits: cx.target.state_bits,
                };
                truenorth::quantize_group(g, grp, &f, &mut found);
            }
            Family::Float { bits } => {
                let f = float::Format {
                    bits,
                    search,
                    decays: cx.target.decays,
                };
                float::quantize_group(g, grp, &f, &mut found);
            }
        }
    }
    report(g, &found, cx);
    for d in vanished_decays(g, &before, cx.target.name) {
        cx.warn(d);
    }
    let failed = !found.errors.is_empty();
    for e in found.errors {
        cx.error(e);
    }
    if failed { Err(Failed) } else { Ok(()) }
}

/// Every retention factor of every population, per neuron, before
/// quantization.
type Snapshot = Vec<(NodeId, &'static str, Vec<f32>)>;

fn decay_snapshot(g: &Graph) -> Snapshot {
    let mut out = Vec::new();
    for pop in g.populations() {
        let Op::Population(p) = g.op(pop) else {
            continue;
        };
        let n = g.shape(pop).len() as usize;
        for &(name, _) in decays::of(p.model.kind()) {
            let v = match params::values(g, pop, name) {
                Some(params::Values::Scalar(x)) => vec![x],
                Some(params::Values::PerNeuron(v)) if v.len() == n => v.to_vec(),
                _ => continue,
            };
            out.push((pop, name, v));
        }
    }
    out
}

/// W0455 for each retention factor below 1 that quantization made exactly
/// 1: that state no longer decays on the chip (a time constant longer
/// than the decay format resolves, e.g. τ beyond a few hundred steps in
/// bfloat16, where a state's change per step falls below half its step).
fn vanished_decays(g: &Graph, before: &Snapshot, chip: &str) -> Vec<PassDiag> {
    let mut out = Vec::new();
    for (pop, name, old) in before {
        let new: Vec<f32> = match params::values(g, *pop, name) {
            Some(params::Values::Scalar(x)) => vec![x],
            Some(params::Values::PerNeuron(v)) => v.to_vec(),
            _ => continue,
        };
        let lost: Vec<usize> = (0..old.len().min(new.len()))
            .filter(|&i| old[i] < 1.0 && old[i] > 0.0 && new[i] == 1.0)
            .collect();
        let Some(&i) = lost.iter().max_by(|&&a, &&b| old[a].total_cmp(&old[b])) else {
            continue;
        };
        let tau = -1.0 / (old[i] as f64).ln();
        let which = if old.len() == 1 {
            String::new()
        } else {
            format!(" of {} neurons", lost.len())
        };
        out.push(
            PassDiag::warning(
                "W0455",
                format!(
                    "`{name}`{which} of {} ({}, a time constant of {tau:.0} steps) rounds to 1 on {chip}: that state will not decay",
                    g.label(*pop),
                    old[i]
                ),
            )
            .at(g.span(*pop), "this population's decay is lost")
            .help("use a shorter time constant, or a chip whose decays resolve it (Loihi keeps 12 bits of 1 − α)"),
        );
    }
    out
}

/// The weight width the user asked for, checked against the target.
fn weight_bits(cx: &mut PassCx) -> Result<Option<u8>, Failed> {
    let Some(b) = cx.options.weight_bits else {
        return Ok(None);
    };
    let max = match cx.target.weights {
        WeightFormat::LoihiMantissa { max_bits, .. } => max_bits,
        WeightFormat::AxonTypes { bits, .. } => bits,
        WeightFormat::Int { bits } => bits,
        // Integer weights are dequantized to bfloat16, which holds 8
        // significant bits.
        WeightFormat::Bf16 => 8,
    };
    if (2..=max).contains(&b) {
        return Ok(Some(b));
    }
    let why = if b < 2 {
        "a signed weight needs at least 2 bits, one of them the sign".to_string()
    } else {
        format!("{} weights have at most {max} bits", cx.target.name)
    };
    cx.error(
        PassDiag::error("E0450", format!("--weight-bits {b}: {why}"))
            .help(format!("choose 2 to {max} bits")),
    );
    Err(Failed)
}

/// Populations joined by the projections they share, each with the
/// projections into it, in id order.
fn groups(g: &Graph) -> Vec<Group> {
    let pops = g.populations();
    let mut parent: Vec<usize> = (0..pops.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut incoming: Vec<Vec<NodeId>> = vec![Vec::new(); pops.len()];
    let mut first_reader: HashMap<NodeId, usize> = HashMap::new();
    for (i, &pop) in pops.iter().enumerate() {
        let mut seen = HashSet::new();
        for a in g.args(pop) {
            if !matches!(g.op(a), Op::Project(_)) || !seen.insert(a) {
                continue;
            }
            incoming[i].push(a);
            if let Some(&j) = first_reader.get(&a) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            } else {
                first_reader.insert(a, i);
            }
        }
    }
    let mut out: Vec<Group> = Vec::new();
    let mut slot: Vec<Option<usize>> = vec![None; pops.len()];
    let mut index: HashMap<NodeId, usize> = HashMap::new();
    for (i, &pop) in pops.iter().enumerate() {
        let r = root(&mut parent, i);
        let k = *slot[r].get_or_insert_with(|| {
            out.push(Group::default());
            out.len() - 1
        });
        let grp = &mut out[k];
        let mut mine = Vec::with_capacity(incoming[i].len());
        for &p in &incoming[i] {
            let at = *index.entry(p).or_insert_with(|| {
                grp.projections.push(p);
                grp.projections.len() - 1
            });
            mine.push(at);
        }
        grp.pops.push(pop);
        grp.incoming.push(mine);
    }
    out
}

/// Each retention factor of `pop` in `format`.
pub(crate) fn round_decays(g: &mut Graph, pop: NodeId, format: DecayFormat, worst: &mut Worst) {
    let Op::Population(p) = g.op(pop) else { return };
    for &(name, role) in decays::of(p.model.kind()) {
        params::map(g, pop, name, worst, |a| decays::round(format, role, a));
    }
}

fn report(g: &Graph, found: &Found, cx: &mut PassCx) {
    let mut weights = Table::new(
        "quantized weights",
        &[
            "projection",
            "format",
            "step",
            "SQNR",
            "zeroed",
            "saturated",
        ],
    );
    let mut total = Stats::default();
    for r in &found.weights {
        total = total.merge(r.stats);
        weights.row(vec![
            g.label(r.projection),
            r.format.clone(),
            r.step.clone(),
            r.stats.sqnr(),
            percent(r.stats.zeroed, r.stats.count),
            percent(r.stats.saturated, r.stats.count),
        ]);
    }
    cx.report.count("weights quantized", total.count);
    cx.report.count("weights zeroed", total.zeroed);
    cx.report.count("weights saturated", total.saturated);
    let mut pops = Table::new(
        "quantized neuron constants",
        &["population", "state step", "largest change"],
    );
    for r in &found.populations {
        pops.row(vec![
            g.label(r.population),
            r.scale.clone(),
            r.worst.describe(),
        ]);
    }
    cx.report
        .count("populations quantized", found.populations.len() as u64);
    if !weights.rows.is_empty() {
        cx.report.tables.push(weights);
    }
    if !pops.rows.is_empty() {
        cx.report.tables.push(pops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_ir::tensor::{Origin, Tensor};
    use snn_ir::{Delay, Duration, Model, ModelKind, Population, Projection};

    fn pop(g: &mut Graph, args: &[NodeId]) -> NodeId {
        let model = Model::new(ModelKind::If, []).unwrap();
        g.add(Op::Population(Population { size: 2, model }), args)
    }

    fn proj(g: &mut Graph, src: NodeId) -> NodeId {
        let w = Tensor::from_f32(vec![2, 2], vec![1.0; 4], Origin::Literal).unwrap();
        let weights = g.add_tensor(w);
        g.add(
            Op::Project(Projection {
                weights,
                delay: Delay::Const(0),
            }),
            &[src],
        )
    }

    /// `a` and `b` read one projection, so they share a scale; `c` reads
    /// its own.
    #[test]
    fn populations_reading_one_projection_form_one_group() {
        let mut g = Graph::new(Duration::from_ps(1_000_000_000));
        let x = g.add(
            Op::Input {
                name: "x".into(),
                size: 2,
            },
            &[],
        );
        let shared = proj(&mut g, x);
        let own = proj(&mut g, x);
        let other = proj(&mut g, x);
        let a = pop(&mut g, &[shared, own]);
        let c = pop(&mut g, &[other]);
        let b = pop(&mut g, &[shared]);
        let groups = groups(&g);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].pops, vec![a, b]);
        assert_eq!(groups[0].projections, vec![shared, own]);
        assert_eq!(groups[0].incoming, vec![vec![0, 1], vec![0]]);
        assert_eq!(groups[1].pops, vec![c]);
        assert_eq!(groups[1].projections, vec![other]);
    }
}
