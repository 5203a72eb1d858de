//! `place`: neurons → cores → chips, under every limit of the chip.
//!
//! 1. Partition (`chunk.rs`): each population is cut into the largest equal
//!    chunks of consecutive neurons that one core holds under every limit at
//!    once (neurons and the delay-ring trade-off, input axons, synapse
//!    memory, profiles, synapse formats); a source whose neurons would need
//!    more output axons than a core has gets smaller chunks.
//!    Two populations joined one-to-one (an adaptive neuron and its
//!    auxiliary compartment, a copy layer) are cut together, into chunks of
//!    the same ranges that fit one core as a pair, and each pair is tied to
//!    one core: their messages, often graded and sent every step, then never
//!    leave it. A population with sparse synapses among its own neurons is
//!    also cut in growth order (`chunk::Grow`: connected neurons together,
//!    whatever their indices), kept when it needs no more cores and leaves
//!    less traffic.
//! 2. Greedy (always available): chunks in dataflow order, first-fit into
//!    the last few open cores, tied chunks together.
//! 3. ILP (`ilp.rs`, HiGHS through good_lp, under `--place-time`): chunks
//!    that can share a core are packed to minimise cores, then traffic
//!    between cores; then cores are assigned to chips to minimise traffic
//!    between chips. Chunks too big to share a core each take one and stay
//!    out of the ILP (they are the aggregate that makes large networks
//!    tractable); large instances fall back to the greedy result.
//! 4. Check (`check.rs`): an independent count of every per-core resource
//!    from the graph; a placement that breaks a limit is refused.
//!
//! The same input gives the same placement (no randomness, a single solver
//! thread, deterministic tie-breaking).

pub mod check;
pub mod chunk;
pub mod ilp;
pub mod traffic;

use std::time::{Duration, Instant};

use serde::Serialize;
use snn_ir::chip::{ChipSpec, SynapseMemory};
use snn_ir::{Graph, NodeId};

use crate::manager::{PassDiag, Table};
use chunk::{Capacity, Chunk, Resources, bits_for, capacity, delay_bits, overflow};
use ilp::{Item, SolveReport};
use traffic::{ChunkIndex, Rates, Traffic};

/// How placement should run.
#[derive(Clone, Debug)]
pub struct PlaceOptions {
    /// Chips the system has.
    pub chips: u32,
    /// Time for the solver (split between the stages).
    pub time_limit: Duration,
    /// Expected spike rates (per neuron), e.g. from a reference run.
    pub rates: Rates,
    /// Largest number of items and traffic pairs an ILP may have.
    pub ilp_items: usize,
    pub ilp_pairs: usize,
    /// Populations with up to this many synapses among their own neurons
    /// are also tried cut in growth order (see [`chunk::Grow`]).
    pub grow_synapses: u64,
}

impl Default for PlaceOptions {
    fn default() -> Self {
        PlaceOptions {
            chips: 1,
            time_limit: Duration::from_secs(10),
            rates: Rates::new(),
            ilp_items: 300,
            ilp_pairs: 2000,
            // About 2 s of growth and re-measuring on this machine.
            grow_synapses: 16_000_000,
        }
    }
}

/// One core and what it holds.
#[derive(Clone, Debug, Serialize)]
pub struct Core {
    pub chip: u32,
    /// Index of the core within its chip.
    pub core: u32,
    /// Indices into `Placement::chunks`.
    pub chunks: Vec<usize>,
}

/// Where every neuron goes, and what it costs.
#[derive(Clone, Debug, Serialize)]
pub struct Placement {
    pub chip: &'static str,
    pub chips_available: u32,
    pub chips_used: u32,
    #[serde(skip)]
    pub chunks: Vec<Chunk>,
    pub cores: Vec<Core>,
    /// A lower bound on the cores any placement needs.
    pub lower_bound_cores: u32,
    pub traffic: Traffic,
    /// The same network packed in order (no optimisation), for comparison.
    pub sequential_traffic: Traffic,
    pub sequential_cores: u32,
    pub solves: Vec<SolveReport>,
    pub seconds: Seconds,
    /// Resource use per core: (resource, used per core, limit).
    pub usage: Vec<(String, Vec<u64>, u64)>,
}

/// Time per placement stage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Seconds {
    pub partition: f64,
    pub greedy: f64,
    pub ilp: f64,
    pub traffic: f64,
    pub check: f64,
}

impl Seconds {
    pub fn total(&self) -> f64 {
        self.partition + self.greedy + self.ilp + self.traffic + self.check
    }
}

impl Placement {
    /// (chip, core) of each chunk.
    pub fn location(&self) -> Vec<(u32, u32)> {
        let mut loc = vec![(0, 0); self.chunks.len()];
        for c in &self.cores {
            for &k in &c.chunks {
                loc[k] = (c.chip, c.core);
            }
        }
        loc
    }

