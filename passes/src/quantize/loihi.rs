//! Loihi and Loihi 2: one power-of-two scale `s` per population (the float
//! value of one unit of its membrane state), one weight exponent per
//! projection (a synapse format), and the compartment's integer registers:
//!
//! ```text
//! weight     w = mant · 2^(6+exp) · s    |mant| ≤ 2^(bits−1) − 1, exp ∈ [exp_min, exp_max]
//! threshold  θ = vth · 2^6 · s           vth ∈ [0, 2^17 − 1]
//! bias       b = mant · 2^exp · s        |mant| ≤ 4095, exp ∈ [0, 7]
//! β, v_min, clamp bounds: integers · s;  state: 24-bit signed integers · s
//! ```
//!
//! Weights, threshold and bias of a population share `s`, so the integer
//! neuron crosses its threshold exactly when the float one does (up to the
//! rounding of each constant). `s` is the smallest power of two that keeps
//! every register in range: the threshold in 17 bits, the largest weight
//! within the mantissa at the largest exponent, the bias within its
//! mantissa and exponent, and every register within the 24-bit state: the
//! population's range, which the `range` pass bounded from what each source
//! really sends (graded values included), summed through the decays, or
//! took from calibration data. Populations that read one projection share
//! one scale.
//!
//! Each projection then takes the smallest exponent whose grid holds its
//! largest weight without saturating: the grids of a population are nested
//! powers of two, so no other exponent that does not saturate rounds any
//! weight closer. With `--weight-bits`, the exponents up to three below
//! (grids that clip the largest weights to a half, a quarter or an eighth)
//! compete too, and the one with the smallest squared error wins.

use rayon::prelude::*;
use snn_ir::target::DecayFormat;
use snn_ir::tensor::{Tensor, Values};
use snn_ir::{Act, Graph, ModelKind, NodeId, Op, Quant, QuantKind};

use super::grid::{self, Grid, int_max, pow2_at_least, show_step};
use super::params::{self, Worst};
use super::{Found, Group, PopRow, WeightRow, decays};
use crate::legalize::synapses::{Synapses, relaid};
use crate::manager::PassDiag;

/// Threshold mantissa: 17 bits, unsigned [CHIPS.md, Lava LIF bit-accurate].
pub const VTH_MAX: f64 = 131_071.0;
/// The threshold mantissa is shifted left by 6 [CHIPS.md].
pub const VTH_SHIFT: i32 = 6;
/// Bias mantissa: 13 bits, signed [CHIPS.md].
pub const BIAS_MANT_MAX: f64 = 4095.0;
/// Bias exponent: 3 bits, unsigned [CHIPS.md].
pub const BIAS_EXP_MAX: i32 = 7;
/// Exponents below which the grids tried with `--weight-bits` stop.
const CLIP_EXPONENTS: i8 = 3;
/// Bounds on `log2 s`, so that `s` and every value on its grids stay
/// normal `f32` numbers.
const SCALE_EXP: (i32, i32) = (-100, 100);

/// A Loihi target as the pass uses it.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// Mantissa bits, sign included.
    pub bits: u8,
    /// The chip's own mantissa width: a projection of one weight magnitude
    /// (a relay, a spike code's wiring) takes it whatever `bits` is, since
    /// `--weight-bits` sets the resolution of trained weights and Loihi
    /// gives each synapse format its own width.
    pub full_bits: u8,
    pub exp_min: i8,
    pub exp_max: i8,
    /// Let clipping grids compete (`--weight-bits`).
    pub search: bool,
    pub decays: DecayFormat,
    pub state_bits: u8,
}

impl Format {
    fn v_max(&self) -> f64 {
        int_max(self.state_bits)
    }
}

/// The grid of exponent `exp` under population scale `s`.
pub fn weight_grid(s: f64, exp: i8, bits: u8) -> Grid {
    Grid {
        step: s * 2f64.powi(6 + exp as i32),
        max: int_max(bits),
    }
}

/// The smallest exponent in range whose grid holds `max_w` without
/// saturating (the largest exponent if none does).
pub fn smallest_exponent(max_w: f64, s: f64, f: &Format) -> i8 {
    (f.exp_min..=f.exp_max)
        .find(|&e| !weight_grid(s, e, f.bits).int(max_w).1)
        .unwrap_or(f.exp_max)
}

