//! `snnc compare FILE --backend B`: compile, run the chip version and the
//! float reference on the same input and say how far apart they are; with
//! `--dataset`, the accuracy of both on labelled data.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Outcome;
use super::accuracy::{self, Decision};
use super::fidelity;
use super::passes::{self, PassArgs};
use super::run::{energy_joules, stats_text};
use crate::driver::{self, Report};

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The model.
    pub file: PathBuf,
    #[command(flatten)]
    pub passes: PassArgs,
    /// Input `[T, N]` .npy or named .npz (default: `input.npy` beside the model).
    #[arg(long, value_name = "X.npy", conflicts_with = "dataset")]
    pub input: Option<PathBuf>,
    /// Model steps to compare (default: the input's rows). More steps feed
    /// zeros after the input; fewer cut it. The table says which.
    #[arg(long, value_name = "T", conflicts_with = "dataset")]
    pub steps: Option<usize>,
    /// A labelled dataset instead of one input: an .npz holding `inputs`
    /// `[S, T, N]` (S samples of T steps; the inputs' columns in
    /// declaration order) and `labels` `[S]` (integer classes). Every sample
    /// runs from a fresh state on both versions, samples in parallel; each
    /// is classified by `--decision`. Prints the accuracy of the float model
    /// and of the chip, how often they agree, and what did not fit.
    #[arg(long, value_name = "X.npz")]
    pub dataset: Option<PathBuf>,
    /// The classifier output for `--dataset` (default: the one a
    /// `trained*.json` beside the model names for it, else the first output
    /// with more than one element).
    #[arg(long, value_name = "NAME", requires = "dataset")]
    pub classifier: Option<String>,
    /// How a sample's outputs over time become a class: the arg-max of
    /// their sum (`mean` gives the same), of the last step, or of each
    /// element's largest value (default: what a `trained*.json` beside the
    /// model says it was trained with, else `sum`).
    #[arg(long, value_enum, requires = "dataset")]
    pub decision: Option<Decision>,
    /// Only the first N samples of the dataset.
    #[arg(long, value_name = "N", requires = "dataset")]
    pub limit: Option<usize>,
    /// Print one JSON object instead of the table (with `--dataset`).
    #[arg(long, requires = "dataset")]
    pub json: bool,
    /// Write each sample's label and the float and chip classes to a
    /// `.csv` or `.npz` file (with `--dataset`).
    #[arg(long, value_name = "FILE", requires = "dataset")]
    pub save_predictions: Option<PathBuf>,
    /// The system: chips or a board name.
    #[arg(long, value_name = "N|BOARD", default_value = "1")]
    pub chips: String,
}

/// How the steps compared relate to the input's rows, for titles.
pub fn steps_note(input: &str, rows: usize, steps: usize) -> String {
    if steps == rows {
        format!("{steps} steps of {input}")
    } else if steps > rows {
        format!("{steps} steps: the {rows} rows of {input}, then zeros")
    } else {
        format!("{steps} steps: the first {steps} of the {rows} rows of {input}")
    }
}

/// The `--json` object of `compare --dataset`.
#[derive(Serialize)]
struct AccuracyJson<'a> {
    file: String,
    backend: &'a str,
    dataset: String,
    classifier: &'a str,
    decision: Decision,
    samples: usize,
    float_accuracy: f64,
    chip_accuracy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    spike_code_accuracy: Option<f64>,
    agreement: f64,
    cores: usize,
    chips: u32,
    energy_per_sample_uj: f64,
    synaptic_events_per_sample: f64,
    /// Per population (and input): values that wrapped or saturated, over
    /// all samples.
    overflow: std::collections::BTreeMap<String, OverflowJson>,
}

#[derive(Serialize)]
struct OverflowJson {
    wrapped: u64,
    saturated: u64,
}

/// A model compiled, placed and emitted for a chip.
pub struct Compiled {
    /// The model as written (the float reference runs it).
    pub original: snn_ir::Graph,
    /// After the passes.
    pub graph: snn_ir::Graph,
    /// Where the chip carries values as spikes (`spike_codes` ran): the
    /// model right after that lowering, still in float, so the error the
    /// code adds can be told from the error of the chip's arithmetic.
    pub lowered: Option<snn_ir::Graph>,
    pub config: snn_runtime::config::Config,
    /// Warnings so far.
    pub report: Report,
}

/// Reads `file`, runs `passes`' pipeline, places on `chips` and emits the
/// configuration; on failure, the report of errors.
pub fn compile_model(file: &Path, passes_args: &PassArgs, chips: &str) -> Result<Compiled, Report> {
    let (g, mut report) = driver::load(file)?;
    let Some(target) = passes_args.target()? else {
        return Err(Report::error(
            "E0203",
            format!(
                "say which chip: --backend {}",
                snn_backends::NAMES.join("|")
            ),
        ));
    };
    let spec =
        snn_backends::chip(target.name).ok_or_else(|| Report::error("E0203", "no chip limits"))?;
    let original = g.clone();
    let mut lowered = None;
    let mut observe = |e: snn_passes::Event| {
        if let snn_passes::Event::After("spike_codes", g) = e
            && g.ticks_per_step > 1
        {
            lowered = Some(g.clone());
        }
    };
    let outcome = match passes::run(g, target, passes_args, &mut report, &mut observe) {
        Ok(o) => o,
        Err(passes::Stopped) => return Err(report),
    };
    let chips = super::compile::chips_arg(spec, chips)?;
    let options = snn_passes::place::PlaceOptions {
        chips,
        ..Default::default()
    };
    let placement = match snn_passes::place::place(&outcome.graph, spec, &options) {
        Ok(p) => p,
        Err(d) => {
            passes::extend(&mut report, &d);
            return Err(report);
        }
    };
    let config = match super::compile::emit(file, &outcome.graph, &placement, target.name) {
        Ok(c) => c,
        Err(d) => {
            passes::extend(&mut report, &[*d]);
            return Err(report);
        }
    };
    Ok(Compiled {
        original,
        graph: outcome.graph,
        lowered,
        config,
        report,
    })
}

