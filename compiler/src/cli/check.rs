//! `snnc check FILE`: read a model, report problems, summarise it.

use std::path::PathBuf;

use snn_ir::{Graph, Op};

use super::Outcome;
use crate::driver;

#[derive(clap::Args)]
pub struct Args {
    /// The model: a `.snn` file (or an `.ir` dump).
    pub file: PathBuf,
}

pub fn run(args: Args) -> Outcome {
    let (g, warnings) = driver::load(&args.file)?;
    println!("{}: ok", args.file.display());
    println!("  {}", summary(&g));
    Ok(warnings)
}

/// One line: time step, inputs, neurons, synapses (nonzero weights, as the
/// passes and placement count them), states, outputs.
pub fn summary(g: &Graph) -> String {
    let mut inputs = 0u64;
    let mut input_width = 0u64;
    let mut pops = 0u64;
    let mut neurons = 0u64;
    let mut projections = 0u64;
    let mut synapses = 0u64;
    let mut states = 0u64;
    let mut outputs = 0u64;
    for n in g.nodes() {
        match g.op(n) {
            Op::Input { size, .. } => {
                inputs += 1;
                input_width += *size as u64;
            }
            Op::Population(p) => {
                pops += 1;
                neurons += p.size as u64;
            }
            Op::Project(p) => {
                projections += 1;
                synapses += g.tensor(p.weights).nonzeros();
            }
            Op::State { .. } => states += 1,
            Op::Output { .. } => outputs += 1,
            _ => {}
        }
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "timestep {}; {} ({} columns), {} ({} neurons), {} ({} synapses), {}, {}",
        g.timestep,
        plural(inputs, "input", "inputs"),
        input_width,
        plural(pops, "population", "populations"),
        neurons,
        plural(projections, "projection", "projections"),
        synapses,
        plural(states, "state", "states"),
        plural(outputs, "output", "outputs"),
    )
}
