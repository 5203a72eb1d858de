//! Emit: a compiled, placed graph → the configuration the runtime executes
//! (`snn_runtime::config`), in each chip's own terms.
//!
//! The graph's constants are already on the chip's grids (`quantize`); this
//! turns them into the chip's integers: Loihi compartment decays (`du`,
//! `dv`), threshold and bias mantissas, synapse mantissas with their format
//! (exponent); TrueNorth per-neuron type weights `s[0..4]`, leak, α, β,
//! crossbar bits and axon types; SENeCA bfloat16 patterns.

use std::collections::HashMap;

use snn_ir::{Const, Graph, ModelKind, NodeId, Op, ParamValue, ProbeVar, QuantKind, Reset};
use snn_passes::place::Placement;
use snn_runtime::config::{
    Adaptive, Config, Core, Encoder, Energy, Group, InputMap, LoihiGroup, Manifest, OutputMap,
    Params, Readout, SenecaGroup, SigmaDelta, Synapses, TrueNorthGroup,
};

use crate::layout::{Source, layout};

/// Why a graph cannot be emitted; `node` is where to point.
#[derive(Debug, Clone, PartialEq)]
pub struct EmitError {
    pub node: Option<NodeId>,
    pub message: String,
}

fn err(node: Option<NodeId>, message: impl Into<String>) -> EmitError {
    EmitError {
        node,
        message: message.into(),
    }
}

/// Resolution of graded input messages (sigma-delta encoder): 2^-8.
const INPUT_STEP: f32 = 1.0 / 256.0;
/// Loihi's largest voltage magnitude.
const V_MAX: i64 = (1 << 23) - 1;

fn param(g: &Graph, pop: NodeId, name: &str, i: usize) -> f32 {
    let Op::Population(p) = g.op(pop) else {
        return 0.0;
    };
    if !p.model.kind().params().iter().any(|s| s.name == name) {
        return 0.0;
    }
    match p.model.real(name) {
        Const::Scalar(v) => v,
        Const::Tensor(t) => g
            .tensor(t)
            .f32s()
            .and_then(|v| v.get(i).copied())
            .unwrap_or(0.0),
    }
}

/// The floor of the voltage: the model's `v_min`, or none (−∞) for models
/// without one (`li`, `alif`, `sigma_delta`).
fn v_min(g: &Graph, pop: NodeId) -> f32 {
    let Op::Population(p) = g.op(pop) else {
        return f32::NEG_INFINITY;
    };
    if p.model.kind().params().iter().any(|s| s.name == "v_min") {
        param(g, pop, "v_min", 0)
    } else {
        f32::NEG_INFINITY
    }
}

fn steps(g: &Graph, pop: NodeId, name: &str) -> u32 {
    let Op::Population(p) = g.op(pop) else {
        return 0;
    };
    match p.model.params().find(|(n, _)| *n == name) {
        Some((_, ParamValue::Steps(s))) => s,
        _ => 0,
    }
}

fn reset_subtract(g: &Graph, pop: NodeId) -> bool {
    let Op::Population(p) = g.op(pop) else {
        return false;
    };
    p.model
        .params()
        .any(|(n, v)| n == "reset" && v == ParamValue::Reset(Reset::Subtract))
}

fn model(g: &Graph, pop: NodeId) -> Option<ModelKind> {
    match g.op(pop) {
        Op::Population(p) => Some(p.model.kind()),
        _ => None,
    }
}

/// 12-bit decay of a retention factor: `round(4096 (1 − α))`.
fn decay(alpha: f32) -> i64 {
    ((1.0 - alpha as f64) * 4096.0).round().clamp(0.0, 4096.0) as i64
}

/// Bias as Loihi's mantissa and exponent, in units of `s`.
fn loihi_bias(b: f32, s: f64) -> (i16, u8) {
    let x = b as f64 / s;
    let mut exp = 0u8;
    while exp < 7 && (x / 2f64.powi(exp as i32)).abs() > 4095.0 {
        exp += 1;
    }
    (
        (x / 2f64.powi(exp as i32)).round().clamp(-4095.0, 4095.0) as i16,
        exp,
    )
}