/// The exponent for `weights` (largest magnitude `max_w`) under scale `s`.
pub fn choose_exponent(weights: &[f32], max_w: f64, s: f64, f: &Format) -> i8 {
    let e0 = smallest_exponent(max_w, s, f);
    if !f.search {
        return e0;
    }
    let exps: Vec<i8> = (0..=CLIP_EXPONENTS)
        .map(|k| e0 - k)
        .filter(|&e| e >= f.exp_min)
        .collect();
    let grids: Vec<Grid> = exps.iter().map(|&e| weight_grid(s, e, f.bits)).collect();
    exps[grid::best(&grid::squared_errors(weights, &grids))]
}

/// A bias `b` as `mant · 2^exp · s`: the smallest exponent whose rounded
/// mantissa fits (so the value is the nearest the register holds).
pub fn bias(b: f32, s: f64) -> f32 {
    let x = b as f64 / s;
    for exp in 0..=BIAS_EXP_MAX {
        let step = 2f64.powi(exp);
        let mant = (x / step).round();
        if mant.abs() <= BIAS_MANT_MAX {
            return (mant * step * s) as f32;
        }
    }
    (BIAS_MANT_MAX.copysign(x) * 2f64.powi(BIAS_EXP_MAX) * s) as f32
}

/// A threshold on its grid, `vth · 2^6 · s`.
pub fn threshold(t: f32, s: f64) -> f32 {
    let step = s * 2f64.powi(VTH_SHIFT);
    (((t as f64) / step).round().clamp(0.0, VTH_MAX) * step) as f32
}

/// The largest `|w|` and the L1 norm of every row of a weight tensor.
fn survey(w: &Tensor) -> Option<(f64, Vec<f64>)> {
    let s = Synapses::of(w)?;
    let parts: Vec<(f64, Vec<f64>)> = s
        .blocks()
        .into_par_iter()
        .map(|rows| {
            let mut m = 0f64;
            let mut l1 = Vec::with_capacity(rows.len());
            for r in rows {
                let mut a = 0f64;
                for k in s.row(r) {
                    let x = s.weights[k].abs() as f64;
                    m = m.max(x);
                    a += x;
                }
                l1.push(a);
            }
            (m, l1)
        })
        .collect();
    let mut max = 0f64;
    let mut l1 = Vec::with_capacity(s.rows);
    for (m, v) in parts {
        max = max.max(m);
        l1.extend(v);
    }
    Some((max, l1))
}

/// The smallest scale population `pop` allows, given the largest weight
/// and the largest row L1 norm of its incoming projections.
fn smallest_scale(g: &Graph, pop: NodeId, max_w: f64, l1: f64, f: &Format) -> f64 {
    let Op::Population(p) = g.op(pop) else {
        return 0.0;
    };
    let kind = p.model.kind();
    let theta_name = if kind == ModelKind::Alif {
        "b0"
    } else {
        "threshold"
    };
    let theta = params::max(g, pop, theta_name).unwrap_or(0.0).max(0.0);
    let bias = params::max_abs(g, pop, "bias");
    // Retention factors as the chip will have them (they do not depend on
    // the scale); decay rounding is monotone, so the largest stays largest.
    let kept = |name: &str| -> Option<f64> {
        let role = decays::of(kind).iter().find(|(n, _)| *n == name)?.1;
        let a = params::max(g, pop, name)?;
        Some(decays::round(f.decays, role, a as f32) as f64)
    };
    let floor = match f.decays {
        DecayFormat::Fraction { bits } => 1.0 / (1u64 << bits) as f64,
        _ => f64::EPSILON,
    };
    // The range pass bounds every register; without it (a graph quantized
    // on its own), every source counts as sending events of size 1.
    let range = match g.range(pop) {
        Some(r) => r.state as f64,
        None => {
            let current = kept("alpha_syn").map_or(1.0, |a| 1.0 / (1.0 - a).max(floor));
            let mut range = l1 * current + bias;
            if kind == ModelKind::Li
                && let Some(a) = kept("alpha_mem")
                && a < 1.0
            {
                range /= 1.0 - a;
            }
            if kind == ModelKind::Alif {
                range = range.max(theta + params::max_abs(g, pop, "beta"));
            }
            if let Some(Act::Clamp { lo, hi }) = params::act(g, pop) {
                range = range.max(lo.abs() as f64).max(hi.abs() as f64);
            }
            range.max(theta)
        }
    };
    [
        theta / (VTH_MAX * 2f64.powi(VTH_SHIFT)),
        max_w / (int_max(f.bits) * 2f64.powi(6 + f.exp_max as i32)),
        bias / (BIAS_MANT_MAX * 2f64.powi(BIAS_EXP_MAX)),
        range / f.v_max(),
    ]
    .into_iter()
    .fold(0.0, f64::max)
}

