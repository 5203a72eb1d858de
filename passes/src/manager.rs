//! The pass manager: runs a pipeline of passes over a graph, verifying the
//! graph after each one (debug and test builds, or when asked), timing them,
//! and letting the caller look at the graph before and after every pass.

use std::time::{Duration, Instant};

use serde::Serialize;
use snn_ir::{Graph, Span, Target};

/// How bad a pass diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Severity {
    Error,
    Warning,
}

/// A problem a pass found, with the source span of the node it is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PassDiag {
    pub severity: Severity,
    /// A stable code (`E04xx` for passes, see `docs/errors.md`).
    pub code: &'static str,
    pub message: String,
    /// Where in the `.snn` source, and what to say there.
    pub span: Option<Span>,
    pub label: String,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl PassDiag {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        PassDiag {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
            notes: vec![],
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        PassDiag {
            severity: Severity::Warning,
            ..PassDiag::error(code, message)
        }
    }

    pub fn at(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        self.span = span;
        self.label = label.into();
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
}

/// A table in a pass report (per-layer quantization error, delay memory...).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: vec![],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as aligned text.
    pub fn render(&self) -> String {
        let n = self.columns.len();
        let mut width: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::from(" ");
            for (i, c) in cells.iter().enumerate().take(n) {
                let pad = width[i] - c.chars().count();
                // Text left, numbers right.
                if c.parse::<f64>().is_ok() || c.ends_with('%') || c.ends_with("dB") {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
                s.push_str("  ");
            }
            s.trim_end().to_string()
        };
        let mut out = format!("{}\n", self.title);
        out.push_str(&line(&self.columns));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// What one pass reports: counters (limit hits, nodes folded...) and tables.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PassReport {
    pub pass: String,
    pub counters: Vec<(String, u64)>,
    pub tables: Vec<Table>,
    #[serde(serialize_with = "ser_secs")]
    pub time: Duration,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl PassReport {
    /// Adds `n` to the counter `name`.
    pub fn count(&mut self, name: &str, n: u64) {
        match self.counters.iter_mut().find(|(c, _)| c == name) {
            Some((_, v)) => *v += n,
            None => self.counters.push((name.to_string(), n)),
        }
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters
            .iter()
            .find(|(c, _)| c == name)
            .map_or(0, |(_, v)| *v)
    }
}

/// How delays are pruned (METHODS 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PruneMode {
    /// Keep the k strongest delays of every synapse (by |w|).
    Synaptic,
    /// Keep the k delays with the largest L1 norm per presynaptic neuron.
    Axonal,
    /// Keep the k delays with the largest L1 norm per projection.
    Layer,
}

/// Choices the user makes on the command line.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Options {
    /// Passes to leave out (not allowed for required passes).
    pub skip: Vec<String>,
    /// Override the weight bit width (e.g. 3 for METHODS 1).
    pub weight_bits: Option<u8>,
    /// Map LSTM cells to spike-frequency-adaptation populations.
    pub approximate_lstm: bool,
    /// On TrueNorth, replace a voltage decay by the nearest linear leak.
    pub approximate_leak: bool,
    /// Keep the top `k` delays, per synapse, axon or layer.
    pub prune: Option<(PruneMode, usize)>,
    /// Force the delay bits of the ring buffer (Loihi), trading range for
    /// compartments.
    pub delay_bits: Option<u8>,
    /// Verify the graph after every pass even in release builds.
    pub verify: bool,
    /// Data to observe the network on, for the `range` pass.
    #[serde(skip)]
    pub calibration: Option<crate::range::Calibration>,
    /// Ticks per model step for chips that carry values as spike codes
    /// (Loihi 1, TrueNorth); `None` takes the chip's default.
    pub ticks_per_step: Option<u32>,
    /// End the pipeline early (`dump-ir --after`, `--before`).
    pub stop: Option<Stop>,
}

/// Where a pipeline may end early: the passes after it do not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Stop {
    /// After this pass (also when it is skipped).
    After(String),
    /// Before this pass.
    Before(String),
}

