//! `snnc bench`: generate a large random network from seeded initializers and
//! measure parse + lower time, the pass pipeline, placement (cores against
//! the lower bound, traffic against in-order packing), peak memory, and
//! reference throughput; with `--runtime`, the chip runtimes instead
//! (`bench_runtime.rs`).

use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use snn_runtime::reference::{Inputs, Simulator};

use super::Outcome;
use crate::driver::{self, Report};

#[derive(clap::Args)]
pub struct Args {
    /// Neurons in the recurrent population.
    #[arg(long, default_value_t = 1_000_000)]
    pub neurons: u64,
    /// Recurrent synapses (the density is synapses / neurons²).
    #[arg(long, default_value_t = 100_000_000)]
    pub synapses: u64,
    /// Reference simulation steps to time.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Keep the generated `.snn` file (with `--runtime`: every network's
    /// files) here instead of a temporary directory.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Time this backend's pass pipeline (fold, legalize, quantize, delays);
    /// default `loihi`. With `--runtime`: run only this backend (default:
    /// every backend).
    #[arg(long)]
    pub backend: Option<String>,
    /// Chips of the system placed on (a number or a board name).
    #[arg(long, default_value = "pohoiki-springs")]
    pub chips: String,
    /// Seconds the placement solver may take.
    #[arg(long, default_value_t = 30.0)]
    pub place_time: f64,
    /// Instead, time the chip runtime (one thread) of every backend and the
    /// float reference on six networks: the Brette et al. CUBA network as
    /// a benchmark and as a user writes it (weights from dense `.npz`
    /// blocks), a low-rate and a high-rate network, 64 blocks of 256
    /// neurons that TrueNorth's crossbars hold, and 100k neurons / 10M
    /// synapses; prints synaptic events/s and neuron updates/s.
    #[arg(long)]
    pub runtime: bool,
    /// Steps the runtime benchmarks run.
    #[arg(long, default_value_t = 1000)]
    pub runtime_steps: usize,
    /// With `--runtime`: threads the chip runtime shares each step's
    /// neuron updates and synaptic events among (the outputs do not
    /// change).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,
}

/// The benchmark network: 1,000 inputs with a sparse fan-in, a recurrent LIF
/// population, and a 10-unit leaky readout.
pub fn source(neurons: u64, synapses: u64) -> String {
    let density = synapses as f64 / (neurons as f64 * neurons as f64);
    let fan_in = (density * neurons as f64).max(1.0);
    // Recurrent weights scaled so the population stays sparsely active.
    let std = 0.5 / fan_in.sqrt();
    format!(
        "// Synthetic benchmark network (snnc bench).\n\
         timestep 1ms;\n\
         input x[1000];\n\
         const W_in: [{neurons}, 1000] = sparse(density=0.01, values=normal(mean=0.1, std=0.3), seed=1);\n\
         const W: [{neurons}, {neurons}] = sparse(density={density:e}, values=normal(mean=0, std={std:e}), seed=2);\n\
         const W_out: [10, {neurons}] = sparse(density=0.001, values=normal(std=0.1), seed=3);\n\
         population p: lif[{neurons}] {{ tau_syn = 5ms; tau_mem = 20ms; threshold = 1.0; }}\n\
         population r: li[10] {{ tau_mem = 20ms; }}\n\
         x -> p {{ weight = W_in; }}\n\
         p -> p {{ weight = W; }}\n\
         p -> r {{ weight = W_out; }}\n\
         output y = r;\n"
    )
}

/// Peak resident memory of this process so far (`VmHWM`), in bytes.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Places the compiled benchmark network and prints cores against the
/// lower bound and traffic against in-order packing.
fn place(g: &snn_ir::Graph, backend: &str, args: &Args) -> Result<(), Report> {
    let spec = snn_backends::chip(backend)
        .ok_or_else(|| Report::error("E0203", format!("no chip `{backend}`")))?;
    let chips = super::compile::chips_arg(spec, &args.chips)?;
    let options = snn_passes::place::PlaceOptions {
        chips,
        time_limit: std::time::Duration::from_secs_f64(args.place_time),
        ..Default::default()
    };
    let t = Instant::now();
    match snn_passes::place::place(g, spec, &options) {
        Ok(p) => {
            let cores = p.cores.len() as f64;
            let st = &p.seconds;
            println!(
                "place stages: partition {:.2} s, greedy {:.2} s, ilp {:.2} s, traffic {:.2} s, check {:.2} s",
                st.partition, st.greedy, st.ilp, st.traffic, st.check
            );
            println!(
                "place on {} chips: {:.2} s; {} cores on {} chips, lower bound {} ({:.4}x); \
                 inter-core traffic {:.0} vs {:.0} in order ({:.1}% less), inter-chip {:.0}; peak memory {}",
                chips,
                t.elapsed().as_secs_f64(),
                p.cores.len(),
                p.chips_used,
                p.lower_bound_cores,
                cores / f64::from(p.lower_bound_cores.max(1)),
                p.traffic.inter_core,
                p.sequential_traffic.inter_core,
                100.0 * (1.0 - p.traffic.inter_core / p.sequential_traffic.inter_core.max(1e-9)),
                p.traffic.inter_chip,
                gib(peak_rss())
            );
        }
        Err(d) => {
            let msgs: Vec<String> = d.iter().map(|d| d.message.clone()).collect();
            println!(
                "place: failed after {:.2} s: {}",
                t.elapsed().as_secs_f64(),
                msgs.join("; ")
            );
        }
    }
    Ok(())
}

fn gib(b: Option<u64>) -> String {
    b.map_or("unknown".into(), |b| {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    })
}

