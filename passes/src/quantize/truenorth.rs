//! TrueNorth: `legalize` has factored each population's weights into axon
//! types, `W[j][i] = c[j][i] · s_j[G_i]`, and recorded the table `s` of
//! each neuron's weight per type (`QuantKind::AxonTypes`). Here that table
//! becomes signed integers of `bits` bits (9, or `--weight-bits`) times one
//! scale per population, which the threshold α, the leak λ (the bias, or
//! the leak toward zero) and the floor β share, all integers of their own widths:
//!
//! ```text
//! s_j[G] = k · scale   |k| ≤ 2^(bits−1) − 1
//! θ      = a · scale   a + 1 = α ≤ 2^18 − 1   (TrueNorth fires at V ≥ α)
//! bias   = λ · scale   |λ| ≤ 255   (or leak = −λ · scale, with reversal)
//! v_min  = −β · scale  β ≤ 2^18 − 1
//! ```
//!
//! The scale is free (the chip sees only integers), so it is searched: from
//! the smallest that keeps the table, threshold and leak unsaturated up to
//! twice that (every scale on which some table value lands exactly on an
//! integer, `smallest · Q / q` for `q ∈ [Q/2, Q]`), and with
//! `--weight-bits`, down to a quarter of it (clipping the largest weights).
//! The scale kept has the smallest sum of the relative squared errors
//! (noise over signal) of the weights (each table entry counted once per
//! synapse that uses it), of the thresholds and of the biases; among equals,
//! the finest. Weights already on a common grid with the threshold and leak
//! come out exact.

use std::sync::Arc;

use rayon::prelude::*;
use snn_ir::tensor::{Origin, Tensor, Values};
use snn_ir::{Graph, Op, Quant, QuantKind, TensorId};

use super::grid::{self, Grid, Stats, int_max, show_step};
use super::params::{self, Worst};
use super::{Found, Group, PopRow, WeightRow};
use crate::legalize::synapses::{Synapses, relaid};
use crate::manager::PassDiag;

/// Threshold register α: 18 bits, unsigned [Cassidy et al. 2013, recalled].
pub const ALPHA_MAX: f64 = 262_143.0;
/// Leak λ: 9 bits, signed [Cassidy et al. 2013, recalled].
pub const LEAK_MAX: f64 = 255.0;
/// Negative threshold β: 18 bits, unsigned [Cassidy et al. 2013, recalled].
pub const BETA_MAX: f64 = 262_143.0;
/// With `--weight-bits`, scales down to this fraction of the smallest
/// unsaturated one compete.
const CLIP: f64 = 4.0;

/// A TrueNorth target as the pass uses it.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// Bits of each per-type weight, sign included.
    pub bits: u8,
    /// Let clipping scales compete (`--weight-bits`).
    pub search: bool,
    pub state_bits: u8,
}

/// One table of weights per (neuron, type), shared by the projections
/// whose annotations name it.
struct Table {
    id: TensorId,
    k: usize,
    values: Vec<f32>,
    /// Synapses that use each entry.
    uses: Vec<u64>,
}

/// `Σ (x − q)² / Σ x²` over values with weights, 0 without signal.
fn nsr(items: impl Iterator<Item = (f32, f32, f64)>) -> f64 {
    let (mut sig, mut noise) = (0f64, 0f64);
    for (x, q, n) in items {
        let (x, q) = (x as f64, q as f64);
        sig += n * x * x;
        noise += n * (x - q) * (x - q);
    }
    if sig > 0.0 { noise / sig } else { 0.0 }
}

/// The scales tried: `smallest · q_max / q`, finest first.
pub fn candidates(smallest: f64, q_max: f64, search: bool) -> Vec<f64> {
    let hi = if search { q_max * CLIP } else { q_max };
    let lo = (q_max / 2.0).ceil().max(1.0);
    let mut q = hi;
    let mut out = Vec::new();
    while q >= lo {
        out.push(smallest * q_max / q);
        q -= 1.0;
    }
    out
}