/// Quantizes one group of populations and the projections into them.
pub(super) fn quantize_group(g: &mut Graph, grp: &Group, f: &Format, found: &mut Found) {
    // Largest weight per projection; per population, the largest incoming
    // weight and the largest row L1 norm over all its inputs.
    let mut max_w = Vec::with_capacity(grp.projections.len());
    let mut l1: Vec<Vec<f64>> = grp
        .pops
        .iter()
        .map(|&pop| match g.op(pop) {
            Op::Population(p) => vec![0.0; p.size as usize],
            _ => vec![],
        })
        .collect();
    let mut pop_max_w = vec![0f64; grp.pops.len()];
    let mut rows_l1: Vec<Vec<f64>> = Vec::with_capacity(grp.projections.len());
    for &p in &grp.projections {
        let survey = match g.op(p) {
            Op::Project(pr) => survey(g.tensor(pr.weights)),
            _ => None,
        };
        let (m, rows) = survey.unwrap_or((0.0, vec![]));
        max_w.push(m);
        rows_l1.push(rows);
    }
    for (k, mine) in grp.incoming.iter().enumerate() {
        for &j in mine {
            pop_max_w[k] = pop_max_w[k].max(max_w[j]);
            for (a, b) in l1[k].iter_mut().zip(&rows_l1[j]) {
                *a += b;
            }
        }
    }
    let need = grp
        .pops
        .iter()
        .enumerate()
        .map(|(k, &pop)| {
            let row_max = l1[k].iter().copied().fold(0.0, f64::max);
            smallest_scale(g, pop, pop_max_w[k], row_max, f)
        })
        .fold(0.0, f64::max);
    let s = if need > 0.0 && need.is_finite() {
        let k = pow2_at_least(need).log2() as i32;
        2f64.powi(k.clamp(SCALE_EXP.0, SCALE_EXP.1))
    } else {
        1.0
    };
    for (&p, &m) in grp.projections.iter().zip(&max_w) {
        weights(g, p, m, s, f, found);
    }
    let v_max = f.v_max();
    for &pop in &grp.pops {
        let mut worst = Worst::default();
        params::map(g, pop, "threshold", &mut worst, |t| threshold(t, s));
        params::map(g, pop, "b0", &mut worst, |t| threshold(t, s));
        params::map(g, pop, "bias", &mut worst, |b| bias(b, s));
        let on_state = |x: f32| ((x as f64 / s).round().clamp(-v_max, v_max) * s) as f32;
        params::map(g, pop, "beta", &mut worst, on_state);
        params::map(g, pop, "v_min", &mut worst, |x| {
            if x.is_finite() { on_state(x) } else { x }
        });
        params::map_act(g, pop, &mut worst, on_state);
        super::round_decays(g, pop, f.decays, &mut worst);
        g.set_quant(
            pop,
            Quant {
                kind: QuantKind::Int { bits: f.state_bits },
                scale: s as f32,
            },
        );
        found.populations.push(PopRow {
            population: pop,
            scale: show_step(s),
            worst,
        });
    }
}