pub fn run(args: Args) -> Outcome {
    if args.runtime {
        let backends: Vec<&str> = match &args.backend {
            Some(b) if snn_backends::NAMES.contains(&b.as_str()) => vec![b.as_str()],
            Some(b) => {
                return Err(Report::error(
                    "E0203",
                    format!(
                        "unknown backend `{b}`; the backends are {}",
                        snn_backends::NAMES.join(", ")
                    ),
                ));
            }
            None => snn_backends::NAMES.to_vec(),
        };
        return super::bench_runtime::run(
            &backends,
            args.runtime_steps,
            args.threads as usize,
            args.keep.as_ref(),
        );
    }
    let backend = args.backend.clone().unwrap_or_else(|| "loihi".into());
    if args.neurons == 0 || args.synapses > args.neurons * args.neurons {
        return Err(Report::error(
            "E0300",
            "need neurons >= 1 and synapses <= neurons²",
        ));
    }
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("snnc-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Report::error("E0202", format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("bench.snn");
    std::fs::write(&path, source(args.neurons, args.synapses))
        .map_err(|e| Report::error("E0202", format!("cannot write {}: {e}", path.display())))?;
    eprintln!("generating and lowering {} ...", path.display());

    let t0 = Instant::now();
    let loaded = driver::load(&path);
    let lower_s = t0.elapsed().as_secs_f64();
    let lower_peak = peak_rss();
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (g, warnings) = loaded?;
    let synapses: u64 = g
        .nodes()
        .into_iter()
        .filter_map(|n| match g.op(n) {
            snn_ir::Op::Project(p) => Some(g.tensor(p.weights).stored()),
            _ => None,
        })
        .sum();
    println!("network: {}", super::check::summary(&g));
    println!(
        "parse + lower: {lower_s:.2} s, peak memory {}",
        gib(lower_peak)
    );

    let target = snn_backends::target(&backend).ok_or_else(|| {
        Report::error(
            "E0203",
            format!(
                "unknown backend `{}`; the backends are {}",
                backend,
                snn_backends::NAMES.join(", ")
            ),
        )
    })?;
    let tp = Instant::now();
    let passes = snn_passes::pipeline(target);
    let compiled = snn_passes::run(
        g.clone(),
        &passes,
        target,
        &snn_passes::Options::default(),
        &mut |_| {},
    );
    let passes_s = tp.elapsed().as_secs_f64();
    match compiled {
        Ok(o) => {
            let per: Vec<String> = o
                .reports
                .iter()
                .map(|r| format!("{} {:.2} s", r.pass, r.time.as_secs_f64()))
                .collect();
            println!(
                "passes for {}: {passes_s:.2} s ({}); peak memory {}",
                target.name,
                per.join(", "),
                gib(peak_rss())
            );
            place(&o.graph, &backend, &args)?;
        }
        Err(d) => {
            let msgs: Vec<String> = d.iter().map(|d| d.message.clone()).collect();
            println!(
                "passes for {}: failed after {passes_s:.2} s: {}",
                target.name,
                msgs.join("; ")
            );
        }
    }

    let t1 = Instant::now();
    let mut sim = Simulator::new(&g).map_err(|e| Report::error("E0300", e.to_string()))?;
    let setup_s = t1.elapsed().as_secs_f64();
    // Poisson-like input: each of the 1,000 inputs is 1 with probability 0.05.
    let init = snn_ir::tensor::Init::Sparse {
        density: 0.05,
        dist: snn_ir::tensor::Dist::Constant(1.0),
        seed: 9,
    };
    let pattern = init
        .generate(&[args.steps as u32, 1000])
        .ok()
        .and_then(|d| d.pattern)
        .ok_or_else(|| Report::error("E0900", "input generation failed"))?;
    let mut x = Array2::<f32>::zeros((args.steps, 1000));
    for r in 0..args.steps {
        for k in pattern.row(r) {
            x[[r, pattern.col_idx[k] as usize]] = 1.0;
        }
    }
    let inputs = Inputs::split(&g, x.view()).map_err(|e| Report::error("E0300", e.to_string()))?;
    let pop = g.populations()[0];
    let t2 = Instant::now();
    sim.run(&inputs, args.steps)
        .map_err(|e| Report::error("E0300", e.to_string()))?;
    let sim_s = t2.elapsed().as_secs_f64();
    let active = sim
        .value(pop)
        .map_or(0, |v| v.iter().filter(|&&s| s != 0.0).count());
    let macs = synapses as f64 * args.steps as f64;
    println!(
        "reference: setup {setup_s:.2} s; {} steps in {sim_s:.2} s ({:.1} ms/step); {:.2} G multiply-adds/s \
         (synapses x steps / time; {:.2}% of neurons spiking at the last step); peak memory {}",
        args.steps,
        1e3 * sim_s / args.steps as f64,
        macs / sim_s / 1e9,
        100.0 * active as f64 / args.neurons as f64,
        gib(peak_rss())
    );
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_bench_rejects_an_unknown_backend_before_it_writes_anything() {
        let keep = std::env::temp_dir().join(format!("snnc-bench-none-{}", std::process::id()));
        let args = Args {
            neurons: 1,
            synapses: 0,
            steps: 1,
            keep: Some(keep.clone()),
            backend: Some("spinnaker".into()),
            chips: "1".into(),
            place_time: 1.0,
            runtime: true,
            runtime_steps: 1,
            threads: 1,
        };
        let err = run(args).expect_err("an unknown backend is an error");
        assert_eq!(err.diags.len(), 1);
        assert_eq!(err.diags[0].code, "E0203");
        assert_eq!(
            err.diags[0].message,
            "unknown backend `spinnaker`; the backends are loihi, loihi2, seneca, truenorth"
        );
        assert!(!keep.exists());
    }
}
