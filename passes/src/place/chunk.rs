//! Partitioning: each population is cut into chunks of consecutive neurons
//! (in index order, or in an order that keeps connected neurons together:
//! see [`Grow`]) that one core can hold under every limit at once, and each
//! chunk's resources are measured exactly from the synapses that reach it.

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, BinaryHeap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use snn_ir::chip::{ChipSpec, SynapseMemory};
use snn_ir::{Const, Delay, Graph, NodeId, Op, ParamValue, QuantKind, TensorId};

use crate::legalize::synapses::Synapses;

/// One incoming projection of a population, as the partitioner reads it.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub projection: NodeId,
    /// The node the spikes come from and its slot among the population's
    /// distinct sources (projections from one source share input axons).
    pub source: NodeId,
    pub source_slot: usize,
    pub source_size: u32,
    pub weights: TensorId,
    pub delay: Delay,
    pub weight_bits: u32,
    pub format: u64,
}

/// What one core-sized group of neurons needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    pub neurons: u32,
    /// Distinct presynaptic neurons (one input axon each).
    pub input_axons: u64,
    /// Synapses stored (nonzero weights).
    pub synapses: u64,
    /// Synapse memory in bits (Loihi: whole words; SENeCA: states too).
    pub memory_bits: u64,
    pub max_delay: u32,
    /// Output axons (source neuron × destination chunk), set once the
    /// chunks are known; 0 until then.
    pub output_axons: u64,
    pub compartment_profiles: BTreeSet<u64>,
    pub threshold_profiles: BTreeSet<u64>,
    pub synapse_formats: BTreeSet<u64>,
}

/// A chunk: positions `start..end` of population `pop`'s neuron order.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    pub pop: NodeId,
    pub start: u32,
    pub end: u32,
    pub res: Resources,
    /// The population's neurons in the order its chunks were cut from
    /// (position → neuron), shared by all its chunks; `None`: index order.
    pub order: Option<Arc<[u32]>>,
}

impl Chunk {
    /// Neurons in the chunk.
    pub fn len(&self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The neuron at position `pos` of the population's order.
    pub fn neuron(&self, pos: u32) -> u32 {
        self.order.as_ref().map_or(pos, |o| o[pos as usize])
    }

    /// The chunk's neurons (population indices), in position order.
    pub fn neurons(&self) -> impl Iterator<Item = u32> + '_ {
        (self.start..self.end).map(|p| self.neuron(p))
    }
}

/// Bits needed to write `n` (0 for 0).
pub fn bits_for(n: u64) -> u32 {
    64 - n.leading_zeros()
}

/// Bits of a delay field that holds delays up to `max`.
pub fn delay_bits(max: u32) -> u32 {
    bits_for(max as u64)
}

/// The projections into `pop`, with their sources numbered.
pub fn incoming(g: &Graph, pop: NodeId) -> Vec<Incoming> {
    let mut sources: Vec<NodeId> = Vec::new();
    let mut out = Vec::new();
    for p in g.args(pop) {
        let Op::Project(proj) = g.op(p) else { continue };
        let Some(src) = g.arg(p, 0) else { continue };
        let slot = match sources.iter().position(|&s| s == src) {
            Some(i) => i,
            None => {
                sources.push(src);
                sources.len() - 1
            }
        };
        let (weight_bits, format) = match g.quant(p).map(|q| q.kind) {
            Some(QuantKind::Loihi { bits, exp }) => {
                (bits as u32, ((bits as u64) << 8) | (exp as u8 as u64))
            }
            Some(QuantKind::Int { bits }) => (bits as u32, bits as u64),
            Some(QuantKind::AxonTypes { bits, .. }) => (bits as u32, bits as u64),
            Some(QuantKind::Bf16) => (16, 16),
            None => (8, 8),
        };
        out.push(Incoming {
            projection: p,
            source: src,
            source_slot: slot,
            source_size: g.shape(src).len(),
            weights: proj.weights,
            delay: proj.delay,
            weight_bits,
            format,
        });
    }
    out
}

fn key(values: &[f32]) -> u64 {
    let mut h = DefaultHasher::new();
    for v in values {
        v.to_bits().hash(&mut h);
    }
    h.finish()
}

