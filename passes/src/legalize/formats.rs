//! Loihi's synapse formats. Every synapse format has one sign (the
//! excitatory/inhibitory split) and one weight exponent, so a projection
//! whose weights have both signs, or magnitudes that one exponent cannot
//! hold, becomes several projections from the same source into the same
//! population, one per (sign, exponent) group. The parts are disjoint and
//! their sum is the original projection.
//!
//! Exponent groups. With an `m`-bit mantissa (`mant_max = 2^(m−1) − 1`)
//! and one exponent, a format whose largest magnitude is `M` has the step
//! `2^⌈log2(M / mant_max)⌉` (in units of the population's scale, a power of
//! two, so the step is one too), and a weight below half a step rounds to
//! zero. Group 0 holds every weight of at least half its step. The weights
//! below start group 1 (at the largest of them, and so on) when losing them
//! would cost more than rounding already does: when their summed |w|
//! exceeds the mean rounding error of the group above, a quarter step per
//! synapse. Otherwise they stay in the group above (a normal distribution's
//! tail of near-zero weights is not worth a synapse format). Groups also
//! stop when the chip's exponent range or its formats per core run out;
//! weights then left that matter join the last group and are lost when
//! quantized (warning W0464).

use rayon::prelude::*;
use snn_ir::target::WeightFormat;
use snn_ir::{Graph, Op, Projection};

use super::synapses::{Delays, Synapses, derived_name, projections, split};
use crate::manager::{PassCx, PassDiag, Table};

/// The exponent groups of one projection's magnitudes.
#[derive(Clone, Debug, PartialEq)]
pub struct Bands {
    /// Group `i` holds `|w| ≥ floor[i]` (and below the previous floors).
    pub floor: Vec<f64>,
    /// Group `i`'s step relative to group 0's, as a power of two (≤ 0).
    pub offset: Vec<i32>,
    /// Weights below the last group's floor, which join the last group.
    pub below: u64,
    /// The largest magnitude.
    pub top: f64,
}

impl Bands {
    /// The group of magnitude `a` (> 0).
    #[inline]
    pub fn of(&self, a: f64) -> usize {
        self.floor
            .iter()
            .position(|&f| a >= f)
            .unwrap_or(self.floor.len() - 1)
    }
}

/// `⌈log2(m / mant_max)⌉`: the step exponent of a format whose largest
/// magnitude is `m > 0`.
pub fn step_exponent(m: f64, mant_max: f64) -> i32 {
    (m / mant_max).log2().ceil() as i32
}

/// Magnitudes of the stored weights by binary exponent, from one pass.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Per biased `f32` exponent: the largest magnitude (as bits), the
    /// count of nonzero weights, and the sum of their significands (an
    /// integer, so the sum does not depend on the order).
    max: [u32; 256],
    count: [u64; 256],
    significands: [u64; 256],
    pub positive: u64,
    pub negative: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            max: [0; 256],
            count: [0; 256],
            significands: [0; 256],
            positive: 0,
            negative: 0,
        }
    }
}

impl Histogram {
    pub fn of(weights: &[f32]) -> Histogram {
        weights
            .par_chunks(1 << 16)
            .map(|chunk| {
                let mut h = Histogram::default();
                for &w in chunk {
                    let bits = w.to_bits();
                    let a = bits & 0x7fff_ffff;
                    if a == 0 {
                        continue;
                    }
                    let e = (a >> 23) as usize;
                    let hidden = if e == 0 { 0 } else { 1 << 23 };
                    h.max[e] = h.max[e].max(a);
                    h.count[e] += 1;
                    h.significands[e] += ((a & 0x7f_ffff) | hidden) as u64;
                    if bits >> 31 == 0 {
                        h.positive += 1;
                    } else {
                        h.negative += 1;
                    }
                }
                h
            })
            .reduce(Histogram::default, |mut a, b| {
                for e in 0..256 {
                    a.max[e] = a.max[e].max(b.max[e]);
                    a.count[e] += b.count[e];
                    a.significands[e] += b.significands[e];
                }
                a.positive += b.positive;
                a.negative += b.negative;
                a
            })
    }

    /// Exponents (biased) of magnitudes in `[2^lo, 2^hi)`, finite only.
    fn range(lo: i32, hi: i32) -> std::ops::Range<usize> {
        let at = |k: i32| k.saturating_add(127).clamp(0, 255) as usize;
        at(lo)..at(hi)
    }

    /// The largest magnitude below `2^k`.
    fn max_below(&self, k: i32) -> f64 {
        Self::range(i32::MIN, k)
            .map(|e| f32::from_bits(self.max[e]) as f64)
            .fold(0.0, f64::max)
    }

