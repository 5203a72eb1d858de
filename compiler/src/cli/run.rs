//! `snnc run DIR`: execute a chip configuration on the built-in runtime, and
//! `snnc compare FILE --backend B`: compile, run the chip version and the
//! float reference on the same input, and say how far apart they are.

use std::path::{Path, PathBuf};
use std::time::Instant;

use snn_runtime::config::Config;
use snn_runtime::engine::Engine;

use super::Outcome;
use super::passes::{self, PassArgs};
use crate::arrays::{self, Array};
use crate::driver::{self, Report};

#[derive(clap::Args)]
pub struct Args {
    /// A configuration directory written by `snnc compile -o DIR`.
    pub dir: PathBuf,
    /// Input: a `[T, N]` .npy (the inputs' columns in manifest order) or an
    /// .npz with one `[T, size]` array per input name. A network without
    /// inputs runs without one (then `--steps` is needed).
    #[arg(long, value_name = "X.npy")]
    pub input: Option<PathBuf>,
    /// Where to write the outputs: `Y.npy` (one output), `Y.npz`, or a
    /// directory of `<name>.npy`.
    #[arg(long, value_name = "Y.npy")]
    pub output: PathBuf,
    /// Steps to run (default: the input's rows; zeros after them).
    #[arg(long, value_name = "T")]
    pub steps: Option<usize>,
    /// Print spikes, synaptic events, per-core activity and an energy
    /// estimate from the chip's per-operation figures.
    #[arg(long)]
    pub stats: bool,
}

fn bad(code: &'static str, msg: impl Into<String>) -> Report {
    Report::error(code, msg)
}

/// Splits combined rows (the inputs' columns side by side, in manifest
/// order) into each input's rows.
fn split_columns(config: &Config, rows: &[Vec<f32>]) -> Vec<Vec<Vec<f32>>> {
    let mut out = Vec::new();
    let mut at = 0;
    for i in &config.manifest.inputs {
        let n = i.size as usize;
        out.push(rows.iter().map(|r| r[at..at + n].to_vec()).collect());
        at += n;
    }
    out
}

