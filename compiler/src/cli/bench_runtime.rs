//! `snnc bench --runtime`: time the chip runtime of every backend, and the
//! float reference, on the networks of `bench_networks.rs`, and print
//! synaptic events and neuron updates per second for each.
//!
//! Each network is written into a directory (a temporary one unless
//! `--keep DIR`), read back as a user's model would be, compiled for each
//! backend in memory (passes, placement, emit) and run for the same number
//! of steps. Only the steps are timed, on one thread (the runtime on
//! `--threads N` with that option; the reference always on one). A
//! backend that cannot run a network (TrueNorth has no leak factor) gets
//! its reason in the table instead of figures.
//!
//! The synapses column counts the float model's nonzero weights on the
//! reference's row and the configuration's synapses on a chip's, so a chip
//! whose quantization rounds small weights to zero (Loihi on the
//! 100k-neuron network, whose weights are normal) shows fewer.

use std::path::{Path, PathBuf};
use std::time::Instant;

use snn_ir::{Graph, NodeId, Op};
use snn_runtime::config::Config;
use snn_runtime::reference::Simulator;

use super::bench_networks::{Network, networks};
use crate::driver::{self, Report};

/// What one row of the table measured.
struct Figures {
    neurons: u64,
    synapses: u64,
    spikes: u64,
    synaptic_events: u64,
    neuron_updates: u64,
    seconds: f64,
}

/// Joins a pass or placement failure into one line.
fn joined(d: &[snn_passes::PassDiag]) -> String {
    d.iter()
        .filter(|d| d.severity == snn_passes::Severity::Error)
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Compiles `g` (read from `path`) for `backend` in memory: passes,
/// placement on up to 1024 chips, and the configuration the runtime runs.
/// Errors are the failing pass's or placement's messages.
pub fn configure(path: &Path, g: &Graph, backend: &str) -> Result<Config, String> {
    let target = snn_backends::target(backend).ok_or(format!("no backend `{backend}`"))?;
    let spec = snn_backends::chip(backend).ok_or(format!("no chip `{backend}`"))?;
    let compiled = snn_passes::run(
        g.clone(),
        &snn_passes::pipeline(target),
        target,
        &snn_passes::Options::default(),
        &mut |_| {},
    )
    .map_err(|d| joined(&d))?;
    let opts = snn_passes::place::PlaceOptions {
        chips: 1024,
        ..Default::default()
    };
    let placement =
        snn_passes::place::place(&compiled.graph, spec, &opts).map_err(|d| joined(&d))?;
    super::compile::emit(path, &compiled.graph, &placement, backend).map_err(|d| d.message)
}

/// Compiles `g` (read from `path`) for `backend` and runs it for `steps`.
fn chip(
    path: &Path,
    g: &Graph,
    backend: &str,
    steps: usize,
    threads: usize,
) -> Result<Figures, String> {
    let config = configure(path, g, backend)?;
    let synapses = config
        .cores
        .iter()
        .map(|(_, s)| s.target.len() as u64)
        .sum();
    let mut engine = snn_runtime::engine::Engine::new(config);
    engine.set_threads(threads);
    let t = Instant::now();
    for _ in 0..steps {
        engine.step(&[]);
    }
    let seconds = t.elapsed().as_secs_f64();
    let s = &engine.stats;
    Ok(Figures {
        neurons: s.neuron_updates / steps.max(1) as u64,
        synapses,
        spikes: s.spikes,
        synaptic_events: s.synaptic_events,
        neuron_updates: s.neuron_updates,
        seconds,
    })
}

/// The synapses (nonzero weights) leaving each neuron of population `pop`.
fn fan_out(g: &Graph, pop: NodeId, size: usize) -> Vec<u64> {
    let mut out = vec![0u64; size];
    for n in g.nodes() {
        let Op::Project(p) = g.op(n) else { continue };
        if g.arg(n, 0) != Some(pop) {
            continue;
        }
        let w = g.tensor(p.weights);
        let (Some(v), &[rows, cols]) = (w.f32s(), w.shape()) else {
            continue;
        };
        if cols as usize != size {
            continue;
        }
        match w.pattern() {
            Some(pat) => {
                for (k, &c) in pat.col_idx.iter().enumerate() {
                    out[c as usize] += u64::from(v[k] != 0.0);
                }
            }
            None => {
                for r in 0..rows as usize {
                    let row = &v[r * size..(r + 1) * size];
                    for (o, &x) in out.iter_mut().zip(row) {
                        *o += u64::from(x != 0.0);
                    }
                }
            }
        }
    }
    out
}

/// Runs the float reference on `g` for `steps` on one thread, as the
/// runtime runs, counting each spike's synapses as the runtime counts its
/// synaptic events.
fn reference(g: &Graph, steps: usize) -> Result<Figures, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| format!("cannot start a thread: {e}"))?
        .install(|| reference_steps(g, steps))
}

