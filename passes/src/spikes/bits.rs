//! TrueNorth's 16 weight levels (Diehl et al. 2016): a neuron has one
//! signed weight per axon type, so four axons of types with weights
//! `{1, 2, 4, −8}·c` carrying the same source give the weights `n·c`,
//! `n ∈ −8..7`, the two's-complement bits of `n` choosing the axons.
//!
//! For every population whose weights are not already on four types, each
//! row `t` of its incoming weights (all projections together: a neuron has
//! one set of type weights) takes a scale `c_t` and the levels `n =
//! round(w / c_t)`: of `max(max w / 7, −min w / 8)` (nothing clips) and
//! the scales that put the row's largest or smallest weight on a level,
//! the one that misses the weights least ([`row_scale`]); the table
//! `weight levels` gives the rounding error per projection.
//!
//! A source cannot send to four axons of one core by itself (a TrueNorth
//! neuron has one destination), so every source `S` of such a population
//! drives a splitter population `S.bits`: a group of `G` relay neurons per
//! source neuron (`G`: the power of two at least `4 m`, `m` the populations
//! `S` feeds this way, so a core of 256 neurons never cuts a group), one per
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

/// The weights of the four axon types, in units of a row's scale.
const TYPE_WEIGHTS: [i32; 4] = [1, 2, 4, -8];

/// The largest rounding error, as a share of a projection's largest weight,
/// that passes without a warning (the weights were trained on the levels
/// up to float rounding).
const OFF_LEVELS: f64 = 1e-3;

/// The four bits of `n ∈ −8..7` in two's complement, as type weights.
fn bits(n: i32) -> [bool; 4] {
    let u = (n & 0xf) as u32;
    [u & 1 != 0, u & 2 != 0, u & 4 != 0, u & 8 != 0]
}

/// The scale `c` of one row's 16 levels `n·c`, `n ∈ −8..7`: of the
/// smallest that clips nothing, `max(max w / 7, −min w / 8)`, and those
/// that put the largest or the smallest weight on a level exactly
/// (`max w / m`, `−min w / m`), the one whose levels (clipped) miss the
/// weights least in squared sum; the smallest among equals. Weights in a
/// ratio such as 1 : 4 (a low-pass split, `(1 − α)` beside `α`) then land
/// on levels exactly.
fn row_scale<I: Iterator<Item = f64>>(row: impl Fn() -> I) -> f64 {
    let (hi, lo) = row().fold((0f64, 0f64), |(h, l), w| (h.max(w), l.min(w)));
    let least = (hi / 7.0).max(-lo / 8.0);
    if least == 0.0 {
        return 0.0;
    }
    let miss = |c: f64| -> f64 {
        row()
            .map(|w| {
                let n = (w / c).round().clamp(-8.0, 7.0);
                (w - n * c).powi(2)
            })
            .sum()
    };
    let mut candidates = vec![least];
    candidates.extend((1..=7).map(|m| hi / m as f64).filter(|&c| c > 0.0));
    candidates.extend((1..=8).map(|m| -lo / m as f64).filter(|&c| c > 0.0));
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

/// Gives the weights into `targets` 16 levels through four axon types.
pub(super) fn sixteen_levels(g: &mut Graph, targets: &[NodeId], cx: &mut PassCx) {
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
        "weight levels (16 through four axon types)",
        &["projection", "synapses", "rms error", "largest error"],
    );
    // Per target: its incoming projections, row scales and levels.
    let mut plans: Vec<(NodeId, Vec<Incoming>, Vec<f64>)> = Vec::new();
    for &t in &all {
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
                row_scale(row)
            })
            .collect();
        plans.push((t, inc, scale));
    }
    // The targets each source feeds, in order.
    let mut feeds: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for (t, inc, _) in &plans {
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
        let m = feeds[&s].len() as u32;
        let group = (4 * m).next_power_of_two();
        let n = g.shape(s).len();
        let size = n * group;
        let base = g.name(s).map(str::to_string).unwrap_or_else(|| g.label(s));
        let split = g.add(Op::Population(relay(size)), &[]);
        g.set_name(split, format!("{base}.bits"));
        // Each source neuron feeds the 4m used slots of its group.
        let used = 4 * m;
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
    // Each target reads the splitters: row t, column (j, slot 4·ti + k)
    // carries c_t · TYPE_WEIGHTS[k] where bit k of n_tj is set.
    for (t, inc, scale) in plans {
        let rows = g.shape(t).len() as usize;
        for p in inc {
            let (split, group) = splitters[&p.source];
            let ti = feeds[&p.source].iter().position(|&x| x == t).unwrap_or(0) as u32;
            let cols = g.shape(split).len();
            let (mut row_ptr, mut col_idx, mut vals) = (vec![0u64], Vec::new(), Vec::new());
            let (mut count, mut err2, mut err_max, mut w_max) = (0u64, 0f64, 0f64, 0f64);
            for (r, &c) in scale.iter().enumerate().take(rows) {
                for j in 0..p.cols {
                    let w = p.dense[r * p.cols + j] as f64;
                    if w == 0.0 {
                        continue;
                    }
                    let n = if c > 0.0 {
                        (w / c).round().clamp(-8.0, 7.0) as i32
                    } else {
                        0
                    };
                    let e = (w - n as f64 * c).abs();
                    count += 1;
                    err2 += e * e;
                    err_max = err_max.max(e);
                    w_max = w_max.max(w.abs());
                    for (k, on) in bits(n).into_iter().enumerate() {
                        if on {
                            col_idx.push(j as u32 * group + 4 * ti + k as u32);
                            vals.push((c * TYPE_WEIGHTS[k] as f64) as f32);
                        }
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
                            "the weights of {} are not on TrueNorth's 16 levels per neuron: rounding them moves each by {rms:.3e} rms and up to {err_max:.3e} ({:.1}% of its largest weight, {w_max:.3e})",
                            g.label(p.node),
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
