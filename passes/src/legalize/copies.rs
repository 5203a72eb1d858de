//! Copy ("splitter") neurons for chips where a neuron sends its spikes to
//! exactly one place (TrueNorth: one core, axon and delay per neuron).
//!
//! A neuron of a spiking population that has synapses in more than one
//! projection gets one copy per such projection. The neuron itself then
//! drives only its copies (one destination: the copies' axon), and each
//! copy drives the synapses of one projection. A copy is an `if` neuron
//! with threshold 0.5 fed by weight 1: it spikes exactly when its neuron
//! did, `h` steps later, and never keeps charge, so the float model is
//! unchanged when the synapses behind it are `h` steps shorter:
//!
//! - `h = 1` (the relay takes the tick a hop costs on the chip) when every
//!   synapse of the neuron is delayed by at least one step; those
//!   synapses lose one step of delay, and the path keeps its length;
//! - `h = 0` otherwise: the float model relays within the step, and on the
//!   chip, where every hop takes at least a tick, these synapses arrive a
//!   tick late. So do synapses of delay 1 behind an `h = 1` copy (their
//!   remaining delay, 0, becomes one tick). Both are counted in the report.
//!
//! Copies with `h = 0` form the population `P.copy`, those with `h = 1`
//! `P.copy+1` (a neuron's copies are all in one), fed by `P->P.copy` and
//! `P->P.copy+1`. A projection whose neurons all have copies is rewired to
//! read the copies; otherwise it keeps the other neurons' synapses and the
//! copied ones move to new projections `Q(copy)`, `Q(copy+1)`.
//! Inputs come from the host, which can send a spike to any number of
//! axons, and get no copies.

use std::sync::Arc;

use snn_ir::tensor::{Origin, SparsePattern, Tensor, Values};
use snn_ir::{
    Const, Delay, Graph, Model, ModelKind, NodeId, Op, ParamValue, Population, Projection,
};

use super::synapses::{Delays, Synapses, derived_name, fold_blocks, projections, split};
use crate::manager::{PassCx, Table};

/// What one projection out of a population uses of each source neuron.
struct Use {
    node: NodeId,
    readers: Vec<NodeId>,
    /// Synapses per source neuron.
    synapses: Vec<u32>,
    /// Synapses of delay exactly 1 per source neuron.
    delay_one: Vec<u32>,
    /// Smallest delay per source neuron (`i32::MAX`: none).
    min_delay: Vec<i32>,
}

fn uses(g: &Graph, node: NodeId, readers: Vec<NodeId>, n: usize) -> Option<Use> {
    let Op::Project(pr) = *g.op(node) else {
        return None;
    };
    let s = Synapses::of(g.tensor(pr.weights))?;
    let d = Delays::of(g, pr.delay)?;
    // Per source neuron, from row blocks in parallel (integer sums and
    // minima: any order gives the same).
    let zero = || (vec![0u32; n], vec![0u32; n], vec![i32::MAX; n]);
    let (synapses, delay_one, min_delay) = fold_blocks(
        &s,
        zero,
        |(syn, one, min), rows| {
            for r in rows {
                for k in s.row(r) {
                    if s.weights[k] != 0.0 {
                        let c = s.col(r, k) as usize;
                        let delay = d.get(k);
                        syn[c] += 1;
                        one[c] += u32::from(delay == 1);
                        min[c] = min[c].min(delay);
                    }
                }
            }
        },
        |mut a, b| {
            for j in 0..n {
                a.0[j] += b.0[j];
                a.1[j] += b.1[j];
                a.2[j] = a.2[j].min(b.2[j]);
            }
            a
        },
    );
    Some(Use {
        node,
        readers,
        synapses,
        delay_one,
        min_delay,
    })
}

/// The relay population: `if` neurons that repeat a spike of weight 1.
pub(crate) fn relay(size: u32) -> Population {
    let model = Model::new(
        ModelKind::If,
        [(
            "threshold".to_string(),
            ParamValue::Real(Const::Scalar(0.5)),
        )],
    );
    // Invariant: `if` takes a real threshold and defaults everything else.
    Population {
        size,
        model: model.expect("an `if` model with a threshold"),
    }
}

