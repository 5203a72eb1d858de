//! The driver: reads a model file (`.snn` source or `.ir` dump) into a
//! verified graph, collecting diagnostics to render at the boundary.

use std::path::{Path, PathBuf};

use snn_ir::Graph;

use crate::diag::{self, Diagnostic};
use crate::lower::{self, FileLoader};
use crate::syntax;

/// The text of a file diagnostics point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As given on the command line.
    pub name: String,
    pub text: String,
}

/// Diagnostics and the file they are about.
#[derive(Debug, Default)]
pub struct Report {
    pub source: Option<SourceFile>,
    pub diags: Vec<Diagnostic>,
}

impl Report {
    /// A report of one spanless error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Report {
            source: None,
            diags: vec![Diagnostic::error(code, message)],
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.diags.is_empty()
    }

    /// The diagnostics as text, with a closing count of errors.
    pub fn render(&self, color: bool) -> String {
        let (name, text) = match &self.source {
            Some(s) => (s.name.as_str(), s.text.as_str()),
            None => ("", ""),
        };
        let mut out = diag::render(&self.diags, name, text, color);
        let errors = self.diags.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let s = if errors == 1 { "" } else { "s" };
            let file = if name.is_empty() {
                String::new()
            } else {
                format!(" in {name}")
            };
            out.push_str(&format!("{errors} error{s}{file}\n"));
        }
        out
    }
}

/// Reads and lowers `path`: a `.snn` source, or an `.ir` dump (any other
/// extension is read as source). On success, also returns the warnings.
pub fn load(path: &Path) -> Result<(Graph, Report), Report> {
    let name = path.to_string_lossy().into_owned();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Report::error(
                "E0200",
                format!("cannot read {name}: no such file"),
            ));
        }
        Err(e) => return Err(Report::error("E0200", format!("cannot read {name}: {e}"))),
    };
    if path.extension().is_some_and(|e| e == "ir") {
        return load_dump(&name, text);
    }
    let (file, mut diags) = syntax::parse(&text);
    let source = Some(SourceFile { name, text });
    if diags.iter().any(Diagnostic::is_error) {
        // Name and shape errors in a file that does not parse would mostly
        // echo the syntax errors.
        return Err(Report { source, diags });
    }
    let (graph, mut lower_diags) = lower::lower(&file, path);
    // Report in file order (constants are evaluated when first used).
    lower_diags.sort_by_key(|d| d.labels.first().map_or(u32::MAX, |l| l.span.start));
    diags.extend(lower_diags);
    let report = Report { source, diags };
    match graph {
        Some(g) => {
            if let Err(errors) = snn_ir::verify(&g) {
                let mut r = report;
                for e in errors {
                    r.diags.push(Diagnostic::error(
                        "E0900",
                        format!("internal error after lowering: {e}"),
                    ));
                }
                return Err(r);
            }
            Ok((g, report))
        }
        None => Err(report),
    }
}

fn load_dump(name: &str, text: String) -> Result<(Graph, Report), Report> {
    let mut loader = FileLoader::default();
    match snn_ir::text::parse(&text, &mut loader) {
        Ok(g) => match snn_ir::verify(&g) {
            Ok(()) => Ok((g, Report::default())),
            Err(errors) => {
                let diags = errors
                    .into_iter()
                    .map(|e| Diagnostic::error("E0201", format!("{name}: invalid IR: {e}")))
                    .collect();
                Err(Report {
                    source: None,
                    diags,
                })
            }
        },
        Err(e) => Err(Report::error(
            "E0201",
            format!("{name}:{}:{}: {}", e.line, e.col, e.message),
        )),
    }
}

/// The directory that holds `path` (for resolving relative file names).
pub fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