/// The exponent a spike projection is raised to. With a negative exponent
/// `−k`, the chip sums a step's mantissas and shifts the sum right (Lava's
/// floor): every step that brings spikes loses up to one unit of the
/// exponent-0 grid, always downwards, and a current accumulates that bias
/// over its time constant. Rounding each weight on the exponent-0 grid
/// costs as much per synapse but in both directions. So a spike projection
/// keeps a negative exponent only as far as its largest mantissa would
/// otherwise fall below `2^(bits − 3)` (32 of 127 for 8 bits): the largest
/// exponent up to 0 that keeps at least that many levels.
fn floor_safe_exponent(max_w: f64, s: f64, f: &Format) -> i8 {
    let keep = 2f64.powi(f.bits as i32 - 3).max(1.0);
    let mut e = 0i8;
    while e > f.exp_min && max_w / (s * 2f64.powi(6 + e as i32)) < keep {
        e -= 1;
    }
    e
}

/// Whether the nonzero `values` all have one magnitude.
fn one_magnitude(values: &[f32]) -> bool {
    let mut nonzero = values.iter().filter(|x| **x != 0.0).map(|x| x.abs());
    match nonzero.next() {
        Some(first) => nonzero.all(|x| x == first),
        None => false,
    }
}

/// Whether projection `p` carries spikes (summed as mantissas per step
/// and format, see the runtime) rather than graded values.
fn carries_spikes(g: &Graph, p: NodeId) -> bool {
    match g.arg(p, 0).map(|s| g.op(s)) {
        Some(Op::Population(q)) => !matches!(q.model.kind(), ModelKind::Li | ModelKind::SigmaDelta),
        Some(Op::Input { .. }) => false,
        _ => false,
    }
}

