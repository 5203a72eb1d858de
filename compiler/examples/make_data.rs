//! Writes the weights and inputs of the bundled examples and the tensor files
//! the diagnostic tests read. Everything is seeded: running it again writes
//! the same bytes.
//!
//! ```text
//! cargo run -p snnc --example make_data
//! ```

use std::path::Path;

use snn_ir::tensor::{Dist, Init};
use snnc::arrays::{self, Array, Element, Values};

fn values(init: Init, shape: &[u32]) -> Vec<f32> {
    let data = init.generate(shape).expect("valid initializer");
    match data.pattern {
        None => data.values.as_f32().expect("float initializer").to_vec(),
        Some(p) => {
            // Densify a sparse pattern (used for spike trains).
            let cols = shape[1] as usize;
            let mut out = vec![0.0f32; shape[0] as usize * cols];
            let v = data.values.as_f32().expect("float initializer");
            for r in 0..p.rows as usize {
                for k in p.row(r) {
                    out[r * cols + p.col_idx[k] as usize] = v[k];
                }
            }
            out
        }
    }
}

fn normal(shape: &[u32], mean: f32, std: f32, seed: u64) -> Array {
    let v = values(
        Init::Dense {
            dist: Dist::Normal { mean, std },
            seed,
        },
        shape,
    );
    Array::f32(shape.iter().map(|&d| d as usize).collect(), v)
}

fn uniform(shape: &[u32], low: f32, high: f32, seed: u64) -> Array {
    let v = values(
        Init::Dense {
            dist: Dist::Uniform { low, high },
            seed,
        },
        shape,
    );
    Array::f32(shape.iter().map(|&d| d as usize).collect(), v)
}

fn randint(shape: &[u32], low: i32, high: i32, seed: u64) -> Array {
    let data = Init::Dense {
        dist: Dist::Integers { low, high },
        seed,
    }
    .generate(shape)
    .expect("valid initializer");
    let v = data.values.as_i32().expect("integer initializer").to_vec();
    Array::i32(shape.iter().map(|&d| d as usize).collect(), v)
}

/// A `[T, n]` spike train, each entry 1 with probability `p`.
fn spikes(t: u32, n: u32, p: f64, seed: u64) -> Array {
    let v = values(
        Init::Sparse {
            density: p,
            dist: Dist::Constant(1.0),
            seed,
        },
        &[t, n],
    );
    Array::f32(vec![t as usize, n as usize], v)
}

fn npz(path: &Path, arrays: &[(&str, Array)]) {
    let refs: Vec<(&str, &Array)> = arrays.iter().map(|(n, a)| (*n, a)).collect();
    arrays::write_npz(path, &refs).expect("write npz");
    println!("wrote {}", path.display());
}

