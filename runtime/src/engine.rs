//! The event-driven engine: runs a [`Config`] step by step with each chip's
//! arithmetic.
//!
//! One step:
//! 1. every input channel is encoded (sigma-delta or rate) and its events
//!    are sent along its routes;
//! 2. the neuron groups update in the manifest's order: each neuron takes
//!    this step's input (the spike slot of its ring buffer, plus the graded
//!    slot added to its persistent sum), updates with its chip's arithmetic,
//!    and its spike or graded value is sent along its routes;
//! 3. sending an event to `(core, axon)` adds each of the axon's synapse
//!    weights (times the payload) into the target's ring-buffer slot
//!    `t + delay`. Delay 0 lands in this step's slot, read by a later group.
//!
//! Work is per event and per synapse of the event's axon; a neuron update
//! is a few integer operations. Steps are aligned to the model's steps: on
//! silicon each hop also adds the chip's pipeline latency, a fixed offset
//! per layer that does not change the values.

use crate::config::{Config, Encoder, LoihiGroup, Params, Readout};
use arith::Rng;

/// Bit-accurate neuron arithmetic of each chip.
pub mod arith {
    /// Loihi's decay: `x · (4096 − d) / 4096`, rounding toward zero.
    pub fn loihi_decay(x: i64, d: i64) -> i64 {
        let m = (x.abs() * (4096 - d)) >> 12;
        if x < 0 { -m } else { m }
    }

    /// Wraps to a signed 24-bit integer (Loihi's `u`).
    pub fn wrap24(x: i64) -> i64 {
        (x << 40) >> 40
    }

    /// The largest magnitude of a Loihi voltage, `2^23 − 1`.
    pub const V_MAX: i64 = (1 << 23) - 1;

    /// Rounds to bfloat16, to nearest, ties to even.
    pub fn bf16(x: f32) -> f32 {
        if x.is_nan() {
            return x;
        }
        let b = x.to_bits();
        let lsb = (b >> 16) & 1;
        f32::from_bits(b.wrapping_add(0x7fff + lsb) & 0xffff_0000)
    }

    /// A bfloat16 bit pattern as `f32`.
    pub fn from_bf16(bits: u16) -> f32 {
        f32::from_bits((bits as u32) << 16)
    }

    /// The bfloat16 bit pattern of `x` (rounded).
    pub fn to_bf16(x: f32) -> u16 {
        (bf16(x).to_bits() >> 16) as u16
    }

    /// The generator behind TrueNorth's stochastic modes: xorshift64*
    /// (Vigna 2016), its state seeded through SplitMix64 so that nearby
    /// seeds give unrelated streams.
    #[derive(Clone, Debug)]
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Rng {
            let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            Rng(z.max(1))
        }

        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// An `n`-bit draw (`0..2^n`), from the top bits; 0 for `n = 0`.
        pub fn bits(&mut self, n: u8) -> i64 {
            if n == 0 {
                0
            } else {
                (self.next_u64() >> (64 - n as u32)) as i64
            }
        }

        /// TrueNorth's stochastic weight: `sign(w)` with probability
        /// `|w| / 256` (an 8-bit draw ρ below `|w|`), else 0.
        pub fn bernoulli_sign(&mut self, w: i64) -> i64 {
            if self.bits(8) < w.abs() {
                w.signum()
            } else {
                0
            }
        }
    }
}

use arith::*;

/// Counts of what happened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Model steps.
    pub steps: u64,
    /// Chip ticks (`steps` × the manifest's ticks per step).
    pub ticks: u64,
    /// Events sent by neurons (spikes and graded messages).
    pub spikes: u64,
    /// Events sent by input encoders.
    pub input_events: u64,
    /// Synapses an event reached (effective synaptic operations).
    pub synaptic_events: u64,
    /// Neuron updates that did work (NeuroBench counts these too).
    pub neuron_updates: u64,
    /// All synapses × steps: the dense synaptic operations.
    pub dense_synops: u64,
}

/// Values that did not fit a register, counted per population (and per
/// input channel encoder).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overflow {
    /// Values that wrapped around: Loihi's 24-bit current `u` and the
    /// 24-bit input registers of sigma-delta and adaptive neurons.
    pub wrapped: u64,
    /// Values clamped at a register's end: a voltage beyond `±(2^23 − 1)`
    /// (unless the neuron fires and resets to zero, which hides it), a
    /// graded payload beyond 24 bits, TrueNorth's 20-bit potential, a
    /// bfloat16 that became infinite, an input value a rate code cannot
    /// carry (above one spike per step, or negative).
    pub saturated: u64,
}

impl Overflow {
    pub fn total(&self) -> u64 {
        self.wrapped + self.saturated
    }

    fn add(&mut self, o: Overflow) {
        self.wrapped += o.wrapped;
        self.saturated += o.saturated;
    }
}

/// TrueNorth's membrane potential: 20 bits, signed [`backends/src/truenorth/spec.rs`].
const TN_V_MAX: i64 = (1 << 19) - 1;

#[derive(Clone)]
enum State {
    /// Integer chips: `u`, `v` (and `b`, `h`, `r` for the adaptive and
    /// sigma-delta models), refractory counters.
    Int {
        u: Vec<i64>,
        v: Vec<i64>,
        aux: Vec<i64>,
        r: Vec<i64>,
        refr: Vec<u32>,
        last: Vec<bool>,
    },
    Float {
        u: Vec<f32>,
        v: Vec<f32>,
        aux: Vec<f32>,
        r: Vec<f32>,
        refr: Vec<u32>,
        last: Vec<bool>,
    },
}

#[derive(Clone)]
struct GroupRun {
    population: String,
    first: usize,
    count: usize,
    model: Model,
    params: Params,
    state: State,
    /// Loihi CUBA groups (`lif`, `if`, `li`) run from this instead of
    /// `params`/`state`; their voltages are read from it, and their spikes
    /// are marked in `Engine::sent` sparsely (see `Engine::marked`).
    cuba: Option<Cuba>,
    /// Whether any graded synapse reaches the group (else its graded
    /// buffers stay zero and are not read).
    graded_in: bool,
    /// Draws for the group's stochastic modes (TrueNorth), in event order.
    rng: Rng,
    /// Leaky integrators that feed other neurons send their voltage as its
    /// changes (a graded message when it moved, like sigma-delta with no
    /// threshold); `sent` is what the receivers hold so far.
    sends_changes: bool,
    sent: Vec<f64>,
    /// What did not fit (CUBA groups count in `cuba` and add it here when
    /// asked).
    overflow: Overflow,
    /// The group's entries in `Negative::targets`.
    neg: std::ops::Range<usize>,
}

/// Joins groups that follow each other in the update order and in neuron
/// numbering when they are chunks of one population on consecutive cores,
/// uniform CUBA neurons with the same constants and spike input only: one
/// loop then updates them all (a population's chunks cannot read each
/// other's spikes of the same step, since a same-step cycle is refused).
/// Returns the groups and the order over them.
fn merge_runs(groups: Vec<GroupRun>, order: Vec<usize>) -> (Vec<GroupRun>, Vec<usize>) {
    fn joinable(a: &GroupRun, b: &GroupRun) -> bool {
        let (Some(x), Some(y)) = (&a.cuba, &b.cuba) else {
            return false;
        };
        a.population == b.population
            && a.first + a.count == b.first
            && a.model == b.model
            && !a.graded_in
            && !b.graded_in
            && !a.sends_changes
            && !b.sends_changes
            && x.uniform()
            && y.uniform()
            && (x.keep_u[0], x.keep_v[0], x.bias[0], x.vth[0], x.vmin)
                == (y.keep_u[0], y.keep_v[0], y.bias[0], y.vth[0], y.vmin)
            && (x.refractory, x.reset_subtract, x.spiking)
                == (y.refractory, y.reset_subtract, y.spiking)
    }
    let mut slots: Vec<Option<GroupRun>> = groups.into_iter().map(Some).collect();
    let mut merged: Vec<GroupRun> = Vec::new();
    let mut new_order = Vec::new();
    for gi in order {
        let Some(g) = slots.get_mut(gi).and_then(Option::take) else {
            continue;
        };
        match merged.last_mut() {
            Some(last) if joinable(last, &g) => {
                last.count += g.count;
                last.overflow.add(g.overflow);
                if let (Some(x), Some(y)) = (&mut last.cuba, g.cuba) {
                    x.overflow.add(y.overflow);
                    x.u.extend(y.u);
                    x.v.extend(y.v);
                    x.refr.extend(y.refr);
                    x.fired.extend(y.fired);
                    x.flags.extend(y.flags);
                }
            }
            _ => {
                merged.push(g);
                new_order.push(merged.len() - 1);
            }
        }
    }
    // Groups outside the order (none in a valid configuration) keep a
    // place, so that every neuron still has a group.
    merged.extend(slots.into_iter().flatten());
    (merged, new_order)
}

/// A Loihi CUBA group with its constants pre-shifted and its state in
/// `i32` (both registers are 24-bit), so one step is a tight loop.
#[derive(Clone)]
struct Cuba {
    /// `4096 − (du + 1)` and `4096 − dv`: the decays' retained fractions.
    keep_u: Vec<i32>,
    keep_v: Vec<i32>,
    /// `bias_mant · 2^bias_exp` and `vth · 2^6`.
    bias: Vec<i32>,
    vth: Vec<i32>,
    /// Each constant is stored once when the whole group shares it, and
    /// indexed with `j & mask` (0 for one value, all ones per neuron), so
    /// a uniform group reads no per-neuron constants at all.
    mask_u: usize,
    mask_v: usize,
    mask_bias: usize,
    mask_vth: usize,
    vmin: i32,
    refractory: u32,
    reset_subtract: bool,
    spiking: bool,
    u: Vec<i32>,
    v: Vec<i32>,
    refr: Vec<u32>,
    /// Scratch: the compartments that spiked this step (as a list, and as
    /// one flag each for the uniform loop).
    fired: Vec<u32>,
    flags: Vec<u8>,
    overflow: Overflow,
}

