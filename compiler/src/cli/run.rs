//! `snnc run DIR`: execute a chip configuration on the built-in runtime, and
//! `snnc compare FILE --backend B`: compile, run the chip version and the
//! float reference on the same input, and say how far apart they are.

use std::path::{Path, PathBuf};
use std::time::Instant;

use snn_runtime::config::{Config, Readout};
use snn_runtime::engine::{Engine, Recording};

use super::Outcome;
pub use super::fidelity::{Agreement, agreement, execute, output_lags};
use crate::arrays::{self, Array};
use crate::driver::Report;

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
    /// Threads that share each step's neuron updates and synaptic events
    /// (default: every core). The outputs are the same bits whatever the
    /// count. Updates are shared only where no neuron has a synapse of
    /// delay 0 (then a step's spikes all go out after the last group).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
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

/// `n` zeros, in memory the system backs with 2 MiB pages where it can:
/// a long spike raster is touched all over, and one fault per 2 MiB
/// instead of per 4 KiB took writing the rasters of the user-style CUBA
/// network (2000 steps, 32 MB) from ~46 ms to ~26 ms (medians of 12).
fn zeroed(n: usize) -> Vec<f32> {
    let v = vec![0.0f32; n];
    #[cfg(target_os = "linux")]
    if n * 4 >= 4 << 20 {
        // Advice only: nothing changes if it is not taken.
        let (start, len) = (v.as_ptr() as usize, n * 4);
        let page = 4096;
        let aligned = start.next_multiple_of(page);
        // SAFETY: the range lies within `v`'s allocation (rounded inward
        // to pages), which lives on; madvise changes no contents.
        unsafe {
            libc::madvise(
                aligned as *mut libc::c_void,
                (start + len - aligned) / page * page,
                libc::MADV_HUGEPAGE,
            );
        }
    }
    v
}

fn write(outputs: Vec<(String, usize, Vec<f32>)>, steps: usize, path: &Path) -> Result<(), Report> {
    let arrays: Vec<(String, Array)> = outputs
        .into_iter()
        .map(|(name, width, values)| (name, Array::f32(vec![steps, width], values)))
        .collect();
    super::sim::write_arrays(&arrays, path)
}

/// The energy of the activity in `s` from the chip's per-operation figures.
pub fn energy_joules(s: &snn_runtime::engine::Stats, e: &snn_runtime::config::Energy) -> f64 {
    (s.synaptic_events as f64 * e.synaptic_op_pj
        + s.neuron_updates as f64 * e.neuron_update_pj
        + s.spikes as f64 * e.spike_pj)
        * 1e-12
}

/// The per-operation figures, in words: a chip whose published figure is a
/// total per synaptic event (TrueNorth's) charges nothing else, and says so.
fn energy_figures(e: &snn_runtime::config::Energy) -> String {
    let mut parts = vec![format!("{:.1} pJ per synaptic op", e.synaptic_op_pj)];
    let mut within = Vec::new();
    for (pj, what) in [(e.neuron_update_pj, "neuron update"), (e.spike_pj, "spike")] {
        if pj > 0.0 {
            parts.push(format!("{pj:.1} per {what}"));
        } else {
            within.push(format!("{what}s"));
        }
    }
    if !within.is_empty() {
        parts.push(format!("{} included in it", within.join(" and ")));
    }
    parts.join(", ")
}

/// The `--stats` text.
pub fn stats_text(engine: &Engine, seconds: f64) -> String {
    let s = &engine.stats;
    let e = engine.config().manifest.energy;
    let joules = energy_joules(s, &e);
    let per_core = engine.per_core();
    let busiest = per_core.iter().copied().max().unwrap_or(0);
    let active = per_core.iter().filter(|&&n| n > 0).count();
    let ticks = if s.ticks != s.steps {
        format!(" ({} ticks)", s.ticks)
    } else {
        String::new()
    };
    let mut out = format!(
        "steps {}{ticks}; spikes and messages sent {} (inputs {}); synaptic events {} (effective SynOps; dense SynOps {}, {:.1}% of them)\n",
        s.steps,
        s.spikes,
        s.input_events,
        s.synaptic_events,
        s.dense_synops,
        100.0 * s.synaptic_events as f64 / s.dense_synops.max(1) as f64
    );
    out.push_str(&format!(
        "cores {} ({} received events; busiest {} synaptic events); energy estimate {:.3} µJ ({}, from the {} figures)\n",
        per_core.len(),
        active,
        busiest,
        joules * 1e6,
        energy_figures(&e),
        engine.config().manifest.backend
    ));
    out.push_str(&format!(
        "model time {:.3} s at {} µs per step; simulated in {seconds:.4} s ({:.1} M synaptic events/s)\n",
        s.steps as f64 * engine.config().manifest.timestep_us * 1e-6,
        engine.config().manifest.timestep_us,
        s.synaptic_events as f64 / seconds.max(1e-9) / 1e6
    ));
    out
}

pub fn run(args: Args) -> Outcome {
    let config =
        Config::read(&args.dir).map_err(|e| bad("E0500", format!("invalid configuration: {e}")))?;
    if config.manifest.outputs.is_empty() {
        return Err(bad(
            "E0300",
            format!(
                "{}: the configuration has no outputs: there is nothing to run",
                args.dir.display()
            ),
        ));
    }
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
    snn_runtime::memory::check(&config, steps).map_err(Report::budget)?;
    let mut engine = Engine::new(config);
    engine.set_threads(args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    ));
    let outputs = &engine.config().manifest.outputs;
    let names: Vec<(String, usize)> = outputs
        .iter()
        .map(|o| (o.name.clone(), o.neurons.len()))
        .collect();
    // Value outputs fill a `[steps, width]` array as they run; spike
    // rasters keep the positions of their ones, laid out when written.
    let mut records: Vec<Recording> = outputs
        .iter()
        .map(|o| match o.read {
            Readout::Spikes => Recording::Spikes(Vec::new()),
            _ => Recording::Values(zeroed(steps * o.neurons.len())),
        })
        .collect();
    let t = Instant::now();
    super::fidelity::execute_into(&mut engine, &input, steps, &mut records);
    let seconds = t.elapsed().as_secs_f64();
    let outputs = records.len();
    let out = names
        .into_iter()
        .zip(records)
        .map(|((name, width), r)| {
            let v = match r {
                Recording::Values(v) => v,
                Recording::Spikes(ones) => {
                    let mut v = zeroed(steps * width);
                    for p in ones {
                        v[p as usize] = 1.0;
                    }
                    v
                }
            };
            (name, width, v)
        })
        .collect();
    write(out, steps, &args.output)?;
    eprintln!(
        "ran {steps} steps in {seconds:.4} s; wrote {} output{} to {}",
        outputs,
        if outputs == 1 { "" } else { "s" },
        args.output.display()
    );
    let overflow = engine.overflow();
    if args.stats {
        let mut text = stats_text(&engine, seconds);
        text.push_str(&super::fidelity::overflow_text(&overflow));
        super::print_out(&text);
    }
    let mut report = Report::default();
    report
        .diags
        .extend(super::fidelity::overflow_warnings(&overflow));
    Ok(report)
}
