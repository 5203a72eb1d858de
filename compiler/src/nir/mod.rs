//! The NIR front end: reads Neuromorphic Intermediate Representation files
//! (HDF5, as written by the `nir` Python package 1.0 and the tools that use
//! it: snnTorch, Norse, Rockpool, Sinabs, ...) into the same IR the `.snn`
//! front end produces, and writes the IR back out as NIR.
//!
//! - `file`: the HDF5 tree (pure Rust, `hdf5-pure`);
//! - `nodes`: typed NIR nodes, checked;
//! - `linear`, `conv`: stateless nodes as sparse matrices;
//! - `import`: NIR graph → IR (subgraphs, shapes, signals between neurons),
//!   with `cycles` (which edges read the previous step), `neurons`
//!   (discretization into models) and `build` (projections, names);
//! - `export`: IR → NIR graph.
//!
//! Errors name the file and the node (NIR files have no line numbers).

mod build;
mod conv;
mod cycles;
pub mod export;
pub mod file;
mod import;
mod linear;
mod neurons;
pub mod nodes;

use std::path::Path;

pub use import::{Discretize, Options};
use snn_ir::Graph;

use crate::diag::Diagnostic;
use crate::driver::Report;

/// Where the time step came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DtSource {
    /// `--dt` on the command line.
    Given(f64),
    /// The graph's metadata (`dt`, seconds).
    Metadata(f64),
    /// Neither: the default of 1 ms.
    Default,
}

/// The default time step when neither `--dt` nor the metadata gives one.
pub const DEFAULT_DT: f64 = 1e-3;

/// Reads `path` as NIR and lowers it; `dt` overrides the graph's metadata.
/// On success also returns warnings (a default time step).
pub fn load(
    path: &Path,
    dt: Option<f64>,
    discretize: Discretize,
) -> Result<(Graph, Report), Report> {
    let name = path.display().to_string();
    let fail = |code: &'static str, msg: String| Report::error(code, format!("{name}: {msg}"));
    let file = file::read(path).map_err(|e| fail("E0600", e))?;
    let graph = nodes::read_graph(&file.node, "").map_err(|e| fail("E0601", e))?;
    let source = match dt {
        Some(d) => DtSource::Given(d),
        None => match metadata_dt(&graph) {
            Some(d) => DtSource::Metadata(d),
            None => DtSource::Default,
        },
    };
    let dt = match source {
        DtSource::Given(d) | DtSource::Metadata(d) => d,
        DtSource::Default => DEFAULT_DT,
    };
    let opts = Options { dt, discretize };
    let mut g = import::import(&graph, opts).map_err(|e| fail("E0602", e))?;
    g.source = Some(name.clone());
    if let Err(errors) = snn_ir::verify(&g) {
        let diags = errors
            .into_iter()
            .map(|e| {
                Diagnostic::error(
                    "E0900",
                    format!("internal error after importing {name}: {e}"),
                )
            })
            .collect();
        return Err(Report {
            source: None,
            diags,
        });
    }
    let mut report = Report::default();
    if source == DtSource::Default {
        report.diags.push(
            Diagnostic::warning(
                "W0603",
                format!("{name}: no time step in the graph's metadata; using 1 ms"),
            )
            .help("give it with `snnc import FILE --dt T` (snnTorch's exporter assumes 0.1ms, Norse simulates with 1ms)"),
        );
    }
    Ok((g, report))
}

/// The `dt` entry of the top graph's metadata, in seconds.
fn metadata_dt(g: &nodes::NirGraph) -> Option<f64> {
    match g.metadata.get("dt")? {
        file::Entry::Numbers { values, .. } if values.len() == 1 && values[0] > 0.0 => {
            Some(values[0])
        }
        _ => None,
    }
}