impl Cuba {
    fn new(p: &LoihiGroup, count: usize, spiking: bool) -> Cuba {
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
    /// Same arithmetic as [`loihi_cuba`].
    #[inline(always)]
    fn step(
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
    fn uniform(&self) -> bool {
        self.mask_u == 0 && self.mask_v == 0 && self.mask_bias == 0 && self.mask_vth == 0
    }

    /// [`Cuba::step`] for a uniform group whose input is only spikes (the
    /// common case), written without branches in 32-bit arithmetic so the
    /// compiler can vectorise it: every value fits (|u|, |v| < 2^23, the
    /// bias < 2^20), and the current is kept modulo 2^24, so wrapping
    /// 32-bit sums give the same bits. Takes (and zeroes) `spike`.
    fn step_uniform(&mut self, spike: &mut [i32], first: usize, fired: &mut Vec<(usize, f64)>) {
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
        let (wrapped, saturated) = cuba_uniform(
            &k,
            &mut self.u[..n],
            &mut self.v[..n],
            &mut self.refr[..n],
            flags,
            &mut spike[..n],
        );
        self.overflow.wrapped += wrapped as u64;
        self.overflow.saturated += saturated as u64;
        // Spikes are rare: test eight flags at a time, as one word.
        let words = flags.chunks_exact(8);
        let tail = words.remainder();
        for (c, chunk) in words.enumerate() {
            let word = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
            if word != 0 {
                for (k, &f) in chunk.iter().enumerate() {
                    if f != 0 {
                        fired.push((first + c * 8 + k, 1.0));
                    }
                }
            }
        }
        let base = n - tail.len();
        for (k, &f) in tail.iter().enumerate() {
            if f != 0 {
                fired.push((first + base + k, 1.0));
            }
        }
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
fn clipped(pre: i64, vmin: i64, spike: bool, subtract: bool) -> bool {
    (pre > V_MAX && (subtract || !spike)) || (pre < vmin && vmin <= -V_MAX)
}

/// The loop of [`Cuba::step_uniform`], compiled for the baseline and for
/// wider vector units and picked at run time by the CPU's features.
/// Returns the currents that wrapped and the voltages that saturated.
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+sse4.1"))]
fn cuba_uniform(
    k: &UniformCuba,
    u: &mut [i32],
    v: &mut [i32],
    refr: &mut [u32],
    flags: &mut [u8],
    spike: &mut [i32],
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
    let (v, refr, flags, spike) = (
        &mut v[..n],
        &mut refr[..n],
        &mut flags[..n],
        &mut spike[..n],
    );
    let vmax = V_MAX as i32;
    let floor_is_register = k.vmin <= -vmax;
    let (mut wrapped, mut saturated) = (0u32, 0u32);
    for j in 0..n {
        // The sum wraps the same in 32 bits (the current is kept modulo
        // 2^24); whether it left 24 bits needs the true sum.
        let du = decay(u[j], k.keep_u);
        let uu = du.wrapping_add(spike[j]).wrapping_shl(8) >> 8;
        wrapped += u32::from(uu as i64 != du as i64 + spike[j] as i64);
        spike[j] = 0;
        u[j] = uu;
        let old = v[j];
        let pre = decay(old, k.keep_v) + uu + k.bias;
        let vv = pre.clamp(k.vmin, vmax);
        let r = refr[j];
        let quiet = r > 0;
        let fire = k.spiking & !quiet & (vv > k.vth);
        saturated += u32::from(
            !quiet & (((pre > vmax) & (k.subtract | !fire)) | ((pre < k.vmin) & floor_is_register)),
        );
        let reset = if k.subtract { vv - k.vth } else { 0 };
        v[j] = if quiet {
            old
        } else if fire {
            reset
        } else {
            vv
        };
        refr[j] = if quiet {
            r - 1
        } else if fire {
            k.refractory
        } else {
            r
        };
        flags[j] = fire as u8;
    }
    (wrapped, saturated)
}

/// Spike fan-out lists packed into one `u32` per synapse: the target in
/// the high `32 − mbits` bits, the weight's mantissa `m` (two's complement)
/// in the low `mbits`, and one shift per source with `weight = m << shift`.
///
/// Delivering a spike is then one sequential stream of 4 bytes per synapse
/// instead of two of 8; the random-access updates are unchanged. Measured
/// on a 100k-neuron / 10M-synapse network this more than doubled the events
/// per second (the scan, not the updates, was waiting on memory).
#[derive(Clone)]
struct Packed {
    /// Bits of the mantissa (`32 − bits of the largest target`).
    mbits: u32,
    words: Vec<u32>,
    /// Per fan-out source: its shift, or `u8::MAX` when its list is not
    /// packed (graded, several delays, or a mantissa too wide).
    shift: Vec<u8>,
}

impl Packed {
    fn new(
        int_spikes: bool,
        neurons: usize,
        ptr: &[usize],
        target: &[u32],
        weight: &[i32],
        graded: &[bool],
        uniform: &[u8],
    ) -> Packed {
        // At least one bit so that no shift below is by 32.
        let tbits = (usize::BITS - neurons.saturating_sub(1).leading_zeros()).max(1);
        let none = Packed {
            mbits: 0,
            words: Vec::new(),
            shift: Vec::new(),
        };
        // A mantissa needs at least a Loihi or TrueNorth weight's 9 bits.
        if !int_spikes || tbits + 9 > 32 {
            return none;
        }
        let mbits = 32 - tbits;
        let (lo, hi) = (-(1i64 << (mbits - 1)), (1i64 << (mbits - 1)) - 1);
        let mut words = vec![0u32; target.len()];
        let mut shift = vec![u8::MAX; graded.len()];
        for src in 0..graded.len() {
            let r = ptr[src]..ptr[src + 1];
            if graded[src] || uniform[src] == u8::MAX {
                continue;
            }
            let w = &weight[r.clone()];
            let s = w
                .iter()
                .map(|&x| x.trailing_zeros())
                .min()
                .unwrap_or(0)
                .min(31);
            if !w.iter().all(|&x| (lo..=hi).contains(&i64::from(x >> s))) {
                continue;
            }
            for k in r {
                let m = (weight[k] >> s) as u32 & ((1u32 << mbits) - 1);
                words[k] = (target[k] << mbits) | m;
            }
            shift[src] = s as u8;
        }
        if shift.iter().all(|&s| s == u8::MAX) {
            return none;
        }
        Packed {
            mbits,
            words,
            shift,
        }
    }

    /// Whether source `src`'s list is packed.
    fn has(&self, src: usize) -> bool {
        self.shift.get(src).is_some_and(|&s| s != u8::MAX)
    }

    /// Adds source `src`'s synapses (`range`) into `row` if its list is
    /// packed; returns whether it was.
    fn deliver(&self, src: usize, range: std::ops::Range<usize>, row: &mut [i32]) -> bool {
        if !self.has(src) {
            return false;
        }
        let s = self.shift[src];
        let (mbits, tbits) = (self.mbits, 32 - self.mbits);
        for &p in &self.words[range] {
            row[(p >> mbits) as usize] += ((p << tbits) as i32 >> tbits) << s;
        }
        true
    }
}

/// How many spikes ahead of the one being delivered the engine prefetches
/// fan-out lists, and (twice as far) the pointers to them. One list of
/// ~100 synapses takes about as long to deliver as a memory access; two,
/// three and four ahead measured alike on the 100k-neuron network.
const AHEAD: usize = 2;

/// Asks the CPU to start loading every cache line of `x[range]`.
///
/// A spike's fan-out list starts at an unpredictable address and is too
/// short for the hardware prefetcher to pick up, so without this the scan
/// waits on memory at every line; the engine calls it for the spike two
/// ahead of the one it is delivering.
#[inline(always)]
fn prefetch<T>(x: &[T], range: std::ops::Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let step = (64 / std::mem::size_of::<T>()).max(1);
        if let Some(lines) = x.get(range) {
            for p in lines.iter().step_by(step) {
                // SAFETY: `prefetcht0` is only a hint: it never faults and
                // has no architectural effect, and SSE is part of the
                // x86_64 baseline. The pointer is in bounds besides.
                unsafe { _mm_prefetch::<_MM_HINT_T0>((p as *const T).cast::<i8>()) }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (x, range);
}

/// Spike synapses whose format has a negative weight exponent `−k`, summed
/// as Lava's Dense does: the mantissas of one step per (target, k), then
/// `floor(Σm / 2^k) · 2^6` into the target's input.
#[derive(Clone, Default)]
struct Negative {
    /// Per fan-out synapse: its (target, k) slot, or `u32::MAX`.
    pair: Vec<u32>,
    /// Per fan-out synapse: its mantissa.
    mant: Vec<i32>,
    /// Per fan-out source: whether it has such synapses.
    source: Vec<bool>,
    /// Every slot as `(target, slot, k)`, by target.
    targets: Vec<(u32, u32, u8)>,
    pairs: usize,
    /// Ring of mantissa sums, `[delay slot][pair]`.
    ring: Vec<i64>,
}

impl Negative {
    fn has(&self, src: usize) -> bool {
        self.source.get(src).copied().unwrap_or(false)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Model {
    Lif,
    If,
    Alif,
    SigmaDelta,
    Li,
}

/// A loaded configuration, ready to run.
///
/// At load, the chip tables (routes to `(core, axon)`, each axon's synapse
/// list on its core) are flattened into one fan-out list per source: every
/// synapse a spike of that source reaches, with its global target, its
/// effective weight and its delay, contiguous in memory. Delivering an event
/// is then one sequential scan; neuron state lives in global arrays.
#[derive(Clone)]
pub struct Engine {
    config: Config,
    /// Global index of each core's first neuron.
    core_off: Vec<usize>,
    neurons: usize,
    slots: usize,
    /// Start of the ring-buffer slot of each delay at the current step.
    base: Vec<usize>,
    /// Ring buffers `[slot][neuron]`: spikes (this step only) and graded
    /// changes (added to `acc`, the persistent sum).
    spike: Vec<f64>,
    graded: Vec<f64>,
    /// On integer chips whose spike sums provably fit (see [`Engine::new`]),
    /// spikes go to this `i32` ring instead of `spike`, with `fan_wi` as
    /// the weights: half the memory traffic and no float rounding.
    int_spikes: bool,
    ispike: Vec<i32>,
    fan_wi: Vec<i32>,
    /// The same spike lists, one word per synapse where possible.
    packed: Packed,
    /// Negative-exponent synapses (Loihi), summed per format and shifted.
    neg: Negative,
    acc: Vec<f64>,
    /// Fan-out lists: sources are the neurons (global index), then the
    /// input channels (in manifest order).
    fan_ptr: Vec<usize>,
    fan_target: Vec<u32>,
    fan_weight: Vec<f64>,
    fan_delay: Vec<u8>,
    fan_graded: Vec<bool>,
    /// Per source: its synapses' delay if they all have the same, else 255.
    fan_uniform: Vec<u8>,
    /// Per synapse: whether it is stochastic (TrueNorth; empty when none).
    fan_stoch: Vec<bool>,
    /// Per source: `(core, synapses there)`, for the per-core counts.
    cores_ptr: Vec<usize>,
    cores_of: Vec<(u32, u32)>,
    /// Events each fan-out source has sent.
    sent_by: Vec<u64>,
    /// First fan-out source of each input.
    input_base: Vec<usize>,
    groups: Vec<GroupRun>,
    order: Vec<usize>,
    out_scale: Vec<f64>,
    sent: Vec<f64>,
    /// Neurons of CUBA groups whose `sent` is 1 from the last step.
    marked: Vec<usize>,
    /// The group of every neuron (an index into `groups`).
    group_of: Vec<u32>,
    enc: Vec<Vec<f64>>,
    /// What each input's encoder could not carry.
    enc_overflow: Vec<Overflow>,
    events: Vec<(usize, f64)>,
    t: usize,
    pub stats: Stats,
    float: bool,
    synapses: u64,
}

impl Engine {
    pub fn new(config: Config) -> Engine {
        let float = config.manifest.backend == "seneca";
        let mut core_off = Vec::with_capacity(config.cores.len());
        let mut neurons = 0usize;
        for (core, _) in &config.cores {
            core_off.push(neurons);
            neurons += core.neurons as usize;
        }
        // Effective weight of every synapse of every core: Loihi
        // `mant · 2^(6+exp)`; TrueNorth the target's `s[type]` where the
        // crossbar bit is set; SENeCA the bfloat16 value.
        let mut eff: Vec<Vec<f64>> = Vec::with_capacity(config.cores.len());
        // TrueNorth synapses of a stochastic axon type, per core (empty when
        // none).
        let mut stoch: Vec<Vec<bool>> = Vec::with_capacity(config.cores.len());
        // Loihi synapses whose format has a negative exponent `−k`: their
        // `k` (0 for the others), per core (empty when none).
        let mut shifts: Vec<Vec<u8>> = Vec::with_capacity(config.cores.len());
        let mut slots = 1usize;
        let mut synapses = 0u64;
        for (core, syn) in &config.cores {
            let mut group_of = vec![0usize; core.neurons as usize];
            for (gi, g) in core.groups.iter().enumerate() {
                for i in g.first..g.first + g.count {
                    group_of[i as usize] = gi;
                }
            }
            let w: Vec<f64> = (0..syn.target.len())
                .map(|k| {
                    let t = syn.target[k] as usize;
                    let g = &core.groups[group_of[t]];
                    match &g.params {
                        Params::Loihi(p) => {
                            let e =
                                p.formats.get(syn.kind[k] as usize).copied().unwrap_or(0) as i32;
                            syn.weight[k] as f64 * 2f64.powi(6 + e)
                        }
                        Params::TrueNorth(p) => {
                            p.s[t - g.first as usize][(syn.kind[k] & 3) as usize] as f64
                                * f64::from(syn.weight[k] != 0)
                        }
                        Params::Seneca(_) => from_bf16(syn.weight[k] as u16) as f64,
                    }
                })
                .collect();
            let st: Vec<bool> = (0..syn.target.len())
                .map(|k| {
                    let g = &core.groups[group_of[syn.target[k] as usize]];
                    match &g.params {
                        Params::TrueNorth(p) => p
                            .stochastic
                            .as_ref()
                            .is_some_and(|s| s.synapse[(syn.kind[k] & 3) as usize]),
                        _ => false,
                    }
                })
                .collect();
            stoch.push(if st.contains(&true) { st } else { Vec::new() });
            let sh: Vec<u8> = (0..syn.target.len())
                .map(
                    |k| match &core.groups[group_of[syn.target[k] as usize]].params {
                        Params::Loihi(p) => {
                            let e = p.formats.get(syn.kind[k] as usize).copied().unwrap_or(0);
                            (-e).max(0) as u8
                        }
                        _ => 0,
                    },
                )
                .collect();
            shifts.push(if sh.iter().any(|&k| k > 0) {
                sh
            } else {
                Vec::new()
            });
            eff.push(w);
            slots = slots.max(syn.delay.iter().copied().max().unwrap_or(0) as usize + 1);
            synapses += syn.target.len() as u64;
        }
        // Fan-out lists: neurons first, then input channels.
        let mut sources: Vec<&[(u32, u32)]> = Vec::with_capacity(neurons);
        for (core, _) in &config.cores {
            sources.extend(core.routes.iter().map(|r| r.as_slice()));
        }
        let mut input_base = Vec::new();
        for inp in &config.manifest.inputs {
            input_base.push(sources.len());
            sources.extend(inp.routes.iter().map(|r| r.as_slice()));
        }
        let mut fan_ptr = Vec::with_capacity(sources.len() + 1);
        let mut cores_ptr = Vec::with_capacity(sources.len() + 1);
        let mut fan_graded = Vec::with_capacity(sources.len());
        let mut cores_of = Vec::new();
        let mut total = 0usize;
        fan_ptr.push(0);
        cores_ptr.push(0);
        for routes in &sources {
            let mut graded = false;
            for &(c, a) in *routes {
                let (core, syn) = &config.cores[c as usize];
                let n = (syn.axon_ptr[a as usize + 1] - syn.axon_ptr[a as usize]) as usize;
                total += n;
                graded |= core.axon_graded[a as usize];
                cores_of.push((c, n as u32));
            }
            fan_ptr.push(total);
            cores_ptr.push(cores_of.len());
            fan_graded.push(graded);
        }
        let mut fan_target = Vec::with_capacity(total);
        let mut fan_weight = Vec::with_capacity(total);
        let mut fan_delay = Vec::with_capacity(total);
        let any_stochastic = stoch.iter().any(|s| !s.is_empty());
        let mut fan_stoch = Vec::new();
        let any_shift = shifts.iter().any(|s| !s.is_empty());
        let mut fan_shift: Vec<u8> = Vec::new();
        let mut fan_mant: Vec<i32> = Vec::new();
        for routes in &sources {
            for &(c, a) in *routes {
                let (_, syn) = &config.cores[c as usize];
                let off = core_off[c as usize] as u32;
                let range =
                    syn.axon_ptr[a as usize] as usize..syn.axon_ptr[a as usize + 1] as usize;
                if any_stochastic {
                    let st = &stoch[c as usize];
                    fan_stoch.extend(range.clone().map(|k| st.get(k).copied().unwrap_or(false)));
                }
                if any_shift {
                    let sh = &shifts[c as usize];
                    fan_shift.extend(range.clone().map(|k| sh.get(k).copied().unwrap_or(0)));
                    fan_mant.extend_from_slice(&syn.weight[range.clone()]);
                }
                fan_target.extend(syn.target[range.clone()].iter().map(|&t| off + t));
                fan_weight.extend_from_slice(&eff[c as usize][range.clone()]);
                fan_delay.extend_from_slice(&syn.delay[range]);
            }
        }
        let fan_uniform: Vec<u8> = fan_ptr
            .windows(2)
            .map(|w| {
                let d = &fan_delay[w[0]..w[1]];
                match d.first() {
                    Some(&x) if x != u8::MAX && d.iter().all(|&y| y == x) => x,
                    Some(_) => u8::MAX,
                    None => 0,
                }
            })
            .collect();
        drop(sources);
        // Lava's Dense sums the mantissas of a step's spikes per synapse
        // format and then shifts the sum right by `k` (a floor) for a
        // negative exponent `−k`. Such synapses of spike sources add their
        // mantissa into a ring of their own, one slot per (target, k), which
        // the target shifts when it updates.
        let mut neg = Negative::default();
        if any_shift {
            let mut pairs: std::collections::HashMap<(u32, u8), u32> =
                std::collections::HashMap::new();
            neg.pair = vec![u32::MAX; fan_target.len()];
            neg.source = vec![false; fan_graded.len()];
            for src in 0..fan_graded.len() {
                if fan_graded[src] {
                    continue;
                }
                for k in fan_ptr[src]..fan_ptr[src + 1] {
                    if fan_shift[k] == 0 {
                        continue;
                    }
                    let key = (fan_target[k], fan_shift[k]);
                    let next = pairs.len() as u32;
                    neg.pair[k] = *pairs.entry(key).or_insert(next);
                    neg.source[src] = true;
                }
            }
            let mut by_target: Vec<((u32, u8), u32)> = pairs.into_iter().collect();
            by_target.sort_unstable();
            neg.targets = by_target.into_iter().map(|((t, k), c)| (t, c, k)).collect();
            neg.pairs = neg.targets.len();
            neg.mant = fan_mant;
        }
        // Spikes (unit payloads on non-graded axons) can be summed exactly
        // in `i32` when every such weight is an integer and, for every
        // target, the sum of the magnitudes of all its spike synapses stays
        // below 2^31: a ring slot receives each synapse at most once, so no
        // slot can overflow.
        let int_spikes = !float && {
            let mut bound = vec![0f64; neurons];
            let mut ok = true;
            for src in 0..fan_graded.len() {
                if fan_graded[src] {
                    continue;
                }
                for k in fan_ptr[src]..fan_ptr[src + 1] {
                    let w = fan_weight[k];
                    let shifted = neg.pair.get(k).is_some_and(|&c| c != u32::MAX);
                    ok &= shifted || w.fract() == 0.0;
                    // A floored sum can be one unit (64) further out.
                    bound[fan_target[k] as usize] += w.abs() + if shifted { 64.0 } else { 0.0 };
                }
            }
            // Sigma-delta input encoders send values, so their axons must
            // be graded for the ring to see only unit payloads.
            let inputs_ok = config.manifest.inputs.iter().enumerate().all(|(ii, inp)| {
                matches!(inp.encoder, Encoder::Rate)
                    || (0..inp.size as usize).all(|ch| fan_graded[input_base[ii] + ch])
            });
            ok && inputs_ok && bound.iter().all(|&b| b < 2f64.powi(31))
        };
        let fan_wi: Vec<i32> = if int_spikes {
            fan_weight.iter().map(|&w| w as i32).collect()
        } else {
            Vec::new()
        };
        let packed = Packed::new(
            int_spikes,
            neurons,
            &fan_ptr,
            &fan_target,
            &fan_wi,
            &fan_graded,
            &fan_uniform,
        );
        let mut graded_target = vec![false; neurons];
        for src in 0..fan_graded.len() {
            if fan_graded[src] {
                for &t in &fan_target[fan_ptr[src]..fan_ptr[src + 1]] {
                    graded_target[t as usize] = true;
                }
            }
        }
        let mut groups = Vec::new();
        let mut group_of = vec![0u32; neurons];
        let mut index: Vec<Vec<usize>> = Vec::new();
        let mut out_scale = vec![1.0; neurons];
        for (ci, (core, _)) in config.cores.iter().enumerate() {
            let mut idx = Vec::new();
            for g in &core.groups {
                let c = g.count as usize;
                let first = core_off[ci] + g.first as usize;
                for o in &mut out_scale[first..first + c] {
                    *o = if g.graded { g.scale as f64 } else { 1.0 };
                }
                let model = match g.model.as_str() {
                    "lif" => Model::Lif,
                    "if" => Model::If,
                    "alif" => Model::Alif,
                    "sigma_delta" => Model::SigmaDelta,
                    _ => Model::Li,
                };
                let state = if float {
                    State::Float {
                        u: vec![0.0; c],
                        v: vec![0.0; c],
                        aux: vec![0.0; c],
                        r: vec![0.0; c],
                        refr: vec![0; c],
                        last: vec![false; c],
                    }
                } else {
                    let v0 = match &g.params {
                        Params::TrueNorth(p) => p.offset as i64,
                        _ => 0,
                    };
                    State::Int {
                        u: vec![0; c],
                        v: vec![v0; c],
                        aux: vec![0; c],
                        r: vec![0; c],
                        refr: vec![0; c],
                        last: vec![false; c],
                    }
                };
                group_of[first..first + c].fill(groups.len() as u32);
                let cuba = match (&g.params, model) {
                    (Params::Loihi(p), Model::Lif | Model::If | Model::Li) => {
                        Some(Cuba::new(p, c, model != Model::Li))
                    }
                    _ => None,
                };
                idx.push(groups.len());
                groups.push(GroupRun {
                    population: g.population.clone(),
                    first,
                    count: c,
                    model,
                    params: g.params.clone(),
                    state,
                    cuba,
                    graded_in: graded_target[first..first + c].iter().any(|&x| x),
                    rng: Rng::new(match &g.params {
                        Params::TrueNorth(p) => p.stochastic.as_ref().map_or(0, |s| s.seed),
                        _ => 0,
                    }),
                    sends_changes: g.graded && model == Model::Li,
                    sent: if g.graded && model == Model::Li {
                        vec![0.0; c]
                    } else {
                        Vec::new()
                    },
                    overflow: Overflow::default(),
                    neg: 0..0,
                });
            }
            index.push(idx);
        }
        let order: Vec<usize> = config
            .manifest
            .order
            .iter()
            .map(|&(c, g)| index[c as usize][g as usize])
            .collect();
        let (mut groups, order) = merge_runs(groups, order);
        for (gi, g) in groups.iter_mut().enumerate() {
            group_of[g.first..g.first + g.count].fill(gi as u32);
            let (lo, hi) = (g.first as u32, (g.first + g.count) as u32);
            let a = neg.targets.partition_point(|&(t, _, _)| t < lo);
            let b = neg.targets.partition_point(|&(t, _, _)| t < hi);
            g.neg = a..b;
        }
        let enc: Vec<Vec<f64>> = config
            .manifest
            .inputs
            .iter()
            .map(|i| vec![0.0; i.size as usize])
            .collect();
        let stats = Stats::default();
        Engine {
            sent_by: vec![0; fan_ptr.len() - 1],
            core_off,
            neurons,
            slots,
            base: (0..slots).map(|d| d * neurons).collect(),
            spike: if int_spikes {
                Vec::new()
            } else {
                vec![0.0; slots * neurons]
            },
            graded: vec![0.0; slots * neurons],
            int_spikes,
            ispike: if int_spikes {
                vec![0; slots * neurons]
            } else {
                Vec::new()
            },
            packed,
            neg: Negative {
                ring: vec![0; slots * neg.pairs],
                ..neg
            },
            fan_wi,
            acc: vec![0.0; neurons],
            fan_ptr,
            fan_target,
            fan_weight,
            fan_delay,
            fan_graded,
            fan_uniform,
            fan_stoch,
            cores_ptr,
            cores_of,
            input_base,
            groups,
            order,
            out_scale,
            sent: vec![0.0; neurons],
            marked: Vec::new(),
            group_of,
            enc_overflow: vec![Overflow::default(); enc.len()],
            enc,
            events: Vec::new(),
            t: 0,
            stats,
            float,
            synapses,
            config,
        }
    }

    /// Total synapses stored.
    pub fn synapses(&self) -> u64 {
        self.synapses
    }

    /// What did not fit so far: each input (`input x`) whose encoder
    /// dropped something, then each population (its chunks on all cores
    /// together), in update order, with its counts (zeros included).
    pub fn overflow(&self) -> Vec<(String, Overflow)> {
        let mut out: Vec<(String, Overflow)> = self
            .config
            .manifest
            .inputs
            .iter()
            .zip(&self.enc_overflow)
            .filter(|(_, o)| o.total() > 0)
            .map(|(i, &o)| (format!("input {}", i.name), o))
            .collect();
        let first_pop = out.len();
        for &gi in &self.order {
            let g = &self.groups[gi];
            let mut o = g.overflow;
            if let Some(c) = &g.cuba {
                o.add(c.overflow);
            }
            match out[first_pop..]
                .iter_mut()
                .find(|(n, _)| *n == g.population)
            {
                Some((_, x)) => x.add(o),
                None => out.push((g.population.clone(), o)),
            }
        }
        out
    }

    /// Sends an event of `payload` from fan-out source `src`: every synapse
    /// adds `weight · payload` to its target's slot `t + delay`.
    fn deliver(&mut self, src: usize, payload: f64) {
        let (a, b) = (self.fan_ptr[src], self.fan_ptr[src + 1]);
        self.stats.synaptic_events += (b - a) as u64;
        self.sent_by[src] += 1;
        if a == b {
            // A neuron nothing on the chip reads (an output).
            return;
        }
        if !self.fan_stoch.is_empty() {
            // TrueNorth with stochastic synapses: each such synapse draws
            // from its target group's generator, in list order.
            for k in a..b {
                let t = self.fan_target[k] as usize;
                let w = if self.fan_stoch[k] {
                    let g = self.group_of[t] as usize;
                    self.groups[g].rng.bernoulli_sign(self.fan_weight[k] as i64) as f64
                } else {
                    self.fan_weight[k]
                };
                let i = self.base[self.fan_delay[k] as usize] + t;
                if self.int_spikes {
                    self.ispike[i] += w as i32;
                } else {
                    self.spike[i] += w * payload;
                }
            }
            return;
        }
        if self.neg.has(src) {
            // Spikes with negative-exponent synapses among theirs.
            for k in a..b {
                let slot = (self.t + self.fan_delay[k] as usize) % self.slots;
                let c = self.neg.pair[k];
                if c != u32::MAX {
                    self.neg.ring[slot * self.neg.pairs + c as usize] += self.neg.mant[k] as i64;
                    continue;
                }
                let i = self.base[self.fan_delay[k] as usize] + self.fan_target[k] as usize;
                if self.int_spikes {
                    self.ispike[i] += self.fan_wi[k];
                } else {
                    self.spike[i] += self.fan_weight[k] * payload;
                }
            }
            return;
        }
        if self.int_spikes && !self.fan_graded[src] {
            debug_assert_eq!(payload, 1.0);
            let (target, weight) = (&self.fan_target[a..b], &self.fan_wi[a..b]);
            let uniform = self.fan_uniform[src];
            if uniform != u8::MAX {
                let start = self.base[uniform as usize];
                let row = &mut self.ispike[start..start + self.neurons];
                if self.packed.deliver(src, a..b, row) {
                    return;
                }
                for (&tg, &w) in target.iter().zip(weight) {
                    row[tg as usize] += w;
                }
            } else {
                let delay = &self.fan_delay[a..b];
                for k in 0..target.len() {
                    self.ispike[self.base[delay[k] as usize] + target[k] as usize] += weight[k];
                }
            }
            return;
        }
        let buf = if self.fan_graded[src] {
            &mut self.graded
        } else {
            &mut self.spike
        };
        let (target, weight, delay) = (
            &self.fan_target[a..b],
            &self.fan_weight[a..b],
            &self.fan_delay[a..b],
        );
        let base = &self.base;
        let uniform = self.fan_uniform[src];
        if !self.float && uniform != u8::MAX {
            // One delay for the whole list (the common case): one slot.
            let start = base[uniform as usize];
            let row = &mut buf[start..start + self.neurons];
            if payload == 1.0 {
                for (&tg, &w) in target.iter().zip(weight) {
                    row[tg as usize] += w;
                }
            } else {
                for (&tg, &w) in target.iter().zip(weight) {
                    row[tg as usize] += w * payload;
                }
            }
        } else if self.float && uniform != u8::MAX && payload == 1.0 {
            // A spike with one delay: the weights are bfloat16 already, so
            // only the sum rounds.
            let start = base[uniform as usize];
            let row = &mut buf[start..start + self.neurons];
            for (&tg, &w) in target.iter().zip(weight) {
                let x = &mut row[tg as usize];
                *x = bf16(*x as f32 + w as f32) as f64;
            }
        } else if self.float {
            for k in 0..target.len() {
                let i = base[delay[k] as usize] + target[k] as usize;
                buf[i] = bf16((buf[i] as f32) + bf16((weight[k] * payload) as f32)) as f64;
            }
        } else if self.slots == 1 {
            for (&tg, &w) in target.iter().zip(weight) {
                buf[tg as usize] += w * payload;
            }
        } else {
            for k in 0..target.len() {
                buf[base[delay[k] as usize] + target[k] as usize] += weight[k] * payload;
            }
        }
    }

    /// Before delivering `events[k]`: starts loading the fan-out list of
    /// the event [`AHEAD`] further on, and the list pointers of the one
    /// twice as far.
    #[inline]
    fn prefetch_ahead(&self, events: &[(usize, f64)], k: usize) {
        if let Some(&(src, _)) = events.get(k + AHEAD) {
            self.prefetch_list(src);
        }
        if let Some(&(src, _)) = events.get(k + 2 * AHEAD) {
            prefetch(&self.fan_ptr, src..src + 2);
        }
    }

    /// Starts loading source `src`'s fan-out list (see [`prefetch`]).
    #[inline]
    fn prefetch_list(&self, src: usize) {
        let r = self.fan_ptr[src]..self.fan_ptr[src + 1];
        if self.packed.has(src) {
            prefetch(&self.packed.words, r);
        } else if self.int_spikes && !self.fan_graded[src] {
            prefetch(&self.fan_target, r.clone());
            prefetch(&self.fan_wi, r);
        } else {
            prefetch(&self.fan_target, r.clone());
            prefetch(&self.fan_weight, r);
        }
    }

    /// Adds the floored sums of group `gi`'s negative-exponent synapses for
    /// this step (`slot`: the step's ring offset) into its spike input, and
    /// clears them.
    fn shift_negative(&mut self, gi: usize, slot: usize) {
        let range = self.groups[gi].neg.clone();
        if range.is_empty() {
            return;
        }
        let row = (self.t % self.slots) * self.neg.pairs;
        for &(target, c, k) in &self.neg.targets[range] {
            let m = std::mem::take(&mut self.neg.ring[row + c as usize]);
            // An arithmetic shift: the floor, as in Lava.
            let x = (m >> k) << 6;
            let i = slot + target as usize;
            if self.int_spikes {
                self.ispike[i] += x as i32;
            } else {
                self.spike[i] += x as f64;
            }
        }
    }

    /// Synaptic events received per core so far (from the events each
    /// source sent and where its synapses are).
    pub fn per_core(&self) -> Vec<u64> {
        let mut per = vec![0u64; self.core_off.len()];
        for (src, &k) in self.sent_by.iter().enumerate() {
            if k == 0 {
                continue;
            }
            for &(c, n) in &self.cores_of[self.cores_ptr[src]..self.cores_ptr[src + 1]] {
                per[c as usize] += k * n as u64;
            }
        }
        per
    }

    /// Events (spikes, or sigma-delta messages) each population's neurons
    /// sent so far, per neuron, in the order of the population's groups on
    /// the chip (index order unless the placer cut it otherwise).
    pub fn sent_per_population(&self) -> Vec<(String, Vec<u64>)> {
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        for &gi in &self.order {
            let g = &self.groups[gi];
            let counts = &self.sent_by[g.first..g.first + g.count];
            match out.iter_mut().find(|(n, _)| *n == g.population) {
                Some((_, v)) => v.extend_from_slice(counts),
                None => out.push((g.population.clone(), counts.to_vec())),
            }
        }
        out
    }

    /// Runs one model step (its ticks) with one row per input (each of
    /// the input's size).
    pub fn step(&mut self, rows: &[&[f32]]) {
        for _ in 0..self.config.manifest.ticks_per_step.max(1) {
            self.tick(rows);
        }
        self.stats.steps += 1;
    }

    /// One tick of the chip.
    fn tick(&mut self, rows: &[&[f32]]) {
        let t = self.t;
        let float = self.float;
        let (n, slots) = (self.neurons, self.slots);
        for (d, b) in self.base.iter_mut().enumerate() {
            *b = ((t + d) % slots) * n;
        }
        // 1. Inputs.
        for ii in 0..self.config.manifest.inputs.len() {
            let (size, encoder, scale) = {
                let inp = &self.config.manifest.inputs[ii];
                (inp.size as usize, inp.encoder, inp.scale as f64)
            };
            let row = rows.get(ii).copied().unwrap_or(&[]);
            for ch in 0..size {
                let x = row.get(ch).copied().unwrap_or(0.0) as f64;
                let state = &mut self.enc[ii][ch];
                let ov = &mut self.enc_overflow[ii];
                let payload = match encoder {
                    Encoder::Rate => {
                        // At most one spike a step, and none for a
                        // negative value: what is left over is lost.
                        ov.saturated += u64::from(!(0.0..=1.0).contains(&x));
                        *state += x.clamp(0.0, 1.0);
                        if *state >= 1.0 {
                            *state -= 1.0;
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Encoder::SigmaDelta { threshold } => {
                        // Payloads are whole units of `scale`, sent as
                        // values; the value is a 24-bit register.
                        let q = (x / scale).round();
                        let q = if q.abs() > V_MAX as f64 {
                            ov.saturated += 1;
                            q.clamp(-(V_MAX as f64), V_MAX as f64)
                        } else {
                            q
                        };
                        let d = q - *state;
                        if d != 0.0 && d.abs() * scale >= threshold as f64 {
                            *state = q;
                            d * scale
                        } else {
                            0.0
                        }
                    }
                };
                if payload != 0.0 {
                    self.stats.input_events += 1;
                    let src = self.input_base[ii] + ch;
                    self.deliver(src, payload);
                }
            }
        }
        // 2. Neurons, group by group in order.
        for i in self.marked.drain(..) {
            self.sent[i] = 0.0;
        }
        let slot = self.base[0];
        let mut events = std::mem::take(&mut self.events);
        for oi in 0..self.order.len() {
            self.shift_negative(self.order[oi], slot);
            let g = &mut self.groups[self.order[oi]];
            events.clear();
            // The common case, Loihi CUBA neurons, in one tight loop.
            if let Some(cuba) = &mut g.cuba {
                let first = g.first;
                let range = slot + first..slot + first + g.count;
                let graded = &mut self.graded[range.clone()];
                let acc = &mut self.acc[first..first + g.count];
                match (self.int_spikes, g.graded_in) {
                    (true, false) if cuba.uniform() => {
                        cuba.step_uniform(&mut self.ispike[range], first, &mut events);
                    }
                    (true, false) => {
                        let spike = &mut self.ispike[range];
                        cuba.step(|j| std::mem::take(&mut spike[j]) as i64, first, &mut events);
                    }
                    (true, true) => {
                        let spike = &mut self.ispike[range];
                        let input = |j: usize| {
                            let s = std::mem::take(&mut spike[j]) as i64;
                            acc[j] += std::mem::take(&mut graded[j]);
                            // A sum of integers: only graded input rounds.
                            if acc[j] == 0.0 {
                                s
                            } else {
                                (acc[j] + s as f64).round() as i64
                            }
                        };
                        cuba.step(input, first, &mut events);
                    }
                    (false, _) => {
                        let spike = &mut self.spike[range];
                        let input = |j: usize| {
                            acc[j] += std::mem::take(&mut graded[j]);
                            (acc[j] + std::mem::take(&mut spike[j])).round() as i64
                        };
                        cuba.step(input, first, &mut events);
                    }
                }
                self.stats.neuron_updates += g.count as u64;
                if g.sends_changes {
                    for (j, last) in g.sent.iter_mut().enumerate() {
                        let v = cuba.v[j] as f64;
                        if v != *last {
                            events.push((first + j, v - *last));
                            *last = v;
                        }
                    }
                }
                let spikes = !g.sends_changes;
                for (k, &(i, out)) in events.iter().enumerate() {
                    self.prefetch_ahead(&events, k);
                    self.stats.spikes += 1;
                    if spikes {
                        self.sent[i] = 1.0;
                        self.marked.push(i);
                    }
                    let payload = out * self.out_scale[i];
                    self.deliver(i, payload);
                }
                continue;
            }
            for j in 0..g.count {
                let i = g.first + j;
                let s_in = if self.int_spikes {
                    std::mem::take(&mut self.ispike[slot + i]) as f64
                } else {
                    std::mem::take(&mut self.spike[slot + i])
                };
                let d_in = std::mem::take(&mut self.graded[slot + i]);
                let input = if float {
                    self.acc[i] = bf16((self.acc[i] + d_in) as f32) as f64;
                    bf16((self.acc[i] + s_in) as f32) as f64
                } else {
                    self.acc[i] += d_in;
                    self.acc[i] + s_in
                };
                let (mut out, v) = update(
                    g.model,
                    &g.params,
                    &mut g.state,
                    &mut g.rng,
                    j,
                    input,
                    &mut g.overflow,
                );
                if g.sends_changes {
                    let last = &mut g.sent[j];
                    out = if float {
                        let d = bf16((v - *last) as f32) as f64;
                        *last = bf16((*last + d) as f32) as f64;
                        d
                    } else {
                        let d = v - *last;
                        *last = v;
                        d
                    };
                }
                self.sent[i] = out;
                if out != 0.0 {
                    events.push((i, out));
                }
            }
            self.stats.neuron_updates += g.count as u64;
            for (k, &(i, out)) in events.iter().enumerate() {
                self.prefetch_ahead(&events, k);
                self.stats.spikes += 1;
                let payload = out * self.out_scale[i];
                self.deliver(i, payload);
            }
        }
        self.events = events;
        self.stats.ticks += 1;
        self.stats.dense_synops += self.synapses;
        self.t += 1;
    }

    /// Neuron `i`'s state variable that `read` names, in units of its
    /// state: the voltage (a sigma-delta neuron's low-passed value `h`), the
    /// graded value it last sent (the reconstruction `r`), the current, the
    /// adaptation.
    fn variable(&self, i: usize, read: Readout) -> f64 {
        let g = &self.groups[self.group_of[i] as usize];
        let j = i - g.first;
        if let Some(c) = &g.cuba {
            return match read {
                Readout::Current => c.u[j] as f64,
                _ => c.v[j] as f64,
            };
        }
        let offset = match &g.params {
            Params::TrueNorth(p) => p.offset as f64,
            _ => 0.0,
        };
        match (&g.state, read) {
            (State::Int { u, .. }, Readout::Current) => u[j] as f64,
            (State::Float { u, .. }, Readout::Current) => u[j] as f64,
            (State::Int { aux, .. }, Readout::Adaptation) => aux[j] as f64,
            (State::Float { aux, .. }, Readout::Adaptation) => aux[j] as f64,
            (State::Int { r, .. }, Readout::Graded) if g.model == Model::SigmaDelta => r[j] as f64,
            (State::Float { r, .. }, Readout::Graded) if g.model == Model::SigmaDelta => {
                r[j] as f64
            }
            (State::Int { v, .. }, _) => v[j] as f64 - offset,
            (State::Float { v, .. }, _) => v[j] as f64,
        }
    }

    /// The outputs after the last step, each as one row.
    pub fn read(&self) -> Vec<(String, Vec<f32>)> {
        self.config
            .manifest
            .outputs
            .iter()
            .map(|o| {
                let row = o
                    .neurons
                    .iter()
                    .zip(&o.scale)
                    .map(|(&(c, n), &s)| {
                        let i = self.core_off[c as usize] + n as usize;
                        let x = match o.read {
                            Readout::Spikes => f64::from(self.sent[i] != 0.0),
                            read => self.variable(i, read) * s as f64,
                        };
                        x as f32
                    })
                    .collect();
                (o.name.clone(), row)
            })
            .collect()
    }

    /// Runs `steps` steps; `input(t)` gives each input's row.
    pub fn run(
        &mut self,
        steps: usize,
        input: &dyn Fn(usize) -> Vec<Vec<f32>>,
    ) -> Vec<(String, Vec<Vec<f32>>)> {
        let mut out: Vec<(String, Vec<Vec<f32>>)> = self
            .config
            .manifest
            .outputs
            .iter()
            .map(|o| (o.name.clone(), Vec::with_capacity(steps)))
            .collect();
        for t in 0..steps {
            let rows = input(t);
            let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
            self.step(&refs);
            for (k, (_, row)) in self.read().into_iter().enumerate() {
                out[k].1.push(row);
            }
        }
        out
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// One step of Loihi's CUBA compartment `j` with input `i_in` (Lava's
/// bit-accurate LIF, plus refractory); returns whether it spiked.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn loihi_cuba(
    p: &LoihiGroup,
    u: &mut [i64],
    v: &mut [i64],
    refr: &mut [u32],
    j: usize,
    i_in: i64,
    spiking: bool,
    ov: &mut Overflow,
) -> bool {
    let pre = loihi_decay(u[j], p.du[j] as i64 + 1) + i_in;
    u[j] = wrap24(pre);
    ov.wrapped += u64::from(u[j] != pre);
    if refr[j] > 0 {
        refr[j] -= 1;
        return false;
    }
    let bias = (p.bias_mant[j] as i64) << p.bias_exp[j];
    let pre_v = loihi_decay(v[j], p.dv[j] as i64) + u[j] + bias;
    v[j] = pre_v.clamp(p.vmin as i64, V_MAX);
    let vth = (p.vth[j] as i64) << 6;
    let spike = spiking && v[j] > vth;
    ov.saturated += u64::from(clipped(pre_v, p.vmin as i64, spike, p.reset_subtract));
    if spike {
        v[j] = if p.reset_subtract { v[j] - vth } else { 0 };
        refr[j] = p.refractory;
        return true;
    }
    false
}

/// `x` wrapped to Loihi's 24-bit input register, counting a wrap.
#[inline(always)]
fn register24(x: i64, ov: &mut Overflow) -> i64 {
    let w = wrap24(x);
    ov.wrapped += u64::from(w != x);
    w
}

/// A bfloat16 result, counting one that overflowed to infinity.
#[inline(always)]
fn finite_bf16(x: f32, ov: &mut Overflow) -> f32 {
    ov.saturated += u64::from(x.is_infinite());
    x
}

/// One neuron's update; returns (what it sends, its readout state).
fn update(
    model: Model,
    params: &Params,
    state: &mut State,
    rng: &mut Rng,
    j: usize,
    input: f64,
    ov: &mut Overflow,
) -> (f64, f64) {
    match (params, state) {
        (
            Params::Loihi(p),
            State::Int {
                u,
                v,
                aux,
                r,
                refr,
                last,
            },
        ) => {
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
                _ => {
                    let spiked = loihi_cuba(p, u, v, refr, j, i_in, model != Model::Li, ov);
                    (f64::from(spiked), v[j] as f64)
                }
            }
        }
        (Params::TrueNorth(p), State::Int { v, .. }) => {
            // Synaptic integration (the input is Σ s[G], stochastic ones
            // drawn at delivery), leak, threshold. Draws, in this order:
            // the leak's ρ (stochastic leak), then η (threshold mask).
            let st = p.stochastic.as_ref();
            let integrated = v[j] + input.round() as i64;
            let leak = match st {
                Some(s) if s.leak => rng.bernoulli_sign(p.leak[j] as i64),
                _ => p.leak[j] as i64,
            };
            let omega = if p.leak_reversal {
                integrated.signum()
            } else {
                1
            };
            let pre = integrated + omega * leak;
            v[j] = pre.clamp(-TN_V_MAX, TN_V_MAX);
            ov.saturated += u64::from(v[j] != pre);
            let eta = st.map_or(0, |s| rng.bits(s.threshold_bits));
            let alpha = p.alpha[j] as i64 + eta;
            let beta = p.beta[j] as i64 + if p.kappa { 0 } else { eta };
            let mut spike = false;
            if v[j] >= alpha {
                spike = true;
                match p.gamma {
                    0 => v[j] = p.reset_value as i64,
                    1 => v[j] -= alpha,
                    _ => {}
                }
            } else if v[j] < -beta {
                if p.kappa {
                    v[j] = -beta;
                } else {
                    match p.gamma {
                        0 => v[j] = -(p.reset_value as i64),
                        1 => v[j] += beta,
                        _ => {}
                    }
                }
            }
            (f64::from(spike), v[j] as f64)
        }
        (
            Params::Seneca(p),
            State::Float {
                u,
                v,
                aux,
                r,
                refr,
                last,
            },
        ) => {
            let f = from_bf16;
            let x = input as f32;
            let (a_syn, a_mem, th, b) = (
                f(p.alpha_syn[j]),
                f(p.alpha_mem[j]),
                f(p.threshold[j]),
                f(p.bias[j]),
            );
            match model {
                Model::SigmaDelta => {
                    let y = finite_bf16(bf16(x + b), ov).clamp(f(p.lo), f(p.hi));
                    v[j] = bf16(bf16(a_mem * v[j]) + bf16(bf16(1.0 - a_mem) * y));
                    let d = bf16(v[j] - r[j]);
                    if d != 0.0 && d.abs() >= th {
                        r[j] = bf16(r[j] + d);
                        return (d as f64, r[j] as f64);
                    }
                    (0.0, r[j] as f64)
                }
                Model::Alif => {
                    let (rho, beta) = (f(p.rho[j]), f(p.beta[j]));
                    let s_prev = if last[j] { 1.0 } else { 0.0 };
                    aux[j] = bf16(bf16(rho * aux[j]) + bf16(bf16(1.0 - rho) * s_prev));
                    let theta = bf16(th + bf16(beta * aux[j]));
                    if refr[j] > 0 {
                        refr[j] -= 1;
                        last[j] = false;
                        return (0.0, v[j] as f64);
                    }
                    let drive = bf16(bf16(1.0 - a_mem) * bf16(x + b));
                    let mut vv = if !p.reset_subtract && last[j] {
                        0.0
                    } else {
                        v[j]
                    };
                    vv = bf16(bf16(a_mem * vv) + drive);
                    if p.reset_subtract {
                        vv = bf16(vv - bf16(theta * s_prev));
                    }
                    v[j] = finite_bf16(vv, ov).max(f(p.v_min));
                    let s = v[j] > theta;
                    last[j] = s;
                    if s {
                        refr[j] = p.refractory;
                    }
                    (f64::from(s), v[j] as f64)
                }
                _ => {
                    u[j] = finite_bf16(bf16(bf16(a_syn * u[j]) + x), ov);
                    if refr[j] > 0 {
                        refr[j] -= 1;
                        return (0.0, v[j] as f64);
                    }
                    v[j] =
                        finite_bf16(bf16(bf16(bf16(a_mem * v[j]) + u[j]) + b), ov).max(f(p.v_min));
                    if model != Model::Li && v[j] > th {
                        v[j] = if p.reset_subtract {
                            bf16(v[j] - th)
                        } else {
                            0.0
                        };
                        refr[j] = p.refractory;
                        return (1.0, v[j] as f64);
                    }
                    (0.0, v[j] as f64)
                }
            }
        }
        _ => (0.0, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    /// One core: `n` neurons in one group with `params`; input channel c
    /// feeds axon c; `syn` lists (axon, target, weight, delay, kind).
    fn config(
        backend: &str,
        model: &str,
        n: u32,
        params: Params,
        syn: &[(u32, u32, i32, u8, u8)],
        inputs: u32,
        routes: Vec<Vec<(u32, u32)>>,
    ) -> Config {
        let mut s = Synapses {
            axon_ptr: vec![0],
            ..Synapses::default()
        };
        let axons = syn.iter().map(|x| x.0 + 1).max().unwrap_or(0).max(inputs);
        for a in 0..axons {
            for &(ax, t, w, d, k) in syn {
                if ax == a {
                    s.target.push(t);
                    s.weight.push(w);
                    s.delay.push(d);
                    s.kind.push(k);
                }
            }
            s.axon_ptr.push(s.target.len() as u32);
        }
        let core = Core {
            chip: 0,
            core: 0,
            neurons: n,
            groups: vec![Group {
                population: "p".into(),
                model: model.into(),
                first: 0,
                count: n,
                graded: false,
                scale: 1.0,
                params,
            }],
            routes,
            axon_graded: vec![false; axons as usize],
        };
        Config {
            manifest: Manifest {
                format: FORMAT,
                backend: backend.into(),
                chips: 1,
                cores: 1,
                timestep_us: 1000.0,
                ticks_per_step: 1,
                source_hash: "0".into(),
                order: vec![(0, 0)],
                inputs: vec![InputMap {
                    name: "x".into(),
                    size: inputs,
                    encoder: Encoder::Rate,
                    scale: 1.0,
                    routes: (0..inputs).map(|c| vec![(0, c)]).collect(),
                }],
                outputs: vec![
                    OutputMap {
                        name: "s".into(),
                        read: Readout::Spikes,
                        neurons: (0..n).map(|i| (0, i)).collect(),
                        scale: vec![1.0; n as usize],
                    },
                    OutputMap {
                        name: "v".into(),
                        read: Readout::Voltage,
                        neurons: (0..n).map(|i| (0, i)).collect(),
                        scale: vec![1.0; n as usize],
                    },
                ],
                energy: Energy {
                    synaptic_op_pj: 1.0,
                    neuron_update_pj: 1.0,
                    spike_pj: 1.0,
                },
            },
            cores: vec![(core, s)],
        }
    }

    fn loihi(n: usize, du: u16, dv: u16, vth: u32) -> LoihiGroup {
        LoihiGroup {
            du: vec![du; n],
            dv: vec![dv; n],
            vth: vec![vth; n],
            bias_mant: vec![0; n],
            bias_exp: vec![0; n],
            vmin: -(V_MAX as i32),
            refractory: 0,
            reset_subtract: false,
            formats: vec![0],
            adaptive: None,
            sigma_delta: None,
        }
    }

    /// Runs with input `x[t]` on channel 0; returns (spikes, voltages) of
    /// neuron `k`.
    fn trace(c: Config, x: &[f32], steps: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
        let mut e = Engine::new(c);
        let x = x.to_vec();
        let out = e.run(steps, &move |t| {
            vec![vec![x.get(t).copied().unwrap_or(0.0)]]
        });
        (
            out[0].1.iter().map(|r| r[k]).collect(),
            out[1].1.iter().map(|r| r[k]).collect(),
        )
    }

    #[test]
    fn loihi_cuba_lif_by_hand() {
        // du = 2047: u halves (4096 − 2048); dv = 1024: v × 3/4. One input
        // spike a step through a weight of mantissa 1 at exponent 0 = 64.
        // vth 2 → spike when v > 128.
        // t0: u = 64,       v = 64
        // t1: u = 32 + 64,  v = 48 + 96 = 144 > 128: spike, v = 0
        // t2: u = 48 + 64,  v = 112
        // t3: u = 56 + 64,  v = 84 + 120 = 204: spike, v = 0
        // t4: u = 60 + 64,  v = 124
        let c = config(
            "loihi",
            "lif",
            1,
            Params::Loihi(loihi(1, 2047, 1024, 2)),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        let (s, v) = trace(c, &[1.0; 5], 5, 0);
        assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
        assert_eq!(v, vec![64.0, 0.0, 112.0, 0.0, 124.0]);
    }

    #[test]
    fn spikes_use_the_integer_ring_only_when_sums_provably_fit() {
        let c = |w: i32, exp: i8| {
            let mut p = loihi(1, 4095, 4095, 100_000);
            p.formats = vec![exp];
            config(
                "loihi",
                "lif",
                1,
                Params::Loihi(p),
                &[(0, 0, w, 0, 0), (1, 0, w, 0, 0)],
                2,
                vec![vec![]],
            )
        };
        // 2 · 100 · 2^6 = 12800: integer weights whose sum fits.
        assert!(Engine::new(c(100, 0)).int_spikes);
        // Mantissa 3 at exponent −7 is 3 · 2^−1 = 1.5, but a negative
        // exponent's synapses are summed as mantissas and shifted (Lava's
        // floor), so the integer ring still holds every sum.
        assert!(Engine::new(c(3, -7)).int_spikes);
        // 2 · 255 · 2^13 = 4177920: fits; the bound is per target.
        assert!(Engine::new(c(255, 7)).int_spikes);
        // The float ring gives the same trace on a whole-valued network.
        let (s1, v1) = trace(c(100, 0), &[1.0; 4], 4, 0);
        let mut e = Engine::new(c(100, 0));
        assert!(e.int_spikes);
        e.int_spikes = false;
        e.spike = vec![0.0; e.slots * e.neurons];
        let out = e.run(4, &|_| vec![vec![1.0, 0.0]]);
        assert_eq!(out[1].1.iter().map(|r| r[0]).collect::<Vec<_>>(), v1);
        assert_eq!(s1, vec![0.0; 4]);
        // du = 4095 clears u each step: u = 100 · 2^6 = 6400. dv = 4095
        // keeps 1/4096 of v: v = 6400, then ⌊6400 / 4096⌋ + 6400 = 6401.
        assert_eq!(v1, vec![6400.0, 6401.0, 6401.0, 6401.0]);
    }

    /// Lava's Dense (fixed point) sums the mantissas of a step's spikes per
    /// synapse format and shifts the sum: `Σm · 2^e` for `e ≥ 0`, `⌊Σm /
    /// 2^−e⌋` for `e < 0`; the LIF then adds it `<< 6` to `u`. Sixteen
    /// formats with exponents −8..7, two input channels each, mantissas 3
    /// and 2 into neuron 0 and −3 and −2 into neuron 1; every channel
    /// spikes once, at step 0, and `du = 4095` makes `u` that step's input.
    /// Neuron 0: Σm = 5 per format, so 5 · 64 · (1 + 2 + … + 128) = 81600
    /// from e = 0..7, and ⌊5/2⌋ · 64 = 128, ⌊5/4⌋ · 64 = 64 and 0 for
    /// e = −3..−8: u = 81792 (scaling each synapse exactly would give
    /// 5 · 2^(6+e) summed, 81918.75). Neuron 1: Σm = −5: −81600, then
    /// ⌊−5/2⌋ = −3 → −192, ⌊−5/4⌋ = −2 → −128, and ⌊−5/2^k⌋ = −1 → −64 for
    /// each of k = 3..8: u = −81600 − 192 − 128 − 384 = −82304.
    #[test]
    fn negative_exponents_floor_the_step_sum_as_lava_does() {
        let mut p = loihi(2, 4095, 0, 131_071);
        p.formats = (-8..=7).collect();
        let mut syn = Vec::new();
        for f in 0..16u8 {
            for (k, m) in [(0u32, 3), (1, 2)] {
                let axon = 2 * f as u32 + k;
                syn.push((axon, 0, m, 0, f));
                syn.push((axon, 1, -m, 0, f));
            }
        }
        let mut c = config(
            "loihi",
            "lif",
            2,
            Params::Loihi(p),
            &syn,
            32,
            vec![vec![], vec![]],
        );
        c.manifest.outputs[1].read = Readout::Current;
        let mut e = Engine::new(c);
        assert!(e.int_spikes);
        let out = e.run(2, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }; 32]]);
        assert_eq!(out[1].1[0], vec![81792.0, -82304.0]);
        // Nothing arrives at step 1, and u is cleared every step.
        assert_eq!(out[1].1[1], vec![0.0, 0.0]);
        // Spread over two steps (delay 1 for channel 1) each step's sum is
        // floored on its own: ⌊3/2⌋ + ⌊2/2⌋ = 2 at e = −1, not ⌊5/2⌋.
        let mut p = loihi(1, 4095, 0, 131_071);
        p.formats = vec![-1];
        let c = config(
            "loihi",
            "lif",
            1,
            Params::Loihi(p),
            &[(0, 0, 3, 0, 0), (1, 0, 2, 1, 0)],
            2,
            vec![vec![]],
        );
        let mut c2 = c.clone();
        c2.manifest.outputs[1].read = Readout::Current;
        let mut e = Engine::new(c2);
        let out = e.run(3, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }; 2]]);
        let u: Vec<f32> = out[1].1.iter().map(|r| r[0]).collect();
        assert_eq!(u, vec![64.0, 64.0, 0.0]);
    }

    /// A current that leaves 24 bits wraps, and a voltage beyond them
    /// saturates; the engine counts both. Nine channels of mantissa 127 at
    /// exponent 7 (127 · 2^13 = 1040384 each) bring 9363456 a step, which
    /// wraps to 9363456 − 2^24 = −7413760 in `u` (du = 4095: no memory).
    /// `v` (dv = 0: no leak) takes −7413760, then −14827520, clamped to
    /// −(2^23 − 1) (the register's floor): one saturation at step 1, one
    /// at each step after.
    #[test]
    fn wraps_and_saturations_are_counted_per_population() {
        let mut p = loihi(1, 4095, 0, 131_071);
        p.formats = vec![7];
        let syn: Vec<_> = (0..9).map(|a| (a, 0, 127, 0, 0)).collect();
        let c = config("loihi", "lif", 1, Params::Loihi(p), &syn, 9, vec![vec![]]);
        let mut e = Engine::new(c);
        let out = e.run(3, &|_| vec![vec![1.0; 9]]);
        let v: Vec<f32> = out[1].1.iter().map(|r| r[0]).collect();
        assert_eq!(v, vec![-7_413_760.0, -(V_MAX as f32), -(V_MAX as f32)]);
        assert_eq!(
            e.overflow(),
            vec![(
                "p".to_string(),
                Overflow {
                    wrapped: 3,
                    saturated: 2
                }
            )]
        );
        // A rate-coded input above 1 (more than a spike a step) is counted
        // on its input.
        let mut e = Engine::new(config(
            "loihi",
            "lif",
            1,
            Params::Loihi(loihi(1, 4095, 0, 131_071)),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        ));
        e.run(2, &|_| vec![vec![2.5]]);
        assert_eq!(
            e.overflow()[0],
            (
                "input x".to_string(),
                Overflow {
                    wrapped: 0,
                    saturated: 2
                }
            )
        );
    }

    #[test]
    fn the_uniform_cuba_loop_matches_the_general_one_bit_for_bit() {
        // Random inputs up to ±2^26 (so u wraps at 24 bits), a floor that
        // clips, subtractive and zero resets, refractory periods; 67
        // neurons, so the flags end in a partial word.
        for (subtract, refractory, vmin) in [(false, 0, -(V_MAX as i32)), (true, 3, -50_000)] {
            let mut p = loihi(67, 1000, 300, 500);
            p.reset_subtract = subtract;
            p.refractory = refractory;
            p.vmin = vmin;
            p.bias_mant = vec![-120; 67];
            p.bias_exp = vec![3; 67];
            let mut a = Cuba::new(&p, 67, true);
            let mut b = Cuba::new(&p, 67, true);
            assert!(a.uniform());
            let mut rng = Rng::new(11);
            let (mut fa, mut fb) = (Vec::new(), Vec::new());
            for _ in 0..400 {
                let input: Vec<i32> = (0..67)
                    .map(|_| (rng.bits(27) - (1 << 26)) as i32 >> (rng.bits(4) as u32))
                    .collect();
                let mut sa = input.clone();
                a.step_uniform(&mut sa, 0, &mut fa);
                assert!(sa.iter().all(|&x| x == 0));
                b.step(|j| input[j] as i64, 0, &mut fb);
                assert_eq!((&a.u, &a.v, &a.refr), (&b.u, &b.v, &b.refr));
                assert_eq!(fa, fb);
            }
            assert!(!fa.is_empty());
            assert!(
                a.v.iter().any(|&v| v == vmin.max(-(V_MAX as i32))),
                "the floor is reached"
            );
        }
    }

    #[test]
    fn chunks_of_one_population_on_two_cores_update_as_one_group() {
        // The hand-traced neuron of `loihi_cuba_lif_by_hand`, twice: one on
        // each of two cores, both fed by input channel 0. The two groups
        // are one population with the same constants, so they merge; each
        // neuron still follows the hand trace.
        let mut c = config(
            "loihi",
            "lif",
            1,
            Params::Loihi(loihi(1, 2047, 1024, 2)),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        let second = c.cores[0].clone();
        c.cores.push(second);
        c.cores[1].0.core = 1;
        let m = &mut c.manifest;
        m.cores = 2;
        m.order = vec![(0, 0), (1, 0)];
        m.inputs[0].routes = vec![vec![(0, 0), (1, 0)]];
        for o in &mut m.outputs {
            o.neurons = vec![(0, 0), (1, 0)];
            o.scale = vec![1.0; 2];
        }
        let mut e = Engine::new(c);
        assert_eq!(
            (e.groups.len(), e.order.len(), e.groups[0].count),
            (1, 1, 2)
        );
        let out = e.run(5, &|_| vec![vec![1.0]]);
        for k in 0..2 {
            let s: Vec<f32> = out[0].1.iter().map(|r| r[k]).collect();
            let v: Vec<f32> = out[1].1.iter().map(|r| r[k]).collect();
            assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
            assert_eq!(v, vec![64.0, 0.0, 112.0, 0.0, 124.0]);
        }
    }

    #[test]
    fn per_neuron_and_shared_constants_agree() {
        // Two neurons with the same constants, once stored shared and once
        // per neuron (one of them differs in a constant it never uses:
        // neuron 1's threshold is high, so neuron 0 is the same in both).
        let shared = loihi(2, 2047, 1024, 2);
        let mut apart = loihi(2, 2047, 1024, 2);
        apart.vth[1] = 1000;
        let run = |p: LoihiGroup| {
            let c = config(
                "loihi",
                "lif",
                2,
                Params::Loihi(p),
                &[(0, 0, 1, 0, 0), (0, 1, 1, 0, 0)],
                1,
                vec![vec![], vec![]],
            );
            trace(c, &[1.0; 5], 5, 0)
        };
        let e = Engine::new(config(
            "loihi",
            "lif",
            2,
            Params::Loihi(apart.clone()),
            &[],
            1,
            vec![vec![], vec![]],
        ));
        let cuba = e.groups[0].cuba.as_ref().unwrap();
        assert_eq!((cuba.mask_u, cuba.mask_vth), (0, usize::MAX));
        assert_eq!(run(shared), run(apart));
        // And both match the hand trace of `loihi_cuba_lif_by_hand`.
        let (s, v) = run(loihi(2, 2047, 1024, 2));
        assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
        assert_eq!(v, vec![64.0, 0.0, 112.0, 0.0, 124.0]);
    }

    #[test]
    fn packed_lists_deliver_what_the_plain_lists_do() {
        // Three sources over 5 neurons (3 target bits, 29 mantissa bits):
        // shifts 6 and 0, then one not packed because it has two delays.
        let ptr = [0, 3, 5, 6];
        let target = [0u32, 2, 4, 1, 3, 2];
        let weight = [-64i32 * 3, 128, 64 * 255, -1, 1 << 27, 7];
        let uniform = [0u8, 0, u8::MAX];
        let p = Packed::new(true, 5, &ptr, &target, &weight, &[false; 3], &uniform);
        assert_eq!((p.mbits, p.shift.as_slice()), (29, &[6u8, 0, u8::MAX][..]));
        let mut row = vec![0i32; 5];
        assert!(p.deliver(0, 0..3, &mut row));
        assert!(p.deliver(1, 3..5, &mut row));
        assert!(!p.deliver(2, 5..6, &mut row));
        assert_eq!(row, [-192, -1, 128, 1 << 27, 16320]);
        // A mantissa wider than the bits left by the targets: not packed.
        let wide = Packed::new(true, 1 << 22, &[0, 1], &[7], &[1 << 10 | 1], &[false], &[0]);
        assert!(!wide.has(0));
        // One neuron: one target bit, no shift by 32.
        let one = Packed::new(true, 1, &[0, 1], &[0], &[-5], &[false], &[0]);
        let mut row = vec![0i32; 1];
        assert!(one.deliver(0, 0..1, &mut row));
        assert_eq!((one.mbits, row[0]), (31, -5));
        // Float rings never pack.
        assert!(!Packed::new(false, 5, &ptr, &target, &weight, &[false; 3], &uniform).has(0));
    }

    #[test]
    fn loihi_refractory_holds_v() {
        // du 4095 (no current memory), dv 0, weight 64 a step, vth 1 (64):
        // t0 v = 64 (not > 64), t1 128: spike, v = 0; refractory 2: t2, t3
        // hold 0; t4 64; t5 128: spike.
        let mut p = loihi(1, 4095, 0, 1);
        p.refractory = 2;
        let c = config(
            "loihi",
            "lif",
            1,
            Params::Loihi(p),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        let (s, v) = trace(c, &[1.0; 6], 6, 0);
        assert_eq!(s, vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(v, vec![64.0, 0.0, 0.0, 0.0, 64.0, 0.0]);
    }

    #[test]
    fn loihi_voltage_clips_at_24_bits_and_current_wraps() {
        // A leaky integrator with bias 4095 · 2^7 = 524160 a step and no
        // decay: 16 steps give 8386560, the 17th clips to 2^23 − 1.
        let mut p = loihi(1, 4095, 0, 0);
        p.bias_mant = vec![4095];
        p.bias_exp = vec![7];
        let c = config("loihi", "li", 1, Params::Loihi(p), &[], 1, vec![vec![]]);
        let (_, v) = trace(c, &[], 18, 0);
        assert_eq!(v[15], 8_386_560.0);
        assert_eq!(v[16], 8_388_607.0);
        assert_eq!(v[17], 8_388_607.0);
        assert_eq!(wrap24(1 << 23), -(1 << 23));
        assert_eq!(wrap24((1 << 23) - 1), (1 << 23) - 1);
        assert_eq!(wrap24(-(1 << 23) - 1), (1 << 23) - 1);
        // Decay rounds toward zero: 5 · 2048 / 4096 = 2.5 → 2, −2.5 → −2.
        assert_eq!(loihi_decay(5, 2048), 2);
        assert_eq!(loihi_decay(-5, 2048), -2);
    }

    #[test]
    fn loihi_delays_at_the_range_ends() {
        // One input spike at t0 through delays 0 and 62: the neuron with
        // delay 0 sees it at t0, the other at t62.
        let c = config(
            "loihi",
            "li",
            2,
            Params::Loihi(loihi(2, 4095, 0, 0)),
            &[(0, 0, 1, 0, 0), (0, 1, 1, 62, 0)],
            1,
            vec![vec![], vec![]],
        );
        let mut e = Engine::new(c);
        let out = e.run(64, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }]]);
        let v = &out[1].1;
        assert_eq!(v[0], vec![64.0, 0.0]);
        assert_eq!(v[61], vec![64.0, 0.0]);
        assert_eq!(v[62], vec![64.0, 64.0]);
    }

    fn tn(gamma: u8, kappa: bool, s0: i16, alpha: i32, beta: i32) -> Params {
        Params::TrueNorth(TrueNorthGroup {
            s: vec![[s0, 0, 0, 0]],
            leak: vec![0],
            leak_reversal: false,
            alpha: vec![alpha],
            beta: vec![beta],
            gamma,
            reset_value: 0,
            kappa,
            offset: 0,
            stochastic: None,
            delay: vec![1],
        })
    }

    /// A TrueNorth neuron with the given stochastic modes, `s0` on axon type
    /// 0, leak `leak`, run for `steps` ticks with an input spike every tick;
    /// returns the voltage trace (α and β are out of reach).
    fn tn_stochastic(st: crate::config::Stochastic, s0: i16, leak: i32, steps: usize) -> Vec<f32> {
        let mut p = tn(2, false, s0, 1 << 20, 1 << 20);
        if let Params::TrueNorth(t) = &mut p {
            t.leak = vec![leak];
            t.stochastic = Some(st);
        }
        let c = config("truenorth", "if", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
        trace(c, &vec![1.0; steps], steps, 0).1
    }

    fn stochastic(
        synapse0: bool,
        leak: bool,
        threshold_bits: u8,
        seed: u64,
    ) -> crate::config::Stochastic {
        crate::config::Stochastic {
            synapse: [synapse0, false, false, false],
            leak,
            threshold_bits,
            seed,
        }
    }

    #[test]
    fn truenorth_stochastic_leak_and_synapse_have_the_right_means() {
        // Stochastic leak λ = 64: +1 with probability 64/256 each tick.
        // Over 4000 ticks: mean 1000, σ = √(4000 · 0.25 · 0.75) ≈ 27.4.
        let v = tn_stochastic(stochastic(false, true, 0, 7), 0, 64, 4000);
        let last = *v.last().unwrap();
        assert!((900.0..=1100.0).contains(&last), "{last}");
        // Its steps are 0 or +1, never the deterministic 64.
        assert!(
            v.windows(2)
                .all(|w| w[1] - w[0] == 0.0 || w[1] - w[0] == 1.0)
        );
        // A negative leak steps down: λ = −128, mean −2000 ± 3·31.6.
        let v = tn_stochastic(stochastic(false, true, 0, 7), 0, -128, 4000);
        let last = *v.last().unwrap();
        assert!((-2100.0..=-1900.0).contains(&last), "{last}");
        // Stochastic synapse s = 192: +1 with probability 0.75 per spike.
        let v = tn_stochastic(stochastic(true, false, 0, 7), 192, 0, 4000);
        let last = *v.last().unwrap();
        assert!((2900.0..=3100.0).contains(&last), "{last}");
        // Deterministic synapse for comparison: +192 every tick.
        let v = tn_stochastic(stochastic(false, false, 0, 7), 192, 0, 10);
        assert_eq!(*v.last().unwrap(), 1920.0);
    }

    #[test]
    fn truenorth_leak_reversal_pulls_toward_zero() {
        // s0 = 10, λ = −3, ε = 1, no threshold in reach; input spikes at
        // t1 and t2. The leak is sgn(V) · λ on V after the tick's input:
        //   t0: V = 0 (sgn 0: no leak)
        //   t1: 10 − 3 = 7     t2: 17 − 3 = 14
        //   t3: 11  t4: 8  t5: 5  t6: 2  t7: 2 − 3 = −1 (past zero)
        //   t8: −1 + 3 = 2     t9: −1
        let mut p = tn(2, false, 10, 1 << 18, 1 << 18);
        if let Params::TrueNorth(t) = &mut p {
            t.leak = vec![-3];
            t.leak_reversal = true;
        }
        let c = config("truenorth", "if", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
        let mut input = vec![0.0; 10];
        input[1] = 1.0;
        input[2] = 1.0;
        let (_, v) = trace(c, &input, 10, 0);
        assert_eq!(
            v,
            vec![0.0, 7.0, 14.0, 11.0, 8.0, 5.0, 2.0, -1.0, 2.0, -1.0]
        );
    }

    #[test]
    fn truenorth_stochastic_runs_repeat_with_the_seed_and_differ_without() {
        let a = tn_stochastic(stochastic(true, true, 0, 1), 100, 30, 500);
        let b = tn_stochastic(stochastic(true, true, 0, 1), 100, 30, 500);
        let c = tn_stochastic(stochastic(true, true, 0, 2), 100, 30, 500);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn truenorth_threshold_mask_raises_alpha_by_a_random_eta() {
        // +4 a tick, α = 4, zero reset: without a mask it spikes every
        // tick. With 2 mask bits the threshold α + η is 4..7, uniformly:
        // V = 4 spikes only when η = 0 (probability 1/4); otherwise V = 8
        // on the next tick, which spikes whatever η is.
        let run = |bits: u8| {
            let mut p = tn(0, false, 4, 4, 100);
            if let Params::TrueNorth(t) = &mut p {
                t.stochastic = Some(stochastic(false, false, bits, 3));
            }
            let c = config("truenorth", "if", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
            trace(c, &[1.0; 4000], 4000, 0).0
        };
        assert!(run(0).iter().all(|&s| s == 1.0));
        let s = run(2);
        // After a spike V = 0; the next tick V = 4 spikes with
        // probability 1/4, else the one after (V = 8 ≥ 4 + η always):
        // one spike per 1.75 ticks on average, 2286 of 4000 expected.
        let n = s.iter().filter(|&&x| x == 1.0).count();
        assert!((2150..=2420).contains(&n), "{n}");
        // Never two silent ticks in a row.
        assert!(s.windows(2).all(|w| w[0] + w[1] >= 1.0));
    }

    #[test]
    fn truenorth_reset_modes() {
        // +3 a tick, α = 5.
        let run = |gamma| {
            let c = config(
                "truenorth",
                "if",
                1,
                tn(gamma, false, 3, 5, 100),
                &[(0, 0, 1, 0, 0)],
                1,
                vec![vec![]],
            );
            trace(c, &[1.0; 5], 5, 0)
        };
        // γ = 0, V ← 0: 3, 6 → 0, 3, 6 → 0, 3.
        assert_eq!(
            run(0),
            (vec![0.0, 1.0, 0.0, 1.0, 0.0], vec![3.0, 0.0, 3.0, 0.0, 3.0])
        );
        // γ = 1, V ← V − α: 3, 6 → 1, 4, 7 → 2, 5 → 0.
        assert_eq!(
            run(1),
            (vec![0.0, 1.0, 0.0, 1.0, 1.0], vec![3.0, 1.0, 4.0, 2.0, 0.0])
        );
        // γ = 2, no reset: 3, 6, 9, 12, 15, spiking from the second tick.
        assert_eq!(
            run(2),
            (
                vec![0.0, 1.0, 1.0, 1.0, 1.0],
                vec![3.0, 6.0, 9.0, 12.0, 15.0]
            )
        );
    }

    #[test]
    fn truenorth_negative_threshold() {
        // −4 a tick, β = 6. κ: saturate at −6. Without κ and γ = 0: reset
        // to −R = 0 below −6.
        let c = config(
            "truenorth",
            "if",
            1,
            tn(0, true, -4, 5, 6),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        assert_eq!(trace(c, &[1.0; 4], 4, 0).1, vec![-4.0, -6.0, -6.0, -6.0]);
        let c = config(
            "truenorth",
            "if",
            1,
            tn(0, false, -4, 5, 6),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        assert_eq!(trace(c, &[1.0; 4], 4, 0).1, vec![-4.0, 0.0, -4.0, 0.0]);
        // γ = 1 below −β: V ← V + β: −4, −8 + 6 = −2, −6, −10 + 6 = −4.
        let c = config(
            "truenorth",
            "if",
            1,
            tn(1, false, -4, 5, 6),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        assert_eq!(trace(c, &[1.0; 4], 4, 0).1, vec![-4.0, -2.0, -6.0, -4.0]);
    }

    #[test]
    fn bf16_ties_go_to_even() {
        assert_eq!(bf16(1.0 + 2f32.powi(-8)), 1.0);
        assert_eq!(bf16(1.0 + 3.0 * 2f32.powi(-8)), 1.0 + 2f32.powi(-6));
        assert_eq!(from_bf16(to_bf16(0.3)), 77.0 / 256.0);
    }

    #[test]
    fn seneca_lif_in_bf16() {
        // α_syn 0, α_mem 0.5, threshold 1, weight 0.3 (bf16 0.30078125).
        // v: 0.30078125, 0.451171875 (0.150390625 + 0.30078125),
        // 0.5263671875 → bf16 0.52734375 ... computed step by step below.
        let p = SenecaGroup {
            alpha_syn: vec![to_bf16(0.0)],
            alpha_mem: vec![to_bf16(0.5)],
            threshold: vec![to_bf16(1.0)],
            bias: vec![0],
            v_min: to_bf16(f32::NEG_INFINITY),
            refractory: 0,
            reset_subtract: false,
            rho: vec![0],
            beta: vec![0],
            lo: 0,
            hi: 0,
        };
        let c = config(
            "seneca",
            "lif",
            1,
            Params::Seneca(p),
            &[(0, 0, to_bf16(0.3) as i32, 0, 0)],
            1,
            vec![vec![]],
        );
        let (_, v) = trace(c, &[1.0; 3], 3, 0);
        let w = 77.0f32 / 256.0;
        let v0 = w;
        let v1 = bf16(bf16(0.5 * v0) + w);
        let v2 = bf16(bf16(0.5 * v1) + w);
        assert_eq!(v, vec![v0, v1, v2]);
        assert_eq!(v1, 231.0 / 512.0);
        assert_eq!(v2, 135.0 / 256.0);
    }

    #[test]
    fn a_three_neuron_chain_fires_in_order() {
        // Input → n0 → n1 → n2, IF neurons (du 4095, dv 0), vth 1 (64),
        // weights of mantissa 2 (128), one step of delay between neurons of
        // the group: the input spike at t1 makes n0 fire at t1, n1 at t2,
        // n2 at t3.
        let syn = [(0, 0, 2, 0, 0), (1, 1, 2, 1, 0), (2, 2, 2, 1, 0)];
        let routes = vec![vec![(0, 1)], vec![(0, 2)], vec![]];
        let c = config(
            "loihi",
            "if",
            3,
            Params::Loihi(loihi(3, 4095, 0, 1)),
            &syn,
            1,
            routes,
        );
        let mut e = Engine::new(c);
        let out = e.run(5, &|t| vec![vec![if t == 1 { 1.0 } else { 0.0 }]]);
        assert_eq!(
            out[0].1,
            vec![
                vec![0.0, 0.0, 0.0],
                vec![1.0, 0.0, 0.0],
                vec![0.0, 1.0, 0.0],
                vec![0.0, 0.0, 1.0],
                vec![0.0, 0.0, 0.0]
            ]
        );
        assert_eq!(e.stats.spikes, 3);
        assert_eq!(e.stats.synaptic_events, 3);
    }

    #[test]
    fn write_read_round_trip_and_validation() {
        let c = config(
            "loihi",
            "lif",
            1,
            Params::Loihi(loihi(1, 2047, 1024, 2)),
            &[(0, 0, 1, 3, 0)],
            1,
            vec![vec![]],
        );
        let dir = std::env::temp_dir().join(format!("snn-config-{}", std::process::id()));
        c.write(&dir).unwrap();
        assert_eq!(Config::read(&dir).unwrap(), c);
        // Two runs, the same bits.
        let run = |c: Config| Engine::new(c).run(20, &|_| vec![vec![0.7]]);
        assert_eq!(run(c.clone()), run(c.clone()));
        // A hand-edited threshold out of range.
        let core = dir.join("core-0.json");
        let text = std::fs::read_to_string(&core).unwrap();
        std::fs::write(
            &core,
            text.replacen(
                "\"vth\": [\n            2\n          ]",
                "\"vth\": [\n            200000\n          ]",
                1,
            ),
        )
        .unwrap();
        let e = Config::read(&dir).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: groups[0].params.vth[0]: 200000 out of range 0..=131071",
                core.display()
            )
        );
        // A truncated synapse file.
        c.write(&dir).unwrap();
        let syn = dir.join("core-0.syn");
        let bytes = std::fs::read(&syn).unwrap();
        std::fs::write(&syn, &bytes[..bytes.len() - 1]).unwrap();
        let e = Config::read(&dir).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: 37 bytes, but 1 axons and 1 synapses need 38",
                syn.display()
            )
        );
        // A synapse format the target does not have (the last byte is the
        // one synapse's kind; the group has one format).
        let mut edited = bytes.clone();
        *edited.last_mut().unwrap() = 7;
        std::fs::write(&syn, &edited).unwrap();
        let e = Config::read(&dir).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: synapse 0: kind 7 out of range (its target's group `p` has 1 synapse formats)",
                syn.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
