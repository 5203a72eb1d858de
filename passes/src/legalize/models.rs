//! Neuron models the chip runs: a population whose model the target does
//! not support is rewritten into one it does when both compute the same
//! thing, and is an error otherwise.

use snn_ir::tensor::Values;
use snn_ir::{Const, Graph, Model, ModelKind, NodeId, Op, ParamValue};

use super::synapses::{Synapses, relaid};
use crate::manager::{PassCx, PassDiag};
use crate::quantize::params;

/// Why `target` cannot run `kind`, in one clause.
fn why(target: &str, kind: ModelKind) -> &'static str {
    match (target, kind) {
        ("truenorth", ModelKind::Lif) => {
            "TrueNorth neurons leak linearly (a constant per tick), not by a factor, and hold no synaptic current"
        }
        ("truenorth", ModelKind::Li) => {
            "TrueNorth neurons leak linearly (a constant per tick), not by a factor, and hold no synaptic current; an integrator without leak (alpha_mem = 1, alpha_syn = 0) runs"
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

/// Whether parameter `name` of `pop` is 0 for every neuron (or absent).
fn all_zero(g: &Graph, pop: NodeId, name: &str) -> bool {
    params::values(g, pop, name).is_none_or(|v| v.fold(true, |z, x| z && x == 0.0))
}

/// Whether `--approximate leak=linear` applies to `pop` on TrueNorth: a
/// `lif` or `li` with no synaptic current whose voltage decays by a factor.
pub(super) fn wants_linear_leak(g: &Graph, pop: NodeId, cx: &PassCx) -> bool {
    let Op::Population(p) = g.op(pop) else {
        return false;
    };
    cx.options.approximate_leak
        && cx.target.name == "truenorth"
        && matches!(p.model.kind(), ModelKind::Lif | ModelKind::Li)
        && all_zero(g, pop, "alpha_syn")
        && params::values(g, pop, "alpha_mem").is_some_and(|v| v.fold(false, |d, a| d || a < 1.0))
}

/// `--approximate leak=linear`: a voltage that decays by `α` a step
/// becomes one that loses a constant `λ = (1 − α) · B / 2` a step toward 0
/// (TrueNorth's leak with reversal), the constant nearest (least squares)
/// to the decay `(1 − α) |v|` over `|v| ≤ B`. `B` is the threshold of a
/// spiking neuron, whose voltage lives below it, and the range the `range`
/// analysis chose for a readout, or the largest value it reached on the
/// data that analysis observed (`bound`: the value and where it is from). A `lif` becomes an `if`, an
/// `li` one with `alpha_mem = 1`. W0463 says what was chosen.
fn linear_leak(g: &mut Graph, pop: NodeId, bound: (f64, &str), cx: &mut PassCx) -> bool {
    let Op::Population(p) = g.op(pop).clone() else {
        return false;
    };
    let kind = p.model.kind();
    if !all_zero(g, pop, "bias") {
        cx.error(
            PassDiag::error(
                "E0460",
                format!(
                    "{} population {} has a bias and a decay: TrueNorth neurons have one leak register, which cannot hold both the bias and the linear leak that approximates the decay",
                    kind.name(),
                    g.label(pop)
                ),
            )
            .at(g.span(pop), format!("a `{}` population", kind.name()))
            .help("drop the bias, or compile for another backend"),
        );
        return false;
    }
    let (b, from) = if kind == ModelKind::Lif {
        (
            params::max(g, pop, "threshold").unwrap_or(1.0),
            "its threshold",
        )
    } else {
        bound
    };
    let b = if b.is_finite() && b > 0.0 { b } else { 1.0 };
    let lambda = |a: f32| ((1.0 - a.clamp(0.0, 1.0) as f64) * b / 2.0) as f32;
    let leak = match p.model.real("alpha_mem") {
        Const::Scalar(a) => Const::Scalar(lambda(a)),
        Const::Tensor(t) => {
            let old = g.tensor(t);
            let v: Vec<f32> = old
                .f32s()
                .map(|v| v.iter().map(|&a| lambda(a)).collect())
                .unwrap_or_default();
            let n = relaid(old, Values::F32(v.into()));
            Const::Tensor(g.add_tensor(n))
        }
    };
    let a_max = params::max(g, pop, "alpha_mem").unwrap_or(1.0);
    let l_max = params::values(g, pop, "alpha_mem")
        .map_or(0.0, |v| v.fold(0f64, |m, a| m.max(lambda(a) as f64)));
    let mut named: Vec<(String, ParamValue)> = p
        .model
        .params()
        .filter(|(name, _)| !matches!(*name, "alpha_syn" | "alpha_mem" | "leak"))
        .filter(|(name, _)| {
            kind == ModelKind::Li || ModelKind::If.params().iter().any(|s| s.name == *name)
        })
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    named.push(("leak".into(), ParamValue::Real(leak)));
    let new_kind = if kind == ModelKind::Lif {
        ModelKind::If
    } else {
        named.push(("alpha_mem".into(), ParamValue::Real(Const::Scalar(1.0))));
        named.push(("alpha_syn".into(), ParamValue::Real(Const::Scalar(0.0))));
        ModelKind::Li
    };
    let Ok(model) = Model::new(new_kind, named) else {
        return false;
    };
    if let Op::Population(x) = g.op_mut(pop) {
        x.model = model;
    }
    cx.warn(
        PassDiag::warning(
            "W0463",
            format!(
                "{} population {} decays by a factor ({} a step) but TrueNorth leaks linearly: it leaks {} a step toward 0 instead, the nearest constant for |v| up to {} ({from}); the two differ by up to {} a step",
                kind.name(),
                g.label(pop),
                a_max as f32,
                l_max as f32,
                b as f32,
                l_max as f32,
            ),
        )
        .at(g.span(pop), "this population")
        .help("compare the chip with the float model (`snnc compare`), or train with `leak` in place of the decay"),
    );
    cx.report.count("decays approximated by a linear leak", 1);
    true
}

/// Checks (and where exact, rewrites) the model of `pop`; false after
/// reporting E0460. `bound`: the range chosen for `pop` when
/// `--approximate leak=linear` needs it.
pub(super) fn supported(
    g: &mut Graph,
    pop: NodeId,
    bound: Option<(f64, &str)>,
    cx: &mut PassCx,
) -> bool {
    let Op::Population(p) = g.op(pop) else {
        return true;
    };
    let kind = p.model.kind();
    let truenorth = cx.target.name == "truenorth";
    if !all_zero(g, pop, "leak") {
        let why = if !truenorth {
            Some(format!(
                "its leak toward zero (`leak`) is TrueNorth's; {} has none",
                cx.target.name
            ))
        } else if !all_zero(g, pop, "bias") {
            Some(
                "TrueNorth neurons have one leak register, which cannot hold both its bias and its leak toward zero"
                    .to_string(),
            )
        } else {
            None
        };
        if let Some(why) = why {
            cx.error(
                PassDiag::error(
                    "E0460",
                    format!(
                        "{} population {} cannot run on {}: {why}",
                        kind.name(),
                        g.label(pop),
                        cx.target.name
                    ),
                )
                .at(g.span(pop), format!("a `{}` population", kind.name()))
                .help("set `leak = 0` (a decay is `alpha_mem`), or compile for truenorth"),
            );
            return false;
        }
    }
    if wants_linear_leak(g, pop, cx) {
        return linear_leak(g, pop, bound.unwrap_or((f64::INFINITY, "its range")), cx);
    }
    let Op::Population(p) = g.op(pop) else {
        return true;
    };
    if cx.target.supports(kind) {
        return true;
    }
    // An integrator without leak or current is a TrueNorth neuron whose
    // leak is its bias (or its leak toward zero) and which never reaches
    // its threshold.
    if kind == ModelKind::Li
        && truenorth
        && p.model.real("alpha_mem") == Const::Scalar(1.0)
        && all_zero(g, pop, "alpha_syn")
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
        .help(if truenorth && matches!(kind, ModelKind::Lif | ModelKind::Li) {
            format!(
                "{} runs {}; `--approximate leak=linear` replaces a decay (with alpha_syn = 0) by the nearest linear leak; or compile for another backend",
                cx.target.name,
                runs.join(", ")
            )
        } else {
            format!(
                "{} runs {}; compile for another backend, or write this layer with those neurons",
                cx.target.name,
                runs.join(", ")
            )
        }),
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