    /// The report table of `snnc compile --report`.
    pub fn tables(&self) -> Vec<Table> {
        let mut summary = Table::new(format!("placement on {}", self.chip), &["", "value"]);
        let cores = self.cores.len() as u32;
        summary.row(vec![
            "chips used".into(),
            format!("{} of {}", self.chips_used, self.chips_available),
        ]);
        summary.row(vec!["cores used".into(), cores.to_string()]);
        summary.row(vec![
            "lower bound on cores".into(),
            self.lower_bound_cores.to_string(),
        ]);
        let gap = if cores == 0 {
            0.0
        } else {
            100.0 * (cores - self.lower_bound_cores.min(cores)) as f64 / cores as f64
        };
        summary.row(vec!["gap to the bound".into(), format!("{gap:.1}%")]);
        summary.row(vec![
            "inter-core traffic (spikes/step)".into(),
            format!("{:.1}", self.traffic.inter_core),
        ]);
        summary.row(vec![
            "inter-chip traffic (spikes/step)".into(),
            format!("{:.1}", self.traffic.inter_chip),
        ]);
        summary.row(vec![
            "sequential packing: cores, inter-core traffic".into(),
            format!(
                "{}, {:.1}",
                self.sequential_cores, self.sequential_traffic.inter_core
            ),
        ]);
        if self.sequential_traffic.inter_core > 0.0 {
            let saved =
                100.0 * (1.0 - self.traffic.inter_core / self.sequential_traffic.inter_core);
            summary.row(vec![
                "inter-core traffic saved vs sequential".into(),
                format!("{saved:.1}%"),
            ]);
        }
        let mut usage = Table::new(
            "per-core utilisation",
            &["limit", "min", "median", "max", "capacity"],
        );
        for (name, used, cap) in &self.usage {
            let mut v = used.clone();
            v.sort_unstable();
            let pick = |q: usize| v.get(q).copied().unwrap_or(0);
            usage.row(vec![
                name.clone(),
                pick(0).to_string(),
                pick(v.len() / 2).to_string(),
                pick(v.len().saturating_sub(1)).to_string(),
                if *cap == u64::MAX {
                    "-".into()
                } else {
                    cap.to_string()
                },
            ]);
        }
        let mut solver = Table::new(
            "solver",
            &["stage", "status", "variables", "constraints", "seconds"],
        );
        for s in &self.solves {
            solver.row(vec![
                s.stage.into(),
                s.status.clone(),
                s.variables.to_string(),
                s.constraints.to_string(),
                format!("{:.3}", s.seconds),
            ]);
        }
        let mut times = Table::new("placement time per stage", &["stage", "seconds"]);
        for (n, t) in [
            ("partition", self.seconds.partition),
            ("greedy", self.seconds.greedy),
            ("ilp", self.seconds.ilp),
            ("traffic", self.seconds.traffic),
            ("check", self.seconds.check),
        ] {
            times.row(vec![n.into(), format!("{t:.3}")]);
        }
        vec![summary, usage, solver, times]
    }
}

/// Bits more that the synapse lists of `r` take on a core whose index and
/// delay fields are `index` and `delay` bits wide (`check` prices every
/// list of a core at its widths): a bit a synapse for each bit more, and
/// up to a word less one bit a list for the rounding to whole words. A
/// chunk of 16 neurons (4 index bits) on a core of 82 (7 bits) takes 3
/// bits more a synapse, not one.
fn widening(spec: &ChipSpec, r: &Resources, index: u32, delay: u32) -> u64 {
    let SynapseMemory::Groups { word_bits, .. } = spec.synapses else {
        // Shared memory has fixed fields; a crossbar has none.
        return 0;
    };
    let own = bits_for(r.neurons.saturating_sub(1) as u64).max(1) + delay_bits(r.max_delay);
    match (index + delay).saturating_sub(own) as u64 {
        0 => 0,
        more => r.synapses * more + r.input_axons * (word_bits as u64 - 1),
    }
}

/// Combined resources of chunks on one core (input axons and memory added:
/// an upper bound; profiles united).
fn combine(spec: &ChipSpec, a: &Resources, b: &Resources) -> Resources {
    let index = bits_for((a.neurons + b.neurons).saturating_sub(1) as u64).max(1);
    let delay = delay_bits(a.max_delay.max(b.max_delay));
    Resources {
        neurons: a.neurons + b.neurons,
        input_axons: a.input_axons + b.input_axons,
        synapses: a.synapses + b.synapses,
        memory_bits: a.memory_bits
            + b.memory_bits
            + widening(spec, a, index, delay)
            + widening(spec, b, index, delay),
        max_delay: a.max_delay.max(b.max_delay),
        // Destinations on the other chunk's core may coincide: an upper bound.
        output_axons: a.output_axons + b.output_axons,
        compartment_profiles: a
            .compartment_profiles
            .union(&b.compartment_profiles)
            .copied()
            .collect(),
        threshold_profiles: a
            .threshold_profiles
            .union(&b.threshold_profiles)
            .copied()
            .collect(),
        synapse_formats: a
            .synapse_formats
            .union(&b.synapse_formats)
            .copied()
            .collect(),
    }
}

/// A quick test on the counted resources (no sets built): `false` means
/// `a` and `b` cannot share a core.
fn might_fit(spec: &ChipSpec, a: &Resources, b: &Resources) -> bool {
    let cap = capacity(spec, a.max_delay.max(b.max_delay));
    a.output_axons + b.output_axons <= spec.output_axons_per_core as u64
        && a.neurons + b.neurons <= cap.neurons
        && a.input_axons + b.input_axons <= cap.input_axons
        && a.memory_bits + b.memory_bits <= cap.memory_bits
}

fn fits(spec: &ChipSpec, r: &Resources) -> bool {
    r.output_axons <= spec.output_axons_per_core as u64
        && overflow(r, &capacity(spec, r.max_delay)).is_none()
}

/// Whether every core of `core_of` holds its chunks, their synapse lists
/// priced at the core's field widths.
fn packing_fits(spec: &ChipSpec, chunks: &[Chunk], core_of: &[usize]) -> bool {
    let mut cores: Vec<Option<Resources>> = vec![None; core_count(core_of)];
    for (k, &c) in core_of.iter().enumerate() {
        let r = &chunks[k].res;
        cores[c] = Some(match cores[c].take() {
            Some(held) => combine(spec, &held, r),
            None => r.clone(),
        });
    }
    cores.iter().flatten().all(|r| fits(spec, r))
}

