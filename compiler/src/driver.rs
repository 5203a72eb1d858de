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

    /// A report of a request over the memory budget (E0206).
    pub fn budget(e: snn_ir::budget::BudgetError) -> Self {
        Report::error("E0206", e.to_string())
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

/// Reads and lowers `path`: a `.snn` source, an `.ir` dump, or a `.nir`
/// graph (imported with its metadata's time step and forward Euler; any
/// other extension is read as source). On success, also returns the
/// warnings.
pub fn load(path: &Path) -> Result<(Graph, Report), Report> {
    let name = path.to_string_lossy().into_owned();
    if path.extension().is_some_and(|e| e == "nir") {
        if !path.exists() {
            return Err(Report::error(
                "E0200",
                format!("cannot read {name}: no such file"),
            ));
        }
        return crate::nir::load(path, None, crate::nir::Discretize::Euler);
    }
    let dump = path.extension().is_some_and(|e| e == "ir");
    let text = read_model(path, &name, if dump { PER_BYTE_DUMP } else { PER_BYTE })?;
    if dump {
        return load_dump(path, &name, text);
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
            if let Err(long) = snn_ir::limits::check_chains(&g) {
                let mut r = report;
                let mut d = chain_error(&g, long);
                if let Some(span) = g.span(long.node) {
                    d = d.label(span, "the chain ends here");
                }
                r.diags.push(d);
                return Err(r);
            }
            Ok((g, report))
        }
        None => Err(report),
    }
}

/// E0013 for a chain of per-step operations longer than the limit.
fn chain_error(g: &Graph, long: snn_ir::limits::ChainTooLong) -> Diagnostic {
    Diagnostic::error(
        "E0013",
        format!(
            "{} is computed through a chain of {} operations in one step, more than {}",
            g.label(long.node),
            long.length,
            snn_ir::limits::MAX_CHAIN
        ),
    )
    .help("a chain runs through `let`s and the operations they name; compute it in fewer, wider steps, or through a state")
    .note("see \"Limits\" in docs/language.md")
}

/// Tokens, syntax tree and the first lowering of a model take at most this
/// much memory per byte of its text (a chain `x+x+…` takes about 150).
const PER_BYTE: u128 = 256;
/// The same for an IR dump: a line of numbers takes about 30 bytes per
/// byte while it is read.
const PER_BYTE_DUMP: u128 = 64;

/// The text of a model file, read only as far as the memory budget allows
/// for its size (a device such as `/dev/zero` never ends).
fn read_model(path: &Path, name: &str, per_byte: u128) -> Result<String, Report> {
    use std::io::Read;
    let fail = |e: std::io::Error| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file".to_string()
        } else {
            e.to_string()
        };
        Report::error("E0200", format!("cannot read {name}: {why}"))
    };
    let most = snn_ir::budget::limit() as u128 / per_byte;
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(most as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u128 > most {
        return Err(Report::error(
            "E0206",
            format!(
                "{name} is longer than the {} of text the memory budget of {} allows for a model ({per_byte} bytes per byte of text) (--max-memory)",
                snn_ir::budget::Bytes(most),
                snn_ir::budget::Bytes(snn_ir::budget::limit() as u128)
            ),
        ));
    }
    snn_ir::budget::check(bytes.len() as u128 * per_byte, || {
        format!(
            "reading {name} ({})",
            snn_ir::budget::Bytes(bytes.len() as u128)
        )
    })
    .map_err(Report::budget)?;
    String::from_utf8(bytes).map_err(|e| {
        Report::error(
            "E0200",
            format!(
                "cannot read {name}: it is not UTF-8 text (byte {} is not valid)",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn load_dump(path: &Path, name: &str, text: String) -> Result<(Graph, Report), Report> {
    let mut loader = FileLoader::for_dump(path);
    match snn_ir::text::parse(&text, &mut loader) {
        Ok(g) => match snn_ir::verify(&g).and_then(|()| finite(&g)) {
            Ok(()) => match snn_ir::limits::check_chains(&g) {
                Ok(()) => Ok((g, Report::default())),
                Err(long) => {
                    let mut d = chain_error(&g, long);
                    d.code = "E0201";
                    d.message = format!("{name}: {}", d.message);
                    Err(Report {
                        source: None,
                        diags: vec![d],
                    })
                }
            },
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

/// Every float tensor of a dump holds finite numbers (the front end checks
/// the same of a model's tensors, as E0124).
fn finite(g: &Graph) -> Result<(), Vec<snn_ir::VerifyError>> {
    for (id, t) in g.tensors() {
        if let Some((at, value)) = t.non_finite() {
            let at: Vec<String> = at.iter().map(u64::to_string).collect();
            return Err(vec![snn_ir::VerifyError {
                node: None,
                message: format!("tensor {id} holds {value} at [{}]", at.join(", ")),
            }]);
        }
    }
    Ok(())
}

/// The directory that holds `path` (for resolving relative file names).
pub fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
