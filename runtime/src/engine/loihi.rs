//! Loihi (1 and 2): the CUBA compartment in 24-bit integers as Lava's
//! bit-accurate models compute it, its tight loops for whole groups, and
//! the sigma-delta and adaptive neurons.

use super::arith::*;
use super::{Model, Overflow, State};
use crate::config::LoihiGroup;

/// A Loihi CUBA group with its constants pre-shifted and its state in
/// `i32` (both registers are 24-bit), so one step is a tight loop.
#[derive(Clone)]
pub(super) struct Cuba {
    /// `4096 − (du + 1)` and `4096 − dv`: the decays' retained fractions.
    pub(super) keep_u: Vec<i32>,
    pub(super) keep_v: Vec<i32>,
    /// `bias_mant · 2^bias_exp` and `vth · 2^6`.
    pub(super) bias: Vec<i32>,
    pub(super) vth: Vec<i32>,
    /// Each constant is stored once when the whole group shares it, and
    /// indexed with `j & mask` (0 for one value, all ones per neuron), so
    /// a uniform group reads no per-neuron constants at all.
    pub(super) mask_u: usize,
    pub(super) mask_v: usize,
    pub(super) mask_bias: usize,
    pub(super) mask_vth: usize,
    pub(super) vmin: i32,
    pub(super) refractory: u32,
    pub(super) reset_subtract: bool,
    pub(super) spiking: bool,
    pub(super) u: Vec<i32>,
    pub(super) v: Vec<i32>,
    pub(super) refr: Vec<u32>,
    /// Scratch: the compartments that spiked this step (as a list, and as
    /// one flag each for the uniform loop).
    pub(super) fired: Vec<u32>,
    pub(super) flags: Vec<u8>,
    pub(super) overflow: Overflow,
}

impl Cuba {
    pub(super) fn new(p: &LoihiGroup, count: usize, spiking: bool) -> Cuba {
        // One value when all agree, else one per neuron; and its mask.
        fn shared(v: Vec<i32>) -> (Vec<i32>, usize) {
            if v.windows(2).all(|w| w[0] == w[1]) && !v.is_empty() {
                (vec![v[0]], 0)
            } else {
                (v, usize::MAX)
            }
        }
        let (keep_u, mask_u) = shared(p.du.iter().map(|&d| 4096 - (d as i32 + 1)).collect());
        let (keep_v, mask_v) = shared(p.dv.iter().map(|&d| 4096 - d as i32).collect());
        let (bias, mask_bias) = shared(
            p.bias_mant
                .iter()
                .zip(&p.bias_exp)
                .map(|(&m, &e)| (m as i32) << e)
                .collect(),
        );
        let (vth, mask_vth) = shared(p.vth.iter().map(|&t| (t as i32) << 6).collect());
        Cuba {
            keep_u,
            keep_v,
            bias,
            vth,
            mask_u,
            mask_v,
            mask_bias,
            mask_vth,
            vmin: p.vmin,
            refractory: p.refractory,
            reset_subtract: p.reset_subtract,
            spiking,
            u: vec![0; count],
            v: vec![0; count],
            refr: vec![0; count],
            fired: vec![0; count],
            flags: vec![0; count],
            overflow: Overflow::default(),
        }
    }

