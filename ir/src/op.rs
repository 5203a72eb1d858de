//! Operations: the closed set of things a graph node can compute.
//!
//! Every node produces one value per time step: a vector of `size` elements
//! or a scalar. The exact per-step semantics of each operation and neuron
//! model are specified in `docs/semantics.md`; this file is their Rust form.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entities::TensorId;

/// A constant operand: a scalar, or a 1-D tensor with one value per element.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Const {
    Scalar(f32),
    Tensor(TensorId),
}

impl Const {
    pub fn as_scalar(self) -> Option<f32> {
        match self {
            Const::Scalar(v) => Some(v),
            Const::Tensor(_) => None,
        }
    }
}

/// Elementwise functions of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryFn {
    Neg,
    Relu,
    Tanh,
    Sigmoid,
    Exp,
    /// 1 where the operand is > 0, else 0.
    Heaviside,
}

impl UnaryFn {
    pub const ALL: [UnaryFn; 6] = [
        UnaryFn::Neg,
        UnaryFn::Relu,
        UnaryFn::Tanh,
        UnaryFn::Sigmoid,
        UnaryFn::Exp,
        UnaryFn::Heaviside,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnaryFn::Neg => "neg",
            UnaryFn::Relu => "relu",
            UnaryFn::Tanh => "tanh",
            UnaryFn::Sigmoid => "sigmoid",
            UnaryFn::Exp => "exp",
            UnaryFn::Heaviside => "heaviside",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The function on one `f32`.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryFn::Neg => -x,
            UnaryFn::Relu => x.max(0.0),
            UnaryFn::Tanh => x.tanh(),
            UnaryFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            UnaryFn::Exp => x.exp(),
            UnaryFn::Heaviside => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Elementwise functions of two operands; a scalar operand is broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryFn {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryFn {
    pub const ALL: [BinaryFn; 4] = [BinaryFn::Add, BinaryFn::Sub, BinaryFn::Mul, BinaryFn::Div];

    pub fn name(self) -> &'static str {
        match self {
            BinaryFn::Add => "add",
            BinaryFn::Sub => "sub",
            BinaryFn::Mul => "mul",
            BinaryFn::Div => "div",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryFn::Add => "+",
            BinaryFn::Sub => "-",
            BinaryFn::Mul => "*",
            BinaryFn::Div => "/",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryFn::Add => a + b,
            BinaryFn::Sub => a - b,
            BinaryFn::Mul => a * b,
            BinaryFn::Div => a / b,
        }
    }
}

/// Synaptic delay of a projection, in time steps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Delay {
    /// Every synapse has the same delay.
    Const(u32),
    /// An `i32` tensor laid out like the weights (same shape, same sparsity
    /// pattern), one delay per synapse.
    PerSynapse(TensorId),
}

/// A weighted, delayed connection: `out_i[t] = Σ_j W_ij · src_j[t − D_ij]`.
/// `W @ x` in the source is a projection with delay 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// `[rows, cols]`, dense or sparse; `rows` is the output size.
    pub weights: TensorId,
    pub delay: Delay,
}

/// What a spiking neuron's membrane does after it spikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reset {
    /// `v = 0`.
    Zero,
    /// `v = v − threshold`.
    Subtract,
}

impl Reset {
    pub fn name(self) -> &'static str {
        match self {
            Reset::Zero => "zero",
            Reset::Subtract => "subtract",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "zero" => Some(Reset::Zero),
            "subtract" => Some(Reset::Subtract),
            _ => None,
        }
    }
}

/// Activation of a sigma-delta neuron.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Act {
    Identity,
    Relu,
    Clamp { lo: f32, hi: f32 },
}

impl Act {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Act::Identity => x,
            Act::Relu => x.max(0.0),
            Act::Clamp { lo, hi } => x.clamp(lo, hi),
        }
    }
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Act::Identity => f.write_str("identity"),
            Act::Relu => f.write_str("relu"),
            Act::Clamp { lo, hi } => write!(f, "clamp({lo}, {hi})"),
        }
    }
}

/// The neuron models a population can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    Lif,
    If,
    Alif,
    SigmaDelta,
    Li,
}

