//! How faithful the chip is: the compiled configuration on the runtime and
//! the float model on the reference interpreter, run on the same input and
//! compared output by output. `compare` and `compile --report` both print
//! this, so the two always agree.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;
use snn_ir::{Graph, NodeId, Op};
use snn_runtime::config::Config;
use snn_runtime::engine::{Engine, Overflow};
use snn_runtime::reference::{Inputs, simulate};

use crate::diag::Diagnostic;
use crate::driver::Report;

/// One output's agreement.
#[derive(Clone, Debug, Serialize)]
pub struct Agreement {
    pub output: String,
    /// Steps the chip answers later than the float model (see
    /// [`output_lags`]).
    pub lag: usize,
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    /// Largest magnitude of the float output, for scale.
    pub float_max_abs: f64,
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
fn first_arrival(g: &Graph) -> HashMap<NodeId, u64> {
    let nodes = g.nodes();
    let mut at: HashMap<NodeId, u64> = nodes
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
/// each layer adds a step; the other chips keep the model's steps. A graph
/// of `K` ticks per step counts its delays in ticks: whole steps of them
/// are a lag.
pub fn output_lags(original: &Graph, compiled: &Graph) -> HashMap<String, usize> {
    let name_of = |g: &Graph, n: NodeId| match g.op(n) {
        Op::Output { name } => Some(name.clone()),
        _ => None,
    };
    let (a, b) = (first_arrival(original), first_arrival(compiled));
    let ticks = compiled.ticks_per_step.max(1) as u64;
    let before: HashMap<String, u64> = original
        .outputs()
        .into_iter()
        .filter_map(|n| Some((name_of(original, n)?, *a.get(&n)?)))
        .collect();
    compiled
        .outputs()
        .into_iter()
        .filter_map(|n| {
            let name = name_of(compiled, n)?;
            let lag = (b.get(&n)? / ticks).checked_sub(*before.get(&name)?)?;
            Some((name, lag as usize))
        })
        .collect()
}

/// The agreement of a chip output (its rows from the model's step 0, the
/// lag already taken off) with the float one.
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
        lag: 0,
        max_abs_error: x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max),
        mean_abs_error: x.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum::<f64>() / n,
        float_max_abs: x.iter().map(|v| v.abs()).fold(0.0, f64::max),
        correlation: correlation(&x, &y),
        argmax_steps: (m > 1).then(|| same as f64 / steps.max(1) as f64),
        argmax_total: (m > 1).then(|| argmax(&sum_f) == argmax(&sum_c)),
    }
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

/// Each configuration input's rows (`[steps][size]`) from reference
/// inputs, by name; an input without data, or past its last row, is zeros.
pub fn chip_rows(config: &Config, inputs: &Inputs) -> Vec<Vec<Vec<f32>>> {
    config
        .manifest
        .inputs
        .iter()
        .map(|i| match inputs.get(&i.name) {
            Some(a) => a.outer_iter().map(|r| r.to_vec()).collect(),
            None => Vec::new(),
        })
        .collect()
}

/// Runs `engine` for `steps` on `input` (rows per input, zeros past them).
pub fn execute(
    engine: &mut Engine,
    input: &[Vec<Vec<f32>>],
    steps: usize,
) -> Vec<(String, Vec<Vec<f32>>)> {
    let sizes = input_sizes(engine);
    engine.run(steps, &|t| rows_at(input, &sizes, t))
}

/// [`execute`] into one recording per output (see [`Engine::run_into`]).
pub fn execute_into(
    engine: &mut Engine,
    input: &[Vec<Vec<f32>>],
    steps: usize,
    out: &mut [snn_runtime::engine::Recording],
) {
    let sizes = input_sizes(engine);
    engine.run_into(steps, &|t| rows_at(input, &sizes, t), out);
}

fn input_sizes(engine: &Engine) -> Vec<usize> {
    engine
        .config()
        .manifest
        .inputs
        .iter()
        .map(|i| i.size as usize)
        .collect()
}

/// Each input's row at step `t` (zeros past its end).
fn rows_at(input: &[Vec<Vec<f32>>], sizes: &[usize], t: usize) -> Vec<Vec<f32>> {
    input
        .iter()
        .zip(sizes)
        .map(|(rows, &n)| rows.get(t).cloned().unwrap_or_else(|| vec![0.0; n]))
        .collect()
}

/// Both versions on one input.
pub struct Comparison {
    /// The model's steps compared.
    pub steps: usize,
    /// Per output.
    pub outputs: Vec<Agreement>,
    /// The engine after the run (statistics, overflow counts).
    pub engine: Engine,
    /// Seconds the chip run took.
    pub seconds: f64,
}

