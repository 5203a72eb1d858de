//! The nesting limit of expressions, checked right after parsing and without
//! recursion, so that every later stage (lowering, folding, printing) may
//! recurse over an expression with a stack of known size.
//!
//! Every operator, call, list and minus sign is one level: `a + b + c` is
//! three levels deep (`(a + b) + c` over `a + b` over `a`), `relu(W @ x)`
//! three, parentheses none.

use snn_ir::Span;

use super::ast::{Expr, ExprKind, File, ItemKind};
use crate::diag::Diagnostic;

/// The deepest an expression may nest (see `docs/language.md`, "Limits").
pub const MAX_DEPTH: usize = 256;

/// Reports every top-level expression nested deeper than [`MAX_DEPTH`] and
/// replaces it by an error node (so that nothing later looks into it).
pub fn limit_depth(file: &mut File) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for item in &mut file.items {
        for root in item_exprs(&mut item.kind) {
            if let Some(at) = too_deep(root) {
                diags.push(diagnostic(at));
                let span = root.span;
                *root = Expr {
                    kind: ExprKind::Error,
                    span,
                };
            }
        }
    }
    diags
}

/// The span of the first sub-expression at level `MAX_DEPTH + 1`, if any.
fn too_deep(root: &Expr) -> Option<Span> {
    let mut stack: Vec<(&Expr, usize)> = vec![(root, 1)];
    while let Some((e, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Some(e.span);
        }
        // In reverse, so that the first found is the first in the text.
        stack.extend(e.kind.children().into_iter().rev().map(|c| (c, depth + 1)));
    }
    None
}

fn diagnostic(at: Span) -> Diagnostic {
    // Point at the start of the deep part: the whole of it can be most of
    // a very long line.
    let start = at.start as usize;
    let end = if at.end - at.start <= 40 {
        at.end as usize
    } else {
        start + 1
    };
    Diagnostic::error(
        "E0012",
        format!("expression nested more than {MAX_DEPTH} levels deep"),
    )
    .label(
        Span::new(start, end),
        format!("level {} starts here", MAX_DEPTH + 1),
    )
    .help(
        "give parts of it names with `let`; every operator of a chain such as `a + b + c`, \
         every call, list and minus sign is one level",
    )
}

/// The expressions written in an item.
fn item_exprs(kind: &mut ItemKind) -> Vec<&mut Expr> {
    match kind {
        ItemKind::Timestep(e) => vec![e],
        ItemKind::Input { size, .. } => vec![size],
        ItemKind::Const { shape, value, .. } => {
            let mut v: Vec<&mut Expr> = shape.iter_mut().flatten().collect();
            v.push(value);
            v
        }
        ItemKind::State { size, init, .. } => {
            let mut v = vec![size];
            v.extend(init.as_mut());
            v
        }
        ItemKind::Let { value, .. } | ItemKind::Update { value, .. } => vec![value],
        ItemKind::Population { size, params, .. } => {
            let mut v = vec![size];
            v.extend(params.iter_mut().map(|p| &mut p.value));
            v
        }
        ItemKind::Projection { params, .. } => params.iter_mut().map(|p| &mut p.value).collect(),
        ItemKind::Output { value, .. } => value.as_mut().into_iter().collect(),
        ItemKind::Error => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn chain(op: &str, n: usize) -> String {
        let mut s = String::from("x");
        for _ in 1..n {
            s.push_str(op);
            s.push('x');
        }
        s
    }

    #[test]
    fn a_chain_at_the_limit_parses_and_one_more_term_does_not() {
        // `x + x + … + x` with n terms is n levels deep.
        let ok = format!("let y = {};\n", chain(" + ", MAX_DEPTH));
        let (f, d) = parse(&ok);
        assert!(d.is_empty(), "{d:?}");
        assert!(
            matches!(&f.items[0].kind, ItemKind::Let { value, .. } if !matches!(value.kind, ExprKind::Error))
        );

        let deep = format!("let y = {};\n", chain(" + ", MAX_DEPTH + 1));
        let (f, d) = parse(&deep);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "E0012");
        assert_eq!(d[0].message, "expression nested more than 256 levels deep");
        // Level 257 is the first `x`.
        assert_eq!(d[0].labels[0].span, Span::new(8, 9));
        assert!(
            matches!(&f.items[0].kind, ItemKind::Let { value, .. } if matches!(value.kind, ExprKind::Error))
        );
    }

    #[test]
    fn calls_lists_and_minus_signs_count_and_parentheses_do_not() {
        let calls = |n: usize| format!("let y = {}x{};", "relu(".repeat(n), ")".repeat(n));
        // n calls around `x`: n + 1 levels.
        assert!(parse(&calls(MAX_DEPTH - 1)).1.is_empty());
        assert_eq!(parse(&calls(MAX_DEPTH)).1[0].code, "E0012");
        let lists = |n: usize| format!("const c = {}1{};", "[".repeat(n), "]".repeat(n));
        assert!(parse(&lists(MAX_DEPTH - 1)).1.is_empty());
        assert_eq!(parse(&lists(MAX_DEPTH)).1[0].code, "E0012");
        let minus = |n: usize| format!("let y = {}1;", "-".repeat(n));
        assert!(parse(&minus(MAX_DEPTH - 1)).1.is_empty());
        assert_eq!(parse(&minus(MAX_DEPTH)).1[0].code, "E0012");
        let parens = format!("let y = {}x{};", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&parens).1.is_empty());
    }

    #[test]
    fn very_deep_trees_are_reported_and_freed_without_recursion() {
        // Far beyond what a recursive drop or walk could take on a 2 MB
        // test thread.
        let (_, d) = parse(&format!("let y = {};\nlet z = 1;\n", chain("+", 200_000)));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].labels[0].span, Span::new(8, 9));
        let (_, d) = parse(&format!("let y = {}1;", "-".repeat(200_000)));
        assert_eq!(d[0].code, "E0012");
        let (_, d) = parse(&format!("output y = {}x", "relu(".repeat(100_000)));
        assert!(d.iter().any(|d| d.code == "E0011"), "{d:?}");
        // A deep tree built before a syntax error is dropped by the parser.
        let (_, d) = parse(&format!("let y = {}1", "-".repeat(200_000)));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "E0011");
    }
}
