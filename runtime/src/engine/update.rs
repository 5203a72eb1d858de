//! The neuron phase of a tick: every group's update, in the chip's
//! arithmetic, on one thread or shared among several by groups.

use super::*;

/// The engine's per-neuron buffers while groups update: raw views, so
/// that several threads can each update their own groups at once.
#[derive(Clone, Copy)]
pub(super) struct Views {
    ispike: Raw<i32>,
    spike: Raw<f64>,
    fspike: Raw<f32>,
    graded: Raw<f64>,
    acc: Raw<f64>,
    sent: Raw<f64>,
    neg32: Raw<i32>,
    neg64: Raw<i64>,
}

// SAFETY: `Views` live only within `Engine::update_groups`, which has moved
// the buffers out of the engine for that time. A thread takes slices only
// of its own groups' neurons (ring slots, `acc`, `sent`) and of their
// negative-exponent runs; groups cover disjoint neurons and own disjoint
// runs, and each group is updated by one thread.
unsafe impl Send for Views {}
unsafe impl Sync for Views {}

/// What one thread's group updates produce in a tick.
#[derive(Clone, Default)]
pub(super) struct Lane {
    /// Events `(neuron, payload)`, in the order of the groups, each
    /// group's in neuron order.
    pub(super) events: Vec<(usize, f64)>,
    /// Spikes marked in `sent` (cleared at the next tick).
    marked: Vec<usize>,
    /// Scratch: a group loop's spike flags.
    flags: Vec<u8>,
    spikes: u64,
    updates: u64,
}

/// Which groups [`Engine::update_groups`] updates.
#[derive(Clone, Copy)]
pub(super) enum Which {
    /// `order[oi]`.
    Group(usize),
    /// A stage (`Engine::stages`).
    Stage(usize),
}

impl Engine {
    /// Updates a group or a stage's groups in order, appending their
    /// events to the lanes: with `update_split`, each thread its run of
    /// the stage into its own lane, so that the lanes one after the other
    /// hold the events in the order one thread makes them.
    pub(super) fn update_groups(&mut self, slot: usize, which: Which) {
        use std::mem::take;
        let mut ispike = take(&mut self.ispike);
        let mut spike = take(&mut self.spike);
        let mut fspike = take(&mut self.fspike);
        let mut graded = take(&mut self.graded);
        let mut acc = take(&mut self.acc);
        let mut sent = take(&mut self.sent);
        let mut neg32 = take(&mut self.neg.ring32);
        let mut neg64 = take(&mut self.neg.ring64);
        let mut groups = take(&mut self.groups);
        let mut lanes = take(&mut self.lanes);
        let io = Views {
            ispike: Raw::of(&mut ispike),
            spike: Raw::of(&mut spike),
            fspike: Raw::of(&mut fspike),
            graded: Raw::of(&mut graded),
            acc: Raw::of(&mut acc),
            sent: Raw::of(&mut sent),
            neg32: Raw::of(&mut neg32),
            neg64: Raw::of(&mut neg64),
        };
        let this = &*self;
        let split = match which {
            Which::Stage(s) => this
                .update_split
                .get(s)
                .filter(|(neurons, b)| *neurons >= this.par_work && b.len() > 2)
                .map(|(_, b)| b),
            Which::Group(_) => None,
        };
        match (which, &this.team, split) {
            (Which::Group(oi), ..) => {
                let g = &mut groups[this.order[oi]];
                this.update_group(io, slot, g, &mut lanes[0]);
            }
            (Which::Stage(_), Some(team), Some(split)) => {
                let mut each: Vec<Option<&mut GroupRun>> = groups.iter_mut().map(Some).collect();
                // Each thread its run of the stage and its lane.
                let shares: Vec<std::sync::Mutex<(Vec<&mut GroupRun>, &mut Lane)>> = split
                    .windows(2)
                    .zip(lanes.iter_mut())
                    .map(|(w, lane)| {
                        let run = this.order[w[0]..w[1]]
                            .iter()
                            .filter_map(|&gi| each[gi].take())
                            .collect();
                        std::sync::Mutex::new((run, lane))
                    })
                    .collect();
                team.run(&|k| {
                    let mut share = shares[k].lock().unwrap_or_else(|e| e.into_inner());
                    let (run, lane) = &mut *share;
                    for g in run.iter_mut() {
                        this.update_group(io, slot, g, lane);
                    }
                });
            }
            (Which::Stage(s), ..) => {
                for &gi in &this.order[this.stages[s]..this.stages[s + 1]] {
                    this.update_group(io, slot, &mut groups[gi], &mut lanes[0]);
                }
            }
        }
        self.ispike = ispike;
        self.spike = spike;
        self.fspike = fspike;
        self.graded = graded;
        self.acc = acc;
        self.sent = sent;
        self.neg.ring32 = neg32;
        self.neg.ring64 = neg64;
        self.groups = groups;
        for lane in &mut lanes {
            self.stats.spikes += take(&mut lane.spikes);
            self.stats.neuron_updates += take(&mut lane.updates);
            self.marked.append(&mut lane.marked);
        }
        self.lanes = lanes;
    }

