//! Small helpers to rewrite the ids an op refers to.

use crate::entities::TensorId;
use crate::op::{Const, Delay, Op, ParamValue};

/// Replaces every tensor id in `op` by `f(id)`.
pub fn remap_tensors(op: &mut Op, f: &dyn Fn(TensorId) -> TensorId) {
    let konst = |c: &mut Const| {
        if let Const::Tensor(t) = c {
            *t = f(*t);
        }
    };
    match op {
        Op::Const(c) => konst(c),
        Op::State { init, .. } => konst(init),
        Op::Project(p) => {
            p.weights = f(p.weights);
            if let Delay::PerSynapse(t) = &mut p.delay {
                *t = f(*t);
            }
        }
        Op::Population(p) => {
            let names: Vec<(&'static str, ParamValue)> = p.model.params().collect();
            for (name, value) in names {
                if let ParamValue::Real(Const::Tensor(t)) = value {
                    p.model
                        .set(name, ParamValue::Real(Const::Tensor(f(t))))
                        .expect("same kind as before");
                }
            }
        }
        Op::Input { .. }
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Clamp { .. }
        | Op::Probe(_)
        | Op::Output { .. } => {}
    }
}
