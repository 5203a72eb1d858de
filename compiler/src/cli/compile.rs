//! `snnc compile FILE --backend B`: run the backend's pipeline, place the
//! result on the chip's cores, and report what it did: per-pass statistics,
//! quantization error, delay memory, placement (cores, chips, utilisation,
//! traffic, solver status), and how far the compiled network's outputs are
//! from the float model's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ndarray::Array2;
use serde::Serialize;
use snn_ir::Graph;
use snn_ir::chip::ChipSpec;
use snn_passes::PassReport;
use snn_passes::place::{self, PlaceOptions, Placement};
use snn_runtime::reference::{Inputs, simulate};

use super::passes::{self, PassArgs};
use super::{Outcome, write_atomic};
use crate::driver::{self, Report};

#[derive(clap::Args)]
pub struct Args {
    /// The model: a `.snn` file or an `.ir` dump.
    pub file: PathBuf,
    #[command(flatten)]
    pub passes: PassArgs,
    /// Print what every pass did and the deviation from the float model.
    #[arg(long)]
    pub report: bool,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,
    /// Input for measuring the deviation from float (`[T, N]` .npy or
    /// named .npz); default: `input.npy` next to the model, else a seeded
    /// random input of 50 steps.
    #[arg(long, value_name = "X.npy")]
    pub input: Option<PathBuf>,
    /// The system to place on: a number of chips, or a named board
    /// (e.g. `nahuku-32` for Loihi, `ns16e` for TrueNorth).
    #[arg(long, value_name = "N|BOARD", default_value = "1")]
    pub chips: String,
    /// Seconds the placement solver may take, split between packing cores
    /// and assigning cores to chips; the greedy placement is kept when the
    /// solver has not improved on it by then.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub place_time: f64,
    /// Write the chip configuration to this directory (replaced as a whole,
    /// atomically; see docs/formats.md); run it with `snnc run DIR`.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The deviation of one output from the float model.
#[derive(Serialize)]
pub struct Deviation {
    pub output: String,
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    /// Largest magnitude of the float output, for scale.
    pub float_max_abs: f64,
    pub correlation: Option<f64>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    backend: &'a str,
    passes: &'a [PassReport],
    placement: &'a Placement,
    deviation: &'a [Deviation],
}

pub fn run(args: Args) -> Outcome {
    let start = Instant::now();
    let (g, mut report) = driver::load(&args.file)?;
    let lower_time = start.elapsed();
    let Some(target) = args.passes.target()? else {
        return Err(Report::error(
            "E0203",
            format!(
                "say which chip: --backend {}",
                snn_backends::NAMES.join("|")
            ),
        ));
    };
    let spec = snn_backends::chip(target.name).ok_or_else(|| {
        Report::error(
            "E0900",
            format!("backend `{}` has no chip limits", target.name),
        )
    })?;
    let chips = chips_arg(spec, &args.chips)?;
    if !(args.place_time.is_finite() && args.place_time > 0.0) {
        return Err(Report::error(
            "E0205",
            format!(
                "--place-time must be a positive number of seconds, not {}",
                args.place_time
            ),
        ));
    }
    let original = g.clone();
    let outcome = match passes::run(g, target, &args.passes, &mut report, &mut |_| {}) {
        Ok(o) => o,
        Err(passes::Stopped) => return Err(report),
    };
    if args.passes.time_passes {
        eprint!("{}", passes::timing(&outcome.reports, lower_time));
    }
    let wants_report = args.report || args.report_json.is_some();
    // Expected spike rates from a reference run on the user's input; with
    // no input given, every neuron counts as firing every step.
    let user_input = args.input.is_some() || args.file.with_file_name("input.npy").exists();
    let inputs = if wants_report || user_input {
        Some(inputs_for(&original, &args)?)
    } else {
        None
    };
    let rates = match (&inputs, user_input) {
        (Some(x), true) => rates(&outcome.graph, x)?,
        _ => place::traffic::Rates::new(),
    };
    let options = PlaceOptions {
        chips,
        time_limit: Duration::from_secs_f64(args.place_time),
        rates,
        ..PlaceOptions::default()
    };
    let placement = match place::place(&outcome.graph, spec, &options) {
        Ok(p) => p,
        Err(diags) => {
            passes::extend(&mut report, &diags);
            return Err(report);
        }
    };
    if let Some(dir) = &args.out {
        let config = match emit(&args.file, &outcome.graph, &placement, target.name) {
            Ok(c) => c,
            Err(d) => {
                passes::extend(&mut report, &[*d]);
                return Err(report);
            }
        };
        config
            .write(dir)
            .map_err(|e| Report::error("E0202", e.to_string()))?;
    }
    let deviation = match (&inputs, wants_report) {
        (Some(x), true) => deviation(&original, &outcome.graph, x)?,
        _ => vec![],
    };
    println!(
        "{}: compiled for {target}: {}; {} core{} on {} chip{}",
        args.file.display(),
        super::check::summary(&outcome.graph),
        placement.cores.len(),
        if placement.cores.len() == 1 { "" } else { "s" },
        placement.chips_used,
        if placement.chips_used == 1 { "" } else { "s" },
    );
    if args.report {
        print!("{}", render(&outcome.reports, &deviation));
        print!("{}", render_placement(&outcome.graph, &placement));
    }
    if let Some(path) = &args.report_json {
        let json = JsonReport {
            file: args.file.display().to_string(),
            backend: target.name,
            passes: &outcome.reports,
            placement: &placement,
            deviation: &deviation,
        };
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| Report::error("E0900", e.to_string()))?;
        write_atomic(path, text.as_bytes())?;
    }
    Ok(report)
}

