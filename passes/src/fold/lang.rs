//! The e-graph language of per-step cell algebra, its constant-folding
//! analysis, the rewrite rules, and extraction.
//!
//! Only pure expressions enter the e-graph; leaves are symbols standing for
//! signals (`s3`: state n3's previous value, `r7`: the new value computed at
//! root n7, `x0`: input n0, `p4`: population n4, `q5`: probe n5), weight
//! matrices (`w2`: tensor t2) and constant vectors (`c6`: tensor t6).
//!
//! Rules rewrite one way, towards a canonical "sum of scaled terms" form:
//! subtraction and division by constants become multiplication, constants
//! move to the left of products and into weight matrices. There is no
//! general commutativity or associativity: the rules cannot grow the graph
//! without bound. Like terms are merged later, outside the e-graph
//! (`normal.rs`).

use std::fmt;
use std::str::FromStr;

use egg::{
    Analysis, CostFunction, DidMerge, Id, Language, RecExpr, Rewrite, Runner, Subst,
    define_language, rewrite,
};

/// A finite `f64` constant that can live in an e-graph (ordered by bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Num(u64);

impl Num {
    pub fn new(v: f64) -> Self {
        // One bit pattern for zero, so that 0 and -0 are one class.
        let v = if v == 0.0 { 0.0 } else { v };
        Num(v.to_bits())
    }

    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

impl FromStr for Num {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Num::new)
            .ok_or(())
    }
}

define_language! {
    /// Per-step cell algebra.
    pub enum Cell {
        "+" = Add([Id; 2]),
        "-" = Sub([Id; 2]),
        "*" = Mul([Id; 2]),
        "/" = Div([Id; 2]),
        "neg" = Neg(Id),
        "relu" = Relu(Id),
        "tanh" = Tanh(Id),
        "sigmoid" = Sigmoid(Id),
        "exp" = Exp(Id),
        "heaviside" = Heaviside(Id),
        // (clamp x lo hi), bounds constant.
        "clamp" = Clamp([Id; 3]),
        // (@ weights x): a matrix (a `w` symbol or a `scale`) times a vector.
        "@" = MatVec([Id; 2]),
        // (scale c m): a matrix or constant vector times the scalar c.
        "scale" = Scale([Id; 2]),
        Num(Num),
        Symbol(egg::Symbol),
    }
}

/// Constant folding: the scalar value of a class, if it has one.
#[derive(Default, Clone)]
pub struct Fold;

pub type EGraph = egg::EGraph<Cell, Fold>;

impl Analysis<Cell> for Fold {
    type Data = Option<f64>;

