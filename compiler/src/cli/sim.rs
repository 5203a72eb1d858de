//! `snnc sim FILE --input X --output Y`: run the float reference interpreter.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array2, ArrayView2};
use snn_ir::Graph;
use snn_runtime::reference::{self, Inputs, Outputs};

use super::Outcome;
use crate::arrays::{self, Array};
use crate::driver::{self, Report};

#[derive(clap::Args)]
pub struct Args {
    /// The model: a `.snn` file or an `.ir` dump.
    pub file: PathBuf,
    /// Input: a `[T, N]` `.npy` whose columns are the inputs in declaration
    /// order, or an `.npz` with one `[T, n]` array per input name.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Where to write the outputs: `y.npy` (one output), `y.npz` (all, by
    /// name), or a directory (one `<name>.npy` per output).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Number of steps (default: the input's rows). Steps past the input's
    /// last row read zeros.
    #[arg(long)]
    pub steps: Option<usize>,
}

pub fn run(args: Args) -> Outcome {
    let (g, warnings) = driver::load(&args.file)?;
    if g.outputs().is_empty() {
        // Nothing would bound how long it runs, and nothing would come of it.
        return Err(Report::error(
            "E0300",
            format!(
                "{} has no outputs: there is nothing to simulate",
                args.file.display()
            ),
        ));
    }
    let inputs = match &args.input {
        Some(p) => read_inputs(&g, p)?,
        None if g.inputs().is_empty() => Inputs::new(),
        None => {
            return Err(Report::error(
                "E0300",
                format!(
                    "{} has inputs; give them with --input X.npy",
                    args.file.display()
                ),
            ));
        }
    };
    let steps = match (args.steps, args.input.is_some()) {
        (Some(t), _) => t,
        (None, true) => inputs.rows(),
        (None, false) => {
            return Err(Report::error(
                "E0300",
                "a network without inputs needs --steps T",
            ));
        }
    };
    let start = Instant::now();
    let outputs = reference::simulate(&g, &inputs, steps).map_err(sim_error)?;
    let elapsed = start.elapsed().as_secs_f64();
    write_outputs(&outputs, &args.output)?;
    eprintln!(
        "simulated {steps} steps in {elapsed:.3} s; wrote {} output{} to {}",
        outputs.len(),
        if outputs.len() == 1 { "" } else { "s" },
        args.output.display()
    );
    Ok(warnings)
}

/// A reference error as a report: E0206 over the memory budget, else E0300.
pub fn sim_error(e: reference::SimError) -> Report {
    match e {
        reference::SimError::Budget(b) => Report::budget(b),
        other => Report::error("E0300", other.to_string()),
    }
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Report {
    Report::error("E0300", format!("{}: {why}", path.display()))
}

/// A `[T, n]` f32 matrix from an array.
pub(crate) fn matrix(path: &Path, name: &str, a: Array) -> Result<Array2<f32>, Report> {
    let shape = a.shape.clone();
    let (rows, cols) = match shape[..] {
        [t, n] => (t, n),
        [t] => (t, 1),
        _ => {
            return Err(bad(
                path,
                format!("input `{name}` has shape {shape:?}; expected [T, N]"),
            ));
        }
    };
    let values = a
        .into_f32()
        .map_err(|e| bad(path, format!("input `{name}` {e}")))?;
    Array2::from_shape_vec((rows, cols), values).map_err(|e| bad(path, e))
}

/// Reads the input array(s) for `g`.
pub fn read_inputs(g: &Graph, path: &Path) -> Result<Inputs, Report> {
    let mut file = arrays::open(path).map_err(|e| Report::error("E0300", e.to_string()))?;
    if file.format() == arrays::Format::Npy {
        let name = file.names().into_iter().next().unwrap_or_default();
        let a = file
            .get(&name)
            .map_err(|e| Report::error("E0300", e.to_string()))?;
        let m = matrix(path, &name, a)?;
        return Inputs::split(g, ArrayView2::from(&m)).map_err(|e| bad(path, e));
    }
    let mut named = Vec::new();
    for name in file.names() {
        let a = file
            .get(&name)
            .map_err(|e| Report::error("E0300", e.to_string()))?;
        named.push((name.clone(), matrix(path, &name, a)?));
    }
    let inputs = Inputs::from_named(named).map_err(|e| bad(path, e))?;
    Ok(inputs)
}

/// Writes every output as `[T, m]` float32.
pub fn write_outputs(outputs: &Outputs, path: &Path) -> Result<(), Report> {
    let values: u128 = outputs.iter().map(|r| r.values.len() as u128).sum();
    snn_ir::budget::check_elements(values, 4, || "a copy of the outputs to write".into())
        .map_err(Report::budget)?;
    let arrays: Vec<(String, Array)> = outputs
        .iter()
        .map(|r| {
            let (t, m) = r.values.dim();
            let values = r.values.iter().copied().collect();
            (r.name.clone(), Array::f32(vec![t, m], values))
        })
        .collect();
    write_arrays(&arrays, path)
}

/// Writes named arrays to `Y.npy` (exactly one), `Y.npz`, or a directory of
/// `<name>.npy`.
pub fn write_arrays(arrays: &[(String, Array)], path: &Path) -> Result<(), Report> {
    let write_err = |e: arrays::ArrayError| Report::error("E0202", e.to_string());
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "npz" => {
            let refs: Vec<(&str, &Array)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
            arrays::write_npz(path, &refs).map_err(write_err)
        }
        "npy" => match arrays {
            [(_, a)] => arrays::write_npy(path, a).map_err(write_err),
            _ => {
                let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
                Err(Report::error(
                    "E0300",
                    format!(
                        "the network has {} outputs ({}); write them to a .npz file or a directory",
                        names.len(),
                        names.join(", ")
                    ),
                ))
            }
        },
        _ => {
            std::fs::create_dir_all(path).map_err(|e| {
                Report::error("E0202", format!("cannot create {}: {e}", path.display()))
            })?;
            for (name, a) in arrays {
                arrays::write_npy(&path.join(format!("{name}.npy")), a).map_err(write_err)?;
            }
            Ok(())
        }
    }
}
