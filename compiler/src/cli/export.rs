//! `snnc export FILE --format nir -o out.nir`: a model as a NIR graph.

use std::path::PathBuf;

use clap::ValueEnum;

use super::Outcome;
use crate::diag::Diagnostic;
use crate::driver::{self, Report};
use crate::nir;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// The Neuromorphic Intermediate Representation (HDF5).
    Nir,
}

#[derive(clap::Args)]
pub struct Args {
    /// The model: a `.snn` file, an `.ir` dump or a `.nir` file.
    pub file: PathBuf,
    /// The format to write.
    #[arg(long, value_enum, default_value_t = Format::Nir)]
    pub format: Format,
    /// Where to write it.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: Args) -> Outcome {
    let (g, warnings) = driver::load(&args.file)?;
    let file = nir::export::export(&g).map_err(|e| {
        let mut d = Diagnostic::error(
            "E0610",
            format!(
                "{} cannot be written as NIR: {}{}",
                args.file.display(),
                e.node
                    .map(|n| format!("{}: ", g.label(n)))
                    .unwrap_or_default(),
                e.message
            ),
        );
        if let Some(span) = e.node.and_then(|n| g.span(n)) {
            d = d.label(span, "this cannot be expressed in NIR");
        }
        Report {
            source: warnings.source.clone(),
            diags: vec![d],
        }
    })?;
    nir::file::write(&args.output, &file).map_err(|e| Report::error("E0202", e))?;
    eprintln!("wrote {}", args.output.display());
    Ok(warnings)
}
