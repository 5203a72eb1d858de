//! Neuron models the chip runs: a population whose model the target does
//! not support is rewritten into one it does when both compute the same
//! thing, and is an error otherwise.

use snn_ir::{Const, Graph, Model, ModelKind, NodeId, Op, ParamValue};

use super::synapses::Synapses;
use crate::manager::{PassCx, PassDiag};

/// Why `target` cannot run `kind`, in one clause.
fn why(target: &str, kind: ModelKind) -> &'static str {
    match (target, kind) {
        ("truenorth", ModelKind::Lif) => {
            "TrueNorth neurons leak linearly (a constant per tick), not by a factor"
        }
        ("truenorth", ModelKind::Li) => {
            "TrueNorth neurons leak linearly (a constant per tick), not by a factor; an integrator without leak (alpha_mem = 1, alpha_syn = 0) runs"
        }
        ("truenorth", ModelKind::SigmaDelta) => {
            "TrueNorth spikes carry no payload, so graded sigma-delta messages cannot be sent"
        }
        ("truenorth", ModelKind::Alif) => "TrueNorth neurons have no adaptive threshold",
        ("loihi", ModelKind::SigmaDelta) => {
            "Loihi 1 spikes carry no payload, so graded sigma-delta messages cannot be sent (Loihi 2 sends them)"
        }
        _ => "the chip has no neuron circuit for it",
    }
}

/// `lif` without current decay or leak, as the same `if`.
fn lif_as_if(m: &Model) -> Option<Model> {
    let scalar = |name: &str| match m.real(name) {
        Const::Scalar(v) => Some(v),
        Const::Tensor(_) => None,
    };
    if scalar("alpha_syn") != Some(0.0) || scalar("alpha_mem") != Some(1.0) {
        return None;
    }
    let named: Vec<(String, ParamValue)> = m
        .params()
        .filter(|(name, _)| !matches!(*name, "alpha_syn" | "alpha_mem"))
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    Model::new(ModelKind::If, named).ok()
}

/// Checks (and where exact, rewrites) the model of `pop`; false after
/// reporting E0460.
pub(super) fn supported(g: &mut Graph, pop: NodeId, cx: &mut PassCx) -> bool {
    let Op::Population(p) = g.op(pop) else {
        return true;
    };
    let kind = p.model.kind();
    if cx.target.supports(kind) {
        return true;
    }
    // An integrator without leak or current is a TrueNorth neuron whose
    // leak is its bias and which never reaches its threshold.
    if kind == ModelKind::Li
        && cx.target.name == "truenorth"
        && p.model.real("alpha_mem") == Const::Scalar(1.0)
        && p.model.real("alpha_syn") == Const::Scalar(0.0)
    {
        cx.report.count("integrators run as TrueNorth neurons", 1);
        return true;
    }
    if kind == ModelKind::Lif
        && cx.target.supports(ModelKind::If)
        && let Some(m) = lif_as_if(&p.model)
    {
        if let Op::Population(p) = g.op_mut(pop) {
            p.model = m;
        }
        cx.report.count("lif populations run as if", 1);
        return true;
    }
    let runs: Vec<String> = cx
        .target
        .models
        .iter()
        .map(|m| format!("`{}`", m.name()))
        .collect();
    cx.error(
        PassDiag::error(
            "E0460",
            format!(
                "{} population {} cannot run on {}: {}",
                kind.name(),
                g.label(pop),
                cx.target.name,
                why(cx.target.name, kind)
            ),
        )
        .at(g.span(pop), format!("a `{}` population", kind.name()))
        .help(format!(
            "{} runs {}; compile for another backend, or write this layer with those neurons",
            cx.target.name,
            runs.join(", ")
        )),
    );
    false
}

/// Whether projection `proj` joins neuron `i` of its source to neuron `i`
/// of its target and nothing else (a diagonal weight pattern, one size).
pub(crate) fn one_to_one(g: &Graph, proj: NodeId) -> bool {
    let (Op::Project(p), Some(src)) = (g.op(proj), g.arg(proj, 0)) else {
        return false;
    };
    let Some(syn) = Synapses::of(g.tensor(p.weights)) else {
        return false;
    };
    syn.rows == syn.cols
        && syn.cols == g.shape(src).len() as usize
        && (0..syn.rows).all(|r| {
            let mut nonzero = syn.row(r).filter(|&k| syn.weights[k] != 0.0);
            nonzero.next().is_some_and(|k| syn.col(r, k) as usize == r) && nonzero.next().is_none()
        })
}

/// On a chip whose spikes carry no value, checks that leaky integrator
/// `pop` sends its voltage only one-to-one, into the neuron it is then a
/// compartment of (placement keeps the two on one core); false after
/// reporting E0462.
pub(super) fn values_stay_home(g: &Graph, pop: NodeId, cx: &mut PassCx) -> bool {
    if cx.target.graded_spikes {
        return true;
    }
    let Op::Population(p) = g.op(pop) else {
        return true;
    };
    if p.model.kind() != ModelKind::Li {
        return true;
    }
    let far: Vec<NodeId> = g
        .users(pop)
        .iter()
        .map(|&(u, _)| u)
        .filter(|&u| matches!(g.op(u), Op::Project(_)) && !one_to_one(g, u))
        .collect();
    let Some(&proj) = far.first() else {
        return true;
    };
    cx.error(
        PassDiag::error(
            "E0462",
            format!(
                "li population {} sends its voltage through projection {}, and {} spikes carry no value: a leaky integrator can feed only the neuron it is a compartment of (one-to-one, on its core)",
                g.label(pop),
                g.label(proj),
                cx.target.name
            ),
        )
        .at(g.span(proj), "a projection of a voltage")
        .help(format!(
            "compile for a chip with graded spikes (loihi2, seneca), or make {} a spiking population",
            g.label(pop)
        )),
    );
    false
}
