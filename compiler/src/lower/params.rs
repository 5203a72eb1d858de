//! Populations and projections: neuron model parameters (time constants to
//! retention factors, reset modes, activations) and weights and delays.

use std::sync::Arc;

use snn_ir::tensor::{Init, Origin, ShapeFmt, Tensor, Values};
use snn_ir::{
    Act, Const, Delay, Model, ModelKind, NodeId, Op, ParamValue, Population, Projection, Reset,
    Shape, Span, TensorId,
};

use super::value::{self, CTensor, CVal};
use super::{Lowerer, Mode, Val, dim_of};
use crate::diag::{Diagnostic, did_you_mean};
use crate::syntax::ast::{Expr, ExprKind, ItemKind, Name, Param};

/// One more than the longest delay (steps): a recurrent read adds a step,
/// which must still fit in an `i32`.
const MAX_DELAY: i32 = i32::MAX;

/// Time-constant spellings of retention parameters: `tau_mem = 20ms` sets
/// `alpha_mem = exp(−dt / 20ms)`.
const TAU_ALIASES: [(&str, &str); 4] = [
    ("tau_syn", "alpha_syn"),
    ("tau_mem", "alpha_mem"),
    ("tau_adp", "rho"),
    ("tau", "alpha"),
];

impl Lowerer<'_> {
    /// The model of `population name: model[size] { params }`. On error, the
    /// kind is `None` and a harmless placeholder model is returned.
    pub(super) fn population(
        &mut self,
        name: &Name,
        model: &Name,
        size: u32,
        params: &[Param],
    ) -> (Option<ModelKind>, Population) {
        let placeholder = || Population {
            size,
            model: Model::new(
                ModelKind::Li,
                [(
                    "alpha_mem".to_string(),
                    ParamValue::Real(Const::Scalar(0.0)),
                )],
            )
            .expect("li with alpha_mem is complete"),
        };
        let Some(kind) = ModelKind::from_name(&model.text) else {
            let names = ModelKind::ALL.map(ModelKind::name);
            let mut d =
                Diagnostic::error("E0106", format!("unknown neuron model `{}`", model.text))
                    .label(model.span, "not a neuron model");
            d = match did_you_mean(&model.text, names) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("the models are {}", names.join(", "))),
            };
            self.error(d);
            return (None, placeholder());
        };
        let specs = kind.params();
        let aliases: Vec<(&str, &str)> = TAU_ALIASES
            .into_iter()
            .filter(|(_, target)| specs.iter().any(|s| s.name == *target))
            .collect();
        let mut given: Vec<(String, ParamValue)> = Vec::new();
        let mut seen: Vec<(&'static str, Span, String)> = Vec::new();
        let mut ok = true;
        for p in params {
            let pname = p.name.text.as_str();
            let (canonical, value) = if let Some(spec) = specs.iter().find(|s| s.name == pname) {
                (
                    spec.name,
                    self.param_value(spec.kind, &p.value, size, pname),
                )
            } else if let Some((_, target)) = aliases.iter().find(|(a, _)| *a == pname) {
                let target = specs
                    .iter()
                    .find(|s| s.name == *target)
                    .expect("filtered above")
                    .name;
                (
                    target,
                    self.tau(&p.value, size, pname).map(ParamValue::Real),
                )
            } else {
                let all: Vec<&str> = specs
                    .iter()
                    .map(|s| s.name)
                    .chain(aliases.iter().map(|(a, _)| *a))
                    .collect();
                let mut d =
                    Diagnostic::error("E0107", format!("`{kind}` has no parameter `{pname}`"))
                        .label(p.name.span, "unknown parameter");
                d = match did_you_mean(pname, all.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("`{kind}` takes {}", all.join(", "))),
                };
                self.error(d);
                ok = false;
                continue;
            };
            if let Some((_, span, first)) = seen.iter().find(|(c, _, _)| *c == canonical) {
                let what = if first == pname {
                    format!("parameter `{pname}` is given twice")
                } else {
                    format!("`{first}` and `{pname}` both set `{canonical}`; give one of them")
                };
                let d = Diagnostic::error("E0107", what)
                    .label(p.name.span, "again here")
                    .label(*span, "first here");
                self.error(d);
                ok = false;
                continue;
            }
            seen.push((canonical, p.name.span, pname.to_string()));
            match value {
                Some(v) => given.push((canonical.to_string(), v)),
                None => ok = false,
            }
        }
        match Model::new(kind, given) {
            Ok(m) if ok => (Some(kind), Population { size, model: m }),
            Ok(_) => (Some(kind), placeholder()),
            // Given, but with a value already reported as wrong.
            Err(snn_ir::op::ModelError::Missing { name: missing, .. })
                if seen.iter().any(|(c, _, _)| *c == missing) =>
            {
                (Some(kind), placeholder())
            }
            Err(snn_ir::op::ModelError::Missing { name: missing, .. }) => {
                let alias = aliases.iter().find(|(_, t)| *t == missing).map(|(a, _)| *a);
                let spelled = match alias {
                    Some(a) => format!("`{a}` (or `{missing}`)"),
                    None => format!("`{missing}`"),
                };
                let example = match alias {
                    Some(a) => format!("{a} = 20ms;"),
                    None => format!("{missing} = ...;"),
                };
                let d = Diagnostic::error(
                    "E0108",
                    format!("population `{}` needs {spelled}", name.text),
                )
                .label(
                    model.span,
                    format!("`{kind}` has no default for `{missing}`"),
                )
                .help(format!("add `{example}` to its parameters"));
                self.error(d);
                (Some(kind), placeholder())
            }
            Err(e) => {
                let d = Diagnostic::error("E0107", e.to_string())
                    .label(model.span, "in this population");
                self.error(d);
                (Some(kind), placeholder())
            }
        }
    }

    fn param_value(
        &mut self,
        kind: snn_ir::op::ParamKind,
        e: &Expr,
        size: u32,
        name: &str,
    ) -> Option<ParamValue> {
        use snn_ir::op::ParamKind;
        match kind {
            ParamKind::Real => self
                .param_const(e, size, &format!("`{name}`"))
                .map(ParamValue::Real),
            ParamKind::Steps => self.steps(e, name).map(ParamValue::Steps),
            ParamKind::ResetMode => {
                let word = match &e.kind {
                    ExprKind::Name(n) => Reset::from_name(&n.text),
                    _ => None,
                };
                if word.is_none() {
                    let d = Diagnostic::error("E0109", format!("`{name}` is `zero` or `subtract`"))
                        .label(e.span, "not a reset mode")
                        .help("`reset = zero;` sets v to 0 after a spike, `reset = subtract;` subtracts the threshold");
                    self.error(d);
                }
                word.map(ParamValue::Reset)
            }
            ParamKind::Activation => {
                let act = match &e.kind {
                    ExprKind::Name(n) if n.text == "relu" => Some(Act::Relu),
                    ExprKind::Name(n) if n.text == "identity" => Some(Act::Identity),
                    ExprKind::Call { func, args } if func.text == "clamp" => {
                        let b = self.bind(func, args, &["lo", "hi"], 2)?;
                        let lo = self.num_arg(b[0].expect("required"), "`lo`");
                        let hi = self.num_arg(b[1].expect("required"), "`hi`");
                        let (lo, hi) = (lo? as f32, hi? as f32);
                        if lo > hi {
                            let d = Diagnostic::error(
                                "E0104",
                                format!("number out of range: `clamp` bounds {lo} > {hi}"),
                            )
                            .label(e.span, "empty range");
                            self.error(d);
                            return None;
                        }
                        Some(Act::Clamp { lo, hi })
                    }
                    _ => None,
                };
                if act.is_none() {
                    let d = Diagnostic::error(
                        "E0109",
                        format!("`{name}` is `relu`, `identity` or `clamp(lo, hi)`"),
                    )
                    .label(e.span, "not an activation");
                    self.error(d);
                }
                act.map(ParamValue::Act)
            }
        }
    }

    /// A whole number of steps: `2`, `2steps`, or a duration that is an exact
    /// multiple of the time step.
    fn steps(&mut self, e: &Expr, name: &str) -> Option<u32> {
        let v = match self.expr(e, Mode::Const) {
            Val::C(c) => c,
            _ => return None,
        };
        let (steps, shown) = match v {
            CVal::Num(x, 0) => (x, format!("{x}")),
            CVal::Num(ps, 1) => {
                let dt = self.dt_ps? as f64;
                (
                    ps / dt,
                    format!("{}", snn_ir::Duration::from_ps(ps.max(0.0) as u64)),
                )
            }
            other => {
                let d = Diagnostic::error("E0109", format!("`{name}` is a number of steps"))
                    .label(e.span, format!("this is {}", other.describe()));
                self.error(d);
                return None;
            }
        };
        if steps.fract() != 0.0 || !(0.0..=u32::MAX as f64).contains(&steps) {
            let d = Diagnostic::error(
                "E0104",
                format!(
                    "number out of range: `{name}` must be a whole, non-negative number of steps"
                ),
            )
            .label(e.span, shown);
            self.error(d);
            return None;
        }
        Some(steps as u32)
    }

    /// `tau_x = 20ms` → retention factor `exp(−dt/τ)` (0 for τ = 0).
    fn tau(&mut self, e: &Expr, size: u32, name: &str) -> Option<Const> {
        let v = match self.expr(e, Mode::Const) {
            Val::C(c) => c,
            _ => return None,
        };
        if dim_of(&v) != 1 || matches!(v, CVal::Init(..) | CVal::Str(_)) {
            let d = Diagnostic::error("E0103", format!("bad unit: `{name}` is a time constant"))
                .label(e.span, format!("this is {}", if let CVal::Num(..) | CVal::Tensor(..) = v { value::dim_name(dim_of(&v)) } else { v.describe() }))
                .help(format!("write a duration such as `{name} = 20ms;` or a number of steps such as `{name} = 20steps;`"));
            self.error(d);
            return None;
        }
        let dt = self.dt_ps? as f64;
        let negative = match &v {
            CVal::Num(x, _) => *x < 0.0,
            CVal::Tensor(t, _) => {
                t.tensor.f32s().is_some_and(|v| v.iter().any(|x| *x < 0.0))
                    || t.tensor.i32s().is_some_and(|v| v.iter().any(|x| *x < 0))
            }
            _ => false,
        };
        if negative {
            let d = Diagnostic::error(
                "E0104",
                format!("number out of range: `{name}` must not be negative"),
            )
            .label(e.span, "negative time constant");
            self.error(d);
            return None;
        }
        let alpha = |tau: f64| if tau == 0.0 { 0.0 } else { (-dt / tau).exp() };
        let a = value::unary("exp", &v, alpha, true).ok()?;
        let a = match a {
            CVal::Num(x, _) => CVal::Num(x, 0),
            CVal::Tensor(t, _) => CVal::Tensor(t, 0),
            other => other,
        };
        self.per_neuron(a, e.span, size, &format!("`{name}`"))
    }

    /// The projection statement `item` into a population of `dst_size`
    /// neurons whose position is `pos`: a `Project` node, or `None` on error.
    pub(super) fn projection(&mut self, item: usize, pos: usize, dst_size: u32) -> Option<NodeId> {
        let ItemKind::Projection { src, dst, params } = &self.file.items[item].kind else {
            return None;
        };
        let span = self.file.items[item].span;
        let mut weight = None;
        let mut delay = None;
        for p in params {
            let slot = match p.name.text.as_str() {
                "weight" => &mut weight,
                "delay" => &mut delay,
                other => {
                    let mut d = Diagnostic::error(
                        "E0107",
                        format!("a projection has no parameter `{other}`"),
                    )
                    .label(p.name.span, "unknown parameter");
                    d = match did_you_mean(other, ["weight", "delay"]) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("a projection takes `weight` and `delay`"),
                    };
                    self.error(d);
                    continue;
                }
            };
            if slot.is_some() {
                let d = Diagnostic::error(
                    "E0107",
                    format!("parameter `{}` is given twice", p.name.text),
                )
                .label(p.name.span, "again here");
                self.error(d);
                continue;
            }
            *slot = Some(&p.value);
        }
        let Some(weight) = weight else {
            let d = Diagnostic::error("E0108", format!("projection `{} -> {}` needs a `weight`", src.text, dst.text))
                .label(span, "no weight")
                .help("add `weight = W;` (a [targets, sources] matrix, an initializer, or a number for one-to-one)");
            self.error(d);
            return None;
        };
        if !self.decls.contains_key(&src.text) {
            return None; // reported by check_projection_ends
        }
        let (src_node, prev) = self.resolve_source(src, pos)?;
        let src_len = match self.g.shape(src_node) {
            Shape::Vector(n) => n,
            Shape::Scalar => {
                let d = Diagnostic::error(
                    "E0102",
                    format!(
                        "shape mismatch: `{}` is a scalar, a projection needs a vector",
                        src.text
                    ),
                )
                .label(src.span, "a scalar");
                self.error(d);
                return None;
            }
        };
        let w = self.weights(weight, src, dst, src_len, dst_size)?;
        let mut d = match delay {
            Some(e) => self.delays(e, w)?,
            None => Delay::Const(0),
        };
        if prev {
            d = self.add_one(d);
        }
        let n = self.g.add(
            Op::Project(Projection {
                weights: w,
                delay: d,
            }),
            &[src_node],
        );
        self.g.set_span(n, span);
        self.g.set_name(n, format!("{}->{}", src.text, dst.text));
        Some(n)
    }

    /// The node a projection reads, and whether it reads a population's
    /// previous output (which becomes one more step of delay).
    fn resolve_source(&mut self, src: &Name, pos: usize) -> Option<(NodeId, bool)> {
        if let Some(super::Decl {
            kind: super::DeclKind::Population { node, .. },
            item,
            ..
        }) = self.decls.get(&src.text).cloned()
        {
            return Some((node, item >= pos));
        }
        let e = Expr {
            kind: ExprKind::Name(src.clone()),
            span: src.span,
        };
        let v = self.expr(&e, Mode::Step(pos));
        self.runtime_node(&v, src.span).map(|n| (n, false))
    }

    fn weights(
        &mut self,
        e: &Expr,
        src: &Name,
        dst: &Name,
        cols: u32,
        rows: u32,
    ) -> Option<TensorId> {
        let v = match self.expr(e, Mode::Const) {
            Val::C(c) => c,
            _ => return None,
        };
        if dim_of(&v) != 0 {
            let d = Diagnostic::error("E0103", "bad unit: weights are plain numbers")
                .label(e.span, format!("this is {}", value::dim_name(dim_of(&v))));
            self.error(d);
            return None;
        }
        let t = match v {
            CVal::Num(x, _) => {
                if rows != cols {
                    let d = Diagnostic::error(
                        "E0102",
                        format!(
                            "shape mismatch: a single weight connects one-to-one, but `{}` has {cols} elements and `{}` {rows} neurons",
                            src.text, dst.text
                        ),
                    )
                    .label(e.span, "one-to-one weight")
                    .help(format!("give a [{rows}, {cols}] matrix instead"));
                    self.error(d);
                    return None;
                }
                let f = match value::to_f32(x) {
                    Ok(f) => f,
                    Err(m) => {
                        let d = Diagnostic::error("E0104", format!("number out of range: {m}"))
                            .label(e.span, "this weight");
                        self.error(d);
                        return None;
                    }
                };
                let init = Init::Eye { value: f };
                let data = match init.generate(&[rows, cols]) {
                    Ok(data) => data,
                    Err(err) => {
                        self.init_error(err, e.span, e.span, &[rows, cols]);
                        return None;
                    }
                };
                // `eye` makes a sparse pattern of the shape it was given.
                let p = data.pattern.expect("eye is sparse");
                CTensor::new(
                    Tensor::sparse(p, data.values, Origin::Init(init)).expect("generated to shape"),
                )
            }
            v @ CVal::Init(..) => match self.shaped(v, &[rows, cols], e.span, e.span, "weight")? {
                CVal::Tensor(t, _) => t,
                _ => return None,
            },
            CVal::Tensor(t, _) => {
                if t.tensor.shape() != [rows, cols] {
                    let d = Diagnostic::error(
                        "E0102",
                        format!(
                            "shape mismatch: the weights are {}, but `{} -> {}` needs [{rows}, {cols}]",
                            ShapeFmt(t.tensor.shape()),
                            src.text,
                            dst.text
                        ),
                    )
                    .label(e.span, format!("shape {}", ShapeFmt(t.tensor.shape())))
                    .label(src.span, format!("{cols} elements"))
                    .label(dst.span, format!("{rows} neurons"))
                    .note("weights are [targets, sources]: one row per neuron of the target");
                    self.error(d);
                    return None;
                }
                t
            }
            CVal::Str(_) => {
                let d = Diagnostic::error("E0109", "weights must be numbers, not a string")
                    .label(e.span, "a string");
                self.error(d);
                return None;
            }
        };
        self.weight_tensor(&t, e.span)
    }

    fn delays(&mut self, e: &Expr, weights: TensorId) -> Option<Delay> {
        let v = match self.expr(e, Mode::Const) {
            Val::C(c) => c,
            _ => return None,
        };
        let dt = self.dt_ps? as f64;
        let bad_steps = |s: &mut Self, shown: String| {
            let d = Diagnostic::error(
                "E0104",
                "number out of range: a delay is a whole number of steps from 0 to 2147483646",
            )
            .label(e.span, shown);
            s.error(d);
            None
        };
        match v {
            CVal::Num(x, d @ (0 | 1)) => {
                let steps = if d == 1 { x / dt } else { x };
                if steps.fract() != 0.0 || !(0.0..MAX_DELAY as f64).contains(&steps) {
                    return bad_steps(self, format!("this is {steps} steps"));
                }
                Some(Delay::Const(steps as u32))
            }
            CVal::Init(init, span) => {
                let w = self.g.tensor(weights).clone();
                let data = match init.generate(&[w.stored() as u32]) {
                    Ok(d) => d,
                    Err(err @ snn_ir::tensor::InitError::Budget(_)) => {
                        self.init_error(err, span, span, &[w.stored() as u32]);
                        return None;
                    }
                    Err(err) => {
                        let d = Diagnostic::error("E0104", err.to_string())
                            .label(span, "this initializer");
                        self.error(d);
                        return None;
                    }
                };
                let Some(ints) = data.values.as_i32() else {
                    let d = Diagnostic::error(
                        "E0109",
                        "delays are whole numbers: use `randint(low, high, seed)`",
                    )
                    .label(span, format!("`{}` makes real numbers", init.name()));
                    self.error(d);
                    return None;
                };
                if let Some(bad) = ints.iter().find(|&&x| !(0..MAX_DELAY).contains(&x)) {
                    return bad_steps(self, format!("makes the delay {bad}"));
                }
                let values = Values::I32(ints.to_vec().into());
                let t = match w.pattern() {
                    Some(p) => Tensor::sparse(Arc::clone(p), values, Origin::Derived),
                    None => Tensor::dense(w.shape().to_vec(), values, Origin::Init(init)),
                }
                .ok()?;
                Some(Delay::PerSynapse(self.g.add_tensor(t)))
            }
            CVal::Tensor(t, d) => {
                if d == 1 {
                    let d = Diagnostic::error("E0109", "per-synapse delays are given in steps")
                        .label(e.span, "a tensor of durations")
                        .help("divide by the time step: `delay = D / dt;`");
                    self.error(d);
                    return None;
                }
                let Some(ints) = t.tensor.i32s() else {
                    let what = match t.tensor.origin() {
                        Origin::File { path, key } => format!(
                            "`{}` in {path} holds real numbers",
                            key.clone().unwrap_or_else(|| path.clone())
                        ),
                        _ => "these delays are real numbers".into(),
                    };
                    let d = Diagnostic::error(
                        "E0122",
                        format!("wrong dtype: {what}; delays must be integers"),
                    )
                    .label(e.span, "not integers")
                    .help("round the delays and save them as int32");
                    self.error(d);
                    return None;
                };
                if let Some(bad) = ints.iter().find(|&&x| !(0..MAX_DELAY).contains(&x)) {
                    return bad_steps(self, format!("holds the delay {bad}"));
                }
                let w = self.g.tensor(weights).clone();
                if t.tensor.shape() != w.shape() {
                    let d = Diagnostic::error(
                        "E0102",
                        format!(
                            "shape mismatch: delays are {} but the weights are {}",
                            ShapeFmt(t.tensor.shape()),
                            ShapeFmt(w.shape())
                        ),
                    )
                    .label(e.span, format!("shape {}", ShapeFmt(t.tensor.shape())));
                    self.error(d);
                    return None;
                }
                let laid_out = match (w.pattern(), t.tensor.pattern()) {
                    (None, None) => t.tensor.clone(),
                    (Some(wp), Some(dp)) if wp == dp => t.tensor.clone(),
                    (Some(wp), None) => {
                        // Pick each synapse's delay out of the dense delay matrix.
                        let cols = w.shape()[1] as usize;
                        let mut v = Vec::with_capacity(wp.col_idx.len());
                        for r in 0..wp.rows as usize {
                            for k in wp.row(r) {
                                v.push(ints[r * cols + wp.col_idx[k] as usize]);
                            }
                        }
                        Tensor::sparse(Arc::clone(wp), Values::I32(v.into()), Origin::Derived)
                            .ok()?
                    }
                    _ => {
                        let d = Diagnostic::error("E0102", "shape mismatch: sparse delays must have the sparsity pattern of the weights")
                            .label(e.span, "a different pattern");
                        self.error(d);
                        return None;
                    }
                };
                let id = match t.id.get() {
                    Some(id) if self.g.tensor(id).hash() == laid_out.hash() => id,
                    _ => {
                        let id = self.g.add_tensor(laid_out);
                        if !w.is_sparse() {
                            t.id.set(Some(id));
                        }
                        id
                    }
                };
                Some(Delay::PerSynapse(id))
            }
            other => {
                let d = Diagnostic::error(
                    "E0109",
                    format!("a delay is a number of steps, not {}", other.describe()),
                )
                .label(e.span, "here");
                self.error(d);
                None
            }
        }
    }

    /// One more step on every synapse (a recurrent read of a population).
    fn add_one(&mut self, d: Delay) -> Delay {
        match d {
            Delay::Const(k) => Delay::Const(k + 1),
            Delay::PerSynapse(t) => {
                let tensor = self.g.tensor(t);
                let ints: Vec<i32> = tensor
                    .i32s()
                    .map(|v| v.iter().map(|x| x + 1).collect())
                    .unwrap_or_default();
                let values = Values::I32(ints.into());
                let shifted = match tensor.pattern() {
                    Some(p) => Tensor::sparse(Arc::clone(p), values, Origin::Derived),
                    None => Tensor::dense(tensor.shape().to_vec(), values, Origin::Derived),
                }
                .expect("same layout as the delays");
                Delay::PerSynapse(self.g.add_tensor(shifted))
            }
        }
    }
}
