//! Neuron nodes as snnc populations: each NIR neuron's continuous-time
//! parameters discretized into a `lif`, `if` or `li` model (the equations
//! are in docs/nir.md), and constant inputs folded into biases.

use snn_ir::tensor::Origin;
use snn_ir::{Const, Graph, Model, ModelKind, NodeId, Op, ParamValue, Population, Reset, Tensor};

use super::import::{Cx, Discretize};
use super::nodes::{Arr, Node};

impl Cx {
    /// The retention factor and input factor of a time constant.
    pub(super) fn decay(&self, i: usize, name: &str, tau: f64) -> Result<(f64, f64), String> {
        let dt = self.opts.dt;
        if tau.is_nan() || tau <= 0.0 {
            return Err(format!(
                "{}: `{name}` = {tau} s; a time constant must be positive",
                self.label(i)
            ));
        }
        Ok(match self.opts.discretize {
            Discretize::Euler | Discretize::EulerJump => {
                let k = dt / tau;
                if k > 1.0 + 1e-6 {
                    return Err(format!(
                        "{}: `{name}` = {tau} s is shorter than the time step {dt} s: forward Euler would oscillate; use --discretize exact or a smaller --dt",
                        self.label(i)
                    ));
                }
                ((1.0 - k).max(0.0), k)
            }
            Discretize::Exact => {
                let a = (-dt / tau).exp();
                (a, 1.0 - a)
            }
        })
    }

    /// The snnc model of neuron node `i` with `n` neurons.
    pub(super) fn model(&self, i: usize, n: usize, g: &mut Graph) -> Result<Model, String> {
        let dt = self.opts.dt;
        let node = self.flat[i].node.as_ref().expect("a neuron node");
        let per = |f: &dyn Fn(usize) -> Result<f64, String>| -> Result<Vec<f64>, String> {
            (0..n).map(f).collect()
        };
        let zero_reset = |v_reset: &Arr| -> Result<(), String> {
            match (0..n).find(|&k| v_reset.at(k) != 0.0) {
                Some(k) => Err(format!(
                    "{}: `v_reset` = {} (neuron {k}); snnc resets to 0 (shift `v_leak`, `v_threshold` and the reset by {} to use it)",
                    self.label(i),
                    v_reset.at(k),
                    -v_reset.at(k)
                )),
                None => Ok(()),
            }
        };
        let mut params: Vec<(&str, Vec<f64>)> = Vec::new();
        let kind = match node {
            Node::Threshold { threshold } => {
                params.push(("alpha_mem", vec![0.0; n]));
                params.push(("threshold", per(&|k| Ok(threshold.at(k)))?));
                ModelKind::Lif
            }
            Node::I { r } => {
                params.push(("alpha_mem", vec![1.0; n]));
                params.push(("gain", per(&|k| Ok(dt * r.at(k)))?));
                ModelKind::Li
            }
            Node::IF {
                r,
                v_threshold,
                v_reset,
            } => {
                zero_reset(v_reset)?;
                params.push(("threshold", per(&|k| Ok(v_threshold.at(k)))?));
                params.push(("gain", per(&|k| Ok(dt * r.at(k)))?));
                ModelKind::If
            }
            Node::LI { tau, r, v_leak } | Node::LIF { tau, r, v_leak, .. } => {
                let (mut a, mut gain, mut bias) = (vec![], vec![], vec![]);
                for k in 0..n {
                    let (alpha, f) = self.decay(i, "tau", tau.at(k))?;
                    a.push(alpha);
                    gain.push(f * r.at(k));
                    bias.push(f * v_leak.at(k));
                }
                params.push(("alpha_mem", a));
                params.push(("gain", gain));
                params.push(("bias", bias));
                if let Node::LIF {
                    v_threshold,
                    v_reset,
                    ..
                } = node
                {
                    zero_reset(v_reset)?;
                    params.push(("threshold", per(&|k| Ok(v_threshold.at(k)))?));
                    ModelKind::Lif
                } else {
                    ModelKind::Li
                }
            }
            Node::CubaLI {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                w_in,
            }
            | Node::CubaLIF {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                w_in,
                ..
            } => {
                let (mut asyn, mut amem, mut gain, mut bias) = (vec![], vec![], vec![], vec![]);
                for k in 0..n {
                    let (a_s, f_s) = self.decay(i, "tau_syn", tau_syn.at(k))?;
                    let (a_m, f_m) = self.decay(i, "tau_mem", tau_mem.at(k))?;
                    let f_s = if self.opts.discretize == Discretize::EulerJump {
                        1.0
                    } else {
                        f_s
                    };
                    asyn.push(a_s);
                    amem.push(a_m);
                    gain.push(f_m * r.at(k) * f_s * w_in.at(k));
                    bias.push(f_m * v_leak.at(k));
                }
                params.push(("alpha_syn", asyn));
                params.push(("alpha_mem", amem));
                params.push(("gain", gain));
                params.push(("bias", bias));
                if let Node::CubaLIF {
                    v_threshold,
                    v_reset,
                    ..
                } = node
                {
                    zero_reset(v_reset)?;
                    params.push(("threshold", per(&|k| Ok(v_threshold.at(k)))?));
                    ModelKind::Lif
                } else {
                    ModelKind::Li
                }
            }
            other => {
                return Err(format!(
                    "{}: internal error: `{}` is not a neuron",
                    self.label(i),
                    other.type_name()
                ));
            }
        };
        let mut given: Vec<(String, ParamValue)> = Vec::new();
        for (name, values) in params {
            let c = constant(g, values.iter().map(|&v| v as f32).collect());
            given.push((name.into(), ParamValue::Real(c)));
        }
        if kind.params().iter().any(|p| p.name == "reset") {
            given.push(("reset".into(), ParamValue::Reset(Reset::Zero)));
        }
        Model::new(kind, given).map_err(|e| format!("{}: {e}", self.label(i)))
    }