/// Builds the configuration of `g` placed by `p` on `backend`.
pub fn emit(
    g: &Graph,
    p: &Placement,
    backend: &str,
    energy: Energy,
    source_hash: &str,
) -> Result<Config, EmitError> {
    let lay = layout(g, p);
    let index: HashMap<(u32, u32), u32> = lay
        .cores
        .iter()
        .enumerate()
        .map(|(k, c)| ((c.chip, c.core), k as u32))
        .collect();
    let scale_of = |pop: NodeId| -> Result<f64, EmitError> {
        match g.quant(pop) {
            Some(q) => Ok(q.scale as f64),
            None if backend == "seneca" => Ok(1.0),
            None => Err(err(
                Some(pop),
                format!(
                    "population {} has no quantized values: the `quantize` pass must run before emitting",
                    g.label(pop)
                ),
            )),
        }
    };
    let graded_pop = |pop: NodeId| sends_values(g, pop);
    // The delay of each neuron's outgoing synapses (one per neuron on
    // TrueNorth after the `delays` pass).
    let mut out_delay: HashMap<(NodeId, u32), u32> = HashMap::new();
    for c in &lay.cores {
        for a in &c.axons {
            if let (Source::Neuron { pop, index }, Some(s)) = (a.source, a.synapses.first()) {
                out_delay.insert((pop, index), s.delay);
            }
        }
    }
    let mut cores = Vec::with_capacity(lay.cores.len());
    for c in &lay.cores {
        // Synapse formats (Loihi): the weight exponents of the projections
        // into this core, each projection looked at once.
        let mut formats: Vec<i8> = Vec::new();
        let mut seen: Vec<NodeId> = Vec::new();
        for a in &c.axons {
            for syn in &a.synapses {
                if seen.last() == Some(&syn.projection) || seen.contains(&syn.projection) {
                    continue;
                }
                seen.push(syn.projection);
                if let Some(QuantKind::Loihi { exp, .. }) = g.quant(syn.projection).map(|q| q.kind)
                    && !formats.contains(&exp)
                {
                    formats.push(exp);
                }
            }
        }
        formats.sort_unstable();
        // Groups: runs of neurons of one population.
        let mut groups: Vec<Group> = Vec::new();
        let mut at = 0usize;
        while at < c.neurons.len() {
            let pop = c.neurons[at].0;
            let end = (at..c.neurons.len())
                .find(|&k| c.neurons[k].0 != pop)
                .unwrap_or(c.neurons.len());
            let idx: Vec<usize> = c.neurons[at..end]
                .iter()
                .map(|&(_, i)| i as usize)
                .collect();
            groups.push(group(
                g,
                &formats,
                &out_delay,
                pop,
                at as u32,
                &idx,
                backend,
                scale_of(pop)?,
            )?);
            at = end;
        }
        // Synapses, axon by axon.
        let formats: Vec<i8> = match groups.first().map(|g| &g.params) {
            Some(Params::Loihi(l)) => l.formats.clone(),
            _ => vec![],
        };
        let mut syn = Synapses {
            axon_ptr: vec![0],
            ..Synapses::default()
        };
        let mut axon_graded = Vec::with_capacity(c.axons.len());
        for axon in &c.axons {
            axon_graded.push(match axon.source {
                Source::Neuron { pop, .. } => graded_pop(pop),
                Source::Input { .. } => graded_inputs(backend),
            });
            for s in &axon.synapses {
                let q = g.quant(s.projection);
                let (weight, kind) = match q.map(|q| q.kind) {
                    Some(QuantKind::Loihi { bits: _, exp }) => {
                        let scale = q.map_or(1.0, |q| q.scale) as f64;
                        let mant =
                            (s.weight as f64 / (scale * 2f64.powi(6 + exp as i32))).round() as i32;
                        let f = c_formats_index(&formats, exp);
                        (mant, f)
                    }
                    Some(QuantKind::AxonTypes { types, .. }) => {
                        let col = match axon.source {
                            Source::Neuron { index, .. } | Source::Input { index, .. } => index,
                        };
                        let t = g
                            .tensor(types)
                            .i32s()
                            .and_then(|v| v.get(col as usize).copied())
                            .unwrap_or(0);
                        (1, t as u8)
                    }
                    Some(QuantKind::Bf16) | Some(QuantKind::Int { .. }) | None => {
                        if backend == "seneca" {
                            (snn_runtime::engine::arith::to_bf16(s.weight) as i32, 0)
                        } else {
                            return Err(err(
                                Some(s.projection),
                                format!(
                                    "projection {} has no quantized weights",
                                    g.label(s.projection)
                                ),
                            ));
                        }
                    }
                };
                syn.target.push(s.target);
                syn.weight.push(weight);
                syn.delay.push(s.delay.min(255) as u8);
                syn.kind.push(kind);
            }
            syn.axon_ptr.push(syn.target.len() as u32);
        }
        // Routes of every neuron.
        let routes: Vec<Vec<(u32, u32)>> = c
            .neurons
            .iter()
            .map(|&(pop, i)| {
                lay.routes_of(Source::Neuron { pop, index: i })
                    .iter()
                    .map(|r| (index[&(r.chip, r.core)], r.axon))
                    .collect()
            })
            .collect();
        cores.push((
            Core {
                chip: c.chip,
                core: c.core,
                neurons: c.neurons.len() as u32,
                groups,
                routes,
                axon_graded,
            },
            syn,
        ));
    }
    // Update order: populations in schedule order, their groups by core.
    let schedule = g.schedule().map_err(|cycle| {
        err(
            cycle.first().copied(),
            "the graph has a cycle without delay",
        )
    })?;
    let rank: HashMap<NodeId, usize> = schedule.iter().enumerate().map(|(k, &n)| (n, k)).collect();
    let mut order: Vec<(usize, u32, u32)> = Vec::new();
    for (k, (core, _)) in cores.iter().enumerate() {
        for (gi, grp) in core.groups.iter().enumerate() {
            let pop = lay.cores[k].neurons[grp.first as usize].0;
            order.push((
                rank.get(&pop).copied().unwrap_or(usize::MAX),
                k as u32,
                gi as u32,
            ));
        }
    }
    order.sort_unstable();
    // Inputs.
    let mut inputs = Vec::new();
    for inp in g.inputs() {
        let Op::Input { name, size } = g.op(inp) else {
            continue;
        };
        let routes = (0..*size)
            .map(|ch| {
                lay.routes_of(Source::Input {
                    input: inp,
                    index: ch,
                })
                .iter()
                .map(|r| (index[&(r.chip, r.core)], r.axon))
                .collect()
            })
            .collect();
        inputs.push(InputMap {
            name: name.clone(),
            size: *size,
            encoder: if graded_inputs(backend) {
                Encoder::SigmaDelta { threshold: 0.0 }
            } else {
                Encoder::Rate
            },
            scale: if graded_inputs(backend) {
                INPUT_STEP
            } else {
                1.0
            },
            routes,
        });
    }
    // Outputs.
    let mut outputs = Vec::new();
    for out in g.outputs() {
        let Op::Output { name } = g.op(out) else {
            continue;
        };
        let Some(src) = g.arg(out, 0) else { continue };
        let (pop, read) = match g.op(src) {
            Op::Population(p) => (
                src,
                match p.model.kind() {
                    ModelKind::Li => Readout::Voltage,
                    ModelKind::SigmaDelta => Readout::Graded,
                    _ => Readout::Spikes,
                },
            ),
            // A probe reads the variable it names: `v` the voltage (a
            // sigma-delta neuron's low-passed value), `i` the current, `b`
            // the adaptation.
            Op::Probe(var) => match g.arg(src, 0) {
                Some(pop) => (
                    pop,
                    match var {
                        ProbeVar::V => Readout::Voltage,
                        ProbeVar::I => Readout::Current,
                        ProbeVar::B => Readout::Adaptation,
                        ProbeVar::Dv => Readout::VoltageChange,
                    },
                ),
                None => continue,
            },
            _ => {
                return Err(err(
                    Some(out),
                    format!(
                        "output `{name}` reads a value computed off the chip; an output must read a population or its voltage"
                    ),
                ));
            }
        };
        if read == Readout::Current && backend == "truenorth" {
            return Err(err(
                Some(out),
                format!(
                    "output `{name}` reads a current, but TrueNorth neurons have none: their synaptic input goes straight into the potential"
                ),
            ));
        }
        let homes = lay
            .home
            .get(&pop)
            .ok_or_else(|| err(Some(pop), "population not placed"))?;
        let s = match (backend, read) {
            ("seneca", _) => 1.0,
            // Loihi's adaptation compartment counts in 4096ths of one
            // spike's worth (`b ← b (1 − ρ) + ρ s` with 12-bit ρ).
            (_, Readout::Adaptation) => 1.0 / 4096.0,
            _ => scale_of(pop)? as f32,
        };
        outputs.push(OutputMap {
            name: name.clone(),
            read,
            neurons: homes
                .iter()
                .map(|&(chip, core, n)| (index[&(chip, core)], n))
                .collect(),
            scale: vec![s; homes.len()],
        });
    }
    Ok(Config {
        manifest: Manifest {
            format: snn_runtime::config::FORMAT,
            backend: backend.into(),
            chips: p.chips_used,
            cores: cores.len() as u32,
            timestep_us: g.timestep.as_secs_f64() * 1e6,
            ticks_per_step: g.ticks_per_step.max(1),
            source_hash: source_hash.into(),
            order: order.into_iter().map(|(_, c, gi)| (c, gi)).collect(),
            inputs,
            outputs,
            energy,
        },
        cores,
    })
}

