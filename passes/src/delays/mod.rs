//! `delays`: synaptic delays into the chip's range, pruned on request.
//!
//! 1. **Range.** Delays are whole steps already (the language only takes
//!    exact multiples of the time step), so quantizing them is clipping into
//!    the target's `[min, max]`: warning W0471 counts the shortened ones,
//!    W0472 the lengthened ones (TrueNorth's shortest delay is one tick).
//!    On Loihi the dendritic ring buffer takes `2^delay_bits` slots and
//!    `compartments × 2^delay_bits ≤ 8192` per core; `--delay-bits` fixes the
//!    bits (delays are then clipped to `2^bits − 1` as well), otherwise
//!    they are the fewest that hold the longest delay left after pruning,
//!    and the report gives the compartments per core that leaves.
//! 2. **Prune** (`--prune MODE:K`, METHODS 5), see [`prune`].
//! 3. **One delay per neuron.** Where delays are per source neuron
//!    (TrueNorth), a source neuron whose synapses in one projection have
//!    different delays is error E0470 (`--prune axonal:1` resolves it); a
//!    guard, as `legalize` splits such projections by delay first.
//! 4. **Report**, per projection: synapses, distinct delays and delay
//!    memory before and after: delay fields ([`field_bytes`]) and each
//!    target population's buffer of pending input ([`buffer_bytes`]).

mod prune;

use std::collections::BTreeMap;

use rayon::prelude::*;
use snn_ir::tensor::Values;
use snn_ir::{Delay, Graph, NodeId, Op, Tensor};

use crate::legalize::synapses::{Delays, Synapses, fold_blocks, relaid, split};
use crate::manager::{Failed, PassCx, PassDiag, Table};

/// A projection's delays while the pass works on them.
pub(crate) enum Del {
    Const(u32),
    /// Laid out like the weights.
    Per(Vec<i32>),
}

/// One projection as the pass sees it.
pub(crate) struct Proj {
    pub node: NodeId,
    pub src: NodeId,
    /// The population it feeds (the projection itself if none).
    pub dst: NodeId,
    pub neurons: u32,
    pub w: Tensor,
    pub delays: Del,
    /// Synapses removed by pruning (allocated on first removal).
    pub removed: Option<Vec<bool>>,
    pub changed: bool,
}

impl Proj {
    pub fn synapses(&self) -> Synapses<'_> {
        // Invariant: only projections with readable weights are collected.
        Synapses::of(&self.w).expect("weights with values")
    }

    pub fn delays(&self) -> Delays<'_> {
        match &self.delays {
            Del::Const(c) => Delays::Const(*c),
            Del::Per(v) => Delays::Per(v),
        }
    }

    /// Whether stored entry `k` is a synapse: a nonzero weight not pruned.
    #[inline]
    pub fn live(&self, s: &Synapses, k: usize) -> bool {
        s.weights[k] != 0.0 && !self.removed.as_ref().is_some_and(|r| r[k])
    }

    /// Per-synapse delays, materialized from a constant if need be.
    pub fn per(&mut self) -> &mut Vec<i32> {
        if let Del::Const(c) = self.delays {
            self.delays = Del::Per(vec![c as i32; self.w.stored() as usize]);
        }
        match &mut self.delays {
            Del::Per(v) => v,
            // Invariant: made per-synapse just above.
            Del::Const(_) => unreachable!("materialized above"),
        }
    }
}

/// What the report says about one projection's delays.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Summary {
    synapses: u64,
    /// Source neurons with at least one synapse.
    sources: u64,
    distinct: u64,
    max: u32,
}

