//! Delay pruning (`--prune MODE:K`, after Patiño-Saucedo, Sifalakis et al.
//! 2024; METHODS 5). A synapse between neurons `i` and `j` may have several
//! delayed weights `w_ijd`: in `.snn`, several projections from the same
//! source into the same population with different delays (or a sparse
//! weight tensor holding the pair more than once).
//!
//! - `synaptic:K`: every pair `(i, j)` keeps its `K` delayed weights with
//!   the largest `|w|`; the others are removed.
//! - `axonal:K`: every presynaptic neuron `j` keeps the `K` delays with the
//!   largest L1 norm `Σ_i |w_ijd|` over all its outgoing synapses (every
//!   projection from its population); its synapses at other delays move
//!   to the nearest kept delay.
//! - `layer:K`: every layer (all projections from one source into one
//!   population) keeps the `K` delays with the largest L1 norm
//!   `Σ_ij |w_ijd|`; synapses at other delays move to the nearest kept one.
//!
//! Ties keep the shorter delay; a synapse halfway between two kept delays
//! moves to the shorter. Moving keeps every connection (a neuron's input
//! arrives early or late instead of not at all), which is what a chip with
//! one delay per neuron or a short delay ring needs; removing keeps the
//! strongest of parallel weights, which is what `synaptic` is about.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::{Del, Proj};
use crate::legalize::synapses::{Synapses, fold_blocks};
use crate::manager::PruneMode;

/// What pruning did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Pruned {
    pub removed: u64,
    pub moved: u64,
}

/// The option's spelling of a mode.
pub(super) fn name(mode: PruneMode) -> &'static str {
    match mode {
        PruneMode::Synaptic => "synaptic",
        PruneMode::Axonal => "axonal",
        PruneMode::Layer => "layer",
    }
}

pub(super) fn prune(projs: &mut [Proj], mode: PruneMode, k: usize) -> Pruned {
    match mode {
        PruneMode::Synaptic => synaptic(projs, k),
        PruneMode::Axonal => axonal(projs, k),
        PruneMode::Layer => layer(projs, k),
    }
}

/// The `k` delays with the largest mass (ties: the shorter), ascending.
/// `mass[d]` is the mass at delay `distinct[d]`; zero mass is no delay.
pub fn top_k(distinct: &[u32], mass: &[f64], k: usize) -> Vec<u32> {
    let mut order: Vec<usize> = (0..mass.len()).filter(|&d| mass[d] > 0.0).collect();
    order.sort_by(|&a, &b| {
        mass[b]
            .total_cmp(&mass[a])
            .then(distinct[a].cmp(&distinct[b]))
    });
    let mut kept: Vec<u32> = order.into_iter().take(k).map(|d| distinct[d]).collect();
    kept.sort_unstable();
    kept
}

/// The kept delay nearest to `d` (ties: the shorter); `kept` ascending,
/// not empty.
pub fn nearest(kept: &[u32], d: u32) -> u32 {
    match kept.binary_search(&d) {
        Ok(_) => d,
        Err(0) => kept[0],
        Err(i) if i == kept.len() => kept[i - 1],
        Err(i) => {
            let (lo, hi) = (kept[i - 1], kept[i]);
            if d - lo <= hi - d { lo } else { hi }
        }
    }
}

/// The distinct delays of live synapses of `projs`, ascending.
fn distinct(projs: &[Proj], group: &[usize]) -> Vec<u32> {
    let mut bits = vec![0u64; 1];
    for &i in group {
        let p = &projs[i];
        let s = p.synapses();
        let d = p.delays();
        let b = fold_blocks(
            &s,
            Vec::new,
            |bits: &mut Vec<u64>, rows| {
                for k in s.span(&rows) {
                    if p.live(&s, k) {
                        let x = d.get(k).max(0) as usize;
                        if bits.len() <= x / 64 {
                            bits.resize(x / 64 + 1, 0);
                        }
                        bits[x / 64] |= 1 << (x % 64);
                    }
                }
            },
            |mut a, b| {
                if a.len() < b.len() {
                    a.resize(b.len(), 0);
                }
                a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
                a
            },
        );
        if bits.len() < b.len() {
            bits.resize(b.len(), 0);
        }
        bits.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
    }
    let mut out = Vec::new();
    for (w, &word) in bits.iter().enumerate() {
        for b in 0..64 {
            if word >> b & 1 == 1 {
                out.push((w * 64 + b) as u32);
            }
        }
    }
    out
}