    fn make(egraph: &mut EGraph, enode: &Cell, _id: Id) -> Self::Data {
        let c = |i: &Id| egraph[*i].data;
        let v = match enode {
            Cell::Num(n) => n.get(),
            Cell::Add([a, b]) => c(a)? + c(b)?,
            Cell::Sub([a, b]) => c(a)? - c(b)?,
            Cell::Mul([a, b]) => c(a)? * c(b)?,
            Cell::Div([a, b]) => {
                let d = c(b)?;
                if d == 0.0 {
                    return None;
                }
                c(a)? / d
            }
            Cell::Neg(a) => -c(a)?,
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    fn merge(&mut self, to: &mut Self::Data, from: Self::Data) -> DidMerge {
        match (*to, from) {
            (None, Some(v)) => {
                *to = Some(v);
                DidMerge(true, false)
            }
            (Some(_), None) => DidMerge(false, true),
            _ => DidMerge(false, false),
        }
    }

    fn modify(egraph: &mut EGraph, id: Id) {
        if let Some(v) = egraph[id].data {
            let n = egraph.add(Cell::Num(Num::new(v)));
            egraph.union(id, n);
        }
    }
}

fn constant(var: &'static str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let v = var.parse().expect("a pattern variable");
    move |g, _, s| g[s[v]].data.is_some()
}

fn nonzero_constant(var: &'static str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let v = var.parse().expect("a pattern variable");
    move |g, _, s| g[s[v]].data.is_some_and(|c| c != 0.0)
}

fn not_constant(var: &'static str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let v = var.parse().expect("a pattern variable");
    move |g, _, s| g[s[v]].data.is_none()
}

/// Whether the class holds a weight matrix or constant vector (`w…`/`c…`
/// symbols, or a `scale` of one).
fn matrix(var: &'static str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let v = var.parse().expect("a pattern variable");
    move |g, _, s| {
        g[s[v]].nodes.iter().any(|n| match n {
            Cell::Symbol(sym) => sym.as_str().starts_with(['w', 'c']),
            Cell::Scale(_) => true,
            _ => false,
        })
    }
}

fn both(
    a: impl Fn(&mut EGraph, Id, &Subst) -> bool,
    b: impl Fn(&mut EGraph, Id, &Subst) -> bool,
) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    move |g, id, s| a(g, id, s) && b(g, id, s)
}

/// The rewrite rules, each one-directional.
pub fn rules() -> Vec<Rewrite<Cell, Fold>> {
    vec![
        rewrite!("sub-to-add"; "(- ?a ?b)" => "(+ ?a (* -1 ?b))"),
        rewrite!("neg-to-mul"; "(neg ?a)" => "(* -1 ?a)"),
        rewrite!("div-by-constant"; "(/ ?a ?c)" => "(* (/ 1 ?c) ?a)" if nonzero_constant("?c")),
        rewrite!("constant-first"; "(* ?a ?c)" => "(* ?c ?a)" if both(constant("?c"), not_constant("?a"))),
        rewrite!("distribute-constant"; "(* ?c (+ ?a ?b))" => "(+ (* ?c ?a) (* ?c ?b))" if constant("?c")),
        rewrite!("merge-constants"; "(* ?c (* ?d ?a))" => "(* (* ?c ?d) ?a)" if both(constant("?c"), constant("?d"))),
        rewrite!("matvec-of-sum"; "(@ ?w (+ ?a ?b))" => "(+ (@ ?w ?a) (@ ?w ?b))"),
        rewrite!("constant-into-weights"; "(* ?c (@ ?w ?x))" => "(@ (scale ?c ?w) ?x)" if constant("?c")),
        rewrite!("constant-out-of-input"; "(@ ?w (* ?c ?x))" => "(@ (scale ?c ?w) ?x)" if constant("?c")),
        rewrite!("scale-of-scale"; "(scale ?c (scale ?d ?w))" => "(scale (* ?c ?d) ?w)"),
        rewrite!("scale-constant-vector"; "(* ?c ?v)" => "(scale ?c ?v)" if both(constant("?c"), matrix("?v"))),
    ]
}

/// The top operation of an extracted sub-expression, as far as the cost
/// function needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Top {
    Constant,
    Sum,
    ConstantProduct,
    /// A matrix-vector product or a constant vector: constants belong inside.
    Linear,
    Other,
}

/// Extraction cost: first the number of non-canonical operations, then size.
/// Non-canonical: subtraction, division, negation, a product whose constant
/// is on the right, a product of a constant and a sum, a matrix applied to
/// a sum or to a constant multiple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cost {
    pub bad: u32,
    pub size: u32,
    pub top: Top,
}

pub struct CanonicalCost;

impl CostFunction<Cell> for CanonicalCost {
    type Cost = Cost;

    fn cost<C: FnMut(Id) -> Cost>(&mut self, enode: &Cell, mut costs: C) -> Cost {
        let kids: Vec<Cost> = enode.children().iter().map(|&c| costs(c)).collect();
        // Saturating: a shared node counts once per path, and a ladder
        // `a1 = a0 + a0`, `a2 = a1 + a1`, ... doubles the size each step.
        let mut bad: u32 = kids.iter().fold(0, |n, k| n.saturating_add(k.bad));
        let size: u32 = kids.iter().fold(1, |n, k| n.saturating_add(k.size));
        let top = match enode {
            Cell::Num(_) => Top::Constant,
            Cell::Add(_) => Top::Sum,
            Cell::Mul(_) if kids[0].top == Top::Constant => Top::ConstantProduct,
            Cell::MatVec(_) => Top::Linear,
            Cell::Symbol(s) if s.as_str().starts_with('c') => Top::Linear,
            _ => Top::Other,
        };
        bad = bad.saturating_add(match enode {
            Cell::Sub(_) | Cell::Div(_) | Cell::Neg(_) => 1,
            Cell::Mul(_) => {
                let (a, b) = (kids[0].top, kids[1].top);
                u32::from(b == Top::Constant && a != Top::Constant)
                    + u32::from(a == Top::Constant && b == Top::Sum)
                    + u32::from(a == Top::Constant && b == Top::ConstantProduct)
                    + u32::from(a == Top::Constant && b == Top::Linear)
            }
            Cell::MatVec(_) => u32::from(matches!(kids[1].top, Top::Sum | Top::ConstantProduct)),
            _ => 0,
        });
        Cost { bad, size, top }
    }
}

