//! TrueNorth's weight levels (Diehl et al. 2016): a neuron has one signed
//! weight per axon type, so four axons of types with weights `{1, 2, 4,
//! −8}·c` carrying the same source give the weights `n·c`, `n ∈ −8..7`, the
//! two's-complement bits of `n` choosing the axons. `--weight-bits b` below
//! 4 takes `b` types, `{1, …, 2^(b−2), −2^(b−1)}·c`, for `2^b` levels
//! ([`Levels`]).
//!
//! For every population whose weights are not already on the types, each
//! row `t` of its incoming weights (all projections together: a neuron has
//! one set of type weights) takes a scale `c_t` and the levels `n =
//! round(w / c_t)`: of `max(max w / 7, −min w / 8)` (nothing clips) and
//! the scales that put the row's largest or smallest weight on a level,
//! the one that misses the weights least ([`Levels::row_scale`]); the
//! table `weight levels` gives the rounding error per projection.
//!
//! Each set bit of a level is an axon, and a neuron reads at most a core's
//! 256: a row that needs more (more than 64 inputs at four bits each) moves
//! the weights whose move to a level of fewer set bits costs least squared
//! error per axon saved, until it fits ([`fit_axons`], warning W0497).
//!
//! A source cannot send to several axons of one core by itself (a TrueNorth
//! neuron has one destination), so every source `S` of such a population
//! drives a splitter population `S.bits`: a group of `G` relay neurons per
//! source neuron (`G`: the power of two at least the types of the
//! populations `S` feeds this way, summed, so a core of 256 neurons never cuts a group), one per
//! (target population, type), each firing when its source did. An input
//! (sent by the host) drives one the same way. The splitters take one tick;
//! the synapses behind them are a tick shorter (at least one), so a
//! recurrence still lands one step, `K` ticks, later.

use std::collections::HashMap;
use std::sync::Arc;

use snn_ir::tensor::{Origin, SparsePattern, Tensor, Values};
use snn_ir::{Delay, Graph, ModelKind, NodeId, Op, Projection};

use crate::legalize::copies::relay;
use crate::legalize::synapses::Synapses;
use crate::manager::{PassCx, PassDiag, Table};

/// A weight's levels: `n·c` for `n ∈ −2^(b−1)..2^(b−1)−1` through `b`
/// axon types of weights `{1, 2, …, 2^(b−2), −2^(b−1)}·c` (Diehl et al.:
/// `b = 4`, 16 levels; fewer with `--weight-bits`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Levels {
    bits: u32,
}

impl Levels {
    /// The most levels: TrueNorth's four axon types.
    pub(super) const MOST_BITS: u32 = 4;

    /// `bits` of levels (clamped to 2 to [`Levels::MOST_BITS`]).
    pub(super) fn new(bits: u32) -> Levels {
        Levels {
            bits: bits.clamp(2, Self::MOST_BITS),
        }
    }

    fn lo(self) -> i32 {
        -(1 << (self.bits - 1))
    }

    fn hi(self) -> i32 {
        (1 << (self.bits - 1)) - 1
    }

    /// Axon type `k`'s weight, in units of a row's scale.
    fn type_weight(self, k: u32) -> i32 {
        if k + 1 == self.bits {
            -(1 << k)
        } else {
            1 << k
        }
    }

    /// The level nearest `w / c`.
    fn level(self, w: f64, c: f64) -> i8 {
        (w / c).round().clamp(self.lo() as f64, self.hi() as f64) as i8
    }

    /// Whether type `k` carries a part of level `n` (bit `k` of its
    /// two's complement).
    fn uses(self, n: i8, k: u32) -> bool {
        (n as i32 >> k) & 1 != 0
    }

    /// Axons a level takes: one per set bit.
    fn axons(self, n: i8) -> u32 {
        (n as u32 & ((1 << self.bits) - 1)).count_ones()
    }

    /// Every level.
    fn all(self) -> impl Iterator<Item = i8> {
        (self.lo()..=self.hi()).map(|n| n as i8)
    }