    /// The stages of the order (see `Engine::stages`), as bounds: a stage
    /// ends before a group that a neuron of the stage reaches by a synapse
    /// of delay 0.
    pub(super) fn stages(&self) -> Vec<usize> {
        // The groups each group reaches at delay 0.
        let reach: Vec<Vec<u32>> = self
            .groups
            .iter()
            .map(|g| {
                let mut r: Vec<u32> = (g.first..g.first + g.count)
                    .flat_map(|src| self.fan_ptr[src]..self.fan_ptr[src + 1])
                    .filter(|&k| self.fan_delay[k] == 0)
                    .map(|k| self.group_of[self.fan_target[k] as usize])
                    .collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        let mut bounds = vec![0];
        let mut reached = vec![false; self.groups.len()];
        let mut marked: Vec<u32> = Vec::new();
        for (oi, &gi) in self.order.iter().enumerate() {
            if reached[gi] {
                bounds.push(oi);
                for h in marked.drain(..) {
                    reached[h as usize] = false;
                }
            }
            for &h in &reach[gi] {
                if !std::mem::replace(&mut reached[h as usize], true) {
                    marked.push(h);
                }
            }
        }
        bounds.push(self.order.len());
        bounds
    }

    /// Shares each stage's group updates among `threads`: CUBA groups with
    /// every constant but the bias shared (merged runs of one population)
    /// that hold
    /// more than half a thread's share of their stage are cut in
    /// `threads` pieces, and each stage is then cut into runs of the order
    /// about equal in neurons. A cut group updates its neurons as before,
    /// and its spikes come out in the same order.
    pub(super) fn share_updates(&mut self, threads: usize) {
        let mut big = vec![false; self.groups.len()];
        for w in self.stages.windows(2) {
            let run = &self.order[w[0]..w[1]];
            let total: usize = run.iter().map(|&gi| self.groups[gi].count).sum();
            for &gi in run {
                let g = &self.groups[gi];
                big[gi] = g.count * threads * 2 > total
                    && g.count >= threads
                    && g.cuba.as_ref().is_some_and(|c| c.vectorised())
                    && !g.graded_in
                    && !g.sends_changes;
            }
        }
        let old = std::mem::take(&mut self.groups);
        let mut groups: Vec<GroupRun> = Vec::with_capacity(old.len() + threads);
        // Old group index → its pieces' indices.
        let mut pieces: Vec<std::ops::Range<usize>> = Vec::with_capacity(old.len());
        for (gi, mut g) in old.into_iter().enumerate() {
            let start = groups.len();
            if big[gi] {
                let (first, count) = (g.first, g.count);
                for k in (1..threads).rev() {
                    let at = first + k * count / threads;
                    let tail = split_cuba(&mut g, at - first);
                    groups.push(tail);
                }
            }
            groups.push(g);
            groups[start..].reverse();
            pieces.push(start..groups.len());
        }
        self.order = self
            .order
            .iter()
            .flat_map(|&gi| pieces[gi].clone())
            .collect();
        // Each piece takes its part of its group's negative-exponent runs
        // (a run's sums lie in neuron order from `off`).
        let old_runs = std::mem::take(&mut self.neg.runs);
        let mut runs = Vec::with_capacity(old_runs.len() + threads);
        for range in &pieces {
            // Every piece still holds its group's range.
            let own = &old_runs[groups[range.start].neg.clone()];
            for g in &mut groups[range.clone()] {
                let at = runs.len();
                let (lo, hi) = (g.first as u32, (g.first + g.count) as u32);
                for r in own {
                    let (a, b) = (r.first.max(lo), (r.first + r.len).min(hi));
                    if a < b {
                        runs.push(Run {
                            off: r.off + (a - r.first),
                            first: a,
                            len: b - a,
                            k: r.k,
                        });
                    }
                }
                g.neg = at..runs.len();
            }
        }
        self.neg.runs = runs;
        for (gi, g) in groups.iter().enumerate() {
            self.group_of[g.first..g.first + g.count].fill(gi as u32);
        }
        self.groups = groups;
        self.stages = self.stages();
        // Each stage in runs of the order, about equal in neurons.
        self.update_split = self
            .stages
            .windows(2)
            .map(|w| {
                let run = &self.order[w[0]..w[1]];
                let total: usize = run.iter().map(|&gi| self.groups[gi].count).sum();
                let mut split = vec![w[0]];
                let mut sum = 0;
                for (oi, &gi) in run.iter().enumerate() {
                    sum += self.groups[gi].count;
                    if split.len() < threads && sum * threads >= total * split.len() {
                        split.push(w[0] + oi + 1);
                    }
                }
                split.resize(threads + 1, w[1]);
                (total, split)
            })
            .collect();
        self.lanes = vec![Lane::default(); threads];
    }

    /// One step of group `g`: its neurons read their input (clearing it),
    /// update, and append what they send to `lane.events`, scaled to its
    /// payload; spikes are marked in `sent`.
    fn update_group(&self, io: Views, slot: usize, g: &mut GroupRun, lane: &mut Lane) {
        let fuse = self.fuses_negative(g);
        if !fuse {
            self.shift_negative(io, g, slot);
        }
        let (first, n) = (g.first, g.count);
        let range = slot + first..slot + first + n;
        // SAFETY (every slice of `io` here): the group's own neurons and
        // runs (see `Views`), and no two slices taken here overlap.
        let sent = unsafe { io.sent.slice(first..first + n) };
        let start = lane.events.len();
        let events = &mut lane.events;
        let mark = if let Some(cuba) = &mut g.cuba {
            // The common case, Loihi CUBA neurons, in one tight loop.
            match (self.int_spikes, g.graded_in) {
                (true, false) if cuba.vectorised() => {
                    let spike = unsafe { io.ispike.slice(range) };
                    let runs = &self.neg.runs[g.neg.clone()];
                    // Fused runs are in the narrow ring, each a run of n.
                    let row = (self.t % self.slots) * self.neg.width;
                    let sums = |r: &Run| {
                        let at = row + r.off as usize;
                        (
                            unsafe { io.neg32.slice(at..at + n) },
                            u32::from(r.k).min(31),
                        )
                    };
                    // Runs not fused were shifted into the spike ring.
                    let spike = (g.spikes_in || !fuse).then_some(spike);
                    match runs {
                        [a] if fuse => cuba.step_uniform(spike, [sums(a)], first, events),
                        [a, b] if fuse => {
                            // A group's runs lie apart in a slot.
                            assert!(a.off as usize + n <= b.off as usize);
                            cuba.step_uniform(spike, [sums(a), sums(b)], first, events);
                        }
                        _ => cuba.step_uniform(spike, [], first, events),
                    }
                }
                (true, false) => {
                    let spike = unsafe { io.ispike.slice(range) };
                    cuba.step(|j| std::mem::take(&mut spike[j]) as i64, first, events);
                }
                (true, true) => {
                    let spike = unsafe { io.ispike.slice(range.clone()) };
                    let graded = unsafe { io.graded.slice(range) };
                    let acc = unsafe { io.acc.slice(first..first + n) };
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
                    cuba.step(input, first, events);
                }
                (false, _) => {
                    let spike = unsafe { io.spike.slice(range.clone()) };
                    let graded = unsafe { io.graded.slice(range) };
                    let acc = unsafe { io.acc.slice(first..first + n) };
                    let input = |j: usize| {
                        acc[j] += std::mem::take(&mut graded[j]);
                        (acc[j] + std::mem::take(&mut spike[j])).round() as i64
                    };
                    cuba.step(input, first, events);
                }
            }
            if g.sends_changes {
                for (j, last) in g.sent.iter_mut().enumerate() {
                    let v = cuba.v[j] as f64;
                    if v != *last {
                        events.push((first + j, v - *last));
                        *last = v;
                    }
                }
            }
            !g.sends_changes
        } else if let (Params::TrueNorth(p), State::Int { v, .. }) = (&g.params, &mut g.state)
            && self.group_loops
            && p.stochastic.is_none()
            && !g.graded_in
            && !g.sends_changes
        {
            // TrueNorth without stochastic modes: the group in one loop.
            let ov = &mut g.overflow;
            if self.int_spikes {
                let spike = unsafe { io.ispike.slice(range) };
                let input = |j: usize| std::mem::take(&mut spike[j]) as i64;
                truenorth::step_group(p, v, input, first, events, ov);
            } else {
                let spike = unsafe { io.spike.slice(range) };
                let input = |j: usize| std::mem::take(&mut spike[j]).round() as i64;
                truenorth::step_group(p, v, input, first, events, ov);
            }
            true
        } else if let (Params::Seneca(p), State::Float { u, v, refr, .. }) =
            (&g.params, &mut g.state)
            && self.group_loops
            && !self.int_spikes
            && matches!(g.model, Model::Lif | Model::If | Model::Li)
            && !g.graded_in
            && !g.sends_changes
        {
            // SENeCA `lif`, `if` and `li` reading only spikes: one loop.
            // Without graded input the persistent sum stays 0, so the
            // input is the step's spike sum, in bfloat16.
            let spike = unsafe { io.fspike.slice(range) };
            if lane.flags.len() < n {
                lane.flags.resize(n, 0);
            }
            let flags = &mut lane.flags;
            let ov = &mut g.overflow;
            seneca::step_group(g.model, p, u, v, refr, spike, flags, first, events, ov);
            true
        } else {
            self.update_each(io, range, g, sent, events);
            false
        };
        lane.updates += n as u64;
        lane.spikes += (events.len() - start) as u64;
        for e in &mut events[start..] {
            if mark {
                sent[e.0 - first] = e.1;
                lane.marked.push(e.0);
            }
            e.1 *= self.out_scale[e.0];
        }
    }

    /// Group `g` neuron by neuron, by the general update (`range`: its
    /// ring slots this tick); writes what each neuron sends into `sent`.
    fn update_each(
        &self,
        io: Views,
        range: std::ops::Range<usize>,
        g: &mut GroupRun,
        sent: &mut [f64],
        events: &mut Vec<(usize, f64)>,
    ) {
        let (first, n, float) = (g.first, g.count, self.float);
        // SAFETY: the group's own neurons (see `Views`); only the ring
        // the engine uses is taken.
        let (ispike, spike, fspike): (&mut [i32], &mut [f64], &mut [f32]) = unsafe {
            if self.int_spikes {
                (io.ispike.slice(range.clone()), &mut [], &mut [])
            } else if float {
                (&mut [], &mut [], io.fspike.slice(range.clone()))
            } else {
                (&mut [], io.spike.slice(range.clone()), &mut [])
            }
        };
        let graded = unsafe { io.graded.slice(range) };
        let acc = unsafe { io.acc.slice(first..first + n) };
        for j in 0..n {
            let s_in = if self.int_spikes {
                std::mem::take(&mut ispike[j]) as f64
            } else if float {
                std::mem::take(&mut fspike[j]) as f64
            } else {
                std::mem::take(&mut spike[j])
            };
            let d_in = std::mem::take(&mut graded[j]);
            let input = if float {
                acc[j] = bf16((acc[j] + d_in) as f32) as f64;
                bf16((acc[j] + s_in) as f32) as f64
            } else {
                acc[j] += d_in;
                acc[j] + s_in
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
            sent[j] = out;
            if out != 0.0 {
                events.push((first + j, out));
            }
        }
    }

    /// Whether group `g`'s update adds its negative-exponent sums itself
    /// (`Cuba::step_uniform` with the runs): a vectorised CUBA group reading
    /// only spikes from the integer ring, whose one or two runs each span
    /// the whole group. This saves a pass over its spike input.
    pub(super) fn fuses_negative(&self, g: &GroupRun) -> bool {
        let runs = &self.neg.runs[g.neg.clone()];
        self.int_spikes
            && !self.neg.wide
            && !g.graded_in
            && g.cuba.as_ref().is_some_and(|c| c.vectorised())
            && runs.len() <= 2
            && runs
                .iter()
                .all(|r| (r.first as usize, r.len as usize) == (g.first, g.count))
    }

    /// Adds the floored sums of group `g`'s negative-exponent synapses for
    /// this step (`slot`: the step's ring offset) into its spike input, and
    /// clears them.
    fn shift_negative(&self, io: Views, g: &GroupRun, slot: usize) {
        let row = (self.t % self.slots) * self.neg.width;
        for &Run { off, first, len, k } in &self.neg.runs[g.neg.clone()] {
            let sums = row + off as usize..row + (off + len) as usize;
            let at = slot + first as usize..slot + (first + len) as usize;
            // SAFETY: the group's own run and neurons (see `Views`).
            // An arithmetic shift: the floor, as in Lava. A sum below
            // 2^31 (2^63) shifted by 31 (63) is its sign already.
            unsafe {
                match (self.neg.wide, self.int_spikes) {
                    (false, true) => shift_run(
                        io.ispike.slice(at),
                        io.neg32.slice(sums),
                        u32::from(k).min(31),
                    ),
                    (true, true) => {
                        let k = u32::from(k).min(63);
                        for (x, m) in io.ispike.slice(at).iter_mut().zip(io.neg64.slice(sums)) {
                            *x += ((std::mem::take(m) >> k) << 6) as i32;
                        }
                    }
                    (false, false) => {
                        let k = u32::from(k).min(31);
                        for (x, m) in io.spike.slice(at).iter_mut().zip(io.neg32.slice(sums)) {
                            *x += ((i64::from(std::mem::take(m) >> k)) << 6) as f64;
                        }
                    }
                    (true, false) => {
                        let k = u32::from(k).min(63);
                        for (x, m) in io.spike.slice(at).iter_mut().zip(io.neg64.slice(sums)) {
                            *x += ((std::mem::take(m) >> k) << 6) as f64;
                        }
                    }
                }
            }
        }
    }
}

/// Cuts a CUBA group whose constants but the bias are shared after its
/// first `at` neurons; returns the rest (whose runs the caller sets).
fn split_cuba(g: &mut GroupRun, at: usize) -> GroupRun {
    let Some(c) = g.cuba.as_mut() else {
        unreachable!("only CUBA groups are cut");
    };
    let cuba = Cuba {
        keep_u: c.keep_u.clone(),
        keep_v: c.keep_v.clone(),
        bias: if c.mask_bias == 0 {
            c.bias.clone()
        } else {
            c.bias.split_off(at)
        },
        vth: c.vth.clone(),
        mask_u: c.mask_u,
        mask_v: c.mask_v,
        mask_bias: c.mask_bias,
        mask_vth: c.mask_vth,
        vmin: c.vmin,
        refractory: c.refractory,
        reset_subtract: c.reset_subtract,
        spiking: c.spiking,
        u: c.u.split_off(at),
        v: c.v.split_off(at),
        refr: c.refr.split_off(at),
        fired: c.fired.split_off(at.min(c.fired.len())),
        flags: c.flags.split_off(at.min(c.flags.len())),
        overflow: Overflow::default(),
    };
    let rest = GroupRun {
        population: g.population.clone(),
        first: g.first + at,
        count: g.count - at,
        model: g.model,
        params: g.params.clone(),
        state: g.state.clone(),
        cuba: Some(cuba),
        graded_in: g.graded_in,
        spikes_in: g.spikes_in,
        rng: g.rng.clone(),
        sends_changes: g.sends_changes,
        sent: Vec::new(),
        overflow: Overflow::default(),
        neg: g.neg.clone(),
    };
    g.count = at;
    rest
}
