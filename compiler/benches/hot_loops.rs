//! Criterion benches of the hot loops, one step at a time: the chip
//! runtime's spike delivery and neuron updates (per backend), and the float
//! reference's neuron updates and projection kernels (dense, gather, and
//! scatter by column and by row).
//!
//! `cargo bench -p snnc --bench hot_loops [-- FILTER]`. Networks are
//! written as `.snn` files into a temporary directory and compiled in
//! memory, as `snnc bench --runtime` does.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use snn_ir::Graph;
use snn_runtime::engine::Engine;
use snn_runtime::reference::Simulator;
use snnc::cli::bench_networks::cuba_source;
use snnc::cli::bench_runtime::configure;

/// Writes `source` as `<name>.snn` in a temporary directory and loads it.
fn network(name: &str, source: &str) -> (PathBuf, Graph) {
    let dir = std::env::temp_dir().join(format!("snnc-hot-loops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join(format!("{name}.snn"));
    std::fs::write(&path, source).expect("the network file");
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    (path, g)
}

/// 4000 LIF neurons below threshold with no synapses: only neuron updates.
const SILENT: &str = "timestep 1ms;\n\
    population p: lif[4000] { tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; bias = 0.01; refractory = 4; }\n\
    output s = p;\n";

/// The same driven above threshold, with one-to-one synapses onto a second
/// population, so that every neuron fires about every 25 steps.
const FIRING: &str = "timestep 1ms;\n\
    population p: lif[4000] { tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; bias = 0.08; refractory = 4; }\n\
    population q: lif[4000] { tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; }\n\
    p -> q { weight = 0.1; }\n\
    output s = q;\n";

fn runtime(c: &mut Criterion) {
    let cases = [("cuba", cuba_source()), ("silent-lif", SILENT.to_string())];
    for (name, source) in &cases {
        let (path, g) = network(name, source);
        for backend in ["loihi", "loihi2", "seneca"] {
            let config = configure(&path, &g, backend).expect("the network compiles");
            let mut engine = Engine::new(config);
            // Past the start, into the network's steady activity.
            for _ in 0..200 {
                engine.step(&[]);
            }
            c.bench_function(&format!("runtime/{backend}/{name}/step"), |b| {
                b.iter(|| engine.step(black_box(&[])))
            });
        }
    }
}

/// Steps a reference simulator with `width` inputs fed by `row(t)`.
fn bench_reference(c: &mut Criterion, name: &str, source: &str, row: fn(usize, &mut [f32])) {
    let (_, g) = network(name, source);
    let mut sim = Simulator::new(&g).expect("the reference builds");
    let mut x = vec![0.0f32; sim.input_width()];
    let mut t = 0usize;
    c.bench_function(&format!("reference/{name}/step"), |b| {
        b.iter(|| {
            row(t, &mut x);
            t += 1;
            sim.step(black_box(&x)).expect("a step")
        })
    });
}

fn no_input(_: usize, _: &mut [f32]) {}

/// A graded input that changes every step.
fn graded(t: usize, x: &mut [f32]) {
    for (j, v) in x.iter_mut().enumerate() {
        *v = ((j * 7 + t * 13) % 17) as f32 / 17.0;
    }
}

fn reference(c: &mut Criterion) {
    bench_reference(c, "silent-lif", SILENT, no_input);
    bench_reference(c, "firing-lif", FIRING, no_input);
    // Kernels: `W @ x` of a graded input through a dense and a sparse
    // matrix; spikes through sparse weights at a low rate (by column) and
    // a high rate (by row).
    bench_reference(
        c,
        "dense-1024",
        "timestep 1ms;\ninput x[1024];\n\
         const W: [1024, 1024] = normal(std=0.03, seed=1);\n\
         output y = W @ x;\n",
        graded,
    );
    bench_reference(
        c,
        "gather-10k",
        "timestep 1ms;\ninput x[10000];\n\
         const W: [10000, 10000] = sparse(density=0.01, values=normal(std=0.1), seed=2);\n\
         output y = W @ x;\n",
        graded,
    );
    bench_reference(c, "scatter-columns-cuba", &cuba_source(), no_input);
    bench_reference(
        c,
        "scatter-rows-10k",
        "timestep 1ms;\n\
         population p: if[10000] { threshold = 1.0; bias = 0.5; }\n\
         population q: li[10000] { tau_mem = 20ms; }\n\
         p -> q { weight = sparse(density=0.01, values=normal(std=0.1), seed=3); }\n\
         output y = q;\n",
        no_input,
    );
}

criterion_group!(benches, runtime, reference);
criterion_main!(benches);
