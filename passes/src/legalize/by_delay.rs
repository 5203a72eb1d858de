//! One destination per axon, for chips whose neurons send every spike to
//! one place with one delay (TrueNorth: one core, one axon, one delay per
//! neuron).
//!
//! A projection is split into parts `P@d#b` so that each source reaches
//! one delay and one block of targets in each part:
//!
//! - **delay** `d`: the synapses whose delay lands on `d` once clipped into
//!   the chip's range (the `delays` pass clips, and counts, afterwards;
//!   synapses that clip to the same delay share a part);
//! - **block** `b`: where the target population needs more than one core,
//!   its neurons are grouped in order into blocks one core can hold (its
//!   neurons, and its input axons counted as one per source neuron and
//!   delay, which is never fewer than the placer counts), and a neuron's
//!   synapses into different blocks go to different parts. Inputs come
//!   from the host, which sends to any number of cores, and are split by
//!   delay only.
//!
//! A host input then reaches each part through its own axons, and a neuron
//! in several parts gets one relay copy per part from [`super::copies`],
//! each sending with that part's delay to that block's core; the placer
//! keeps a source's targets in one chunk (`place::chunk::cut_points`).
//! The parts keep the source, the targets, the weights and the delays, so
//! their sum is the original projection: the float model is unchanged.

use std::collections::{BTreeMap, HashSet};

use snn_ir::{Graph, NodeId, Op, Projection};

use super::synapses::{Delays, Synapses, derived_name, split};
use crate::manager::{PassCx, Table};

/// A part's key: the clipped delay and the target block.
type Key = (i32, u32);

/// A projection to split: its index among the target's incoming ones, its
/// parts by key (key → part index), and how many sources it splits.
type Plan = (usize, BTreeMap<Key, usize>, usize);

/// One incoming projection of a target population, read once.
struct In<'g> {
    node: NodeId,
    src: NodeId,
    /// Whether the source is a population (else a host input).
    neuron: bool,
    s: Synapses<'g>,
    d: Delays<'g>,
}