/// First-fit of the chunks, in order, into cores, trying only the last
/// `window` open cores (window 1: plain in-order packing). A chunk with a
/// `partner` is placed together with it, on one core. Returns a core per
/// chunk.
fn first_fit(
    spec: &ChipSpec,
    chunks: &[Chunk],
    window: usize,
    partner: &[Option<usize>],
) -> Vec<usize> {
    let mut open: Vec<(usize, Resources)> = Vec::new();
    let mut core_of = vec![usize::MAX; chunks.len()];
    let mut next = 0;
    for (k, c) in chunks.iter().enumerate() {
        if core_of[k] != usize::MAX {
            continue;
        }
        let tied = partner
            .get(k)
            .copied()
            .flatten()
            .filter(|&j| core_of[j] == usize::MAX);
        let res = match tied {
            Some(j) => combine(spec, &c.res, &chunks[j].res),
            None => c.res.clone(),
        };
        let from = open.len().saturating_sub(window);
        let hit = (from..open.len()).find(|&o| {
            might_fit(spec, &open[o].1, &res) && fits(spec, &combine(spec, &open[o].1, &res))
        });
        let core = match hit {
            Some(o) => {
                open[o].1 = combine(spec, &open[o].1, &res);
                open[o].0
            }
            None => {
                open.push((next, res));
                next += 1;
                next - 1
            }
        };
        core_of[k] = core;
        if let Some(j) = tied {
            core_of[j] = core;
        }
    }
    core_of
}

/// Pairs of distinct populations of one size joined by a one-to-one
/// projection (a diagonal weight pattern, sparse or dense), in node order;
/// each population is in at most one pair.
fn one_to_one_pairs(g: &Graph) -> Vec<(NodeId, NodeId)> {
    let pops = g.populations();
    let mut taken: Vec<NodeId> = Vec::new();
    let mut pairs = Vec::new();
    for &t in &pops {
        for p in chunk::incoming(g, t) {
            let s = p.source;
            if s == t
                || !pops.contains(&s)
                || taken.contains(&s)
                || taken.contains(&t)
                || g.shape(s).len() != g.shape(t).len()
            {
                continue;
            }
            if crate::legalize::models::one_to_one(g, p.projection) {
                taken.extend([s, t]);
                let (a, b) =
                    if pops.iter().position(|&x| x == s) < pops.iter().position(|&x| x == t) {
                        (s, t)
                    } else {
                        (t, s)
                    };
                pairs.push((a, b));
            }
        }
    }
    pairs
}

/// The chunks of the two populations of a one-to-one pair, range by range.
type PairCut = (Vec<Chunk>, Vec<Chunk>);

/// Cuts the pair `(a, b)` into chunks of the same ranges, as large as fit
/// one core as a pair (the largest cap found by bisection); `None` when no
/// cap of at least two neurons works.
fn co_partition(g: &Graph, spec: &ChipSpec, a: NodeId, b: NodeId) -> Option<PairCut> {
    let n = g.shape(a).len();
    let try_cap = |c: u32| -> Option<PairCut> {
        let ca = chunk::partition_capped(g, spec, a, c).ok()?;
        let cb = chunk::partition_capped(g, spec, b, c).ok()?;
        let aligned = ca.len() == cb.len()
            && ca.iter().zip(&cb).all(|(x, y)| {
                x.start == y.start && x.end == y.end && fits(spec, &combine(spec, &x.res, &y.res))
            });
        aligned.then_some((ca, cb))
    };
    let (mut lo, mut hi) = (1u32, capacity(spec, 0).neurons.min(n));
    if hi < lo {
        return None;
    }
    if let Some(r) = try_cap(hi) {
        return Some(r);
    }
    let mut best = try_cap(lo)?;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match try_cap(mid) {
            Some(r) => {
                lo = mid;
                best = r;
            }
            None => hi = mid,
        }
    }
    Some(best)
}

/// Each chunk's tied partner: the chunk of the same range of its pair
/// population, when the two fit one core together.
fn partners(spec: &ChipSpec, chunks: &[Chunk], pairs: &[(NodeId, NodeId)]) -> Vec<Option<usize>> {
    let mut partner = vec![None; chunks.len()];
    let by_range: std::collections::HashMap<(NodeId, u32, u32), usize> = chunks
        .iter()
        .enumerate()
        .map(|(k, c)| ((c.pop, c.start, c.end), k))
        .collect();
    for &(a, b) in pairs {
        for (k, x) in chunks.iter().enumerate().filter(|(_, c)| c.pop == a) {
            if let Some(&j) = by_range.get(&(b, x.start, x.end))
                && fits(spec, &combine(spec, &x.res, &chunks[j].res))
            {
                partner[k] = Some(j);
                partner[j] = Some(k);
            }
        }
    }
    partner
}