/// What happened during saturation, for the pass report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub iterations: u64,
    pub node_limit_hits: u64,
    pub iteration_limit_hits: u64,
    pub time_limit_hits: u64,
}

/// Rewrites `expr` to saturation (within limits scaled by its size) and
/// extracts the cheapest canonical form.
pub fn simplify(expr: &RecExpr<Cell>, limits: &mut Limits) -> RecExpr<Cell> {
    let size = expr.as_ref().len();
    let runner = Runner::default()
        .with_iter_limit(30)
        .with_node_limit(10_000.max(20 * size))
        .with_time_limit(std::time::Duration::from_secs(5))
        .with_expr(expr)
        .run(&rules());
    limits.iterations += runner.iterations.len() as u64;
    match runner.stop_reason {
        Some(egg::StopReason::NodeLimit(_)) => limits.node_limit_hits += 1,
        Some(egg::StopReason::IterationLimit(_)) => limits.iteration_limit_hits += 1,
        Some(egg::StopReason::TimeLimit(_)) => limits.time_limit_hits += 1,
        _ => {}
    }
    super::extract::cheapest(&runner.egraph, runner.roots[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simplifies `input` and compares with `expected` (both s-expressions).
    fn check(input: &str, expected: &str) {
        let e: RecExpr<Cell> = input.parse().expect("valid input");
        let got = simplify(&e, &mut Limits::default());
        assert_eq!(got.to_string(), expected, "simplifying {input}");
    }

    #[test]
    fn sub_to_add() {
        check("(- s1 x2)", "(+ s1 (* -1 x2))");
    }

    #[test]
    fn neg_to_mul() {
        check("(neg x2)", "(* -1 x2)");
    }

    #[test]
    fn div_by_constant() {
        check("(/ x2 4)", "(* 0.25 x2)");
        // Division by a signal stays (it will not map to a neuron).
        check("(/ x2 s1)", "(/ x2 s1)");
    }

    #[test]
    fn constant_first() {
        check("(* s1 0.8)", "(* 0.8 s1)");
    }

    #[test]
    fn distribute_constant_and_merge_constants() {
        check("(* 0.5 (+ s1 (* 2 x2)))", "(+ (* 0.5 s1) (* 1 x2))");
    }

    #[test]
    fn merge_constants() {
        check("(* 2 (* 3 s1))", "(* 6 s1)");
    }

    #[test]
    fn matvec_of_sum() {
        check("(@ w1 (+ x2 s3))", "(+ (@ w1 x2) (@ w1 s3))");
    }

    #[test]
    fn constant_into_weights() {
        check("(* 0.2 (@ w1 x2))", "(@ (scale 0.2 w1) x2)");
    }

    #[test]
    fn constant_out_of_input() {
        check("(@ w1 (* 3 x2))", "(@ (scale 3 w1) x2)");
    }

    #[test]
    fn scale_of_scale() {
        check("(* 2 (@ w1 (* 3 x2)))", "(@ (scale 6 w1) x2)");
    }

    #[test]
    fn scale_constant_vector() {
        check("(* 0.5 c4)", "(scale 0.5 c4)");
    }

    #[test]
    fn constants_fold() {
        check("(- 1 0.8)", "0.19999999999999996");
        check("(* (- 1 0.25) (+ 2 2))", "3");
    }

    #[test]
    fn lowpass_written_with_a_time_constant() {
        // h + (f - h)/4: the pieces a low-pass neuron needs, canonical.
        check(
            "(+ s1 (/ (- (relu x2) s1) 4))",
            "(+ s1 (+ (* 0.25 (relu x2)) (* -0.25 s1)))",
        );
    }

    #[test]
    fn nonlinearity_is_opaque_but_its_argument_is_canonical() {
        check(
            "(clamp (- (@ w1 x2) c3) 0 6)",
            "(clamp (+ (@ w1 x2) (scale -1 c3)) 0 6)",
        );
    }
}