    /// The scale `c` of one row's levels: of the smallest that clips
    /// nothing, `max(max w / hi, −min w / −lo)`, and those that put the
    /// largest or the smallest weight on a level exactly (`max w / m`,
    /// `−min w / m`), the one whose levels (clipped) miss the weights least
    /// in squared sum; the smallest among equals. Weights in a ratio such as
    /// 1 : 4 (a low-pass split, `(1 − α)` beside `α`) then land on levels
    /// exactly.
    fn row_scale<I: Iterator<Item = f64>>(self, row: impl Fn() -> I) -> f64 {
        let (hi, lo) = row().fold((0f64, 0f64), |(h, l), w| (h.max(w), l.min(w)));
        let (top, bottom) = (self.hi() as f64, -self.lo() as f64);
        let least = (hi / top).max(-lo / bottom);
        if least == 0.0 {
            return 0.0;
        }
        let miss = |c: f64| -> f64 {
            row()
                .map(|w| (w - self.level(w, c) as f64 * c).powi(2))
                .sum()
        };
        let mut candidates = vec![least];
        candidates.extend((1..=self.hi()).map(|m| hi / m as f64).filter(|&c| c > 0.0));
        candidates.extend(
            (1..=-self.lo())
                .map(|m| -lo / m as f64)
                .filter(|&c| c > 0.0),
        );
        candidates.sort_by(f64::total_cmp);
        let mut best = (miss(least), least);
        for c in candidates {
            let e = miss(c);
            // A relative margin, so float noise does not prefer a larger scale.
            if e < best.0 * (1.0 - 1e-9) - 1e-12 {
                best = (e, c);
            }
        }
        best.1
    }
}

/// The largest rounding error, as a share of a projection's largest weight,
/// that passes without a warning (the weights were trained on the levels
/// up to float rounding).
const OFF_LEVELS: f64 = 1e-3;

/// One incoming projection of a target: its source, its `[rows, cols]`
/// weights as dense rows, its delay in ticks.
struct Incoming {
    node: NodeId,
    source: NodeId,
    cols: usize,
    dense: Vec<f32>,
    delay: u32,
}

/// Every target's incoming projections as dense rows (`None` when a
/// projection has per-synapse delays: they stay as they are).
fn incoming(g: &Graph, target: NodeId) -> Option<Vec<Incoming>> {
    let rows = g.shape(target).len() as usize;
    let mut out = Vec::new();
    for p in g.args(target) {
        let Op::Project(pr) = *g.op(p) else { continue };
        let Delay::Const(delay) = pr.delay else {
            return None;
        };
        let source = g.arg(p, 0)?;
        let s = Synapses::of(g.tensor(pr.weights))?;
        let mut dense = vec![0f32; rows * s.cols];
        for r in 0..s.rows.min(rows) {
            for k in s.row(r) {
                dense[r * s.cols + s.col(r, k) as usize] += s.weights[k];
            }
        }
        out.push(Incoming {
            node: p,
            source,
            cols: s.cols,
            dense,
            delay,
        });
    }
    Some(out)
}

/// A target, its incoming projections, its row scales and the level of
/// every weight (per projection, dense as its weights).
type Plan = (NodeId, Vec<Incoming>, Vec<f64>, Vec<Vec<i8>>, Levels);