/// Places `g` on `spec` chips. On failure, the diagnostics say which
/// population, which resource, by how much, and what to try.
pub fn place(g: &Graph, spec: &ChipSpec, opts: &PlaceOptions) -> Result<Placement, Vec<PassDiag>> {
    // Cutting a population takes time per neuron: first make sure that the
    // neurons alone, packed as tightly as a core allows, fit the system.
    neuron_bound(g, spec, opts.chips).map_err(|d| vec![*d])?;
    let mut seconds = Seconds::default();
    let t = Instant::now();
    // 1. Partition every population.
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut errors = Vec::new();
    let parts: Vec<_> = {
        use rayon::prelude::*;
        g.populations()
            .into_par_iter()
            .map(|pop| (pop, chunk::partition(g, spec, pop)))
            .collect()
    };
    let mut by_pop: Vec<(NodeId, Vec<Chunk>)> = Vec::new();
    for (pop, part) in parts {
        match part {
            Ok(c) => {
                chunks.extend(c.iter().cloned());
                by_pop.push((pop, c));
            }
            Err((resource, used, limit)) => errors.push(
                PassDiag::error(
                    "E0440",
                    format!(
                        "population {} does not fit a {} core: one neuron needs {used} {resource}, a core has {limit} (over by {})",
                        g.label(pop),
                        spec.name,
                        used - limit
                    ),
                )
                .at(g.span(pop), "even one of these neurons is too big for a core")
                .help(fix_hint(resource)),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Err(e) = limit_output_axons(g, spec, &mut chunks) {
        return Err(vec![*e]);
    }
    // The baseline the report compares with: these chunks packed in order.
    let plain = chunks.clone();
    // One-to-one pairs cut together, kept when the greedy packing needs no
    // more cores than with the pairs cut apart (cores come first).
    let mut partner = vec![None; chunks.len()];
    let mut greedy = first_fit(spec, &chunks, 64, &partner);
    let pairs = one_to_one_pairs(g);
    let paired: Vec<(NodeId, NodeId, Option<PairCut>)> = {
        use rayon::prelude::*;
        pairs
            .par_iter()
            .map(|&(a, b)| (a, b, co_partition(g, spec, a, b)))
            .collect()
    };
    // Where spikes carry no value, a leaky integrator joined one-to-one is
    // a compartment of the neuron it feeds: the pair must share a core.
    let must_tie = |a: NodeId, b: NodeId| !spec.graded_spikes && (is_li(g, a) || is_li(g, b));
    if let Some((a, b, _)) = paired.iter().find(|p| p.2.is_none() && must_tie(p.0, p.1)) {
        return Err(vec![
            PassDiag::error(
                "E0440",
                format!(
                    "populations {} and {} are compartments of one neuron on {} and must share cores, but not even one neuron of each fits a core together",
                    g.label(*a),
                    g.label(*b),
                    spec.name
                ),
            )
            .at(g.span(*b), "joined one-to-one")
            .help("compile for a chip with graded spikes (loihi2, seneca), or give the neurons fewer synapses"),
        ]);
    }
    let forced = paired.iter().any(|p| must_tie(p.0, p.1));
    if paired.iter().any(|p| p.2.is_some()) {
        let mut together: std::collections::HashMap<NodeId, Vec<Chunk>> =
            std::collections::HashMap::new();
        for (a, b, r) in paired {
            if let Some((ca, cb)) = r {
                together.insert(a, ca);
                together.insert(b, cb);
            }
        }
        let mut tied: Vec<Chunk> = Vec::new();
        for (pop, c) in &by_pop {
            tied.extend(together.get(pop).unwrap_or(c).iter().cloned());
        }
        let axons = limit_output_axons(g, spec, &mut tied);
        if let (Err(e), true) = (&axons, forced) {
            return Err(vec![(**e).clone()]);
        }
        if axons.is_ok() {
            let tied_partner = partners(spec, &tied, &pairs);
            let tied_greedy = first_fit(spec, &tied, 64, &tied_partner);
            if forced || core_count(&tied_greedy) <= core_count(&greedy) {
                chunks = tied;
                partner = tied_partner;
                greedy = tied_greedy;
            }
        }
    }
    // Populations with sparse synapses among their own neurons are also cut
    // in growth order (connected neurons together), kept when the greedy
    // packing needs no more cores and leaves less traffic between them.
    if let Some(cut) = grow(g, spec, opts, &chunks, &greedy, &pairs) {
        chunks = cut.chunks;
        partner = cut.partner;
        greedy = cut.greedy;
    }
    seconds.partition = t.elapsed().as_secs_f64();

    // 2. The in-order baseline: what packing without a traffic model
    //    gives (the greedy packing, tied pairs together, is above).
    let t = Instant::now();
    let sequential = first_fit(spec, &plain, 1, &[]);
    seconds.greedy = t.elapsed().as_secs_f64();

    // 3. ILP over the chunks that can share a core.
    let t = Instant::now();
    let index = ChunkIndex::new(&chunks);
    let smallest = chunks
        .iter()
        .min_by_key(|c| c.res.neurons)
        .map(|c| c.res.clone());
    let can_share = |k: usize| {
        chunks.len() > 1
            && smallest
                .as_ref()
                .is_some_and(|s| fits(spec, &combine(spec, &chunks[k].res, s)))
    };
    // A tied pair is in the ILP only as a whole.
    let shareable: Vec<usize> = (0..chunks.len())
        .filter(|&k| can_share(k) && partner[k].is_none_or(can_share))
        .collect();
    let mut core_of = greedy.clone();
    let mut solves = Vec::new();
    let half = opts.time_limit / 2;
    if shareable.len() > opts.ilp_items {
        solves.push(SolveReport {
            stage: "pack chunks into cores",
            status: format!(
                "not run ({} shareable chunks, limit {}): greedy kept",
                shareable.len(),
                opts.ilp_items
            ),
            variables: 0,
            constraints: 0,
            seconds: 0.0,
        });
    } else if !shareable.is_empty() {
        let mut group = vec![None; chunks.len()];
        for (i, &k) in shareable.iter().enumerate() {
            group[k] = Some(i);
        }
        let mut pairs = traffic::group_traffic(g, &chunks, &index, &opts.rates, &group);
        pairs = ilp::heaviest(&pairs, opts.ilp_pairs);
        let cap = capacity(
            spec,
            chunks.iter().map(|c| c.res.max_delay).max().unwrap_or(0),
        );
        let items: Vec<Item> = shareable.iter().map(|&k| item(&chunks[k].res)).collect();
        let warm = ilp::renumber(&shareable.iter().map(|&k| greedy[k]).collect::<Vec<_>>());
        let ties: Vec<(usize, usize)> = shareable
            .iter()
            .enumerate()
            .filter_map(|(i, &k)| {
                let j = partner[k]?;
                let jj = group[j]?;
                (i < jj).then_some((i, jj))
            })
            .collect();
        let (bins, report) = ilp::pack(&items, &cap_vector(spec, &cap), &pairs, &ties, &warm, half);
        solves.push(report);
        // Shareable chunks get fresh cores after the solo ones.
        let solo_cores: Vec<usize> = {
            let mut v: Vec<usize> = (0..chunks.len())
                .filter(|k| !shareable.contains(k))
                .map(|k| greedy[k])
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut remap = std::collections::HashMap::new();
        for (n, c) in solo_cores.iter().enumerate() {
            remap.insert(*c, n);
        }
        for (k, c) in core_of.iter_mut().enumerate() {
            if !shareable.contains(&k) {
                *c = remap[c];
            }
        }
        for (i, &k) in shareable.iter().enumerate() {
            core_of[k] = solo_cores.len() + bins[i];
        }
        // Keep dataflow order: renumber cores by their first chunk.
        core_of = ilp::renumber(&core_of);
        // The solver adds up each chunk's own needs; the chunks of a core
        // share its wider fields. A packing that breaks a limit once they
        // are counted gives way to the greedy one, which counts them.
        if !packing_fits(spec, &chunks, &core_of) {
            if let Some(r) = solves.last_mut() {
                r.status
                    .push_str("; over a core's synapse memory with its field widths: greedy kept");
            }
            core_of = greedy.clone();
        }
    }
    let cores_used = core_count(&core_of);

    // Cores → chips.
    let per_chip = spec.cores_per_chip as usize;
    let chips_needed = cores_used.div_ceil(per_chip).max(1);
    if chips_needed > opts.chips as usize {
        return Err(vec![too_big(
            g,
            spec,
            &chunks,
            cores_used,
            chips_needed,
            opts.chips,
        )]);
    }
    let in_order: Vec<usize> = (0..cores_used).map(|c| c / per_chip).collect();
    let chip_of_core = if chips_needed > 1 && cores_used <= opts.ilp_items {
        let group: Vec<Option<usize>> = core_of.iter().map(|&c| Some(c)).collect();
        let pairs = traffic::group_traffic(g, &chunks, &index, &opts.rates, &group);
        let pairs = ilp::heaviest(&pairs, opts.ilp_pairs);
        let (chips, report) =
            ilp::split(cores_used, per_chip, chips_needed, &pairs, &in_order, half);
        solves.push(report);
        chips
    } else {
        if chips_needed > 1 {
            solves.push(SolveReport {
                stage: "assign cores to chips",
                status: format!(
                    "not run ({cores_used} cores, limit {}): in dataflow order",
                    opts.ilp_items
                ),
                variables: 0,
                constraints: 0,
                seconds: 0.0,
            });
        }
        in_order
    };
    seconds.ilp = t.elapsed().as_secs_f64();

    // Number cores within each chip.
    let mut cores: Vec<Core> = Vec::new();
    let mut next_in_chip = vec![0u32; chips_needed];
    let mut core_index = vec![None; cores_used];
    for (k, &c) in core_of.iter().enumerate() {
        let slot = *core_index[c].get_or_insert_with(|| {
            let chip = chip_of_core[c];
            let idx = next_in_chip[chip];
            next_in_chip[chip] += 1;
            cores.push(Core {
                chip: chip as u32,
                core: idx,
                chunks: vec![],
            });
            cores.len() - 1
        });
        cores[slot].chunks.push(k);
    }
    // The bound ignores the ties (a bound without them bounds with them).
    let sharing: Vec<usize> = (0..chunks.len()).filter(|&k| can_share(k)).collect();
    let lower_bound_cores = lower_bound(spec, &chunks, &sharing);
    let mut placement = Placement {
        chip: spec.name,
        chips_available: opts.chips,
        chips_used: chip_of_core
            .iter()
            .copied()
            .max()
            .map_or(1, |m| m as u32 + 1),
        chunks,
        cores,
        lower_bound_cores,
        traffic: Traffic::default(),
        sequential_traffic: Traffic::default(),
        sequential_cores: core_count(&sequential) as u32,
        solves,
        seconds,
        usage: vec![],
    };

    // Traffic of the result and of the in-order packing.
    let t = Instant::now();
    let loc = placement.location();
    placement.traffic = traffic::measure(g, &placement.chunks, &index, &loc, &opts.rates);
    placement.sequential_traffic = traffic::measure(
        g,
        &plain,
        &ChunkIndex::new(&plain),
        &at_cores(&sequential, per_chip),
        &opts.rates,
    );
    placement.seconds.traffic = t.elapsed().as_secs_f64();

    // 4. The independent check.
    let t = Instant::now();
    let checked = check::check(g, spec, &placement);
    placement.seconds.check = t.elapsed().as_secs_f64();
    match checked {
        Ok(usage) => {
            placement.usage = usage;
            Ok(placement)
        }
        Err(violations) => {
            let shown: Vec<String> = violations.iter().take(5).cloned().collect();
            let more = violations.len().saturating_sub(5);
            Err(vec![PassDiag::error(
                "E0900",
                format!(
                    "internal error: the placement breaks a limit: {}{}",
                    shown.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                ),
            )])
        }
    }
}

/// Whether `pop` is a leaky integrator (which sends its voltage).
pub(crate) fn is_li(g: &Graph, pop: NodeId) -> bool {
    matches!(g.op(pop), snn_ir::Op::Population(p) if p.model.kind() == snn_ir::ModelKind::Li)
}

/// Cores a chunk → core numbering uses.
fn core_count(core_of: &[usize]) -> usize {
    core_of.iter().copied().max().map_or(0, |m| m + 1)
}

/// (chip, core) of each chunk, for chunk → core numbers filled in order.
fn at_cores(core_of: &[usize], per_chip: usize) -> Vec<(u32, u32)> {
    core_of
        .iter()
        .map(|&c| ((c / per_chip) as u32, (c % per_chip) as u32))
        .collect()
}

/// Chunks with each one's tied partner and greedy core.
struct Cut {
    chunks: Vec<Chunk>,
    partner: Vec<Option<usize>>,
    greedy: Vec<usize>,
}

/// `chunks` with every eligible population cut in growth order
/// ([`chunk::Grow`]) instead, with its partners and greedy packing; `None`
/// unless that packing takes no more cores than `greedy` and leaves less
/// traffic between cores. Eligible: not tied one-to-one to another
/// population, more than one chunk, and at most `opts.grow_synapses`
/// synapses (nonzero weights) among its own neurons.
fn grow(
    g: &Graph,
    spec: &ChipSpec,
    opts: &PlaceOptions,
    chunks: &[Chunk],
    greedy: &[usize],
    pairs: &[(NodeId, NodeId)],
) -> Option<Cut> {
    use rayon::prelude::*;
    // Populations in chunk order, with their chunk counts.
    let mut pops: Vec<(NodeId, usize)> = Vec::new();
    for c in chunks {
        match pops.iter_mut().find(|(p, _)| *p == c.pop) {
            Some((_, n)) => *n += 1,
            None => pops.push((c.pop, 1)),
        }
    }
    // Synapses are nonzero weights: a dense matrix loaded from a file may
    // be mostly zeros.
    let own_synapses = |pop: NodeId| -> u64 {
        chunk::incoming(g, pop)
            .iter()
            .filter(|p| p.source == pop)
            .map(|p| {
                let w = g.tensor(p.weights);
                match (w.pattern(), w.f32s()) {
                    (None, Some(v)) => v.iter().filter(|&&x| x != 0.0).count() as u64,
                    _ => w.stored(),
                }
            })
            .sum()
    };
    let eligible: Vec<NodeId> = pops
        .into_iter()
        .filter(|&(pop, n)| {
            n > 1
                && !pairs.iter().any(|&(a, b)| a == pop || b == pop)
                && (1..=opts.grow_synapses).contains(&own_synapses(pop))
        })
        .map(|(pop, _)| pop)
        .collect();
    let grown: std::collections::HashMap<NodeId, Vec<Chunk>> = eligible
        .par_iter()
        .filter_map(|&pop| {
            let order = chunk::Grow::new(g, pop)?;
            let c = chunk::partition_with(g, spec, pop, u32::MAX, order).ok()?;
            Some((pop, c))
        })
        .collect();
    if grown.is_empty() {
        return None;
    }
    // Each grown population's chunks where its first chunk was.
    let mut grown = grown;
    let mut next: Vec<Chunk> = Vec::with_capacity(chunks.len());
    for c in chunks {
        match grown.get_mut(&c.pop) {
            None => next.push(c.clone()),
            Some(v) => next.append(v),
        }
    }
    limit_output_axons(g, spec, &mut next).ok()?;
    let next_partner = partners(spec, &next, pairs);
    let next_greedy = first_fit(spec, &next, 64, &next_partner);
    if core_count(&next_greedy) > core_count(greedy) {
        return None;
    }
    let per_chip = spec.cores_per_chip as usize;
    let before = traffic::measure(
        g,
        chunks,
        &ChunkIndex::new(chunks),
        &at_cores(greedy, per_chip),
        &opts.rates,
    );
    let after = traffic::measure(
        g,
        &next,
        &ChunkIndex::new(&next),
        &at_cores(&next_greedy, per_chip),
        &opts.rates,
    );
    (after.inter_core < before.inter_core).then_some(Cut {
        chunks: next,
        partner: next_partner,
        greedy: next_greedy,
    })
}

fn item(r: &Resources) -> Item {
    Item {
        need: vec![
            r.neurons as f64,
            r.input_axons as f64,
            (r.memory_bits + r.synapses) as f64,
            r.compartment_profiles.len() as f64,
            r.threshold_profiles.len() as f64,
            r.synapse_formats.len() as f64,
            // Summed, like the greedy packing: chunks on one core might
            // share destinations, so this is an upper bound.
            r.output_axons as f64,
        ],
    }
}

/// A core's capacity, in the dimensions of [`item`].
fn cap_vector(spec: &ChipSpec, c: &Capacity) -> Vec<f64> {
    let f = |v: u64| if v == u64::MAX { 1e18 } else { v as f64 };
    vec![
        c.neurons as f64,
        f(c.input_axons),
        f(c.memory_bits),
        f(c.compartment_profiles as u64),
        f(c.threshold_profiles as u64),
        f(c.synapse_formats as u64),
        f(spec.output_axons_per_core as u64),
    ]
}

/// Chunks that cannot share a core take one each; the rest need at least
/// their total of each resource divided by a core's capacity.
fn lower_bound(spec: &ChipSpec, chunks: &[Chunk], shareable: &[usize]) -> u32 {
    let solo = chunks.len() - shareable.len();
    let cap = cap_vector(spec, &capacity(spec, 0));
    let mut need = 0f64;
    for d in 0..cap.len() {
        let total: f64 = shareable
            .iter()
            .map(|&k| {
                let r = &chunks[k].res;
                [
                    r.neurons as f64,
                    r.input_axons as f64,
                    r.memory_bits as f64,
                    0.0,
                    0.0,
                    0.0,
                    // Output axons add up only as an upper bound.
                    0.0,
                ][d]
            })
            .sum();
        need = need.max((total / cap[d]).ceil());
    }
    solo as u32 + need as u32
}

/// What to try when a resource overflows.
fn fix_hint(resource: &str) -> String {
    match resource {
        "input axons" => "reduce the fan-in (prune synapses: `--prune`, a sparser `weight`), or split the layer".into(),
        "synapse memory (bits)" => "use fewer weight bits (`--weight-bits`), fewer delay bits (`--delay-bits`), or prune delays (`--prune`)".into(),
        "neurons" => "fewer delay bits (`--delay-bits`) give more compartments per core".into(),
        "compartment profiles" | "threshold profiles" => {
            "use fewer distinct per-neuron time constants or thresholds in the population".into()
        }
        _ => "prune synapses or delays".into(),
    }
}

/// How many chunks each neuron of each population sends to.
fn destinations(g: &Graph, chunks: &[Chunk]) -> std::collections::HashMap<NodeId, Vec<u32>> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    let counters: std::collections::HashMap<NodeId, Vec<AtomicU32>> = g
        .populations()
        .into_iter()
        .map(|pop| {
            (
                pop,
                (0..g.shape(pop).len()).map(|_| AtomicU32::new(0)).collect(),
            )
        })
        .collect();
    chunks.par_iter().for_each(|c| {
        for (pop, i) in traffic::sources(g, &[c]) {
            if let Some(v) = counters.get(&pop) {
                v[i as usize].fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    counters
        .into_iter()
        .map(|(pop, v)| (pop, v.into_iter().map(AtomicU32::into_inner).collect()))
        .collect()
}

/// Shrinks chunks whose neurons send to more cores than a core has output
/// axons (assuming every target chunk is a core of its own).
fn limit_output_axons(
    g: &Graph,
    spec: &ChipSpec,
    chunks: &mut Vec<Chunk>,
) -> Result<(), Box<PassDiag>> {
    for _round in 0..64 {
        let dest = destinations(g, chunks);
        let per_chunk: Vec<u64> = chunks
            .iter()
            .map(|c| {
                dest.get(&c.pop)
                    .map_or(0, |v| c.neurons().map(|i| v[i as usize] as u64).sum())
            })
            .collect();
        let limit = spec.output_axons_per_core as u64;
        if spec.single_destination {
            let many = chunks.iter().find_map(|c| {
                let v = dest.get(&c.pop)?;
                c.neurons()
                    .find(|&i| v[i as usize] > 1)
                    .map(|i| (&c.pop, i, v[i as usize]))
            });
            if let Some((pop, i, n)) = many {
                // Which populations hold its targets, and on how many cores.
                let mut reached: std::collections::BTreeMap<String, usize> = Default::default();
                for c in chunks.iter() {
                    if traffic::sources(g, &[c]).contains(&(*pop, i)) {
                        *reached.entry(g.label(c.pop)).or_default() += 1;
                    }
                }
                let reached: Vec<String> = reached
                    .into_iter()
                    .map(|(p, k)| format!("{p} on {k} core{}", if k == 1 { "" } else { "s" }))
                    .collect();
                return Err(Box::new(
                    PassDiag::error(
                        "E0441",
                        format!(
                            "neuron {i} of population {} sends to {n} cores, and a {} neuron has one destination",
                            g.label(*pop),
                            spec.name
                        ),
                    )
                    .at(g.span(*pop), "more than one destination")
                    .note(format!(
                        "its synapses reach {}; a {} core holds {} neurons and {} input axons, and those targets need more",
                        reached.join(", "),
                        spec.name,
                        spec.neurons_per_core,
                        spec.input_axons_per_core
                    ))
                    .help("`legalize` gives a neuron one relay copy per projection, delay and block of targets a core holds; here the targets were cut otherwise (fewer sources or targets per population help)"),
                ));
            }
        }
        if per_chunk.iter().all(|&n| n <= limit) {
            for (c, &n) in chunks.iter_mut().zip(&per_chunk) {
                c.res.output_axons = n;
            }
            return Ok(());
        }
        // Split every chunk over the limit in two; a single neuron over it
        // cannot be helped.
        let mut next: Vec<Chunk> = Vec::with_capacity(chunks.len() + 8);
        let mut incoming: std::collections::HashMap<NodeId, (Vec<chunk::Incoming>, Vec<Vec<u32>>)> =
            std::collections::HashMap::new();
        for (c, &out) in chunks.iter().zip(&per_chunk) {
            if out <= limit {
                next.push(c.clone());
                continue;
            }
            let pop = c.pop;
            if c.len() == 1 {
                return Err(Box::new(
                    PassDiag::error(
                        "E0440",
                        format!(
                            "population {} does not fit a {} core: neuron {} sends to {out} cores, a core has {limit} output axons",
                            g.label(pop),
                            spec.name,
                            c.neuron(c.start)
                        ),
                    )
                    .at(g.span(pop), "fan-out too large")
                    .help("reduce the fan-out (prune synapses), so that each neuron's targets sit on fewer cores"),
                ));
            }
            let (inc, counts) = incoming.entry(pop).or_insert_with(|| {
                let inc = chunk::incoming(g, pop);
                let slots = inc.iter().map(|p| p.source_slot + 1).max().unwrap_or(0);
                let counts = (0..slots)
                    .map(|s| {
                        vec![
                            0;
                            inc.iter()
                                .find(|p| p.source_slot == s)
                                .map_or(0, |p| p.source_size) as usize
                        ]
                    })
                    .collect();
                (inc, counts)
            });
            let mid = c.start + c.len() / 2;
            for (a, b) in [(c.start, mid), (mid, c.end)] {
                let rows: Vec<u32> = (a..b).map(|p| c.neuron(p)).collect();
                let res = chunk::measure(g, spec, pop, inc, &rows, counts);
                next.push(Chunk {
                    pop,
                    start: a,
                    end: b,
                    res,
                    order: c.order.clone(),
                });
            }
        }
        *chunks = next;
    }
    Err(Box::new(PassDiag::error(
        "E0440",
        "the network's fan-out does not fit the cores' output axons after 64 rounds of splitting"
            .to_string(),
    )))
}

/// The error for a network that needs more chips than the system has.
fn too_big(
    g: &Graph,
    spec: &ChipSpec,
    chunks: &[Chunk],
    cores: usize,
    chips: usize,
    have: u32,
) -> PassDiag {
    // The population that takes the most cores.
    let mut per_pop: Vec<(NodeId, usize)> = Vec::new();
    for c in chunks {
        match per_pop.iter_mut().find(|(p, _)| *p == c.pop) {
            Some(e) => e.1 += 1,
            None => per_pop.push((c.pop, 1)),
        }
    }
    per_pop.sort_by_key(|(p, n)| (std::cmp::Reverse(*n), *p));
    let (big, n) = per_pop[0];
    let sample = chunks
        .iter()
        .find(|c| c.pop == big)
        .expect("the population has chunks");
    let cap = capacity(spec, sample.res.max_delay);
    let limiting = [
        ("neurons", sample.res.neurons as f64 / cap.neurons as f64),
        (
            "input axons",
            sample.res.input_axons as f64 / cap.input_axons as f64,
        ),
        (
            "synapse memory",
            sample.res.memory_bits as f64 / cap.memory_bits as f64,
        ),
    ]
    .into_iter()
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .map(|(n, _)| n)
    .unwrap_or("neurons");
    let board = spec.board_for(chips as u32).map_or(String::new(), |b| {
        format!(" (smallest named system: {}, {} chips)", b.name, b.chips)
    });
    PassDiag::error(
        "E0442",
        format!(
            "the network needs {cores} {} cores, {chips} chips; the system has {have} chip{} ({} cores)",
            spec.name,
            if have == 1 { "" } else { "s" },
            have * spec.cores_per_chip
        ),
    )
    .at(
        g.span(big),
        format!(
            "takes {n} cores: {} neurons per core, limited by {limiting}",
            sample.len()
        ),
    )
    .help(format!(
        "give more chips with `--chips {chips}`{board}, or shrink the network: prune synapses or delays (`--prune`), fewer delay bits (`--delay-bits`)"
    ))
}

/// E0442 when the neurons alone need more cores than `chips` chips have,
/// at most `spec.neurons_per_core` to a core and populations sharing cores
/// (a lower bound on what the placement would find, computed without
/// cutting the populations).
fn neuron_bound(g: &Graph, spec: &ChipSpec, chips: u32) -> Result<(), Box<PassDiag>> {
    let per_core = u64::from(spec.neurons_per_core.max(1));
    let mut neurons = 0u64;
    let mut biggest: Option<(NodeId, u64)> = None;
    for pop in g.populations() {
        let n = u64::from(g.shape(pop).len());
        neurons += n;
        if biggest.is_none_or(|(_, m)| n > m) {
            biggest = Some((pop, n));
        }
    }
    // Populations may share a core: only the total counts.
    let total = neurons.div_ceil(per_core);
    let have = u64::from(chips) * u64::from(spec.cores_per_chip);
    let Some((big, n)) = biggest.filter(|_| total > have) else {
        return Ok(());
    };
    let chips_needed = total.div_ceil(u64::from(spec.cores_per_chip.max(1)));
    let board = u32::try_from(chips_needed)
        .ok()
        .and_then(|c| spec.board_for(c))
        .map_or(String::new(), |b| {
            format!(" (smallest named system: {}, {} chips)", b.name, b.chips)
        });
    Err(Box::new(
        PassDiag::error(
            "E0442",
            format!(
                "the network needs at least {total} {} cores, {chips_needed} chips, for its neurons alone; the system has {chips} chip{} ({have} cores)",
                spec.name,
                if chips == 1 { "" } else { "s" },
            ),
        )
        .at(
            g.span(big),
            format!(
                "the largest population: {n} neurons (at most {per_core} fit a core)"
            ),
        )
        .help(format!(
            "give more chips with `--chips {chips_needed}`{board}, or shrink the network"
        )),
    ))
}

/// Per-population summary rows for reports: name, neurons, chunk size,
/// cores, and the order the population was cut in.
pub fn population_table(g: &Graph, p: &Placement) -> Table {
    let mut t = Table::new(
        "populations",
        &[
            "population",
            "neurons",
            "neurons per core",
            "cores",
            "cut in",
        ],
    );
    for pop in g.populations() {
        let ch: Vec<&Chunk> = p.chunks.iter().filter(|c| c.pop == pop).collect();
        let per = ch.iter().map(|c| c.len()).max().unwrap_or(0);
        let loc = p.location();
        let mut cores: Vec<(u32, u32)> = p
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.pop == pop)
            .map(|(k, _)| loc[k])
            .collect();
        cores.sort_unstable();
        cores.dedup();
        let order = if ch.iter().any(|c| c.order.is_some()) {
            "growth order"
        } else {
            "index order"
        };
        t.row(vec![
            g.label(pop),
            g.shape(pop).len().to_string(),
            per.to_string(),
            cores.len().to_string(),
            order.to_string(),
        ]);
    }
    t
}
