//! The `snnc` command line.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use snnc::cli;

/// snnc compiles recurrent and spiking neural networks written in `.snn`
/// files for digital neuromorphic chips, and runs them.
#[derive(Parser)]
#[command(name = "snnc", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Read a model and report every problem in it (exit 1 if any).
    Check(cli::check::Args),
    /// Compile a model for a chip and report what each stage did.
    Compile(cli::compile::Args),
    /// Print the IR of a model (`.snn` source or `.ir` dump).
    #[command(name = "dump-ir")]
    DumpIr(cli::dump::Args),
    /// Run the float reference interpreter on an input array.
    Sim(cli::sim::Args),
    /// Run a chip configuration (from `compile -o DIR`) on the built-in runtime.
    Run(cli::run::Args),
    /// Compile, run the chip version and the float reference, and compare them.
    Compare(cli::run::CompareArgs),
    /// Measure the compiler and the reference on a large synthetic network.
    Bench(cli::bench::Args),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let result = match args.command {
        Command::Check(a) => cli::check::run(a),
        Command::Compile(a) => cli::compile::run(a),
        Command::DumpIr(a) => cli::dump::run(a),
        Command::Sim(a) => cli::sim::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Compare(a) => cli::run::compare(a),
        Command::Bench(a) => cli::bench::run(a),
    };
    match result {
        Ok(warnings) => {
            if !warnings.is_empty() {
                eprint!("{}", warnings.render(color));
            }
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprint!("{}", report.render(color));
            ExitCode::FAILURE
        }
    }
}
