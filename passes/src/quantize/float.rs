//! Floating-point neurons (SENeCA): the neuron processing elements compute
//! in bfloat16, so every neuron constant becomes the nearest bfloat16
//! (round to nearest, ties to even) and no scale is shared.
//!
//! Weights are bfloat16 too, or, with `--weight-bits N` (or a target whose
//! weights are integers), `N`-bit signed integers times one scale per
//! projection. The chip turns them back into bfloat16 before it adds them,
//! so `k · scale` must be a bfloat16 for every `|k| ≤ 2^(N−1) − 1`: the
//! scale has at most `9 − N` significant bits (an integer of `N − 1` bits
//! times a scale of `9 − N` bits has at most the 8 bits a bfloat16 holds),
//! and at most 5, which is fine enough a search. The scales tried run from
//! the smallest that does not saturate the largest weight up to twice it,
//! and with `--weight-bits` down to a quarter of it (clipping the largest
//! weights); the one with the smallest squared error wins, the finest
//! among equals.

use std::sync::Arc;

use snn_ir::target::DecayFormat;
use snn_ir::tensor::Values;
use snn_ir::{Graph, NodeId, Op, Quant, QuantKind};

use super::grid::{self, Grid, Stats, bf16, int_max, show_step};
use super::params::{self, Worst};
use super::{Found, Group, PopRow, WeightRow};
use crate::legalize::synapses::relaid;

/// Significant bits of a scale at most.
const SCALE_BITS: u8 = 5;

/// A floating-point target as the pass uses it.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// Integer weights of this many bits, else bfloat16 weights.
    pub bits: Option<u8>,
    /// Let clipping scales compete (`--weight-bits`).
    pub search: bool,
    /// The neurons compute in this format (`Bf16`: bfloat16 constants).
    pub decays: DecayFormat,
}

impl Format {
    fn bf16_neurons(&self) -> bool {
        self.decays == DecayFormat::Bf16
    }
}

/// Significant bits a scale of `bits`-bit integer weights may have.
pub fn scale_bits(bits: u8, bf16_neurons: bool) -> u8 {
    if bf16_neurons {
        SCALE_BITS.min(9u8.saturating_sub(bits).max(1))
    } else {
        SCALE_BITS
    }
}

/// The scales of at most `sig` significant bits tried for weights whose
/// largest magnitude is `m`, integers up to `q_max`, finest first.
pub fn candidates(m: f64, q_max: f64, sig: u8, clip: bool) -> Vec<f64> {
    let lo_m = 1u64 << (sig - 1);
    let hi_m = 1u64 << sig;
    // `mant · 2^k` with `mant ∈ [lo_m, hi_m)`; the next scale up.
    let next = |mant: &mut u64, k: &mut i32| {
        *mant += 1;
        if *mant == hi_m {
            *mant = lo_m;
            *k += 1;
        }
    };
    let x = m / (q_max + 0.5);
    let mut k = x.log2().floor() as i32 - (sig as i32 - 1);
    let mut mant = (x / 2f64.powi(k)).floor().max(1.0) as u64;
    while mant >= hi_m {
        mant /= 2;
        k += 1;
    }
    while mant < lo_m {
        mant *= 2;
        k -= 1;
    }
    let value = |mant: u64, k: i32| mant as f64 * 2f64.powi(k);
    while (m / value(mant, k)).round() > q_max {
        next(&mut mant, &mut k);
    }
    let top = 2.0 * value(mant, k);
    if clip {
        k -= 2;
    }
    let mut out = Vec::new();
    while value(mant, k) <= top {
        out.push(value(mant, k));
        next(&mut mant, &mut k);
    }
    out
}

/// Quantizes one group: the weights of each projection, then the
/// constants of each population.
pub(super) fn quantize_group(g: &mut Graph, grp: &Group, f: &Format, found: &mut Found) {
    for &p in &grp.projections {
        weights(g, p, f, found);
    }
    let constant = |x: f32| if f.bf16_neurons() { bf16(x) } else { x };
    for &pop in &grp.pops {
        let mut worst = Worst::default();
        for name in ["threshold", "bias", "b0", "beta", "v_min"] {
            params::map(g, pop, name, &mut worst, constant);
        }
        params::map_act(g, pop, &mut worst, constant);
        super::round_decays(g, pop, f.decays, &mut worst);
        if f.bf16_neurons() {
            g.set_quant(
                pop,
                Quant {
                    kind: QuantKind::Bf16,
                    scale: 1.0,
                },
            );
        }
        found.populations.push(PopRow {
            population: pop,
            scale: "-".into(),
            worst,
        });
    }
}

