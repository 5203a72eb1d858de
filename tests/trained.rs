//! Trained examples: the float reference reproduces what each training
//! script (training/) computed, and keeps the accuracy the script recorded.
//!
//! Each trained network has a `trained*.json` beside its model naming the
//! model, its golden file (inputs and the script's own outputs on the first
//! test samples), the test split, the classifier output and the decision
//! rule. For each, this test runs `snn_runtime::reference::simulate`:
//!
//! - on the golden inputs, every output must match the script's to
//!   `1e-4 · max(1, max |golden|)` of that output. Spike outputs (values 0
//!   or 1, so a tolerance of 1e-4) must therefore match exactly;
//! - on the whole test split, the accuracy with the recorded decision rule
//!   must be at least the recorded `float_accuracy` − 0.005.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use snn_runtime::reference::{Inputs, simulate};
use snnc::arrays;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every trained network: (example folder, its trained*.json).
const TRAINED: &[(&str, &str)] = &[
    ("lprnn", "trained.json"),
    ("lprnn", "trained_3bit.json"),
    ("elman", "trained.json"),
    ("elman", "trained_relu.json"),
    ("alif_srnn", "trained.json"),
    ("delays", "trained.json"),
    ("adaptive_lstm", "trained.json"),
];

/// What a trained*.json says the test needs.
struct Record {
    model: PathBuf,
    golden: PathBuf,
    dataset: PathBuf,
    classifier: String,
    decision: String,
    float_accuracy: f64,
}

fn record(example: &str, json: &str) -> Record {
    let dir = root().join("examples").join(example);
    let path = dir.join(json);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let field = |name: &str| -> String {
        v[name]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no string `{name}`", path.display()))
            .to_string()
    };
    Record {
        model: dir.join(field("model")),
        golden: dir.join(field("golden")),
        dataset: root().join(field("dataset")),
        classifier: field("classifier"),
        decision: field("decision"),
        float_accuracy: v["float_accuracy"]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: no number `float_accuracy`", path.display())),
    }
}

/// An array of a file as (shape, f32 values).
fn read(file: &mut arrays::ArrayFile, path: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let a = file
        .get(name)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shape = a.shape.clone();
    let values = a
        .into_f32()
        .unwrap_or_else(|e| panic!("{}: `{name}`: {e}", path.display()));
    (shape, values)
}

/// Sample `s` of an `[S, T, N]` array as the graph's inputs.
fn sample(g: &snn_ir::Graph, shape: &[usize], values: &[f32], s: usize) -> Inputs {
    let per = shape[1] * shape[2];
    let view = ArrayView2::from_shape((shape[1], shape[2]), &values[s * per..(s + 1) * per])
        .expect("sample shape");
    Inputs::split(g, view).expect("input width")
}

/// The class a decision rule picks from a `[T, m]` output.
fn decide(out: &Array2<f32>, rule: &str) -> usize {
    let m = out.ncols();
    let score: Vec<f64> = (0..m)
        .map(|k| {
            let col = out.column(k);
            match rule {
                "sum" => col.iter().map(|&v| v as f64).sum(),
                "mean" => col.iter().map(|&v| v as f64).sum::<f64>() / col.len() as f64,
                "last" => col[col.len() - 1] as f64,
                "max" => col.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64)),
                other => panic!("unknown decision rule `{other}`"),
            }
        })
        .collect();
    // The first of equal maxima, as numpy's and torch's arg-max.
    let mut best = 0;
    for (k, &v) in score.iter().enumerate() {
        if v > score[best] {
            best = k;
        }
    }
    best
}

