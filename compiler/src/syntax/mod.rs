//! Reading `.snn` text: lexing, parsing with error recovery, and turning
//! lexical and syntax errors into diagnostics.

pub mod ast;
mod depth;
pub mod lexer;

pub use depth::MAX_DEPTH;

use lalrpop_util::{ErrorRecovery, ParseError};
use snn_ir::Span;

use crate::diag::Diagnostic;
use lexer::{LexError, Tok};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens, dead_code)]
    grammar,
    "/syntax/grammar.rs"
);

/// Parses a file. Always returns a tree (with `Error` nodes where the text
/// could not be read) and every lexical and syntax error found.
pub fn parse(src: &str) -> (ast::File, Vec<Diagnostic>) {
    let (toks, lex_errors) = lexer::lex(src);
    // Statement ends, to tell which syntax errors a lexical error caused.
    let semis: Vec<usize> = toks
        .iter()
        .filter(|(_, t, _)| *t == Tok::Semi)
        .map(|(l, _, _)| *l)
        .collect();
    let lex_starts: Vec<usize> = lex_errors.iter().map(|(_, r)| r.start).collect();
    let echo = |at: usize| {
        lex_starts
            .iter()
            .any(|&l| l <= at && !semis.iter().any(|&s| l <= s && s < at))
    };
    let mut diags: Vec<Diagnostic> = lex_errors
        .into_iter()
        .map(|(e, r)| lex_diagnostic(src, e, Span::new(r.start, r.end)))
        .collect();
    let mut recovered: Vec<ErrorRecovery<usize, Tok, LexError>> = Vec::new();
    let result = grammar::FileParser::new().parse(&mut recovered, toks.into_iter().map(Ok));
    for r in recovered {
        let d = parse_diagnostic(src, r.error);
        // A syntax error right after a stray character is that character's doing.
        if !d
            .labels
            .first()
            .is_some_and(|l| echo(l.span.start as usize))
        {
            diags.push(d);
        }
    }
    let mut file = match result {
        Ok(f) => f,
        Err(e) => {
            diags.push(parse_diagnostic(src, e));
            ast::File::default()
        }
    };
    diags.extend(depth::limit_depth(&mut file));
    diags.sort_by_key(|d| d.labels.first().map(|l| (l.span.start, l.span.end)));
    (file, diags)
}

/// Parses a single expression (for tests and `--define`).
pub fn parse_expr(src: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let (toks, lex_errors) = lexer::lex(src);
    let mut diags: Vec<Diagnostic> = lex_errors
        .into_iter()
        .map(|(e, r)| lex_diagnostic(src, e, Span::new(r.start, r.end)))
        .collect();
    let mut recovered = Vec::new();
    let result = grammar::ExprParser::new().parse(&mut recovered, toks.into_iter().map(Ok));
    for r in recovered {
        diags.push(parse_diagnostic(src, r.error));
    }
    match result {
        Ok(e) if diags.is_empty() => Ok(e),
        Ok(_) => Err(diags),
        Err(e) => {
            diags.push(parse_diagnostic(src, e));
            Err(diags)
        }
    }
}

fn lex_diagnostic(src: &str, e: LexError, span: Span) -> Diagnostic {
    let text = &src[span.range()];
    match e {
        LexError::Stray => {
            let what = if text.chars().count() == 1 {
                format!("stray character `{text}`")
            } else {
                format!("stray characters `{text}`")
            };
            Diagnostic::error("E0001", what)
                .label(span, "not part of any token")
                .help("remove it; comments start with `//` or `/*`")
        }
        LexError::UnterminatedComment => Diagnostic::error("E0002", "unterminated block comment")
            .label(
                Span::new(span.start as usize, span.start as usize + 2),
                "this comment is never closed",
            )
            .help("close it with `*/`"),
        LexError::UnterminatedString => Diagnostic::error("E0003", "unterminated string")
            .label(span, "this string has no closing `\"` on its line")
            .help("add the closing quote; strings cannot span lines"),
        LexError::BadNumber => Diagnostic::error("E0004", format!("malformed number `{text}`"))
            .label(span, "not a number"),
    }
}

