//! Command-line options shared by the commands that run the pass pipeline,
//! and the bridge from pass diagnostics to rendered reports.

use std::time::Duration;

use snn_ir::{Graph, Target};
use snn_passes::{Options, PassDiag, PassReport, PruneMode, Severity};

use crate::diag::Diagnostic;
use crate::driver::Report;

/// Options of the pass pipeline.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PassArgs {
    /// Compile for this chip: loihi, loihi2, seneca or truenorth.
    #[arg(long, value_name = "CHIP")]
    pub backend: Option<String>,
    /// Leave out a pass (repeatable); required passes cannot be skipped.
    #[arg(long = "skip-pass", value_name = "NAME")]
    pub skip_pass: Vec<String>,
    /// Print how long each pass took.
    #[arg(long)]
    pub time_passes: bool,
    /// Weight bits (sign included) on every layer, e.g. 3 for the 3-bit
    /// lpRNN weights of Boeshertz et al.
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(2..=16))]
    pub weight_bits: Option<u8>,
    /// Approximations to allow (repeat the flag for several):
    /// `lstm=sfa` maps LSTM cells to spike-frequency-adaptation neurons (to
    /// be retrained); `leak=linear` runs a voltage that decays by a factor
    /// on TrueNorth with the nearest constant leak toward zero (W0463 says
    /// which, `compare` how far the chip then is from the float model).
    #[arg(long, value_name = "WHAT=HOW")]
    pub approximate: Vec<String>,
    /// Ticks per model step on chips whose spikes carry no value (Loihi 1,
    /// TrueNorth): graded values travel as spike codes over this many ticks
    /// (default 16). More ticks, finer values, longer runs.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(2..=64))]
    pub ticks_per_step: Option<u32>,
    /// Prune delays to the top k: `synaptic:K`, `axonal:K` or `layer:K`.
    #[arg(long, value_name = "MODE:K")]
    pub prune: Option<String>,
    /// Force the delay bits of Loihi's ring buffer (fewer bits: shorter
    /// delays, more compartments per core).
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=6))]
    pub delay_bits: Option<u8>,
    /// Verify the IR after every pass (always on in debug builds).
    #[arg(long)]
    pub verify_each: bool,
    /// Calibration data: an .npz with `inputs` [S, T, N] (the format of
    /// `compare --dataset`; labels are not needed). The float model runs on
    /// every sample, and each population's range (the values its registers
    /// and messages take, which set the chip's scales) is what it reached
    /// times a head-room of 2, never above what is proven. Without it,
    /// ranges are proven bounds, and where none exists (an unbounded ReLU
    /// recurrence) they come from the model's sample input, with a warning.
    #[arg(long, value_name = "DATA.npz")]
    pub calibrate: Option<std::path::PathBuf>,
    /// The model's sample input (`--input` or `input.npy` beside it), set by
    /// the command: ranges that cannot be proven are observed on it.
    #[arg(skip)]
    pub sample: Option<std::path::PathBuf>,
    /// Where to end the pipeline early (set by `dump-ir --after/--before`).
    #[arg(skip)]
    pub stop: Option<snn_passes::Stop>,
}

/// The model's sample input: `given`, else `input.npy` beside the model.
pub fn sample_input(
    model: &std::path::Path,
    given: Option<&std::path::Path>,
) -> Option<std::path::PathBuf> {
    given.map(std::path::Path::to_path_buf).or_else(|| {
        let beside = model.with_file_name("input.npy");
        beside.exists().then_some(beside)
    })
}