/// Everything a pass may read or write besides the graph.
pub struct PassCx<'a> {
    pub target: &'a Target,
    pub options: &'a Options,
    pub report: &'a mut PassReport,
    pub diags: &'a mut Vec<PassDiag>,
}

impl PassCx<'_> {
    pub fn error(&mut self, d: PassDiag) {
        self.diags.push(d);
    }

    pub fn warn(&mut self, d: PassDiag) {
        self.diags.push(PassDiag {
            severity: Severity::Warning,
            ..d
        });
    }
}

/// A pass failed; its diagnostics are in `PassCx::diags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed;

/// The signature of every pass.
pub type PassFn = fn(&mut Graph, &mut PassCx) -> Result<(), Failed>;

/// A pass in a pipeline.
#[derive(Clone, Copy)]
pub struct Pass {
    pub name: &'static str,
    /// One line for `--help` and reports.
    pub about: &'static str,
    pub run: PassFn,
    /// Required passes cannot be skipped: later stages rely on their output.
    pub required: bool,
    /// Whether the pass keeps the float semantics exactly (the reference
    /// gives the same outputs before and after it, to rounding).
    pub exact: bool,
}

/// What the caller sees while a pipeline runs.
pub enum Event<'a> {
    Before(&'static str, &'a Graph),
    After(&'static str, &'a Graph),
}

/// The result of a pipeline run.
#[derive(Debug)]
pub struct Outcome {
    pub graph: Graph,
    pub reports: Vec<PassReport>,
    /// Warnings (and, on failure, the errors).
    pub diags: Vec<PassDiag>,
}

/// Runs `passes` over `g` in order. Stops at the first pass that fails
/// (returning the diagnostics so far in `Err`).
pub fn run(
    mut g: Graph,
    passes: &[Pass],
    target: &Target,
    options: &Options,
    observe: &mut dyn FnMut(Event),
) -> Result<Outcome, Vec<PassDiag>> {
    let mut diags = Vec::new();
    for name in &options.skip {
        match passes.iter().find(|p| p.name == name) {
            None => {
                let names: Vec<&str> = passes.iter().map(|p| p.name).collect();
                diags.push(
                    PassDiag::error("E0400", format!("there is no pass `{name}`"))
                        .help(format!("the passes for {target} are: {}", names.join(", "))),
                );
            }
            Some(p) if p.required => diags.push(
                PassDiag::error(
                    "E0400",
                    format!("pass `{name}` is required and cannot be skipped"),
                )
                .note(format!("`{name}`: {}", p.about)),
            ),
            Some(_) => {}
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let verify = options.verify || cfg!(debug_assertions);
    let mut reports = Vec::new();
    for pass in passes {
        if matches!(&options.stop, Some(Stop::Before(n)) if n == pass.name) {
            break;
        }
        let last = matches!(&options.stop, Some(Stop::After(n)) if n == pass.name);
        if options.skip.iter().any(|s| s == pass.name) {
            if last {
                break;
            }
            continue;
        }
        observe(Event::Before(pass.name, &g));
        let mut report = PassReport {
            pass: pass.name.to_string(),
            ..PassReport::default()
        };
        let start = Instant::now();
        let result = {
            let mut cx = PassCx {
                target,
                options,
                report: &mut report,
                diags: &mut diags,
            };
            (pass.run)(&mut g, &mut cx)
        };
        report.time = start.elapsed();
        reports.push(report);
        let failed = result.is_err() || diags.iter().any(|d| d.severity == Severity::Error);
        if failed {
            return Err(diags);
        }
        if verify && let Err(errors) = snn_ir::verify(&g) {
            diags.extend(errors.into_iter().map(|e| {
                PassDiag::error(
                    "E0900",
                    format!("internal error: after pass `{}`: {e}", pass.name),
                )
            }));
            return Err(diags);
        }
        observe(Event::After(pass.name, &g));
        if last {
            break;
        }
    }
    Ok(Outcome {
        graph: g,
        reports,
        diags,
    })
}