/// Each input's `[T, size]` rows, in manifest order.
fn read_input(config: &Config, path: &Path) -> Result<Vec<Vec<Vec<f32>>>, Report> {
    let m = &config.manifest;
    let mut file = arrays::open(path).map_err(|e| bad("E0300", e.to_string()))?;
    let to_rows = |name: &str, a: Array| -> Result<Vec<Vec<f32>>, Report> {
        let mat = super::sim::matrix(path, name, a)?;
        Ok(mat.outer_iter().map(|r| r.to_vec()).collect())
    };
    if file.format() == arrays::Format::Npy {
        let name = file.names().into_iter().next().unwrap_or_default();
        let a = file.get(&name).map_err(|e| bad("E0300", e.to_string()))?;
        let rows = to_rows(&name, a)?;
        let width: usize = m.inputs.iter().map(|i| i.size as usize).sum();
        if let Some(r) = rows.first().filter(|r| r.len() != width) {
            return Err(bad(
                "E0300",
                format!(
                    "{}: {} columns, but the configuration's inputs take {width} ({})",
                    path.display(),
                    r.len(),
                    m.inputs
                        .iter()
                        .map(|i| format!("{} [{}]", i.name, i.size))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        return Ok(split_columns(config, &rows));
    }
    let mut out = Vec::new();
    for i in &m.inputs {
        let a = file.get(&i.name).map_err(|e| bad("E0300", e.to_string()))?;
        let rows = to_rows(&i.name, a)?;
        if let Some(r) = rows.first().filter(|r| r.len() != i.size as usize) {
            return Err(bad(
                "E0300",
                format!(
                    "{}: input `{}` has {} columns, expected {}",
                    path.display(),
                    i.name,
                    r.len(),
                    i.size
                ),
            ));
        }
        out.push(rows);
    }
    Ok(out)
}

/// Runs `engine` for `steps` on `input` (rows per input).
pub fn execute(
    engine: &mut Engine,
    input: &[Vec<Vec<f32>>],
    steps: usize,
) -> Vec<(String, Vec<Vec<f32>>)> {
    let sizes: Vec<usize> = engine
        .config()
        .manifest
        .inputs
        .iter()
        .map(|i| i.size as usize)
        .collect();
    engine.run(steps, &|t| {
        input
            .iter()
            .zip(&sizes)
            .map(|(rows, &n)| rows.get(t).cloned().unwrap_or_else(|| vec![0.0; n]))
            .collect()
    })
}

fn write(outputs: &[(String, Vec<Vec<f32>>)], path: &Path) -> Result<(), Report> {
    let arrays: Vec<(String, Array)> = outputs
        .iter()
        .map(|(name, rows)| {
            let m = rows.first().map_or(0, Vec::len);
            (name.clone(), Array::f32(vec![rows.len(), m], rows.concat()))
        })
        .collect();
    super::sim::write_arrays(&arrays, path)
}

/// The `--stats` text.
pub fn stats_text(engine: &Engine, seconds: f64) -> String {
    let s = &engine.stats;
    let e = engine.config().manifest.energy;
    let joules = (s.synaptic_events as f64 * e.synaptic_op_pj
        + s.neuron_updates as f64 * e.neuron_update_pj
        + s.spikes as f64 * e.spike_pj)
        * 1e-12;
    let per_core = engine.per_core();
    let busiest = per_core.iter().copied().max().unwrap_or(0);
    let active = per_core.iter().filter(|&&n| n > 0).count();
    let mut out = format!(
        "steps {}; spikes and messages sent {} (inputs {}); synaptic events {} (effective SynOps; dense SynOps {}, {:.1}% of them)\n",
        s.steps,
        s.spikes,
        s.input_events,
        s.synaptic_events,
        s.dense_synops,
        100.0 * s.synaptic_events as f64 / s.dense_synops.max(1) as f64
    );
    out.push_str(&format!(
        "cores {} ({} received events; busiest {} synaptic events); energy estimate {:.3} µJ ({:.1} pJ per synaptic op, {:.1} per neuron update, {:.1} per spike, from the {} figures)\n",
        per_core.len(),
        active,
        busiest,
        joules * 1e6,
        e.synaptic_op_pj,
        e.neuron_update_pj,
        e.spike_pj,
        engine.config().manifest.backend
    ));
    out.push_str(&format!(
        "model time {:.3} s at {} µs per step; simulated in {seconds:.3} s ({:.1} M synaptic events/s)\n",
        s.steps as f64 * engine.config().manifest.timestep_us * 1e-6,
        engine.config().manifest.timestep_us,
        s.synaptic_events as f64 / seconds.max(1e-9) / 1e6
    ));
    out
}

pub fn run(args: Args) -> Outcome {
    let config =
        Config::read(&args.dir).map_err(|e| bad("E0500", format!("invalid configuration: {e}")))?;
    let input = match &args.input {
        Some(path) => read_input(&config, path)?,
        None if config.manifest.inputs.is_empty() => Vec::new(),
        None => {
            return Err(bad(
                "E0300",
                format!(
                    "the configuration has inputs ({}): give them with --input X.npy",
                    config
                        .manifest
                        .inputs
                        .iter()
                        .map(|i| format!("{} [{}]", i.name, i.size))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    };
    let steps = match args.steps {
        Some(t) => t,
        None if args.input.is_none() => {
            return Err(bad(
                "E0300",
                "the network has no inputs, so nothing says how long to run: give --steps T",
            ));
        }
        None => input.iter().map(Vec::len).max().unwrap_or(0),
    };
    let mut engine = Engine::new(config);
    let t = Instant::now();
    let out = execute(&mut engine, &input, steps);
    let seconds = t.elapsed().as_secs_f64();
    write(&out, &args.output)?;
    eprintln!(
        "ran {steps} steps in {seconds:.3} s; wrote {} output{} to {}",
        out.len(),
        if out.len() == 1 { "" } else { "s" },
        args.output.display()
    );
    if args.stats {
        print!("{}", stats_text(&engine, seconds));
    }
    Ok(Report::default())
}

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The model.
    pub file: PathBuf,
    #[command(flatten)]
    pub passes: PassArgs,
    /// Input `[T, N]` .npy or named .npz (default: `input.npy` beside the model).
    #[arg(long, value_name = "X.npy", conflicts_with = "dataset")]
    pub input: Option<PathBuf>,
    /// A labelled dataset instead of one input: an .npz holding `inputs`
    /// `[S, T, N]` (S samples of T steps; the inputs' columns in
    /// declaration order) and `labels` `[S]` (integer classes). Every sample
    /// runs from a fresh state on both versions; a sample's class is the
    /// arg-max of the classifier output summed over its steps. Prints the
    /// accuracy of the float model and of the chip.
    #[arg(long, value_name = "X.npz")]
    pub dataset: Option<PathBuf>,
    /// The classifier output for `--dataset` (default: the first output
    /// with more than one element).
    #[arg(long, value_name = "NAME", requires = "dataset")]
    pub classifier: Option<String>,
    /// The system: chips or a board name.
    #[arg(long, value_name = "N|BOARD", default_value = "1")]
    pub chips: String,
}

/// Accuracy of both versions on a labelled dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    pub classifier: String,
    pub samples: usize,
    /// Samples the float model / the chip classify correctly.
    pub float_correct: usize,
    pub chip_correct: usize,
    /// Samples where both give the same class.
    pub same_class: usize,
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

/// A labelled dataset: `samples` × `steps` rows of the inputs' columns.
struct Dataset {
    samples: usize,
    steps: usize,
    inputs: Vec<f32>,
    labels: Vec<i64>,
}

/// Reads a dataset .npz: `inputs` `[S, T, N]` and `labels` `[S]`.
fn read_dataset(path: &Path, width: usize) -> Result<Dataset, Report> {
    let mut file = arrays::open(path).map_err(|e| bad("E0300", e.to_string()))?;
    if file.format() != arrays::Format::Npz {
        return Err(bad(
            "E0300",
            format!(
                "{}: a dataset is an .npz with the arrays `inputs` [S, T, N] and `labels` [S]",
                path.display()
            ),
        ));
    }
    for name in ["inputs", "labels"] {
        if !file.contains(name) {
            return Err(bad(
                "E0300",
                format!(
                    "{}: no array `{name}` (it holds {}); a dataset needs `inputs` [S, T, N] and `labels` [S]",
                    path.display(),
                    file.names().join(", ")
                ),
            ));
        }
    }
    let x = file
        .get("inputs")
        .map_err(|e| bad("E0300", e.to_string()))?;
    let y = file
        .get("labels")
        .map_err(|e| bad("E0300", e.to_string()))?;
    if x.shape.len() != 3 || x.shape[2] != width {
        return Err(bad(
            "E0300",
            format!(
                "{}: `inputs` has shape {:?}; expected [S, T, {width}] (samples, steps, the inputs' columns)",
                path.display(),
                x.shape
            ),
        ));
    }
    if y.shape.len() != 1 || y.shape[0] != x.shape[0] {
        return Err(bad(
            "E0300",
            format!(
                "{}: `labels` has shape {:?}; expected [{}], one class per sample of `inputs`",
                path.display(),
                y.shape,
                x.shape[0]
            ),
        ));
    }
    if !y.dtype.is_integer() {
        return Err(bad(
            "E0300",
            format!(
                "{}: `labels` holds {}; expected integer classes",
                path.display(),
                y.dtype.name()
            ),
        ));
    }
    let labels: Vec<i64> = y
        .to_i32()
        .map_err(|e| bad("E0300", format!("{}: `labels`: {e}", path.display())))?
        .into_iter()
        .map(i64::from)
        .collect();
    let (samples, steps) = (x.shape[0], x.shape[1]);
    let inputs = x
        .into_f32()
        .map_err(|e| bad("E0300", format!("{}: `inputs`: {e}", path.display())))?;
    Ok(Dataset {
        samples,
        steps,
        inputs,
        labels,
    })
}

/// Runs every sample of a dataset on the float model and on the chip.
/// `lags`: per output, how many steps later the chip answers (see
/// [`output_lags`]); the chip runs that much longer and its first steps
/// are dropped.
pub fn accuracy(
    original: &snn_ir::Graph,
    config: &Config,
    path: &Path,
    classifier: Option<&str>,
    lags: &std::collections::HashMap<String, usize>,
) -> Result<Accuracy, Report> {
    let m = &config.manifest;
    let width: usize = m.inputs.iter().map(|i| i.size as usize).sum();
    if width == 0 {
        return Err(bad(
            "E0300",
            "the network has no inputs, so a dataset has nothing to feed it",
        ));
    }
    let Dataset {
        samples,
        steps,
        inputs: values,
        labels,
    } = read_dataset(path, width)?;
    let output = match classifier {
        Some(name) => m.outputs.iter().find(|o| o.name == name).ok_or_else(|| {
            bad(
                "E0300",
                format!(
                    "no output `{name}`; the outputs are {}",
                    m.outputs
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
        None => m.outputs.iter().find(|o| o.neurons.len() > 1).ok_or_else(|| {
            bad(
                "E0300",
                "no output has more than one element to classify with; name one with --classifier",
            )
        })?,
    };
    let classes = output.neurons.len();
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| !(0..classes as i64).contains(l))
    {
        return Err(bad(
            "E0300",
            format!(
                "{}: `labels[{i}]` is {l}, but `{}` has {classes} classes (0..{})",
                path.display(),
                output.name,
                classes - 1
            ),
        ));
    }
    let mut acc = Accuracy {
        classifier: output.name.clone(),
        samples,
        float_correct: 0,
        chip_correct: 0,
        same_class: 0,
    };
    let per = steps * width;
    let started = Instant::now();
    for s in 0..samples {
        let x = &values[s * per..(s + 1) * per];
        let view = ndarray::ArrayView2::from_shape((steps, width), x)
            .map_err(|e| bad("E0300", e.to_string()))?;
        let inputs = snn_runtime::reference::Inputs::split(original, view)
            .map_err(|e| bad("E0300", e.to_string()))?;
        let float = snn_runtime::reference::simulate(original, &inputs, steps)
            .map_err(|e| bad("E0300", e.to_string()))?;
        let f = float.get(&acc.classifier).ok_or_else(|| {
            bad(
                "E0300",
                format!("the float model has no output `{}`", acc.classifier),
            )
        })?;
        let mut sum_f = vec![0f64; classes];
        for row in f.outer_iter() {
            for (k, &v) in row.iter().enumerate().take(classes) {
                sum_f[k] += v as f64;
            }
        }
        let mut engine = Engine::new(config.clone());
        let rows: Vec<Vec<f32>> = x.chunks(width).map(<[f32]>::to_vec).collect();
        let per_input = split_columns(config, &rows);
        let lag = lags.get(&acc.classifier).copied().unwrap_or(0);
        let chip = execute(&mut engine, &per_input, steps + lag);
        let mut sum_c = vec![0f64; classes];
        if let Some((_, c)) = chip.iter().find(|(n, _)| *n == acc.classifier) {
            for row in c.iter().skip(lag) {
                for (k, &v) in row.iter().enumerate().take(classes) {
                    sum_c[k] += v as f64;
                }
            }
        }
        let (pf, pc) = (argmax(&sum_f), argmax(&sum_c));
        acc.float_correct += usize::from(pf as i64 == labels[s]);
        acc.chip_correct += usize::from(pc as i64 == labels[s]);
        acc.same_class += usize::from(pf == pc);
        if samples >= 20 && (s + 1) % (samples / 10) == 0 {
            eprintln!(
                "  {} of {samples} samples ({:.1} s)",
                s + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(acc)
}

/// One output's agreement.
pub struct Agreement {
    pub output: String,
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    pub correlation: Option<f64>,
    /// Share of steps where both versions have the same arg-max (for
    /// outputs of more than one element).
    pub argmax_steps: Option<f64>,
    /// Whether the arg-max of the output summed over time agrees.
    pub argmax_total: Option<bool>,
}

/// The earliest step at which each node can first see an input, counting
/// each projection's shortest delay and a state's one step (`None`: no
/// input reaches it).
fn first_arrival(g: &snn_ir::Graph) -> std::collections::HashMap<snn_ir::NodeId, u64> {
    use snn_ir::Op;
    let nodes = g.nodes();
    let mut at: std::collections::HashMap<snn_ir::NodeId, u64> = nodes
        .iter()
        .copied()
        .filter(|&n| matches!(g.op(n), Op::Input { .. }))
        .map(|n| (n, 0))
        .collect();
    // Relax until nothing improves: every cycle passes a state or a
    // delayed projection, so this ends within one pass per node.
    for _ in 0..=nodes.len() {
        let mut changed = false;
        for &n in &nodes {
            let step = match g.op(n) {
                Op::Project(p) => g.min_delay(p).unwrap_or(0) as u64,
                Op::State { .. } => 1,
                _ => 0,
            };
            let best = g
                .args(n)
                .iter()
                .filter_map(|a| at.get(a).map(|t| t + step))
                .min();
            if let Some(t) = best
                && at.get(&n).is_none_or(|&old| t < old)
            {
                at.insert(n, t);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    at
}

/// How many steps later each output of `compiled` (the graph after the
/// passes) answers than the same output of `original`: the delays the
/// passes added on its earliest path. TrueNorth spends at least one tick
/// per hop, so a same-step projection becomes a one-step one (W0472) and
/// each layer adds a step; the other chips keep the model's steps.
pub fn output_lags(
    original: &snn_ir::Graph,
    compiled: &snn_ir::Graph,
) -> std::collections::HashMap<String, usize> {
    let name_of = |g: &snn_ir::Graph, n: snn_ir::NodeId| match g.op(n) {
        snn_ir::Op::Output { name } => Some(name.clone()),
        _ => None,
    };
    let (a, b) = (first_arrival(original), first_arrival(compiled));
    let before: std::collections::HashMap<String, u64> = original
        .outputs()
        .into_iter()
        .filter_map(|n| Some((name_of(original, n)?, *a.get(&n)?)))
        .collect();
    compiled
        .outputs()
        .into_iter()
        .filter_map(|n| {
            let name = name_of(compiled, n)?;
            let lag = b.get(&n)?.checked_sub(*before.get(&name)?)?;
            Some((name, lag as usize))
        })
        .collect()
}

pub fn agreement(name: &str, chip: &[Vec<f32>], float: &ndarray::Array2<f32>) -> Agreement {
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut same = 0usize;
    let steps = float.nrows().min(chip.len());
    let m = float.ncols();
    let argmax = |v: &[f64]| {
        v.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
    };
    let mut sum_c = vec![0f64; m];
    let mut sum_f = vec![0f64; m];
    for (t, row) in chip.iter().enumerate().take(steps) {
        let f: Vec<f64> = float.row(t).iter().map(|&v| v as f64).collect();
        let c: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        same += usize::from(argmax(&f) == argmax(&c));
        for k in 0..m.min(c.len()) {
            sum_f[k] += f[k];
            sum_c[k] += c[k];
        }
        x.extend(f);
        y.extend(c);
    }
    let n = x.len().max(1) as f64;
    Agreement {
        output: name.into(),
        max_abs_error: x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max),
        mean_abs_error: x.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum::<f64>() / n,
        correlation: super::compile::correlation(&x, &y),
        argmax_steps: (m > 1).then(|| same as f64 / steps.max(1) as f64),
        argmax_total: (m > 1).then(|| argmax(&sum_f) == argmax(&sum_c)),
    }
}

pub fn compare(args: CompareArgs) -> Outcome {
    let (g, mut report) = driver::load(&args.file)?;
    let Some(target) = args.passes.target()? else {
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
    let outcome = match passes::run(g, target, &args.passes, &mut report, &mut |_| {}) {
        Ok(o) => o,
        Err(passes::Stopped) => return Err(report),
    };
    let chips = super::compile::chips_arg(spec, &args.chips)?;
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
    let config = match super::compile::emit(&args.file, &outcome.graph, &placement, target.name) {
        Ok(c) => c,
        Err(d) => {
            passes::extend(&mut report, &[*d]);
            return Err(report);
        }
    };
    if let Some(dataset) = &args.dataset {
        let lags = output_lags(&original, &outcome.graph);
        let a = accuracy(
            &original,
            &config,
            dataset,
            args.classifier.as_deref(),
            &lags,
        )?;
        let pct = |k: usize| format!("{:.1}%", 100.0 * k as f64 / a.samples.max(1) as f64);
        let mut table = snn_passes::Table::new(
            format!(
                "{} on {} against the float reference: {} samples of {}, classified by `{}`",
                args.file.display(),
                target.name,
                a.samples,
                dataset.display(),
                a.classifier
            ),
            &["", "value"],
        );
        table.row(vec!["float accuracy".into(), pct(a.float_correct)]);
        table.row(vec!["chip accuracy".into(), pct(a.chip_correct)]);
        table.row(vec!["same class on both".into(), pct(a.same_class)]);
        print!("{}", table.render());
        return Ok(report);
    }
    let path = args
        .input
        .clone()
        .unwrap_or_else(|| args.file.with_file_name("input.npy"));
    let inputs = super::sim::read_inputs(&original, &path)?;
    let steps = inputs.rows();
    let float = snn_runtime::reference::simulate(&original, &inputs, steps)
        .map_err(|e| Report::error("E0300", e.to_string()))?;
    let rows = read_input(&config, &path)?;
    let lags = output_lags(&original, &outcome.graph);
    let mut engine = Engine::new(config);
    let t = Instant::now();
    // Run past the input by the largest lag, so every output has all of
    // its steps.
    let longest = lags.values().copied().max().unwrap_or(0);
    let chip = execute(&mut engine, &rows, steps + longest);
    let seconds = t.elapsed().as_secs_f64();
    let mut table = snn_passes::Table::new(
        format!(
            "{} on {} against the float reference ({steps} steps)",
            args.file.display(),
            target.name
        ),
        &[
            "output",
            "lag (steps)",
            "max |error|",
            "mean |error|",
            "correlation",
            "arg-max agreement (steps)",
            "arg-max of the sum",
        ],
    );
    for (name, rows) in &chip {
        let Some(f) = float.get(name) else { continue };
        // The chip's step t + lag is the model's step t.
        let lag = lags.get(name).copied().unwrap_or(0);
        let a = agreement(name, &rows[lag.min(rows.len())..], f);
        table.row(vec![
            a.output,
            lag.to_string(),
            format!("{:.4e}", a.max_abs_error),
            format!("{:.4e}", a.mean_abs_error),
            a.correlation.map_or("-".into(), |c| format!("{c:.4}")),
            a.argmax_steps
                .map_or("-".into(), |s| format!("{:.1}%", 100.0 * s)),
            a.argmax_total.map_or(
                "-".into(),
                |b| if b { "same".into() } else { "differs".into() },
            ),
        ]);
    }
    print!("{}", table.render());
    print!("{}", stats_text(&engine, seconds));
    Ok(report)
}