#[test]
fn the_float_reference_reproduces_every_training_scripts_outputs() {
    let mut failures = Vec::new();
    for &(example, json) in TRAINED {
        let r = record(example, json);
        let (g, _) = snnc::driver::load(&r.model).unwrap_or_else(|e| panic!("{}", e.render(false)));
        let mut file =
            arrays::open(&r.golden).unwrap_or_else(|e| panic!("{}: {e}", r.golden.display()));
        let (shape, inputs) = read(&mut file, &r.golden, "inputs");
        assert_eq!(shape.len(), 3, "{}: inputs [k, T, N]", r.golden.display());
        assert!(
            shape[0] >= 4,
            "{}: {} golden samples",
            r.golden.display(),
            shape[0]
        );
        let mut golden_names: Vec<String> = file
            .names()
            .into_iter()
            .filter_map(|n| n.strip_prefix("out_").map(str::to_string))
            .collect();
        golden_names.sort();
        let mut checked = Vec::new();
        for s in 0..shape[0] {
            let x = sample(&g, &shape, &inputs, s);
            let got = simulate(&g, &x, shape[1]).expect("simulate");
            for rec in got.iter() {
                let name = format!("out_{}", rec.name);
                assert!(
                    file.contains(&name),
                    "{}: no `{name}` for the model's output `{}`",
                    r.golden.display(),
                    rec.name
                );
                let (gshape, want) = read(&mut file, &r.golden, &name);
                let (t, m) = rec.values.dim();
                assert_eq!(
                    gshape,
                    vec![shape[0], t, m],
                    "{}: `{name}`",
                    r.golden.display()
                );
                let want = &want[s * t * m..(s + 1) * t * m];
                let scale = want.iter().fold(1f32, |a, &v| a.max(v.abs()));
                let worst = rec
                    .values
                    .iter()
                    .zip(want)
                    .map(|(&a, &b)| (a - b).abs())
                    .fold(0f32, f32::max);
                if worst > 1e-4 * scale {
                    failures.push(format!(
                        "{example}/{json} `{}` sample {s}: off by {worst} (max |golden| {scale})",
                        rec.name
                    ));
                }
                if s == 0 {
                    checked.push(rec.name.clone());
                }
            }
        }
        checked.sort();
        assert_eq!(
            checked, golden_names,
            "{example}/{json}: the golden file's outputs are not the model's"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_trained_example_keeps_its_recorded_float_accuracy() {
    let mut failures = Vec::new();
    for &(example, json) in TRAINED {
        let r = record(example, json);
        let (g, _) = snnc::driver::load(&r.model).unwrap_or_else(|e| panic!("{}", e.render(false)));
        let mut file =
            arrays::open(&r.dataset).unwrap_or_else(|e| panic!("{}: {e}", r.dataset.display()));
        let (shape, inputs) = read(&mut file, &r.dataset, "inputs");
        let labels = file
            .get("labels")
            .unwrap_or_else(|e| panic!("{}: {e}", r.dataset.display()))
            .to_i32()
            .unwrap_or_else(|e| panic!("{}: `labels`: {e}", r.dataset.display()));
        assert_eq!(labels.len(), shape[0]);
        assert_eq!(shape[0], 500, "{}: the test split", r.dataset.display());
        // Samples are independent: run them on every core.
        let correct: usize = (0..shape[0])
            .into_par_iter()
            .map(|s| {
                let x = sample(&g, &shape, &inputs, s);
                let out = simulate(&g, &x, shape[1]).expect("simulate");
                let y = out
                    .get(&r.classifier)
                    .unwrap_or_else(|| panic!("{example}: no output `{}`", r.classifier));
                usize::from(decide(y, &r.decision) as i32 == labels[s])
            })
            .sum();
        let acc = correct as f64 / shape[0] as f64;
        if acc < r.float_accuracy - 0.005 {
            failures.push(format!(
                "{example}/{json}: float accuracy {acc:.3} < recorded {:.3} - 0.005",
                r.float_accuracy
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decision_rules_pick_the_class_they_name() {
    // Class 0 wins the sum and the mean, class 1 the last step, class 2
    // the largest single value.
    let out = ndarray::arr2(&[[3.0f32, 0.0, 4.0], [3.0, 0.0, -4.0], [3.0, 2.0, 0.5]]);
    assert_eq!(decide(&out, "sum"), 0);
    assert_eq!(decide(&out, "mean"), 0);
    assert_eq!(decide(&out, "last"), 0);
    let out = ndarray::arr2(&[[3.0f32, 0.0, 4.0], [3.0, 0.0, -4.0], [1.0, 2.0, 0.5]]);
    assert_eq!(decide(&out, "sum"), 0);
    assert_eq!(decide(&out, "last"), 1);
    assert_eq!(decide(&out, "max"), 2);
}
