//! `compare --dataset`: the accuracy of the float model and of the chip on a
//! labelled dataset, sample by sample in parallel (each from a fresh state;
//! the result does not depend on the number of threads), with a progress
//! bar on a terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Serialize;
use snn_ir::Graph;
use snn_runtime::config::Config;
use snn_runtime::engine::{Engine, Overflow, Stats};
use snn_runtime::reference::{Inputs, Simulator};

use super::fidelity::{chip_rows, execute, output_lags};
use crate::dataset::{self, Dataset};
use crate::driver::Report;

fn bad(msg: impl Into<String>) -> Report {
    Report::error("E0300", msg)
}

/// How a sequence of outputs becomes one class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The arg-max of the output summed over every step.
    Sum,
    /// The arg-max of its mean over the steps (the same class as `sum`).
    Mean,
    /// The arg-max at the last step.
    Last,
    /// The arg-max of each element's largest value over the steps.
    Max,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Sum => "sum",
            Decision::Mean => "mean",
            Decision::Last => "last",
            Decision::Max => "max",
        }
    }

    /// The class `rows` (one per step) decide.
    pub fn class(self, rows: &[Vec<f32>], classes: usize) -> usize {
        let mut acc = vec![0f64; classes];
        match self {
            Decision::Sum | Decision::Mean => {
                for r in rows {
                    for (a, &v) in acc.iter_mut().zip(r) {
                        *a += v as f64;
                    }
                }
            }
            Decision::Last => {
                if let Some(r) = rows.last() {
                    for (a, &v) in acc.iter_mut().zip(r) {
                        *a = v as f64;
                    }
                }
            }
            Decision::Max => {
                acc.fill(f64::NEG_INFINITY);
                for r in rows {
                    for (a, &v) in acc.iter_mut().zip(r) {
                        *a = a.max(v as f64);
                    }
                }
            }
        }
        argmax(&acc)
    }
}

/// Index of the largest value (the first of equals).
fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// One sample's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub label: i64,
    pub float: usize,
    pub chip: usize,
    /// The class of the spike-coded model in float, where there is one.
    pub lowered: Option<usize>,
}

/// Accuracy of both versions on a labelled dataset.
#[derive(Clone, Debug)]
pub struct Accuracy {
    pub classifier: String,
    pub decision: Decision,
    pub predictions: Vec<Prediction>,
    /// Per population (and input), what did not fit, over all samples.
    pub overflow: Vec<(String, Overflow)>,
    /// The chip's activity over all samples.
    pub stats: Stats,
}

impl Accuracy {
    pub fn samples(&self) -> usize {
        self.predictions.len()
    }

    fn share(&self, f: impl Fn(&Prediction) -> bool) -> f64 {
        let n = self.predictions.iter().filter(|p| f(p)).count();
        n as f64 / self.samples().max(1) as f64
    }

    pub fn float_accuracy(&self) -> f64 {
        self.share(|p| p.float as i64 == p.label)
    }

    pub fn chip_accuracy(&self) -> f64 {
        self.share(|p| p.chip as i64 == p.label)
    }

    /// The accuracy of the spike-coded model in float (`None` where the
    /// chip carries values as they are).
    pub fn lowered_accuracy(&self) -> Option<f64> {
        self.predictions
            .first()
            .and_then(|p| p.lowered)
            .map(|_| self.share(|p| p.lowered.map(|c| c as i64) == Some(p.label)))
    }

    /// Samples where both versions give the same class.
    pub fn agreement(&self) -> f64 {
        self.share(|p| p.float == p.chip)
    }
}

/// One sample's class on both versions, and the chip's counts.
type SampleRun = (Prediction, Vec<(String, Overflow)>, Stats);

/// What `accuracy` needs besides the graphs.
pub struct Options<'a> {
    pub classifier: Option<&'a str>,
    pub decision: Decision,
    pub limit: Option<usize>,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
    /// The model after `spike_codes`, run in float too when given.
    pub lowered: Option<&'a Graph>,
}

