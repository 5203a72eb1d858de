//! `snnc import model.nir -o model.snn`: a NIR graph as readable `.snn`
//! source, with its weights in an `.npz` beside it.

use std::path::PathBuf;

use super::{Outcome, write_atomic};
use crate::arrays;
use crate::driver::Report;
use crate::nir::{self, Discretize};

#[derive(clap::Args)]
pub struct Args {
    /// The NIR file (HDF5).
    pub file: PathBuf,
    /// The `.snn` file to write; its weights go to the same name with `.npz`.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The time step (`1ms`, `0.1ms`, `100us`); default: the graph's
    /// metadata `dt`, else 1ms.
    #[arg(long, value_name = "T")]
    pub dt: Option<String>,
    /// How continuous-time equations become steps (docs/nir.md).
    #[arg(long, value_enum, default_value_t = Discretize::Euler)]
    pub discretize: Discretize,
}

/// `--dt` in seconds.
pub fn parse_dt(s: &str) -> Result<f64, Report> {
    snn_ir::Duration::parse(s)
        .ok()
        .filter(|d| d.as_ps() > 0)
        .map(|d| d.as_secs_f64())
        .ok_or_else(|| {
            Report::error(
                "E0604",
                format!("--dt {s}: not a positive duration such as 1ms, 0.1ms or 250us"),
            )
        })
}

pub fn run(args: Args) -> Outcome {
    let dt = args.dt.as_deref().map(parse_dt).transpose()?;
    let (g, warnings) = nir::load(&args.file, dt, args.discretize)?;
    let npz = args.output.with_extension("npz");
    let npz_name = npz
        .file_name()
        .map_or("weights.npz".into(), |n| n.to_string_lossy().into_owned());
    let discretize = match args.discretize {
        Discretize::Euler => "forward Euler",
        Discretize::EulerJump => "forward Euler, synaptic input as a jump",
        Discretize::Exact => "exact (inputs held over a step)",
    };
    let header = vec![
        format!(
            "Imported from {} by `snnc import` ({discretize}).",
            args.file
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        format!("Weights and per-neuron parameters: {npz_name}."),
    ];
    let printed = crate::print::print_snn(&g, &npz_name, &header).map_err(|e| {
        Report::error(
            "E0605",
            format!(
                "{}: cannot print as .snn: {}",
                args.file.display(),
                e.message
            ),
        )
    })?;
    let refs: Vec<(&str, &arrays::Array)> = printed
        .arrays
        .iter()
        .map(|(n, a)| (n.as_str(), a))
        .collect();
    arrays::write_npz_compressed(&npz, &refs).map_err(|e| Report::error("E0202", e.to_string()))?;
    if let Err(e) = write_atomic(&args.output, printed.source.as_bytes()) {
        // Nothing half-written: the weights go with the source.
        let _ = std::fs::remove_file(&npz);
        return Err(e);
    }
    eprintln!("wrote {} and {}", args.output.display(), npz.display());
    Ok(warnings)
}
