//! The chip-neutral shape of a placed network: which neurons each core
//! holds, which source neurons reach it (one input axon each), the
//! synapses behind every axon, and where every neuron's spikes are routed.
//! Every backend's emitter starts from this and writes it in its chip's
//! own terms.

use std::collections::HashMap;

use rayon::prelude::*;
use snn_ir::{Delay, Graph, NodeId, Op};
use snn_passes::place::Placement;

/// Where a spike comes from: an external input channel or a neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Column `index` of input node `input`.
    Input { input: NodeId, index: u32 },
    /// Neuron `index` of population `pop`.
    Neuron { pop: NodeId, index: u32 },
}

/// One synapse behind an axon.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Synapse {
    /// Index of the target neuron among the core's neurons.
    pub target: u32,
    /// Which of the target population's input currents it feeds (its
    /// operand slot in the graph: dendrites for multi-input models).
    pub port: u32,
    /// The projection it comes from.
    pub projection: NodeId,
    /// The weight as the graph holds it after quantization.
    pub weight: f32,
    /// Delay in steps.
    pub delay: u32,
}

/// One input axon of a core: a source neuron and its synapses here.
#[derive(Clone, Debug, PartialEq)]
pub struct Axon {
    pub source: Source,
    pub synapses: Vec<Synapse>,
}

/// One core.
#[derive(Clone, Debug, PartialEq)]
pub struct CoreLayout {
    pub chip: u32,
    pub core: u32,
    /// The neurons, in order: `(population, index in the population)`.
    pub neurons: Vec<(NodeId, u32)>,
    /// Input axons, sorted by source.
    pub axons: Vec<Axon>,
}

/// A route: spikes of a source go to axon `axon` of `(chip, core)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub chip: u32,
    pub core: u32,
    pub axon: u32,
}

/// The placed network.
#[derive(Clone, Debug)]
pub struct Layout {
    pub cores: Vec<CoreLayout>,
    /// Where each source's spikes go, sorted by source.
    pub routes: Vec<(Source, Vec<Route>)>,
    /// `(chip, core, neuron index on the core)` of every neuron.
    pub home: HashMap<NodeId, Vec<(u32, u32, u32)>>,
}

impl Layout {
    /// The routes of `s` (none if it drives nothing).
    pub fn routes_of(&self, s: Source) -> &[Route] {
        match self.routes.binary_search_by(|(k, _)| k.cmp(&s)) {
            Ok(i) => &self.routes[i].1,
            Err(_) => &[],
        }
    }
}

/// Builds the layout of `g` placed by `p`.
pub fn layout(g: &Graph, p: &Placement) -> Layout {
    // Where every neuron lives.
    let mut home: HashMap<NodeId, Vec<(u32, u32, u32)>> = HashMap::new();
    let mut per_core_neurons: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); p.cores.len()];
    for (ci, core) in p.cores.iter().enumerate() {
        for &k in &core.chunks {
            let c = &p.chunks[k];
            let slots = home.entry(c.pop).or_insert_with(|| {
                vec![(u32::MAX, u32::MAX, u32::MAX); g.shape(c.pop).len() as usize]
            });
            for i in c.neurons() {
                slots[i as usize] = (core.chip, core.core, per_core_neurons[ci].len() as u32);
                per_core_neurons[ci].push((c.pop, i));
            }
        }
    }
    // Each core's axons and synapses.
    let cores: Vec<CoreLayout> = p
        .cores
        .par_iter()
        .zip(per_core_neurons)
        .map(|(core, neurons)| {
            let mut by_source: HashMap<Source, Vec<Synapse>> = HashMap::new();
            for (local, &(pop, i)) in neurons.iter().enumerate() {
                for (port, proj) in g.args(pop).into_iter().enumerate() {
                    let Op::Project(pr) = g.op(proj) else {
                        continue;
                    };
                    let Some(src) = g.arg(proj, 0) else { continue };
                    let source = |col: u32| match g.op(src) {
                        Op::Population(_) => Source::Neuron {
                            pop: src,
                            index: col,
                        },
                        _ => Source::Input {
                            input: src,
                            index: col,
                        },
                    };
                    let w = g.tensor(pr.weights);
                    let Some(values) = w.f32s() else { continue };
                    let delays = match pr.delay {
                        Delay::PerSynapse(t) => g.tensor(t).i32s(),
                        Delay::Const(_) => None,
                    };
                    let constant = match pr.delay {
                        Delay::Const(d) => d,
                        Delay::PerSynapse(_) => 0,
                    };
                    let mut push = |col: u32, k: usize| {
                        if values[k] == 0.0 {
                            return;
                        }
                        by_source.entry(source(col)).or_default().push(Synapse {
                            target: local as u32,
                            port: port as u32,
                            projection: proj,
                            weight: values[k],
                            delay: delays.map_or(constant, |d| d[k].max(0) as u32),
                        });
                    };
                    match w.pattern() {
                        Some(pat) => {
                            for k in pat.row(i as usize) {
                                push(pat.col_idx[k], k);
                            }
                        }
                        None => {
                            let cols = w.shape()[1] as usize;
                            for c in 0..cols {
                                push(c as u32, i as usize * cols + c);
                            }
                        }
                    }
                }
            }
            let mut axons: Vec<Axon> = by_source
                .into_iter()
                .map(|(source, synapses)| Axon { source, synapses })
                .collect();
            axons.sort_by_key(|a| a.source);
            CoreLayout {
                chip: core.chip,
                core: core.core,
                neurons,
                axons,
            }
        })
        .collect();
    // Routes: every axon is the end of one route.
    let mut routes: Vec<(Source, Route)> = Vec::new();
    for c in &cores {
        for (a, axon) in c.axons.iter().enumerate() {
            routes.push((
                axon.source,
                Route {
                    chip: c.chip,
                    core: c.core,
                    axon: a as u32,
                },
            ));
        }
    }
    routes.sort_unstable();
    let mut grouped: Vec<(Source, Vec<Route>)> = Vec::new();
    for (s, r) in routes {
        match grouped.last_mut() {
            Some((last, v)) if *last == s => v.push(r),
            _ => grouped.push((s, vec![r])),
        }
    }
    Layout {
        cores,
        routes: grouped,
        home,
    }
}
