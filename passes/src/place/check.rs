//! The independent placement checker. It recounts, from the graph and the
//! placement alone, everything each core holds and refuses a placement that
//! breaks any limit of the chip. It shares no counting code with the
//! partitioner: a bug in one shows up as a disagreement with the other.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;
use snn_ir::chip::{ChipSpec, SynapseMemory};
use snn_ir::{Const, Delay, Graph, NodeId, Op, ParamValue, QuantKind};

use super::{Placement, is_li};
use crate::legalize::synapses::Synapses;

/// Per-core use of each resource: (resource, use per core, limit).
pub type Usage = Vec<(String, Vec<u64>, u64)>;

/// What one core holds, summed up.
struct CoreSummary {
    neurons: u64,
    input_axons: u64,
    memory_bits: u64,
    max_delay: u32,
    decay_profiles: u64,
    threshold_profiles: u64,
    formats: u64,
}

struct CoreCount {
    neurons: u64,
    sources: HashMap<(NodeId, u32), (u64, u32)>,
    max_delay: u32,
    decay_profiles: BTreeSet<Vec<u32>>,
    threshold_profiles: BTreeSet<Vec<u32>>,
    formats: BTreeSet<(u32, i32)>,
}

fn value(g: &Graph, c: Const, i: usize) -> u32 {
    match c {
        Const::Scalar(v) => v.to_bits(),
        Const::Tensor(t) => g.tensor(t).f32s().map_or(0, |v| v[i].to_bits()),
    }
}

/// Memory and counts of one core from its full list of sources.
fn summarize(spec: &ChipSpec, cc: &CoreCount) -> CoreSummary {
    let index_bits = (64 - cc.neurons.saturating_sub(1).leading_zeros()).max(1);
    let delay_bits = 32 - cc.max_delay.leading_zeros();
    let mut bits = 0u64;
    for &(n, wbits) in cc.sources.values() {
        bits += match spec.synapses {
            SynapseMemory::Groups {
                word_bits,
                group,
                header_bits,
                ..
            } => {
                let raw = n.div_ceil(group as u64) * header_bits as u64
                    + n * (wbits + delay_bits + index_bits) as u64;
                raw.div_ceil(word_bits as u64) * word_bits as u64
            }
            SynapseMemory::Shared { index_bits: ib, .. } => n * (wbits + ib) as u64,
            SynapseMemory::Crossbar => 0,
        };
    }
    if let SynapseMemory::Shared { state_bits, .. } = spec.synapses {
        bits += cc.neurons * state_bits as u64;
    }
    CoreSummary {
        neurons: cc.neurons,
        input_axons: cc.sources.len() as u64,
        memory_bits: bits,
        max_delay: cc.max_delay,
        decay_profiles: cc.decay_profiles.len() as u64,
        threshold_profiles: cc.threshold_profiles.len() as u64,
        formats: cc.formats.len() as u64,
    }
}

/// Where spikes carry no value: every synapse from a leaky integrator
/// (which sends its voltage) must join two neurons on one core.
fn values_between_cores(
    g: &Graph,
    spec: &ChipSpec,
    core_of: &HashMap<NodeId, Vec<u32>>,
) -> Vec<String> {
    let mut errors = Vec::new();
    for pop in g.populations().into_iter().filter(|&p| is_li(g, p)) {
        for (proj, _) in g.users(pop) {
            let Op::Project(pr) = g.op(proj) else {
                continue;
            };
            let Some(&(target, _)) = g.users(proj).first() else {
                continue;
            };
            let (Some(from), Some(to), Some(syn)) = (
                core_of.get(&pop),
                core_of.get(&target),
                Synapses::of(g.tensor(pr.weights)),
            ) else {
                continue;
            };
            let far = (0..syn.rows).find_map(|r| {
                syn.row(r)
                    .map(|k| (k, syn.col(r, k) as usize))
                    .find(|&(k, c)| syn.weights[k] != 0.0 && from[c] != to[r])
                    .map(|(_, c)| (r, c))
            });
            if let Some((r, c)) = far {
                errors.push(format!(
                    "neuron {c} of {} sends its voltage to neuron {r} of {} on another core; {} spikes carry no value",
                    g.label(pop),
                    g.label(target),
                    spec.name
                ));
            }
        }
    }
    errors
}