/// Adds `b` into `a` (both in the same order).
fn add_overflow(a: &mut Vec<(String, Overflow)>, b: Vec<(String, Overflow)>) {
    if a.is_empty() {
        *a = b;
        return;
    }
    for ((_, x), (_, y)) in a.iter_mut().zip(b) {
        x.wrapped += y.wrapped;
        x.saturated += y.saturated;
    }
}

fn add_stats(a: &mut Stats, b: &Stats) {
    a.steps += b.steps;
    a.ticks += b.ticks;
    a.spikes += b.spikes;
    a.input_events += b.input_events;
    a.synaptic_events += b.synaptic_events;
    a.neuron_updates += b.neuron_updates;
    a.dense_synops += b.dense_synops;
}

/// The output to classify with: `name`, or the first with more than one
/// element.
fn classifier<'c>(
    config: &'c Config,
    name: Option<&str>,
) -> Result<&'c snn_runtime::config::OutputMap, Report> {
    let m = &config.manifest;
    match name {
        Some(name) => m.outputs.iter().find(|o| o.name == name).ok_or_else(|| {
            bad(format!(
                "no output `{name}`; the outputs are {}",
                m.outputs
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }),
        None => m.outputs.iter().find(|o| o.neurons.len() > 1).ok_or_else(|| {
            bad("no output has more than one element to classify with; name one with --classifier")
        }),
    }
}

/// Runs every sample of the dataset at `path` on the float model
/// (`original`) and on the chip (`config`, compiled into `compiled`).
pub fn accuracy(
    original: &Graph,
    compiled: &Graph,
    config: &Config,
    path: &Path,
    o: &Options,
) -> Result<Accuracy, Report> {
    let width = dataset::input_width(original);
    if width == 0 {
        return Err(bad(
            "the network has no inputs, so a dataset has nothing to feed it",
        ));
    }
    let mut data: Dataset = dataset::read(path, width, true)?;
    if let Some(n) = o.limit {
        data.samples = data.samples.min(n);
    }
    let output = classifier(config, o.classifier)?;
    let name = output.name.clone();
    let classes = output.neurons.len();
    if let Some((i, &l)) = data.labels[..data.samples]
        .iter()
        .enumerate()
        .find(|(_, l)| !(0..classes as i64).contains(l))
    {
        return Err(bad(format!(
            "{}: `labels[{i}]` is {l}, but `{name}` has {classes} classes (0..{})",
            path.display(),
            classes - 1
        )));
    }
    let lag = output_lags(original, compiled)
        .get(&name)
        .copied()
        .unwrap_or(0);
    let sim = Simulator::new(original).map_err(|e| bad(e.to_string()))?;
    let lowered = match o.lowered {
        Some(g) => {
            let lag = output_lags(original, g).get(&name).copied().unwrap_or(0);
            Some((Simulator::new(g).map_err(|e| bad(e.to_string()))?, lag))
        }
        None => None,
    };
    snn_runtime::memory::check(config, data.steps + lag).map_err(Report::budget)?;
    let fresh = Engine::new(config.clone());
    let bar = (o.progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(data.samples as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} samples, {elapsed} elapsed, ~{eta} left  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let (float_ok, chip_ok) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let done = AtomicUsize::new(0);
    let results: Vec<SampleRun> = (0..data.samples)
        .into_par_iter()
        .map(|s| {
            let inputs = Inputs::split(original, data.sample(s)).map_err(|e| bad(e.to_string()))?;
            let mut f = sim.clone();
            let out = f.run(&inputs, data.steps).map_err(|e| bad(e.to_string()))?;
            let rows: Vec<Vec<f32>> = match out.get(&name) {
                Some(a) => a.outer_iter().map(|r| r.to_vec()).collect(),
                None => return Err(bad(format!("the float model has no output `{name}`"))),
            };
            let float = o.decision.class(&rows, classes);
            let lowered = match &lowered {
                Some((sim, lag)) => {
                    let mut f = sim.clone();
                    let out = f
                        .run(&inputs, data.steps + lag)
                        .map_err(|e| bad(e.to_string()))?;
                    out.get(&name).map(|a| {
                        let rows: Vec<Vec<f32>> =
                            a.outer_iter().skip(*lag).map(|r| r.to_vec()).collect();
                        o.decision.class(&rows, classes)
                    })
                }
                None => None,
            };
            let mut engine = fresh.clone();
            let chip_out = execute(&mut engine, &chip_rows(config, &inputs), data.steps + lag);
            let chip = chip_out
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, r)| {
                    o.decision.class(&r[lag.min(r.len())..], classes)
                });
            let label = data.labels[s];
            if let Some(b) = &bar {
                let fo = float_ok.fetch_add(usize::from(float as i64 == label), Ordering::Relaxed)
                    + usize::from(float as i64 == label);
                let co = chip_ok.fetch_add(usize::from(chip as i64 == label), Ordering::Relaxed)
                    + usize::from(chip as i64 == label);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                b.inc(1);
                b.set_message(format!(
                    "float {:.1}%, chip {:.1}%",
                    100.0 * fo as f64 / n as f64,
                    100.0 * co as f64 / n as f64
                ));
            }
            Ok((
                Prediction {
                    label,
                    float,
                    chip,
                    lowered,
                },
                engine.overflow(),
                engine.stats.clone(),
            ))
        })
        .collect::<Result<_, Report>>()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut acc = Accuracy {
        classifier: name,
        decision: o.decision,
        predictions: Vec::with_capacity(results.len()),
        overflow: Vec::new(),
        stats: Stats::default(),
    };
    for (p, ov, st) in results {
        acc.predictions.push(p);
        add_overflow(&mut acc.overflow, ov);
        add_stats(&mut acc.stats, &st);
    }
    Ok(acc)
}