/// Splits projections so that each source has one delay and one block of
/// targets per part, where the target gives a neuron one destination (or
/// one delay).
pub(super) fn split_by_delay(g: &mut Graph, cx: &mut PassCx) {
    let fmt = cx.target.delays;
    let one_destination = cx.target.single_destination;
    if fmt.per_synapse && !one_destination {
        return;
    }
    let clip = |d: i32| d.clamp(fmt.min as i32, fmt.max as i32);
    let mut table = Table::new(
        "projections split by delay and target block (one destination per axon)",
        &[
            "projection",
            "sources with several destinations",
            "parts",
            "target blocks",
        ],
    );
    for pop in g.populations() {
        let graph: &Graph = g;
        let ins: Vec<In> = graph
            .args(pop)
            .into_iter()
            .filter_map(|node| {
                let Op::Project(pr) = *graph.op(node) else {
                    return None;
                };
                let src = graph.arg(node, 0)?;
                let s = Synapses::of(graph.tensor(pr.weights))?;
                let d = Delays::of(graph, pr.delay)?;
                let neuron = matches!(graph.op(src), Op::Population(_));
                Some(In {
                    node,
                    src,
                    neuron,
                    s,
                    d,
                })
            })
            .collect();
        if ins.is_empty() {
            continue;
        }
        let rows = ins[0].s.rows;
        // Blocks of targets one core holds (only where a neuron has one
        // destination): `block[r]` for target row r.
        let block: Vec<u32> = if one_destination {
            blocks(
                &ins,
                rows,
                &clip,
                cx.target.core_neurons,
                cx.target.core_axons,
            )
        } else {
            vec![0; rows]
        };
        let nblocks = block.last().map_or(1, |&b| b as usize + 1);
        // Each projection's parts: (clipped delay, block) → part index.
        let mut plans: Vec<Plan> = Vec::new();
        for (i, p) in ins.iter().enumerate() {
            let by_block = p.neuron && nblocks > 1;
            let key = |r: usize, k: usize| {
                let b = if by_block { block[r] } else { 0 };
                (clip(p.d.get(k)), b)
            };
            let mut first: Vec<Option<Key>> = vec![None; p.s.cols];
            let mut several = vec![false; p.s.cols];
            let mut keys = BTreeMap::new();
            for r in 0..p.s.rows {
                for k in p.s.row(r) {
                    if p.s.weights[k] == 0.0 {
                        continue;
                    }
                    let (c, x) = (p.s.col(r, k) as usize, key(r, k));
                    keys.insert(x, 0usize);
                    match first[c] {
                        None => first[c] = Some(x),
                        Some(f) if f != x => several[c] = true,
                        Some(_) => {}
                    }
                }
            }
            let mixed = several.iter().filter(|&&x| x).count();
            if mixed == 0 {
                continue;
            }
            for (j, part) in keys.values_mut().enumerate() {
                *part = j;
            }
            plans.push((i, keys, mixed));
        }
        // Apply (reading the plans' tensors before the graph changes).
        let parts: Vec<_> = plans
            .iter()
            .map(|(i, keys, _)| {
                let p = &ins[*i];
                let by_block = p.neuron && nblocks > 1;
                let cols = vec![p.s.cols as u32; keys.len()];
                let block = &block;
                split(&p.s, p.d, &cols, true, |r, c, w, delay| {
                    let b = if by_block { block[r] } else { 0 };
                    (w != 0.0).then(|| (keys[&(clip(delay), b)], c, delay))
                })
            })
            .collect();
        let readers_of = |g: &Graph, n: NodeId| -> Vec<NodeId> {
            let mut v: Vec<NodeId> = g.users(n).into_iter().map(|(u, _)| u).collect();
            v.dedup();
            v
        };
        let targets: Vec<(NodeId, NodeId)> = plans
            .iter()
            .map(|(i, ..)| (ins[*i].node, ins[*i].src))
            .collect();
        drop(ins);
        for (((node, src), (_, keys, mixed)), parts) in targets.into_iter().zip(&plans).zip(parts) {
            let readers = readers_of(g, node);
            let label = g.label(node);
            let several_delays = keys.keys().map(|k| k.0).collect::<HashSet<_>>().len() > 1;
            let several_blocks = keys.keys().map(|k| k.1).collect::<HashSet<_>>().len() > 1;
            let suffix = |(d, b): Key| {
                let mut s = String::new();
                if several_delays {
                    s.push_str(&format!("@{d}"));
                }
                if several_blocks {
                    s.push_str(&format!("#{b}"));
                }
                s
            };
            let keys: Vec<Key> = keys.keys().copied().collect();
            let mut count = 0usize;
            for (part, key) in parts.into_iter().zip(&keys) {
                if part.synapses() == 0 {
                    continue;
                }
                let (wt, dt) = part.into_tensors(key.0 as u32);
                let weights = g.add_tensor(wt);
                let delay = dt.add_to(g);
                if count == 0 {
                    if let Op::Project(x) = g.op_mut(node) {
                        x.weights = weights;
                        x.delay = delay;
                    }
                } else {
                    let q = g.add(Op::Project(Projection { weights, delay }), &[src]);
                    g.set_name(q, derived_name(g, node, &suffix(*key)));
                    if let Some(sp) = g.span(node) {
                        g.set_span(q, sp);
                    }
                    for &r in &readers {
                        g.push_arg(r, q);
                    }
                }
                count += 1;
            }
            // The first part keeps the node; its name says which it is.
            let name = derived_name(g, node, &suffix(keys[0]));
            g.set_name(node, name);
            cx.report
                .count("projections split by delay or target block", 1);
            cx.report.count("parts of split projections", count as u64);
            table.row(vec![
                label,
                mixed.to_string(),
                count.to_string(),
                nblocks.to_string(),
            ]);
        }
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
}

/// Groups `rows` target neurons in order into blocks of at most `neurons`
/// whose sources need at most `axons` input axons, one per (source node,
/// source neuron, clipped delay): a block per core. A neuron whose own
/// inputs need more than `axons` gets a block alone (the placer then says
/// it does not fit).
fn blocks(
    ins: &[In],
    rows: usize,
    clip: &impl Fn(i32) -> i32,
    neurons: u32,
    axons: u32,
) -> Vec<u32> {
    let mut block = vec![0u32; rows];
    let mut seen: HashSet<(NodeId, u32, i32)> = HashSet::new();
    let (mut b, mut size) = (0u32, 0u32);
    let mut row_keys: Vec<(NodeId, u32, i32)> = Vec::new();
    for (r, slot) in block.iter_mut().enumerate() {
        row_keys.clear();
        for p in ins {
            if r >= p.s.rows {
                continue;
            }
            for k in p.s.row(r) {
                if p.s.weights[k] != 0.0 {
                    row_keys.push((p.src, p.s.col(r, k), clip(p.d.get(k))));
                }
            }
        }
        let new = row_keys
            .iter()
            .filter(|k| !seen.contains(k))
            .collect::<HashSet<_>>()
            .len();
        if size > 0 && (size + 1 > neurons || seen.len() + new > axons as usize) {
            b += 1;
            size = 0;
            seen.clear();
        }
        seen.extend(row_keys.iter().copied());
        size += 1;
        *slot = b;
    }
    block
}