/// Whether the chip's inputs can carry values: Loihi 2 and SENeCA send
/// graded events; Loihi 1 and TrueNorth spikes carry none, so their inputs
/// are rate-coded (exact for inputs of 0 and 1, one spike a step at most).
fn graded_inputs(backend: &str) -> bool {
    !matches!(backend, "loihi" | "truenorth")
}

fn c_formats_index(formats: &[i8], exp: i8) -> u8 {
    formats.iter().position(|&e| e == exp).unwrap_or(0) as u8
}

/// The chip parameters of neurons `idx` of `pop`.
#[allow(clippy::too_many_arguments)]
fn group(
    g: &Graph,
    formats: &[i8],
    out_delay: &HashMap<(NodeId, u32), u32>,
    pop: NodeId,
    first: u32,
    idx: &[usize],
    backend: &str,
    s: f64,
) -> Result<Group, EmitError> {
    let kind = model(g, pop).ok_or_else(|| err(Some(pop), "not a population"))?;
    let n = idx.len();
    let per = |name: &str| -> Vec<f32> { idx.iter().map(|&i| param(g, pop, name, i)).collect() };
    let params = match backend {
        "loihi" | "loihi2" => {
            let formats = formats.to_vec();

            let theta_name = if kind == ModelKind::Alif {
                "b0"
            } else {
                "threshold"
            };
            let vth: Vec<u32> = per(theta_name)
                .iter()
                .map(|&t| ((t as f64) / (64.0 * s)).round().clamp(0.0, 131071.0) as u32)
                .collect();
            let (bias_mant, bias_exp): (Vec<i16>, Vec<u8>) =
                per("bias").iter().map(|&b| loihi_bias(b, s)).unzip();
            let (du, dv): (Vec<u16>, Vec<u16>) = match kind {
                ModelKind::Lif | ModelKind::Li => (
                    per("alpha_syn")
                        .iter()
                        .map(|&a| (decay(a) - 1).clamp(0, 4095) as u16)
                        .collect(),
                    per("alpha_mem")
                        .iter()
                        .map(|&a| decay(a).min(4095) as u16)
                        .collect(),
                ),
                ModelKind::If => (vec![4095; n], vec![0; n]),
                ModelKind::Alif => (
                    vec![4095; n],
                    per("alpha_mem")
                        .iter()
                        .map(|&a| decay(a).min(4095) as u16)
                        .collect(),
                ),
                ModelKind::SigmaDelta => (vec![4095; n], vec![0; n]),
            };
            let v_min = v_min(g, pop);
            let vmin = if v_min.is_finite() {
                ((v_min as f64) / s).round().max(-(V_MAX as f64)) as i32
            } else {
                -(V_MAX as i32)
            };
            let adaptive = (kind == ModelKind::Alif).then(|| Adaptive {
                drho: per("rho")
                    .iter()
                    .map(|&r| decay(r).min(4096) as u16)
                    .collect(),
                beta: per("beta")
                    .iter()
                    .map(|&b| ((b as f64) / s).round() as i32)
                    .collect(),
                input_factor: true,
            });
            let sigma_delta = (kind == ModelKind::SigmaDelta).then(|| {
                let act = match g.op(pop) {
                    Op::Population(p) => p.model.act(),
                    _ => snn_ir::Act::Relu,
                };
                let (lo, hi) = match act {
                    snn_ir::Act::Identity => (-V_MAX, V_MAX),
                    snn_ir::Act::Relu => (0, V_MAX),
                    snn_ir::Act::Clamp { lo, hi } => (
                        ((lo as f64) / s).round() as i64,
                        ((hi as f64) / s).round() as i64,
                    ),
                };
                SigmaDelta {
                    lo: lo.clamp(-V_MAX, V_MAX) as i32,
                    hi: hi.clamp(-V_MAX, V_MAX) as i32,
                    dalpha: per("alpha").iter().map(|&a| decay(a) as u16).collect(),
                }
            });
            Params::Loihi(LoihiGroup {
                du,
                dv,
                vth,
                bias_mant,
                bias_exp,
                vmin,
                refractory: steps(g, pop, "refractory"),
                reset_subtract: reset_subtract(g, pop),
                formats,
                adaptive,
                sigma_delta,
            })
        }
        "truenorth" => {
            let incoming: Vec<NodeId> = g
                .args(pop)
                .into_iter()
                .filter(|&a| matches!(g.op(a), Op::Project(_)))
                .collect();
            // `legalize` factors all projections into a population together:
            // they share one table of type weights.
            let tables: Vec<snn_ir::TensorId> = incoming
                .iter()
                .filter_map(|&p| match g.quant(p).map(|q| q.kind) {
                    Some(QuantKind::AxonTypes { values, .. }) => Some(values),
                    _ => None,
                })
                .collect();
            if tables
                .windows(2)
                .any(|w| g.tensor(w[0]).hash() != g.tensor(w[1]).hash())
            {
                return Err(err(
                    Some(pop),
                    format!(
                        "population {} has {} incoming projections with different axon-type weight tables; its TrueNorth neurons have one set of four type weights",
                        g.label(pop),
                        incoming.len()
                    ),
                ));
            }
            let table: Option<(Vec<f32>, f64)> = incoming.first().and_then(|&p| match g.quant(p) {
                Some(q) => match q.kind {
                    QuantKind::AxonTypes { values, .. } => g
                        .tensor(values)
                        .f32s()
                        .map(|v| (v.to_vec(), q.scale as f64)),
                    _ => None,
                },
                None => None,
            });
            let s_tab: Vec<[i16; 4]> = idx
                .iter()
                .map(|&i| {
                    let mut row = [0i16; 4];
                    if let Some((v, sc)) = &table {
                        for (t, slot) in row.iter_mut().enumerate() {
                            *slot = v
                                .get(i * 4 + t)
                                .map_or(0, |&x| ((x as f64) / sc).round() as i16);
                        }
                    }
                    row
                })
                .collect();
            // One leak register: the bias (a constant drift), or a leak
            // toward zero with reversal (`legalize` never leaves both).
            let toward_zero = per("leak");
            let leak_reversal = toward_zero.iter().any(|&l| l != 0.0);
            let leak = if leak_reversal {
                toward_zero
            } else {
                per("bias")
            };
            let subtract = reset_subtract(g, pop);
            // V holds the model's v (in units of s) minus one: then the
            // model's `v > T` (T = θ / s) is `V ≥ ⌊T⌋`, TrueNorth's own
            // comparison, and its reset by α = ⌊T⌋ takes exactly T off
            // when T is whole (the quantizer's power-of-two scales make
            // integral thresholds whole); a zero reset is `V ← −1`, and
            // the floor v_min is `V ≥ v_min − 1`. A leak toward zero turns
            // on the sign of V, so there V holds v itself (α = ⌊T⌋ + 1)
            // unless the reset subtracts, which must take T, not T + 1.
            let offset: i32 = if leak_reversal && !subtract { 0 } else { -1 };
            let v_min = v_min(g, pop);
            let (beta, kappa) = if v_min.is_finite() {
                (-(((v_min as f64) / s).round() as i32) - offset, true)
            } else {
                (1 << 19, false)
            };
            Params::TrueNorth(TrueNorthGroup {
                s: s_tab,
                leak: leak
                    .iter()
                    .map(|&b| {
                        let l = ((b as f64) / s).round() as i32;
                        if leak_reversal { -l } else { l }
                    })
                    .collect(),
                leak_reversal,
                alpha: if kind == ModelKind::Li {
                    // An integrator: it never fires.
                    vec![snn_passes::quantize::truenorth::ALPHA_MAX as i32; n]
                } else {
                    per("threshold")
                        .iter()
                        .map(|&t| {
                            // θ / s as the quantizer meant it: a whole
                            // number that f32 scales miss by an ulp stays
                            // whole (else `v > θ` would fire at v = θ).
                            let t = (t as f64) / s;
                            let t = if (t - t.round()).abs() < 1e-4 {
                                t.round()
                            } else {
                                t
                            };
                            t.floor() as i32 + 1 + offset
                        })
                        .collect()
                },
                beta: vec![beta; n],
                gamma: if subtract { 1 } else { 0 },
                reset_value: offset,
                kappa,
                offset,
                stochastic: None,
                delay: outgoing_delays(out_delay, pop, idx),
            })
        }
        _ => {
            let bf = |v: Vec<f32>| -> Vec<u16> {
                v.into_iter()
                    .map(snn_runtime::engine::arith::to_bf16)
                    .collect()
            };
            let (alpha_syn, alpha_mem) = match kind {
                ModelKind::If => (vec![0.0; n], vec![1.0; n]),
                ModelKind::SigmaDelta => (vec![0.0; n], per("alpha")),
                ModelKind::Alif => (vec![0.0; n], per("alpha_mem")),
                _ => (per("alpha_syn"), per("alpha_mem")),
            };
            let threshold = match kind {
                ModelKind::Alif => per("b0"),
                ModelKind::Li => vec![f32::INFINITY; n],
                _ => per("threshold"),
            };
            let act = match g.op(pop) {
                Op::Population(p) if kind == ModelKind::SigmaDelta => p.model.act(),
                _ => snn_ir::Act::Identity,
            };
            let (lo, hi) = match act {
                snn_ir::Act::Identity => (f32::NEG_INFINITY, f32::INFINITY),
                snn_ir::Act::Relu => (0.0, f32::INFINITY),
                snn_ir::Act::Clamp { lo, hi } => (lo, hi),
            };
            let v_min = v_min(g, pop);
            Params::Seneca(SenecaGroup {
                alpha_syn: bf(alpha_syn),
                alpha_mem: bf(alpha_mem),
                threshold: bf(threshold),
                bias: bf(per("bias")),
                v_min: snn_runtime::engine::arith::to_bf16(if kind == ModelKind::SigmaDelta {
                    f32::NEG_INFINITY
                } else {
                    v_min
                }),
                refractory: steps(g, pop, "refractory"),
                reset_subtract: reset_subtract(g, pop),
                rho: bf(per("rho")),
                beta: bf(per("beta")),
                lo: snn_runtime::engine::arith::to_bf16(lo),
                hi: snn_runtime::engine::arith::to_bf16(hi),
            })
        }
    };
    let graded = sends_values(g, pop);
    Ok(Group {
        population: g
            .name(pop)
            .map(str::to_string)
            .unwrap_or_else(|| g.label(pop)),
        model: kind.name().into(),
        first,
        count: n as u32,
        graded,
        scale: if backend == "seneca" { 1.0 } else { s as f32 },
        params,
    })
}

/// Whether `pop` sends values rather than spikes: sigma-delta neurons, and
/// leaky integrators that feed another population (their output is their
/// voltage, sent as its changes; on Loihi 1 this is the dendritic join of
/// a multi-compartment neuron, which the placer keeps on one core for
/// one-to-one pairs).
fn sends_values(g: &Graph, pop: NodeId) -> bool {
    match model(g, pop) {
        Some(ModelKind::SigmaDelta) => true,
        Some(ModelKind::Li) => g
            .users(pop)
            .iter()
            .any(|&(u, _)| matches!(g.op(u), Op::Project(_))),
        _ => false,
    }
}

/// TrueNorth: each neuron's destination delay, 1–15 ticks (the `delays`
/// pass made it one per neuron and at least 1).
fn outgoing_delays(out_delay: &HashMap<(NodeId, u32), u32>, pop: NodeId, idx: &[usize]) -> Vec<u8> {
    idx.iter()
        .map(|&i| {
            out_delay
                .get(&(pop, i as u32))
                .copied()
                .unwrap_or(1)
                .clamp(1, 15) as u8
        })
        .collect()
}