/// Writes each sample's label and both classes: `.csv` (a header, then
/// `sample,label,float,chip` rows) or `.npz` (`labels`, `float`, `chip`).
pub fn save_predictions(a: &Accuracy, path: &Path) -> Result<(), Report> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => {
            let mut text = String::from("sample,label,float,chip\n");
            for (s, p) in a.predictions.iter().enumerate() {
                text.push_str(&format!("{s},{},{},{}\n", p.label, p.float, p.chip));
            }
            super::write_atomic(path, text.as_bytes())
        }
        Some("npz") => {
            let col = |f: &dyn Fn(&Prediction) -> i64| -> Vec<i32> {
                a.predictions.iter().map(|p| f(p) as i32).collect()
            };
            let n = a.predictions.len();
            let arrays = vec![
                (
                    "labels".to_string(),
                    crate::arrays::Array::i32(vec![n], col(&|p| p.label)),
                ),
                (
                    "float".to_string(),
                    crate::arrays::Array::i32(vec![n], col(&|p| p.float as i64)),
                ),
                (
                    "chip".to_string(),
                    crate::arrays::Array::i32(vec![n], col(&|p| p.chip as i64)),
                ),
            ];
            super::sim::write_arrays(&arrays, path)
        }
        _ => Err(Report::error(
            "E0202",
            format!(
                "--save-predictions {}: write a .csv or an .npz file",
                path.display()
            ),
        )),
    }
}

/// A trained example as its `trained*.json` describes it (written by the
/// script under `training/` that made its weights).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Trained {
    /// The model, relative to the folder of the `trained*.json`.
    pub model: String,
    /// The test split and the calibration subset, relative to the
    /// repository's root.
    pub dataset: String,
    pub calibration: String,
    pub classifier: String,
    pub decision: Decision,
    /// The float accuracy the training reached on the test split.
    pub float_accuracy: f64,
    /// The weights' bits, when trained for a `--weight-bits` grid.
    #[serde(default)]
    pub weight_bits: Option<u8>,
    /// Where the `trained*.json` is (set when read).
    #[serde(skip)]
    pub folder: std::path::PathBuf,
}

