//! Number grids and what rounding onto them costs: the primitives every
//! format of the pass is built from. Work over weight tensors runs in
//! parallel chunks whose results are combined in chunk order, so the
//! statistics do not depend on the number of threads.

use std::sync::Arc;

use rayon::prelude::*;

/// Values per parallel task.
const CHUNK: usize = 1 << 16;
/// Above this many stored values, candidate grids are ranked on every
/// `⌈len / SAMPLE_MAX⌉`-th value instead of all of them.
pub const SAMPLE_MAX: usize = 1 << 20;

/// The largest magnitude of a symmetric signed `bits`-bit integer,
/// `2^(bits−1) − 1` (the sign takes one bit).
pub fn int_max(bits: u8) -> f64 {
    ((1u64 << (bits - 1)) - 1) as f64
}

/// A symmetric integer grid: the values `k · step` with `|k| ≤ max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub step: f64,
    pub max: f64,
}

impl Grid {
    /// The integer `x` rounds to (to nearest, halves away from zero) and
    /// whether it had to be clamped to `±max`.
    #[inline]
    pub fn int(self, x: f64) -> (f64, bool) {
        self.clamp(round_half_away(x / self.step))
    }

    #[inline]
    fn clamp(self, k: f64) -> (f64, bool) {
        (k.clamp(-self.max, self.max), k.abs() > self.max)
    }

    /// `x` rounded onto the grid, as the `f32` the graph stores, and
    /// whether it saturated.
    #[inline]
    pub fn round(self, x: f32) -> (f32, bool) {
        let (k, sat) = self.int(x as f64);
        ((k * self.step) as f32, sat)
    }
}

/// `x` rounded to the nearest integer, halves away from zero (what
/// `f64::round` does, without a library call per value).
#[inline]
pub fn round_half_away(x: f64) -> f64 {
    let a = x.abs();
    // Beyond 2^52 every float is an integer (and NaN stays NaN).
    if a.is_nan() || a >= 4_503_599_627_370_496.0 {
        return x;
    }
    let t = a as i64 as f64;
    let r = if a - t >= 0.5 { t + 1.0 } else { t };
    r.copysign(x)
}

/// Rounds to bfloat16: to nearest, ties to even (on the 16 bits dropped
/// from the `f32`); NaN stays NaN, and values beyond the largest bfloat16
/// become infinite.
pub fn bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let b = x.to_bits();
    let lsb = (b >> 16) & 1;
    f32::from_bits(b.wrapping_add(0x7fff + lsb) & 0xffff_0000)
}

/// What rounding did to a set of values. Zeros are not synapses (a dense
/// tensor stores them for absent connections) and are not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Nonzero values.
    pub count: u64,
    /// Nonzero values that became zero.
    pub zeroed: u64,
    /// Values clamped to the largest integer.
    pub saturated: u64,
    /// `Σ w²`.
    pub signal: f64,
    /// `Σ (w − q)²`.
    pub noise: f64,
}

impl Stats {
    #[inline]
    pub fn add(&mut self, w: f32, q: f32, saturated: bool) {
        // A zero stays zero on every grid and adds nothing to the sums.
        let nonzero = w != 0.0;
        let (w, e) = (w as f64, w as f64 - q as f64);
        self.count += u64::from(nonzero);
        self.zeroed += u64::from(nonzero & (q == 0.0));
        self.saturated += u64::from(saturated);
        self.signal += w * w;
        self.noise += e * e;
    }

    pub fn merge(mut self, o: Stats) -> Stats {
        self.count += o.count;
        self.zeroed += o.zeroed;
        self.saturated += o.saturated;
        self.signal += o.signal;
        self.noise += o.noise;
        self
    }

    /// Signal-to-quantization-noise ratio `10 · log10(Σw² / Σ(w − q)²)`:
    /// `inf` when nothing changed, `-` when there is nothing to measure.
    pub fn sqnr(&self) -> String {
        if self.count == 0 {
            "-".into()
        } else if self.noise == 0.0 {
            "inf".into()
        } else {
            format!("{:.1} dB", 10.0 * (self.signal / self.noise).log10())
        }
    }
}

/// `n` of `of` as a percentage with one decimal.
pub fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