impl ModelKind {
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Lif,
        ModelKind::If,
        ModelKind::Alif,
        ModelKind::SigmaDelta,
        ModelKind::Li,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Lif => "lif",
            ModelKind::If => "if",
            ModelKind::Alif => "alif",
            ModelKind::SigmaDelta => "sigma_delta",
            ModelKind::Li => "li",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The model's parameters, in canonical order.
    pub fn params(self) -> &'static [ParamSpec] {
        use ParamKind::*;
        const fn p(name: &'static str, kind: ParamKind, default: Option<ParamValue>) -> ParamSpec {
            ParamSpec {
                name,
                kind,
                default,
            }
        }
        const fn real(v: f32) -> Option<ParamValue> {
            Some(ParamValue::Real(Const::Scalar(v)))
        }
        const LIF: &[ParamSpec] = &[
            p("alpha_syn", Real, real(0.0)),
            p("alpha_mem", Real, None),
            p("threshold", Real, real(1.0)),
            p("bias", Real, real(0.0)),
            p("gain", Real, real(1.0)),
            p("v_min", Real, real(f32::NEG_INFINITY)),
            p("reset", ResetMode, Some(ParamValue::Reset(Reset::Zero))),
            p("refractory", Steps, Some(ParamValue::Steps(0))),
        ];
        const IF: &[ParamSpec] = &[
            p("threshold", Real, real(1.0)),
            p("bias", Real, real(0.0)),
            p("leak", Real, real(0.0)),
            p("gain", Real, real(1.0)),
            p("v_min", Real, real(f32::NEG_INFINITY)),
            p("reset", ResetMode, Some(ParamValue::Reset(Reset::Zero))),
            p("refractory", Steps, Some(ParamValue::Steps(0))),
        ];
        const ALIF: &[ParamSpec] = &[
            p("alpha_mem", Real, None),
            p("rho", Real, None),
            p("beta", Real, real(1.8)),
            p("b0", Real, real(0.01)),
            p("bias", Real, real(0.0)),
            p("gain", Real, real(1.0)),
            p("reset", ResetMode, Some(ParamValue::Reset(Reset::Subtract))),
            p("refractory", Steps, Some(ParamValue::Steps(0))),
        ];
        const SD: &[ParamSpec] = &[
            p("alpha", Real, real(0.0)),
            p("threshold", Real, real(0.0)),
            p("act", Activation, Some(ParamValue::Act(Act::Relu))),
            p("bias", Real, real(0.0)),
            p("gain", Real, real(1.0)),
        ];
        const LI: &[ParamSpec] = &[
            p("alpha_syn", Real, real(0.0)),
            p("alpha_mem", Real, None),
            p("bias", Real, real(0.0)),
            p("leak", Real, real(0.0)),
            p("gain", Real, real(1.0)),
            p("v_min", Real, real(f32::NEG_INFINITY)),
        ];
        match self {
            ModelKind::Lif => LIF,
            ModelKind::If => IF,
            ModelKind::Alif => ALIF,
            ModelKind::SigmaDelta => SD,
            ModelKind::Li => LI,
        }
    }

    /// Whether the population's output is a binary spike train.
    pub fn is_spiking(self) -> bool {
        matches!(self, ModelKind::Lif | ModelKind::If | ModelKind::Alif)
    }

    /// Whether a `Probe` of `var` reads something of this model: its
    /// state variables ([`ModelKind::probes`]) and, for a leaky integrator,
    /// the change of its voltage over a step.
    pub fn reads(self, var: ProbeVar) -> bool {
        self.probes().contains(&var) || (var == ProbeVar::Dv && self == ModelKind::Li)
    }

    /// The state variables a `Probe` may read in the language.
    pub fn probes(self) -> &'static [ProbeVar] {
        match self {
            ModelKind::Lif | ModelKind::Li => &[ProbeVar::V, ProbeVar::I],
            ModelKind::If | ModelKind::SigmaDelta => &[ProbeVar::V],
            ModelKind::Alif => &[ProbeVar::V, ProbeVar::B],
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a model parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A real number, per population (scalar) or per neuron (1-D tensor).
    Real,
    /// A whole number of time steps, per population.
    Steps,
    ResetMode,
    Activation,
}

/// A parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ParamValue {
    Real(Const),
    Steps(u32),
    Reset(Reset),
    Act(Act),
}

/// A parameter of a neuron model: name, type, and default (`None`: required).
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: Option<ParamValue>,
}

/// A neuron population's model with all its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    kind: ModelKind,
    /// In the order of `kind.params()`.
    values: Vec<ParamValue>,
}

/// A parameter set that does not fit its model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("`{model}` has no parameter `{name}`")]
    Unknown { model: ModelKind, name: String },
    #[error("`{model}` needs the parameter `{name}`")]
    Missing {
        model: ModelKind,
        name: &'static str,
    },
    #[error("parameter `{name}` expects {expected}")]
    WrongKind {
        name: &'static str,
        expected: &'static str,
    },
}