impl PassArgs {
    /// The target, or an error naming the known backends.
    pub fn target(&self) -> Result<Option<&'static Target>, Report> {
        match &self.backend {
            None => Ok(None),
            Some(b) => match snn_backends::target(b) {
                Some(t) => Ok(Some(t)),
                None => Err(Report::error(
                    "E0203",
                    format!(
                        "unknown backend `{b}`; the backends are {}",
                        snn_backends::NAMES.join(", ")
                    ),
                )),
            },
        }
    }

    /// The pass options these arguments ask for.
    pub fn options(&self) -> Result<Options, Report> {
        let mut o = Options {
            skip: self.skip_pass.clone(),
            weight_bits: self.weight_bits,
            delay_bits: self.delay_bits,
            verify: self.verify_each,
            ticks_per_step: self.ticks_per_step,
            stop: self.stop.clone(),
            ..Options::default()
        };
        for a in &self.approximate {
            match a.as_str() {
                "lstm=sfa" => o.approximate_lstm = true,
                "leak=linear" => o.approximate_leak = true,
                other => {
                    return Err(Report::error(
                        "E0204",
                        format!(
                            "unknown approximation `{other}`; the ones available are `lstm=sfa` and `leak=linear`"
                        ),
                    ));
                }
            }
        }
        if let Some(p) = &self.prune {
            let bad = || {
                Report::error(
                    "E0204",
                    format!("bad --prune `{p}`: write synaptic:K, axonal:K or layer:K with K >= 1"),
                )
            };
            let (mode, k) = p.split_once(':').ok_or_else(bad)?;
            let mode = match mode {
                "synaptic" => PruneMode::Synaptic,
                "axonal" => PruneMode::Axonal,
                "layer" => PruneMode::Layer,
                _ => return Err(bad()),
            };
            let k: usize = k.parse().ok().filter(|k| *k >= 1).ok_or_else(bad)?;
            o.prune = Some((mode, k));
        }
        Ok(o)
    }
}

/// Pass diagnostics as front-end diagnostics (spans point into the source).
pub fn diagnostics(diags: &[PassDiag]) -> Vec<Diagnostic> {
    diags
        .iter()
        .map(|d| {
            let mut out = match d.severity {
                Severity::Error => Diagnostic::error(d.code, d.message.clone()),
                Severity::Warning => Diagnostic::warning(d.code, d.message.clone()),
            };
            if let Some(span) = d.span {
                out = out.label(span, d.label.clone());
            }
            if let Some(h) = &d.help {
                out = out.help(h.clone());
            }
            for n in &d.notes {
                out = out.note(n.clone());
            }
            out
        })
        .collect()
}

/// Adds pass diagnostics to a report.
pub fn extend(report: &mut Report, diags: &[PassDiag]) {
    report.diags.extend(diagnostics(diags));
}

/// `--time-passes` output.
pub fn timing(reports: &[PassReport], lower: Duration) -> String {
    let mut out = String::from("pass timings:\n");
    out.push_str(&format!(
        "  {:<10} {:>9.3} ms\n",
        "lower",
        lower.as_secs_f64() * 1e3
    ));
    let mut total = lower;
    for r in reports {
        out.push_str(&format!(
            "  {:<10} {:>9.3} ms\n",
            r.pass,
            r.time.as_secs_f64() * 1e3
        ));
        total += r.time;
    }
    out.push_str(&format!(
        "  {:<10} {:>9.3} ms\n",
        "total",
        total.as_secs_f64() * 1e3
    ));
    out
}

/// The pipeline stopped; its diagnostics are already in the [`Report`].
#[derive(Debug)]
pub struct Stopped;

/// Runs the pipeline of `target` over `g`, calling `observe` around passes.
pub fn run(
    g: Graph,
    target: &Target,
    args: &PassArgs,
    report: &mut Report,
    observe: &mut dyn FnMut(snn_passes::Event),
) -> Result<snn_passes::Outcome, Stopped> {
    let mut options = args.options().map_err(|r| {
        report.diags.extend(r.diags);
        Stopped
    })?;
    let calibration = match (&args.calibrate, &args.sample) {
        (Some(data), _) => Some(crate::dataset::calibration(data, &g)),
        (None, Some(x)) => Some(crate::dataset::sample_calibration(x, &g)),
        (None, None) => None,
    };
    options.calibration = match calibration.transpose() {
        Ok(c) => c,
        Err(r) => {
            report.diags.extend(r.diags);
            return Err(Stopped);
        }
    };
    let passes = snn_passes::pipeline(target);
    match snn_passes::run(g, &passes, target, &options, observe) {
        Ok(outcome) => {
            extend(report, &outcome.diags);
            Ok(outcome)
        }
        Err(diags) => {
            extend(report, &diags);
            Err(Stopped)
        }
    }
}