    /// One step of every compartment: `input(j)` is compartment j's
    /// synaptic input; spikes are appended to `fired` (as `first + j`).
    /// Lava's bit-accurate LIF (`u ← u·(4096 − (du + 1))/4096 + input`,
    /// `v ← v·(4096 − dv)/4096 + u + bias`, 24-bit registers), plus the
    /// refractory period.
    #[inline(always)]
    pub(super) fn step(
        &mut self,
        mut input: impl FnMut(usize) -> i64,
        first: usize,
        fired: &mut Vec<(usize, f64)>,
    ) {
        /// `x · keep / 4096` rounded toward zero, without a branch on the
        /// sign (which is unpredictable): negate, scale, negate back.
        #[inline(always)]
        fn decay(x: i32, keep: i32) -> i64 {
            let sign = (x >> 31) as i64; // 0 or -1
            let m = ((x.unsigned_abs() as u64 * keep as u64) >> 12) as i64;
            (m ^ sign) - sign
        }
        let n = self.u.len();
        let (keep_u, keep_v, bias, vth) = (
            self.keep_u.as_slice(),
            self.keep_v.as_slice(),
            self.bias.as_slice(),
            self.vth.as_slice(),
        );
        let (mu, mv, mb, mt) = (self.mask_u, self.mask_v, self.mask_bias, self.mask_vth);
        let (u, v, refr) = (&mut self.u[..n], &mut self.v[..n], &mut self.refr[..n]);
        let (vmin, spiking, subtract, refractory) = (
            self.vmin as i64,
            self.spiking,
            self.reset_subtract,
            self.refractory,
        );
        // Spikes are noted in a scratch list (no allocation in the loop, so
        // the loop's pointers stay in registers) and sent afterwards.
        let fired_here = &mut self.fired[..n];
        let mut count = 0usize;
        let (mut wrapped, mut saturated) = (0u64, 0u64);
        for j in 0..n {
            let pre = decay(u[j], keep_u[j & mu]) + input(j);
            let uu = wrap24(pre) as i32;
            wrapped += u64::from(uu as i64 != pre);
            u[j] = uu;
            if refr[j] > 0 {
                refr[j] -= 1;
                continue;
            }
            let pre_v = decay(v[j], keep_v[j & mv]) + uu as i64 + bias[j & mb] as i64;
            let vv = pre_v.clamp(vmin, V_MAX) as i32;
            let th = vth[j & mt];
            let spike = spiking && vv > th;
            saturated += u64::from(clipped(pre_v, vmin, spike, subtract));
            let reset = if subtract { vv - th } else { 0 };
            v[j] = if spike { reset } else { vv };
            if spike {
                refr[j] = refractory;
                fired_here[count] = j as u32;
                count += 1;
            }
        }
        self.overflow.wrapped += wrapped;
        self.overflow.saturated += saturated;
        fired.extend(
            fired_here[..count]
                .iter()
                .map(|&j| (first + j as usize, 1.0)),
        );
    }

    /// Whether every constant is shared by the whole group.
    #[cfg(test)]
    pub(super) fn uniform(&self) -> bool {
        self.vectorised() && self.mask_bias == 0
    }

    /// Whether every constant but the bias is shared by the whole group:
    /// then it updates in [`Cuba::step_uniform`] (a per-neuron bias is one
    /// more stream; the others would be multiplies by vectors).
    pub(super) fn vectorised(&self) -> bool {
        self.mask_u == 0 && self.mask_v == 0 && self.mask_vth == 0
    }

    /// [`Cuba::step`] for a group whose input is only spikes (the common
    /// case) and whose constants are shared but for the bias
    /// ([`Cuba::vectorised`]), written without branches in 32-bit
    /// arithmetic so the compiler can vectorise it: every value fits (|u|, |v| < 2^23, the
    /// bias < 2^20), and the current is kept modulo 2^24, so wrapping
    /// 32-bit sums give the same bits. Takes (and zeroes) `spike`, and
    /// adds each of `sums` (runs of the negative-exponent ring over the
    /// whole group, zeroed too) shifted by its `k` (see `shift_run`).
    pub(super) fn step_uniform<const P: usize>(
        &mut self,
        spike: Option<&mut [i32]>,
        sums: [(&mut [i32], u32); P],
        first: usize,
        fired: &mut Vec<(usize, f64)>,
    ) {
        let n = self.u.len();
        let k = UniformCuba {
            keep_u: self.keep_u[0] as u32,
            keep_v: self.keep_v[0] as u32,
            bias: self.bias[0],
            vth: self.vth[0],
            vmin: self.vmin,
            spiking: self.spiking,
            subtract: self.reset_subtract,
            refractory: self.refractory,
        };
        let flags = &mut self.flags[..n];
        let (u, v, refr) = (&mut self.u[..n], &mut self.v[..n], &mut self.refr[..n]);
        // One bias for all, or one per neuron.
        let bias = if self.mask_bias == 0 {
            &[]
        } else {
            &self.bias[..n]
        };
        let (wrapped, saturated) = match (self.mask_bias == 0, spike) {
            (true, Some(s)) => {
                with_over::<P, false, true>(&k, &[], u, v, refr, flags, &mut s[..n], sums)
            }
            (false, Some(s)) => {
                with_over::<P, true, true>(&k, bias, u, v, refr, flags, &mut s[..n], sums)
            }
            (true, None) => with_over::<P, false, false>(&k, &[], u, v, refr, flags, &mut [], sums),
            (false, None) => {
                with_over::<P, true, false>(&k, bias, u, v, refr, flags, &mut [], sums)
            }
        };
        self.overflow.wrapped += wrapped as u64;
        self.overflow.saturated += saturated as u64;
        super::push_flags(flags, first, fired);
    }
}