    /// A constant input current `b` into population `pop` (node `i`).
    pub(super) fn add_bias(
        &self,
        g: &mut Graph,
        i: usize,
        pop: NodeId,
        b: &[f64],
    ) -> Result<(), String> {
        let Op::Population(p) = g.op(pop).clone() else {
            return Ok(());
        };
        let m = &p.model;
        let filtered = m.kind().params().iter().any(|s| s.name == "alpha_syn")
            && m.real("alpha_syn") != Const::Scalar(0.0);
        if filtered {
            return Err(format!(
                "{}: a constant input (an Affine or Conv bias) into a neuron with a synaptic current; snnc's `lif` adds its bias after the synaptic filter, so this needs the bias to be zero",
                self.label(i)
            ));
        }
        let gain = values_of(g, m.real("gain"), b.len());
        let old = values_of(g, m.real("bias"), b.len());
        let new: Vec<f32> = (0..b.len())
            .map(|k| old[k] + gain[k] * b[k] as f32)
            .collect();
        let c = constant(g, new);
        let mut model = p.model.clone();
        model
            .set("bias", ParamValue::Real(c))
            .map_err(|e| format!("{}: {e}", self.label(i)))?;
        g.set_op(
            pop,
            Op::Population(Population {
                size: p.size,
                model,
            }),
        );
        Ok(())
    }
}

fn values_of(g: &Graph, c: Const, n: usize) -> Vec<f32> {
    match c {
        Const::Scalar(v) => vec![v; n],
        Const::Tensor(t) => g.tensor(t).f32s().map(<[f32]>::to_vec).unwrap_or_default(),
    }
}

/// A scalar if all values agree, else a `[n]` tensor.
pub(super) fn constant(g: &mut Graph, v: Vec<f32>) -> Const {
    if v.iter().all(|&x| x == v[0]) {
        return Const::Scalar(v[0]);
    }
    let n = v.len() as u32;
    // A vector of n values always has shape [n].
    let t = Tensor::from_f32(vec![n], v, Origin::Derived).expect("n values for shape [n]");
    Const::Tensor(g.add_tensor(t))
}
