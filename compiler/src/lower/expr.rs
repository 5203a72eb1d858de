//! Lowering expressions: constant folding, name resolution by position,
//! operators, functions and initializers.

use snn_ir::tensor::{Dist, Init, InitError, Origin, ShapeFmt, Tensor};
use snn_ir::{BinaryFn, Const, Delay, NodeId, Op, ProbeVar, Projection, Shape, Span, UnaryFn};

use super::value::{self, CTensor, CVal, ConstError};
use super::{Decl, DeclKind, Lowerer, Mode, Val, dim_of};
use crate::diag::{Diagnostic, did_you_mean};
use crate::syntax::ast::{Arg, BinOp, Expr, ExprKind, Name};

/// Functions computed every step (also folded when their operand is constant).
const STEP_FUNCTIONS: [&str; 6] = ["relu", "tanh", "sigmoid", "exp", "heaviside", "clamp"];
/// Functions that make compile-time tensors.
const CONST_FUNCTIONS: [&str; 9] = [
    "load", "normal", "uniform", "randint", "sparse", "full", "zeros", "ones", "eye",
];

/// What a name refers to at some position.
enum Resolved {
    Val(Val),
    /// A population read before its declaration: its previous output.
    PrevPopulation(NodeId),
}

impl Lowerer<'_> {
    /// Lowers an expression. In `Mode::Const` the result is always `C` or
    /// `Err`. Past [`MAX_NESTING`](super::MAX_NESTING) expressions one
    /// inside the other, reports the limit (once) and gives `Err`.
    pub(super) fn expr(&mut self, e: &Expr, mode: Mode) -> Val {
        if self.nesting >= super::MAX_NESTING {
            if !self.nesting_reported {
                self.nesting_reported = true;
                let d = Diagnostic::error(
                    "E0013",
                    format!(
                        "this value is defined through more than {} nested expressions",
                        super::MAX_NESTING
                    ),
                )
                .label(e.span, "the limit is reached here")
                .help("the count goes through every `let` and `const` a value names, and theirs; compute long chains in fewer, wider steps")
                .note("see \"Limits\" in docs/language.md");
                self.error(d);
            }
            return Val::Err;
        }
        self.nesting += 1;
        let v = self.expr_at(e, mode);
        self.nesting -= 1;
        v
    }

    fn expr_at(&mut self, e: &Expr, mode: Mode) -> Val {
        match &e.kind {
            ExprKind::Error => Val::Err,
            ExprKind::Num { text, unit } => self.number(text, unit.as_ref(), e.span),
            ExprKind::Str(s) => Val::C(CVal::Str(s.clone())),
            ExprKind::Name(name) => match self.resolve(name, mode) {
                Resolved::Val(v) => v,
                Resolved::PrevPopulation(p) => Val::Node(self.prev(p)),
            },
            ExprKind::Field { base, field } => self.field(base, field, mode),
            ExprKind::Call { func, args } => self.call(func, args, e.span, mode),
            ExprKind::List(items) => self.list(items, e.span),
            ExprKind::Neg(inner) => {
                let v = self.expr(inner, mode);
                match v {
                    Val::C(c) => self.fold(value::unary("-", &c, |x| -x, true), e.span),
                    Val::Node(n) => Val::Node(self.node(Op::Unary(UnaryFn::Neg), &[n], e.span)),
                    Val::Err => Val::Err,
                }
            }
            ExprKind::Binary(op, a, b) => {
                let va = self.expr(a, mode);
                let vb = self.expr(b, mode);
                self.binary(*op, va, vb, a, b, e.span)
            }
        }
    }

    fn fold(&mut self, r: Result<CVal, ConstError>, span: Span) -> Val {
        match r {
            Ok(v) => Val::C(v),
            Err(e) => {
                let code = match e {
                    ConstError::Units(..) | ConstError::NeedsPlainNumber(_) => "E0103",
                    ConstError::Shapes(..) => "E0102",
                    _ => "E0109",
                };
                let mut d = Diagnostic::error(code, e.message()).label(span, "in this expression");
                if e == ConstError::Unshaped {
                    d = d.help("give the initializer a shape first: `const W: [rows, cols] = normal(...);`");
                }
                self.error(d);
                Val::Err
            }
        }
    }

    fn node(&mut self, op: Op, args: &[NodeId], span: Span) -> NodeId {
        let n = self.g.add(op, args);
        self.g.set_span(n, span);
        n
    }

    /// A number literal with an optional unit.
    fn number(&mut self, text: &str, unit: Option<&Name>, span: Span) -> Val {
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        let Some(unit) = unit else {
            return match clean.parse::<f64>() {
                Ok(v) if v.is_finite() => Val::C(CVal::Num(v, 0)),
                _ => {
                    self.error(
                        Diagnostic::error("E0104", format!("number out of range: `{text}`"))
                            .label(span, "too large for a number"),
                    );
                    Val::Err
                }
            };
        };
        match unit.text.as_str() {
            "step" | "steps" => {
                let Some(dt) = self.dt_ps else {
                    let d = Diagnostic::error("E0103", "bad unit: `steps` needs the time step")
                        .label(unit.span, "the time step is not known here")
                        .help(
                            "`timestep` itself must be given in time units, e.g. `timestep 1ms;`",
                        );
                    self.error(d);
                    return Val::Err;
                };
                match clean.parse::<f64>() {
                    Ok(v) => Val::C(CVal::Num(v * dt as f64, 1)),
                    Err(_) => Val::Err,
                }
            }
            u if snn_ir::Duration::unit_ps(u).is_some() && u != "ps" => {
                match snn_ir::Duration::from_decimal(&clean, u) {
                    Ok(d) => Val::C(CVal::Num(d.as_ps() as f64, 1)),
                    Err(snn_ir::time::DurationError::TooFine) => {
                        let d = Diagnostic::error(
                            "E0104",
                            format!("number out of range: `{text}{u}` is finer than a picosecond"),
                        )
                        .label(span, "too fine");
                        self.error(d);
                        Val::Err
                    }
                    Err(_) => {
                        let d = Diagnostic::error(
                            "E0104",
                            format!("number out of range: `{text}{u}` is too long"),
                        )
                        .label(span, "too long a duration");
                        self.error(d);
                        Val::Err
                    }
                }
            }
            other => {
                let units = ["s", "ms", "us", "ns", "steps"];
                let mut d = Diagnostic::error("E0103", format!("bad unit `{other}`"))
                    .label(unit.span, "not a unit snnc knows")
                    .note("units are s, ms, us, ns (time) and steps (time steps)");
                if let Some(s) = did_you_mean(other, units) {
                    d = d.help(format!("did you mean `{text}{s}`?"));
                }
                self.error(d);
                Val::Err
            }
        }
    }

    /// What `name` means at `mode`'s position.
    fn resolve(&mut self, name: &Name, mode: Mode) -> Resolved {
        let Some(decl) = self.decls.get(&name.text).cloned() else {
            let d = self.unknown_name(name);
            self.error(d);
            return Resolved::Val(Val::Err);
        };
        let Decl { kind, span, item } = decl;
        let runtime = |s: &mut Self| {
            let d = Diagnostic::error(
                "E0109",
                format!(
                    "`{}` is {}, which changes every step; a constant cannot depend on it",
                    name.text,
                    kind.noun()
                ),
            )
            .label(name.span, "used in a constant")
            .label(span, "declared here");
            s.error(d);
            Resolved::Val(Val::Err)
        };
        match (&kind, mode) {
            (DeclKind::Builtin, _) => match self.dt_ps {
                Some(dt) => Resolved::Val(Val::C(CVal::Num(dt as f64, 1))),
                None => {
                    let d = Diagnostic::error(
                        "E0103",
                        "bad unit: `dt` is the time step, which is not known here",
                    )
                    .label(name.span, "used before the time step is known");
                    self.error(d);
                    Resolved::Val(Val::Err)
                }
            },
            (DeclKind::Const, _) => Resolved::Val(match self.const_value(&name.text, name.span) {
                Some(c) => Val::C(c),
                None => Val::Err,
            }),
            (DeclKind::Output, _) => {
                let d = Diagnostic::error(
                    "E0109",
                    format!("`{}` is an output and cannot be read", name.text),
                )
                .label(name.span, "read here")
                .label(span, "declared as an output here")
                .help("read the value the output is computed from instead");
                self.error(d);
                Resolved::Val(Val::Err)
            }
            (DeclKind::Let, Mode::Const) => match self.let_value(&name.text, name.span) {
                v @ (Val::C(_) | Val::Err) => Resolved::Val(v),
                Val::Node(_) => runtime(self),
            },
            (_, Mode::Const) => runtime(self),
            (DeclKind::Input(n), Mode::Step(_)) => Resolved::Val(Val::Node(*n)),
            (DeclKind::Let, Mode::Step(_)) => Resolved::Val(self.let_value(&name.text, name.span)),
            (DeclKind::State { node, update, .. }, Mode::Step(pos)) => match update {
                Some(u) if *u < pos => Resolved::Val(self.update_value(&name.text)),
                _ => Resolved::Val(Val::Node(*node)),
            },
            (DeclKind::Population { node, .. }, Mode::Step(pos)) => {
                if item < pos {
                    Resolved::Val(Val::Node(*node))
                } else {
                    Resolved::PrevPopulation(*node)
                }
            }
        }
    }

    /// A `State` that holds `n`'s value of the previous step.
    pub(super) fn prev(&mut self, n: NodeId) -> NodeId {
        if let Some(&s) = self.prev_of.get(&n) {
            return s;
        }
        let size = self.g.shape(n).len();
        let s = self.g.add(
            Op::State {
                size,
                init: Const::Scalar(0.0),
            },
            &[n],
        );
        if let Some(name) = self.g.name(n) {
            let name = format!("{name}@prev");
            self.g.set_name(s, name);
        }
        if let Some(span) = self.g.span(n) {
            self.g.set_span(s, span);
        }
        self.prev_of.insert(n, s);
        s
    }

    /// `pop.v`, `pop.i`, `pop.b`: a population's state variable.
    fn field(&mut self, base: &Name, field: &Name, mode: Mode) -> Val {
        let Some(decl) = self.decls.get(&base.text).cloned() else {
            let d = self.unknown_name(base);
            self.error(d);
            return Val::Err;
        };
        let DeclKind::Population { model, .. } = decl.kind else {
            let d = Diagnostic::error(
                "E0109",
                format!("`{}` is {} and has no fields", base.text, decl.kind.noun()),
            )
            .label(
                field.span,
                "fields (`.v`, `.i`, `.b`) belong to populations",
            );
            self.error(d);
            return Val::Err;
        };
        let Some(model) = model else { return Val::Err };
        let allowed = model.probes();
        let var = ProbeVar::from_name(&field.text).filter(|v| allowed.contains(v));
        let Some(var) = var else {
            let names: Vec<&str> = allowed.iter().map(|v| v.name()).collect();
            let d = Diagnostic::error(
                "E0107",
                format!("`{model}` neurons have no state variable `{}`", field.text),
            )
            .label(field.span, "unknown field")
            .help(format!("`{model}` has: {}", names.join(", ")));
            self.error(d);
            return Val::Err;
        };
        if mode == Mode::Const {
            let d = Diagnostic::error("E0109", "a constant cannot read a population")
                .label(base.span.to(field.span), "changes every step");
            self.error(d);
            return Val::Err;
        }
        let pop = match self.resolve(base, mode) {
            Resolved::Val(Val::Node(n)) => (n, false),
            Resolved::PrevPopulation(n) => (n, true),
            Resolved::Val(_) => return Val::Err,
        };
        let probe = match self.probes.get(&(pop.0, var)) {
            Some(&p) => p,
            None => {
                let p = self.node(Op::Probe(var), &[pop.0], base.span.to(field.span));
                self.g.set_name(p, format!("{}.{}", base.text, field.text));
                self.probes.insert((pop.0, var), p);
                p
            }
        };
        Val::Node(if pop.1 { self.prev(probe) } else { probe })
    }

    /// A per-step node for a value: constants become `Const` nodes.
    pub(super) fn runtime_node(&mut self, v: &Val, span: Span) -> Option<NodeId> {
        match v {
            Val::Node(n) => Some(*n),
            Val::Err => None,
            Val::C(c) => {
                let k = self.runtime_const(c, span)?;
                Some(self.node(Op::Const(k), &[], span))
            }
        }
    }

    /// A constant usable in per-step arithmetic: a plain scalar or vector.
    fn runtime_const(&mut self, c: &CVal, span: Span) -> Option<Const> {
        match c {
            CVal::Num(v, 0) => match value::to_f32(*v) {
                Ok(f) => Some(Const::Scalar(f)),
                Err(m) => {
                    self.error(
                        Diagnostic::error("E0104", format!("number out of range: {m}"))
                            .label(span, "here"),
                    );
                    None
                }
            },
            CVal::Tensor(t, 0) if t.tensor.shape().len() == 1 && !t.tensor.is_sparse() => {
                let t = self.f32_tensor(t, span)?;
                Some(Const::Tensor(t))
            }
            CVal::Num(_, d) | CVal::Tensor(_, d) if *d != 0 => {
                let d = Diagnostic::error("E0103", format!("bad unit: {} in a value computed every step", value::dim_name(*d)))
                    .label(span, "has a unit")
                    .help("per-step values are plain numbers; divide by a time (e.g. `tau / dt`) to remove the unit");
                self.error(d);
                None
            }
            CVal::Tensor(t, _) => {
                let d = Diagnostic::error(
                    "E0102",
                    format!(
                        "shape mismatch: a matrix {} cannot be a per-step value",
                        ShapeFmt(t.tensor.shape())
                    ),
                )
                .label(span, "a matrix")
                .help("multiply it with `@`: `W @ x`");
                self.error(d);
                None
            }
            other => {
                let d = Diagnostic::error("E0109", format!("{} is not a number", other.describe()))
                    .label(span, "here");
                self.error(d);
                None
            }
        }
    }

    /// The graph's id for a compile-time tensor, converted to `f32` if it holds integers.
    pub(super) fn f32_tensor(
        &mut self,
        t: &std::rc::Rc<CTensor>,
        span: Span,
    ) -> Option<snn_ir::TensorId> {
        if let Some(id) = t.id.get()
            && self.g.tensor(id).f32s().is_some()
        {
            return Some(id);
        }
        if t.tensor.f32s().is_some() {
            if !self.finite(&t.tensor, span) {
                return None;
            }
            let id = self.g.add_tensor(t.tensor.clone());
            t.id.set(Some(id));
            return Some(id);
        }
        let Some(ints) = t.tensor.i32s() else {
            let d = Diagnostic::error("E0122", "tensor has no values").label(span, "here");
            self.error(d);
            return None;
        };
        if let Err(e) = snn_ir::budget::check_elements(ints.len() as u128, 4, || {
            format!(
                "converting the tensor {} to float32",
                ShapeFmt(t.tensor.shape())
            )
        }) {
            let d = Diagnostic::error("E0206", e.to_string()).label(span, "here");
            self.error(d);
            return None;
        }
        let vals: Vec<f32> = ints.iter().map(|&v| v as f32).collect();
        let values = snn_ir::tensor::Values::F32(vals.into());
        let conv = match t.tensor.pattern() {
            Some(p) => Tensor::sparse(p.clone(), values, Origin::Derived),
            None => Tensor::dense(t.tensor.shape().to_vec(), values, Origin::Derived),
        };
        // Same layout as an existing valid tensor.
        let conv = conv.expect("same layout");
        Some(self.g.add_tensor(conv))
    }

    /// Whether every value of a float tensor is a finite number; if not,
    /// reports the first that is not (E0124).
    fn finite(&mut self, t: &Tensor, span: Span) -> bool {
        let Some((at, value)) = t.non_finite() else {
            return true;
        };
        let what = match t.origin() {
            Origin::File { path, key: Some(k) } => format!("`{k}` in {path}"),
            Origin::File { path, key: None } => path.clone(),
            _ => "this tensor".into(),
        };
        let at = at.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let d = Diagnostic::error("E0124", format!("{what} holds {value} at [{at}]"))
        .label(span, "used here")
        .help("weights and parameters must be finite numbers; fix the file (e.g. `numpy.nan_to_num`) or the expression that made it");
        self.error(d);
        false
    }

    fn binary(&mut self, op: BinOp, va: Val, vb: Val, a: &Expr, b: &Expr, span: Span) -> Val {
        if op == BinOp::MatVec {
            return self.matvec(va, vb, a, b, span);
        }
        match (va, vb) {
            (Val::Err, _) | (_, Val::Err) => Val::Err,
            (Val::C(x), Val::C(y)) => {
                let r = value::binary(op, &x, &y);
                if let Err(ConstError::Shapes(sa, sb)) = &r {
                    let d = Diagnostic::error(
                        "E0102",
                        format!(
                            "shape mismatch: `{}` of {} and {}",
                            op.symbol(),
                            ShapeFmt(sa),
                            ShapeFmt(sb)
                        ),
                    )
                    .label(a.span, format!("shape {}", ShapeFmt(sa)))
                    .label(b.span, format!("shape {}", ShapeFmt(sb)));
                    self.error(d);
                    return Val::Err;
                }
                self.fold(r, span)
            }
            (x, y) => {
                let (Some(na), Some(nb)) =
                    (self.runtime_node(&x, a.span), self.runtime_node(&y, b.span))
                else {
                    return Val::Err;
                };
                let (sa, sb) = (self.g.shape(na), self.g.shape(nb));
                if sa.broadcast(sb).is_none() {
                    let d = Diagnostic::error(
                        "E0102",
                        format!("shape mismatch: `{}` of {sa} and {sb}", op.symbol()),
                    )
                    .label(a.span, format!("shape {sa}"))
                    .label(b.span, format!("shape {sb}"))
                    .help("elementwise operators need equal shapes, or a scalar on one side");
                    self.error(d);
                    return Val::Err;
                }
                let f = match op {
                    BinOp::Add => BinaryFn::Add,
                    BinOp::Sub => BinaryFn::Sub,
                    BinOp::Mul => BinaryFn::Mul,
                    BinOp::Div => BinaryFn::Div,
                    BinOp::MatVec => unreachable!("handled above"),
                };
                Val::Node(self.node(Op::Binary(f), &[na, nb], span))
            }
        }
    }

    /// `W @ x`: a projection with no delay.
    fn matvec(&mut self, va: Val, vb: Val, a: &Expr, b: &Expr, span: Span) -> Val {
        let x = vb;
        let w = match va {
            Val::C(w) => w,
            Val::Err => return Val::Err,
            Val::Node(_) => {
                let d = Diagnostic::error(
                    "E0102",
                    "the left side of `@` must be a constant matrix, not a value computed every step",
                )
                .label(a.span, "computed every step")
                .help("`W @ x` multiplies by a constant `[rows, cols]` matrix `W`; for an elementwise product of two changing values use `*`");
                self.error(d);
                return Val::Err;
            }
        };
        let (rows, cols, t) = match &w {
            CVal::Tensor(t, 0) if t.tensor.shape().len() == 2 => {
                let s = t.tensor.shape();
                (s[0], s[1], t.clone())
            }
            CVal::Init(init, _) => {
                let d = Diagnostic::error("E0102", format!("`{}` needs a shape", init.name()))
                    .label(a.span, "shape unknown")
                    .help("declare the matrix first: `const W: [rows, cols] = ...;` and write `W @ x`");
                self.error(d);
                return Val::Err;
            }
            other => {
                let d = Diagnostic::error(
                    "E0102",
                    format!(
                        "the left side of `@` must be a matrix, not {}",
                        other.describe()
                    ),
                )
                .label(a.span, "not a [rows, cols] matrix")
                .help("for an elementwise product use `*`");
                self.error(d);
                return Val::Err;
            }
        };
        let Some(xn) = self.runtime_node(&x, b.span) else {
            return Val::Err;
        };
        let sx = self.g.shape(xn);
        if sx != Shape::Vector(cols) {
            let d = Diagnostic::error(
                "E0102",
                format!(
                    "shape mismatch: `@` of a [{rows}, {cols}] matrix and a value of shape {sx}"
                ),
            )
            .label(a.span, format!("[{rows}, {cols}]: expects {cols} elements"))
            .label(b.span, format!("shape {sx}"));
            self.error(d);
            return Val::Err;
        }
        let Some(weights) = self.weight_tensor(&t, a.span) else {
            return Val::Err;
        };
        Val::Node(self.node(
            Op::Project(Projection {
                weights,
                delay: Delay::Const(0),
            }),
            &[xn],
            span,
        ))
    }

    /// Binds call arguments to `params` (positional in order, or by name);
    /// the first `required` must be given.
    pub(super) fn bind<'e>(
        &mut self,
        func: &Name,
        args: &'e [Arg],
        params: &[&str],
        required: usize,
    ) -> Option<Vec<Option<&'e Expr>>> {
        let mut out: Vec<Option<&Expr>> = vec![None; params.len()];
        let mut ok = true;
        let mut positional = 0;
        for a in args {
            let slot = match &a.name {
                None => {
                    positional += 1;
                    if positional > params.len() {
                        let d = Diagnostic::error(
                            "E0110",
                            format!("`{}` takes at most {} arguments", func.text, params.len()),
                        )
                        .label(a.value.span, "extra argument")
                        .help(format!(
                            "`{}({})`",
                            func.text,
                            params.join(", ")
                        ));
                        self.error(d);
                        ok = false;
                        continue;
                    }
                    positional - 1
                }
                Some(n) => match params.iter().position(|p| *p == n.text) {
                    Some(i) => i,
                    None => {
                        let mut d = Diagnostic::error(
                            "E0110",
                            format!("`{}` has no argument `{}`", func.text, n.text),
                        )
                        .label(n.span, "unknown argument");
                        d = match did_you_mean(&n.text, params.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help(format!("`{}({})`", func.text, params.join(", "))),
                        };
                        self.error(d);
                        ok = false;
                        continue;
                    }
                },
            };
            if out[slot].is_some() {
                let d = Diagnostic::error(
                    "E0110",
                    format!(
                        "argument `{}` of `{}` is given twice",
                        params[slot], func.text
                    ),
                )
                .label(a.value.span, "given again");
                self.error(d);
                ok = false;
                continue;
            }
            out[slot] = Some(&a.value);
        }
        for (i, p) in params.iter().enumerate().take(required) {
            if out[i].is_none() && ok {
                let d =
                    Diagnostic::error("E0110", format!("`{}` needs the argument `{p}`", func.text))
                        .label(func.span, "missing an argument")
                        .help(format!("`{}({})`", func.text, params.join(", ")));
                self.error(d);
                ok = false;
            }
        }
        ok.then_some(out)
    }

    /// A plain compile-time number argument.
    pub(super) fn num_arg(&mut self, e: &Expr, what: &str) -> Option<f64> {
        match self.expr(e, Mode::Const) {
            Val::C(CVal::Num(v, 0)) => Some(v),
            Val::C(CVal::Num(_, d)) => {
                let d = Diagnostic::error("E0103", format!("bad unit: {what} is a plain number"))
                    .label(e.span, format!("this is {}", value::dim_name(d)));
                self.error(d);
                None
            }
            Val::C(other) => {
                let d = Diagnostic::error("E0109", format!("{what} must be a number"))
                    .label(e.span, format!("this is {}", other.describe()));
                self.error(d);
                None
            }
            _ => None,
        }
    }

    /// A compile-time whole number in `lo..=hi`.
    pub(super) fn int_arg(&mut self, e: &Expr, what: &str, lo: f64, hi: f64) -> Option<f64> {
        let v = self.num_arg(e, what)?;
        if v.fract() != 0.0 || v < lo || v > hi {
            let d = Diagnostic::error(
                "E0104",
                format!("number out of range: {what} must be a whole number from {lo} to {hi}"),
            )
            .label(e.span, format!("this is {v}"));
            self.error(d);
            return None;
        }
        Some(v)
    }

    fn f32_arg(&mut self, e: &Expr, what: &str) -> Option<f32> {
        let v = self.num_arg(e, what)?;
        match value::to_f32(v) {
            Ok(f) => Some(f),
            Err(m) => {
                self.error(
                    Diagnostic::error("E0104", format!("number out of range: {m}"))
                        .label(e.span, "here"),
                );
                None
            }
        }
    }

    fn call(&mut self, func: &Name, args: &[Arg], span: Span, mode: Mode) -> Val {
        let name = func.text.as_str();
        match name {
            "relu" | "tanh" | "sigmoid" | "exp" | "heaviside" => {
                let Some(b) = self.bind(func, args, &["x"], 1) else {
                    return Val::Err;
                };
                let x = b[0].expect("required");
                let f = UnaryFn::from_name(name).expect("listed above");
                match self.expr(x, mode) {
                    Val::Err => Val::Err,
                    Val::C(c) => {
                        let keeps_zero =
                            matches!(f, UnaryFn::Relu | UnaryFn::Tanh | UnaryFn::Heaviside);
                        let apply = move |v: f64| f.apply(v as f32) as f64;
                        let r = value::unary(f.name(), &c, apply, false);
                        let r = if keeps_zero
                            || !matches!(&c, CVal::Tensor(t, _) if t.tensor.is_sparse())
                        {
                            r
                        } else {
                            Err(ConstError::SparseFill)
                        };
                        self.fold(r, span)
                    }
                    Val::Node(n) => Val::Node(self.node(Op::Unary(f), &[n], span)),
                }
            }
            "clamp" => {
                let Some(b) = self.bind(func, args, &["x", "lo", "hi"], 3) else {
                    return Val::Err;
                };
                let (lo, hi) = (
                    self.f32_arg(b[1].expect("required"), "`lo`"),
                    self.f32_arg(b[2].expect("required"), "`hi`"),
                );
                let x = b[0].expect("required");
                let v = self.expr(x, mode);
                let (Some(lo), Some(hi)) = (lo, hi) else {
                    return Val::Err;
                };
                if lo > hi {
                    let d = Diagnostic::error(
                        "E0104",
                        format!("number out of range: `clamp` bounds {lo} > {hi}"),
                    )
                    .label(span, "the lower bound is above the upper bound");
                    self.error(d);
                    return Val::Err;
                }
                match v {
                    Val::Err => Val::Err,
                    Val::C(c) => {
                        let r = value::unary(
                            "clamp",
                            &c,
                            move |v| v.clamp(lo as f64, hi as f64),
                            false,
                        );
                        self.fold(r, span)
                    }
                    Val::Node(n) => Val::Node(self.node(Op::Clamp { lo, hi }, &[n], span)),
                }
            }
            "load" => self.load_call(func, args),
            "normal" | "uniform" | "randint" | "full" | "zeros" | "ones" | "eye" | "sparse" => {
                match self.init_call(func, args) {
                    Some(init) => Val::C(CVal::Init(init, span)),
                    None => Val::Err,
                }
            }
            _ => {
                let all = STEP_FUNCTIONS.iter().chain(CONST_FUNCTIONS.iter()).copied();
                let mut d = Diagnostic::error("E0110", format!("unknown function `{name}`"))
                    .label(func.span, "not a function snnc knows");
                d = match did_you_mean(name, all) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.note(format!(
                        "functions: {}; initializers: {}",
                        STEP_FUNCTIONS.join(", "),
                        CONST_FUNCTIONS.join(", ")
                    )),
                };
                self.error(d);
                Val::Err
            }
        }
    }

    /// A value distribution: a number or `normal(...)`/`uniform(...)`/`randint(...)`
    /// without a seed (inside `sparse(...)`).
    fn dist(&mut self, e: &Expr) -> Option<Dist> {
        if let ExprKind::Call { func, args } = &e.kind
            && matches!(
                func.text.as_str(),
                "normal" | "uniform" | "randint" | "full"
            )
        {
            if let Some(a) = args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.text == "seed"))
            {
                let d =
                    Diagnostic::error("E0110", "the values of `sparse` use the seed of `sparse`")
                        .label(a.value.span, "give the seed to `sparse(...)` instead");
                self.error(d);
                return None;
            }
            let init = self.init_call(func, args)?;
            return match init {
                Init::Dense { dist, .. } => Some(dist),
                _ => None,
            };
        }
        Some(Dist::Constant(self.f32_arg(e, "the value")?))
    }

    /// `normal(...)`, `uniform(...)`, `randint(...)`, `full(v)`, `zeros()`,
    /// `ones()`, `eye(v)`, `sparse(...)`: an initializer without a shape.
    fn init_call(&mut self, func: &Name, args: &[Arg]) -> Option<Init> {
        let seed = |s: &mut Self, e: Option<&Expr>| -> Option<u64> {
            match e {
                Some(e) => s
                    .int_arg(e, "`seed`", 0.0, u64::MAX as f64)
                    .map(|v| v as u64),
                None => Some(0),
            }
        };
        match func.text.as_str() {
            "normal" => {
                let b = self.bind(func, args, &["mean", "std", "seed"], 0)?;
                let mean = b[0].map_or(Some(0.0), |e| self.f32_arg(e, "`mean`"));
                let std = b[1].map_or(Some(1.0), |e| self.f32_arg(e, "`std`"));
                let seed = seed(self, b[2]);
                let (mean, std, seed) = (mean?, std?, seed?);
                if std < 0.0 {
                    let d = Diagnostic::error(
                        "E0104",
                        "number out of range: `std` must not be negative",
                    )
                    .label(b[1].map_or(func.span, |e| e.span), format!("this is {std}"));
                    self.error(d);
                    return None;
                }
                Some(Init::Dense {
                    dist: Dist::Normal { mean, std },
                    seed,
                })
            }
            "uniform" => {
                let b = self.bind(func, args, &["low", "high", "seed"], 2)?;
                let low = self.f32_arg(b[0].expect("required"), "`low`");
                let high = self.f32_arg(b[1].expect("required"), "`high`");
                let seed = seed(self, b[2]);
                let (low, high, seed) = (low?, high?, seed?);
                if low > high {
                    let d = Diagnostic::error(
                        "E0104",
                        format!(
                            "number out of range: `uniform` needs low <= high, got {low} > {high}"
                        ),
                    )
                    .label(func.span, "empty range");
                    self.error(d);
                    return None;
                }
                Some(Init::Dense {
                    dist: Dist::Uniform { low, high },
                    seed,
                })
            }
            "randint" => {
                let b = self.bind(func, args, &["low", "high", "seed"], 2)?;
                let (lo, hi) = (i32::MIN as f64, i32::MAX as f64);
                let low = self.int_arg(b[0].expect("required"), "`low`", lo, hi);
                let high = self.int_arg(b[1].expect("required"), "`high`", lo, hi);
                let seed = seed(self, b[2]);
                let (low, high, seed) = (low? as i32, high? as i32, seed?);
                if low >= high {
                    let d = Diagnostic::error(
                        "E0104",
                        format!(
                            "number out of range: `randint` needs low < high, got {low} and {high}"
                        ),
                    )
                    .label(func.span, "empty range");
                    self.error(d);
                    return None;
                }
                Some(Init::Dense {
                    dist: Dist::Integers { low, high },
                    seed,
                })
            }
            "full" => {
                let b = self.bind(func, args, &["value"], 1)?;
                let v = self.f32_arg(b[0].expect("required"), "`value`")?;
                Some(Init::Dense {
                    dist: Dist::Constant(v),
                    seed: 0,
                })
            }
            "zeros" | "ones" => {
                self.bind(func, args, &[], 0)?;
                let v = if func.text == "ones" { 1.0 } else { 0.0 };
                Some(Init::Dense {
                    dist: Dist::Constant(v),
                    seed: 0,
                })
            }
            "eye" => {
                let b = self.bind(func, args, &["value"], 0)?;
                let value = b[0].map_or(Some(1.0), |e| self.f32_arg(e, "`value`"))?;
                Some(Init::Eye { value })
            }
            "sparse" => {
                let b = self.bind(func, args, &["density", "values", "seed"], 2)?;
                let de = b[0].expect("required");
                let density = self.num_arg(de, "`density`");
                let dist = self.dist(b[1].expect("required"));
                let seed = seed(self, b[2]);
                let (density, dist, seed) = (density?, dist?, seed?);
                if !(0.0..=1.0).contains(&density) {
                    let d = Diagnostic::error(
                        "E0104",
                        "number out of range: `density` must be between 0 and 1",
                    )
                    .label(de.span, format!("this is {density}"));
                    self.error(d);
                    return None;
                }
                Some(Init::Sparse {
                    density,
                    dist,
                    seed,
                })
            }
            _ => None,
        }
    }

    /// `[1, 2, 3]` or `[[1, 2], [3, 4]]`: an inline tensor.
    fn list(&mut self, items: &[Expr], span: Span) -> Val {
        fn walk(
            s: &mut Lowerer,
            e: &Expr,
            depth: usize,
            shape: &mut Vec<Option<u32>>,
            out: &mut Vec<f64>,
            dims: &mut Option<i8>,
        ) -> bool {
            if shape.len() <= depth {
                shape.push(None);
            }
            match &e.kind {
                ExprKind::List(items) => {
                    let n = items.len() as u32;
                    match shape[depth] {
                        Some(m) if m != n => {
                            let d = Diagnostic::error(
                                "E0102",
                                format!("shape mismatch: rows of {m} and {n} elements in one list"),
                            )
                            .label(e.span, format!("{n} elements"));
                            s.error(d);
                            return false;
                        }
                        _ => shape[depth] = Some(n),
                    }
                    items
                        .iter()
                        .all(|i| walk(s, i, depth + 1, shape, out, dims))
                }
                _ => {
                    if shape.len() > depth + 1 || shape[depth].is_some() {
                        let d = Diagnostic::error(
                            "E0102",
                            "shape mismatch: a number where a list was expected",
                        )
                        .label(e.span, "expected a list");
                        s.error(d);
                        return false;
                    }
                    shape.pop();
                    match s.expr(e, Mode::Const) {
                        Val::C(CVal::Num(v, d)) => {
                            if dims.is_some_and(|x| x != d) {
                                let diag = Diagnostic::error(
                                    "E0103",
                                    "bad unit: a list mixes durations and plain numbers",
                                )
                                .label(e.span, value::dim_name(d));
                                s.error(diag);
                                return false;
                            }
                            *dims = Some(d);
                            out.push(v);
                            shape.push(None);
                            true
                        }
                        Val::C(other) => {
                            let d = Diagnostic::error(
                                "E0109",
                                format!("a list holds numbers, not {}", other.describe()),
                            )
                            .label(e.span, "not a number");
                            s.error(d);
                            false
                        }
                        _ => false,
                    }
                }
            }
        }
        let wrapper = Expr {
            kind: ExprKind::List(items.to_vec()),
            span,
        };
        let mut shape = Vec::new();
        let mut vals = Vec::new();
        let mut dims = None;
        if !walk(self, &wrapper, 0, &mut shape, &mut vals, &mut dims) {
            return Val::Err;
        }
        let shape: Vec<u32> = shape.into_iter().map_while(|d| d).collect();
        if shape.is_empty() || shape.contains(&0) {
            let d = Diagnostic::error("E0102", "an empty list has no shape").label(span, "empty");
            self.error(d);
            return Val::Err;
        }
        let mut f = Vec::with_capacity(vals.len());
        for v in &vals {
            match value::to_f32(*v) {
                Ok(x) => f.push(x),
                Err(m) => {
                    self.error(
                        Diagnostic::error("E0104", format!("number out of range: {m}"))
                            .label(span, "in this list"),
                    );
                    return Val::Err;
                }
            }
        }
        let all_int = vals
            .iter()
            .all(|v| v.fract() == 0.0 && v.abs() < i32::MAX as f64);
        let tensor = if all_int && dims == Some(0) && !vals.is_empty() && items_look_integral(items)
        {
            Tensor::dense(
                shape,
                snn_ir::tensor::Values::I32(
                    vals.iter().map(|&v| v as i32).collect::<Vec<_>>().into(),
                ),
                Origin::Literal,
            )
        } else {
            Tensor::from_f32(shape, f, Origin::Literal)
        };
        // The shape was computed from the values.
        let tensor = tensor.expect("shape matches the values");
        Val::C(CVal::Tensor(CTensor::new(tensor), dims.unwrap_or(0)))
    }

    /// A compile-time size: a whole number from 1 to 2^32 − 1.
    pub(super) fn size(&mut self, e: &Expr) -> Option<u32> {
        let v = self.num_arg(e, "a size")?;
        if v.fract() != 0.0 || v < 1.0 || v > u32::MAX as f64 {
            let d = Diagnostic::error(
                "E0104",
                "number out of range: a size must be a whole number from 1 to 4294967295",
            )
            .label(e.span, format!("this is {v}"));
            self.error(d);
            return None;
        }
        Some(v as u32)
    }

    /// Gives a compile-time value the declared shape `dims`: initializers are
    /// run, numbers are broadcast, tensors are checked.
    pub(super) fn shaped(
        &mut self,
        v: CVal,
        dims: &[u32],
        value_span: Span,
        shape_span: Span,
        name: &str,
    ) -> Option<CVal> {
        match v {
            CVal::Init(init, span) => match init.generate(dims) {
                Ok(data) => {
                    let t = match data.pattern {
                        Some(p) => Tensor::sparse(p, data.values, Origin::Init(init)),
                        None => Tensor::dense(dims.to_vec(), data.values, Origin::Init(init)),
                    };
                    // Generated for exactly this shape.
                    Some(CVal::Tensor(
                        CTensor::new(t.expect("generated to shape")),
                        0,
                    ))
                }
                Err(e) => {
                    self.init_error(e, span, shape_span, dims);
                    None
                }
            },
            CVal::Num(x, d) => match value::to_f32(x) {
                Ok(f) => {
                    let init = Init::Dense {
                        dist: Dist::Constant(f),
                        seed: 0,
                    };
                    let data = match init.generate(dims) {
                        Ok(data) => data,
                        Err(e) => {
                            self.init_error(e, value_span, shape_span, dims);
                            return None;
                        }
                    };
                    // Generated for exactly this shape.
                    let t = Tensor::dense(dims.to_vec(), data.values, Origin::Init(init))
                        .expect("generated to shape");
                    Some(CVal::Tensor(CTensor::new(t), d))
                }
                Err(m) => {
                    self.error(
                        Diagnostic::error("E0104", format!("number out of range: {m}"))
                            .label(value_span, "here"),
                    );
                    None
                }
            },
            CVal::Tensor(t, d) => {
                if t.tensor.shape() != dims {
                    let what = match t.tensor.origin() {
                        Origin::File { path, key } => match key {
                            Some(k) => {
                                format!("`{k}` in {path} has shape {}", ShapeFmt(t.tensor.shape()))
                            }
                            None => format!("{path} has shape {}", ShapeFmt(t.tensor.shape())),
                        },
                        _ => format!("the value has shape {}", ShapeFmt(t.tensor.shape())),
                    };
                    let code = if matches!(t.tensor.origin(), Origin::File { .. }) {
                        "E0122"
                    } else {
                        "E0102"
                    };
                    let d = Diagnostic::error(
                        code,
                        format!(
                            "shape mismatch: {what}, but `{name}` is declared {}",
                            ShapeFmt(dims)
                        ),
                    )
                    .label(value_span, format!("shape {}", ShapeFmt(t.tensor.shape())))
                    .label(shape_span, format!("declared {}", ShapeFmt(dims)));
                    self.error(d);
                    return None;
                }
                Some(CVal::Tensor(t, d))
            }
            CVal::Str(_) => {
                let d = Diagnostic::error(
                    "E0109",
                    format!("`{name}` is declared with a shape but is a string"),
                )
                .label(value_span, "a string");
                self.error(d);
                None
            }
        }
    }

    /// Reports an initializer that could not run: over the memory budget
    /// (E0206) or not for this shape (E0102).
    pub(super) fn init_error(&mut self, e: InitError, span: Span, shape_span: Span, dims: &[u32]) {
        let d = match e {
            InitError::Budget(b) => Diagnostic::error("E0206", b.to_string())
                .label(span, "this initializer")
                .label(shape_span, format!("shape {}", ShapeFmt(dims)))
                .help("declare a smaller tensor, or raise the budget with --max-memory"),
            other => Diagnostic::error("E0102", other.to_string())
                .label(span, "this initializer")
                .label(shape_span, format!("shape {}", ShapeFmt(dims))),
        };
        self.error(d);
    }

    /// A per-population or per-neuron real parameter (or a state's initial value).
    pub(super) fn param_const(&mut self, e: &Expr, size: u32, what: &str) -> Option<Const> {
        let v = match self.expr(e, Mode::Const) {
            Val::C(c) => c,
            _ => return None,
        };
        if dim_of(&v) != 0 {
            let d = Diagnostic::error("E0103", format!("bad unit: {what} is a plain number"))
                .label(e.span, format!("this is {}", value::dim_name(dim_of(&v))));
            self.error(d);
            return None;
        }
        self.per_neuron(v, e.span, size, what)
    }

    /// A scalar or a `[size]` tensor as a `Const`.
    pub(super) fn per_neuron(
        &mut self,
        v: CVal,
        span: Span,
        size: u32,
        what: &str,
    ) -> Option<Const> {
        match v {
            CVal::Num(x, _) => match value::to_f32(x) {
                Ok(f) => Some(Const::Scalar(f)),
                Err(m) => {
                    self.error(
                        Diagnostic::error("E0104", format!("number out of range: {m}"))
                            .label(span, "here"),
                    );
                    None
                }
            },
            v @ CVal::Init(..) => match self.shaped(v, &[size], span, span, what)? {
                CVal::Tensor(t, _) => self.f32_tensor(&t, span).map(Const::Tensor),
                _ => None,
            },
            CVal::Tensor(t, _) => {
                if t.tensor.shape() != [size] || t.tensor.is_sparse() {
                    let d = Diagnostic::error(
                        "E0102",
                        format!(
                            "shape mismatch: {what} has shape {}, but there are {size} neurons",
                            ShapeFmt(t.tensor.shape())
                        ),
                    )
                    .label(span, format!("shape {}", ShapeFmt(t.tensor.shape())))
                    .help(format!(
                        "give one value for all neurons, or a [{size}] tensor"
                    ));
                    self.error(d);
                    return None;
                }
                self.f32_tensor(&t, span).map(Const::Tensor)
            }
            CVal::Str(_) => {
                let d =
                    Diagnostic::error("E0109", format!("{what} must be a number, not a string"))
                        .label(span, "a string");
                self.error(d);
                None
            }
        }
    }
}

/// Whether every leaf of a list literal is written without a decimal point
/// (`[0, 3, 7]` makes an integer tensor, `[0.0, 3.5]` a float one).
fn items_look_integral(items: &[Expr]) -> bool {
    items.iter().all(|e| match &e.kind {
        ExprKind::List(inner) => items_look_integral(inner),
        ExprKind::Num { text, unit: None } => !text.contains(['.', 'e', 'E']),
        ExprKind::Neg(inner) => items_look_integral(std::slice::from_ref(inner)),
        _ => false,
    })
}