impl Trained {
    /// The model's path.
    pub fn model_path(&self) -> std::path::PathBuf {
        self.folder.join(&self.model)
    }
}

/// The `trained*.json` beside `model` that describes it (its `model` is
/// the model's file name), and its path; `None` when there is none or it
/// cannot be read.
pub fn trained_for(model: &Path) -> Option<(Trained, std::path::PathBuf)> {
    let name = model.file_name()?.to_str()?;
    let dir = match model.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("trained") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files.into_iter().find_map(|p| {
        let t = read_trained(&p).ok()?;
        (t.model == name).then_some((t, p))
    })
}

/// Reads one `trained*.json`; its folder is the file's.
fn read_trained(p: &Path) -> Result<Trained, Report> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| Report::error("E0200", format!("{}: {e}", p.display())))?;
    let mut t: Trained = serde_json::from_str(&text)
        .map_err(|e| Report::error("E0200", format!("{}: {e}", p.display())))?;
    t.folder = p.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(t)
}

/// Every `trained*.json` under `root/examples`, by path.
pub fn trained_examples(root: &Path) -> Result<Vec<Trained>, Report> {
    let mut found = Vec::new();
    let dir = root.join("examples");
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| Report::error("E0200", format!("{}: {e}", dir.display())))?;
    for e in entries.flatten() {
        let Ok(files) = std::fs::read_dir(e.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with("trained") && name.ends_with(".json") {
                found.push(f.path());
            }
        }
    }
    found.sort();
    found.iter().map(|p| read_trained(p)).collect()
}

/// One trained example on one chip.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub samples: usize,
    pub float_accuracy: f64,
    pub chip_accuracy: f64,
    /// The spike-coded model in float, where the chip carries values as
    /// spikes.
    pub lowered_accuracy: Option<f64>,
    pub agreement: f64,
    pub cores: usize,
    pub chips: u32,
    pub energy_per_sample_uj: f64,
    /// Values that wrapped or saturated, over all samples.
    pub overflow: u64,
}

/// Compiles a trained example for `backend` (with its weight bits, and
/// calibrated on its calibration subset when `calibrate`), runs its test
/// split (the first `limit` samples) on both versions, and measures. A
/// refusal to compile comes back as the report of errors.
pub fn measure(
    root: &Path,
    t: &Trained,
    backend: &str,
    calibrate: bool,
    approximate: &[&str],
    limit: Option<usize>,
) -> Result<Measured, Report> {
    let model = t.model_path();
    let passes = super::passes::PassArgs {
        backend: Some(backend.to_string()),
        weight_bits: t.weight_bits,
        approximate: approximate.iter().map(|a| a.to_string()).collect(),
        calibrate: calibrate.then(|| root.join(&t.calibration)),
        sample: super::passes::sample_input(&model, None),
        ..Default::default()
    };
    let c = super::compare::compile_model(&model, &passes, "1")?;
    let a = accuracy(
        &c.original,
        &c.graph,
        &c.config,
        &root.join(&t.dataset),
        &Options {
            classifier: Some(&t.classifier),
            decision: t.decision,
            limit,
            progress: false,
            lowered: c.lowered.as_ref(),
        },
    )?;
    let per = a.samples().max(1) as f64;
    Ok(Measured {
        samples: a.samples(),
        float_accuracy: a.float_accuracy(),
        chip_accuracy: a.chip_accuracy(),
        lowered_accuracy: a.lowered_accuracy(),
        agreement: a.agreement(),
        cores: c.config.cores.len(),
        chips: c.config.manifest.chips,
        energy_per_sample_uj: super::run::energy_joules(&a.stats, &c.config.manifest.energy) * 1e6
            / per,
        overflow: a.overflow.iter().map(|(_, o)| o.total()).sum(),
    })
}