/// The configuration of the compiled, placed graph.
pub fn emit(
    file: &std::path::Path,
    g: &Graph,
    placement: &Placement,
    backend: &str,
) -> Result<snn_runtime::config::Config, Box<snn_passes::PassDiag>> {
    let source = std::fs::read(file).unwrap_or_default();
    let hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&source));
    let energy = snn_backends::energy(backend).ok_or_else(|| {
        Box::new(snn_passes::PassDiag::error(
            "E0203",
            format!("no backend `{backend}`"),
        ))
    })?;
    snn_backends::emit::emit(g, placement, backend, energy, &hash).map_err(|e| {
        Box::new(snn_passes::PassDiag::error("E0480", e.message).at(
            e.node.and_then(|n| g.span(n)),
            "cannot be written for the chip",
        ))
    })
}

/// `--chips`: a number, or the name of one of the chip's boards.
pub(crate) fn chips_arg(spec: &ChipSpec, arg: &str) -> Result<u32, Report> {
    if let Ok(n) = arg.parse::<u32>() {
        if n == 0 {
            return Err(Report::error("E0205", "--chips must be at least 1"));
        }
        return Ok(n);
    }
    match spec.boards.iter().find(|b| b.name == arg) {
        Some(b) => Ok(b.chips),
        None => {
            let boards: Vec<String> = spec
                .boards
                .iter()
                .map(|b| format!("{} ({} chips)", b.name, b.chips))
                .collect();
            Err(Report::error(
                "E0205",
                format!(
                    "--chips {arg}: not a number of chips nor a {} board; {}",
                    spec.name,
                    if boards.is_empty() {
                        "this chip has no named boards".to_string()
                    } else {
                        format!("the boards are {}", boards.join(", "))
                    }
                ),
            ))
        }
    }
}

/// Per-neuron activity of every population of the compiled graph in a
/// reference run on `inputs`: the expected spikes per step placement uses.
fn rates(g: &Graph, inputs: &Inputs) -> Result<place::traffic::Rates, Report> {
    let pops = g.populations();
    let mut sim = snn_runtime::reference::Simulator::new(g)
        .map_err(|e| Report::error("E0300", e.to_string()))?;
    let act = sim
        .activity(inputs, inputs.rows().max(1), &pops)
        .map_err(|e| Report::error("E0300", e.to_string()))?;
    Ok(pops.into_iter().zip(act).collect())
}

