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
//!
//! This file holds what every chip shares (encoding, fan-out lists, ring
//! buffers, delivery, the step); each chip's neuron arithmetic is a file of
//! its own: `loihi.rs` (CUBA in 24-bit integers, its whole-group loops,
//! sigma-delta and adaptive neurons), `truenorth.rs`, `seneca.rs` (bfloat16),
//! with the number formats in `arith.rs`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Config, Encoder, Params, Readout};
use arith::Rng;

pub mod arith;
mod loihi;
mod seneca;
mod team;
#[cfg(test)]
mod tests;
mod truenorth;
mod update;

use arith::*;
use loihi::Cuba;
use team::Team;
use update::{Lane, Which};

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
    /// Whether any synapse reaches the group through the spike ring (not
    /// only the negative-exponent rings; else its slice there stays zero
    /// and a vectorised CUBA loop does not read it).
    spikes_in: bool,
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
    /// The group's runs in `Negative::runs`.
    neg: std::ops::Range<usize>,
}

/// Joins groups that follow each other in the update order and in neuron
/// numbering when they are chunks of one population on consecutive cores,
/// CUBA neurons with the same constants (but for the bias, which becomes
/// one per neuron if the chunks' differ) and spike input only: one loop
/// then updates them all (a population's chunks cannot read each
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
            && x.vectorised()
            && y.vectorised()
            && (x.keep_u[0], x.keep_v[0], x.vth[0], x.vmin)
                == (y.keep_u[0], y.keep_v[0], y.vth[0], y.vmin)
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
                let counts = (last.count, g.count);
                last.count += g.count;
                last.spikes_in |= g.spikes_in;
                last.overflow.add(g.overflow);
                if let (Some(x), Some(y)) = (&mut last.cuba, g.cuba) {
                    // One bias for all while they agree, else one each.
                    let shared = x.mask_bias == 0 && y.mask_bias == 0;
                    if !(shared && x.bias[0] == y.bias[0]) {
                        let each = |c: &Cuba, n: usize| {
                            if c.mask_bias == 0 {
                                vec![c.bias[0]; n]
                            } else {
                                c.bias.clone()
                            }
                        };
                        let mut bias = each(x, counts.0);
                        bias.extend(each(&y, counts.1));
                        x.bias = bias;
                        x.mask_bias = usize::MAX;
                    }
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

    /// Adds source `src`'s synapses (`range`) into the spike ring at
    /// `start` (one delay slot) if its list is packed; returns whether it
    /// was.
    #[inline(always)]
    fn deliver(
        &self,
        src: usize,
        range: std::ops::Range<usize>,
        rings: Rings,
        start: usize,
    ) -> bool {
        if !self.has(src) {
            return false;
        }
        let s = self.shift[src];
        let (mbits, tbits) = (self.mbits, 32 - self.mbits);
        for &p in &self.words[range] {
            rings.ispike.add(
                start + (p >> mbits) as usize,
                ((p << tbits) as i32 >> tbits) << s,
            );
        }
        true
    }
}

/// Adds packed synapses `words` (index above `mbits` bits, under `imask`;
/// a signed mantissa in the low `mbits`) into `ring` from `start`. Apart
/// from its callers, so that the loop keeps its few values in registers
/// (inlined, it reloaded them from the stack every synapse).
#[inline(never)]
fn add_packed<T: Copy + std::ops::AddAssign + From<i32>>(
    ring: Raw<T>,
    words: &[u32],
    start: usize,
    mbits: u32,
    imask: u32,
) {
    let tbits = 32 - mbits;
    for &p in words {
        ring.add(
            start + ((p >> mbits) & imask) as usize,
            T::from((p << tbits) as i32 >> tbits),
        );
    }
}

/// Runs of one delay a fan-out list may have to be delivered run by run.
const MAX_DELAY_RUNS: usize = 8;

/// Per source whose list (`ptr`, `delay`) has several delays in at most
/// [`MAX_DELAY_RUNS`] runs: the runs' ends and delays, indexed by the
/// returned pointers (no runs for the others).
fn delay_runs(ptr: &[usize], delay: &[u8], uniform: &[u8]) -> (Vec<usize>, Vec<(usize, u8)>) {
    let mut run_ptr = Vec::with_capacity(ptr.len());
    let mut runs = Vec::new();
    run_ptr.push(0);
    let mut these = Vec::new();
    for (src, w) in ptr.windows(2).enumerate() {
        if uniform[src] == u8::MAX {
            these.clear();
            for (k, &dk) in (w[0]..w[1]).zip(&delay[w[0]..w[1]]) {
                match these.last_mut() {
                    Some((end, d)) if *d == dk => *end = k + 1,
                    _ => these.push((k + 1, dk)),
                }
                if these.len() > MAX_DELAY_RUNS {
                    break;
                }
            }
            // (A run of delay 255, the "several delays" mark, is then
            // delivered synapse by synapse, as the whole list was.)
            if these.len() <= MAX_DELAY_RUNS {
                runs.extend_from_slice(&these);
            }
        }
        run_ptr.push(runs.len());
    }
    (run_ptr, runs)
}

/// Synapses a batch of events, or neurons a stage, must reach before its
/// delivery or its updates are shared among threads: below it, starting
/// them costs more than it saves (the user-style CUBA network's stages of
/// 3200 and 800 neurons ran 1.5–3× slower on two threads).
const PAR_WORK: usize = 16 * 1024;

/// One ring as a raw pointer and its length, so that several threads can
/// write into disjoint elements of it at once.
#[derive(Clone, Copy)]
struct Raw<T> {
    ptr: *mut T,
    len: usize,
}

impl<T: Copy + std::ops::AddAssign> Raw<T> {
    fn of(v: &mut [T]) -> Raw<T> {
        Raw {
            ptr: v.as_mut_ptr(),
            len: v.len(),
        }
    }

    #[inline(always)]
    fn get(self, i: usize) -> T {
        assert!(i < self.len);
        // SAFETY: in bounds (checked above); exclusive (see `Rings`).
        unsafe { *self.ptr.add(i) }
    }