/// Sets every live synapse's delay to `f(col, delay)`, in parallel;
/// returns how many changed.
fn remap(p: &mut Proj, f: impl Fn(u32, i32) -> i32 + Sync) -> u64 {
    p.per();
    let Proj {
        w,
        delays: Del::Per(v),
        removed,
        ..
    } = p
    else {
        return 0;
    };
    // Invariant: collected projections have readable weights.
    let s = Synapses::of(w).expect("weights with values");
    let removed = removed.as_deref();
    let blocks = s.blocks();
    let mut chunks: Vec<&mut [i32]> = Vec::with_capacity(blocks.len());
    let mut rest = v.as_mut_slice();
    for b in &blocks {
        let (head, tail) = rest.split_at_mut(s.span(b).len());
        chunks.push(head);
        rest = tail;
    }
    let moved: u64 = blocks
        .into_par_iter()
        .zip(chunks)
        .map(|(rows, chunk)| {
            let base = s.span(&rows).start;
            let mut n = 0;
            for r in rows {
                for k in s.row(r) {
                    if s.weights[k] == 0.0 || removed.is_some_and(|x| x[k]) {
                        continue;
                    }
                    let d = &mut chunk[k - base];
                    let new = f(s.col(r, k), *d);
                    n += u64::from(new != *d);
                    *d = new;
                }
            }
            n
        })
        .sum();
    if moved > 0 {
        p.changed = true;
    }
    moved
}

/// Live synapses of `p`.
fn live_count(p: &Proj) -> u64 {
    let s = p.synapses();
    (0..s.weights.len())
        .into_par_iter()
        .filter(|&k| p.live(&s, k))
        .count() as u64
}

/// Projections grouped by `key`, in order of first appearance.
fn groups<K: Ord>(projs: &[Proj], key: impl Fn(&Proj) -> K) -> Vec<Vec<usize>> {
    let mut by: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, p) in projs.iter().enumerate() {
        by.entry(key(p)).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = by.into_values().collect();
    out.sort_by_key(|g| g[0]);
    out
}

fn layer(projs: &mut [Proj], k: usize) -> Pruned {
    let mut out = Pruned::default();
    for group in groups(projs, |p| (p.src, p.dst)) {
        let ds = distinct(projs, &group);
        if ds.len() <= k {
            continue;
        }
        let index = index_of(&ds);
        let mut mass = vec![0f64; ds.len()];
        for &i in &group {
            let p = &projs[i];
            let s = p.synapses();
            let d = p.delays();
            let partial: Vec<Vec<f64>> = s
                .blocks()
                .into_par_iter()
                .map(|rows| {
                    let mut m = vec![0f64; ds.len()];
                    for k in s.span(&rows) {
                        if p.live(&s, k) {
                            m[index[d.get(k).max(0) as usize]] += s.weights[k].abs() as f64;
                        }
                    }
                    m
                })
                .collect();
            for m in partial {
                mass.iter_mut().zip(m).for_each(|(a, b)| *a += b);
            }
        }
        let kept = top_k(&ds, &mass, k);
        for &i in &group {
            let p = &mut projs[i];
            match p.delays {
                Del::Const(c) => {
                    let new = nearest(&kept, c);
                    if new != c {
                        out.moved += live_count(p);
                        p.delays = Del::Const(new);
                        p.changed = true;
                    }
                }
                Del::Per(_) => {
                    out.moved += remap(p, |_, d| nearest(&kept, d.max(0) as u32) as i32);
                }
            }
        }
    }
    out
}

/// Position of each delay in `ds` (ascending), indexed by delay.
fn index_of(ds: &[u32]) -> Vec<usize> {
    let top = ds.last().copied().unwrap_or(0) as usize;
    let mut index = vec![0usize; top + 1];
    for (i, &d) in ds.iter().enumerate() {
        index[d as usize] = i;
    }
    index
}

