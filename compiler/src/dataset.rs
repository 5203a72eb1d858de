//! Datasets (`inputs [S, T, N]`, `labels [S]` in an .npz) and calibration:
//! running the float reference on data to bound a chip's number ranges.

use std::path::Path;
use std::sync::Arc;

use ndarray::ArrayView2;
use rayon::prelude::*;
use snn_ir::{Graph, NodeId};
use snn_passes::range::{Calibration, Observed};
use snn_runtime::reference::{Inputs, Simulator};

use crate::arrays;
use crate::driver::Report;

fn bad(msg: impl Into<String>) -> Report {
    Report::error("E0300", msg)
}

/// A dataset: `samples` × `steps` rows of `width` columns (the inputs'
/// columns side by side, in declaration order), and a class per sample.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub samples: usize,
    pub steps: usize,
    pub width: usize,
    pub inputs: Arc<[f32]>,
    /// Empty when the file has no `labels` and none were asked for.
    pub labels: Vec<i64>,
}

impl Dataset {
    /// Sample `s` as a `[steps, width]` view.
    pub fn sample(&self, s: usize) -> ArrayView2<'_, f32> {
        let per = self.steps * self.width;
        // Invariant: `inputs` holds `samples × steps × width` values.
        ArrayView2::from_shape(
            (self.steps, self.width),
            &self.inputs[s * per..(s + 1) * per],
        )
        .expect("a sample is steps × width values")
    }
}

/// Reads a dataset .npz: `inputs` `[S, T, width]` and, when `labelled`,
/// `labels` `[S]` (integers).
pub fn read(path: &Path, width: usize, labelled: bool) -> Result<Dataset, Report> {
    let what = if labelled {
        "`inputs` [S, T, N] and `labels` [S]"
    } else {
        "`inputs` [S, T, N]"
    };
    let mut file = arrays::open(path).map_err(|e| bad(e.to_string()))?;
    if file.format() != arrays::Format::Npz {
        return Err(bad(format!(
            "{}: a dataset is an .npz with the arrays {what}",
            path.display()
        )));
    }
    let needed: &[&str] = if labelled {
        &["inputs", "labels"]
    } else {
        &["inputs"]
    };
    for name in needed {
        if !file.contains(name) {
            return Err(bad(format!(
                "{}: no array `{name}` (it holds {}); a dataset needs {what}",
                path.display(),
                file.names().join(", ")
            )));
        }
    }
    let x = file.get("inputs").map_err(|e| bad(e.to_string()))?;
    if x.shape.len() != 3 || x.shape[2] != width {
        return Err(bad(format!(
            "{}: `inputs` has shape {:?}; expected [S, T, {width}] (samples, steps, the inputs' columns)",
            path.display(),
            x.shape
        )));
    }
    let (samples, steps) = (x.shape[0], x.shape[1]);
    let labels = if labelled {
        let y = file.get("labels").map_err(|e| bad(e.to_string()))?;
        if y.shape.len() != 1 || y.shape[0] != samples {
            return Err(bad(format!(
                "{}: `labels` has shape {:?}; expected [{samples}], one class per sample of `inputs`",
                path.display(),
                y.shape,
            )));
        }
        if !y.dtype.is_integer() {
            return Err(bad(format!(
                "{}: `labels` holds {}; expected integer classes",
                path.display(),
                y.dtype.name()
            )));
        }
        y.to_i32()
            .map_err(|e| bad(format!("{}: `labels`: {e}", path.display())))?
            .into_iter()
            .map(i64::from)
            .collect()
    } else {
        Vec::new()
    };
    let inputs = x
        .into_f32()
        .map_err(|e| bad(format!("{}: `inputs`: {e}", path.display())))?;
    if let Some(k) = inputs.iter().position(|v| !v.is_finite()) {
        let per = (steps * width).max(1);
        return Err(bad(format!(
            "{}: `inputs` holds {} at sample {}, step {}, column {}",
            path.display(),
            inputs[k],
            k / per,
            (k % per) / width.max(1),
            k % width.max(1)
        )));
    }
    Ok(Dataset {
        samples,
        steps,
        width,
        inputs: inputs.into(),
        labels,
    })
}

/// The total width of `g`'s inputs.
pub fn input_width(g: &Graph) -> usize {
    g.inputs().iter().map(|&n| g.shape(n).len() as usize).sum()
}

/// The largest of two observations, node by node (both sorted by node).
fn merge(a: Vec<(NodeId, Observed)>, b: Vec<(NodeId, Observed)>) -> Vec<(NodeId, Observed)> {
    if a.is_empty() {
        return b;
    }
    a.into_iter()
        .zip(b)
        .map(|((n, x), (_, y))| {
            (
                n,
                Observed {
                    state: x.state.max(y.state),
                    sends: x.sends.max(y.sends),
                },
            )
        })
        .collect()
}

/// Runs `g` on each set of inputs (in parallel) and returns the largest
/// magnitudes every population and input reached.
fn observe(g: &Graph, samples: &[Inputs]) -> Result<Vec<(NodeId, Observed)>, String> {
    let sim = Simulator::new(g).map_err(|e| e.to_string())?;
    samples
        .par_iter()
        .map(|x| {
            let mut s = sim.clone();
            s.observe(true);
            s.run(x, x.rows()).map_err(|e| e.to_string())?;
            Ok(s.peaks()
                .into_iter()
                .map(|(n, p)| {
                    (
                        n,
                        Observed {
                            state: p.state,
                            sends: p.sends,
                        },
                    )
                })
                .collect())
        })
        .try_reduce(Vec::new, |a, b| Ok(merge(a, b)))
}

/// Calibration from a dataset (`--calibrate DATA.npz`): every range comes
/// from it. `g` gives the inputs' layout (the compiled graph has the same).
pub fn calibration(path: &Path, g: &Graph) -> Result<Calibration, Report> {
    let width = input_width(g);
    if width == 0 {
        return Err(bad(
            "the network has no inputs, so calibration data has nothing to feed it",
        ));
    }
    let data = read(path, width, false)?;
    if data.samples == 0 || data.steps == 0 {
        return Err(bad(format!(
            "{}: `inputs` holds no steps to calibrate on",
            path.display()
        )));
    }
    let samples: Vec<Inputs> = (0..data.samples)
        .map(|s| Inputs::split(g, data.sample(s)).map_err(|e| bad(e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(Calibration {
        source: format!(
            "{} ({} sample{})",
            path.display(),
            data.samples,
            if data.samples == 1 { "" } else { "s" }
        ),
        explicit: true,
        observe: Arc::new(move |g: &Graph| observe(g, &samples)),
    })
}

/// The model's own sample input (`--input`, or `input.npy` beside it),
/// used only for populations with no proven bound.
pub fn sample_calibration(path: &Path, g: &Graph) -> Result<Calibration, Report> {
    let x = crate::cli::sim::read_inputs(g, path)?;
    Ok(Calibration {
        source: path.display().to_string(),
        explicit: false,
        observe: Arc::new(move |g: &Graph| observe(g, std::slice::from_ref(&x))),
    })
}
