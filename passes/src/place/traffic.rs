//! Spike traffic: which chunks send to which, weighted by expected rates,
//! and the traffic a placement leaves between cores and between chips.
//!
//! A spike of neuron `i` travels once to every core that holds a target of
//! `i` (axon routing as on Loihi and SENeCA), so the traffic between two
//! places is the sum of the rates of the neurons of one that have a target
//! in the other. Sources are recomputed core by core rather than stored, so
//! memory stays proportional to one core's fan-in.

use std::collections::HashMap;

use rayon::prelude::*;
use snn_ir::{Graph, NodeId, Op};

use super::chunk::{Chunk, incoming};

/// Expected spikes per step of every neuron of every population (missing:
/// one per step).
pub type Rates = HashMap<NodeId, Vec<f32>>;

pub fn rate(rates: &Rates, pop: NodeId, i: u32) -> f64 {
    rates
        .get(&pop)
        .and_then(|v| v.get(i as usize))
        .map_or(1.0, |&r| r as f64)
}

/// The chunk holding neuron `i` of `pop`.
pub struct ChunkIndex {
    by_pop: HashMap<NodeId, Vec<(u32, u32, usize)>>,
    /// Position of every neuron, for populations not in index order.
    position: HashMap<NodeId, Vec<u32>>,
}

impl ChunkIndex {
    pub fn new(chunks: &[Chunk]) -> Self {
        let mut by_pop: HashMap<NodeId, Vec<(u32, u32, usize)>> = HashMap::new();
        let mut position: HashMap<NodeId, Vec<u32>> = HashMap::new();
        for (k, c) in chunks.iter().enumerate() {
            by_pop.entry(c.pop).or_default().push((c.start, c.end, k));
            if let Some(order) = &c.order {
                position.entry(c.pop).or_insert_with(|| {
                    let mut at = vec![0u32; order.len()];
                    for (p, &i) in order.iter().enumerate() {
                        at[i as usize] = p as u32;
                    }
                    at
                });
            }
        }
        for v in by_pop.values_mut() {
            v.sort_unstable();
        }
        ChunkIndex { by_pop, position }
    }

    pub fn find(&self, pop: NodeId, i: u32) -> Option<usize> {
        let v = self.by_pop.get(&pop)?;
        let i = match self.position.get(&pop) {
            Some(at) => *at.get(i as usize)?,
            None => i,
        };
        let at = v.partition_point(|(s, _, _)| *s <= i);
        let (s, e, k) = *v.get(at.checked_sub(1)?)?;
        (s <= i && i < e).then_some(k)
    }
}

/// The distinct source neurons (population, index) of the given chunks,
/// sorted. Inputs come from the host, not from cores, and are left out.
pub fn sources(g: &Graph, chunks: &[&Chunk]) -> Vec<(NodeId, u32)> {
    let mut out: Vec<(NodeId, u32)> = Vec::new();
    for c in chunks {
        for p in incoming(g, c.pop) {
            if !matches!(g.op(p.source), Op::Population(_)) {
                continue;
            }
            let w = g.tensor(p.weights);
            let Some(values) = w.f32s() else { continue };
            match w.pattern() {
                Some(pat) => {
                    for row in c.neurons() {
                        for k in pat.row(row as usize) {
                            if values[k] != 0.0 {
                                out.push((p.source, pat.col_idx[k]));
                            }
                        }
                    }
                }
                None => {
                    let cols = w.shape()[1] as usize;
                    for row in c.neurons().map(|r| r as usize) {
                        for col in 0..cols {
                            if values[row * cols + col] != 0.0 {
                                out.push((p.source, col as u32));
                            }
                        }
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Traffic between groups of chunks: `group[k]` is chunk k's group (or
/// `None` to leave it out); returns `(a, b, rate sum)` with `a < b` for
/// every pair of groups that exchange spikes, sorted by `(a, b)`. Only the
/// chunks in a group are visited, so a few groups out of a large network
/// cost little.
pub fn group_traffic(
    g: &Graph,
    chunks: &[Chunk],
    index: &ChunkIndex,
    rates: &Rates,
    group: &[Option<usize>],
) -> Vec<(usize, usize, f64)> {
    let members: Vec<usize> = (0..chunks.len()).filter(|&k| group[k].is_some()).collect();
    let per: Vec<Vec<((usize, usize), f64)>> = members
        .par_iter()
        .map(|&to| {
            let gt = group[to].unwrap_or(usize::MAX);
            let mut acc: HashMap<usize, f64> = HashMap::new();
            for (pop, i) in sources(g, &[&chunks[to]]) {
                let Some(gf) = index.find(pop, i).and_then(|from| group[from]) else {
                    continue;
                };
                if gf != gt {
                    *acc.entry(gf).or_default() += rate(rates, pop, i);
                }
            }
            let mut v: Vec<((usize, usize), f64)> = acc
                .into_iter()
                .map(|(gf, r)| ((gf.min(gt), gf.max(gt)), r))
                .collect();
            v.sort_by_key(|p| p.0);
            v
        })
        .collect();
    let mut total: std::collections::BTreeMap<(usize, usize), f64> =
        std::collections::BTreeMap::new();
    for v in per {
        for (k, r) in v {
            *total.entry(k).or_default() += r;
        }
    }
    total.into_iter().map(|((a, b), r)| (a, b, r)).collect()
}

/// Traffic a placement leaves between different cores and different chips.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Traffic {
    /// Spike messages per step between different cores (same chip or not).
    pub inter_core: f64,
    /// Spike messages per step between different chips.
    pub inter_chip: f64,
}

/// Traffic of a placement: `place[k]` is chunk k's (chip, core).
pub fn measure(
    g: &Graph,
    chunks: &[Chunk],
    index: &ChunkIndex,
    place: &[(u32, u32)],
    rates: &Rates,
) -> Traffic {
    let mut cores: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
    for (k, p) in place.iter().enumerate() {
        cores.entry(*p).or_default().push(k);
    }
    let cores: Vec<((u32, u32), Vec<usize>)> = cores.into_iter().collect();
    cores
        .par_iter()
        .map(|(here, members)| {
            let list: Vec<&Chunk> = members.iter().map(|&k| &chunks[k]).collect();
            let mut t = Traffic::default();
            for (pop, i) in sources(g, &list) {
                let Some(from) = index.find(pop, i) else {
                    continue;
                };
                let there = place[from];
                if there != *here {
                    let r = rate(rates, pop, i);
                    t.inter_core += r;
                    if there.0 != here.0 {
                        t.inter_chip += r;
                    }
                }
            }
            t
        })
        .reduce(Traffic::default, |a, b| Traffic {
            inter_core: a.inter_core + b.inter_core,
            inter_chip: a.inter_chip + b.inter_chip,
        })
}