fn weights(g: &mut Graph, p: NodeId, f: &Format, found: &mut Found) {
    let Op::Project(pr) = *g.op(p) else { return };
    let w = g.tensor(pr.weights);
    let Some(values) = w.f32s() else { return };
    let (q, stats, quant, format, step): (Arc<[f32]>, Stats, Quant, String, String) = match f.bits {
        None => {
            let (q, stats) = grid::apply(values, |x| (bf16(x), false));
            let quant = Quant {
                kind: QuantKind::Bf16,
                scale: 1.0,
            };
            (q, stats, quant, "bf16".into(), "-".into())
        }
        Some(bits) => {
            let q_max = int_max(bits);
            let m = grid::max_abs(values);
            let scale = if m > 0.0 {
                let scales = candidates(m, q_max, scale_bits(bits, f.bf16_neurons()), f.search);
                let grids: Vec<Grid> = scales
                    .iter()
                    .map(|&step| Grid { step, max: q_max })
                    .collect();
                scales[grid::best(&grid::squared_errors(values, &grids))]
            } else {
                1.0
            };
            let grid = Grid {
                step: scale,
                max: q_max,
            };
            let (q, stats) = grid::apply(values, |x| grid.round(x));
            let quant = Quant {
                kind: QuantKind::Int { bits },
                scale: scale as f32,
            };
            (q, stats, quant, format!("int{bits}"), show_step(scale))
        }
    };
    let t = relaid(w, Values::F32(q));
    let id = g.add_tensor(t);
    if let Op::Project(pr) = g.op_mut(p) {
        pr.weights = id;
    }
    g.set_quant(p, quant);
    found.weights.push(WeightRow {
        projection: p,
        format,
        step,
        stats,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_of_int8_weights_are_powers_of_two() {
        // 7-bit integers times a 1-bit scale fit bfloat16's 8 bits.
        assert_eq!(scale_bits(8, true), 1);
        assert_eq!(scale_bits(4, true), 5);
        assert_eq!(scale_bits(6, true), 3);
        // Largest 1.0: 2^-7 would need 128 > 127, so 2^-6; with clipping
        // 2^-8 and 2^-7 compete, and 2^-5 above.
        assert_eq!(
            candidates(1.0, 127.0, 1, true),
            vec![2f64.powi(-8), 2f64.powi(-7), 2f64.powi(-6), 2f64.powi(-5)]
        );
        assert_eq!(
            candidates(1.0, 127.0, 1, false),
            vec![2f64.powi(-6), 2f64.powi(-5)]
        );
    }

    /// int4 (|k| ≤ 7) with 5-bit scales `m · 2^k`, `m ∈ [16, 31]`. For
    /// the largest weight 1.0, 1/7.5 = 0.1333 lies between 17/128 = 0.1328
    /// (1.0 → 7.53 → 8, saturated) and 18/128 = 0.140625, the smallest
    /// unsaturated scale; the candidates run up to 2 · 18/128 = 36/128.
    #[test]
    fn int4_scales_have_five_significant_bits() {
        let c = candidates(1.0, 7.0, 5, false);
        assert_eq!(c.first(), Some(&(18.0 / 128.0)));
        assert_eq!(c.last(), Some(&(36.0 / 128.0)));
        assert_eq!(c.len(), 14 + 3);
        for s in &c {
            // Every multiple up to 7 is a bfloat16.
            for k in 1..=7 {
                let x = (k as f64 * s) as f32;
                assert_eq!(bf16(x), x, "{k} · {s}");
            }
        }
        // With clipping, from 18/512 up.
        let c = candidates(1.0, 7.0, 5, true);
        assert_eq!(c.first(), Some(&(18.0 / 512.0)));
    }
}