impl ParamKind {
    pub fn describe(self) -> &'static str {
        match self {
            ParamKind::Real => "a number or a per-neuron tensor",
            ParamKind::Steps => "a whole number of time steps",
            ParamKind::ResetMode => "`zero` or `subtract`",
            ParamKind::Activation => "`identity`, `relu` or `clamp(lo, hi)`",
        }
    }

    fn accepts(self, v: &ParamValue) -> bool {
        matches!(
            (self, v),
            (ParamKind::Real, ParamValue::Real(_))
                | (ParamKind::Steps, ParamValue::Steps(_))
                | (ParamKind::ResetMode, ParamValue::Reset(_))
                | (ParamKind::Activation, ParamValue::Act(_))
        )
    }
}

impl Model {
    /// Builds a model from named values; unnamed parameters take defaults.
    pub fn new(
        kind: ModelKind,
        given: impl IntoIterator<Item = (String, ParamValue)>,
    ) -> Result<Self, ModelError> {
        let specs = kind.params();
        let mut values: Vec<Option<ParamValue>> = specs.iter().map(|s| s.default).collect();
        for (name, value) in given {
            let Some(i) = specs.iter().position(|s| s.name == name) else {
                return Err(ModelError::Unknown { model: kind, name });
            };
            if !specs[i].kind.accepts(&value) {
                return Err(ModelError::WrongKind {
                    name: specs[i].name,
                    expected: specs[i].kind.describe(),
                });
            }
            values[i] = Some(value);
        }
        let values = values
            .into_iter()
            .zip(specs)
            .map(|(v, s)| {
                v.ok_or(ModelError::Missing {
                    model: kind,
                    name: s.name,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Model { kind, values })
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// `(name, value)` for every parameter, in canonical order.
    pub fn params(&self) -> impl Iterator<Item = (&'static str, ParamValue)> + '_ {
        self.kind
            .params()
            .iter()
            .zip(&self.values)
            .map(|(s, v)| (s.name, *v))
    }

    /// The value of parameter `name`.
    ///
    /// Panics if the model has no such parameter: callers name parameters of
    /// the model kind they matched on.
    pub fn get(&self, name: &str) -> ParamValue {
        let i = self.index(name);
        self.values[i]
    }

    /// A real parameter (see [`Model::get`] for when this panics).
    pub fn real(&self, name: &str) -> Const {
        match self.get(name) {
            ParamValue::Real(c) => c,
            other => panic!("parameter {name} of {} is {other:?}, not real", self.kind),
        }
    }

    /// A steps parameter (see [`Model::get`]).
    pub fn steps(&self, name: &str) -> u32 {
        match self.get(name) {
            ParamValue::Steps(n) => n,
            other => panic!("parameter {name} of {} is {other:?}, not steps", self.kind),
        }
    }

    /// The reset mode (see [`Model::get`]).
    pub fn reset(&self) -> Reset {
        match self.get("reset") {
            ParamValue::Reset(r) => r,
            other => panic!("reset of {} is {other:?}", self.kind),
        }
    }

    /// The sigma-delta activation (see [`Model::get`]).
    pub fn act(&self) -> Act {
        match self.get("act") {
            ParamValue::Act(a) => a,
            other => panic!("act of {} is {other:?}", self.kind),
        }
    }

    /// Replaces one parameter; the kind must match the spec.
    pub fn set(&mut self, name: &str, value: ParamValue) -> Result<(), ModelError> {
        let i = self
            .kind
            .params()
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| ModelError::Unknown {
                model: self.kind,
                name: name.into(),
            })?;
        let spec = &self.kind.params()[i];
        if !spec.kind.accepts(&value) {
            return Err(ModelError::WrongKind {
                name: spec.name,
                expected: spec.kind.describe(),
            });
        }
        self.values[i] = value;
        Ok(())
    }

    fn index(&self, name: &str) -> usize {
        self.kind
            .params()
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("{} has no parameter {name}", self.kind))
    }

    /// Every tensor the parameters refer to.
    pub fn tensors(&self) -> impl Iterator<Item = TensorId> + '_ {
        self.values.iter().filter_map(|v| match v {
            ParamValue::Real(Const::Tensor(t)) => Some(*t),
            _ => None,
        })
    }
}

/// A group of `size` neurons sharing a model. Its inputs (node operands) are
/// summed into one input current per neuron.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Population {
    pub size: u32,
    pub model: Model,
}

/// A neuron state variable that a probe reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProbeVar {
    /// Membrane potential (sigma-delta: the activation before encoding).
    V,
    /// Synaptic current.
    I,
    /// Adaptation variable.
    B,
    /// The membrane potential's change over the last model step (`v` now
    /// minus `v` at the end of the step before). Not written in the
    /// language: `spike_codes` reads a memoryless readout this way on
    /// TrueNorth, where it becomes an integrator without leak.
    Dv,
}