/// A per-neuron view of a real parameter.
fn param(g: &Graph, c: Const, i: usize) -> f32 {
    match c {
        Const::Scalar(v) => v,
        Const::Tensor(t) => g
            .tensor(t)
            .f32s()
            .and_then(|v| v.get(i).copied())
            .unwrap_or(0.0),
    }
}

/// Compartment and threshold profile keys of neuron `i`.
fn profiles(g: &Graph, pop: NodeId, i: usize) -> (u64, u64) {
    let Op::Population(p) = g.op(pop) else {
        return (0, 0);
    };
    let mut decays = Vec::new();
    let mut threshold = Vec::new();
    for (name, v) in p.model.params() {
        match (name, v) {
            ("alpha_syn" | "alpha_mem" | "alpha" | "rho", ParamValue::Real(c)) => {
                decays.push(param(g, c, i))
            }
            ("refractory", ParamValue::Steps(s)) => decays.push(s as f32),
            ("threshold" | "b0", ParamValue::Real(c)) => threshold.push(param(g, c, i)),
            _ => {}
        }
    }
    decays.push(p.model.kind() as u8 as f32);
    (key(&decays), key(&threshold))
}

/// Measures the resources of neurons `rows` of `pop`. `counts` is scratch
/// space (one counter per source neuron, all zero on entry and on exit).
pub fn measure(
    g: &Graph,
    spec: &ChipSpec,
    pop: NodeId,
    inc: &[Incoming],
    rows: &[u32],
    counts: &mut [Vec<u32>],
) -> Resources {
    let n = rows.len() as u32;
    let mut r = Resources {
        neurons: n * compartments(g, spec, pop),
        ..Resources::default()
    };
    let mut touched: Vec<Vec<u32>> = vec![Vec::new(); counts.len()];
    for p in inc {
        r.synapse_formats.insert(p.format);
        let w = g.tensor(p.weights);
        let Some(values) = w.f32s() else { continue };
        let delays = match p.delay {
            Delay::Const(d) => {
                r.max_delay = r.max_delay.max(d);
                None
            }
            Delay::PerSynapse(t) => g.tensor(t).i32s(),
        };
        let counter = &mut counts[p.source_slot];
        let seen = &mut touched[p.source_slot];
        let mut hit = |col: u32, k: usize, r: &mut Resources| {
            if values[k] == 0.0 {
                return;
            }
            if let Some(d) = delays {
                r.max_delay = r.max_delay.max(d[k].max(0) as u32);
            }
            let c = &mut counter[col as usize];
            if *c == 0 {
                seen.push(col);
            }
            *c += 1;
            r.synapses += 1;
        };
        match w.pattern() {
            Some(pat) => {
                for &row in rows {
                    for k in pat.row(row as usize) {
                        hit(pat.col_idx[k], k, &mut r);
                    }
                }
            }
            None => {
                let cols = w.shape()[1] as usize;
                for &row in rows {
                    let row = row as usize;
                    for c in 0..cols {
                        hit(c as u32, row * cols + c, &mut r);
                    }
                }
            }
        }
    }
    // Per source neuron: one input axon, and its synapse list; a synapse
    // addresses a compartment (two an adaptive neuron on Loihi), as
    // `check` counts them.
    let index_bits = bits_for(r.neurons.saturating_sub(1) as u64).max(1);
    let delay_field = delay_bits(r.max_delay);
    for (slot, seen) in touched.iter().enumerate() {
        r.input_axons += seen.len() as u64;
        let wbits = inc
            .iter()
            .filter(|p| p.source_slot == slot)
            .map(|p| p.weight_bits)
            .max()
            .unwrap_or(8);
        for &col in seen {
            let c = std::mem::take(&mut counts[slot][col as usize]) as u64;
            r.memory_bits += match spec.synapses {
                SynapseMemory::Groups {
                    word_bits,
                    group,
                    header_bits,
                    ..
                } => {
                    let bits = c.div_ceil(group as u64) * header_bits as u64
                        + c * (wbits + delay_field + index_bits) as u64;
                    bits.div_ceil(word_bits as u64) * word_bits as u64
                }
                SynapseMemory::Shared { index_bits: ib, .. } => c * (wbits + ib) as u64,
                SynapseMemory::Crossbar => 0,
            };
        }
    }
    if let SynapseMemory::Shared { state_bits, .. } = spec.synapses {
        r.memory_bits += r.neurons as u64 * state_bits as u64;
    }
    if spec.profiles.is_some() {
        for &i in rows {
            let (c, t) = profiles(g, pop, i as usize);
            r.compartment_profiles.insert(c);
            r.threshold_profiles.insert(t);
        }
    }
    r
}

