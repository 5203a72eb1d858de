//! The verifier: checks every structural invariant of a graph, so that code
//! after it can index tensors and operands without `Option`s.

use std::collections::HashSet;
use std::fmt;

use crate::entities::{NodeId, TensorId};
use crate::graph::{Graph, Shape};
use crate::op::{Act, Const, Delay, Model, Op, ParamValue};
use crate::tensor::{DType, ShapeFmt};

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    pub node: Option<NodeId>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            Some(n) => write!(f, "{n}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// All broken invariants of `g`, or `Ok` if there are none.
pub fn verify(g: &Graph) -> Result<(), Vec<VerifyError>> {
    let mut v = Verifier { g, errors: vec![] };
    v.run();
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

struct Verifier<'a> {
    g: &'a Graph,
    errors: Vec<VerifyError>,
}

impl Verifier<'_> {
    fn err(&mut self, node: NodeId, message: impl Into<String>) {
        let message = format!("{}: {}", self.g.label(node), message.into());
        self.errors.push(VerifyError {
            node: Some(node),
            message,
        });
    }

    fn run(&mut self) {
        let g = self.g;
        for (t, tensor) in g.tensors() {
            if let Some(Err(e)) = tensor.pattern().map(|p| p.check()) {
                self.errors.push(VerifyError {
                    node: None,
                    message: format!("tensor {t}: bad sparse pattern: {e}"),
                });
            }
        }
        let mut input_names = HashSet::new();
        let mut output_names = HashSet::new();
        for n in g.nodes() {
            let op = g.op(n);
            let args = g.args(n);
            if let Some(k) = op.arity()
                && args.len() != k
            {
                self.err(
                    n,
                    format!("{} takes {k} operands, has {}", op.name(), args.len()),
                );
                continue;
            }
            if let Some(t) = op
                .tensors()
                .into_iter()
                .find(|t| g.get_tensor(*t).is_none())
            {
                self.err(n, format!("refers to missing tensor {t}"));
                continue;
            }
            let shape = |a: NodeId| g.shape(a);
            let inferred = g.infer_shape(op, &args);
            if g.shape(n) != inferred {
                self.err(
                    n,
                    format!("has shape {} but computes {inferred}", g.shape(n)),
                );
            }
            match op {
                Op::Input { name, size } => {
                    if *size == 0 {
                        self.err(n, "input of size 0");
                    }
                    if !input_names.insert(name.clone()) {
                        self.err(n, format!("second input named `{name}`"));
                    }
                }
                Op::Const(c) => self.check_const(n, *c, None, "constant"),
                Op::Unary(_) => {}
                Op::Clamp { lo, hi } => {
                    if lo.is_nan() || hi.is_nan() || lo > hi {
                        self.err(n, format!("clamp bounds {lo} > {hi}"));
                    }
                }
                Op::Binary(f) => {
                    let (a, b) = (shape(args[0]), shape(args[1]));
                    if a.broadcast(b).is_none() {
                        self.err(n, format!("`{}` of shapes {a} and {b}", f.symbol()));
                    }
                }
                Op::Project(p) => {
                    let w = g.tensor(p.weights);
                    let src = shape(args[0]);
                    match *w.shape() {
                        [rows, cols] => {
                            if w.dtype() != DType::F32 {
                                self.err(n, format!("weights {} are not f32", p.weights));
                            }
                            if src != Shape::Vector(cols) && !(src.is_scalar() && cols == 1) {
                                self.err(
                                    n,
                                    format!(
                                        "weights [{rows}, {cols}] applied to a value of shape {src}"
                                    ),
                                );
                            }
                        }
                        _ => self.err(
                            n,
                            format!(
                                "weights {} have shape {}, not [rows, cols]",
                                p.weights,
                                ShapeFmt(w.shape())
                            ),
                        ),
                    }
                    if let Delay::PerSynapse(d) = p.delay {
                        self.check_delays(n, p.weights, d);
                    }
                }
                Op::State { size, init } => {
                    self.check_const(n, *init, Some(*size), "initial value");
                    let next = shape(args[0]);
                    if next != Shape::Vector(*size) && !next.is_scalar() {
                        self.err(
                            n,
                            format!("state of shape [{size}] updated with shape {next}"),
                        );
                    }
                }
                Op::Population(p) => {
                    if p.size == 0 {
                        self.err(n, "population of size 0");
                    }
                    for a in &args {
                        if shape(*a) != Shape::Vector(p.size) {
                            self.err(
                                n,
                                format!(
                                    "input {a} of shape {} into a population of {}",
                                    shape(*a),
                                    p.size
                                ),
                            );
                        }
                    }
                    if let Act::Clamp { lo, hi } = act_of(&p.model)
                        && (lo.is_nan() || hi.is_nan() || lo > hi)
                    {
                        self.err(n, format!("activation clamp bounds {lo} > {hi}"));
                    }
                    for (name, value) in p.model.params() {
                        if let ParamValue::Real(c) = value {
                            self.check_const(n, c, Some(p.size), name);
                        }
                    }
                }
                Op::Probe(var) => match g.op(args[0]) {
                    Op::Population(p) if p.model.kind().reads(*var) => {}
                    Op::Population(p) => self.err(
                        n,
                        format!(
                            "`{}` has no state variable `{}`",
                            p.model.kind(),
                            var.name()
                        ),
                    ),
                    _ => self.err(n, "probe of something that is not a population"),
                },
                Op::Output { name } => {
                    if !output_names.insert(name.clone()) {
                        self.err(n, format!("second output named `{name}`"));
                    }
                    if matches!(g.op(args[0]), Op::Output { .. }) {
                        self.err(n, "output of an output");
                    }
                }
            }
            for (user, _) in g.users(n) {
                if matches!(op, Op::Output { .. }) {
                    self.err(user, format!("reads output {n}"));
                }
            }
        }
        if let Err(cycle) = g.schedule() {
            let names: Vec<String> = cycle.iter().map(|&n| g.label(n)).collect();
            self.errors.push(VerifyError {
                node: cycle.first().copied(),
                message: format!("cycle without a delay through {}", names.join(", ")),
            });
        }
    }

    /// A constant is a scalar or a 1-D f32 tensor of `size` elements.
    fn check_const(&mut self, n: NodeId, c: Const, size: Option<u32>, what: &str) {
        let Const::Tensor(t) = c else { return };
        let tensor = self.g.tensor(t);
        let ok_shape = match (tensor.shape(), size) {
            ([len], Some(size)) => *len == size,
            ([_], None) => true,
            _ => false,
        };
        if !ok_shape || tensor.is_sparse() {
            let want = size.map_or("[n]".to_string(), |s| format!("[{s}]"));
            self.err(
                n,
                format!(
                    "{what} {t} has shape {}, expected {want}",
                    ShapeFmt(tensor.shape())
                ),
            );
        }
        if tensor.dtype() != DType::F32 {
            self.err(n, format!("{what} {t} is {}, expected f32", tensor.dtype()));
        }
    }

    fn check_delays(&mut self, n: NodeId, w: TensorId, d: TensorId) {
        let (wt, dt) = (self.g.tensor(w), self.g.tensor(d));
        if dt.dtype() != DType::I32 {
            self.err(n, format!("delays {d} are {}, expected i32", dt.dtype()));
        }
        if wt.shape() != dt.shape() || wt.nnz() != dt.nnz() {
            self.err(
                n,
                format!(
                    "delays {d} ({}) are not laid out like weights {w} ({})",
                    dt.type_string(),
                    wt.type_string()
                ),
            );
        } else if let (Some(pw), Some(pd)) = (wt.pattern(), dt.pattern())
            && pw != pd
        {
            self.err(
                n,
                format!("delays {d} have a different sparsity pattern than {w}"),
            );
        }
        if let Some(bad) = dt.i32_min().filter(|&m| m < 0) {
            self.err(n, format!("negative delay {bad}"));
        }
    }
}

/// The sigma-delta activation, or identity for other models.
fn act_of(m: &Model) -> Act {
    m.params()
        .find_map(|(_, v)| match v {
            ParamValue::Act(a) => Some(a),
            _ => None,
        })
        .unwrap_or(Act::Identity)
}
