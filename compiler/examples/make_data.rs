//! Writes the seeded weights and inputs of the placement examples
//! (`modular`, `adaptive_lstm_large`) and the tensor files the diagnostic
//! tests read. Everything is seeded: running it again writes the same bytes.
//! The trained examples' files come from `training/` and
//! `examples/data/digits/make_digits.py` instead.
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
