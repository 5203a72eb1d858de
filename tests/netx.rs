//! Lava netx export: the quantized Loihi 2 network as lava-dl's netx HDF5,
//! read back with the project's own HDF5 reader; refusals name the reason.

use std::path::{Path, PathBuf};

use snn_ir::{Graph, Op};
use snnc::netx;
use snnc::nir::file::{Entry, Tree};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("model.snn")
}

/// The graph after every pass for Loihi 2.
fn compiled(path: &Path) -> Graph {
    let (g, _) = snnc::driver::load(path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    let target = snn_backends::target("loihi2").unwrap();
    snn_passes::run(
        g,
        &snn_passes::pipeline(target),
        target,
        &snn_passes::Options::default(),
        &mut |_| {},
    )
    .unwrap()
    .graph
}

fn numbers<'a>(t: &'a Tree, name: &str) -> (&'a [usize], &'a [f64]) {
    match t.get(name) {
        Some(Entry::Numbers { shape, values, .. }) => (shape, values),
        other => panic!("{name}: {other:?}"),
    }
}

fn group<'a>(t: &'a Tree, name: &str) -> &'a Tree {
    match t.get(name) {
        Some(Entry::Group(g)) => g,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn delays_example_writes_and_reads_back() {
    let g = compiled(&example("delays"));
    let dir = std::env::temp_dir().join(format!("snnc-netx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("delays.net");
    netx::write(&g, &path).unwrap();
    let layers = netx::read_layers(&path).unwrap();
    assert_eq!(
        layers,
        vec![
            ("input".to_string(), vec![8], vec![]),
            ("dense".to_string(), vec![256], vec![256, 8]),
            ("dense".to_string(), vec![10], vec![10, 256]),
        ]
    );
    // Every weight is an integer in netx's range, and times the layer's
    // unit it is the compiled weight.
    let tree = snnc::nir::file::read_tree(&path).unwrap();
    let layer1 = group(group(&tree, "layer"), "1");
    let (_, w) = numbers(layer1, "weight");
    assert!(
        w.iter()
            .all(|x| x.fract() == 0.0 && (-256.0..=254.0).contains(x))
    );
    let (_, d) = numbers(layer1, "delay");
    assert_eq!(d.iter().cloned().fold(0.0, f64::max), 30.0);
    let neuron = group(layer1, "neuron");
    let (_, vth) = numbers(neuron, "vThMant");
    let (_, vdecay) = numbers(neuron, "vDecay");
    let (_, idecay) = numbers(neuron, "iDecay");
    // tau_mem = 10ms at 1ms: alpha = exp(-0.1), d = round(4096 (1 - alpha)).
    assert_eq!(vdecay, &[390.0]);
    // No synaptic current: Lava's du = 4095, iDecay = du + 1.
    assert_eq!(idecay, &[4096.0]);
    // The threshold 1.0 in the layer's unit: netx coarsens the compiled
    // unit by a power of two so that the threshold fits its mantissa.
    let hid = g
        .populations()
        .into_iter()
        .find(|&p| g.name(p) == Some("hid"))
        .unwrap();
    let unit = g.quant(hid).unwrap().scale as f64 * 64.0;
    let k = (1.0 / unit / vth[0]).log2();
    assert_eq!(k.fract(), 0.0, "the unit is coarsened by a power of two");
    let step = unit * 2f64.powf(k);
    let wmax = w.iter().map(|x| x.abs()).fold(0.0, f64::max) * step;
    let compiled_max = g
        .args(hid)
        .into_iter()
        .filter_map(|a| match g.op(a) {
            Op::Project(p) => g
                .tensor(p.weights)
                .f32s()
                .map(|v| v.iter().map(|x| x.abs() as f64).fold(0.0, f64::max)),
            _ => None,
        })
        .fold(0.0, f64::max);
    assert_eq!(wmax, compiled_max);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_netx_cannot_describe_is_refused_with_the_reason() {
    let g = compiled(&example("alif_srnn"));
    let e = netx::netx_tree(&g).unwrap_err();
    assert_eq!(
        e.message,
        "`hid`: `alif` neurons; netx describes CUBA (`lif`, `if`, `li`) layers here"
    );
    let g = compiled(&example("lprnn"));
    let e = netx::netx_tree(&g).unwrap_err();
    assert_eq!(
        e.message,
        "`h1`: `sigma_delta` neurons with a low-pass filter (alpha = 0.800) and a clamped activation; netx's SDNN neurons (Lava's SigmaDelta: a ReLU without a filter) cannot hold them"
    );
}