/// The summary of `p`; source neurons are counted only if `sources`.
fn summary(p: &Proj, sources: bool) -> Summary {
    let s = p.synapses();
    let d = p.delays();
    // Delays fit a bitmap after clipping; before, a wide range is counted
    // by sorting.
    let max = s
        .blocks()
        .into_par_iter()
        .map(|rows| {
            let span = s.span(&rows);
            span.filter(|&k| p.live(&s, k))
                .map(|k| d.get(k).max(0) as u32)
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    let (synapses, distinct) = if max < 1 << 20 {
        let words = max as usize / 64 + 1;
        let (n, bits) = fold_blocks(
            &s,
            || (0u64, vec![0u64; words]),
            |(n, bits), rows| {
                for k in s.span(&rows) {
                    if p.live(&s, k) {
                        let x = d.get(k).max(0) as usize;
                        bits[x / 64] |= 1 << (x % 64);
                        *n += 1;
                    }
                }
            },
            |(n, mut a), (m, b)| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
                (n + m, a)
            },
        );
        (n, bits.iter().map(|w| w.count_ones() as u64).sum())
    } else {
        let mut all: Vec<i32> = (0..s.weights.len())
            .into_par_iter()
            .filter(|&k| p.live(&s, k))
            .map(|k| d.get(k))
            .collect();
        let n = all.len() as u64;
        all.par_sort_unstable();
        all.dedup();
        (n, all.len() as u64)
    };
    let mut used = vec![false; if sources { s.cols } else { 0 }];
    if sources {
        for r in 0..s.rows {
            for k in s.row(r) {
                if p.live(&s, k) {
                    used[s.col(r, k) as usize] = true;
                }
            }
        }
    }
    Summary {
        synapses,
        sources: used.iter().filter(|&&u| u).count() as u64,
        distinct,
        max,
    }
}

/// Bits of a field that holds `0..=max`.
pub fn bits_for(max: u32) -> u32 {
    32 - max.leading_zeros()
}

/// Bytes of delay fields: `fields` fields (one per synapse, or one per
/// source neuron where delays are per neuron) of `⌈log2(max + 1)⌉` bits.
pub fn field_bytes(fields: u64, max_delay: u32) -> u64 {
    (fields * bits_for(max_delay) as u64).div_ceil(8)
}

/// Bytes of a population's buffer of pending input: one 4-byte slot per
/// neuron and step of delay, `max + 1` steps, or `2^bits` with a ring
/// buffer (Loihi).
pub fn buffer_bytes(neurons: u32, max_delay: u32, ring: bool) -> u64 {
    let slots = if ring {
        1u64 << bits_for(max_delay)
    } else {
        max_delay as u64 + 1
    };
    neurons as u64 * slots * 4
}

fn collect(g: &Graph) -> Vec<Proj> {
    let mut out = Vec::new();
    for n in g.nodes() {
        let Op::Project(pr) = *g.op(n) else { continue };
        let Some(src) = g.arg(n, 0) else { continue };
        let w = g.tensor(pr.weights);
        if Synapses::of(w).is_none() {
            continue;
        }
        let delays = match pr.delay {
            Delay::Const(c) => Del::Const(c),
            Delay::PerSynapse(t) => match g.tensor(t).i32s() {
                Some(v) => Del::Per(v.to_vec()),
                None => continue,
            },
        };
        let dst = g
            .users(n)
            .into_iter()
            .map(|(u, _)| u)
            .find(|&u| matches!(g.op(u), Op::Population(_)))
            .unwrap_or(n);
        out.push(Proj {
            node: n,
            src,
            dst,
            neurons: g.shape(n).len(),
            w: w.clone(),
            delays,
            removed: None,
            changed: false,
        });
    }
    out
}

/// Clips every delay into `[min, max]`; returns how many synapses were
/// lengthened and how many shortened.
fn clip(projs: &mut [Proj], min: u32, max: u32) -> (u64, u64) {
    let (lo, hi) = (min as i32, max as i32);
    let mut raised = 0;
    let mut lowered = 0;
    for p in projs.iter_mut() {
        match &mut p.delays {
            Del::Const(c) => {
                let d = (*c as i32).clamp(lo, hi);
                if d != *c as i32 {
                    let n =
                        p.w.f32s()
                            .map_or(0, |v| v.par_iter().filter(|&&w| w != 0.0).count())
                            as u64;
                    if d > *c as i32 {
                        raised += n;
                    } else {
                        lowered += n;
                    }
                    *c = d as u32;
                    p.changed = true;
                }
            }
            Del::Per(v) => {
                let weights = p.w.f32s().unwrap_or(&[]);
                let (up, down) = v
                    .par_iter_mut()
                    .zip(weights.par_iter())
                    .map(|(d, &w)| {
                        let c = (*d).clamp(lo, hi);
                        let moved = (u64::from(c > *d), u64::from(c < *d));
                        *d = c;
                        if w != 0.0 { moved } else { (0, 0) }
                    })
                    .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                if up + down > 0 {
                    p.changed = true;
                }
                raised += up;
                lowered += down;
            }
        }
    }
    (raised, lowered)
}

/// Where delays are per source neuron: the first source neuron of `p`
/// whose synapses have two delays, with the two.
fn two_delays(p: &Proj) -> Option<(u32, i32, i32)> {
    let s = p.synapses();
    let d = p.delays();
    if let Delays::Const(_) = d {
        return None;
    }
    let mut first = vec![i32::MIN; s.cols];
    let mut worst: Option<(u32, i32, i32)> = None;
    for r in 0..s.rows {
        for k in s.row(r) {
            if !p.live(&s, k) {
                continue;
            }
            let c = s.col(r, k);
            let x = d.get(k);
            let f = &mut first[c as usize];
            if *f == i32::MIN {
                *f = x;
            } else if *f != x && worst.is_none_or(|w| c < w.0) {
                worst = Some((c, (*f).min(x), (*f).max(x)));
            }
        }
    }
    worst
}

/// Writes a changed projection back: weights without pruned synapses
/// (sparse tensors are compacted, dense ones keep zeros) and delays.
fn store(g: &mut Graph, p: Proj, was_const: bool) {
    if !p.changed {
        return;
    }
    let Proj {
        node,
        w,
        delays,
        removed,
        ..
    } = p;
    let (weights, delay) = match (removed, delays) {
        (None, Del::Const(c)) => (None, Delay::Const(c)),
        (None, Del::Per(v)) => {
            let uniform = v.first().filter(|&&d| v.iter().all(|&x| x == d)).copied();
            match uniform {
                Some(d) if was_const => (None, Delay::Const(d.max(0) as u32)),
                _ => {
                    let t = relaid(&w, Values::I32(v.into()));
                    (None, Delay::PerSynapse(g.add_tensor(t)))
                }
            }
        }
        (Some(removed), delays) => {
            let Some(values) = w.f32s() else { return };
            let kept: Vec<f32> = values
                .par_iter()
                .zip(removed.par_iter())
                .map(|(&x, &r)| if r { 0.0 } else { x })
                .collect();
            if w.is_sparse() {
                // Invariant: `w` has values, so it reads as synapses.
                let s0 = Synapses::of(&w).expect("readable weights");
                let s = Synapses {
                    weights: &kept,
                    ..s0
                };
                let d = match &delays {
                    Del::Const(c) => Delays::Const(*c),
                    Del::Per(v) => Delays::Per(v),
                };
                let per = matches!(d, Delays::Per(_));
                let part = split(&s, d, &[s.cols as u32], per, |_, c, w, d| {
                    (w != 0.0).then_some((0, c, d))
                })
                .pop();
                let Some(part) = part else { return };
                let empty = match delays {
                    Del::Const(c) => c,
                    Del::Per(_) => 0,
                };
                let (wt, dt) = part.into_tensors(empty);
                let delay = dt.add_to(g);
                (Some(wt), delay)
            } else {
                let delay = match delays {
                    Del::Const(c) => Delay::Const(c),
                    Del::Per(v) => {
                        Delay::PerSynapse(g.add_tensor(relaid(&w, Values::I32(v.into()))))
                    }
                };
                (Some(relaid(&w, Values::F32(kept.into()))), delay)
            }
        }
    };
    let weights = weights.map(|t| g.add_tensor(t));
    if let Op::Project(pr) = g.op_mut(node) {
        if let Some(id) = weights {
            pr.weights = id;
        }
        pr.delay = delay;
    }
}

/// The pass: checks the options (E0473, E0475, W0474), then the steps
/// above in order.
pub fn quantize_and_prune_delays(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let fmt = cx.target.delays;
    let mut failed = false;
    if let Some((mode, 0)) = cx.options.prune {
        cx.error(
            PassDiag::error(
                "E0475",
                format!(
                    "`--prune {}:0` would remove every synapse",
                    prune::name(mode)
                ),
            )
            .help("keep at least one delay: K >= 1"),
        );
        failed = true;
    }
    let most = bits_for(fmt.max);
    let forced = match (cx.options.delay_bits, fmt.ring_budget) {
        (Some(b), Some(_)) if b as u32 > most => {
            cx.error(
                PassDiag::error(
                    "E0473",
                    format!(
                        "--delay-bits {b}: {} delays take at most {most} bits (delays up to {})",
                        cx.target.name, fmt.max
                    ),
                )
                .help(format!("choose 0 to {most} delay bits")),
            );
            failed = true;
            None
        }
        (Some(b), Some(_)) => Some(b as u32),
        (Some(b), None) => {
            cx.warn(PassDiag::warning(
                "W0474",
                format!(
                    "--delay-bits {b} has no effect on {}: it has no delay ring buffer to size",
                    cx.target.name
                ),
            ));
            None
        }
        (None, _) => None,
    };
    if failed {
        return Err(Failed);
    }
    let max = match forced {
        Some(b) => fmt.max.min((1u32 << b) - 1),
        None => fmt.max,
    };
    let mut projs = collect(g);
    let was_const: Vec<bool> = projs
        .iter()
        .map(|p| matches!(p.delays, Del::Const(_)))
        .collect();
    let sources = !fmt.per_synapse;
    let before: Vec<Summary> = projs.iter().map(|p| summary(p, sources)).collect();

    // 1. Range.
    let (raised, lowered) = clip(&mut projs, fmt.min, max);
    if lowered > 0 {
        cx.warn(
            PassDiag::warning(
                "W0471",
                format!(
                    "{lowered} synapses had delays longer than {max} steps, the longest {} holds here; they were shortened to {max}",
                    cx.target.name
                ),
            )
            .help(if fmt.ring_budget.is_some() {
                "more delay bits (`--delay-bits`) hold longer delays, for fewer neurons per core"
            } else {
                "train with delays the chip holds"
            }),
        );
        cx.report.count("delays clipped", lowered);
    }
    if raised > 0 {
        cx.warn(
            PassDiag::warning(
                "W0472",
                format!(
                    "{raised} synapses had delays shorter than {} steps, the shortest {} has; they were lengthened to {}",
                    fmt.min, cx.target.name, fmt.min
                ),
            )
            .note(format!(
                "on {} every spike takes at least {} tick(s) to arrive",
                cx.target.name, fmt.min
            )),
        );
        cx.report.count("delays lengthened", raised);
    }

    // 2. Prune.
    if let Some((mode, k)) = cx.options.prune {
        let r = prune::prune(&mut projs, mode, k);
        cx.report.count("synapses pruned", r.removed);
        cx.report.count("synapses moved to a kept delay", r.moved);
    }

    // The ring buffer's bits.
    let after: Vec<Summary> = projs.iter().map(|p| summary(p, sources)).collect();
    let used = after.iter().map(|s| s.max).max().unwrap_or(0).min(max);
    if let Some(budget) = fmt.ring_budget {
        let bits = forced.unwrap_or_else(|| bits_for(used));
        let compartments = budget >> bits;
        cx.report.count("delay bits", bits as u64);
        cx.report
            .count("compartments per core", compartments as u64);
        let mut ring = Table::new(
            "delay ring buffer",
            &[
                "delay bits",
                "longest delay",
                "compartments per core (at most)",
            ],
        );
        ring.row(vec![
            bits.to_string(),
            used.to_string(),
            compartments.to_string(),
        ]);
        cx.report.tables.push(ring);
    }

    // 3. One delay per source neuron.
    if !fmt.per_synapse {
        for p in &projs {
            if let Some((j, a, b)) = two_delays(p) {
                cx.error(
                    PassDiag::error(
                        "E0470",
                        format!(
                            "{} has one delay per neuron, but source neuron {j} of projection {} has synapses with delays {a} and {b}",
                            cx.target.name,
                            g.label(p.node)
                        ),
                    )
                    .at(g.span(p.node), "per-synapse delays")
                    .help("keep one delay per source neuron with `--prune axonal:1`, or give the projection one delay")
                    .note(format!(
                        "a {} neuron sends every spike to one axon with one delay; synapses with other delays would need a copy neuron each",
                        cx.target.name
                    )),
                );
                failed = true;
            }
        }
    }
    if failed {
        return Err(Failed);
    }

    // 4. Report and write back.
    let mut table = Table::new(
        "delays per projection",
        &[
            "projection",
            "synapses before",
            "synapses after",
            "delays before",
            "delays after",
            "memory before (B)",
            "memory after (B)",
        ],
    );
    let ring = fmt.ring_budget.is_some();
    let fields = |s: &Summary| {
        if fmt.per_synapse {
            s.synapses
        } else {
            s.sources
        }
    };
    // Each population's buffer is counted once, with the first projection
    // into it, for the longest delay of all its projections.
    let mut longest: BTreeMap<NodeId, (usize, u32, u32)> = BTreeMap::new();
    for (i, ((p, b), a)) in projs.iter().zip(&before).zip(&after).enumerate() {
        let e = longest.entry(p.dst).or_insert((i, 0, 0));
        e.1 = e.1.max(b.max);
        e.2 = e.2.max(a.max);
    }
    let mut total = [0u64; 4];
    for (i, (((p, b), a), was_const)) in projs
        .into_iter()
        .zip(before)
        .zip(after)
        .zip(was_const)
        .enumerate()
    {
        let (mut mb, mut ma) = (
            field_bytes(fields(&b), b.max),
            field_bytes(fields(&a), a.max),
        );
        if let Some(&(first, lb, la)) = longest.get(&p.dst)
            && first == i
        {
            mb += buffer_bytes(p.neurons, lb, ring);
            ma += buffer_bytes(p.neurons, la, ring);
        }
        for (t, x) in total.iter_mut().zip([b.synapses, a.synapses, mb, ma]) {
            *t += x;
        }
        table.row(vec![
            g.label(p.node),
            b.synapses.to_string(),
            a.synapses.to_string(),
            b.distinct.to_string(),
            a.distinct.to_string(),
            mb.to_string(),
            ma.to_string(),
        ]);
        store(g, p, was_const);
    }
    if table.rows.len() > 1 {
        table.row(vec![
            "total".into(),
            total[0].to_string(),
            total[1].to_string(),
            "-".into(),
            "-".into(),
            total[2].to_string(),
            total[3].to_string(),
        ]);
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_memory_counts_fields_and_buffers() {
        // 100 synapses × 6 bits (delays up to 62) = 75 bytes; 10 neurons ×
        // 63 slots × 4 bytes = 2520; with a ring buffer 64 slots: 2560.
        assert_eq!(field_bytes(100, 62), 75);
        assert_eq!(buffer_bytes(10, 62, false), 2520);
        assert_eq!(buffer_bytes(10, 62, true), 2560);
        // Delay 0: no field, one slot.
        assert_eq!(field_bytes(8, 0) + buffer_bytes(1, 0, true), 4);
    }

    #[test]
    fn bits_hold_the_longest_delay() {
        assert_eq!([0, 1, 7, 8, 62, 63].map(bits_for), [0, 1, 3, 4, 6, 6]);
    }
}
