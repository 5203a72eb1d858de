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
use snn_runtime::reference::Inputs;

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
    /// named .npz); default: `input.npy` next to the model, else 50 steps
    /// of seeded uniform noise in [0, 1). The chip configuration runs on the
    /// built-in runtime for exactly the input's rows (see `--steps`),
    /// compared with the float reference: the same figures as `compare`.
    #[arg(long, value_name = "X.npy")]
    pub input: Option<PathBuf>,
    /// Steps of the deviation run: more than the input's rows feed zeros
    /// after them, fewer cut them (the report says which).
    #[arg(long, value_name = "T")]
    pub steps: Option<usize>,
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
    /// Also write the network as lava-dl netx HDF5 (Loihi 2; docs/formats.md).
    #[arg(long, value_name = "OUT.net")]
    pub netx: Option<PathBuf>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    backend: &'a str,
    passes: &'a [PassReport],
    placement: &'a Placement,
    /// What the input was and how many steps ran.
    deviation_input: &'a str,
    deviation: &'a [super::fidelity::Agreement],
    /// Per population (and input): values that wrapped or saturated on the
    /// chip during the deviation run.
    overflow: std::collections::BTreeMap<String, (u64, u64)>,
}

pub fn run(mut args: Args) -> Outcome {
    args.passes.sample = passes::sample_input(&args.file, args.input.as_deref());
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
        (Some((x, _)), true) => rates(&outcome.graph, x)?,
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
    let config = if args.out.is_some() || wants_report {
        match emit(&args.file, &outcome.graph, &placement, target.name) {
            Ok(c) => Some(c),
            Err(d) => {
                passes::extend(&mut report, &[*d]);
                return Err(report);
            }
        }
    } else {
        None
    };
    if let (Some(dir), Some(config)) = (&args.out, &config) {
        config
            .write(dir)
            .map_err(|e| Report::error("E0202", e.to_string()))?;
    }
    // The deviation: the configuration on the runtime against the float
    // model, exactly as `compare` measures it.
    let deviation = match (&inputs, &config, wants_report) {
        (Some((x, what)), Some(config), true) => {
            let steps = args.steps.unwrap_or(x.rows());
            let c =
                super::fidelity::compare_runs(&original, &outcome.graph, config.clone(), x, steps)?;
            let overflow = c.engine.overflow();
            report
                .diags
                .extend(super::fidelity::overflow_warnings(&overflow));
            Some((
                c,
                super::compare::steps_note(what, x.rows(), steps),
                overflow,
            ))
        }
        _ => None,
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
        let mut text = render(&outcome.reports);
        if let Some((c, note, overflow)) = &deviation {
            text.push('\n');
            text.push_str(
                &super::fidelity::table(
                    c,
                    format!("deviation from the float model (the chip on the runtime, {note})"),
                )
                .render(),
            );
            if let Some(t) = super::fidelity::overflow_table(overflow) {
                text.push('\n');
                text.push_str(&t.render());
            }
        }
        text.push_str(&render_placement(&outcome.graph, &placement));
        super::print_out(&text);
    }
    if let Some(path) = &args.report_json {
        let (outputs, note, overflow) = match &deviation {
            Some((c, note, o)) => (c.outputs.as_slice(), note.as_str(), o.as_slice()),
            None => (&[][..], "", &[][..]),
        };
        let json = JsonReport {
            file: args.file.display().to_string(),
            backend: target.name,
            passes: &outcome.reports,
            placement: &placement,
            deviation_input: note,
            deviation: outputs,
            overflow: overflow
                .iter()
                .map(|(n, o)| (n.clone(), (o.wrapped, o.saturated)))
                .collect(),
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
    // The configuration lists the routes of every input column.
    for inp in g.inputs() {
        if let snn_ir::Op::Input { name, size } = g.op(inp) {
            let column = std::mem::size_of::<Vec<(u32, u32)>>() as u64;
            snn_ir::budget::check_elements(u128::from(*size), column, || {
                format!("the routes of the {size} columns of input `{name}`")
            })
            .map_err(|e| {
                Box::new(
                    snn_passes::PassDiag::error("E0206", e.to_string()).at(g.span(inp), "here"),
                )
            })?;
        }
    }
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

/// The input of the deviation run and what it is, for the report.
fn inputs_for(g: &Graph, args: &Args) -> Result<(Inputs, String), Report> {
    let beside = args.file.with_file_name("input.npy");
    let path = args
        .input
        .clone()
        .or_else(|| beside.exists().then_some(beside));
    if let Some(p) = path {
        return Ok((super::sim::read_inputs(g, &p)?, p.display().to_string()));
    }
    let what = "seeded uniform noise in [0, 1)".to_string();
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
        return Ok((Inputs::new(), "no input".into()));
    }
    let x = Inputs::split(g, m.view()).map_err(|e| Report::error("E0300", e.to_string()))?;
    Ok((x, what))
}

pub use super::fidelity::correlation;

/// The human-readable report of the passes.
pub fn render(reports: &[PassReport]) -> String {
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
    out
}
