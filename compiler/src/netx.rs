//! Lava netx export: the quantized, Loihi 2 network as the HDF5 description
//! that lava-dl's `lava.lib.dl.netx.hdf5.Network` loads.
//!
//! netx describes a chain of layers: an `input` layer (its shape), then one
//! `dense` (or `dense_rec`, with recurrent weights read one step late)
//! layer per population, each fed by the layer before it. A layer holds its
//! weights as integers in `[-256, 254]` worth `W · 2^6` units of the
//! neuron's state (netx picks the synapse format itself), per-synapse
//! delays, a bias worth `b · 2^6`, and a `CUBA` neuron (`vThMant`,
//! `iDecay` = Lava's `du + 1`, `vDecay`, `refDelay`).
//!
//! The numbers are read from the IR after `quantize` (each population's
//! state scale, each projection's Loihi format), not derived again. When a
//! layer's weights exceed netx's range, its state unit is made `2^k`
//! coarser, which is exact only when every weight, the threshold and the
//! bias are multiples of `2^k`; anything netx cannot describe exactly is
//! refused with the reason (docs/formats.md, "Lava netx").

use std::path::Path;

use snn_ir::{Const, Delay, Graph, ModelKind, NodeId, Op, QuantKind, Reset};

use crate::nir::file::{Entry, Num, Tree};

/// Why the network cannot be written for netx.
#[derive(Debug, Clone, PartialEq)]
pub struct NetxError {
    pub node: Option<NodeId>,
    pub message: String,
}

fn refuse(node: Option<NodeId>, message: impl Into<String>) -> NetxError {
    NetxError {
        node,
        message: message.into(),
    }
}

/// One layer's numbers before they are written.
struct Layer {
    size: usize,
    weight: Vec<f64>,
    cols: usize,
    delay: Vec<u32>,
    weight_rec: Option<Vec<f64>>,
    vth: f64,
    bias: Vec<f64>,
    i_decay: u32,
    v_decay: u32,
    name: String,
}

/// The netx description of the quantized graph `g` (after every pass for
/// `loihi2`).
pub fn netx_tree(g: &Graph) -> Result<Tree, NetxError> {
    let inputs = g.inputs();
    let [input] = inputs[..] else {
        return Err(refuse(
            None,
            format!(
                "netx describes networks with one input; this one has {}",
                inputs.len()
            ),
        ));
    };
    let Op::Input { size: in_size, .. } = g.op(input) else {
        unreachable!("inputs() returns inputs")
    };
    // Follow the chain: each population is fed by the previous layer.
    let pops = g.populations();
    let mut chain: Vec<NodeId> = Vec::new();
    let mut prev = input;
    loop {
        let next: Vec<NodeId> = pops
            .iter()
            .copied()
            .filter(|&p| p != prev && sources(g, p).contains(&prev))
            .collect();
        match next[..] {
            [] => break,
            [p] => {
                chain.push(p);
                prev = p;
            }
            _ => {
                return Err(refuse(
                    Some(prev),
                    format!(
                        "{} feeds {} populations; netx describes a chain of layers, each fed by the one before",
                        g.label(prev),
                        next.len()
                    ),
                ));
            }
        }
    }
    if let Some(&p) = pops.iter().find(|p| !chain.contains(p)) {
        return Err(refuse(
            Some(p),
            format!(
                "{} is not in the chain of layers from the input; netx describes a chain",
                g.label(p)
            ),
        ));
    }
    let mut layers = Vec::new();
    let mut before = input;
    for &p in &chain {
        layers.push(layer(g, p, before)?);
        before = p;
    }
    let mut root_layers = Tree::default();
    let mut t = Tree::default();
    t.text("type", "input");
    t.numbers("shape", vec![1], vec![*in_size as f64], Num::Int);
    root_layers.group("0", t);
    for (k, l) in layers.into_iter().enumerate() {
        root_layers.group(&(k + 1).to_string(), write_layer(l));
    }
    let mut root = Tree::default();
    root.group("layer", root_layers);
    Ok(root)
}

/// `snnc compile --netx PATH`: writes the netx file of the compiled graph
/// `g` for `backend` (Loihi 2 only), or the report of why it cannot.
pub fn write_for(backend: &str, g: &Graph, path: &Path) -> Result<(), crate::driver::Report> {
    use crate::diag::Diagnostic;
    if backend != "loihi2" {
        return Err(crate::driver::Report::error(
            "E0620",
            format!(
                "--netx writes Lava's description for Loihi 2; compile with --backend loihi2, not {backend}"
            ),
        ));
    }
    write(g, path).map_err(|e| {
        let mut d = Diagnostic::error(
            "E0620",
            format!("netx cannot describe this network: {}", e.message),
        );
        if let Some(span) = e.node.and_then(|n| g.span(n)) {
            d = d.label(span, "here");
        }
        crate::driver::Report {
            source: None,
            diags: vec![d],
        }
    })
}