impl ProbeVar {
    pub fn name(self) -> &'static str {
        match self {
            ProbeVar::V => "v",
            ProbeVar::I => "i",
            ProbeVar::B => "b",
            ProbeVar::Dv => "dv",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "v" => Some(ProbeVar::V),
            "i" => Some(ProbeVar::I),
            "b" => Some(ProbeVar::B),
            "dv" => Some(ProbeVar::Dv),
            _ => None,
        }
    }
}

/// The operation of a node. Operands are the node's arguments, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// An external input vector; its values come from the input array.
    /// No operands.
    Input { name: String, size: u32 },
    /// A constant. No operands.
    Const(Const),
    /// `f(x)`. Operands: `[x]`.
    Unary(UnaryFn),
    /// `a ∘ b`. Operands: `[a, b]`.
    Binary(BinaryFn),
    /// `min(max(x, lo), hi)`. Operands: `[x]`.
    Clamp { lo: f32, hi: f32 },
    /// A weighted, delayed connection. Operands: `[src]`.
    Project(Projection),
    /// A register: its value at step `t` is its operand's value at `t − 1`,
    /// `init` at step 0. Operands: `[next]`.
    State { size: u32, init: Const },
    /// A neuron population. Operands: input currents, each of `size` elements.
    Population(Population),
    /// A state variable of a population after this step's update.
    /// Operands: `[population]`.
    Probe(ProbeVar),
    /// A named network output. Operands: `[value]`.
    Output { name: String },
}

impl Op {
    /// The operation's name in the text format.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Const(_) => "const",
            Op::Unary(f) => f.name(),
            Op::Binary(f) => f.name(),
            Op::Clamp { .. } => "clamp",
            Op::Project(_) => "project",
            Op::State { .. } => "state",
            Op::Population(p) => p.model.kind().name(),
            Op::Probe(_) => "probe",
            Op::Output { .. } => "output",
        }
    }

    /// Exactly how many operands the op takes, or `None` for "any number".
    pub fn arity(&self) -> Option<usize> {
        match self {
            Op::Input { .. } | Op::Const(_) => Some(0),
            Op::Unary(_)
            | Op::Clamp { .. }
            | Op::Project(_)
            | Op::State { .. }
            | Op::Probe(_)
            | Op::Output { .. } => Some(1),
            Op::Binary(_) => Some(2),
            Op::Population(_) => None,
        }
    }

    /// Every tensor the op refers to.
    pub fn tensors(&self) -> Vec<TensorId> {
        match self {
            Op::Const(Const::Tensor(t)) => vec![*t],
            Op::State {
                init: Const::Tensor(t),
                ..
            } => vec![*t],
            Op::Project(p) => {
                let mut v = vec![p.weights];
                if let Delay::PerSynapse(d) = p.delay {
                    v.push(d);
                }
                v
            }
            Op::Population(p) => p.model.tensors().collect(),
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_defaults_and_errors() {
        let m = Model::new(
            ModelKind::Lif,
            [(
                "alpha_mem".to_string(),
                ParamValue::Real(Const::Scalar(0.9)),
            )],
        )
        .unwrap();
        assert_eq!(m.real("threshold"), Const::Scalar(1.0));
        assert_eq!(m.reset(), Reset::Zero);
        assert_eq!(
            Model::new(ModelKind::Lif, []).unwrap_err().to_string(),
            "`lif` needs the parameter `alpha_mem`"
        );
        assert_eq!(
            Model::new(ModelKind::Li, [("tau".to_string(), ParamValue::Steps(3))])
                .unwrap_err()
                .to_string(),
            "`li` has no parameter `tau`"
        );
        assert_eq!(
            Model::new(ModelKind::If, [("reset".to_string(), ParamValue::Steps(3))])
                .unwrap_err()
                .to_string(),
            "parameter `reset` expects `zero` or `subtract`"
        );
    }

    #[test]
    fn functions_match_their_definitions() {
        assert_eq!(UnaryFn::Relu.apply(-2.0), 0.0);
        assert_eq!(UnaryFn::Heaviside.apply(0.0), 0.0);
        assert_eq!(UnaryFn::Heaviside.apply(1e-9), 1.0);
        assert_eq!(UnaryFn::Sigmoid.apply(0.0), 0.5);
        assert_eq!(Act::Clamp { lo: 0.0, hi: 6.0 }.apply(7.5), 6.0);
        assert_eq!(BinaryFn::Div.apply(3.0, 4.0), 0.75);
    }
}
