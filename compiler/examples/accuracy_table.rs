//! Prints the README's accuracy table: every trained example (each
//! `examples/*/trained*.json`) on every backend, its float and chip
//! accuracy on the whole test split, how often both agree, the cores it
//! takes and the energy per sample from the chip's per-operation figures;
//! or why the chip refuses it.
//!
//! ```text
//! cargo run --release -p snnc --example accuracy_table [-- --calibrate]
//! ```
//!
//! `--calibrate` compiles with each example's calibration subset.

use std::path::Path;

use snnc::cli::accuracy::{measure, trained_examples};

fn main() {
    let calibrate = std::env::args().any(|a| a == "--calibrate");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let examples = match trained_examples(&root) {
        Ok(e) => e,
        Err(r) => {
            eprint!("{}", r.render(false));
            std::process::exit(1);
        }
    };
    println!("| example | backend | float | chip | agreement | cores | energy per sample |");
    println!("|---|---|---|---|---|---|---|");
    for t in &examples {
        let model = t.model_path();
        let name = model
            .strip_prefix(&root)
            .unwrap_or(&model)
            .display()
            .to_string();
        let name = match t.weight_bits {
            Some(b) => format!("`{name}` (`--weight-bits {b}`)"),
            None => format!("`{name}`"),
        };
        for backend in snn_backends::NAMES {
            eprintln!("{name} on {backend} ...");
            let mut approximate: Vec<&str> = Vec::new();
            loop {
                let label = match approximate.first() {
                    Some(a) => format!("{backend} (`--approximate {a}`)"),
                    None => backend.to_string(),
                };
                match measure(&root, t, backend, calibrate, &approximate, None) {
                    Ok(m) => println!(
                        "| {name} | {label} | {:.1}% | {:.1}% | {:.1}% | {} | {:.2} µJ |",
                        100.0 * m.float_accuracy,
                        100.0 * m.chip_accuracy,
                        100.0 * m.agreement,
                        m.cores,
                        m.energy_per_sample_uj
                    ),
                    Err(r) => {
                        let error = r.diags.iter().find(|d| d.is_error());
                        let why = error
                            .map(|d| format!("{}: {}", d.code, d.message))
                            .unwrap_or_else(|| "refused".into());
                        println!("| {name} | {label} | refused: {why} | | | | |");
                        // A refusal the help says an approximation lifts:
                        // the row with it too.
                        let help = error.and_then(|d| d.help.as_deref()).unwrap_or("");
                        if approximate.is_empty() && help.contains("--approximate leak=linear") {
                            approximate.push("leak=linear");
                            continue;
                        }
                    }
                }
                break;
            }
        }
    }
}
