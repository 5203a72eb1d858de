//! The syntax tree of a `.snn` file, as written (no names resolved).

use snn_ir::Span;

/// An identifier where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// A whole file: its items in source order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `timestep 1ms;`
    Timestep(Expr),
    /// `input x[80];`
    Input { name: Name, size: Expr },
    /// `const W: [128, 80] = load("w.npz", "W");`
    Const {
        name: Name,
        shape: Option<Vec<Expr>>,
        shape_span: Option<Span>,
        value: Expr,
    },
    /// `state h[128] = 0;`
    State {
        name: Name,
        size: Expr,
        init: Option<Expr>,
    },
    /// `let y = relu(W @ x);`
    Let { name: Name, value: Expr },
    /// `h = 0.8 * h + 0.2 * y;`
    Update { name: Name, value: Expr },
    /// `population hid: lif[128] { tau_mem = 20ms; }`
    Population {
        name: Name,
        model: Name,
        size: Expr,
        params: Vec<Param>,
    },
    /// `x -> hid { weight = W; delay = 2; }`
    Projection {
        src: Name,
        dst: Name,
        params: Vec<Param>,
    },
    /// `output y = W @ h;` or `output hid;`
    Output { name: Name, value: Option<Expr> },
    /// An item the parser could not read (already reported).
    Error,
}

/// `name = value;` inside a population or projection body.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Name,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    MatVec,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatVec => "@",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number as written, with an optional unit (`20ms`, `5 steps`).
    Num {
        text: String,
        unit: Option<Name>,
    },
    Str(String),
    Name(Name),
    /// `hid.v`
    Field {
        base: Name,
        field: Name,
    },
    /// `clamp(x, 0, 6)`, `normal(std=0.1, seed=1)`
    Call {
        func: Name,
        args: Vec<Arg>,
    },
    /// `[1, 2, 3]`
    List(Vec<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A sub-expression the parser could not read (already reported).
    Error,
}

/// A call argument, positional or `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Name>,
    pub value: Expr,
}

impl ExprKind {
    /// Moves the direct sub-expressions out onto `out`, leaving `Error`.
    fn take_children(&mut self, out: &mut Vec<Expr>) {
        match std::mem::replace(self, ExprKind::Error) {
            ExprKind::Call { args, .. } => out.extend(args.into_iter().map(|a| a.value)),
            ExprKind::List(items) => out.extend(items),
            ExprKind::Neg(inner) => out.push(*inner),
            ExprKind::Binary(_, a, b) => {
                out.push(*a);
                out.push(*b);
            }
            leaf => *self = leaf,
        }
    }

    /// The direct sub-expressions.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            ExprKind::Call { args, .. } => args.iter().map(|a| &a.value).collect(),
            ExprKind::List(items) => items.iter().collect(),
            ExprKind::Neg(inner) => vec![inner],
            ExprKind::Binary(_, a, b) => vec![a, b],
            _ => Vec::new(),
        }
    }

    /// The direct sub-expressions, for changing them.
    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            ExprKind::Call { args, .. } => args.iter_mut().map(|a| &mut a.value).collect(),
            ExprKind::List(items) => items.iter_mut().collect(),
            ExprKind::Neg(inner) => vec![inner],
            ExprKind::Binary(_, a, b) => vec![a, b],
            _ => Vec::new(),
        }
    }
}

/// Expressions are dropped with a loop, not by recursion, so that a tree
/// of any depth (a file of 100,000 minus signs) is freed without
/// exhausting the stack.
impl Drop for Expr {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        self.kind.take_children(&mut pending);
        while let Some(mut e) = pending.pop() {
            e.kind.take_children(&mut pending);
            // `e` has no children left: its own drop does nothing more.
        }
    }
}

/// A binary expression spanning `l..r` (used by the grammar).
pub fn bin(op: BinOp, a: Expr, b: Expr, l: usize, r: usize) -> Expr {
    Expr {
        kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        span: Span::new(l, r),
    }
}