/// A grid step for reports: `2^k` for powers of two, else four decimals.
pub fn show_step(step: f64) -> String {
    if step > 0.0 && step.is_finite() {
        let k = step.log2().round() as i32;
        if 2f64.powi(k) == step {
            return format!("2^{k}");
        }
    }
    format!("{step:.4e}")
}

/// The smallest power of two at least `x` (`x > 0`).
pub fn pow2_at_least(x: f64) -> f64 {
    let mut p = 2f64.powi(x.log2().floor() as i32);
    while p < x {
        p *= 2.0;
    }
    p
}

/// A zeroed `f32` buffer allocated where a tensor keeps its values (no
/// copy when it becomes one).
pub fn zeroed(n: usize) -> Arc<[f32]> {
    std::iter::repeat_n(0f32, n).collect()
}

/// Every value mapped through `f` (which also says whether it saturated),
/// in parallel, with the statistics of the whole.
pub fn apply(values: &[f32], f: impl Fn(f32) -> (f32, bool) + Sync) -> (Arc<[f32]>, Stats) {
    let mut out = zeroed(values.len());
    // Invariant: `out` was just made and is not shared.
    let buf = Arc::get_mut(&mut out).expect("a new buffer");
    let parts: Vec<Stats> = buf
        .par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK))
        .map(|(o, v)| {
            let mut s = Stats::default();
            for (o, &x) in o.iter_mut().zip(v) {
                let (q, sat) = f(x);
                *o = q;
                s.add(x, q, sat);
            }
            s
        })
        .collect();
    let stats = parts.into_iter().fold(Stats::default(), Stats::merge);
    (out, stats)
}

/// The first value (in storage order) for which `bad` holds.
pub fn first(values: &[f32], bad: impl Fn(f32) -> bool + Sync) -> Option<f32> {
    values
        .par_chunks(CHUNK)
        .find_map_first(|c| c.iter().copied().find(|&x| bad(x)))
}

/// The squared error `Σ (w − q)²` of rounding `values` onto each grid
/// (on a fixed-stride sample when there are more than [`SAMPLE_MAX`]).
/// Ranking multiplies by each step's inverse instead of dividing, which
/// can differ from [`Grid::round`] only on values a rounding error away
/// from a half step.
pub fn squared_errors(values: &[f32], grids: &[Grid]) -> Vec<f64> {
    let stride = values.len().div_ceil(SAMPLE_MAX).max(1);
    let n = values.len().div_ceil(stride);
    let inv: Vec<f64> = grids.iter().map(|g| 1.0 / g.step).collect();
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|b| {
            let mut acc = vec![0f64; grids.len()];
            for i in b * CHUNK..((b + 1) * CHUNK).min(n) {
                let x = values[i * stride] as f64;
                for ((a, grid), inv) in acc.iter_mut().zip(grids).zip(&inv) {
                    let (k, _) = grid.clamp(round_half_away(x * inv));
                    let e = x - (k * grid.step) as f32 as f64;
                    *a += e * e;
                }
            }
            acc
        })
        .collect();
    parts.into_iter().fold(vec![0f64; grids.len()], |mut t, p| {
        for (t, p) in t.iter_mut().zip(p) {
            *t += p;
        }
        t
    })
}

/// The index of the smallest error; the first of equals.
pub fn best(errors: &[f64]) -> usize {
    let mut k = 0;
    for (i, &e) in errors.iter().enumerate() {
        if e < errors[k] {
            k = i;
        }
    }
    k
}

