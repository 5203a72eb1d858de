//! From the IR to a NIR graph: inputs, neuron populations and projections
//! (one `Linear` per projection, behind a `Delay` node per distinct delay).
//!
//! Neuron parameters are written for forward-Euler import with the graph's
//! time step (stored in the metadata as `dt`), so that `snnc import` gives
//! back the same retention factors, gains and biases. What NIR cannot hold
//! is refused with the reason: adaptive and sigma-delta neurons, reset by
//! subtraction, refractory periods, voltage floors, and cell algebra that
//! did not become neurons.

use std::collections::{BTreeSet, HashMap};

use snn_ir::{Const, Delay, Graph, ModelKind, NodeId, Op, Reset};

use super::file::{Entry, NirFile, Num, Tree};

/// The NIR format version written.
pub const VERSION: &str = "1.0.8";

/// Why a graph cannot be written as NIR.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError {
    pub node: Option<NodeId>,
    pub message: String,
}

/// The NIR file of `g`.
pub fn export(g: &Graph) -> Result<NirFile, ExportError> {
    let dt = g.timestep.as_secs_f64();
    let mut nodes = Tree::default();
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut name_of: HashMap<NodeId, String> = HashMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut fresh = |base: &str| {
        let mut name = base.to_string();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    };
    let err = |n: NodeId, message: String| ExportError {
        node: Some(n),
        message,
    };
    for n in g.nodes() {
        let label = g
            .name(n)
            .map(str::to_string)
            .unwrap_or_else(|| n.to_string());
        match g.op(n) {
            Op::Input { name, size } => {
                let name = fresh(name);
                let mut t = Tree::default();
                t.text("type", "Input");
                t.numbers("shape", vec![1], vec![*size as f64], Num::Int);
                nodes.group(&name, t);
                name_of.insert(n, name);
            }
            Op::Population(p) => {
                let t = neuron(g, n, p.size as usize, dt).map_err(|m| err(n, m))?;
                let name = fresh(&label);
                nodes.group(&name, t);
                name_of.insert(n, name);
            }
            Op::Project(_) | Op::Output { .. } => {}
            other => {
                return Err(err(
                    n,
                    format!(
                        "`{}` is cell algebra, which NIR cannot hold; only neuron populations and projections export (a cell that `fold` turns into `lif`, `if` or `li` neurons can be written at the neuron level)",
                        other.name()
                    ),
                ));
            }
        }
    }
    for n in g.nodes() {
        match g.op(n) {
            Op::Project(p) => {
                let [src] = g.args(n)[..] else { continue };
                let users = g.users(n);
                let pops: Vec<NodeId> = users
                    .iter()
                    .map(|&(u, _)| u)
                    .filter(|&u| matches!(g.op(u), Op::Population(_)))
                    .collect();
                if pops.len() != users.len() || pops.is_empty() {
                    return Err(err(
                        n,
                        "a projection that feeds cell algebra or an output; NIR holds projections into neurons".into(),
                    ));
                }
                let Some(from) = name_of.get(&src).cloned() else {
                    return Err(err(
                        n,
                        format!(
                            "a projection from {}, which is not an input or a population",
                            g.label(src)
                        ),
                    ));
                };
                for (d, (rows, cols, w)) in split_by_delay(g, n, p).map_err(|m| err(n, m))? {
                    let base = format!("{from}_to_{}", name_of[&pops[0]]);
                    let mut at = from.clone();
                    if d > 0 {
                        let dname = fresh(&format!("{base}_delay{d}"));
                        let mut t = Tree::default();
                        t.text("type", "Delay");
                        t.numbers("delay", vec![cols], vec![d as f64 * dt; cols], Num::F32);
                        nodes.group(&dname, t);
                        edges.push((at, dname.clone()));
                        at = dname;
                    }
                    let lname = fresh(&base);
                    let mut t = Tree::default();
                    t.text("type", "Linear");
                    t.numbers("weight", vec![rows, cols], w, Num::F32);
                    nodes.group(&lname, t);
                    edges.push((at, lname.clone()));
                    for &pop in &pops {
                        edges.push((lname.clone(), name_of[&pop].clone()));
                    }
                }
            }
            Op::Output { name } => {
                let [src] = g.args(n)[..] else { continue };
                let Some(from) = name_of.get(&src).cloned() else {
                    return Err(err(
                        n,
                        format!(
                            "output `{name}` reads {}, which is not an input or a population; NIR outputs read nodes",
                            g.label(src)
                        ),
                    ));
                };
                let oname = fresh(name);
                let mut t = Tree::default();
                t.text("type", "Output");
                t.numbers("shape", vec![1], vec![g.shape(src).len() as f64], Num::Int);
                nodes.group(&oname, t);
                edges.push((from, oname));
            }
            _ => {}
        }
    }
    let mut top = Tree::default();
    top.text("type", "NIRGraph");
    top.group("nodes", nodes);
    let flat: Vec<String> = edges.into_iter().flat_map(|(a, b)| [a, b]).collect();
    top.entries.insert(
        "edges".into(),
        Entry::Text {
            shape: vec![flat.len() / 2, 2],
            values: flat,
        },
    );
    let mut meta = Tree::default();
    meta.numbers("dt", vec![], vec![dt], Num::F64);
    top.group("metadata", meta);
    Ok(NirFile {
        version: VERSION.into(),
        node: top,
    })
}