/// Writes the netx file of `g` to `path` (atomically).
pub fn write(g: &Graph, path: &Path) -> Result<(), NetxError> {
    let tree = netx_tree(g)?;
    let bytes = crate::nir::file::tree_to_bytes(&tree).map_err(|e| refuse(None, e))?;
    crate::cli::write_atomic(path, &bytes).map_err(|r| {
        refuse(
            None,
            r.diags
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_default(),
        )
    })
}

/// The nodes whose values reach population `p` through its projections.
fn sources(g: &Graph, p: NodeId) -> Vec<NodeId> {
    g.args(p)
        .into_iter()
        .filter_map(|a| match g.op(a) {
            Op::Project(_) => g.args(a).first().copied(),
            _ => Some(a),
        })
        .collect()
}

fn real(g: &Graph, c: Const, n: usize) -> Vec<f64> {
    match c {
        Const::Scalar(v) => vec![v as f64; n],
        Const::Tensor(t) => g
            .tensor(t)
            .f32s()
            .map(|v| v.iter().map(|&x| x as f64).collect())
            .unwrap_or_else(|| vec![f64::NAN; n]),
    }
}

/// One value for the whole layer, or the reason there is none.
fn uniform(g: &Graph, p: NodeId, name: &str, v: &[f64]) -> Result<f64, NetxError> {
    if v.iter().all(|&x| x == v[0]) {
        Ok(v[0])
    } else {
        Err(refuse(
            Some(p),
            format!(
                "{}: `{name}` differs from neuron to neuron; a netx CUBA layer has one",
                g.label(p)
            ),
        ))
    }
}