fn npy(path: &Path, a: &Array) {
    arrays::write_npy(path, a).expect("write npy");
    println!("wrote {}", path.display());
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ex = root.join("examples");

    // lprnn: 40 mel bands -> 64 -> 64 -> 12.
    npz(
        &ex.join("lprnn/weights.npz"),
        &[
            ("W1", normal(&[64, 40], 0.0, 0.3, 11)),
            ("b1", uniform(&[64], 0.0, 0.5, 12)),
            ("W2", normal(&[64, 64], 0.0, 0.25, 13)),
            ("U2", normal(&[64, 64], 0.0, 0.1, 14)),
            ("b2", uniform(&[64], 0.0, 0.5, 15)),
            ("Wo", normal(&[12, 64], 0.0, 0.2, 16)),
            ("bo", normal(&[12], 0.0, 0.1, 17)),
        ],
    );
    npy(
        &ex.join("lprnn/input.npy"),
        &uniform(&[50, 40], 0.0, 1.0, 18),
    );

    // elman: 16 -> 48 -> 6, weights in safetensors.
    let elman = [
        ("W_in", normal(&[48, 16], 0.0, 0.35, 21)),
        ("W_rec", normal(&[48, 48], 0.0, 0.12, 22)),
        ("W_out", normal(&[6, 48], 0.0, 0.2, 23)),
    ];
    let refs: Vec<(&str, &Array)> = elman.iter().map(|(n, a)| (*n, a)).collect();
    arrays::write_safetensors(&ex.join("elman/weights.safetensors"), &refs)
        .expect("write safetensors");
    println!("wrote {}", ex.join("elman/weights.safetensors").display());
    npy(
        &ex.join("elman/input.npy"),
        &uniform(&[30, 16], 0.0, 1.0, 24),
    );

    // alif_srnn: 100 spike inputs -> 64 ALIF (recurrent) -> 20 leaky readouts.
    npz(
        &ex.join("alif_srnn/weights.npz"),
        &[
            ("W_in", normal(&[64, 100], 0.15, 0.5, 31)),
            ("W_rec", normal(&[64, 64], 0.0, 0.3, 32)),
            ("b_h", normal(&[64], 0.0, 0.05, 33)),
            ("W_out", normal(&[20, 64], 0.0, 0.5, 34)),
            ("tau_m", uniform(&[64], 10.0, 30.0, 35)),
            ("tau_adp", uniform(&[64], 100.0, 300.0, 36)),
            ("tau_out", uniform(&[20], 10.0, 30.0, 37)),
        ],
    );
    npy(&ex.join("alif_srnn/input.npy"), &spikes(50, 100, 0.1, 38));

    // delays: 40 -> 64 LIF -> 10 LI, every synapse with a delay in 0..25.
    npz(
        &ex.join("delays/weights.npz"),
        &[
            ("W1", normal(&[64, 40], 0.2, 0.5, 41)),
            ("D1", randint(&[64, 40], 0, 25, 42)),
            ("W2", normal(&[10, 64], 0.0, 0.5, 43)),
            ("D2", randint(&[10, 64], 0, 25, 44)),
        ],
    );
    npy(&ex.join("delays/input.npy"), &spikes(60, 40, 0.15, 45));

    // adaptive_lstm: 20 -> 40 regular + 30 adaptive -> 10.
    npz(
        &ex.join("adaptive_lstm/weights.npz"),
        &[
            ("W_in_r", normal(&[40, 20], 0.3, 0.5, 51)),
            ("W_in_a", normal(&[30, 20], 0.3, 0.5, 52)),
            ("W_rr", normal(&[40, 40], 0.0, 0.2, 53)),
            ("W_ra", normal(&[30, 40], 0.0, 0.2, 54)),
            ("W_ar", normal(&[40, 30], 0.0, 0.2, 55)),
            ("W_aa", normal(&[30, 30], 0.0, 0.2, 56)),
            ("W_out_r", normal(&[10, 40], 0.0, 0.3, 57)),
            ("W_out_a", normal(&[10, 30], 0.0, 0.3, 58)),
        ],
    );
    npy(
        &ex.join("adaptive_lstm/input.npy"),
        &spikes(60, 20, 0.2, 59),
    );

    // adaptive_lstm_large: seeded initializers in the model; input only.
    npy(
        &ex.join("adaptive_lstm_large/input.npy"),
        &spikes(100, 80, 0.1, 71),
    );

    // modular: 24 interleaved modules of 128 LIF neurons (neuron i in
    // module i mod 24), p = 0.3 within a module and 0.001 across. Deflated:
    // the dense matrix is almost all zeros.
    let (n, modules) = (3072u32, 24u32);
    let draw = uniform(&[n, n], 0.0, 1.0, 81).into_f32().expect("floats");
    let weight = normal(&[n, n], -0.04, 0.1, 82).into_f32().expect("floats");
    let w_rec: Vec<f32> = (0..(n * n) as usize)
        .map(|k| {
            let (i, j) = (k as u32 / n, k as u32 % n);
            let p = if i == j {
                0.0
            } else if i % modules == j % modules {
                0.3
            } else {
                0.001
            };
            if draw[k] < p { weight[k] } else { 0.0 }
        })
        .collect();
    let path = ex.join("modular/weights.npz");
    let w_rec = Array::f32(vec![n as usize, n as usize], w_rec);
    arrays::write_npz_compressed(&path, &[("W_rec", &w_rec)]).expect("write npz");
    println!("wrote {}", path.display());
    npy(&ex.join("modular/input.npy"), &spikes(100, 64, 0.1, 83));

    // Files the diagnostic tests read.
    let diag = root.join("tests/data/diag");
    let mask = Array {
        shape: vec![4],
        dtype: Element::Bool,
        values: Values::Bool(vec![true, false, true, true]),
    };
    npz(
        &diag.join("weights.npz"),
        &[
            ("W1", normal(&[4, 6], 0.0, 0.5, 61)),
            ("W2", normal(&[4, 4], 0.0, 0.5, 62)),
            ("mask", mask),
            ("D_float", uniform(&[4, 6], 0.0, 5.0, 63)),
        ],
    );
}
