//! Diagnostics: errors and warnings as values, rendered once with ariadne.
//!
//! Every stage reports problems as [`Diagnostic`]s (a message, labelled
//! spans, a help line, notes). They are rendered only at the boundary, by
//! [`render`], with or without colour; tests compare the colourless text.

use std::fmt::Write as _;

use ariadne::{Color, Config, IndexType, Label as ALabel, Report, ReportKind, Source};
use snn_ir::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A labelled source range.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code such as `E0101` (see `docs/errors.md`).
    pub code: &'static str,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: vec![],
            help: None,
            notes: vec![],
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds a labelled span (the first one added is the primary location).
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Renders diagnostics about `source` (the text of `file_name`).
/// Diagnostics without a span render as plain `error[..]: message` lines.
pub fn render(diags: &[Diagnostic], file_name: &str, source: &str, color: bool) -> String {
    let mut out = Vec::new();
    for d in diags {
        render_one(d, file_name, source, color, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn render_one(d: &Diagnostic, file: &str, src: &str, color: bool, out: &mut Vec<u8>) {
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let Some(first) = d.labels.first() else {
        let mut s = String::new();
        let word = match d.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        let _ = writeln!(s, "[{}] {word}: {}", d.code, d.message);
        if let Some(h) = &d.help {
            let _ = writeln!(s, "    Help: {h}");
        }
        for n in &d.notes {
            let _ = writeln!(s, "    Note: {n}");
        }
        out.extend_from_slice(s.as_bytes());
        return;
    };
    let clamp = |s: Span| {
        let end = (s.end as usize).min(src.len());
        (s.start as usize).min(end)..end
    };
    let config = Config::default()
        .with_color(color)
        .with_index_type(IndexType::Byte);
    let mut report = Report::build(kind, (file, clamp(first.span)))
        .with_config(config)
        .with_code(d.code)
        .with_message(&d.message);
    // In source order, so that ariadne shows them as one snippet.
    let mut labels: Vec<(usize, &Label)> = d.labels.iter().enumerate().collect();
    labels.sort_by_key(|(_, l)| (l.span.start, l.span.end));
    for (i, l) in labels {
        let mut label = ALabel::new((file, clamp(l.span))).with_message(&l.message);
        if color {
            label = label.with_color(if i == 0 { Color::Red } else { Color::Blue });
        }
        report.add_label(label);
    }
    if let Some(h) = &d.help {
        report.set_help(h);
    }
    for n in &d.notes {
        report.add_note(n);
    }
    // Writing into a Vec cannot fail.
    let _ = report.finish().write((file, Source::from(src)), &mut *out);
}

/// Suggests the closest of `candidates` to `name`, if one is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        let close = strsim::levenshtein(name, c) <= (name.len().max(c.len()) / 3).max(1);
        if (score > 0.8 || close) && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labels_help_and_notes_without_colour() {
        let src = "let a = b + 1;\n";
        let d = Diagnostic::error("E0001", "unknown name `b`")
            .label(Span::new(8, 9), "not defined")
            .help("did you mean `a`?")
            .note("names are visible in the whole file");
        let text = render(&[d], "m.snn", src, false);
        assert_eq!(
            text,
            "[E0001] Error: unknown name `b`\n   \
             ╭─[ m.snn:1:9 ]\n   \
             │\n \
             1 │ let a = b + 1;\n   \
             │         ┬  \n   \
             │         ╰── not defined\n   \
             │ \n   \
             │ Help: did you mean `a`?\n   \
             │ \n   \
             │ Note: names are visible in the whole file\n\
             ───╯\n"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("tau_men", ["tau_mem", "tau_syn"]),
            Some("tau_mem")
        );
        assert_eq!(did_you_mean("W_rec", ["W_in", "Wrec", "b"]), Some("Wrec"));
        assert_eq!(did_you_mean("zzz", ["alpha", "beta"]), None);
    }
}