/// Runs the float model `original` and the chip (`config`, compiled from
/// `compiled`) on `inputs` for `steps` model steps (zeros past the input's
/// rows), the chip longer by each output's lag, and compares every output.
pub fn compare_runs(
    original: &Graph,
    compiled: &Graph,
    config: Config,
    inputs: &Inputs,
    steps: usize,
) -> Result<Comparison, Report> {
    let float = simulate(original, inputs, steps).map_err(super::sim::sim_error)?;
    let lags = output_lags(original, compiled);
    // Run past the input by the largest lag, so every output has all of
    // its steps.
    let longest = lags.values().copied().max().unwrap_or(0);
    snn_runtime::memory::check(&config, steps + longest).map_err(Report::budget)?;
    let rows = chip_rows(&config, inputs);
    let mut engine = Engine::new(config);
    let start = Instant::now();
    let chip = execute(&mut engine, &rows, steps + longest);
    let seconds = start.elapsed().as_secs_f64();
    let mut outputs = Vec::new();
    for (name, rows) in &chip {
        let Some(f) = float.get(name) else { continue };
        // The chip's step t + lag is the model's step t.
        let lag = lags.get(name).copied().unwrap_or(0);
        let mut a = agreement(name, &rows[lag.min(rows.len())..], f);
        a.lag = lag;
        outputs.push(a);
    }
    Ok(Comparison {
        steps,
        outputs,
        engine,
        seconds,
    })
}

/// The comparison as a table titled `title`.
pub fn table(c: &Comparison, title: String) -> snn_passes::Table {
    let mut t = snn_passes::Table::new(
        title,
        &[
            "output",
            "lag (steps)",
            "max |error|",
            "mean |error|",
            "max |float|",
            "correlation",
            "arg-max agreement (steps)",
            "arg-max of the sum",
        ],
    );
    for a in &c.outputs {
        t.row(vec![
            a.output.clone(),
            a.lag.to_string(),
            format!("{:.4e}", a.max_abs_error),
            format!("{:.4e}", a.mean_abs_error),
            format!("{:.4}", a.float_max_abs),
            a.correlation.map_or("-".into(), |c| format!("{c:.4}")),
            a.argmax_steps
                .map_or("-".into(), |s| format!("{:.1}%", 100.0 * s)),
            a.argmax_total.map_or(
                "-".into(),
                |b| if b { "same".into() } else { "differs".into() },
            ),
        ]);
    }
    t
}

/// The populations (and inputs) with values that did not fit, as a table;
/// `None` when everything fit.
pub fn overflow_table(overflow: &[(String, Overflow)]) -> Option<snn_passes::Table> {
    let bad: Vec<&(String, Overflow)> = overflow.iter().filter(|(_, o)| o.total() > 0).collect();
    if bad.is_empty() {
        return None;
    }
    let mut t = snn_passes::Table::new(
        "values that did not fit on the chip",
        &["population", "wrapped", "saturated"],
    );
    for (name, o) in bad {
        t.row(vec![
            name.clone(),
            o.wrapped.to_string(),
            o.saturated.to_string(),
        ]);
    }
    Some(t)
}

/// One line per population with its counts (`run --stats`): every value
/// fit, or what did not.
pub fn overflow_text(overflow: &[(String, Overflow)]) -> String {
    match overflow_table(overflow) {
        None => "overflow: none (every value fit its register)\n".into(),
        Some(t) => format!("\n{}", t.render()),
    }
}

/// W0510 for every population (or input) whose values did not fit.
pub fn overflow_warnings(overflow: &[(String, Overflow)]) -> Vec<Diagnostic> {
    overflow
        .iter()
        .filter(|(_, o)| o.total() > 0)
        .map(|(name, o)| {
            let what = if let Some(input) = name.strip_prefix("input ") {
                format!(
                    "input `{input}`: {} value{} its encoder could not carry (a rate code sends at most one spike a step and nothing below 0; a graded payload has 24 bits)",
                    o.saturated,
                    if o.saturated == 1 { "" } else { "s" }
                )
            } else {
                format!(
                    "`{name}`: {} value{} wrapped and {} saturated on the chip",
                    o.wrapped,
                    if o.wrapped == 1 { "" } else { "s" },
                    o.saturated
                )
            };
            Diagnostic::warning("W0510", what).help(
                "its range was too small for this input: compile with --calibrate DATA.npz on typical inputs (see the `value ranges` table of `compile --report`)",
            )
        })
        .collect()
}
