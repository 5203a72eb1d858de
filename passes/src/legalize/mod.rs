//! `legalize`: restructure the network so that the chip can hold it, without
//! changing what it computes (the reference gives the same outputs before
//! and after, to float rounding), in this order:
//!
//! 1. **Models** ([`models`]). A population the chip cannot run is rewritten
//!    into one it can when the two are the same function (`lif` with no
//!    current decay and no leak is `if`), and is error E0460 otherwise,
//!    naming the model, the chip, why, and what the chip runs. Where spikes
//!    carry no value (Loihi 1), a leaky integrator may send its voltage
//!    only one-to-one, as a compartment of the neuron it feeds (E0462).
//! 2. **Adaptive neurons** ([`adaptive`]). On Loihi 1 an `alif` neuron is
//!    two compartments; their decays are checked (E0461) and counted.
//! 3. **Gains**. A population's input gain is folded into the weights of
//!    its incoming projections (row `i` scaled by `gain[i]`): chips have none.
//! 4. **One destination per axon** ([`by_delay`]). Where a neuron sends
//!    to one core with one delay (TrueNorth), projections are split so that
//!    each source reaches one delay and one core-sized block of targets in
//!    each part.
//! 5. **Copy neurons** ([`copies`]). Where a neuron has one destination
//!    (TrueNorth), neurons that feed several projections get relay copies.
//! 6. **Synapse formats** ([`formats`]). Where every synapse group has one
//!    sign and one weight exponent (Loihi), projections are split by sign
//!    and by exponent group.
//! 7. **Axon types** ([`axon_types`]). On TrueNorth each population's
//!    incoming weights are factored into four axon types per input and a
//!    weight per neuron and type; exact when the weights have that
//!    structure, otherwise the nearest factorization replaces them and the
//!    error is reported (W0462).
//!
//! Every split keeps the source, the target and the delays of the synapses
//! it moves, so the sum of the parts is the original projection.

mod adaptive;
mod axon_types;
mod by_delay;
pub(crate) mod copies;
mod formats;
pub(crate) mod models;
pub(crate) mod synapses;

use rayon::prelude::*;
use snn_ir::tensor::Values;
use snn_ir::{Const, Graph, NodeId, Op, ParamValue};

use crate::manager::{Failed, PassCx};
use synapses::{Synapses, relaid};

/// The pass: the steps above, in order. Fails (after reporting every
/// error) when a model cannot run on the chip or cannot be built there.
pub fn legalize(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    // `--approximate leak=linear` sizes a readout's leak by the largest
    // value it reached on the data (calibration, or the model's sample
    // input), else by its range.
    let bounds: std::collections::HashMap<NodeId, (f64, &'static str)> = if g
        .populations()
        .iter()
        .any(|&p| models::wants_linear_leak(g, p, cx))
    {
        crate::range::choose(g, cx)?
            .into_iter()
            .map(|c| {
                let b = match c.observed {
                    Some(o) if o.state > 0.0 => (o.state as f64, "what it reached on the data"),
                    _ => (c.range.state as f64, "its range"),
                };
                (c.node, b)
            })
            .collect()
    } else {
        Default::default()
    };
    let mut ok = true;
    for pop in g.populations() {
        ok &= models::supported(g, pop, bounds.get(&pop).copied(), cx)
            && models::values_stay_home(g, pop, cx);
    }
    ok &= adaptive::two_compartments(g, cx);
    if !ok {
        return Err(Failed);
    }
    for pop in g.populations() {
        fold_gain(g, pop, cx);
    }
    by_delay::split_by_delay(g, cx);
    copies::insert_copies(g, cx);
    formats::split_formats(g, cx);
    if !axon_types::axon_types(g, cx) {
        return Err(Failed);
    }
    Ok(())
}

/// Moves `pop`'s gain into its incoming weights.
fn fold_gain(g: &mut Graph, pop: NodeId, cx: &mut PassCx) {
    let Op::Population(p) = g.op(pop) else { return };
    let per_row: Vec<f32> = match p.model.real("gain") {
        Const::Scalar(1.0) => return,
        Const::Scalar(v) => vec![v; p.size as usize],
        Const::Tensor(t) => match g.tensor(t).f32s() {
            Some(v) => v.to_vec(),
            None => return,
        },
    };
    for proj in g.args(pop) {
        let Op::Project(pr) = *g.op(proj) else {
            continue;
        };
        let w = g.tensor(pr.weights);
        let Some(s) = Synapses::of(w) else { continue };
        let per_row = &per_row;
        let scaled: Vec<f32> = (0..s.rows)
            .into_par_iter()
            .flat_map_iter(|r| s.row(r).map(move |k| s.weights[k] * per_row[r]))
            .collect();
        let t = relaid(w, Values::F32(scaled.into()));
        let id = g.add_tensor(t);
        if let Op::Project(pr) = g.op_mut(proj) {
            pr.weights = id;
        }
    }
    if let Op::Population(p) = g.op_mut(pop) {
        // Invariant: every model has a real `gain`.
        let _ = p.model.set("gain", ParamValue::Real(Const::Scalar(1.0)));
    }
    cx.report.count("gains folded into weights", 1);
}
