//! Between the IR and the e-graph: an IR expression becomes an e-graph
//! expression (`to_egg`), and an extracted canonical expression becomes a
//! normal form (`Affine`): a constant plus a list of coefficient × term,
//! like terms merged, where a term is a signal, a matrix times a signal, a
//! constant vector, a function of an affine expression, or a product of two
//! non-constant expressions.

use std::collections::{HashMap, HashSet};
use std::fmt;

use egg::{Id, RecExpr};
use snn_ir::{BinaryFn, Const, Delay, Graph, NodeId, Op, TensorId, UnaryFn};

use super::lang::{Cell, Num};

/// A signal an expression reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leaf {
    /// A state's previous value (the `State` node).
    Prev(NodeId),
    /// The value computed at another root (a state's new value, a named
    /// nonlinear value).
    Root(NodeId),
    Input(NodeId),
    Population(NodeId),
    Probe(NodeId),
}

impl Leaf {
    fn symbol(self) -> String {
        match self {
            Leaf::Prev(n) => format!("s{}", n.0),
            Leaf::Root(n) => format!("r{}", n.0),
            Leaf::Input(n) => format!("x{}", n.0),
            Leaf::Population(n) => format!("p{}", n.0),
            Leaf::Probe(n) => format!("q{}", n.0),
        }
    }

    fn parse(s: &str) -> Option<Leaf> {
        let (kind, id) = s.split_at(1);
        let n = NodeId(id.parse().ok()?);
        Some(match kind {
            "s" => Leaf::Prev(n),
            "r" => Leaf::Root(n),
            "x" => Leaf::Input(n),
            "p" => Leaf::Population(n),
            "q" => Leaf::Probe(n),
            _ => return None,
        })
    }
}

/// A constant matrix or vector times a factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaled {
    pub tensor: TensorId,
    pub factor: f64,
}

/// An elementwise function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Func {
    Relu,
    Tanh,
    Sigmoid,
    Exp,
    Heaviside,
    Clamp(f32, f32),
}

impl fmt::Display for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Func::Relu => f.write_str("relu"),
            Func::Tanh => f.write_str("tanh"),
            Func::Sigmoid => f.write_str("sigmoid"),
            Func::Exp => f.write_str("exp"),
            Func::Heaviside => f.write_str("heaviside"),
            Func::Clamp(lo, hi) => write!(f, "clamp(·, {lo}, {hi})"),
        }
    }
}

/// One term of a normal form (its coefficient is kept beside it).
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Signal(Leaf),
    MatVec(TensorId, Leaf),
    /// A constant vector.
    Vector(TensorId),
    Call(Func, Box<Affine>),
    /// A product of two non-constant expressions (a gate).
    Product(Box<Affine>, Box<Affine>),
    /// A division by a non-constant expression.
    Quotient(Box<Affine>, Box<Affine>),
    /// A matrix applied to something that is not a plain signal.
    Opaque(String),
}

/// `constant + Σ coef · term`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Affine {
    pub constant: f64,
    pub terms: Vec<(f64, Term)>,
}

impl Affine {
    fn constant(c: f64) -> Self {
        Affine {
            constant: c,
            terms: vec![],
        }
    }

    fn term(t: Term) -> Self {
        Affine {
            constant: 0.0,
            terms: vec![(1.0, t)],
        }
    }

    pub fn is_constant(&self) -> bool {
        self.terms.is_empty()
    }

    fn scale(mut self, c: f64) -> Self {
        self.constant *= c;
        for (k, _) in &mut self.terms {
            *k *= c;
        }
        self
    }

    fn add(mut self, other: Affine) -> Self {
        self.constant += other.constant;
        for (c, t) in other.terms {
            self.push(c, t);
        }
        self
    }

    /// Adds `c · t`, merging it with a like term.
    fn push(&mut self, c: f64, t: Term) {
        if let Some((k, _)) = self.terms.iter_mut().find(|(_, u)| *u == t) {
            *k += c;
        } else {
            self.terms.push((c, t));
        }
    }

    /// Drops terms whose coefficient is zero (recursively).
    pub fn tidy(mut self) -> Self {
        self.terms.retain(|(c, _)| *c != 0.0);
        for (_, t) in &mut self.terms {
            match t {
                Term::Call(_, a) => **a = std::mem::take(&mut **a).tidy(),
                Term::Product(a, b) | Term::Quotient(a, b) => {
                    **a = std::mem::take(&mut **a).tidy();
                    **b = std::mem::take(&mut **b).tidy();
                }
                _ => {}
            }
        }
        self
    }