fn axonal(projs: &mut [Proj], k: usize) -> Pruned {
    let mut out = Pruned::default();
    for group in groups(projs, |p| p.src) {
        let ds = distinct(projs, &group);
        if ds.len() <= k {
            continue;
        }
        let index = index_of(&ds);
        let nd = ds.len();
        let cols = projs[group[0]].synapses().cols;
        // The kept delays of every source neuron, ascending, padded with
        // `u32::MAX`. One task per range of source neurons scans every
        // synapse and sums the L1 norm per (neuron, delay) of its own range
        // in storage order, so the sums do not depend on the threads.
        let mut kept = vec![u32::MAX; cols * k];
        let step = cols.div_ceil(rayon::current_num_threads().max(1)).max(1);
        let view: Vec<(&Proj, Synapses)> = group
            .iter()
            .map(|&i| (&projs[i], projs[i].synapses()))
            .collect();
        kept.par_chunks_mut(step * k)
            .enumerate()
            .for_each(|(t, chunk)| {
                let c0 = t * step;
                let c1 = (c0 + step).min(cols);
                let mut mass = vec![0f64; (c1 - c0) * nd];
                for (p, s) in &view {
                    let d = p.delays();
                    for r in 0..s.rows {
                        for j in s.row(r) {
                            let c = s.col(r, j) as usize;
                            if c >= c0 && c < c1 && p.live(s, j) {
                                mass[(c - c0) * nd + index[d.get(j).max(0) as usize]] +=
                                    s.weights[j].abs() as f64;
                            }
                        }
                    }
                }
                for (m, out) in mass.chunks(nd).zip(chunk.chunks_mut(k)) {
                    for (slot, d) in out.iter_mut().zip(top_k(&ds, m, k)) {
                        *slot = d;
                    }
                }
            });
        drop(view);
        let of = |col: u32| -> &[u32] {
            let all = &kept[col as usize * k..(col as usize + 1) * k];
            let n = all.iter().take_while(|&&d| d != u32::MAX).count();
            &all[..n]
        };
        for &i in &group {
            let p = &mut projs[i];
            if let Del::Const(c) = p.delays
                && (0..cols as u32).all(|j| of(j).is_empty() || nearest(of(j), c) == c)
            {
                continue;
            }
            out.moved += remap(p, |col, d| {
                let ks = of(col);
                if ks.is_empty() {
                    d
                } else {
                    nearest(ks, d.max(0) as u32) as i32
                }
            });
        }
    }
    out
}

fn synaptic(projs: &mut [Proj], k: usize) -> Pruned {
    let mut out = Pruned::default();
    for group in groups(projs, |p| (p.src, p.dst)) {
        let parallel = group.len() > 1
            || group.iter().any(|&i| {
                let s = projs[i].synapses();
                s.pattern.is_some_and(|pat| {
                    (0..s.rows).any(|r| pat.col_idx[pat.row(r)].windows(2).any(|w| w[0] == w[1]))
                })
            });
        if !parallel {
            continue;
        }
        let rows = projs[group[0]].synapses().rows;
        let total: usize = group.iter().map(|&i| projs[i].w.stored() as usize).sum();
        let per_block = (rows * (1 << 16) / total.max(1)).max(1);
        let blocks: Vec<(usize, usize)> = (0..rows)
            .step_by(per_block)
            .map(|r| (r, (r + per_block).min(rows)))
            .collect();
        let view: Vec<(&Proj, Synapses)> = group
            .iter()
            .map(|&i| (&projs[i], projs[i].synapses()))
            .collect();
        let removals: Vec<Vec<(usize, usize)>> = blocks
            .into_par_iter()
            .map(|(r0, r1)| {
                let mut buf: Vec<(u32, f32, i32, usize, usize)> = Vec::new();
                let mut drop = Vec::new();
                for r in r0..r1 {
                    buf.clear();
                    for (g, (p, s)) in view.iter().enumerate() {
                        let d = p.delays();
                        for k in s.row(r) {
                            if p.live(s, k) {
                                buf.push((s.col(r, k), s.weights[k].abs(), d.get(k), g, k));
                            }
                        }
                    }
                    buf.sort_unstable_by(|a, b| {
                        a.0.cmp(&b.0)
                            .then(b.1.total_cmp(&a.1))
                            .then(a.2.cmp(&b.2))
                            .then(a.3.cmp(&b.3))
                            .then(a.4.cmp(&b.4))
                    });
                    let mut run = 0;
                    for (i, e) in buf.iter().enumerate() {
                        run = if i > 0 && buf[i - 1].0 == e.0 {
                            run + 1
                        } else {
                            0
                        };
                        if run >= k {
                            drop.push((e.3, e.4));
                        }
                    }
                }
                drop
            })
            .collect();
        for (g, k) in removals.into_iter().flatten() {
            let p = &mut projs[group[g]];
            let stored = p.w.stored() as usize;
            p.removed.get_or_insert_with(|| vec![false; stored])[k] = true;
            p.changed = true;
            out.removed += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_prefers_mass_then_the_shorter_delay() {
        let ds = [1, 2, 3, 4];
        assert_eq!(top_k(&ds, &[0.5, 0.3, 0.3, 0.7], 2), vec![1, 4]);
        assert_eq!(top_k(&ds, &[0.5, 0.3, 0.3, 0.7], 3), vec![1, 2, 4]);
        assert_eq!(top_k(&ds, &[0.0, 0.0, 0.2, 0.0], 2), vec![3]);
    }

    #[test]
    fn nearest_breaks_ties_to_the_shorter_delay() {
        let kept = [2, 6, 10];
        assert_eq!(
            [0, 2, 3, 4, 5, 8, 12].map(|d| nearest(&kept, d)),
            [2, 2, 2, 2, 6, 6, 10]
        );
    }
}