/// The placement part of `--report`.
pub fn render_placement(g: &Graph, p: &Placement) -> String {
    let mut out = format!("\n== place ({:.1} ms)\n", p.seconds.total() * 1e3);
    for t in p.tables() {
        out.push('\n');
        out.push_str(&t.render());
    }
    out.push('\n');
    out.push_str(&place::population_table(g, p).render());
    out
}

fn inputs_for(g: &Graph, args: &Args) -> Result<Inputs, Report> {
    let beside = args.file.with_file_name("input.npy");
    let path = args
        .input
        .clone()
        .or_else(|| beside.exists().then_some(beside));
    if let Some(p) = path {
        return super::sim::read_inputs(g, &p);
    }
    let width: u32 = g.inputs().iter().map(|&n| g.shape(n).len()).sum();
    let init = snn_ir::tensor::Init::Dense {
        dist: snn_ir::tensor::Dist::Uniform {
            low: 0.0,
            high: 1.0,
        },
        seed: 0,
    };
    let data = init
        .generate(&[50, width.max(1)])
        .map_err(|e| Report::error("E0900", e.to_string()))?;
    let v = data.values.as_f32().unwrap_or(&[]).to_vec();
    let m = Array2::from_shape_vec((50, width.max(1) as usize), v)
        .map_err(|e| Report::error("E0900", e.to_string()))?;
    if width == 0 {
        return Ok(Inputs::new());
    }
    Inputs::split(g, m.view()).map_err(|e| Report::error("E0300", e.to_string()))
}

/// Runs both graphs on the same input and compares every output.
pub fn deviation(
    float: &Graph,
    compiled: &Graph,
    inputs: &Inputs,
) -> Result<Vec<Deviation>, Report> {
    let steps = inputs.rows().max(50);
    let run =
        |g: &Graph| simulate(g, inputs, steps).map_err(|e| Report::error("E0300", e.to_string()));
    let (a, b) = (run(float)?, run(compiled)?);
    let mut out = Vec::new();
    for r in a.iter() {
        let Some(c) = b.get(&r.name) else { continue };
        let x: Vec<f64> = r.values.iter().map(|&v| v as f64).collect();
        let y: Vec<f64> = c.iter().map(|&v| v as f64).collect();
        let n = x.len().max(1) as f64;
        let max_abs_error = x
            .iter()
            .zip(&y)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        let mean_abs_error = x.iter().zip(&y).map(|(p, q)| (p - q).abs()).sum::<f64>() / n;
        out.push(Deviation {
            output: r.name.clone(),
            max_abs_error,
            mean_abs_error,
            float_max_abs: x.iter().map(|v| v.abs()).fold(0.0, f64::max),
            correlation: correlation(&x, &y),
        });
    }
    Ok(out)
}

/// Pearson correlation, or `None` if either side is constant.
pub fn correlation(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if n < 2.0 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The human-readable report.
pub fn render(reports: &[PassReport], deviation: &[Deviation]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "\n== {} ({:.1} ms)\n",
            r.pass,
            r.time.as_secs_f64() * 1e3
        ));
        for (name, v) in &r.counters {
            out.push_str(&format!("  {name}: {v}\n"));
        }
        for t in &r.tables {
            out.push('\n');
            out.push_str(&t.render());
        }
    }
    if !deviation.is_empty() {
        let mut t = snn_passes::Table::new(
            "deviation from the float model (reference interpreter, same input)",
            &[
                "output",
                "max |error|",
                "mean |error|",
                "max |float|",
                "correlation",
            ],
        );
        for d in deviation {
            t.row(vec![
                d.output.clone(),
                format!("{:.4e}", d.max_abs_error),
                format!("{:.4e}", d.mean_abs_error),
                format!("{:.4}", d.float_max_abs),
                d.correlation.map_or("-".into(), |c| format!("{c:.6}")),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}