/// The capacity of one core, as limits on each resource.
#[derive(Clone, Copy, Debug)]
pub struct Capacity {
    pub neurons: u32,
    pub input_axons: u64,
    pub memory_bits: u64,
    pub compartment_profiles: usize,
    pub threshold_profiles: usize,
    pub synapse_formats: usize,
}

/// What one core can hold when its synapses have delays up to `max_delay`.
pub fn capacity(spec: &ChipSpec, max_delay: u32) -> Capacity {
    let memory_bits = match spec.synapses {
        SynapseMemory::Groups {
            words, word_bits, ..
        } => words as u64 * word_bits as u64,
        SynapseMemory::Shared { bits, .. } => bits,
        SynapseMemory::Crossbar => u64::MAX,
    };
    let (cp, tp, sf) = spec
        .profiles
        .map_or((usize::MAX, usize::MAX, usize::MAX), |p| {
            (
                p.compartment as usize,
                p.threshold as usize,
                p.synapse_formats as usize,
            )
        });
    Capacity {
        neurons: spec.neurons_with_delay_bits(delay_bits(max_delay)),
        input_axons: spec.input_axons_per_core as u64,
        memory_bits,
        compartment_profiles: cp,
        threshold_profiles: tp,
        synapse_formats: sf,
    }
}

