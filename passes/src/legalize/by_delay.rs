//! One delay per axon, for chips whose delays belong to the sender
//! (TrueNorth: a neuron sends every spike to one axon with one delay).
//!
//! A projection in which some source has synapses of several delays is
//! split into one projection per delay: part `P@d` holds every synapse of
//! `P` whose delay lands on `d` once clipped into the chip's range (the
//! `delays` pass clips, and counts, afterwards; synapses that clip to the
//! same delay share a part). Each part has one delay per source, so
//!
//! - a host input reaches each part through its own axons (the host sends
//!   a spike to any number of axons), and
//! - a neuron feeds several projections, and [`super::copies`] gives it one
//!   relay copy per part, each sending with that part's delay.
//!
//! The parts keep the source, the targets, the weights and the delays, so
//! their sum is the original projection: the float model is unchanged.

use std::collections::BTreeMap;

use snn_ir::{Delay, Graph, Op, Projection};

use super::synapses::{Delays, Synapses, derived_name, projections, split};
use crate::manager::{PassCx, Table};

/// Splits projections whose sources have several delays, where the target
/// has one delay per source neuron.
pub(super) fn split_by_delay(g: &mut Graph, cx: &mut PassCx) {
    let fmt = cx.target.delays;
    if fmt.per_synapse {
        return;
    }
    let clip = |d: i32| d.clamp(fmt.min as i32, fmt.max as i32);
    let mut table = Table::new(
        "projections split by delay (one delay per axon)",
        &["projection", "sources with several delays", "parts"],
    );
    for (node, readers) in projections(g) {
        let Op::Project(pr) = *g.op(node) else {
            continue;
        };
        if !matches!(pr.delay, Delay::PerSynapse(_)) {
            continue;
        }
        let w = g.tensor(pr.weights).clone();
        let (Some(s), Some(d)) = (Synapses::of(&w), Delays::of(g, pr.delay)) else {
            continue;
        };
        // Per source: its first clipped delay, and whether it has another.
        let mut first = vec![i32::MIN; s.cols];
        let mut several = vec![false; s.cols];
        let mut classes = BTreeMap::new();
        for r in 0..s.rows {
            for k in s.row(r) {
                if s.weights[k] == 0.0 {
                    continue;
                }
                let (c, delay) = (s.col(r, k) as usize, clip(d.get(k)));
                classes.insert(delay, 0usize);
                if first[c] == i32::MIN {
                    first[c] = delay;
                } else if first[c] != delay {
                    several[c] = true;
                }
            }
        }
        let mixed = several.iter().filter(|&&x| x).count();
        if mixed == 0 {
            continue;
        }
        for (i, part) in classes.values_mut().enumerate() {
            *part = i;
        }
        let cols = vec![s.cols as u32; classes.len()];
        let parts = split(&s, d, &cols, true, |_, c, w, delay| {
            (w != 0.0).then(|| (classes[&clip(delay)], c, delay))
        });
        let Some(src) = g.arg(node, 0) else { continue };
        let label = g.label(node);
        let keys: Vec<i32> = classes.keys().copied().collect();
        let mut count = 0usize;
        for (part, key) in parts.into_iter().zip(&keys) {
            if part.synapses() == 0 {
                continue;
            }
            let (wt, dt) = part.into_tensors(*key as u32);
            let weights = g.add_tensor(wt);
            let delay = dt.add_to(g);
            if count == 0 {
                if let Op::Project(x) = g.op_mut(node) {
                    x.weights = weights;
                    x.delay = delay;
                }
            } else {
                let q = g.add(Op::Project(Projection { weights, delay }), &[src]);
                g.set_name(q, derived_name(g, node, &format!("@{key}")));
                if let Some(sp) = g.span(node) {
                    g.set_span(q, sp);
                }
                for &r in &readers {
                    g.push_arg(r, q);
                }
            }
            count += 1;
        }
        // The first part keeps the projection; name it for its delay too.
        let name = derived_name(g, node, &format!("@{}", keys[0]));
        g.set_name(node, name);
        cx.report.count("projections split by delay", 1);
        cx.report
            .count("parts of projections split by delay", count as u64);
        table.row(vec![label, mixed.to_string(), count.to_string()]);
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
}