    /// Every leaf read anywhere in the expression.
    pub fn leaves(&self, out: &mut Vec<Leaf>) {
        for (_, t) in &self.terms {
            match t {
                Term::Signal(l) | Term::MatVec(_, l) => out.push(*l),
                Term::Call(_, a) => a.leaves(out),
                Term::Product(a, b) | Term::Quotient(a, b) => {
                    a.leaves(out);
                    b.leaves(out);
                }
                Term::Vector(_) | Term::Opaque(_) => {}
            }
        }
    }

    /// Whether a function or product appears anywhere.
    pub fn has(&self, pred: &dyn Fn(&Term) -> bool) -> bool {
        self.terms.iter().any(|(_, t)| {
            pred(t)
                || match t {
                    Term::Call(_, a) => a.has(pred),
                    Term::Product(a, b) | Term::Quotient(a, b) => a.has(pred) || b.has(pred),
                    _ => false,
                }
        })
    }
}

/// Whether a node is pure per-step algebra (what `fold` rewrites).
pub fn is_algebra(op: &Op) -> bool {
    matches!(
        op,
        Op::Const(_) | Op::Unary(_) | Op::Binary(_) | Op::Clamp { .. } | Op::Project(_)
    )
}

/// The e-graph expression of the IR expression at `root`. The walk stops at
/// leaves and at other roots.
pub fn to_egg(g: &Graph, root: NodeId, roots: &HashSet<NodeId>) -> RecExpr<Cell> {
    let mut expr = RecExpr::default();
    let mut memo = std::collections::HashMap::new();
    walk(g, root, root, roots, &mut expr, &mut memo);
    expr
}

fn walk(
    g: &Graph,
    n: NodeId,
    root: NodeId,
    roots: &HashSet<NodeId>,
    expr: &mut RecExpr<Cell>,
    memo: &mut std::collections::HashMap<NodeId, Id>,
) -> Id {
    if let Some(&id) = memo.get(&n) {
        return id;
    }
    let sym = |expr: &mut RecExpr<Cell>, s: String| expr.add(Cell::Symbol(s.into()));
    let id = if n != root && roots.contains(&n) {
        sym(expr, Leaf::Root(n).symbol())
    } else {
        let args = g.args(n);
        let mut arg =
            |i: usize, expr: &mut RecExpr<Cell>| walk(g, args[i], root, roots, expr, memo);
        match g.op(n) {
            Op::State { .. } => sym(expr, Leaf::Prev(n).symbol()),
            Op::Input { .. } => sym(expr, Leaf::Input(n).symbol()),
            Op::Population(_) => sym(expr, Leaf::Population(n).symbol()),
            Op::Probe(_) => sym(expr, Leaf::Probe(n).symbol()),
            Op::Const(Const::Scalar(v)) => expr.add(Cell::Num(Num::new(*v as f64))),
            Op::Const(Const::Tensor(t)) => sym(expr, format!("c{}", t.0)),
            Op::Unary(f) => {
                let a = arg(0, expr);
                expr.add(match f {
                    UnaryFn::Neg => Cell::Neg(a),
                    UnaryFn::Relu => Cell::Relu(a),
                    UnaryFn::Tanh => Cell::Tanh(a),
                    UnaryFn::Sigmoid => Cell::Sigmoid(a),
                    UnaryFn::Exp => Cell::Exp(a),
                    UnaryFn::Heaviside => Cell::Heaviside(a),
                })
            }
            Op::Binary(f) => {
                let a = arg(0, expr);
                let b = arg(1, expr);
                expr.add(match f {
                    BinaryFn::Add => Cell::Add([a, b]),
                    BinaryFn::Sub => Cell::Sub([a, b]),
                    BinaryFn::Mul => Cell::Mul([a, b]),
                    BinaryFn::Div => Cell::Div([a, b]),
                })
            }
            Op::Clamp { lo, hi } => {
                let a = arg(0, expr);
                let lo = expr.add(Cell::Num(Num::new(*lo as f64)));
                let hi = expr.add(Cell::Num(Num::new(*hi as f64)));
                expr.add(Cell::Clamp([a, lo, hi]))
            }
            Op::Project(p) if p.delay == Delay::Const(0) => {
                let w = sym(expr, format!("w{}", p.weights.0));
                let x = arg(0, expr);
                expr.add(Cell::MatVec([w, x]))
            }
            // A delayed projection or an output inside algebra: opaque.
            _ => sym(expr, format!("o{}", n.0)),
        }
    };
    memo.insert(n, id);
    id
}