/// Per-neuron values of a real parameter.
fn values(g: &Graph, c: Const, n: usize) -> Vec<f64> {
    match c {
        Const::Scalar(v) => vec![v as f64; n],
        Const::Tensor(t) => g
            .tensor(t)
            .f32s()
            .map(|v| v.iter().map(|&x| x as f64).collect())
            .unwrap_or_else(|| vec![f64::NAN; n]),
    }
}

/// The NIR node of a population.
fn neuron(g: &Graph, n: NodeId, size: usize, dt: f64) -> Result<Tree, String> {
    let Op::Population(p) = g.op(n) else {
        unreachable!("called on populations")
    };
    let m = &p.model;
    let get = |name: &str| values(g, m.real(name), size);
    if let Some(t) = m.tensors().find(|&t| g.tensor(t).f32s().is_none()) {
        return Err(format!(
            "parameter tensor {t} has no values (an IR dump printed without --values)"
        ));
    }
    let kind = m.kind();
    match kind {
        ModelKind::Alif => {
            return Err(
                "`alif` has an adaptive threshold, which NIR has no node for (it would need the product of two signals: the threshold times the spike)".into(),
            );
        }
        ModelKind::SigmaDelta => {
            return Err(
                "`sigma_delta` neurons send graded values; NIR has no sigma-delta node".into(),
            );
        }
        _ => {}
    }
    if kind.is_spiking() {
        if m.reset() != Reset::Zero {
            return Err("reset = subtract; NIR's spiking neurons reset to `v_reset`".into());
        }
        if m.steps("refractory") != 0 {
            return Err("a refractory period; NIR's neurons have none".into());
        }
        if get("v_min").iter().any(|v| v.is_finite()) {
            return Err("a `v_min` floor; NIR's neurons have none".into());
        }
    }
    if kind.params().iter().any(|s| s.name == "leak") && get("leak").iter().any(|&l| l != 0.0) {
        return Err("a leak toward zero (`leak`); NIR's neurons decay by a factor".into());
    }
    let shape = vec![size];
    let mut t = Tree::default();
    let put = |t: &mut Tree, name: &str, v: Vec<f64>| t.numbers(name, shape.clone(), v, Num::F32);
    let gain = get("gain");
    let bias = get("bias");
    let zeros = vec![0.0; size];
    match kind {
        ModelKind::If => {
            if bias.iter().any(|&b| b != 0.0) {
                return Err("an `if` with a bias; NIR's IF has no leak or bias".into());
            }
            t.text("type", "IF");
            put(&mut t, "r", gain.iter().map(|g| g / dt).collect());
            put(&mut t, "v_threshold", get("threshold"));
            put(&mut t, "v_reset", zeros);
        }
        ModelKind::Lif | ModelKind::Li => {
            let am = get("alpha_mem");
            let asyn = get("alpha_syn");
            let spiking = kind == ModelKind::Lif;
            if am.iter().all(|&a| a == 1.0) && asyn.iter().all(|&a| a == 0.0) && !spiking {
                if bias.iter().any(|&b| b != 0.0) {
                    return Err(
                        "an `li` with alpha_mem = 1 and a bias; NIR's integrator I has no bias"
                            .into(),
                    );
                }
                t.text("type", "I");
                put(&mut t, "r", gain.iter().map(|g| g / dt).collect());
                return Ok(t);
            }
            if let Some(a) = am.iter().chain(&asyn).find(|&&a| !(0.0..1.0).contains(&a)) {
                return Err(format!(
                    "a retention factor {a}; NIR's time constants need factors in [0, 1)"
                ));
            }
            let tau = |a: f64| dt / (1.0 - a);
            let synaptic = asyn.iter().any(|&a| a != 0.0);
            let km: Vec<f64> = am.iter().map(|a| 1.0 - a).collect();
            if synaptic {
                let ks: Vec<f64> = asyn.iter().map(|a| 1.0 - a).collect();
                t.text("type", if spiking { "CubaLIF" } else { "CubaLI" });
                put(&mut t, "tau_syn", asyn.iter().map(|&a| tau(a)).collect());
                put(&mut t, "tau_mem", am.iter().map(|&a| tau(a)).collect());
                put(
                    &mut t,
                    "r",
                    (0..size).map(|k| gain[k] / (km[k] * ks[k])).collect(),
                );
                put(&mut t, "w_in", vec![1.0; size]);
            } else {
                t.text("type", if spiking { "LIF" } else { "LI" });
                put(&mut t, "tau", am.iter().map(|&a| tau(a)).collect());
                put(&mut t, "r", (0..size).map(|k| gain[k] / km[k]).collect());
            }
            put(
                &mut t,
                "v_leak",
                (0..size).map(|k| bias[k] / km[k]).collect(),
            );
            if spiking {
                put(&mut t, "v_threshold", get("threshold"));
                put(&mut t, "v_reset", zeros);
            }
        }
        ModelKind::Alif | ModelKind::SigmaDelta => unreachable!("refused above"),
    }
    Ok(t)
}