/// [`reference`] on the current thread pool.
fn reference_steps(g: &Graph, steps: usize) -> Result<Figures, String> {
    let mut sim = Simulator::new(g).map_err(|e| e.to_string())?;
    let width = sim.input_width();
    let row = vec![0.0f32; width];
    let pops: Vec<(NodeId, Vec<u64>)> = g
        .populations()
        .into_iter()
        .filter_map(|p| match g.op(p) {
            Op::Population(pop) => Some((p, fan_out(g, p, pop.size as usize))),
            _ => None,
        })
        .collect();
    let neurons: u64 = pops.iter().map(|(_, f)| f.len() as u64).sum();
    let synapses = g
        .nodes()
        .into_iter()
        .filter_map(|n| match g.op(n) {
            Op::Project(p) => Some(g.tensor(p.weights).nonzeros()),
            _ => None,
        })
        .sum();
    let (mut spikes, mut events) = (0u64, 0u64);
    let mut seconds = 0.0;
    for _ in 0..steps {
        // Only the step is timed, not the counting below.
        let t = Instant::now();
        sim.step(&row).map_err(|e| e.to_string())?;
        seconds += t.elapsed().as_secs_f64();
        for (p, fan) in &pops {
            let Some(s) = sim.value(*p) else { continue };
            for (&x, &f) in s.iter().zip(fan) {
                if x != 0.0 {
                    spikes += 1;
                    events += f;
                }
            }
        }
    }
    Ok(Figures {
        neurons,
        synapses,
        spikes,
        synaptic_events: events,
        neuron_updates: neurons * steps as u64,
        seconds,
    })
}

/// One line of the table.
fn row(network: &str, backend: &str, dt_s: f64, f: &Result<Figures, String>) -> String {
    match f {
        Ok(f) => {
            let hz = f.spikes as f64 / (f.neuron_updates.max(1) as f64 * dt_s);
            let per_s = |n: u64| n as f64 / f.seconds.max(1e-9) / 1e6;
            format!(
                "{network:<15} {backend:<10} {:>8} {:>10} {:>8.1} {:>9.3} {:>12} {:>10.1} {:>10.1}",
                f.neurons,
                f.synapses,
                hz,
                f.seconds,
                f.synaptic_events,
                per_s(f.synaptic_events),
                per_s(f.neuron_updates),
            )
        }
        Err(why) => format!("{network:<15} {backend:<10} cannot run it: {why}"),
    }
}

/// Writes, loads and times one network on the reference and every backend.
fn network(
    net: &Network,
    dir: &Path,
    backends: &[&str],
    steps: usize,
    threads: usize,
) -> Result<Vec<String>, Report> {
    let path = net.write(dir)?;
    let (g, _) = driver::load(&path)?;
    let dt_s = g.timestep.as_secs_f64();
    let mut lines = vec![row(net.name, "reference", dt_s, &reference(&g, steps))];
    for b in backends {
        let figures = chip(&path, &g, b, steps, threads);
        lines.push(row(net.name, b, dt_s, &figures));
    }
    Ok(lines)
}

/// The table's header.
pub fn header(steps: usize, threads: usize) -> String {
    let on = if threads == 1 {
        "one thread".to_string()
    } else {
        format!("the runtime on {threads} threads, the reference on one")
    };
    format!(
        "{steps} steps each, {on}; events and updates in millions per second\n\
         {:<15} {:<10} {:>8} {:>10} {:>8} {:>9} {:>12} {:>10} {:>10}",
        "network",
        "backend",
        "neurons",
        "synapses",
        "rate Hz",
        "seconds",
        "syn. events",
        "events/s",
        "updates/s"
    )
}

/// Runs the runtime bench: every network on the reference and on
/// `backends`, for `steps` steps; the networks' files go to `keep` (kept)
/// or to a temporary directory (removed).
pub fn run(
    backends: &[&str],
    steps: usize,
    threads: usize,
    keep: Option<&PathBuf>,
) -> Result<Report, Report> {
    let dir = match keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("snnc-bench-rt-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Report::error("E0202", format!("cannot create {}: {e}", dir.display())))?;
    let nets = networks();
    let mut text = String::from("networks:\n");
    for n in &nets {
        text.push_str(&format!("  {:<15} {}\n", n.name, n.about));
    }
    text.push_str(&header(steps, threads));
    text.push('\n');
    super::print_out(&text);
    let mut result = Ok(Report::default());
    for n in &nets {
        match network(n, &dir, backends, steps, threads) {
            Ok(lines) => super::print_out(&(lines.join("\n") + "\n")),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