/// [`cuba_uniform`] for a group whose voltages can saturate at the top
/// (`O`) or cannot: a neuron of a spiking group that resets to zero and
/// is not refractory fires when its voltage reaches the top (above its
/// threshold), which takes it back to zero, so only a group that
/// subtracts, does not spike, or has its threshold at the top counts
/// saturations there (counting them took a tenth of the loop).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn with_over<const P: usize, const B: bool, const S: bool>(
    k: &UniformCuba,
    bias: &[i32],
    u: &mut [i32],
    v: &mut [i32],
    refr: &mut [u32],
    flags: &mut [u8],
    spike: &mut [i32],
    sums: [(&mut [i32], u32); P],
) -> (u32, u32) {
    if k.subtract || !k.spiking || k.vth >= V_MAX as i32 {
        cuba_uniform::<P, B, S, true>(k, bias, u, v, refr, flags, spike, sums)
    } else {
        cuba_uniform::<P, B, S, false>(k, bias, u, v, refr, flags, spike, sums)
    }
}

/// The constants of a uniform CUBA group.
struct UniformCuba {
    keep_u: u32,
    keep_v: u32,
    bias: i32,
    vth: i32,
    vmin: i32,
    spiking: bool,
    subtract: bool,
    refractory: u32,
}

/// Whether a Loihi voltage `pre` (before the clamp to `[vmin, 2^23 − 1]`)
/// saturated a register: above the top, unless the neuron fires and resets
/// to zero (then the clamp changes nothing), or below the bottom when the
/// floor is the register's (`vmin = −(2^23 − 1)`), not the model's.
#[inline(always)]
pub(super) fn clipped(pre: i64, vmin: i64, spike: bool, subtract: bool) -> bool {
    (pre > V_MAX && (subtract || !spike)) || (pre < vmin && vmin <= -V_MAX)
}

/// The loop of [`Cuba::step_uniform`], compiled for the baseline and for
/// wider vector units and picked at run time by the CPU's features.
/// Returns the currents that wrapped and the voltages that saturated.
/// With `B`, `bias` holds each neuron's bias instead of `k.bias`; without
/// `S`, no synapse reaches the neurons through the spike ring (`spike` is
/// empty and not read); without `O`, no voltage saturates at the top (see
/// [`with_over`]).
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq",
    "x86_64+avx2",
    "x86_64+sse4.1"
))]
fn cuba_uniform<const P: usize, const B: bool, const S: bool, const O: bool>(
    k: &UniformCuba,
    bias: &[i32],
    u: &mut [i32],
    v: &mut [i32],
    refr: &mut [u32],
    flags: &mut [u8],
    spike: &mut [i32],
    sums: [(&mut [i32], u32); P],
) -> (u32, u32) {
    /// `x · keep / 4096` rounded toward zero, in 32-bit pieces: with
    /// `|x| = hi · 2^12 + lo`, it is `hi · keep + (lo · keep) >> 12`, and
    /// both products fit (|x| < 2^24, keep ≤ 2^12).
    #[inline(always)]
    fn decay(x: i32, keep: u32) -> i32 {
        let sign = x >> 31; // 0 or -1
        let a = x.unsigned_abs();
        let m = ((a >> 12) * keep + (((a & 4095) * keep) >> 12)) as i32;
        (m ^ sign) - sign
    }
    let n = u.len();
    let (v, refr, flags) = (&mut v[..n], &mut refr[..n], &mut flags[..n]);
    let spike = if S { &mut spike[..n] } else { &mut [] };
    let mut sums = sums.map(|(s, k)| (&mut s[..n], k));
    let bias = if B { &bias[..n] } else { &[] };
    let vmax = V_MAX as i32;
    let floor_is_register = k.vmin <= -vmax;
    let (mut wrapped, mut saturated) = (0u32, 0u32);
    let opaque = std::hint::black_box(0i32);
    for j in 0..n {
        // The true sum fits 32 bits: |du| < 2^23 and the spike ring's
        // bound keeps |spike| ≤ 2^31 − 2^24 (see `Engine::new`). So whether
        // it left 24 bits is one 32-bit compare.
        let mut input = if S { std::mem::take(&mut spike[j]) } else { 0 };
        for (s, shift) in sums.iter_mut() {
            input += (std::mem::take(&mut s[j]) >> *shift) << 6;
        }
        let du = decay(u[j], k.keep_u);
        let sum = du + input;
        let uu = sum.wrapping_shl(8) >> 8;
        wrapped += u32::from(uu != sum);
        u[j] = uu;
        let old = v[j];
        let pre = decay(old, k.keep_v) + uu + if B { bias[j] } else { k.bias };
        let vv = pre.clamp(k.vmin, vmax);
        let r = refr[j];
        let quiet = r > 0;
        let fire = k.spiking & !quiet & (vv > k.vth);
        // Without `O`, `pre > vmax` implies `fire` and no reset to keep.
        let over = O && (pre > vmax) & (k.subtract | !fire);
        saturated += u32::from(!quiet & (over | ((pre < k.vmin) & floor_is_register)));
        let reset = if k.subtract { vv - k.vth } else { 0 };
        // Selects by masks, not `if`, and a refractory neuron's voltage
        // not written as the very value loaded (`opaque` is 0): either
        // lets the compiler store only some lanes (`vpmaskmovd`), which is
        // microcoded on AMD's cores and cost half the loop.
        let quiet_m = -(quiet as i32);
        let fire_m = -(fire as i32);
        let next = (reset & fire_m) | (vv & !fire_m);
        let held = old | opaque;
        v[j] = (held & quiet_m) | (next & !quiet_m);
        // Not quiet means `r = 0`.
        refr[j] = (r.wrapping_sub(1) & quiet_m as u32) | (k.refractory & fire_m as u32);
        flags[j] = fire as u8;
    }
    (wrapped, saturated)
}

