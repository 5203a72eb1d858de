//! Reading and rewriting a population's real parameters (a scalar or one
//! value per neuron), remembering the largest change for the report.

use snn_ir::tensor::{Origin, Tensor};
use snn_ir::{Act, Const, Graph, NodeId, Op, ParamValue};

/// The values of a real parameter.
pub enum Values<'a> {
    Scalar(f32),
    PerNeuron(&'a [f32]),
    /// A tensor read from a dump without its values.
    Missing,
}

impl Values<'_> {
    /// Every value, folded with `f` (`init` when missing).
    pub fn fold<T>(&self, init: T, f: impl Fn(T, f32) -> T) -> T {
        match self {
            Values::Scalar(v) => f(init, *v),
            Values::PerNeuron(v) => v.iter().fold(init, |a, &x| f(a, x)),
            Values::Missing => init,
        }
    }

    /// The first value for which `bad` holds.
    pub fn find(&self, bad: impl Fn(f32) -> bool) -> Option<f32> {
        match self {
            Values::Scalar(v) => bad(*v).then_some(*v),
            Values::PerNeuron(v) => v.iter().copied().find(|&x| bad(x)),
            Values::Missing => None,
        }
    }
}

/// Parameter `name` of `pop`, if its model has one.
pub fn real(g: &Graph, pop: NodeId, name: &str) -> Option<Const> {
    let Op::Population(p) = g.op(pop) else {
        return None;
    };
    p.model
        .kind()
        .params()
        .iter()
        .any(|s| s.name == name)
        .then(|| p.model.real(name))
}

/// The values of parameter `name` of `pop` (`None` if its model has none).
pub fn values<'g>(g: &'g Graph, pop: NodeId, name: &str) -> Option<Values<'g>> {
    Some(match real(g, pop, name)? {
        Const::Scalar(v) => Values::Scalar(v),
        Const::Tensor(t) => match g.tensor(t).f32s() {
            Some(v) => Values::PerNeuron(v),
            None => Values::Missing,
        },
    })
}

/// Largest `|x|` of parameter `name` (0 without it).
pub fn max_abs(g: &Graph, pop: NodeId, name: &str) -> f64 {
    values(g, pop, name).map_or(0.0, |v| v.fold(0f64, |m, x| m.max(x.abs() as f64)))
}

/// Largest value of parameter `name`, if any.
pub fn max(g: &Graph, pop: NodeId, name: &str) -> Option<f64> {
    values(g, pop, name).map(|v| v.fold(f64::NEG_INFINITY, |m, x| m.max(x as f64)))
}

/// The sigma-delta activation of `pop`, if it has one.
pub fn act(g: &Graph, pop: NodeId) -> Option<Act> {
    match g.op(pop) {
        Op::Population(p) if p.model.kind().params().iter().any(|s| s.name == "act") => {
            Some(p.model.act())
        }
        _ => None,
    }
}

/// The largest relative change made to one population's parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Worst {
    /// `(parameter, neuron (per-neuron parameters), before, after)`.
    pub at: Option<(String, Option<usize>, f32, f32)>,
    pub relative: f64,
}

impl Worst {
    fn see(&mut self, name: &str, i: Option<usize>, x: f32, q: f32) {
        if x == q || !x.is_finite() {
            return;
        }
        // A zero that moved has moved infinitely far, relatively.
        let r = if x == 0.0 {
            f64::INFINITY
        } else {
            ((x as f64 - q as f64) / x as f64).abs()
        };
        if r > self.relative {
            self.relative = r;
            self.at = Some((name.to_string(), i, x, q));
        }
    }

    /// `alpha_mem: 0.95122945 → 0.9511719`, or `exact`.
    pub fn describe(&self) -> String {
        match &self.at {
            None => "exact".into(),
            Some((name, None, x, q)) => format!("{name}: {x} → {q}"),
            Some((name, Some(i), x, q)) => format!("{name}[{i}]: {x} → {q}"),
        }
    }
}

/// Replaces parameter `name` of `pop` by `f` of each of its values.
pub fn map(g: &mut Graph, pop: NodeId, name: &str, worst: &mut Worst, f: impl Fn(f32) -> f32) {
    let Some(c) = real(g, pop, name) else { return };
    let new = match c {
        Const::Scalar(x) => {
            let q = f(x);
            worst.see(name, None, x, q);
            if q.to_bits() == x.to_bits() {
                return;
            }
            Const::Scalar(q)
        }
        Const::Tensor(t) => {
            let Some(v) = g.tensor(t).f32s() else { return };
            let q: Vec<f32> = v.iter().map(|&x| f(x)).collect();
            for (i, (&x, &y)) in v.iter().zip(&q).enumerate() {
                worst.see(name, Some(i), x, y);
            }
            if q.iter().zip(v).all(|(a, b)| a.to_bits() == b.to_bits()) {
                return;
            }
            let shape = g.tensor(t).shape().to_vec();
            // Invariant: same shape and count as the parameter's tensor.
            let tensor = Tensor::from_f32(shape, q, Origin::Derived).expect("one value per neuron");
            Const::Tensor(g.add_tensor(tensor))
        }
    };
    set(g, pop, name, ParamValue::Real(new));
}

/// Replaces the bounds of a clamping activation by `f` of each.
pub fn map_act(g: &mut Graph, pop: NodeId, worst: &mut Worst, f: impl Fn(f32) -> f32) {
    let Some(Act::Clamp { lo, hi }) = act(g, pop) else {
        return;
    };
    let (ql, qh) = (f(lo), f(hi));
    worst.see("act lo", None, lo, ql);
    worst.see("act hi", None, hi, qh);
    set(
        g,
        pop,
        "act",
        ParamValue::Act(Act::Clamp { lo: ql, hi: qh }),
    );
}

fn set(g: &mut Graph, pop: NodeId, name: &str, v: ParamValue) {
    if let Op::Population(p) = g.op_mut(pop) {
        // Invariant: callers only set parameters the model has (checked by
        // `real` / `act`), with a value of the parameter's kind.
        let _ = p.model.set(name, v);
    }
}