/// Checks `p`; returns the usage per core, or every violation found.
pub fn check(g: &Graph, spec: &ChipSpec, p: &Placement) -> Result<Usage, Vec<String>> {
    let mut errors = Vec::new();
    // Every neuron placed exactly once.
    for pop in g.populations() {
        let size = g.shape(pop).len();
        let mut covered = vec![0u8; size as usize];
        for c in p.chunks.iter().filter(|c| c.pop == pop) {
            for i in c.neurons() {
                covered[i as usize] += 1;
            }
        }
        if let Some(i) = covered.iter().position(|&n| n != 1) {
            errors.push(format!(
                "neuron {i} of {} is placed {} times",
                g.label(pop),
                covered[i]
            ));
        }
    }
    // Where each neuron is.
    let mut core_of: HashMap<NodeId, Vec<u32>> = HashMap::new();
    for (ci, core) in p.cores.iter().enumerate() {
        for &k in &core.chunks {
            let c = &p.chunks[k];
            let v = core_of
                .entry(c.pop)
                .or_insert_with(|| vec![u32::MAX; g.shape(c.pop).len() as usize]);
            for i in c.neurons() {
                v[i as usize] = ci as u32;
            }
        }
    }
    if !spec.graded_spikes {
        errors.extend(values_between_cores(g, spec, &core_of));
    }
    // Output axons: one per (source neuron, destination core), counted as
    // each core's distinct sources are found so that no core's source list
    // outlives its own count.
    let out_axons: HashMap<NodeId, Vec<AtomicU32>> = g
        .populations()
        .into_iter()
        .map(|pop| {
            (
                pop,
                (0..g.shape(pop).len()).map(|_| AtomicU32::new(0)).collect(),
            )
        })
        .collect();
    let counts: Vec<CoreSummary> = p
        .cores
        .par_iter()
        .map(|core| {
            let mut cc = CoreCount {
                neurons: 0,
                sources: HashMap::new(),
                max_delay: 0,
                decay_profiles: BTreeSet::new(),
                threshold_profiles: BTreeSet::new(),
                formats: BTreeSet::new(),
            };
            for &k in &core.chunks {
                let c = &p.chunks[k];
                // An adaptive neuron is two compartments where the chip
                // builds it from two (Loihi).
                let per = match g.op(c.pop) {
                    Op::Population(p) if p.model.kind() == snn_ir::ModelKind::Alif => {
                        spec.adaptive_compartments.max(1)
                    }
                    _ => 1,
                };
                cc.neurons += c.len() as u64 * per as u64;
                let Op::Population(pop) = g.op(c.pop) else {
                    continue;
                };
                for i in c.neurons().map(|i| i as usize) {
                    let mut decay = vec![pop.model.kind() as u32];
                    let mut thr = Vec::new();
                    for (name, v) in pop.model.params() {
                        match (name, v) {
                            ("alpha_syn" | "alpha_mem" | "alpha" | "rho", ParamValue::Real(x)) => {
                                decay.push(value(g, x, i))
                            }
                            ("refractory", ParamValue::Steps(s)) => decay.push(s),
                            ("threshold" | "b0", ParamValue::Real(x)) => thr.push(value(g, x, i)),
                            _ => {}
                        }
                    }
                    cc.decay_profiles.insert(decay);
                    cc.threshold_profiles.insert(thr);
                }
                for proj in g.args(c.pop) {
                    let Op::Project(pr) = g.op(proj) else {
                        continue;
                    };
                    let Some(src) = g.arg(proj, 0) else { continue };
                    let (bits, exp) = match g.quant(proj).map(|q| q.kind) {
                        Some(QuantKind::Loihi { bits, exp }) => (bits as u32, exp as i32),
                        Some(QuantKind::Int { bits }) | Some(QuantKind::AxonTypes { bits, .. }) => {
                            (bits as u32, 0)
                        }
                        Some(QuantKind::Bf16) => (16, 0),
                        None => (8, 0),
                    };
                    cc.formats.insert((bits, exp));
                    let w = g.tensor(pr.weights);
                    let Some(vals) = w.f32s() else { continue };
                    let delays = match pr.delay {
                        Delay::Const(d) => {
                            cc.max_delay = cc.max_delay.max(d);
                            None
                        }
                        Delay::PerSynapse(t) => g.tensor(t).i32s(),
                    };
                    let mut add = |col: u32, k: usize| {
                        if vals[k] == 0.0 {
                            return;
                        }
                        if let Some(d) = delays {
                            cc.max_delay = cc.max_delay.max(d[k].max(0) as u32);
                        }
                        let e = cc.sources.entry((src, col)).or_insert((0, 0));
                        e.0 += 1;
                        e.1 = e.1.max(bits);
                    };
                    match w.pattern() {
                        Some(pat) => {
                            for row in c.neurons() {
                                for k in pat.row(row as usize) {
                                    add(pat.col_idx[k], k);
                                }
                            }
                        }
                        None => {
                            let cols = w.shape()[1] as usize;
                            for row in c.neurons().map(|r| r as usize) {
                                for col in 0..cols {
                                    add(col as u32, row * cols + col);
                                }
                            }
                        }
                    }
                }
            }
            for &(src, i) in cc.sources.keys() {
                if let Some(v) = out_axons.get(&src) {
                    v[i as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
            summarize(spec, &cc)
        })
        .collect();
    let out_axons: HashMap<NodeId, Vec<u32>> = out_axons
        .into_iter()
        .map(|(pop, v)| (pop, v.into_iter().map(AtomicU32::into_inner).collect()))
        .collect();
    if spec.single_destination {
        let mut pops: Vec<&NodeId> = out_axons.keys().collect();
        pops.sort_unstable();
        for pop in pops {
            let v = &out_axons[pop];
            if let Some(i) = v.iter().position(|&n| n > 1) {
                errors.push(format!(
                    "neuron {i} of {} sends to {} cores; a {} neuron has one destination",
                    g.label(*pop),
                    v[i],
                    spec.name
                ));
            }
        }
    }
    let mut usage: Usage = Vec::new();
    let mut neurons = Vec::new();
    let mut axons = Vec::new();
    let mut memory = Vec::new();
    let mut outs = Vec::new();
    let mut decay_p = Vec::new();
    let mut thr_p = Vec::new();
    let mut formats = Vec::new();
    for (ci, cc) in counts.iter().enumerate() {
        let bits = cc.memory_bits;
        let delay_bits = 32 - cc.max_delay.leading_zeros();
        let out: u64 = p.cores[ci]
            .chunks
            .iter()
            .map(|&k| {
                let c = &p.chunks[k];
                out_axons
                    .get(&c.pop)
                    .map_or(0, |v| c.neurons().map(|i| v[i as usize] as u64).sum())
            })
            .sum();
        let neuron_cap = spec.neurons_with_delay_bits(delay_bits) as u64;
        let mem_cap = match spec.synapses {
            SynapseMemory::Groups {
                words, word_bits, ..
            } => words as u64 * word_bits as u64,
            SynapseMemory::Shared { bits, .. } => bits,
            SynapseMemory::Crossbar => u64::MAX,
        };
        let name = format!("chip {} core {}", p.cores[ci].chip, p.cores[ci].core);
        let mut limit = |what: &str, used: u64, cap: u64| {
            if used > cap {
                errors.push(format!("{name}: {what} {used} > {cap}"));
            }
        };
        limit("neurons", cc.neurons, neuron_cap);
        limit(
            "input axons",
            cc.input_axons,
            spec.input_axons_per_core as u64,
        );
        limit("synapse memory (bits)", bits, mem_cap);
        limit("output axons", out, spec.output_axons_per_core as u64);
        if let Some(pl) = spec.profiles {
            limit(
                "compartment profiles",
                cc.decay_profiles,
                pl.compartment as u64,
            );
            limit(
                "threshold profiles",
                cc.threshold_profiles,
                pl.threshold as u64,
            );
            limit("synapse formats", cc.formats, pl.synapse_formats as u64);
        }
        neurons.push(cc.neurons);
        axons.push(cc.input_axons);
        memory.push(bits);
        outs.push(out);
        decay_p.push(cc.decay_profiles);
        thr_p.push(cc.threshold_profiles);
        formats.push(cc.formats);
    }
    // Cores per chip and chips.
    let mut per_chip: HashMap<u32, u32> = HashMap::new();
    for c in &p.cores {
        *per_chip.entry(c.chip).or_default() += 1;
        if c.chip >= p.chips_available {
            errors.push(format!(
                "core on chip {} of a {}-chip system",
                c.chip, p.chips_available
            ));
        }
    }
    for (chip, n) in per_chip {
        if n > spec.cores_per_chip {
            errors.push(format!(
                "chip {chip} has {n} cores, more than {}",
                spec.cores_per_chip
            ));
        }
    }
    if !errors.is_empty() {
        errors.sort();
        return Err(errors);
    }
    let neuron_cap = spec.neurons_per_core as u64;
    usage.push(("neurons".into(), neurons, neuron_cap));
    usage.push((
        "input axons".into(),
        axons,
        spec.input_axons_per_core as u64,
    ));
    usage.push((
        "output axons".into(),
        outs,
        spec.output_axons_per_core as u64,
    ));
    let mem_cap = match spec.synapses {
        SynapseMemory::Groups {
            words, word_bits, ..
        } => words as u64 * word_bits as u64,
        SynapseMemory::Shared { bits, .. } => bits,
        SynapseMemory::Crossbar => u64::MAX,
    };
    if mem_cap != u64::MAX {
        usage.push(("synapse memory (bits)".into(), memory, mem_cap));
    }
    if let Some(pl) = spec.profiles {
        usage.push((
            "compartment profiles".into(),
            decay_p,
            pl.compartment as u64,
        ));
        usage.push(("threshold profiles".into(), thr_p, pl.threshold as u64));
        usage.push(("synapse formats".into(), formats, pl.synapse_formats as u64));
    }
    Ok(usage)
}