fn layer(g: &Graph, p: NodeId, from: NodeId) -> Result<Layer, NetxError> {
    let Op::Population(pop) = g.op(p) else {
        unreachable!("chain holds populations")
    };
    let n = pop.size as usize;
    let m = &pop.model;
    let at = |msg: String| refuse(Some(p), format!("{}: {msg}", g.label(p)));
    match m.kind() {
        ModelKind::Lif | ModelKind::If | ModelKind::Li => {}
        ModelKind::SigmaDelta => {
            let mut parts = Vec::new();
            let alpha = real(g, m.real("alpha"), n);
            if alpha.iter().any(|&a| a != 0.0) {
                parts.push(format!("a low-pass filter (alpha = {:.3})", alpha[0]));
            }
            if matches!(m.act(), snn_ir::Act::Clamp { .. }) {
                parts.push("a clamped activation".to_string());
            }
            return Err(at(if parts.is_empty() {
                "`sigma_delta` neurons; this export writes CUBA layers only".into()
            } else {
                format!(
                    "`sigma_delta` neurons with {}; netx's SDNN neurons (Lava's SigmaDelta: a ReLU without a filter) cannot hold them",
                    parts.join(" and ")
                )
            }));
        }
        other => {
            return Err(at(format!(
                "`{other}` neurons; netx describes CUBA (`lif`, `if`, `li`) layers here"
            )));
        }
    }
    if m.kind().params().iter().any(|s| s.name == "leak")
        && real(g, m.real("leak"), n).iter().any(|&l| l != 0.0)
    {
        return Err(at(
            "a leak toward zero (`leak`); Lava's CUBA neurons decay by a factor".into(),
        ));
    }
    if m.kind().is_spiking() {
        if m.reset() != Reset::Zero {
            return Err(at("reset by subtraction; Lava's LIF resets to 0".into()));
        }
        if m.steps("refractory") != 0 {
            return Err(at("a refractory period; Lava's LIF has none".into()));
        }
        if real(g, m.real("v_min"), n).iter().any(|v| v.is_finite()) {
            return Err(at("a `v_min` floor; Lava's LIF has none".into()));
        }
    }
    if real(g, m.real("gain"), n).iter().any(|&x| x != 1.0) {
        return Err(at(
            "a gain (legalize folds gains into weights: run every pass)".into(),
        ));
    }
    let scale = match g.quant(p) {
        Some(q) if q.scale > 0.0 => q.scale as f64,
        _ => {
            return Err(at(
                "no quantization: compile for loihi2 with every pass (netx needs the integers)"
                    .into(),
            ));
        }
    };
    let unit = scale * 64.0;
    let param = |name: &str| -> Vec<f64> {
        if m.kind().params().iter().any(|s| s.name == name) {
            real(g, m.real(name), n)
        } else {
            vec![0.0; n]
        }
    };
    let a_syn = uniform(g, p, "alpha_syn", &param("alpha_syn"))?;
    let a_mem = match m.kind() {
        ModelKind::If => 1.0,
        _ => uniform(g, p, "alpha_mem", &param("alpha_mem"))?,
    };
    let i_decay = (4096.0 * (1.0 - a_syn)).round() as u32;
    let v_decay = (4096.0 * (1.0 - a_mem)).round() as u32;
    let vth = match m.kind() {
        // A leaky integrator never fires: the largest threshold.
        ModelKind::Li => 131071.0 * 2f64.powi(KMAX),
        _ => uniform(g, p, "threshold", &param("threshold"))? / unit,
    };
    let bias: Vec<f64> = param("bias").iter().map(|b| b / unit).collect();
    // Weights into p, from the previous layer and from itself.
    let cols = g.shape(from).len() as usize;
    let mut weight = vec![0.0f64; n * cols];
    let mut delay = vec![u32::MAX; n * cols];
    let mut weight_rec: Option<Vec<f64>> = None;
    for a in g.args(p) {
        let Op::Project(proj) = g.op(a) else {
            return Err(at(format!(
                "an input from {} that is not a projection",
                g.label(a)
            )));
        };
        let src = g.args(a)[0];
        if !matches!(g.quant(a).map(|q| q.kind), Some(QuantKind::Loihi { .. })) {
            return Err(refuse(
                Some(a),
                format!(
                    "{} has no Loihi synapse format: compile for loihi2",
                    g.label(a)
                ),
            ));
        }
        let w = g.tensor(proj.weights);
        let values = w
            .f32s()
            .ok_or_else(|| refuse(Some(a), "weights without values"))?;
        let rows_cols: Vec<(usize, usize)> = match w.pattern() {
            None => (0..w.numel() as usize)
                .map(|e| (e / w.shape()[1] as usize, e % w.shape()[1] as usize))
                .collect(),
            Some(pat) => (0..pat.rows as usize)
                .flat_map(|r| pat.row(r).map(move |e| (r, pat.col_idx[e] as usize)))
                .collect(),
        };
        let d: Vec<u32> = match proj.delay {
            Delay::Const(d) => vec![d; values.len()],
            Delay::PerSynapse(t) => g
                .tensor(t)
                .i32s()
                .ok_or_else(|| refuse(Some(a), "delays without values"))?
                .iter()
                .map(|&x| x.max(0) as u32)
                .collect(),
        };
        if src == p {
            if d.iter().any(|&x| x != 1) {
                return Err(refuse(
                    Some(a),
                    format!(
                        "{}: recurrent synapses with a delay other than one step; netx's dense_rec reads the previous step",
                        g.label(a)
                    ),
                ));
            }
            let rec = weight_rec.get_or_insert_with(|| vec![0.0; n * n]);
            for (k, &(r, c)) in rows_cols.iter().enumerate() {
                rec[r * n + c] += values[k] as f64 / unit;
            }
        } else if src == from {
            for (k, &(r, c)) in rows_cols.iter().enumerate() {
                let e = r * cols + c;
                if values[k] == 0.0 {
                    continue;
                }
                if delay[e] != u32::MAX && delay[e] != d[k] {
                    return Err(refuse(
                        Some(a),
                        format!(
                            "{}: two synapses between one pair of neurons with different delays; netx holds one per pair",
                            g.label(a)
                        ),
                    ));
                }
                delay[e] = d[k];
                weight[e] += values[k] as f64 / unit;
            }
        } else {
            return Err(refuse(
                Some(a),
                format!(
                    "{} reads {}, which is not the layer before; netx describes a chain",
                    g.label(a),
                    g.label(src)
                ),
            ));
        }
    }
    for d in &mut delay {
        if *d == u32::MAX {
            *d = 0;
        }
    }
    if delay.iter().any(|&d| d > 62) {
        return Err(at("delays beyond 62 steps, which netx clamps".into()));
    }
    Ok(Layer {
        size: n,
        weight,
        cols,
        delay,
        weight_rec,
        vth,
        bias,
        i_decay,
        v_decay,
        name: g.label(p),
    })
    .and_then(|l| rescale(l).map_err(|m| refuse(Some(p), m)))
}

