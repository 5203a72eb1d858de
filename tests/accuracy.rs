//! Trained examples keep their accuracy on every chip that runs them: for
//! each `examples/*/trained*.json` and each backend, the whole test split
//! runs on the float model and on the chip; the chip must be within one
//! point of float (or the tolerance its method is given below), and float
//! within half a point of what training reached. A chip that refuses an
//! example must refuse it for the reason listed.

use std::path::{Path, PathBuf};

use snnc::cli::accuracy::{measure, trained_examples};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (model, backend, error code): the refusals that are expected, each
/// with the chip's reason in its message.
const REFUSED: &[(&str, &str, &str)] = &[
    ("adaptive_lstm/model.snn", "truenorth", "E0460"),
    ("alif_srnn/model.snn", "truenorth", "E0460"),
    ("delays/model.snn", "truenorth", "E0460"),
];

/// (model, backend, tolerance): where values travel as spike codes, the
/// code's own error is allowed: 2 points for the binary sigma-delta and
/// spike-count codes on Loihi 1, 3 points for TrueNorth's rate code on the
/// network trained with its constraints, and for the Elman network trained
/// without them (its weights rounded to 16 levels, W0495; measured 86.4%
/// against 95.6%) only that it still classifies well. The 3-bit
/// lpRNN loses more on Loihi 1 (measured 90.4% against 94.0%): the code
/// scales each projection's weights by its sender's spike value and filter,
/// which moves its 7 trained levels off the chip's power-of-two grid. The
/// lpRNNs on TrueNorth, trained without its rules, lose what the rules
/// cost (measured: 84.8% against 93.2% at 16 levels, with 12 weights of
/// `h2.act` moved so each neuron reads at most 256 axons; 88.0% against
/// 94.0% for the 3-bit one at 8 levels).
const TOLERANCE: &[(&str, &str, f64)] = &[
    ("lprnn/model.snn", "loihi", 0.02),
    ("lprnn/model_3bit.snn", "loihi", 0.045),
    ("elman/model.snn", "loihi", 0.02),
    ("elman/relu.snn", "loihi", 0.02),
    ("elman/model.snn", "truenorth", 0.03),
    ("lprnn/model.snn", "truenorth", 0.10),
    ("lprnn/model_3bit.snn", "truenorth", 0.08),
    ("elman/relu.snn", "truenorth", 0.15),
];

#[test]
fn trained_examples_keep_their_accuracy_on_every_chip() {
    let root = root();
    let examples = trained_examples(&root).unwrap_or_else(|r| panic!("{}", r.render(false)));
    assert!(examples.len() >= 7, "{} trained examples", examples.len());
    let mut failures = Vec::new();
    let mut ran = 0;
    for t in &examples {
        let model = t.model_path();
        let rel = model
            .strip_prefix(root.join("examples"))
            .unwrap_or(&model)
            .display()
            .to_string();
        for backend in snn_backends::NAMES {
            let refused = REFUSED
                .iter()
                .find(|(m, b, _)| *m == rel && *b == backend)
                .map(|r| r.2);
            match (measure(&root, t, backend, false, &[], None), refused) {
                (Ok(m), None) => {
                    ran += 1;
                    assert_eq!(m.samples, 500, "{rel} on {backend}");
                    if m.float_accuracy < t.float_accuracy - 0.005 {
                        failures.push(format!(
                            "{rel}: float accuracy {:.3} < the training's {:.3} − 0.005",
                            m.float_accuracy, t.float_accuracy
                        ));
                    }
                    let tolerance = TOLERANCE
                        .iter()
                        .find(|(m, b, _)| *m == rel && *b == backend)
                        .map_or(0.01, |t| t.2);
                    if m.chip_accuracy < m.float_accuracy - tolerance {
                        failures.push(format!(
                            "{rel} on {backend}: chip accuracy {:.3} < float {:.3} − {tolerance}",
                            m.chip_accuracy, m.float_accuracy
                        ));
                    }
                }
                (Ok(_), Some(code)) => failures.push(format!(
                    "{rel} on {backend}: compiles, but {code} was expected (update REFUSED)"
                )),
                (Err(r), Some(code)) => {
                    let first = r.diags.iter().find(|d| d.is_error());
                    if first.map(|d| d.code) != Some(code) {
                        failures.push(format!(
                            "{rel} on {backend}: expected {code}, got {}",
                            r.render(false)
                        ));
                    }
                }
                (Err(r), None) => failures.push(format!("{rel} on {backend}: {}", r.render(false))),
            }
        }
    }
    assert!(ran >= 23, "only {ran} example × backend pairs ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