    /// Nonzero weights with magnitudes in `[2^lo, 2^hi)`.
    fn count(&self, lo: i32, hi: i32) -> u64 {
        Self::range(lo, hi).map(|e| self.count[e]).sum()
    }

    /// Summed magnitude of the weights below `2^k`.
    fn mass_below(&self, k: i32) -> f64 {
        Self::range(i32::MIN, k)
            .map(|e| self.significands[e] as f64 * 2f64.powi(e.max(1) as i32 - 150))
            .sum()
    }
}

/// Exponent groups of the weights counted in `h`: at most `max_groups`,
/// none more than `span` powers of two below the first.
pub fn bands(h: &Histogram, mant_max: f64, max_groups: usize, span: i32) -> Option<Bands> {
    let top = h.max_below(i32::MAX);
    if top <= 0.0 {
        return None;
    }
    let e0 = step_exponent(top, mant_max);
    let mut b = Bands {
        floor: vec![2f64.powi(e0 - 1)],
        offset: vec![0],
        below: 0,
        top,
    };
    // The last group: weights in [2^k, 2^upper), step 2^e.
    let (mut k, mut upper, mut e) = (e0 - 1, i32::MAX, e0);
    loop {
        let m = h.max_below(k);
        if m <= 0.0 {
            break;
        }
        let noise = h.count(k, upper) as f64 * 2f64.powi(e) / 4.0;
        if h.mass_below(k) <= noise {
            break;
        }
        let next = step_exponent(m, mant_max);
        if b.floor.len() == max_groups || e0 - next > span {
            b.below = h.count(i32::MIN, k);
            break;
        }
        (upper, k, e) = (k, next - 1, next);
        b.floor.push(2f64.powi(k));
        b.offset.push(e - e0);
    }
    Some(b)
}