/// The normal form of an extracted expression.
pub fn normalize(e: &RecExpr<Cell>) -> Affine {
    let root = Id::from(e.as_ref().len() - 1);
    flatten(e, root, &mut HashMap::new()).tidy()
}

fn num(e: &RecExpr<Cell>, id: Id) -> Option<f64> {
    match &e[id] {
        Cell::Num(n) => Some(n.get()),
        _ => None,
    }
}

/// A matrix expression: `w3`, `c4`, or `(scale k m)`.
fn scaled(e: &RecExpr<Cell>, id: Id) -> Option<Scaled> {
    match &e[id] {
        Cell::Symbol(s) if s.as_str().starts_with(['w', 'c']) => Some(Scaled {
            tensor: TensorId(s.as_str()[1..].parse().ok()?),
            factor: 1.0,
        }),
        Cell::Scale([k, m]) => {
            let k = num(e, *k)?;
            let inner = scaled(e, *m)?;
            Some(Scaled {
                tensor: inner.tensor,
                factor: inner.factor * k,
            })
        }
        _ => None,
    }
}

/// The affine form of node `id`, once per node: an extracted expression
/// shares sub-terms, and a ladder `a1 = a0 + a0`, `a2 = a1 + a1`, ...
/// would otherwise be walked once per path, 2^n times.
fn flatten(e: &RecExpr<Cell>, id: Id, memo: &mut HashMap<Id, Affine>) -> Affine {
    if let Some(a) = memo.get(&id) {
        return a.clone();
    }
    let a = flatten_node(e, id, memo);
    memo.insert(id, a.clone());
    a
}

fn flatten_node(e: &RecExpr<Cell>, id: Id, memo: &mut HashMap<Id, Affine>) -> Affine {
    let mut f = |i: &Id| flatten(e, *i, memo);
    match &e[id] {
        Cell::Num(n) => Affine::constant(n.get()),
        Cell::Symbol(s) => {
            let s = s.as_str();
            if let Some(l) = Leaf::parse(s) {
                Affine::term(Term::Signal(l))
            } else if let Some(v) = s.strip_prefix('c').and_then(|t| t.parse().ok()) {
                Affine::term(Term::Vector(TensorId(v)))
            } else {
                Affine::term(Term::Opaque(s.to_string()))
            }
        }
        Cell::Add([a, b]) => f(a).add(f(b)),
        Cell::Sub([a, b]) => f(a).add(f(b).scale(-1.0)),
        Cell::Neg(a) => f(a).scale(-1.0),
        Cell::Mul([a, b]) => {
            let (x, y) = (f(a), f(b));
            if x.is_constant() {
                y.scale(x.constant)
            } else if y.is_constant() {
                x.scale(y.constant)
            } else {
                Affine::term(Term::Product(Box::new(x), Box::new(y)))
            }
        }
        Cell::Div([a, b]) => {
            let (x, y) = (f(a), f(b));
            if y.is_constant() && y.constant != 0.0 {
                x.scale(1.0 / y.constant)
            } else {
                Affine::term(Term::Quotient(Box::new(x), Box::new(y)))
            }
        }
        Cell::Scale(_) => match scaled(e, id) {
            Some(s) => Affine {
                constant: 0.0,
                terms: vec![(s.factor, Term::Vector(s.tensor))],
            },
            None => Affine::term(Term::Opaque(e[id].to_string())),
        },
        Cell::MatVec([w, x]) => {
            let Some(w) = scaled(e, *w) else {
                return Affine::term(Term::Opaque("a matrix product".into()));
            };
            // A matrix times a linear combination of signals.
            let x = f(x);
            let mut out = Affine::default();
            if x.constant != 0.0 {
                out.push(1.0, Term::Opaque("a matrix times a constant".into()));
            }
            for (c, t) in x.terms {
                match t {
                    Term::Signal(l) => out.push(c * w.factor, Term::MatVec(w.tensor, l)),
                    other => out.push(1.0, Term::Opaque(matrix_times(&other))),
                }
            }
            out
        }
        Cell::Relu(a) => Affine::term(Term::Call(Func::Relu, Box::new(f(a)))),
        Cell::Tanh(a) => Affine::term(Term::Call(Func::Tanh, Box::new(f(a)))),
        Cell::Sigmoid(a) => Affine::term(Term::Call(Func::Sigmoid, Box::new(f(a)))),
        Cell::Exp(a) => Affine::term(Term::Call(Func::Exp, Box::new(f(a)))),
        Cell::Heaviside(a) => Affine::term(Term::Call(Func::Heaviside, Box::new(f(a)))),
        Cell::Clamp([x, lo, hi]) => match (num(e, *lo), num(e, *hi)) {
            (Some(lo), Some(hi)) => Affine::term(Term::Call(
                Func::Clamp(lo as f32, hi as f32),
                Box::new(f(x)),
            )),
            _ => Affine::term(Term::Opaque("clamp with varying bounds".into())),
        },
    }
}