/// The scale with the smallest error for `tables` and the populations'
/// thresholds and biases (`(values, uses)` pairs), from `candidates`.
pub fn best_scale(
    tables: &[(&[f32], &[u64])],
    thresholds: &[f32],
    biases: &[f32],
    q_max: f64,
    scales: &[f64],
) -> f64 {
    let errors: Vec<f64> = scales
        .par_iter()
        .map(|&s| {
            let w = Grid {
                step: s,
                max: q_max,
            };
            let on = |x: f32, max: f64| Grid { step: s, max }.round(x).0;
            let weights = nsr(tables.iter().flat_map(|(v, n)| {
                v.iter()
                    .zip(n.iter())
                    .map(move |(&x, &n)| (x, w.round(x).0, n as f64))
            }));
            let theta = nsr(thresholds.iter().map(|&t| (t, on(t, ALPHA_MAX - 1.0), 1.0)));
            let leak = nsr(biases.iter().map(|&b| (b, on(b, LEAK_MAX), 1.0)));
            weights + theta + leak
        })
        .collect();
    scales[grid::best(&errors)]
}

/// Quantizes one group of populations and the projections into them.
pub(super) fn quantize_group(g: &mut Graph, grp: &Group, f: &Format, found: &mut Found) {
    let q_max = int_max(f.bits);
    // The tables of the group's projections and how often each entry is used.
    let mut tables: Vec<Table> = Vec::new();
    let mut of_projection: Vec<Option<(usize, TensorId)>> = Vec::new();
    for &p in &grp.projections {
        let (Op::Project(pr), Some(q)) = (g.op(p), g.quant(p)) else {
            of_projection.push(None);
            continue;
        };
        let QuantKind::AxonTypes { types, values, .. } = q.kind else {
            of_projection.push(None);
            continue;
        };
        let t = match tables.iter().position(|t| t.id == values) {
            Some(t) => t,
            None => {
                let v = g.tensor(values);
                let k = v.shape().get(1).copied().unwrap_or(1).max(1) as usize;
                let vals = v.f32s().map(<[f32]>::to_vec).unwrap_or_default();
                tables.push(Table {
                    id: values,
                    k,
                    uses: vec![0; vals.len()],
                    values: vals,
                });
                tables.len() - 1
            }
        };
        if let (Some(s), Some(ty)) = (Synapses::of(g.tensor(pr.weights)), g.tensor(types).i32s()) {
            count_uses(&s, ty, &mut tables[t]);
        }
        of_projection.push(Some((t, types)));
    }
    for (&p, a) in grp.projections.iter().zip(&of_projection) {
        if a.is_none() {
            found.errors.push(
                PassDiag::error(
                    "E0900",
                    format!(
                        "internal error: projection {} has no axon types (`legalize` factors every projection into them)",
                        g.label(p)
                    ),
                )
                .at(g.span(p), "this projection"),
            );
        }
    }
    // The constants every scale must hold without saturating.
    let mut thresholds = Vec::new();
    let mut biases = Vec::new();
    for &pop in &grp.pops {
        if let Some(v) = params::values(g, pop, "threshold") {
            thresholds = v.fold(thresholds, |mut a, x| {
                a.push(x);
                a
            });
        }
        // The bias and the leak toward zero share the leak register λ.
        for name in ["bias", "leak"] {
            if let Some(v) = params::values(g, pop, name) {
                biases = v.fold(biases, |mut a, x| {
                    a.push(x);
                    a
                });
            }
        }
    }
    let max_abs = |v: &[f32]| v.iter().fold(0f64, |m, x| m.max(x.abs() as f64));
    let table_max = tables
        .iter()
        .map(|t| max_abs(&t.values))
        .fold(0.0, f64::max);
    // The potential must hold every value the range pass bounded.
    let state = grp
        .pops
        .iter()
        .filter_map(|&pop| g.range(pop))
        .fold(0f64, |m, r| m.max(r.state as f64));
    let smallest = [
        table_max / q_max,
        max_abs(&biases) / LEAK_MAX,
        max_abs(&thresholds) / (ALPHA_MAX - 1.0),
        state / int_max(f.state_bits),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    let scale = if smallest > 0.0 && smallest.is_finite() {
        let theta_max = max_abs(&thresholds);
        let leak_max = max_abs(&biases);
        let scales: Vec<f64> = candidates(smallest, q_max, f.search)
            .into_iter()
            .filter(|&s| {
                (theta_max / s).round() <= ALPHA_MAX - 1.0
                    && (leak_max / s).round() <= LEAK_MAX
                    && state / s <= int_max(f.state_bits)
            })
            .collect();
        let views: Vec<(&[f32], &[u64])> = tables
            .iter()
            .map(|t| (t.values.as_slice(), t.uses.as_slice()))
            .collect();
        if scales.is_empty() {
            smallest
        } else {
            best_scale(&views, &thresholds, &biases, q_max, &scales)
        }
    } else {
        1.0
    };
    let grid = Grid {
        step: scale,
        max: q_max,
    };
    // New tables, then each projection's weights from its table.
    let new_ids: Vec<(TensorId, Vec<f32>)> = tables
        .iter()
        .map(|t| {
            let q: Vec<f32> = t.values.iter().map(|&x| grid.round(x).0).collect();
            let shape = g.tensor(t.id).shape().to_vec();
            // Invariant: same shape and count as the table replaced.
            let tensor = Tensor::from_f32(shape, q.clone(), Origin::Derived)
                .expect("one value per neuron and type");
            (g.add_tensor(tensor), q)
        })
        .collect();
    for (&p, a) in grp.projections.iter().zip(&of_projection) {
        let Some((t, types)) = *a else { continue };
        let Op::Project(pr) = *g.op(p) else { continue };
        let w = g.tensor(pr.weights);
        let (Some(s), Some(ty)) = (Synapses::of(w), g.tensor(types).i32s()) else {
            continue;
        };
        let (q, stats) = rebuild(&s, ty, &new_ids[t].1, tables[t].k, &grid);
        let tensor = relaid(w, Values::F32(q));
        let id = g.add_tensor(tensor);
        if let Op::Project(pr) = g.op_mut(p) {
            pr.weights = id;
        }
        g.set_quant(
            p,
            Quant {
                kind: QuantKind::AxonTypes {
                    bits: f.bits,
                    types,
                    values: new_ids[t].0,
                },
                scale: scale as f32,
            },
        );
        found.weights.push(WeightRow {
            projection: p,
            format: format!("{} axon types, {}-bit", tables[t].k, f.bits),
            step: show_step(scale),
            stats,
        });
    }
    let on = |x: f32, lo: f64, hi: f64| ((x as f64 / scale).round().clamp(lo, hi) * scale) as f32;
    for &pop in &grp.pops {
        let mut worst = Worst::default();
        params::map(g, pop, "threshold", &mut worst, |t| {
            on(t, 0.0, ALPHA_MAX - 1.0)
        });
        params::map(g, pop, "bias", &mut worst, |b| on(b, -LEAK_MAX, LEAK_MAX));
        params::map(g, pop, "v_min", &mut worst, |v| {
            if v.is_finite() {
                on(v, -BETA_MAX, 0.0)
            } else {
                v
            }
        });
        super::round_decays(g, pop, snn_ir::target::DecayFormat::Linear, &mut worst);
        g.set_quant(
            pop,
            Quant {
                kind: QuantKind::Int { bits: f.state_bits },
                scale: scale as f32,
            },
        );
        found.populations.push(PopRow {
            population: pop,
            scale: show_step(scale),
            worst,
        });
    }
}

/// Adds the synapses of `s` (column types `ty`) to the uses of `table`.
fn count_uses(s: &Synapses, ty: &[i32], table: &mut Table) {
    let k = table.k;
    let blocks = s.blocks();
    let parts: Vec<(usize, Vec<u64>)> = blocks
        .into_par_iter()
        .map(|rows| {
            let mut n = vec![0u64; rows.len() * k];
            for (i, r) in rows.clone().enumerate() {
                for e in s.row(r) {
                    if s.weights[e] != 0.0 {
                        let c = s.col(r, e) as usize;
                        let t = ty.get(c).copied().unwrap_or(0).clamp(0, k as i32 - 1) as usize;
                        n[i * k + t] += 1;
                    }
                }
            }
            (rows.start, n)
        })
        .collect();
    for (start, n) in parts {
        for (i, x) in n.into_iter().enumerate() {
            if let Some(u) = table.uses.get_mut(start * k + i) {
                *u += x;
            }
        }
    }
}

/// The weights `c[j][i] · table[j][G_i]` laid out like `s`, and how far
/// they are from the weights of `s`.
fn rebuild(s: &Synapses, ty: &[i32], table: &[f32], k: usize, grid: &Grid) -> (Arc<[f32]>, Stats) {
    let mut out = grid::zeroed(s.weights.len());
    let blocks = s.blocks();
    let mut chunks: Vec<&mut [f32]> = Vec::with_capacity(blocks.len());
    // Invariant: `out` was just made and is not shared.
    let mut rest = Arc::get_mut(&mut out).expect("a new buffer");
    for b in &blocks {
        let (head, tail) = rest.split_at_mut(s.span(b).len());
        chunks.push(head);
        rest = tail;
    }
    let parts: Vec<Stats> = blocks
        .into_par_iter()
        .zip(chunks)
        .map(|(rows, chunk)| {
            let base = s.span(&rows).start;
            let mut st = Stats::default();
            for r in rows {
                for e in s.row(r) {
                    let w = s.weights[e];
                    if w == 0.0 {
                        continue;
                    }
                    let c = s.col(r, e) as usize;
                    let t = ty.get(c).copied().unwrap_or(0).clamp(0, k as i32 - 1) as usize;
                    let q = table.get(r * k + t).copied().unwrap_or(0.0);
                    chunk[e - base] = q;
                    st.add(w, q, grid.int(w as f64).1);
                }
            }
            st
        })
        .collect();
    (out, parts.into_iter().fold(Stats::default(), Stats::merge))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One neuron per row, weights by type [1.0, −0.5, 0.25] and
    /// [0.5, −1.0, 0.75], threshold 2.0, leak −0.1. The smallest scale that
    /// saturates nothing is 1/255 (the weights bind). Weights are exact
    /// when 0.25 · q and 0.75 · q are integers (q a multiple of 4), the
    /// leak when 0.1 · q is (a multiple of 10): q = 240 is the largest of
    /// [128, 255] with both, so the scale is 1/240 and nothing changes.
    #[test]
    fn the_finest_scale_on_which_everything_is_an_integer() {
        let values = [1.0f32, -0.5, 0.25, 0.0, 0.5, -1.0, 0.75, 0.0];
        let uses = [1u64, 1, 1, 0, 1, 1, 1, 0];
        let scales = candidates(1.0 / 255.0, 255.0, false);
        assert_eq!(scales.len(), 128);
        assert_eq!(scales[0], 1.0 / 255.0);
        let s = best_scale(&[(&values, &uses)], &[2.0], &[-0.1], 255.0, &scales);
        assert_eq!(s, 1.0 / 255.0 * 255.0 / 240.0);
        let grid = Grid {
            step: s,
            max: 255.0,
        };
        for &v in &values {
            assert_eq!(grid.round(v), (v, false));
        }
        // Without the leak, 252 (the largest multiple of 4) wins.
        let s = best_scale(&[(&values, &uses)], &[2.0], &[], 255.0, &scales);
        assert_eq!(s, 1.0 / 255.0 * 255.0 / 252.0);
    }

    /// 5-bit weights (|k| ≤ 15) for one neuron: 1.0 used by one synapse,
    /// 0.03 by 9999. Unclipped (q ∈ [8, 15], scale 1/q), 0.03 · q < 0.5
    /// rounds to 0: squared error 9999 · 0.03² = 8.9991. With clipping,
    /// q runs up to 60; scale 1/32 gives 0.03 → 1/32 (error 1.5625e-6 ·
    /// 9999 = 0.015623) and clips 1.0 to 15/32 (0.53125² = 0.282227):
    /// 0.297850 in all, below 1/33 (0.000918 + 0.297521 = 0.298439),
    /// 1/34 (0.315744) and 1/31 (0.317373).
    #[test]
    fn clipping_competes_with_weight_bits() {
        let values = [1.0f32, 0.03];
        let uses = [1u64, 9999];
        let plain = candidates(1.0 / 15.0, 15.0, false);
        let s0 = best_scale(&[(&values, &uses)], &[], &[], 15.0, &plain);
        assert_eq!(s0, 1.0 / 15.0);
        let g0 = Grid {
            step: s0,
            max: 15.0,
        };
        assert_eq!(g0.round(0.03), (0.0, false));
        let clip = candidates(1.0 / 15.0, 15.0, true);
        assert_eq!(clip.len(), 53);
        let s1 = best_scale(&[(&values, &uses)], &[], &[], 15.0, &clip);
        assert!((s1 - 1.0 / 32.0).abs() < 1e-15, "{s1}");
        let g1 = Grid {
            step: s1,
            max: 15.0,
        };
        assert_eq!(g1.round(0.03), (0.03125, false));
        assert_eq!(g1.round(1.0), (0.46875, true));
    }
}