/// Largest `|w|` of `values` (NaN if there is a NaN), in parallel.
pub fn max_abs(values: &[f32]) -> f64 {
    let (m, nan) = values
        .par_chunks(CHUNK)
        .map(|c| {
            let mut m = 0f32;
            let mut nan = false;
            for &x in c {
                let a = x.abs();
                m = if a > m { a } else { m };
                nan |= x.is_nan();
            }
            (m, nan)
        })
        .reduce(|| (0.0, false), |a, b| (a.0.max(b.0), a.1 | b.1));
    if nan { f64::NAN } else { m as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even_on_the_bits_dropped() {
        let f = |b: u32| bf16(f32::from_bits(b)).to_bits();
        // 1 + 2^-8 is halfway between 0x3F80 and 0x3F81: the even 0x3F80.
        assert_eq!(f(0x3F80_8000), 0x3F80_0000);
        // Halfway between 0x3F81 and 0x3F82: the even 0x3F82.
        assert_eq!(f(0x3F81_8000), 0x3F82_0000);
        // One bit above halfway rounds up, one below down.
        assert_eq!(f(0x3F80_8001), 0x3F81_0000);
        assert_eq!(f(0x3F80_7FFF), 0x3F80_0000);
        // The sign does not take part.
        assert_eq!(f(0xBF80_8000), 0xBF80_0000);
        assert_eq!(f(0xBF81_8000), 0xBF82_0000);
        // A carry into the exponent: 0x3FFF_8000 (1.99999…) → 2.0.
        assert_eq!(f(0x3FFF_8000), 0x4000_0000);
        // Beyond the largest bfloat16 (0x7F7F): infinity.
        assert_eq!(f(0x7F7F_FFFF), 0x7F80_0000);
        assert!(bf16(f32::NAN).is_nan());
        // 0.126 = 0x3E01_0625 → 0x3E01 = 0.1259765625.
        assert_eq!(bf16(0.126), 0.125_976_56);
    }

    #[test]
    fn grids_round_halves_away_from_zero_and_saturate() {
        let g = Grid {
            step: 0.125,
            max: 3.0,
        };
        assert_eq!(g.round(0.3), (0.25, false));
        assert_eq!(g.round(-0.3125), (-0.375, false));
        assert_eq!(g.round(1.0), (0.375, true));
        assert_eq!(g.round(0.06), (0.0, false));
        for x in [
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            0.49999999999999994,
            2.4999999999999996,
            1e300,
            -7.2,
        ] {
            assert_eq!(round_half_away(x), x.round(), "{x}");
        }
        assert!(round_half_away(f64::NAN).is_nan());
        assert_eq!(int_max(3), 3.0);
        assert_eq!(int_max(9), 255.0);
    }

    #[test]
    fn statistics_and_their_text() {
        // [0.5, −0.25, 1.0, 0.126] → [0.5, −0.25, 1.0, 0.125]: signal
        // 0.25 + 0.0625 + 1 + 0.015876 = 1.328376, noise 0.001² = 1e-6,
        // 10 · log10(1.328376e6) = 61.23 dB.
        let w = [0.5f32, -0.25, 1.0, 0.126];
        let grid = Grid {
            step: 2f64.powi(-6),
            max: 127.0,
        };
        let (q, s) = apply(&w, |x| grid.round(x));
        assert_eq!(*q, [0.5, -0.25, 1.0, 0.125]);
        assert_eq!(s.count, 4);
        assert_eq!(s.sqnr(), "61.2 dB");
        assert_eq!(Stats::default().sqnr(), "-");
        let (_, exact) = apply(&[0.5, 0.0], |x| (x, false));
        assert_eq!(exact.sqnr(), "inf");
        assert_eq!(exact.count, 1);
        assert_eq!(
            first(&[1.0, f32::NAN, f32::INFINITY], |x| !x.is_finite()).map(f32::is_nan),
            Some(true)
        );
        assert_eq!(first(&[1.0, 2.0], |x| x > 5.0), None);
        assert_eq!(max_abs(&[1.0, -3.0, 2.0]), 3.0);
        assert!(max_abs(&[1.0, f32::NAN]).is_nan());
        assert_eq!(percent(1, 8), "12.5%");
        assert_eq!(show_step(2f64.powi(-6)), "2^-6");
        assert_eq!(show_step(0.1), "1.0000e-1");
        assert_eq!(pow2_at_least(0.3), 0.5);
        assert_eq!(pow2_at_least(0.25), 0.25);
    }

    #[test]
    fn squared_errors_rank_grids() {
        // Step 0.5: errors 0, 0.25 (−0.25 → −0.5), 0, 0.126: Σ = 0.078376.
        // Step 0.25 (|k| ≤ 3, so 1.0 → 0.75): 0, 0, 0.25, 0.124: 0.077876.
        let w = [0.5f32, -0.25, 1.0, 0.126];
        let e = squared_errors(
            &w,
            &[
                Grid {
                    step: 0.5,
                    max: 3.0,
                },
                Grid {
                    step: 0.25,
                    max: 3.0,
                },
            ],
        );
        assert!((e[0] - 0.078376).abs() < 1e-7, "{e:?}");
        assert!((e[1] - 0.077876).abs() < 1e-7, "{e:?}");
        assert_eq!(best(&e), 1);
    }
}