/// Inserts copy neurons where the target gives a neuron one destination.
pub(super) fn insert_copies(g: &mut Graph, cx: &mut PassCx) {
    if !cx.target.single_destination {
        return;
    }
    let mut table = Table::new(
        "copy neurons (one destination per neuron)",
        &[
            "population",
            "neurons with several destinations",
            "copy neurons",
            "synapses one step shorter",
            "synapses a tick late on the chip",
        ],
    );
    let all = projections(g);
    for pop in g.populations() {
        let Op::Population(p) = g.op(pop) else {
            continue;
        };
        if !p.model.kind().is_spiking() {
            continue;
        }
        let n = p.size as usize;
        let outs: Vec<Use> = all
            .iter()
            .filter(|(q, _)| g.arg(*q, 0) == Some(pop))
            .filter_map(|(q, readers)| uses(g, *q, readers.clone(), n))
            .collect();
        if outs.len() < 2 {
            continue;
        }
        // Destinations, relay delay and copy numbers of every neuron.
        let dests: Vec<usize> = (0..n)
            .map(|j| outs.iter().filter(|u| u.synapses[j] > 0).count())
            .collect();
        let h: Vec<i32> = (0..n)
            .map(|j| {
                let min = outs.iter().map(|u| u.min_delay[j]).min().unwrap_or(0);
                i32::from(min >= 1)
            })
            .collect();
        let fanning = dests.iter().filter(|&&m| m >= 2).count();
        if fanning == 0 {
            continue;
        }
        // copy[k][j]: index of neuron j's copy for projection k in its
        // relay population (`h[j]`).
        let mut size = [0u32; 2];
        let mut copy = vec![vec![u32::MAX; n]; outs.len()];
        let mut source_of: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        // Neuron by neuron, so that one neuron's copies are consecutive:
        // they are its one destination and must share a core (the placer
        // cuts the relay population between neurons, `cut_points`).
        for j in 0..n {
            for (k, u) in outs.iter().enumerate() {
                if dests[j] >= 2 && u.synapses[j] > 0 {
                    let rel = h[j] as usize;
                    copy[k][j] = size[rel];
                    size[rel] += 1;
                    source_of[rel].push(j as u32);
                }
            }
        }
        let (mut shorter, mut late) = (0u64, 0u64);
        for u in &outs {
            for j in 0..n {
                if dests[j] >= 2 {
                    let syn = u.synapses[j] as u64;
                    if h[j] == 1 {
                        shorter += syn;
                        late += u.delay_one[j] as u64;
                    } else {
                        late += syn;
                    }
                }
            }
        }
        // The relay populations and their input projections.
        let base = g
            .name(pop)
            .map(str::to_string)
            .unwrap_or_else(|| g.label(pop));
        let span = g.span(pop);
        let mut relays: [Option<NodeId>; 2] = [None, None];
        for rel in 0..2 {
            if size[rel] == 0 {
                continue;
            }
            let suffix = if rel == 0 { ".copy" } else { ".copy+1" };
            let s = g.add(Op::Population(relay(size[rel])), &[]);
            let rows = size[rel];
            let pattern = Arc::new(SparsePattern {
                rows,
                cols: n as u32,
                row_ptr: (0..=rows as u64).collect(),
                col_idx: std::mem::take(&mut source_of[rel]),
            });
            // Invariant: one weight per row, by construction.
            let w = Tensor::sparse(
                pattern,
                Values::F32(vec![1.0f32; rows as usize].into()),
                Origin::Derived,
            )
            .expect("one weight per copy");
            let weights = g.add_tensor(w);
            let c = g.add(
                Op::Project(Projection {
                    weights,
                    delay: Delay::Const(rel as u32),
                }),
                &[pop],
            );
            g.push_arg(s, c);
            g.set_name(s, format!("{base}{suffix}"));
            g.set_name(c, format!("{base}->{base}{suffix}"));
            if let Some(sp) = span {
                g.set_span(s, sp);
                g.set_span(c, sp);
            }
            relays[rel] = Some(s);
        }
        // Every projection: direct synapses, synapses behind `h = 0`
        // copies, synapses behind `h = 1` copies.
        for (k, u) in outs.iter().enumerate() {
            let Op::Project(pr) = *g.op(u.node) else {
                continue;
            };
            let w = g.tensor(pr.weights).clone();
            let (Some(s), Some(d)) = (Synapses::of(&w), Delays::of(g, pr.delay)) else {
                continue;
            };
            if (0..n).all(|j| dests[j] < 2 || u.synapses[j] == 0) {
                continue;
            }
            let cols = [n as u32, size[0], size[1]];
            // A constant delay stays constant in every part (`h` is 1 in
            // the third part only when the delay is at least 1).
            let per = matches!(d, Delays::Per(_));
            let parts = split(&s, d, &cols, per, |_, c, w, delay| {
                let c = c as usize;
                if w == 0.0 {
                    None
                } else if dests[c] < 2 {
                    Some((0, c as u32, delay))
                } else {
                    let rel = h[c] as usize;
                    Some((1 + rel, copy[k][c], delay - h[c]))
                }
            });
            let empty = match pr.delay {
                Delay::Const(c) => c,
                Delay::PerSynapse(_) => 0,
            };
            let mut first = true;
            for (i, part) in parts.into_iter().enumerate() {
                if part.synapses() == 0 {
                    continue;
                }
                let src = if i == 0 { Some(pop) } else { relays[i - 1] };
                let Some(src) = src else { continue };
                let (wt, dt) = part.into_tensors(if i == 2 {
                    empty.saturating_sub(1)
                } else {
                    empty
                });
                let weights = g.add_tensor(wt);
                let delay = dt.add_to(g);
                if first {
                    first = false;
                    if let Op::Project(x) = g.op_mut(u.node) {
                        x.weights = weights;
                        x.delay = delay;
                    }
                    if src != pop {
                        g.set_arg(u.node, 0, src);
                    }
                } else {
                    let q = g.add(Op::Project(Projection { weights, delay }), &[src]);
                    let suffix = if i == 1 { "(copy)" } else { "(copy+1)" };
                    let name = derived_name(g, u.node, suffix);
                    g.set_name(q, name);
                    if let Some(sp) = g.span(u.node) {
                        g.set_span(q, sp);
                    }
                    for &r in &u.readers {
                        g.push_arg(r, q);
                    }
                }
            }
        }
        let copies = (size[0] + size[1]) as u64;
        cx.report.count("copy neurons", copies);
        cx.report
            .count("synapses a tick late on the chip through copies", late);
        table.row(vec![
            g.label(pop),
            fanning.to_string(),
            copies.to_string(),
            shorter.to_string(),
            late.to_string(),
        ]);
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
}