/// The level `n ∈ −8..7` nearest each weight, `n·c` for its row's scale.
fn rounded(inc: &[Incoming], scale: &[f64], lv: Levels) -> Vec<Vec<i8>> {
    inc.iter()
        .map(|p| {
            p.dense
                .iter()
                .enumerate()
                .map(|(k, &w)| {
                    let c = scale[k / p.cols.max(1)];
                    if c > 0.0 && w != 0.0 {
                        lv.level(w as f64, c)
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect()
}

/// Makes every row read at most `budget` axons (a neuron's sources, one
/// axon per set bit of each level): while a row needs more, the weight
/// whose move to a level of fewer set bits costs least squared error per
/// axon saved moves there. Returns the weights moved and the largest
/// distance of a moved weight from its level.
fn fit_axons(
    inc: &[Incoming],
    scale: &[f64],
    levels: &mut [Vec<i8>],
    budget: usize,
    lv: Levels,
) -> (usize, f64) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // The cheapest move of weight `w` from level `n` (squared error added,
    // axons saved, new level), if it has one.
    let axons = |n: i8| lv.axons(n);
    let best_move = |w: f64, c: f64, n: i8| -> Option<(f64, u32, i8)> {
        let now = (w - n as f64 * c).powi(2);
        lv.all()
            .filter(|&m| axons(m) < axons(n))
            .map(|m| {
                let cost = (w - m as f64 * c).powi(2) - now;
                (cost, axons(n) - axons(m), m)
            })
            .min_by(|a, b| (a.0 / a.1 as f64).total_cmp(&(b.0 / b.1 as f64)))
    };
    let (mut moved, mut worst) = (0usize, 0f64);
    for (r, &c) in scale.iter().enumerate() {
        let mut used: usize = inc
            .iter()
            .zip(levels.iter())
            .map(|(p, l)| {
                l[r * p.cols..(r + 1) * p.cols]
                    .iter()
                    .map(|&n| axons(n) as usize)
                    .sum::<usize>()
            })
            .sum();
        if used <= budget || c <= 0.0 {
            continue;
        }
        // Candidate moves by cost per axon saved (as ordered bits), then
        // projection and column so ties go the same way every time.
        let mut heap = BinaryHeap::new();
        let push = |heap: &mut BinaryHeap<_>, pi: usize, j: usize, n: i8| {
            let w = inc[pi].dense[r * inc[pi].cols + j] as f64;
            if let Some((cost, saved, m)) = best_move(w, c, n) {
                let per = (cost / saved as f64).max(0.0);
                heap.push(Reverse((per.to_bits(), pi, j, m)));
            }
        };
        for (pi, p) in inc.iter().enumerate() {
            for j in 0..p.cols {
                let n = levels[pi][r * p.cols + j];
                if n != 0 {
                    push(&mut heap, pi, j, n);
                }
            }
        }
        let mut row_moved = std::collections::HashSet::new();
        while used > budget {
            let Some(Reverse((_, pi, j, m))) = heap.pop() else {
                break;
            };
            let at = r * inc[pi].cols + j;
            let n = levels[pi][at];
            used -= (axons(n) - axons(m)) as usize;
            levels[pi][at] = m;
            row_moved.insert((pi, j));
            let w = inc[pi].dense[at] as f64;
            worst = worst.max((w - m as f64 * c).abs());
            if m != 0 {
                push(&mut heap, pi, j, m);
            }
        }
        moved += row_moved.len();
    }
    (moved, worst)
}

/// Gives the weights into `targets` the levels of `user` through its axon
/// types; those into `full` (made by the compiler, such as a low-pass
/// split's `P.act -> P` and `P.keep`) take all [`Levels::MOST_BITS`].
pub(super) fn spread_levels(
    g: &mut Graph,
    targets: &[NodeId],
    user: Levels,
    full: &[NodeId],
    cx: &mut PassCx,
) {
    let levels_of = |t: NodeId| {
        if full.contains(&t) {
            Levels::new(Levels::MOST_BITS)
        } else {
            user
        }
    };
    let mut all: Vec<NodeId> = targets.to_vec();
    // Readouts read the spike counts too.
    for pop in g.populations() {
        if !all.contains(&pop)
            && matches!(g.op(pop), Op::Population(p) if p.model.kind() == ModelKind::Li)
        {
            all.push(pop);
        }
    }
    all.sort_unstable();
    let mut table = Table::new(
        "weight levels (through axon types)",
        &["projection", "synapses", "rms error", "largest error"],
    );
    // Per target: its incoming projections, row scales and levels.
    let mut plans: Vec<Plan> = Vec::new();
    for &t in &all {
        let lv = levels_of(t);
        let Some(inc) = incoming(g, t) else { continue };
        if inc.is_empty() {
            continue;
        }
        let rows = g.shape(t).len() as usize;
        let scale: Vec<f64> = (0..rows)
            .map(|r| {
                let row = || {
                    inc.iter()
                        .flat_map(move |p| p.dense[r * p.cols..(r + 1) * p.cols].iter())
                        .map(|&w| w as f64)
                };
                lv.row_scale(row)
            })
            .collect();
        let mut levels = rounded(&inc, &scale, lv);
        let budget = cx.target.core_axons as usize;
        let (moved, worst) = fit_axons(&inc, &scale, &mut levels, budget, lv);
        if moved > 0 {
            cx.warn(
                PassDiag::warning(
                    "W0497",
                    format!(
                        "{} reads more inputs than a TrueNorth core has axons at {} levels each: {moved} weights moved to levels with fewer set bits (each set bit is an axon) so every neuron reads at most {} axons, up to {worst:.3e} each",
                        g.label(t),
                        1 << lv.bits,
                        cx.target.core_axons
                    ),
                )
                .at(g.span(t), "this population")
                .help("train with a fan-in of at most 64 inputs a neuron (`snnc constraints --backend truenorth`)"),
            );
            cx.report
                .count("weights moved to fit the axons", moved as u64);
        }
        plans.push((t, inc, scale, levels, lv));
    }
    // The targets each source feeds, in order.
    let mut feeds: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for (t, inc, _, _, _) in &plans {
        for p in inc {
            let v = feeds.entry(p.source).or_default();
            if !v.contains(t) {
                v.push(*t);
            }
        }
    }
    let mut sources: Vec<NodeId> = feeds.keys().copied().collect();
    sources.sort_unstable();
    // One splitter population per source.
    let mut splitters: HashMap<NodeId, (NodeId, u32)> = HashMap::new();
    for &s in &sources {
        // Slots of a source neuron's group: one per (target, type).
        let used: u32 = feeds[&s].iter().map(|&t| levels_of(t).bits).sum();
        let group = used.next_power_of_two();
        let n = g.shape(s).len();
        let size = n * group;
        let base = g.name(s).map(str::to_string).unwrap_or_else(|| g.label(s));
        let split = g.add(Op::Population(relay(size)), &[]);
        g.set_name(split, format!("{base}.bits"));
        // Each source neuron feeds the used slots of its group.
        let rows = size;
        let mut row_ptr = Vec::with_capacity(rows as usize + 1);
        let mut col_idx = Vec::new();
        row_ptr.push(0u64);
        for r in 0..rows {
            if r % group < used {
                col_idx.push(r / group);
            }
            row_ptr.push(col_idx.len() as u64);
        }
        let nnz = col_idx.len();
        let pattern = Arc::new(SparsePattern {
            rows,
            cols: n,
            row_ptr,
            col_idx,
        });
        // Invariant: one weight per stored entry, by construction.
        let w = Tensor::sparse(
            pattern,
            Values::F32(vec![1.0f32; nnz].into()),
            Origin::Derived,
        )
        .expect("one weight per splitter");
        let weights = g.add_tensor(w);
        let feed = g.add(
            Op::Project(Projection {
                weights,
                delay: Delay::Const(1),
            }),
            &[s],
        );
        g.set_name(feed, format!("{base}->{base}.bits"));
        g.push_arg(split, feed);
        if let Some(sp) = g.span(s) {
            g.set_span(split, sp);
            g.set_span(feed, sp);
        }
        splitters.insert(s, (split, group));
    }
    // Each target reads the splitters: row t, column (j, slot o + k) (`o`:
    // the slots of the targets before it) carries c_t times type k's weight
    // where bit k of n_tj is set.
    for (t, inc, scale, levels, lv) in plans {
        let rows = g.shape(t).len() as usize;
        for (p, levels) in inc.into_iter().zip(levels) {
            let (split, group) = splitters[&p.source];
            let o: u32 = feeds[&p.source]
                .iter()
                .take_while(|&&x| x != t)
                .map(|&x| levels_of(x).bits)
                .sum();
            let cols = g.shape(split).len();
            let (mut row_ptr, mut col_idx, mut vals) = (vec![0u64], Vec::new(), Vec::new());
            let (mut count, mut err2, mut err_max, mut w_max) = (0u64, 0f64, 0f64, 0f64);
            for (r, &c) in scale.iter().enumerate().take(rows) {
                for j in 0..p.cols {
                    let w = p.dense[r * p.cols + j] as f64;
                    if w == 0.0 {
                        continue;
                    }
                    let n = levels[r * p.cols + j];
                    let e = (w - n as f64 * c).abs();
                    count += 1;
                    err2 += e * e;
                    err_max = err_max.max(e);
                    w_max = w_max.max(w.abs());
                    for k in (0..lv.bits).filter(|&k| lv.uses(n, k)) {
                        col_idx.push(j as u32 * group + o + k);
                        vals.push((c * lv.type_weight(k) as f64) as f32);
                    }
                }
                row_ptr.push(col_idx.len() as u64);
            }
            let pattern = Arc::new(SparsePattern {
                rows: rows as u32,
                cols,
                row_ptr,
                col_idx,
            });
            // Invariant: one value per stored entry, by construction.
            let w = Tensor::sparse(pattern, Values::F32(vals.into()), Origin::Derived)
                .expect("one weight per synapse");
            let weights = g.add_tensor(w);
            if let Op::Project(x) = g.op_mut(p.node) {
                x.weights = weights;
                x.delay = Delay::Const(p.delay.saturating_sub(1).max(1));
            }
            g.set_arg(p.node, 0, split);
            let rms = (err2 / count.max(1) as f64).sqrt();
            table.row(vec![
                g.label(p.node),
                count.to_string(),
                format!("{rms:.3e}"),
                format!("{err_max:.3e}"),
            ]);
            if err_max > OFF_LEVELS * w_max {
                cx.warn(
                    PassDiag::warning(
                        "W0495",
                        format!(
                            "the weights of {} are not on TrueNorth's {} levels per neuron: rounding them moves each by {rms:.3e} rms and up to {err_max:.3e} ({:.1}% of its largest weight, {w_max:.3e})",
                            g.label(p.node),
                            1 << lv.bits,
                            100.0 * err_max / w_max
                        ),
                    )
                    .at(g.span(p.node), "this projection")
                    .help("train with the chip's constraints (`snnc constraints --backend truenorth` prints them) for the chip to keep the float accuracy"),
                );
            }
        }
    }
    cx.report.count(
        "splitter neurons",
        splitters
            .values()
            .map(|&(s, _)| g.shape(s).len() as u64)
            .sum(),
    );
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_bits_give_eight_levels_through_three_types() {
        let lv = Levels::new(3);
        // Types {1, 2, −4}: levels −4..3.
        assert_eq!(
            (0..3).map(|k| lv.type_weight(k)).collect::<Vec<_>>(),
            [1, 2, -4]
        );
        assert_eq!(lv.all().collect::<Vec<_>>(), [-4, -3, -2, -1, 0, 1, 2, 3]);
        // −3 = −4 + 1 (101), −1 = −4 + 2 + 1 (111), 3 = 2 + 1 (011).
        for (n, on) in [
            (-3i8, [true, false, true]),
            (-1, [true, true, true]),
            (3, [true, true, false]),
        ] {
            let used: Vec<bool> = (0..3).map(|k| lv.uses(n, k)).collect();
            assert_eq!(used, on, "{n}");
            let sum: i32 = (0..3)
                .filter(|&k| lv.uses(n, k))
                .map(|k| lv.type_weight(k))
                .sum();
            assert_eq!(sum, n as i32);
        }
        assert_eq!(lv.axons(-1), 3);
        assert_eq!(Levels::new(4).axons(-1), 4);
        // A weight of 1.5c clips to 3c at 3 bits, not at 4.
        assert_eq!(lv.level(5.0, 1.0), 3);
        assert_eq!(Levels::new(4).level(5.0, 1.0), 5);
    }

    /// 70 inputs of weight −0.1 at scale 0.1 are level −1 each, all four
    /// bits set: 280 axons, 24 over a core's 256. Moving a −1 to 0 saves 4
    /// axons for an error of 0.01 (0.0025 an axon); the nearest level of
    /// fewer bits otherwise is −4 or 1 at 2 and 1 bits (error 0.09 and
    /// 0.04: 0.045 and 0.0133 an axon). So 6 weights go to 0, the first
    /// columns (ties go in column order), leaving 64 × 4 = 256 axons.
    #[test]
    fn a_row_over_the_axons_drops_its_cheapest_set_bits() {
        let inc = vec![Incoming {
            node: NodeId(0),
            source: NodeId(1),
            cols: 70,
            dense: vec![-0.1; 70],
            delay: 1,
        }];
        let scale = [0.1];
        let lv = Levels::new(4);
        let mut levels = rounded(&inc, &scale, lv);
        assert!(levels[0].iter().all(|&n| n == -1));
        let (moved, worst) = fit_axons(&inc, &scale, &mut levels, 256, lv);
        assert_eq!(moved, 6);
        assert!((worst - 0.1).abs() < 1e-6, "{worst}");
        assert_eq!(levels[0][..6], [0; 6]);
        assert!(levels[0][6..].iter().all(|&n| n == -1));
        let used: u32 = levels[0].iter().map(|&n| lv.axons(n)).sum();
        assert_eq!(used, 256);
        // Within the budget nothing moves.
        let mut again = levels.clone();
        assert_eq!(fit_axons(&inc, &scale, &mut again, 256, lv), (0, 0.0));
        assert_eq!(again, levels);
    }
}