/// The first resource of `r` over `cap`: (name, used, limit).
pub fn overflow(r: &Resources, cap: &Capacity) -> Option<(&'static str, u64, u64)> {
    let checks: [(&'static str, u64, u64); 6] = [
        ("neurons", r.neurons as u64, cap.neurons as u64),
        ("input axons", r.input_axons, cap.input_axons),
        ("synapse memory (bits)", r.memory_bits, cap.memory_bits),
        (
            "compartment profiles",
            r.compartment_profiles.len() as u64,
            cap.compartment_profiles as u64,
        ),
        (
            "threshold profiles",
            r.threshold_profiles.len() as u64,
            cap.threshold_profiles as u64,
        ),
        (
            "synapse formats",
            r.synapse_formats.len() as u64,
            cap.synapse_formats as u64,
        ),
    ];
    checks.into_iter().find(|(_, used, limit)| used > limit)
}

/// Compartments one neuron of `pop` takes on `spec`'s cores.
pub fn compartments(g: &Graph, spec: &ChipSpec, pop: NodeId) -> u32 {
    match g.op(pop) {
        Op::Population(p) if p.model.kind() == snn_ir::ModelKind::Alif => {
            spec.adaptive_compartments.max(1)
        }
        _ => 1,
    }
}

/// Bits one source neuron's synapse list takes: `count` synapses of
/// `wbits`-bit weights with `delay_field`-bit delays and `index_bits`-bit
/// target indices.
fn list_bits(spec: &ChipSpec, count: u64, wbits: u32, delay_field: u32, index_bits: u32) -> u64 {
    match spec.synapses {
        SynapseMemory::Groups {
            word_bits,
            group,
            header_bits,
            ..
        } => {
            let bits = count.div_ceil(group as u64) * header_bits as u64
                + count * (wbits + delay_field + index_bits) as u64;
            bits.div_ceil(word_bits as u64) * word_bits as u64
        }
        SynapseMemory::Shared { index_bits: ib, .. } => count * (wbits + ib) as u64,
        SynapseMemory::Crossbar => 0,
    }
}

/// The running resources of a chunk as neurons are added one by one.
struct Filling {
    /// Synapses per source neuron, by source slot (zero outside the chunk).
    counts: Vec<Vec<u32>>,
    /// Source neurons with a nonzero count, in order of first use.
    touched: Vec<(u32, u32)>,
    /// Widest weight per source slot.
    wbits: Vec<u32>,
    res: Resources,
    /// Memory with the current field widths.
    index_bits: u32,
    delay_field: u32,
}

impl Filling {
    fn recount_memory(&mut self, spec: &ChipSpec) {
        let mut m = 0;
        for &(slot, col) in &self.touched {
            let c = self.counts[slot as usize][col as usize] as u64;
            m += list_bits(
                spec,
                c,
                self.wbits[slot as usize],
                self.delay_field,
                self.index_bits,
            );
        }
        if let SynapseMemory::Shared { state_bits, .. } = spec.synapses {
            m += self.res.neurons as u64 * state_bits as u64;
        }
        self.res.memory_bits = m;
    }

    fn clear(&mut self) {
        for &(slot, col) in &self.touched {
            self.counts[slot as usize][col as usize] = 0;
        }
        self.touched.clear();
        self.res = Resources::default();
        self.index_bits = 1;
        self.delay_field = 0;
    }
}

/// Cuts `pop` into chunks of consecutive neurons, each as large as one core
/// holds: neurons are added one at a time while every resource still fits
/// (memory kept up to date incrementally, so the whole population costs one
/// pass over its synapses). `Err` with the single-neuron overflow if even
/// one neuron does not fit.
pub fn partition(
    g: &Graph,
    spec: &ChipSpec,
    pop: NodeId,
) -> Result<Vec<Chunk>, (&'static str, u64, u64)> {
    partition_capped(g, spec, pop, u32::MAX)
}

/// [`partition`] with at most `cap` neurons per chunk.
pub fn partition_capped(
    g: &Graph,
    spec: &ChipSpec,
    pop: NodeId,
    cap: u32,
) -> Result<Vec<Chunk>, (&'static str, u64, u64)> {
    partition_with(g, spec, pop, cap, InOrder(0))
}

/// The order in which [`partition_with`] offers a population's neurons.
pub trait NeuronOrder {
    /// The neuron to try next (the same one until [`NeuronOrder::take`]).
    fn peek(&mut self) -> u32;
    /// The peeked neuron joined the current chunk.
    fn take(&mut self);
    /// The current chunk is full; the next one starts with the peeked
    /// neuron.
    fn close(&mut self);
    /// Every neuron in the order taken, unless that is the index order.
    fn finish(self) -> Option<Vec<u32>>;
    /// Goes back to position `pos` (the neurons from it on are offered
    /// again); `false` if this order cannot.
    fn seek(&mut self, pos: u32) -> bool;
}

/// Index order.
pub struct InOrder(pub u32);

impl NeuronOrder for InOrder {
    fn peek(&mut self) -> u32 {
        self.0
    }
    fn take(&mut self) {
        self.0 += 1;
    }
    fn close(&mut self) {}
    fn finish(self) -> Option<Vec<u32>> {
        None
    }
    fn seek(&mut self, pos: u32) -> bool {
        self.0 = pos;
        true
    }
}

/// Greedy growth: each chunk takes next the neuron with the most synapses
/// (in either direction, within the population) to the neurons already in
/// it, the lowest index among equals, and starts from the lowest index not
/// yet taken. Neurons that exchange spikes then share a core, so their
/// spikes need not leave it, whatever their indices.
pub struct Grow {
    adj_ptr: Vec<usize>,
    adj: Vec<u32>,
    taken: Vec<bool>,
    order: Vec<u32>,
    /// Synapses to the current chunk, for the neurons in `touched`.
    score: Vec<u32>,
    touched: Vec<u32>,
    heap: BinaryHeap<(u32, Reverse<u32>)>,
    cursor: u32,
    pending: Option<u32>,
}

impl Grow {
    /// The growth order of `pop` from its own projections (`pop → pop`),
    /// or `None` when they have no synapse.
    pub fn new(g: &Graph, pop: NodeId) -> Option<Grow> {
        let n = g.shape(pop).len() as usize;
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for p in incoming(g, pop).iter().filter(|p| p.source == pop) {
            let Some(syn) = Synapses::of(g.tensor(p.weights)) else {
                continue;
            };
            for row in 0..syn.rows {
                for k in syn.row(row) {
                    let col = syn.col(row, k);
                    if syn.weights[k] != 0.0 && col as usize != row {
                        edges.push((row as u32, col));
                    }
                }
            }
        }
        if edges.is_empty() {
            return None;
        }
        let mut adj_ptr = vec![0usize; n + 1];
        for &(a, b) in &edges {
            adj_ptr[a as usize + 1] += 1;
            adj_ptr[b as usize + 1] += 1;
        }
        for i in 0..n {
            adj_ptr[i + 1] += adj_ptr[i];
        }
        let mut fill = adj_ptr.clone();
        let mut adj = vec![0u32; adj_ptr[n]];
        for &(a, b) in &edges {
            adj[fill[a as usize]] = b;
            fill[a as usize] += 1;
            adj[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        Some(Grow {
            adj_ptr,
            adj,
            taken: vec![false; n],
            order: Vec::with_capacity(n),
            score: vec![0; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            cursor: 0,
            pending: None,
        })
    }
}

impl NeuronOrder for Grow {
    fn peek(&mut self) -> u32 {
        if let Some(v) = self.pending {
            return v;
        }
        while let Some((s, Reverse(v))) = self.heap.pop() {
            if !self.taken[v as usize] && self.score[v as usize] == s {
                self.pending = Some(v);
                return v;
            }
        }
        while self.taken[self.cursor as usize] {
            self.cursor += 1;
        }
        self.pending = Some(self.cursor);
        self.cursor
    }

    fn take(&mut self) {
        let v = self.peek();
        self.pending = None;
        self.taken[v as usize] = true;
        self.order.push(v);
        let (a, b) = (self.adj_ptr[v as usize], self.adj_ptr[v as usize + 1]);
        for &u in &self.adj[a..b] {
            if self.taken[u as usize] {
                continue;
            }
            let s = &mut self.score[u as usize];
            if *s == 0 {
                self.touched.push(u);
            }
            *s += 1;
            self.heap.push((*s, Reverse(u)));
        }
    }

    fn close(&mut self) {
        for u in self.touched.drain(..) {
            self.score[u as usize] = 0;
        }
        self.heap.clear();
    }

    fn finish(self) -> Option<Vec<u32>> {
        Some(self.order)
    }

    fn seek(&mut self, _pos: u32) -> bool {
        false
    }
}

/// Where a chunk of `pop` may start (`ok[i]`: before position `i`), when
/// some of its neurons must share a core: on a chip where a neuron has one
/// destination, all the targets a source neuron reaches in `pop` are that
/// destination, so no cut may fall between the first and the last of them
/// (`legalize` gives such chips relay copies per target block, each
/// reaching consecutive neurons). Inputs come from the host, which sends to
/// any number of cores, and constrain nothing. `None`: anywhere.
pub fn cut_points(g: &Graph, spec: &ChipSpec, pop: NodeId) -> Option<Vec<bool>> {
    if !spec.single_destination {
        return None;
    }
    let n = g.shape(pop).len() as usize;
    // Per source slot and neuron: the first and last row it reaches.
    let mut span: std::collections::HashMap<(usize, u32), (usize, usize)> = Default::default();
    for p in incoming(g, pop) {
        if !matches!(g.op(p.source), Op::Population(_)) {
            continue;
        }
        let Some(s) = Synapses::of(g.tensor(p.weights)) else {
            continue;
        };
        for r in 0..s.rows.min(n) {
            for k in s.row(r) {
                if s.weights[k] != 0.0 {
                    let e = span.entry((p.source_slot, s.col(r, k))).or_insert((r, r));
                    e.0 = e.0.min(r);
                    e.1 = e.1.max(r);
                }
            }
        }
    }
    if span.is_empty() {
        return None;
    }
    // A cut before row i is forbidden when some source spans i − 1 and i.
    let mut inside = vec![0i64; n + 2];
    for &(lo, hi) in span.values() {
        if hi > lo {
            inside[lo + 1] += 1;
            inside[hi + 1] -= 1;
        }
    }
    let mut depth = 0i64;
    let ok: Vec<bool> = (0..=n)
        .map(|i| {
            depth += inside[i];
            i == 0 || i == n || depth == 0
        })
        .collect();
    Some(ok)
}

/// [`partition_capped`] taking the neurons in `order`: chunks are ranges of
/// positions in that order.
pub fn partition_with<O: NeuronOrder>(
    g: &Graph,
    spec: &ChipSpec,
    pop: NodeId,
    cap: u32,
    mut order: O,
) -> Result<Vec<Chunk>, (&'static str, u64, u64)> {
    let size = g.shape(pop).len();
    let per_neuron = compartments(g, spec, pop);
    let inc = incoming(g, pop);
    let slots = inc.iter().map(|p| p.source_slot).max().map_or(0, |m| m + 1);
    let sizes: Vec<u32> = (0..slots)
        .map(|s| {
            inc.iter()
                .find(|p| p.source_slot == s)
                .map_or(0, |p| p.source_size)
        })
        .collect();
    let wbits: Vec<u32> = (0..slots)
        .map(|s| {
            inc.iter()
                .filter(|p| p.source_slot == s)
                .map(|p| p.weight_bits)
                .max()
                .unwrap_or(8)
        })
        .collect();
    // Per projection: values, sparsity, delays.
    struct View<'a> {
        slot: usize,
        values: &'a [f32],
        pattern: Option<&'a snn_ir::tensor::SparsePattern>,
        cols: usize,
        delays: Option<&'a [i32]>,
        constant_delay: u32,
    }
    let views: Vec<View> = inc
        .iter()
        .filter_map(|p| {
            let w = g.tensor(p.weights);
            let values = w.f32s()?;
            let (delays, constant_delay) = match p.delay {
                Delay::Const(d) => (None, d),
                Delay::PerSynapse(t) => (g.tensor(t).i32s(), 0),
            };
            Some(View {
                slot: p.source_slot,
                values,
                pattern: w.pattern().map(|p| &**p),
                cols: w.shape().get(1).copied().unwrap_or(0) as usize,
                delays,
                constant_delay,
            })
        })
        .collect();
    let formats: BTreeSet<u64> = inc.iter().map(|p| p.format).collect();
    let constant_delay = views.iter().map(|v| v.constant_delay).max().unwrap_or(0);
    let mut f = Filling {
        counts: sizes.iter().map(|&n| vec![0u32; n as usize]).collect(),
        touched: Vec::new(),
        wbits,
        res: Resources::default(),
        index_bits: 1,
        delay_field: 0,
    };
    let fresh = |f: &mut Filling| {
        f.clear();
        f.res.synapse_formats = formats.clone();
        f.res.max_delay = constant_delay;
        f.delay_field = delay_bits(constant_delay);
    };
    fresh(&mut f);
    // Ends the chunk at neuron `end` and starts an empty one there.
    let close = |chunks: &mut Vec<Chunk>, f: &mut Filling, start: &mut u32, end: u32| {
        chunks.push(Chunk {
            pop,
            start: *start,
            end,
            res: std::mem::take(&mut f.res),
            order: None,
        });
        *start = end;
        fresh(f);
    };
    let cuts = cut_points(g, spec, pop);
    let mut chunks = Vec::new();
    let mut start = 0u32;
    let mut i = 0u32;
    // A chunk that had to end inside a group of neurons that share a core
    // is redone up to the group's start, then ends there.
    let mut forced: Option<u32> = None;
    while i < size {
        if i - start == cap || forced == Some(i) {
            close(&mut chunks, &mut f, &mut start, i);
            order.close();
            forced = None;
        }
        let neuron = order.peek();
        let mark = f.touched.len();
        let before = (
            f.res.synapses,
            f.res.memory_bits,
            f.res.max_delay,
            f.delay_field,
            f.index_bits,
        );
        let (cp, tp) = if spec.profiles.is_some() {
            profiles(g, pop, neuron as usize)
        } else {
            (0, 0)
        };
        let new_cp = spec.profiles.is_some() && f.res.compartment_profiles.insert(cp);
        let new_tp = spec.profiles.is_some() && f.res.threshold_profiles.insert(tp);
        f.res.neurons += per_neuron;
        // Field widths for the grown chunk; a change re-prices every list.
        let mut widths_changed = false;
        let ib = bits_for(f.res.neurons.saturating_sub(1) as u64).max(1);
        if ib != f.index_bits {
            f.index_bits = ib;
            widths_changed = true;
        }
        let row = neuron as usize;
        let mut delta: i64 = 0;
        for v in &views {
            let add = |col: u32, k: usize, f: &mut Filling, delta: &mut i64, changed: &mut bool| {
                if v.values[k] == 0.0 {
                    return;
                }
                if let Some(d) = v.delays {
                    let d = d[k].max(0) as u32;
                    if d > f.res.max_delay {
                        f.res.max_delay = d;
                        let db = delay_bits(d);
                        if db != f.delay_field {
                            f.delay_field = db;
                            *changed = true;
                        }
                    }
                }
                let c = &mut f.counts[v.slot][col as usize];
                if *c == 0 {
                    f.touched.push((v.slot as u32, col));
                }
                let old = *c as u64;
                *c += 1;
                f.res.synapses += 1;
                if !*changed {
                    let wb = f.wbits[v.slot];
                    *delta += list_bits(spec, old + 1, wb, f.delay_field, f.index_bits) as i64
                        - list_bits(spec, old, wb, f.delay_field, f.index_bits) as i64;
                }
            };
            match v.pattern {
                Some(pat) => {
                    for k in pat.row(row) {
                        add(pat.col_idx[k], k, &mut f, &mut delta, &mut widths_changed);
                    }
                }
                None => {
                    for c in 0..v.cols {
                        add(
                            c as u32,
                            row * v.cols + c,
                            &mut f,
                            &mut delta,
                            &mut widths_changed,
                        );
                    }
                }
            }
        }
        if widths_changed {
            f.recount_memory(spec);
        } else {
            f.res.memory_bits = (f.res.memory_bits as i64 + delta) as u64;
            if let SynapseMemory::Shared { state_bits, .. } = spec.synapses {
                f.res.memory_bits += state_bits as u64;
            }
        }
        f.res.input_axons = f.touched.len() as u64;
        match overflow(&f.res, &capacity(spec, f.res.max_delay)) {
            None => {
                i += 1;
                order.take();
            }
            // One neuron (its compartments) alone does not fit.
            Some(o) if f.res.neurons == per_neuron => return Err(o),
            Some(_) => {
                // Take neuron `i` back out and close the chunk before it.
                for v in &views {
                    let mut sub = |col: u32, k: usize| {
                        if v.values[k] != 0.0 {
                            f.counts[v.slot][col as usize] -= 1;
                        }
                    };
                    match v.pattern {
                        Some(pat) => pat.row(row).for_each(|k| sub(pat.col_idx[k], k)),
                        None => (0..v.cols).for_each(|c| sub(c as u32, row * v.cols + c)),
                    }
                }
                f.touched.truncate(mark);
                f.res.neurons -= per_neuron;
                if new_cp {
                    f.res.compartment_profiles.remove(&cp);
                }
                if new_tp {
                    f.res.threshold_profiles.remove(&tp);
                }
                (
                    f.res.synapses,
                    f.res.memory_bits,
                    f.res.max_delay,
                    f.delay_field,
                    f.index_bits,
                ) = before;
                f.res.input_axons = f.touched.len() as u64;
                let back = cuts.as_ref().and_then(|ok| {
                    if ok[i as usize] {
                        return None;
                    }
                    (start + 1..i).rev().find(|&b| ok[b as usize])
                });
                match back {
                    Some(b) if order.seek(start) => {
                        fresh(&mut f);
                        i = start;
                        forced = Some(b);
                    }
                    _ => {
                        close(&mut chunks, &mut f, &mut start, i);
                        order.close();
                    }
                }
            }
        }
    }
    if size > start {
        chunks.push(Chunk {
            pop,
            start,
            end: size,
            res: std::mem::take(&mut f.res),
            order: None,
        });
    }
    let shared: Option<Arc<[u32]>> = order.finish().map(Arc::from);
    for c in &mut chunks {
        c.order = shared.clone();
    }
    Ok(chunks)
}