/// The projection's dense weights, one matrix per distinct delay.
#[allow(clippy::type_complexity)]
fn split_by_delay(
    g: &Graph,
    n: NodeId,
    p: &snn_ir::Projection,
) -> Result<Vec<(u32, (usize, usize, Vec<f64>))>, String> {
    let w = g.tensor(p.weights);
    let (rows, cols) = match w.shape() {
        [r, c] => (*r as usize, *c as usize),
        s => return Err(format!("weights of shape {s:?}")),
    };
    let values = w
        .f32s()
        .ok_or_else(|| format!("the weights of {} have no values", g.label(n)))?;
    let delays: Vec<u32> = match p.delay {
        Delay::Const(d) => vec![d; values.len()],
        Delay::PerSynapse(t) => g
            .tensor(t)
            .i32s()
            .ok_or("per-synapse delays without values")?
            .iter()
            .map(|&d| d.max(0) as u32)
            .collect(),
    };
    let mut out: Vec<(u32, (usize, usize, Vec<f64>))> = Vec::new();
    let mut put = |d: u32, r: usize, c: usize, v: f32| {
        let k = match out.iter().position(|(x, _)| *x == d) {
            Some(k) => k,
            None => {
                out.push((d, (rows, cols, vec![0.0; rows * cols])));
                out.len() - 1
            }
        };
        out[k].1.2[r * cols + c] += v as f64;
    };
    match w.pattern() {
        None => {
            for r in 0..rows {
                for c in 0..cols {
                    let e = r * cols + c;
                    put(delays[e], r, c, values[e]);
                }
            }
        }
        Some(pat) => {
            for r in 0..rows {
                for e in pat.row(r) {
                    put(delays[e], r, pat.col_idx[e] as usize, values[e]);
                }
            }
        }
    }
    out.sort_by_key(|(d, _)| *d);
    Ok(out)
}