/// Splits every projection into one per (sign, exponent group) where the
/// target asks for it.
pub(super) fn split_formats(g: &mut Graph, cx: &mut PassCx) {
    let signs = cx.target.one_sign_per_group;
    let exponents = match cx.target.weights {
        WeightFormat::LoihiMantissa {
            max_bits,
            exp_min,
            exp_max,
            max_formats,
        } => Some((max_bits, exp_min, exp_max, max_formats)),
        _ => None,
    };
    if !signs && exponents.is_none() {
        return;
    }
    let n_signs = if signs { 2 } else { 1 };
    let mut table = Table::new(
        "synapse groups (one sign and one weight exponent each)",
        &[
            "projection",
            "group",
            "sign",
            "exponent offset",
            "synapses",
            "largest |w|",
            "smallest |w|",
        ],
    );
    for (p, readers) in projections(g) {
        let Op::Project(pr) = *g.op(p) else { continue };
        let w = g.tensor(pr.weights);
        let (Some(s), Some(d)) = (Synapses::of(w), Delays::of(g, pr.delay)) else {
            continue;
        };
        let hist = Histogram::of(s.weights);
        let bands = match exponents {
            Some((max_bits, exp_min, exp_max, max_formats)) => {
                let mant_max = ((1u32 << (max_bits - 1)) - 1) as f64;
                let groups = (max_formats as usize / n_signs).max(1);
                bands(&hist, mant_max, groups, (exp_max - exp_min) as i32)
            }
            None => None,
        };
        let bands = bands.unwrap_or(Bands {
            floor: vec![0.0],
            offset: vec![0],
            below: 0,
            top: 0.0,
        });
        let n_bands = bands.floor.len();
        let (pos, neg) = (hist.positive, hist.negative);
        if bands.below > 0 {
            cx.warn(
                PassDiag::warning(
                    "W0464",
                    format!(
                        "{} synapses of projection {} have weights below {:e}, out of reach of the weight exponents {} can give a projection whose largest weight is {:e}; they will round to zero when quantized",
                        bands.below,
                        g.label(p),
                        bands.floor.last().copied().unwrap_or(0.0),
                        cx.target.name,
                        bands.top,
                    ),
                )
                .at(g.span(p), "this projection")
                .help("rescale the weights, or prune the smallest ones before compiling"),
            );
        }
        let split_sign = signs && pos > 0 && neg > 0;
        if !split_sign && n_bands == 1 {
            continue;
        }
        let n = n_bands * n_signs;
        let cols = vec![s.cols as u32; n];
        let per = matches!(d, Delays::Per(_));
        let parts = split(&s, d, &cols, per, |_, c, w, delay| {
            if w == 0.0 {
                return None;
            }
            let band = bands.of(w.abs() as f64);
            let sign = if signs { usize::from(w < 0.0) } else { 0 };
            Some((band * n_signs + sign, c, delay))
        });
        let label = g.label(p);
        let base = derived_name(g, p, "");
        let src = g.arg(p, 0);
        let mut first = true;
        for (i, part) in parts.into_iter().enumerate() {
            if part.synapses() == 0 {
                continue;
            }
            let (band, sign) = (i / n_signs, i % n_signs);
            let (largest, smallest) = part
                .weights
                .par_iter()
                .map(|&w| (w.abs(), w.abs()))
                .reduce(|| (0.0, f32::INFINITY), |a, b| (a.0.max(b.0), a.1.min(b.1)));
            let synapses = part.synapses();
            let mut suffix = Vec::new();
            if split_sign {
                suffix.push(if sign == 0 { "+" } else { "-" }.to_string());
            }
            if bands.offset[band] != 0 {
                suffix.push(format!("e{}", bands.offset[band]));
            }
            let name = if suffix.is_empty() {
                base.clone()
            } else {
                format!("{base}({})", suffix.join(", "))
            };
            let (wt, dt) = part.into_tensors(match pr.delay {
                snn_ir::Delay::Const(c) => c,
                snn_ir::Delay::PerSynapse(_) => 0,
            });
            let weights = g.add_tensor(wt);
            let delay = dt.add_to(g);
            let node = if first {
                first = false;
                if let Op::Project(x) = g.op_mut(p) {
                    x.weights = weights;
                    x.delay = delay;
                }
                p
            } else {
                let Some(src) = src else { continue };
                let q = g.add(Op::Project(Projection { weights, delay }), &[src]);
                if let Some(sp) = g.span(p) {
                    g.set_span(q, sp);
                }
                for &pop in &readers {
                    g.push_arg(pop, q);
                }
                q
            };
            g.set_name(node, name);
            let sign_text = match (signs, sign) {
                (false, _) => "any",
                (true, 0) => "+",
                (true, _) => "-",
            };
            table.row(vec![
                label.clone(),
                g.label(node),
                sign_text.to_string(),
                bands.offset[band].to_string(),
                synapses.to_string(),
                format!("{largest}"),
                format!("{smallest}"),
            ]);
            cx.report.count("synapse groups", 1);
        }
        if split_sign {
            cx.report.count("projections split by sign", 1);
        }
        if n_bands > 1 {
            cx.report.count("projections split by weight exponent", 1);
        }
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands_of(v: &[f32]) -> Option<Bands> {
        bands(&Histogram::of(v), 127.0, 7, 15)
    }

    #[test]
    fn one_group_when_the_mantissa_holds_every_weight() {
        // Largest 1.0: step 2^⌈log2(1/127)⌉ = 2^-6, floor 2^-7 = 0.0078125.
        let b = bands_of(&[1.0, -0.5, 0.008]).unwrap();
        assert_eq!(b.floor, vec![2f64.powi(-7)]);
        assert_eq!(b.below, 0);
    }

    #[test]
    fn weights_that_matter_below_half_a_step_start_a_new_group() {
        // Below 2^-7: 0.007 + 0.005 = 0.012, more than the rounding error
        // of the one weight above, 2^-6 / 4 = 0.0039. The new group's step
        // is 2^⌈log2(0.007/127)⌉ = 2^-14.
        let b = bands_of(&[1.0, 0.007, 0.005]).unwrap();
        assert_eq!(b.floor, vec![2f64.powi(-7), 2f64.powi(-15)]);
        assert_eq!(b.offset, vec![0, -8]);
        assert_eq!(b.of(0.007), 1);
        assert_eq!(b.of(1.0), 0);
    }

    #[test]
    fn a_tail_within_the_rounding_error_stays() {
        // 0.003 is less than 4 weights × 2^-6 / 4 = 0.0156.
        let b = bands_of(&[1.0, 0.9, -0.8, 0.7, 0.003]).unwrap();
        assert_eq!(b.floor.len(), 1);
        assert_eq!(b.below, 0);
    }

    #[test]
    fn groups_stop_at_the_exponent_span() {
        // 0.001 needs the step 2^⌈log2(0.001/127)⌉ = 2^-16, 10 powers of two
        // below 2^-6: beyond a span of 8, so the five are reported.
        let h = Histogram::of(&[1.0, 0.001, 0.001, 0.001, 0.001, 0.001]);
        let b = bands(&h, 127.0, 7, 8).unwrap();
        assert_eq!(b.floor.len(), 1);
        assert_eq!(b.below, 5);
        assert!(bands_of(&[0.0, 0.0]).is_none());
    }
}