    #[inline(always)]
    fn set(self, i: usize, x: T) {
        assert!(i < self.len);
        // SAFETY: as in `get`.
        unsafe { *self.ptr.add(i) = x }
    }

    #[inline(always)]
    fn add(self, i: usize, x: T) {
        assert!(i < self.len);
        // SAFETY: as in `get`.
        unsafe { *self.ptr.add(i) += x }
    }

    /// A hint that element `i` is wanted soon (nothing if out of bounds).
    #[inline(always)]
    fn prefetch(self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if i < self.len {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: in bounds, and `prefetcht0` is only a hint besides
            // (see `prefetch`).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.ptr.add(i).cast::<i8>()) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// Elements `r` as a slice (bounds checked).
    ///
    /// # Safety
    ///
    /// No other reference to these elements may be live while it is.
    #[inline(always)]
    unsafe fn slice<'a>(self, r: std::ops::Range<usize>) -> &'a mut [T] {
        assert!(r.start <= r.end && r.end <= self.len);
        // SAFETY: in bounds; exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.end - r.start) }
    }
}

/// The rings delivery adds into.
#[derive(Clone, Copy)]
struct Rings {
    ispike: Raw<i32>,
    spike: Raw<f64>,
    fspike: Raw<f32>,
    graded: Raw<f64>,
    /// Events sent per source: only the share that counts sources writes.
    sent_by: Raw<u64>,
    neg32: Raw<i32>,
    neg64: Raw<i64>,
}

// SAFETY: a `Rings` lives only within one `Engine::deliver`, which has
// moved the vectors out of the engine for that time, so nothing else
// reads or writes them. Each thread writes only the ring elements of the
// targets in its own share of the neurons (a negative-exponent sum
// belongs to one target), and only one thread counts sources in
// `sent_by`, so no two threads touch one element; every access checks its
// index against the ring's length.
unsafe impl Send for Rings {}
unsafe impl Sync for Rings {}

impl Rings {
    fn new(
        ispike: &mut [i32],
        spike: &mut [f64],
        fspike: &mut [f32],
        graded: &mut [f64],
        neg32: &mut [i32],
        neg64: &mut [i64],
    ) -> Rings {
        Rings {
            ispike: Raw::of(ispike),
            spike: Raw::of(spike),
            fspike: Raw::of(fspike),
            sent_by: Raw::of(&mut []),
            graded: Raw::of(graded),
            neg32: Raw::of(neg32),
            neg64: Raw::of(neg64),
        }
    }
}

/// Puts `v[perm[i]]` at `v[start + i]` (`perm`: indices from `start` on).
fn permute<T: Copy>(v: &mut [T], start: usize, perm: &[usize]) {
    let old: Vec<T> = perm.iter().map(|&k| v[k]).collect();
    v[start..start + old.len()].copy_from_slice(&old);
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
///
/// The sums of one delay slot are dense runs, one per (group, k): the
/// group's neurons from the first to the last that such a synapse reaches
/// with that `k` (`Run`). A delivered mantissa is added at its run's offset
/// plus its target, and a group's shift before its update is then one
/// sequential loop per run, which vectorises (a ring of scattered (target,
/// k) pairs cost a third of the time on a 4000-neuron network), or part of
/// the CUBA loop itself ([`Engine::fuses_negative`]).
#[derive(Clone, Default)]
struct Negative {
    /// Per fan-out source: `NEG_NONE`, `NEG_PACKED` or `NEG_MIXED`.
    source: Vec<u8>,
    /// Lists of `NEG_PACKED` sources, one word per synapse as in
    /// [`Packed`]: from the top, the synapse's delay, its index in a slot
    /// (`ibits`), its mantissa (two's complement, the low `mbits`). The
    /// delay in the word spares a second stream when a list's delays
    /// differ (as the placer's same-step chunks make them).
    mbits: u32,
    ibits: u32,
    words: Vec<u32>,
    /// Lists of `NEG_MIXED` sources, per synapse: its index in a slot (or
    /// `u32::MAX` for a synapse of the ordinary rings), and its mantissa.
    index: Vec<u32>,
    mant: Vec<i32>,
    /// Every group's runs, by group (`GroupRun::neg`).
    runs: Vec<Run>,
    /// Elements in one delay slot: the runs' total length.
    width: usize,
    /// Whether a sum may leave `i32` (then the ring is `ring64`, else
    /// `ring32`; see [`Negative::new`]).
    wide: bool,
    /// Rings of mantissa sums, `[delay slot][run][neuron]`.
    ring32: Vec<i32>,
    ring64: Vec<i64>,
}

/// The sums of one group's neurons `first..first + len` for one `k`, at
/// `off` in each slot of the negative ring.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    off: u32,
    first: u32,
    len: u32,
    k: u8,
}

/// A source without negative-exponent synapses.
const NEG_NONE: u8 = 0;
/// A spike source whose synapses all have a negative exponent, packed.
const NEG_PACKED: u8 = 1;
/// A spike source with some such synapses, or mantissas too wide to pack.
const NEG_MIXED: u8 = 2;

/// Adds `⌊sums[i] / 2^k⌋ · 2^6` to `spike[i]` and clears `sums`: one run
/// of the negative ring (see [`Negative`]) into the integer spike ring,
/// compiled for wider vector units too. `<< 6` keeps the low 32 bits,
/// which are the whole value: the spike ring's bound counts it.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq", "x86_64+avx2"))]
fn shift_run(spike: &mut [i32], sums: &mut [i32], k: u32) {
    for (x, m) in spike.iter_mut().zip(sums) {
        *x += (std::mem::take(m) >> k) << 6;
    }
}

impl Negative {
    /// `shift[k]`: synapse k's `k` (0 for an ordinary exponent), `mant[k]`
    /// its mantissa, `delay[k]` its delay (below `slots`); `groups` the
    /// final groups, whose `neg` it sets, and `group_of` each neuron's
    /// group.
    #[allow(clippy::too_many_arguments)]
    fn new(
        neurons: usize,
        slots: usize,
        ptr: &[usize],
        target: &[u32],
        delay: &[u8],
        graded: &[bool],
        shift: &[u8],
        mant: &[i32],
        groups: &mut [GroupRun],
        group_of: &[u32],
    ) -> Negative {
        let sources = graded.len();
        let negative = |src: usize, k: usize| !graded[src] && shift[k] > 0;
        // The distinct k, and per (k, target) whether a synapse reaches it
        // and the sum of the magnitudes of the mantissas that do.
        let mut ks: Vec<u8> = Vec::new();
        let mut kix = [u8::MAX; 256];
        for src in 0..sources {
            for k in ptr[src]..ptr[src + 1] {
                if negative(src, k) && kix[shift[k] as usize] == u8::MAX {
                    kix[shift[k] as usize] = 0;
                    ks.push(shift[k]);
                }
            }
        }
        if ks.is_empty() {
            return Negative::default();
        }
        ks.sort_unstable();
        for (i, &k) in ks.iter().enumerate() {
            kix[k as usize] = i as u8;
        }
        let mut reach = vec![false; ks.len() * neurons];
        let mut bound = vec![0u64; ks.len() * neurons];
        for src in 0..sources {
            for k in ptr[src]..ptr[src + 1] {
                if negative(src, k) {
                    let at = kix[shift[k] as usize] as usize * neurons + target[k] as usize;
                    reach[at] = true;
                    bound[at] += u64::from(mant[k].unsigned_abs());
                }
            }
        }
        // A slot receives each synapse at most once, so a sum never leaves
        // `i32` when the magnitudes of all its terms stay below 2^31.
        let wide = bound.iter().any(|&b| b >= 1 << 31);
        drop(bound);
        let mut runs = Vec::new();
        let mut width = 0usize;
        for g in groups.iter_mut() {
            let start = runs.len();
            for (i, &k) in ks.iter().enumerate() {
                let row = &reach[i * neurons + g.first..i * neurons + g.first + g.count];
                let (Some(a), Some(b)) =
                    (row.iter().position(|&x| x), row.iter().rposition(|&x| x))
                else {
                    continue;
                };
                runs.push(Run {
                    off: width as u32,
                    first: (g.first + a) as u32,
                    len: (b + 1 - a) as u32,
                    k,
                });
                width += b + 1 - a;
            }
            g.neg = start..runs.len();
        }
        drop(reach);
        // Indices in a slot are `u32`.
        assert!(
            u32::try_from(width).is_ok(),
            "negative-exponent sums do not fit u32 indices"
        );
        // Synapse k's index in a slot.
        let index_of = |k: usize| -> u32 {
            let t = target[k];
            let g = &groups[group_of[t as usize] as usize];
            let run = runs[g.neg.clone()]
                .iter()
                .find(|r| r.k == shift[k])
                .expect("every (target, k) reached has a run");
            run.off + (t - run.first)
        };
        // At least one bit so that no shift below is by 32.
        let ibits = (usize::BITS - width.saturating_sub(1).leading_zeros()).max(1);
        let tbits = ibits + (usize::BITS - slots.saturating_sub(1).leading_zeros());
        let mbits = 32u32.saturating_sub(tbits);
        let fits = |m: i32| {
            mbits > 0 && (-(1i64 << (mbits - 1))..1i64 << (mbits - 1)).contains(&i64::from(m))
        };
        let mut source = vec![NEG_NONE; sources];
        for src in 0..sources {
            let r = ptr[src]..ptr[src + 1];
            if !r.clone().any(|k| negative(src, k)) {
                continue;
            }
            source[src] = if r.clone().all(|k| negative(src, k) && fits(mant[k])) {
                NEG_PACKED
            } else {
                NEG_MIXED
            };
        }
        let (mut words, mut index, mut mants) = (Vec::new(), Vec::new(), Vec::new());
        if source.contains(&NEG_PACKED) {
            words = vec![0u32; target.len()];
        }
        if source.contains(&NEG_MIXED) {
            index = vec![u32::MAX; target.len()];
            mants = vec![0i32; target.len()];
        }
        for src in 0..sources {
            for k in ptr[src]..ptr[src + 1] {
                match source[src] {
                    NEG_PACKED => {
                        let m = mant[k] as u32 & (u32::MAX >> tbits);
                        let d = u32::from(delay[k]);
                        words[k] = (((d << ibits) | index_of(k)) << mbits) | m;
                    }
                    NEG_MIXED if negative(src, k) => {
                        index[k] = index_of(k);
                        mants[k] = mant[k];
                    }
                    _ => {}
                }
            }
        }
        Negative {
            source,
            mbits,
            ibits,
            words,
            index,
            mant: mants,
            runs,
            width,
            wide,
            ring32: Vec::new(),
            ring64: Vec::new(),
        }
    }

    fn has(&self, src: usize) -> bool {
        self.source.get(src).is_some_and(|&s| s != NEG_NONE)
    }

    /// Adds the packed synapses `r` (of a `NEG_PACKED` source) into
    /// `ring`: at `base[delay]` plus their index; `uniform` is the list's
    /// one delay, or `u8::MAX`.
    #[inline(always)]
    fn deliver_packed<T: Copy + std::ops::AddAssign + From<i32>>(
        &self,
        ring: Raw<T>,
        r: std::ops::Range<usize>,
        uniform: u8,
        base: &[usize],
    ) {
        let (mbits, tbits, ibits) = (self.mbits, 32 - self.mbits, self.ibits);
        let imask = (1u32 << ibits) - 1;
        let mant = |p: u32| T::from((p << tbits) as i32 >> tbits);
        if uniform != u8::MAX {
            add_packed(ring, &self.words[r], base[uniform as usize], mbits, imask);
        } else {
            for &p in &self.words[r] {
                let hi = p >> mbits;
                ring.add(
                    base[(hi >> ibits) as usize] + (hi & imask) as usize,
                    mant(p),
                );
            }
        }
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

/// One output's recording by [`Engine::run_into`].
#[derive(Clone, Debug, PartialEq)]
pub enum Recording {
    /// `[steps, width]` values, row after row (sized by the caller).
    Values(Vec<f32>),
    /// A spike raster as the positions `t · width + k` of its ones, in
    /// order.
    Spikes(Vec<u64>),
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
    /// Each output's neurons, as engine indices (in its order).
    out_neurons: Vec<Vec<u32>>,
    /// Per output that reads [`Readout::VoltageChange`]: its neurons'
    /// voltages at the end of the last step (empty for other outputs).
    out_marks: Vec<Vec<f64>>,
    neurons: usize,
    slots: usize,
    /// Start of the ring-buffer slot of each delay at the current step.
    base: Vec<usize>,
    /// The same for the rings of negative-exponent sums (`Negative`).
    neg_base: Vec<usize>,
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
    /// On SENeCA, spikes go to this `f32` ring instead (every sum is a
    /// bfloat16), with `fan_wf` as the weights: half the memory of `f64`.
    fspike: Vec<f32>,
    fan_wf: Vec<f32>,
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
    /// Sources whose list has several delays in a few runs (in target
    /// order: the targets of one group share a delay, such as a
    /// population's synapses to itself and to one updated after it):
    /// `run_ptr` indexes, per source, `runs`: each run's end in the fan-out
    /// lists and its delay. Empty for other sources.
    run_ptr: Vec<usize>,
    runs: Vec<(usize, u8)>,
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
    /// While [`Engine::run_into`] records a spike raster: the neurons that
    /// sent on the current tick, and each neuron's `(output, element)`
    /// places (`out_ptr` indexes `out_at` by neuron).
    fired: Option<Vec<u32>>,
    out_ptr: Vec<u32>,
    out_at: Vec<(u32, u32)>,
    /// The group of every neuron (an index into `groups`).
    group_of: Vec<u32>,
    enc: Vec<Vec<f64>>,
    /// What each input's encoder could not carry.
    enc_overflow: Vec<Overflow>,
    t: usize,
    pub stats: Stats,
    float: bool,
    synapses: u64,
    /// Whether TrueNorth and SENeCA groups may update in one loop (their
    /// group loops); off only to test them against the general update.
    group_loops: bool,
    /// Threads a tick is shared among ([`Engine::set_threads`]); `None`:
    /// the calling thread.
    team: Option<std::sync::Arc<Team>>,
    /// Scratch: a tick's input events.
    inputs: Vec<(usize, f64)>,
    /// Shares of the neurons (1 without a team), and per source the start
    /// of each share's run of its list (and its end), `parts + 1` each.
    parts: usize,
    split: Vec<u64>,
    /// Synapses a batch, or neurons a stage, needs to be shared
    /// ([`PAR_WORK`]; tests lower it).
    par_work: usize,
    /// Synapses per source, on average (to size a batch's work).
    fan_mean: usize,
    /// Whether a tick's spikes go out stage by stage (see `stages`), as
    /// batches (which threads share well), instead of group by group:
    /// unless a synapse is stochastic (its draws interleave with the
    /// target group's own).
    batch_ticks: bool,
    /// The order in stages, `order[stages[s]..stages[s + 1]]`: a stage
    /// ends before a group that a neuron of the stage reaches by a synapse
    /// of delay 0 (read in the same tick). A stage's spikes all go out
    /// after its last group; every slot they write is then still to be
    /// read, and each target's additions come in the same order as group
    /// by group, so the outputs are the same bits.
    stages: Vec<usize>,
    /// What each thread's group updates produce (one lane per share).
    lanes: Vec<Lane>,
    /// With a team: per stage, its neurons and the groups each thread
    /// updates, as runs of `order` (`order[split[k]..split[k + 1]]`),
    /// about equal in neurons; empty: all on the calling thread. A stage
    /// of fewer than `par_work` neurons updates on the calling thread
    /// (starting the others would cost more).
    update_split: Vec<(usize, Vec<usize>)>,
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
        // Each list in target order (stably: synapses to one target keep
        // their order, so every sum takes its terms as before), so that a
        // thread's share of the targets is one run of it. Stochastic
        // synapses draw in table order and stay as they are.
        if !any_stochastic {
            let mut perm: Vec<usize> = Vec::new();
            for src in 0..fan_graded.len() {
                let (a, b) = (fan_ptr[src], fan_ptr[src + 1]);
                if fan_target[a..b].is_sorted() {
                    continue;
                }
                perm.clear();
                perm.extend(a..b);
                perm.sort_by_key(|&k| fan_target[k]);
                permute(&mut fan_target, a, &perm);
                permute(&mut fan_weight, a, &perm);
                permute(&mut fan_delay, a, &perm);
                if any_shift {
                    permute(&mut fan_shift, a, &perm);
                    permute(&mut fan_mant, a, &perm);
                }
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
        let (run_ptr, runs) = delay_runs(&fan_ptr, &fan_delay, &fan_uniform);
        // Spikes (unit payloads on non-graded axons) can be summed exactly
        // in `i32` when every such weight is an integer and, for every
        // target, the sum of the magnitudes of all its spike synapses stays
        // below 2^31 − 2^24: a ring slot receives each synapse at most once,
        // so no slot can overflow, and adding the decayed current (below
        // 2^23 in magnitude) to a slot cannot leave `i32` either, so the
        // CUBA loop checks its 24-bit wrap in 32 bits.
        let int_spikes = !float && {
            let mut bound = vec![0f64; neurons];
            let mut ok = true;
            for src in 0..fan_graded.len() {
                if fan_graded[src] {
                    continue;
                }
                for k in fan_ptr[src]..fan_ptr[src + 1] {
                    let w = fan_weight[k];
                    let shifted = any_shift && fan_shift[k] > 0;
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
            ok && inputs_ok && bound.iter().all(|&b| b < 2f64.powi(31) - 2f64.powi(24))
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
        // The neurons that graded synapses reach, and those that spikes
        // reach through the spike ring (not a negative-exponent one).
        let mut graded_target = vec![false; neurons];
        let mut spike_target = vec![false; neurons];
        for (src, &graded) in fan_graded.iter().enumerate() {
            for k in fan_ptr[src]..fan_ptr[src + 1] {
                let t = fan_target[k] as usize;
                if graded {
                    graded_target[t] = true;
                } else if !any_shift || fan_shift[k] == 0 {
                    spike_target[t] = true;
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
                    spikes_in: spike_target[first..first + c].iter().any(|&x| x),
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
        }
        // Lava's Dense sums the mantissas of a step's spikes per synapse
        // format and then shifts the sum right by `k` (a floor) for a
        // negative exponent `−k`. Such synapses of spike sources add their
        // mantissa into a ring of their own, which each group shifts into
        // its input when it updates.
        let mut neg = if any_shift {
            Negative::new(
                neurons,
                slots,
                &fan_ptr,
                &fan_target,
                &fan_delay,
                &fan_graded,
                &fan_shift,
                &fan_mant,
                &mut groups,
                &group_of,
            )
        } else {
            Negative::default()
        };
        drop((fan_shift, fan_mant));
        if neg.wide {
            neg.ring64 = vec![0; slots * neg.width];
        } else {
            neg.ring32 = vec![0; slots * neg.width];
        }
        let enc: Vec<Vec<f64>> = config
            .manifest
            .inputs
            .iter()
            .map(|i| vec![0.0; i.size as usize])
            .collect();
        let stats = Stats::default();
        let batch_ticks = fan_stoch.is_empty();
        let mut e = Engine {
            sent_by: vec![0; fan_ptr.len() - 1],
            out_neurons: config
                .manifest
                .outputs
                .iter()
                .map(|o| {
                    o.neurons
                        .iter()
                        .map(|&(c, n)| (core_off[c as usize] + n as usize) as u32)
                        .collect()
                })
                .collect(),
            out_marks: vec![Vec::new(); config.manifest.outputs.len()],
            core_off,
            neurons,
            slots,
            base: (0..slots).map(|d| d * neurons).collect(),
            neg_base: (0..slots).map(|d| d * neg.width).collect(),
            spike: if int_spikes || float {
                Vec::new()
            } else {
                vec![0.0; slots * neurons]
            },
            fspike: if float {
                vec![0.0; slots * neurons]
            } else {
                Vec::new()
            },
            fan_wf: if float {
                fan_weight.iter().map(|&w| w as f32).collect()
            } else {
                Vec::new()
            },
            graded: vec![0.0; slots * neurons],
            int_spikes,
            ispike: if int_spikes {
                vec![0; slots * neurons]
            } else {
                Vec::new()
            },
            packed,
            neg,
            fan_wi,
            acc: vec![0.0; neurons],
            fan_mean: fan_ptr.last().copied().unwrap_or(0) / (fan_ptr.len() - 1).max(1),
            fan_ptr,
            fan_target,
            fan_weight,
            fan_delay,
            fan_graded,
            fan_uniform,
            run_ptr,
            runs,
            fan_stoch,
            cores_ptr,
            cores_of,
            input_base,
            groups,
            order,
            out_scale,
            sent: vec![0.0; neurons],
            marked: Vec::new(),
            fired: None,
            out_ptr: Vec::new(),
            out_at: Vec::new(),
            group_of,
            enc_overflow: vec![Overflow::default(); enc.len()],
            enc,
            t: 0,
            stats,
            float,
            synapses,
            group_loops: true,
            team: None,
            inputs: Vec::new(),
            parts: 1,
            split: Vec::new(),
            par_work: PAR_WORK,
            batch_ticks,
            lanes: vec![Lane::default()],
            update_split: Vec::new(),
            stages: Vec::new(),
            config,
        };
        e.stages = e.stages();
        e
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

    /// Sends events `(source, payload)`, in order: every synapse adds
    /// `weight · payload` to its target's ring slot `t + delay`.
    ///
    /// With several threads ([`Engine::set_threads`]) and at least
    /// [`PAR_WORK`] synapses, each thread takes the synapses whose targets
    /// are in its share of the neurons and scans every event in the same
    /// order (lists are sorted by target, so a share is one run of each
    /// list); the calling thread takes the first share, the team's helpers
    /// the others. Every ring element then takes its terms in the same order as
    /// on one thread: the results are the same bits whatever the count.
    fn deliver(&mut self, events: &[(usize, f64)]) {
        if !self.fan_stoch.is_empty() {
            for &(src, payload) in events {
                self.stats.synaptic_events += (self.fan_ptr[src + 1] - self.fan_ptr[src]) as u64;
                self.sent_by[src] += 1;
                self.deliver_stochastic(src, payload);
            }
            return;
        }
        // Each share counts its synapses, and the first its sources.
        let mut sent_by = std::mem::take(&mut self.sent_by);
        // The rings leave the engine while threads write into them.
        let mut ispike = std::mem::take(&mut self.ispike);
        let mut spike = std::mem::take(&mut self.spike);
        let mut fspike = std::mem::take(&mut self.fspike);
        let mut graded = std::mem::take(&mut self.graded);
        let mut neg32 = std::mem::take(&mut self.neg.ring32);
        let mut neg64 = std::mem::take(&mut self.neg.ring64);
        let rings = Rings::new(
            &mut ispike,
            &mut spike,
            &mut fspike,
            &mut graded,
            &mut neg32,
            &mut neg64,
        );
        let rings = Rings {
            sent_by: Raw::of(&mut sent_by),
            ..rings
        };
        let this = &*self;
        // About the synapses to deliver (from the mean fan-out).
        let work = events.len() * this.fan_mean;
        let synapses = match &this.team {
            Some(team) if work >= this.par_work => {
                let counts: Vec<AtomicU64> = (0..this.parts).map(|_| AtomicU64::new(0)).collect();
                team.run(&|k| {
                    let n = this.deliver_share(rings, events, Some(k), k == 0);
                    counts[k].store(n, Ordering::Relaxed);
                });
                counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
            }
            _ => this.deliver_share(rings, events, None, true),
        };
        self.stats.synaptic_events += synapses;
        self.sent_by = sent_by;
        self.ispike = ispike;
        self.spike = spike;
        self.fspike = fspike;
        self.graded = graded;
        self.neg.ring32 = neg32;
        self.neg.ring64 = neg64;
    }

    /// The synapses of source `src` that thread `part` delivers (all of
    /// them for `None`).
    #[inline(always)]
    fn share(&self, src: usize, part: Option<usize>) -> std::ops::Range<usize> {
        match part {
            None => self.fan_ptr[src]..self.fan_ptr[src + 1],
            Some(k) => {
                let at = src * (self.parts + 1) + k;
                self.split[at] as usize..self.split[at + 1] as usize
            }
        }
    }

    /// Delivers thread `part`'s share of every event (see [`Engine::deliver`]).
    /// Returns the synapses it delivered, and counts each event's source in
    /// `rings.sent_by` if `count_sources`.
    fn deliver_share(
        &self,
        rings: Rings,
        events: &[(usize, f64)],
        part: Option<usize>,
        count_sources: bool,
    ) -> u64 {
        let mut synapses = 0;
        for (k, &(src, payload)) in events.iter().enumerate() {
            if let Some(&(ahead, _)) = events.get(k + AHEAD) {
                self.prefetch_list(ahead, self.share(ahead, part));
                // Its delay runs and its count, if any.
                let (a, b) = (self.run_ptr[ahead], self.run_ptr[ahead + 1]);
                prefetch(&self.runs, a..b.min(a + 1));
                if count_sources {
                    rings.sent_by.prefetch(ahead);
                }
            }
            if let Some(&(ahead, _)) = events.get(k + 2 * AHEAD) {
                prefetch(&self.run_ptr, ahead..ahead + 2);
                match part {
                    None => prefetch(&self.fan_ptr, ahead..ahead + 2),
                    Some(p) => {
                        let at = ahead * (self.parts + 1) + p;
                        prefetch(&self.split, at..at + 2);
                    }
                }
            }
            if count_sources {
                rings.sent_by.add(src, 1);
            }
            let range = self.share(src, part);
            synapses += range.len() as u64;
            if !range.is_empty() {
                self.deliver_part(rings, src, payload, range);
            }
        }
        synapses
    }

    /// Adds synapses `r` of source `src`'s list, times `payload`, into the
    /// rings: a list of several delays in a few runs run by run, each as a
    /// list of one delay.
    #[inline(always)]
    fn deliver_part(&self, rings: Rings, src: usize, payload: f64, r: std::ops::Range<usize>) {
        let uniform = self.fan_uniform[src];
        let runs = &self.runs[self.run_ptr[src]..self.run_ptr[src + 1]];
        if uniform != u8::MAX || runs.is_empty() {
            self.deliver_run(rings, src, payload, r, uniform);
            return;
        }
        let mut at = self.fan_ptr[src];
        for &(end, delay) in runs {
            let (lo, hi) = (at.max(r.start), end.min(r.end));
            if lo < hi {
                self.deliver_run(rings, src, payload, lo..hi, delay);
            }
            at = end;
        }
    }

    /// Adds synapses `r` of source `src`'s list, times `payload`, into the
    /// rings; `uniform`: their one delay, or `u8::MAX` for each its own.
    #[inline(always)]
    fn deliver_run(
        &self,
        rings: Rings,
        src: usize,
        payload: f64,
        r: std::ops::Range<usize>,
        uniform: u8,
    ) {
        let base = &self.base;
        if self.neg.has(src) {
            // Spikes with negative-exponent synapses among theirs.
            let (neg, delay) = (&self.neg, &self.fan_delay);
            if neg.source[src] == NEG_PACKED {
                if neg.wide {
                    neg.deliver_packed(rings.neg64, r, uniform, &self.neg_base);
                } else {
                    neg.deliver_packed(rings.neg32, r, uniform, &self.neg_base);
                }
                return;
            }
            for k in r {
                let c = neg.index[k];
                if c != u32::MAX {
                    let at = self.neg_base[delay[k] as usize] + c as usize;
                    if neg.wide {
                        rings.neg64.add(at, neg.mant[k] as i64);
                    } else {
                        rings.neg32.add(at, neg.mant[k]);
                    }
                    continue;
                }
                let i = base[self.fan_delay[k] as usize] + self.fan_target[k] as usize;
                if self.int_spikes {
                    rings.ispike.add(i, self.fan_wi[k]);
                } else {
                    rings.spike.add(i, self.fan_weight[k] * payload);
                }
            }
            return;
        }
        if self.int_spikes && !self.fan_graded[src] {
            debug_assert_eq!(payload, 1.0);
            if uniform != u8::MAX {
                let start = base[uniform as usize];
                if self.packed.deliver(src, r.clone(), rings, start) {
                    return;
                }
                for k in r {
                    rings
                        .ispike
                        .add(start + self.fan_target[k] as usize, self.fan_wi[k]);
                }
            } else {
                for k in r {
                    let i = base[self.fan_delay[k] as usize] + self.fan_target[k] as usize;
                    rings.ispike.add(i, self.fan_wi[k]);
                }
            }
            return;
        }
        let (target, weight, delay) = (&self.fan_target, &self.fan_weight, &self.fan_delay);
        if self.float && !self.fan_graded[src] {
            // SENeCA spikes: bfloat16 weights and sums, in `f32`.
            let ring = rings.fspike;
            let round = |i: usize, x: f32| ring.set(i, bf16(ring.get(i) + x));
            if uniform != u8::MAX && payload == 1.0 {
                // A spike with one delay: the weights are bfloat16 already,
                // so only the sum rounds.
                let start = base[uniform as usize];
                let wf = &self.fan_wf;
                for k in r {
                    round(start + target[k] as usize, wf[k]);
                }
            } else {
                for k in r {
                    let i = base[delay[k] as usize] + target[k] as usize;
                    round(i, bf16((weight[k] * payload) as f32));
                }
            }
            return;
        }
        let ring = if self.fan_graded[src] {
            rings.graded
        } else {
            rings.spike
        };
        if self.float {
            // SENeCA: bfloat16 weights, every sum rounded.
            let round = |i: usize, x: f64| ring.set(i, bf16(ring.get(i) as f32 + x as f32) as f64);
            if uniform != u8::MAX && payload == 1.0 {
                // A spike with one delay: the weights are bfloat16 already,
                // so only the sum rounds.
                let start = base[uniform as usize];
                for k in r {
                    round(start + target[k] as usize, weight[k]);
                }
            } else {
                for k in r {
                    let i = base[delay[k] as usize] + target[k] as usize;
                    round(i, bf16((weight[k] * payload) as f32) as f64);
                }
            }
        } else if uniform != u8::MAX {
            // One delay for the whole list (the common case): one slot.
            let start = base[uniform as usize];
            if payload == 1.0 {
                for k in r {
                    ring.add(start + target[k] as usize, weight[k]);
                }
            } else {
                for k in r {
                    ring.add(start + target[k] as usize, weight[k] * payload);
                }
            }
        } else {
            for k in r {
                ring.add(
                    base[delay[k] as usize] + target[k] as usize,
                    weight[k] * payload,
                );
            }
        }
    }

    /// One event of a TrueNorth configuration with stochastic synapses:
    /// each such synapse draws from its target group's generator, in list
    /// order (one thread).
    fn deliver_stochastic(&mut self, src: usize, payload: f64) {
        for k in self.fan_ptr[src]..self.fan_ptr[src + 1] {
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
    }

    /// Shares each tick's delivery (and, when its spikes go out in one
    /// batch, its neuron updates) among up to `threads` threads (1: the
    /// calling thread alone). The outputs do not depend on it (see
    /// [`Engine::deliver`], `Engine::share_updates`). TrueNorth
    /// configurations with stochastic synapses always use one.
    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.max(1).min(self.neurons.max(1));
        self.team = None;
        self.parts = 1;
        self.split = Vec::new();
        self.update_split = Vec::new();
        self.lanes.truncate(1);
        if threads == 1 || !self.fan_stoch.is_empty() {
            return;
        }
        // Without threads to be had, it runs on this one.
        let Some(team) = Team::new(threads) else {
            return;
        };
        let threads = team.threads();
        let bounds: Vec<u32> = (0..=threads)
            .map(|k| (k * self.neurons).div_ceil(threads) as u32)
            .collect();
        let sources = self.fan_ptr.len() - 1;
        let mut split = Vec::with_capacity(sources * (threads + 1));
        for src in 0..sources {
            let (a, b) = (self.fan_ptr[src], self.fan_ptr[src + 1]);
            let list = &self.fan_target[a..b];
            for &lo in &bounds {
                split.push((a + list.partition_point(|&t| t < lo)) as u64);
            }
        }
        self.split = split;
        self.parts = threads;
        self.team = Some(std::sync::Arc::new(team));
        if self.batch_ticks {
            self.share_updates(threads);
        }
    }

    /// Starts loading synapses `r` of source `src`'s fan-out list (see
    /// [`prefetch`]).
    #[inline]
    fn prefetch_list(&self, src: usize, r: std::ops::Range<usize>) {
        if self.neg.has(src) {
            if self.neg.source[src] == NEG_PACKED {
                prefetch(&self.neg.words, r);
            } else {
                prefetch(&self.neg.index, r.clone());
                prefetch(&self.neg.mant, r.clone());
                prefetch(&self.fan_delay, r);
            }
        } else if self.packed.has(src) {
            prefetch(&self.packed.words, r);
        } else if self.int_spikes && !self.fan_graded[src] {
            prefetch(&self.fan_target, r.clone());
            prefetch(&self.fan_wi, r);
        } else if self.float && !self.fan_graded[src] {
            prefetch(&self.fan_target, r.clone());
            prefetch(&self.fan_wf, r);
        } else {
            prefetch(&self.fan_target, r.clone());
            prefetch(&self.fan_weight, r);
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
        self.mark_voltages();
        for _ in 0..self.config.manifest.ticks_per_step.max(1) {
            self.tick(rows);
        }
        self.stats.steps += 1;
    }

    /// Keeps the voltages that outputs read the change of, before a step.
    fn mark_voltages(&mut self) {
        for (oi, o) in self.config.manifest.outputs.iter().enumerate() {
            if o.read != Readout::VoltageChange {
                continue;
            }
            let mut marks = std::mem::take(&mut self.out_marks[oi]);
            marks.clear();
            marks.extend(
                self.out_neurons[oi]
                    .iter()
                    .map(|&i| self.variable(i as usize, Readout::Voltage)),
            );
            self.out_marks[oi] = marks;
        }
    }

    /// Output `oi`'s `k`-th element (neuron `i`): 1 or 0 for a spike
    /// raster, else the variable it reads times its scale.
    fn output_value(&self, oi: usize, k: usize, i: usize) -> f32 {
        let o = &self.config.manifest.outputs[oi];
        let x = match o.read {
            Readout::Spikes => return f32::from(u8::from(self.sent[i] != 0.0)),
            Readout::VoltageChange => {
                self.variable(i, Readout::Voltage)
                    - self.out_marks[oi].get(k).copied().unwrap_or(0.0)
            }
            read => self.variable(i, read),
        };
        (x * o.scale[k] as f64) as f32
    }

    /// One tick of the chip.
    fn tick(&mut self, rows: &[&[f32]]) {
        let t = self.t;
        let (n, slots) = (self.neurons, self.slots);
        for (d, b) in self.base.iter_mut().enumerate() {
            *b = ((t + d) % slots) * n;
        }
        let width = self.neg.width;
        for (d, b) in self.neg_base.iter_mut().enumerate() {
            *b = ((t + d) % slots) * width;
        }
        // 1. Inputs.
        let mut inputs = std::mem::take(&mut self.inputs);
        inputs.clear();
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
                    inputs.push((self.input_base[ii] + ch, payload));
                }
            }
        }
        self.deliver(&inputs);
        self.inputs = inputs;
        if let Some(f) = &mut self.fired {
            f.clear();
        }
        // 2. Neurons, group by group in order; their spikes go out after
        // each stage (`batch_ticks`), or each group.
        for i in self.marked.drain(..) {
            self.sent[i] = 0.0;
        }
        let slot = self.base[0];
        if self.batch_ticks {
            for stage in 0..self.stages.len() - 1 {
                self.update_groups(slot, Which::Stage(stage));
                self.send_lanes();
            }
        } else {
            for oi in 0..self.order.len() {
                self.update_groups(slot, Which::Group(oi));
                self.send_lanes();
            }
        }
        self.stats.ticks += 1;
        self.stats.dense_synops += self.synapses;
        self.t += 1;
    }

    /// Delivers the lanes' events, lane after lane, and empties them.
    fn send_lanes(&mut self) {
        let mut lanes = std::mem::take(&mut self.lanes);
        let events = if let [one] = &mut lanes[..] {
            std::mem::take(&mut one.events)
        } else {
            let mut all = std::mem::take(&mut lanes[0].events);
            for lane in &mut lanes[1..] {
                all.append(&mut lane.events);
            }
            all
        };
        self.lanes = lanes;
        if let Some(f) = &mut self.fired {
            f.extend(events.iter().map(|e| e.0 as u32));
        }
        self.deliver(&events);
        self.lanes[0].events = events;
        self.lanes[0].events.clear();
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
            .zip(&self.out_neurons)
            .enumerate()
            .map(|(oi, (o, idx))| {
                let row = idx
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| self.output_value(oi, k, i as usize))
                    .collect();
                (o.name.clone(), row)
            })
            .collect()
    }

    /// Runs `steps` steps; `input(t)` gives each input's row. Records each
    /// output into `out` (one [`Recording`] per output, in order): a value
    /// output into its `[steps, width]` array, row after row; a spike
    /// raster as the positions of its ones, from the neurons that sent on
    /// each step's last tick (no scan of the output's neurons).
    pub fn run_into(
        &mut self,
        steps: usize,
        input: &dyn Fn(usize) -> Vec<Vec<f32>>,
        out: &mut [Recording],
    ) {
        let rasters = self.start_rasters(out);
        let mut ones: Vec<(u32, u64)> = Vec::new();
        for t in 0..steps {
            let rows = input(t);
            let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
            self.step(&refs);
            if rasters {
                // The neurons that sent on the step's last tick, to their
                // places in the rasters, in order.
                ones.clear();
                let fired = self.fired.as_deref().unwrap_or(&[]);
                for &i in fired {
                    let (a, b) = (self.out_ptr[i as usize], self.out_ptr[i as usize + 1]);
                    for &(oi, k) in &self.out_at[a as usize..b as usize] {
                        let width = self.out_neurons[oi as usize].len() as u64;
                        ones.push((oi, t as u64 * width + k as u64));
                    }
                }
                ones.sort_unstable();
                for &(oi, p) in &ones {
                    if let Recording::Spikes(r) = &mut out[oi as usize] {
                        r.push(p);
                    }
                }
            }
            for (oi, (idx, rec)) in self.out_neurons.iter().zip(out.iter_mut()).enumerate() {
                let Recording::Values(values) = rec else {
                    continue;
                };
                let width = idx.len();
                let row = &mut values[t * width..(t + 1) * width];
                for (k, (x, &i)) in row.iter_mut().zip(idx).enumerate() {
                    *x = self.output_value(oi, k, i as usize);
                }
            }
        }
        self.fired = None;
    }

    /// Before [`Engine::run_into`]: whether any output records a raster
    /// of spikes (`Recording::Spikes` of a `Spikes` output), and if so, the
    /// places each neuron has in them; starts listing each tick's senders.
    fn start_rasters(&mut self, out: &[Recording]) -> bool {
        let outputs = &self.config.manifest.outputs;
        let rasters: Vec<bool> = outputs
            .iter()
            .zip(out)
            .map(|(o, r)| o.read == Readout::Spikes && matches!(r, Recording::Spikes(_)))
            .collect();
        if !rasters.contains(&true) {
            return false;
        }
        let mut count = vec![0u32; self.neurons + 1];
        for (oi, idx) in self.out_neurons.iter().enumerate() {
            if rasters[oi] {
                for &i in idx {
                    count[i as usize + 1] += 1;
                }
            }
        }
        for i in 0..self.neurons {
            count[i + 1] += count[i];
        }
        let mut at = vec![(0u32, 0u32); count[self.neurons] as usize];
        let mut next = count.clone();
        for (oi, idx) in self.out_neurons.iter().enumerate() {
            if rasters[oi] {
                for (k, &i) in idx.iter().enumerate() {
                    at[next[i as usize] as usize] = (oi as u32, k as u32);
                    next[i as usize] += 1;
                }
            }
        }
        self.out_ptr = count;
        self.out_at = at;
        self.fired = Some(Vec::new());
        true
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

    /// The engine with every group updated neuron by neuron by the general
    /// update (to test the group loops against it).
    #[cfg(test)]
    fn general_updates(mut self) -> Engine {
        self.group_loops = false;
        self
    }
}

/// Appends `(first + j, 1)` to `fired` for every set flag `j` (each flag
/// is 0 or 1). Spikes are rare: it tests 32 flags at a time, as four
/// words, and finds the set ones by their bits.
fn push_flags(flags: &[u8], first: usize, fired: &mut Vec<(usize, f64)>) {
    let words = flags.chunks_exact(32);
    let tail = words.remainder();
    for (c, chunk) in words.enumerate() {
        let word = |i: usize| u64::from_le_bytes(chunk[i..i + 8].try_into().unwrap_or([0; 8]));
        let w = [word(0), word(8), word(16), word(24)];
        if w[0] | w[1] | w[2] | w[3] == 0 {
            continue;
        }
        for (i, mut w) in w.into_iter().enumerate() {
            while w != 0 {
                let k = w.trailing_zeros() as usize / 8;
                fired.push((first + c * 32 + i * 8 + k, 1.0));
                w &= w - 1;
            }
        }
    }
    let base = flags.len() - tail.len();
    for (k, &f) in tail.iter().enumerate() {
        if f != 0 {
            fired.push((first + base + k, 1.0));
        }
    }
}

/// One neuron's update, in its chip's arithmetic; returns (what it
/// sends, its readout state).
fn update(
    model: Model,
    params: &Params,
    state: &mut State,
    rng: &mut Rng,
    j: usize,
    input: f64,
    ov: &mut Overflow,
) -> (f64, f64) {
    match params {
        Params::Loihi(p) => loihi::update(model, p, state, j, input, ov),
        Params::TrueNorth(p) => truenorth::update(p, state, rng, j, input, ov),
        Params::Seneca(p) => seneca::update(model, p, state, j, input, ov),
    }
}