pub fn compare(mut args: CompareArgs) -> Outcome {
    args.passes.sample = passes::sample_input(&args.file, args.input.as_deref());
    let Compiled {
        original,
        graph,
        lowered,
        config,
        mut report,
    } = compile_model(&args.file, &args.passes, &args.chips)?;
    let target_name = config.manifest.backend.clone();
    let target = target_name.as_str();
    if let Some(dataset) = &args.dataset {
        // A trained example says how it classifies: use that unless told.
        let trained = accuracy::trained_for(&args.file);
        let classifier = args
            .classifier
            .clone()
            .or_else(|| trained.as_ref().map(|(t, _)| t.classifier.clone()));
        let decision = args
            .decision
            .or_else(|| trained.as_ref().map(|(t, _)| t.decision))
            .unwrap_or(Decision::Sum);
        let from = match (&trained, args.decision) {
            (Some((_, path)), None) => format!(", from {}", path.display()),
            _ => String::new(),
        };
        let a = accuracy::accuracy(
            &original,
            &graph,
            &config,
            dataset,
            &accuracy::Options {
                classifier: classifier.as_deref(),
                decision,
                limit: args.limit,
                progress: !args.json,
                lowered: lowered.as_ref(),
            },
        )?;
        if let Some(path) = &args.save_predictions {
            accuracy::save_predictions(&a, path)?;
        }
        let per = a.samples().max(1) as f64;
        if args.json {
            let json = AccuracyJson {
                file: args.file.display().to_string(),
                backend: target,
                dataset: dataset.display().to_string(),
                classifier: &a.classifier,
                decision: a.decision,
                samples: a.samples(),
                float_accuracy: a.float_accuracy(),
                chip_accuracy: a.chip_accuracy(),
                spike_code_accuracy: a.lowered_accuracy(),
                agreement: a.agreement(),
                cores: config.cores.len(),
                chips: config.manifest.chips,
                energy_per_sample_uj: energy_joules(&a.stats, &config.manifest.energy) * 1e6 / per,
                synaptic_events_per_sample: a.stats.synaptic_events as f64 / per,
                overflow: a
                    .overflow
                    .iter()
                    .map(|(n, o)| {
                        (
                            n.clone(),
                            OverflowJson {
                                wrapped: o.wrapped,
                                saturated: o.saturated,
                            },
                        )
                    })
                    .collect(),
            };
            let text = serde_json::to_string_pretty(&json)
                .map_err(|e| Report::error("E0900", e.to_string()))?;
            super::print_out(&format!("{text}\n"));
        } else {
            let pct = |x: f64| format!("{:.1}%", 100.0 * x);
            let mut table = snn_passes::Table::new(
                format!(
                    "{} on {} against the float reference: {} samples of {}, classified by `{}` ({}{from})",
                    args.file.display(),
                    target,
                    a.samples(),
                    dataset.display(),
                    a.classifier,
                    a.decision.name()
                ),
                &["", "value"],
            );
            table.row(vec!["float accuracy".into(), pct(a.float_accuracy())]);
            if let Some(l) = a.lowered_accuracy() {
                table.row(vec![
                    format!(
                        "spike code in float ({} ticks a step)",
                        graph.ticks_per_step
                    ),
                    pct(l),
                ]);
            }
            table.row(vec!["chip accuracy".into(), pct(a.chip_accuracy())]);
            table.row(vec!["same class on both".into(), pct(a.agreement())]);
            table.row(vec![
                "cores".into(),
                format!(
                    "{} on {} chip(s)",
                    config.cores.len(),
                    config.manifest.chips
                ),
            ]);
            table.row(vec![
                "energy per sample".into(),
                format!(
                    "{:.3} µJ",
                    energy_joules(&a.stats, &config.manifest.energy) * 1e6 / per
                ),
            ]);
            let mut text = table.render();
            if let Some(t) = fidelity::overflow_table(&a.overflow) {
                text.push('\n');
                text.push_str(&t.render());
            }
            super::print_out(&text);
        }
        report
            .diags
            .extend(fidelity::overflow_warnings(&a.overflow));
        return Ok(report);
    }
    let path = args
        .input
        .clone()
        .unwrap_or_else(|| args.file.with_file_name("input.npy"));
    let inputs = super::sim::read_inputs(&original, &path)?;
    let steps = args.steps.unwrap_or(inputs.rows());
    let c = fidelity::compare_runs(&original, &graph, config, &inputs, steps)?;
    let mut text = fidelity::table(
        &c,
        format!(
            "{} on {} against the float reference ({})",
            args.file.display(),
            target,
            steps_note(&display(&path), inputs.rows(), steps)
        ),
    )
    .render();
    let overflow = c.engine.overflow();
    if let Some(t) = fidelity::overflow_table(&overflow) {
        text.push('\n');
        text.push_str(&t.render());
    }
    text.push_str(&stats_text(&c.engine, c.seconds));
    super::print_out(&text);
    report.diags.extend(fidelity::overflow_warnings(&overflow));
    Ok(report)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