/// Friendly names for the terminals lalrpop lists as expected.
fn expected_name(t: &str) -> String {
    match t {
        "Ident" => "a name".into(),
        "Num" => "a number".into(),
        "Str" => "a string".into(),
        other => format!("`{}`", other.trim_matches('"')),
    }
}

fn expected_list(expected: &[String]) -> String {
    const OPERATORS: [&str; 5] = ["\"+\"", "\"-\"", "\"*\"", "\"/\"", "\"@\""];
    let after_value = expected
        .iter()
        .any(|e| OPERATORS.contains(&e.as_str()) && e != "\"-\"")
        && !expected.iter().any(|e| e == "Num");
    let mut names: Vec<String> = Vec::new();
    for e in expected {
        // After a complete value, a call `(`, a field `.`, a named argument
        // `=` or a unit name are possible but never what was meant.
        let noise = after_value && matches!(e.as_str(), "\"(\"" | "\".\"" | "\"=\"" | "Ident");
        if noise {
            continue;
        }
        if after_value && OPERATORS.contains(&e.as_str()) {
            if !names.iter().any(|n| n == "an operator") {
                names.push("an operator".into());
            }
            continue;
        }
        names.push(expected_name(e));
    }
    names.dedup();
    match names.len() {
        0 => String::new(),
        1 => names.remove(0),
        _ if names.len() > 6 => "an item such as `let`, `state`, `population` or `a -> b`".into(),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {last}", names.join(", "))
        }
    }
}

fn parse_diagnostic(src: &str, e: ParseError<usize, Tok, LexError>) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let mut d = Diagnostic::error("E0010", format!("unexpected {tok}")).label(
                Span::new(l, r),
                format!("expected {}", expected_list(&expected)),
            );
            if expected.iter().any(|e| e == "\";\"") {
                d = d.help("each statement ends with `;`");
            }
            d
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let at = location.min(src.len());
            Diagnostic::error("E0011", "unexpected end of file").label(
                Span::new(at, at),
                format!("expected {}", expected_list(&expected)),
            )
        }
        ParseError::InvalidToken { location } => Diagnostic::error("E0001", "invalid token")
            .label(Span::new(location, location + 1), "here"),
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error("E0010", format!("unexpected {tok}"))
                .label(Span::new(l, r), "extra token")
        }
        ParseError::User { error } => lex_diagnostic(src, error, Span::new(0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast::*;

    #[test]
    fn precedence_is_pythonic() {
        let e = parse_expr("0.2 * W @ x + b").unwrap();
        let ExprKind::Binary(BinOp::Add, lhs, _) = &e.kind else {
            panic!("top is not +: {e:?}")
        };
        let ExprKind::Binary(BinOp::MatVec, w, _) = &lhs.kind else {
            panic!("not @: {lhs:?}")
        };
        assert!(matches!(w.kind, ExprKind::Binary(BinOp::Mul, _, _)));
        let neg = parse_expr("-a * b").unwrap();
        assert!(matches!(neg.kind, ExprKind::Binary(BinOp::Mul, _, _)));
    }

    #[test]
    fn items_parse() {
        let (f, d) = parse(
            "timestep 1ms;\ninput x[80];\nconst W: [4, 80] = normal(std=0.1, seed=1);\n\
             state h[4] = 0;\nlet y = relu(W @ x);\nh = 0.8 * h + 0.2 * y;\n\
             population p: lif[4] { tau_mem = 20ms; reset = zero; }\nh -> p { weight = 1.0; }\n\
             output o = p.v;\noutput p;\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(f.items.len(), 10);
        assert!(
            matches!(&f.items[6].kind, ItemKind::Population { params, .. } if params.len() == 2)
        );
        assert!(matches!(
            &f.items[8].kind,
            ItemKind::Output { value: Some(_), .. }
        ));
    }

    #[test]
    fn recovers_to_report_several_errors() {
        let (f, d) = parse("let a = ;\nlet b = 2;\nlet c = 3 3;\nlet e = 4;\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].message, "unexpected `;`");
        assert_eq!(d[1].message, "unexpected `3`");
        let lets = f
            .items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Let { .. }))
            .count();
        assert_eq!(lets, 2);
    }
}