/// `x` wrapped to Loihi's 24-bit input register, counting a wrap.
#[inline(always)]
fn register24(x: i64, ov: &mut Overflow) -> i64 {
    let w = wrap24(x);
    ov.wrapped += u64::from(w != x);
    w
}

/// One Loihi sigma-delta or adaptive neuron's update (CUBA groups run
/// from [`Cuba`]); returns (what it sends, its readout state).
pub(super) fn update(
    model: Model,
    p: &LoihiGroup,
    state: &mut State,
    j: usize,
    input: f64,
    ov: &mut Overflow,
) -> (f64, f64) {
    let State::Int {
        v,
        aux,
        r,
        refr,
        last,
        ..
    } = state
    else {
        return (0.0, 0.0);
    };
    let i_in = input.round() as i64;
    let bias = (p.bias_mant[j] as i64) << p.bias_exp[j];
    let vth = (p.vth[j] as i64) << 6;
    match model {
        Model::SigmaDelta => {
            let sd = p.sigma_delta.as_ref();
            let (lo, hi) = sd.map_or((0, V_MAX), |s| (s.lo as i64, s.hi as i64));
            let da = sd.and_then(|s| s.dalpha.get(j)).copied().unwrap_or(4096) as i64;
            // The Σ accumulator is a 24-bit register.
            let y = register24(i_in + bias, ov).clamp(lo, hi);
            let fresh = (y.abs() * da) >> 12;
            v[j] = loihi_decay(v[j], da) + if y < 0 { -fresh } else { fresh };
            let mut d = v[j] - r[j];
            if d != 0 && d.abs() >= vth {
                // A graded payload has 24 bits.
                if d.abs() > V_MAX {
                    ov.saturated += 1;
                    d = d.clamp(-V_MAX, V_MAX);
                }
                r[j] += d;
                return (d as f64, r[j] as f64);
            }
            (0.0, r[j] as f64)
        }
        Model::Alif => {
            let ad = p.adaptive.as_ref();
            let drho = ad.and_then(|a| a.drho.get(j)).copied().unwrap_or(0) as i64;
            let beta = ad.and_then(|a| a.beta.get(j)).copied().unwrap_or(0) as i64;
            let s_prev = last[j] as i64;
            aux[j] = loihi_decay(aux[j], drho) + drho * s_prev;
            let theta = vth + ((beta * aux[j]) >> 12);
            let dv = p.dv[j] as i64;
            let x = register24(i_in + bias, ov);
            let fresh = (x.abs() * dv) >> 12;
            if refr[j] > 0 {
                refr[j] -= 1;
                last[j] = false;
                return (0.0, v[j] as f64);
            }
            let mut vv = loihi_decay(v[j], dv) + if x < 0 { -fresh } else { fresh };
            if p.reset_subtract {
                vv -= theta * s_prev;
            } else if s_prev == 1 {
                vv = if x < 0 { -fresh } else { fresh };
            }
            v[j] = vv.clamp(p.vmin as i64, V_MAX);
            let s = v[j] > theta;
            // The reset comes a step later here, so a clamp always
            // shows.
            ov.saturated += u64::from(clipped(vv, p.vmin as i64, false, true));
            last[j] = s;
            if s {
                refr[j] = p.refractory;
            }
            (f64::from(s), v[j] as f64)
        }
        // Invariant: every Loihi `lif`, `if` and `li` group runs from its
        // `Cuba` (`Engine::new` gives each one), never through here.
        Model::Lif | Model::If | Model::Li => {
            unreachable!("Loihi CUBA groups update in Cuba::step")
        }
    }
}
