//! Neuron models the chip runs: a population whose model the target does
//! not support is rewritten into one it does when both compute the same
//! thing, and is an error otherwise.

use snn_ir::{Const, Graph, Model, ModelKind, NodeId, Op, ParamValue};

use crate::manager::{PassCx, PassDiag};

/// Why `target` cannot run `kind`, in one clause.
fn why(target: &str, kind: ModelKind) -> &'static str {
    match (target, kind) {
        ("truenorth", ModelKind::Lif | ModelKind::Li) => {
            "TrueNorth neurons leak linearly (a constant per tick), not by a factor"
        }
        ("truenorth", ModelKind::SigmaDelta) => {
            "TrueNorth spikes carry no payload, so graded sigma-delta messages cannot be sent"
        }
        ("truenorth", ModelKind::Alif) => "TrueNorth neurons have no adaptive threshold",
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