/// "a matrix times ..." for a term a matrix multiplies that is not a
/// signal; a product of several matrices is named once, not once a matrix
/// (a chain of them would make a message, and work, as long as the chain).
fn matrix_times(t: &Term) -> String {
    match t {
        Term::Opaque(s) if s.starts_with("a matrix times a matrix") || s == PRODUCTS => {
            PRODUCTS.into()
        }
        other => format!("a matrix times {}", describe(other)),
    }
}

const PRODUCTS: &str = "a product of several matrices";

/// A few words for a term, for error messages.
pub fn describe(t: &Term) -> String {
    match t {
        Term::Signal(_) => "a value".into(),
        Term::MatVec(..) => "a matrix product".into(),
        Term::Vector(_) => "a constant vector".into(),
        Term::Call(f, _) => format!("`{f}`"),
        Term::Product(..) => "a product of two changing values".into(),
        Term::Quotient(..) => "a division by a changing value".into(),
        Term::Opaque(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::lang::{Limits, simplify};
    use super::*;

    fn nf(s: &str) -> Affine {
        let e: RecExpr<Cell> = s.parse().unwrap();
        normalize(&simplify(&e, &mut Limits::default()))
    }

    #[test]
    fn lowpass_merges_like_terms() {
        // h + (relu(W x) - h)/4 = 0.75 h + 0.25 relu(W x)
        let a = nf("(+ s1 (/ (- (relu (@ w0 x2)) s1) 4))");
        assert_eq!(a.constant, 0.0);
        assert_eq!(a.terms.len(), 2);
        assert_eq!(a.terms[0], (0.75, Term::Signal(Leaf::Prev(NodeId(1)))));
        let (c, Term::Call(Func::Relu, inner)) = &a.terms[1] else {
            panic!("{a:?}")
        };
        assert_eq!(*c, 0.25);
        assert_eq!(
            inner.terms,
            vec![(1.0, Term::MatVec(TensorId(0), Leaf::Input(NodeId(2))))]
        );
    }

    #[test]
    fn constants_go_into_weights_and_biases() {
        // 0.2 * (W x + 2 U h + b - 3)
        let a = nf("(* 0.2 (- (+ (+ (@ w0 x2) (* 2 (@ w1 s3))) c4) 3))");
        assert!((a.constant + 0.6).abs() < 1e-12);
        let get = |t: &Term| {
            a.terms
                .iter()
                .find(|(_, u)| u == t)
                .map(|(c, _)| *c)
                .unwrap()
        };
        assert!((get(&Term::MatVec(TensorId(0), Leaf::Input(NodeId(2)))) - 0.2).abs() < 1e-12);
        assert!((get(&Term::MatVec(TensorId(1), Leaf::Prev(NodeId(3)))) - 0.4).abs() < 1e-12);
        assert!((get(&Term::Vector(TensorId(4))) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn gates_are_products() {
        let a = nf("(* (sigmoid (@ w0 x1)) (tanh (@ w2 x1)))");
        assert!(matches!(a.terms[0].1, Term::Product(..)));
        assert!(a.has(&|t| matches!(t, Term::Call(Func::Sigmoid, _))));
    }
}