/// The largest coarsening of a layer's state unit tried (`2^KMAX`).
const KMAX: i32 = 16;

/// Coarsens the layer's state unit by the smallest `2^k` that brings its
/// weights into netx's range, if that keeps every value exact.
fn rescale(mut l: Layer) -> Result<Layer, String> {
    let all_w = l.weight.iter().chain(l.weight_rec.iter().flatten());
    let (lo, hi) = all_w.fold((0.0f64, 0.0f64), |(a, b), &w| (a.min(w), b.max(w)));
    let Some(k) = (0..=KMAX).find(|&k| {
        let s = 2f64.powi(k);
        hi / s <= 254.0 && lo / s >= -256.0
    }) else {
        return Err(format!(
            "{}: weights up to {} units, beyond netx's 8-bit range at any state unit",
            l.name,
            hi.max(-lo)
        ));
    };
    let s = 2f64.powi(k);
    let whole = |x: f64| (x / s).fract() == 0.0;
    let check = |what: &str, v: &mut [f64]| -> Result<(), String> {
        if let Some(x) = v.iter().find(|&&x| !whole(x)) {
            return Err(format!(
                "{}: its weights need a state unit 2^{k} coarser, but its {what} {x} is not a multiple of 2^{k}; netx cannot hold it exactly",
                l.name
            ));
        }
        v.iter_mut().for_each(|x| *x /= s);
        Ok(())
    };
    check("weight", &mut l.weight)?;
    if let Some(r) = &mut l.weight_rec {
        check("recurrent weight", r)?;
    }
    check("bias", &mut l.bias)?;
    let mut vth = [l.vth];
    check("threshold", &mut vth)?;
    l.vth = vth[0].min(131071.0);
    if l.vth < 0.0 || l.vth > 131071.0 {
        return Err(format!("{}: threshold {} outside 17 bits", l.name, l.vth));
    }
    Ok(l)
}

fn write_layer(l: Layer) -> Tree {
    let mut t = Tree::default();
    let rec = l.weight_rec.is_some();
    t.text("type", if rec { "dense_rec" } else { "dense" });
    t.numbers("shape", vec![1], vec![l.size as f64], Num::Int);
    let mut neuron = Tree::default();
    neuron.text("type", "CUBA");
    neuron.numbers("vThMant", vec![], vec![l.vth], Num::Int);
    neuron.numbers("iDecay", vec![], vec![l.i_decay as f64], Num::Int);
    neuron.numbers("vDecay", vec![], vec![l.v_decay as f64], Num::Int);
    neuron.numbers("refDelay", vec![], vec![1.0], Num::Int);
    neuron.numbers("gradedSpike", vec![], vec![0.0], Num::Int);
    t.group("neuron", neuron);
    t.numbers("weight", vec![l.size, l.cols], l.weight, Num::F32);
    if let Some(r) = l.weight_rec {
        t.numbers("weight_rec", vec![l.size, l.size], r, Num::F32);
    }
    if l.delay.iter().any(|&d| d != 0) {
        let d = l.delay.iter().map(|&x| x as f64).collect();
        t.numbers("delay", vec![l.size, l.cols], d, Num::Int);
    }
    if l.bias.iter().any(|&b| b != 0.0) {
        t.numbers("bias", vec![l.size], l.bias, Num::F32);
    }
    t
}

/// One layer of a netx file as read back: type, shape, weight shape.
pub type LayerShape = (String, Vec<usize>, Vec<usize>);

/// The layers of a netx file, in order.
pub fn read_layers(path: &Path) -> Result<Vec<LayerShape>, String> {
    let root = crate::nir::file::read_tree(path)?;
    let Some(Entry::Group(layers)) = root.get("layer") else {
        return Err("no group `layer`".into());
    };
    let mut keyed: Vec<(usize, &Tree)> = Vec::new();
    for (k, e) in &layers.entries {
        let Entry::Group(t) = e else { continue };
        let i: usize = k
            .parse()
            .map_err(|_| format!("layer `{k}` is not numbered"))?;
        keyed.push((i, t));
    }
    keyed.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, t) in keyed {
        let ty = match t.get("type") {
            Some(Entry::Text { values, .. }) => values.first().cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let shape = match t.get("shape") {
            Some(Entry::Numbers { values, .. }) => values.iter().map(|&v| v as usize).collect(),
            _ => vec![],
        };
        let weight = match t.get("weight") {
            Some(Entry::Numbers { shape, .. }) => shape.clone(),
            _ => vec![],
        };
        out.push((ty, shape, weight));
    }
    Ok(out)
}
