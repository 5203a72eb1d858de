//! The `.snn` lexer (logos). Produces `(start, token, end)` triples for the
//! parser and collects lexical errors separately, so that one bad character
//! does not stop the parser from finding the errors after it.

use std::fmt;

use logos::{FilterResult, Logos};

/// A lexical error and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    Stray,
    UnterminatedComment,
    UnterminatedString,
    /// A number too long to be a number.
    BadNumber,
}

/// Tokens of the `.snn` language.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error(LexError, stray))]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Tok {
    #[token("/*", block_comment)]
    BlockComment,

    #[token("timestep")]
    Timestep,
    #[token("input")]
    Input,
    #[token("const")]
    Const,
    #[token("state")]
    State,
    #[token("let")]
    Let,
    #[token("population")]
    Population,
    #[token("output")]
    Output,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?", |lex| lex.slice().to_string())]
    Num(String),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, unescape)]
    Str(String),
    #[regex(r#""([^"\\\n]|\\[^\n])*"#, unterminated_string)]
    UnterminatedStr,

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("=")]
    Eq,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("@")]
    At,
    #[token("->")]
    Arrow,
    #[token(".")]
    Dot,
}

fn stray(_: &mut logos::Lexer<'_, Tok>) -> LexError {
    LexError::Stray
}

fn unterminated_string(_: &mut logos::Lexer<'_, Tok>) -> FilterResult<(), LexError> {
    FilterResult::Error(LexError::UnterminatedString)
}

fn block_comment(lex: &mut logos::Lexer<'_, Tok>) -> FilterResult<(), LexError> {
    match lex.remainder().find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            FilterResult::Skip
        }
        None => {
            lex.bump(lex.remainder().len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

fn unescape(lex: &mut logos::Lexer<'_, Tok>) -> String {
    let s = lex.slice();
    let inner = &s[1..s.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::BlockComment => "comment",
            Tok::Timestep => "`timestep`",
            Tok::Input => "`input`",
            Tok::Const => "`const`",
            Tok::State => "`state`",
            Tok::Let => "`let`",
            Tok::Population => "`population`",
            Tok::Output => "`output`",
            Tok::Ident(name) => return write!(f, "`{name}`"),
            Tok::Num(n) => return write!(f, "`{n}`"),
            Tok::Str(_) | Tok::UnterminatedStr => "a string",
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::Comma => "`,`",
            Tok::Semi => "`;`",
            Tok::Colon => "`:`",
            Tok::Eq => "`=`",
            Tok::Plus => "`+`",
            Tok::Minus => "`-`",
            Tok::Star => "`*`",
            Tok::Slash => "`/`",
            Tok::At => "`@`",
            Tok::Arrow => "`->`",
            Tok::Dot => "`.`",
        };
        f.write_str(s)
    }
}

/// A token with its byte range.
pub type Spanned = (usize, Tok, usize);

/// Lexes a whole file: the tokens, and the lexical errors with their ranges.
pub fn lex(src: &str) -> (Vec<Spanned>, Vec<(LexError, std::ops::Range<usize>)>) {
    let mut toks = Vec::new();
    let mut errors: Vec<(LexError, std::ops::Range<usize>)> = Vec::new();
    let mut lexer = Tok::lexer(src);
    while let Some(t) = lexer.next() {
        let span = lexer.span();
        match t {
            Ok(tok) => toks.push((span.start, tok, span.end)),
            Err(e) => {
                // Merge runs of stray characters into one error.
                if let Some((LexError::Stray, prev)) = errors.last_mut()
                    && e == LexError::Stray
                    && prev.end == span.start
                {
                    prev.end = span.end;
                    continue;
                }
                errors.push((e, span));
            }
        }
    }
    (toks, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).0.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn tokens_and_comments() {
        assert_eq!(
            kinds("let h = 0.8*h; // tail\n/* block\n */ x -> y"),
            vec![
                Tok::Let,
                Tok::Ident("h".into()),
                Tok::Eq,
                Tok::Num("0.8".into()),
                Tok::Star,
                Tok::Ident("h".into()),
                Tok::Semi,
                Tok::Ident("x".into()),
                Tok::Arrow,
                Tok::Ident("y".into()),
            ]
        );
        assert_eq!(
            kinds("20ms 1e-3s \"a\\\"b\""),
            vec![
                Tok::Num("20".into()),
                Tok::Ident("ms".into()),
                Tok::Num("1e-3".into()),
                Tok::Ident("s".into()),
                Tok::Str("a\"b".into()),
            ]
        );
    }

    #[test]
    fn errors_are_collected_not_fatal() {
        let (toks, errors) = lex("let a = 1 $$ 2; \"open\nlet b = 3; /* never closed");
        assert_eq!(
            errors,
            vec![
                (LexError::Stray, 10..12),
                (LexError::UnterminatedString, 16..21),
                (LexError::UnterminatedComment, 33..48),
            ]
        );
        assert!(toks.iter().any(|(_, t, _)| *t == Tok::Ident("b".into())));
    }
}