/// Quantizes the weights of projection `p` (largest magnitude `m`).
fn weights(g: &mut Graph, p: NodeId, m: f64, s: f64, f: &Format, found: &mut Found) {
    let Op::Project(pr) = *g.op(p) else { return };
    let w = g.tensor(pr.weights);
    let Some(values) = w.f32s() else { return };
    let one = one_magnitude(values);
    let wide = Format {
        bits: f.full_bits,
        ..*f
    };
    let f = if one { &wide } else { f };
    let mut exp = choose_exponent(values, m, s, f);
    if carries_spikes(g, p) {
        exp = exp.max(floor_safe_exponent(m, s, f));
    }
    let grid = weight_grid(s, exp, f.bits);
    let (q, stats) = grid::apply(values, |x| grid.round(x));
    let t = relaid(w, Values::F32(q));
    let id = g.add_tensor(t);
    if let Op::Project(pr) = g.op_mut(p) {
        pr.weights = id;
    }
    g.set_quant(
        p,
        Quant {
            kind: QuantKind::Loihi { bits: f.bits, exp },
            scale: s as f32,
        },
    );
    if stats.count > 0 && stats.zeroed == stats.count {
        found.errors.push(
            PassDiag::error(
                "E0453",
                format!(
                    "every weight of projection {} rounds to zero: its largest, {:e}, is below half the finest step the chip can give it ({})",
                    g.label(p),
                    m as f32,
                    show_step(grid.step)
                ),
            )
            .at(g.span(p), "this projection")
            .note(format!(
                "the population it feeds has one unit of state worth {} (set by its threshold, bias or other inputs), and a weight exponent of at least {}",
                show_step(s),
                f.exp_min
            ))
            .help("scale this projection's weights up (and the population's threshold and bias with them), or lower the population's threshold"),
        );
    }
    found.weights.push(WeightRow {
        projection: p,
        format: format!("{}-bit mantissa, exp {exp}", f.bits),
        step: show_step(grid.step),
        stats,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(bits: u8, search: bool) -> Format {
        Format {
            bits,
            full_bits: 8,
            exp_min: -8,
            exp_max: 7,
            search,
            decays: DecayFormat::Fraction { bits: 12 },
            state_bits: 24,
        }
    }

    /// `[[0.5, −0.25], [1.0, 0.126]]` with 8-bit mantissas. The largest
    /// weight, 1.0, must fit 127 · 2^(6+7) · s: s ≥ 1/(127 · 2^13) =
    /// 9.6e-7, so s = 2^-19 (2^-20 = 9.5e-7 is too small). At exp 6 one
    /// step is 2^-19 · 2^12 = 2^-7 and 1.0 would need mantissa 128; at exp 7
    /// the step is 2^-6: mantissas 32, −16, 64 and 8.064 → 8.
    #[test]
    fn eight_bit_mantissas_and_exponent() {
        let w = [0.5f32, -0.25, 1.0, 0.126];
        let f = format(8, false);
        let s = 2f64.powi(-19);
        assert_eq!(pow2_at_least(1.0 / (127.0 * 2f64.powi(13))), s);
        assert_eq!(smallest_exponent(1.0, s, &f), 7);
        let e = choose_exponent(&w, 1.0, s, &f);
        assert_eq!(e, 7);
        let grid = weight_grid(s, e, 8);
        assert_eq!(grid.step, 2f64.powi(-6));
        let (q, stats) = grid::apply(&w, |x| grid.round(x));
        let mant: Vec<f64> = q.iter().map(|&x| x as f64 / grid.step).collect();
        assert_eq!(mant, vec![32.0, -16.0, 64.0, 8.0]);
        assert_eq!(*q, [0.5, -0.25, 1.0, 0.125]);
        assert_eq!((stats.zeroed, stats.saturated), (0, 0));
    }

    /// The same weights with `--weight-bits 3` (|mant| ≤ 3), s = 2^-14.
    /// The smallest exponent holding 1.0 is 7 (step 2^-14 · 2^13 = 0.5,
    /// mantissa 2; at exp 6 it would be 4). Squared errors:
    /// step 0.5: [0.5, −0.5, 1.0, 0] → 0 + 0.0625 + 0 + 0.015876 = 0.078376;
    /// step 0.25 (largest 0.75): [0.5, −0.25, 0.75, 0.25] → 0 + 0 + 0.0625 +
    /// 0.015376 = 0.077876 (the smallest); step 0.125 (largest 0.375):
    /// 0.015625 + 0 + 0.390625 + 0.000001 = 0.406251; step 0.0625 more still.
    /// So exp 6, mantissas [2, −1, 3, 1], and 1.0 saturates.
    #[test]
    fn three_bit_mantissas_clip_when_that_is_closer() {
        let w = [0.5f32, -0.25, 1.0, 0.126];
        let s = 2f64.powi(-14);
        let plain = format(3, false);
        assert_eq!(choose_exponent(&w, 1.0, s, &plain), 7);
        let f = format(3, true);
        let e = choose_exponent(&w, 1.0, s, &f);
        assert_eq!(e, 6);
        let grid = weight_grid(s, e, 3);
        let (q, stats) = grid::apply(&w, |x| grid.round(x));
        assert_eq!(*q, [0.5, -0.25, 0.75, 0.25]);
        let mant: Vec<f64> = q.iter().map(|&x| x as f64 / grid.step).collect();
        assert_eq!(mant, vec![2.0, -1.0, 3.0, 1.0]);
        assert_eq!(stats.saturated, 1);
        // 10 · log10(1.328376 / 0.077876) = 12.3 dB.
        assert_eq!(stats.sqnr(), "12.3 dB");
    }

    #[test]
    fn bias_takes_the_smallest_exponent_that_fits() {
        // s = 1: 100 fits the 13-bit mantissa at exp 0; 10001 needs exp 2
        // (10001/4 = 2500.25 → 2500 → 10000); 0.3 / 0.5 = 0.6 → 1.
        assert_eq!(bias(100.0, 1.0), 100.0);
        assert_eq!(bias(10001.0, 1.0), 10000.0);
        assert_eq!(bias(-0.3, 0.5), -0.5);
        // 4095.6 rounds to 4096 at exp 0 (too big); at exp 1, 2047.8 → 2048.
        assert_eq!(bias(4095.6, 1.0), 4096.0);
        // Beyond 4095 · 2^7 the register saturates.
        assert_eq!(bias(1e9, 1.0), 4095.0 * 128.0);
    }

    #[test]
    fn thresholds_are_unsigned_17_bit_mantissas_shifted_by_6() {
        // s = 2^-12: one step 2^-6; 1.3 · 64 = 83.2 → 83.
        let s = 2f64.powi(-12);
        assert_eq!(threshold(1.3, s), 83.0 / 64.0);
        assert_eq!(threshold(-1.0, s), 0.0);
        assert_eq!(threshold(1e9, s), (VTH_MAX / 64.0) as f32);
    }
}
