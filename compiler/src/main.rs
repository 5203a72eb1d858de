//! The `snnc` command line.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use snnc::cli;

/// Counts what the process holds, so that the memory budget accounts for it.
#[global_allocator]
static ALLOC: snn_ir::budget::CountingAlloc = snn_ir::budget::CountingAlloc;

/// snnc compiles recurrent and spiking neural networks written in `.snn`
/// files for digital neuromorphic chips, and runs them.
#[derive(Parser)]
#[command(name = "snnc", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// The most memory snnc may use for tensors, neurons and recordings,
    /// e.g. `2G` or `512M` (K, M, G, T: powers of 1024). Default: half of
    /// the memory available when it starts.
    #[arg(long, global = true, value_name = "SIZE", value_parser = snn_ir::budget::parse_size)]
    max_memory: Option<u64>,
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
    Compare(cli::compare::CompareArgs),
    /// Convert a NIR file (snnTorch, Norse, ...) into editable `.snn` source.
    Import(cli::import::Args),
    /// Write a model in another format (NIR).
    Export(cli::export::Args),
    /// Measure the compiler and the reference on a large synthetic network.
    Bench(cli::bench::Args),
    /// Print the rules a chip imposes (weight levels, fan-in, value ranges),
    /// for training against them.
    Constraints(cli::constraints::Args),
}

fn main() -> ExitCode {
    cli::quiet_broken_pipe();
    let args = Cli::parse();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if let Some(bytes) = args.max_memory {
        snn_ir::budget::set_limit(bytes);
    }
    let result = cli::with_stack(move || match args.command {
        Command::Check(a) => cli::check::run(a),
        Command::Compile(a) => cli::compile::run(a),
        Command::DumpIr(a) => cli::dump::run(a),
        Command::Sim(a) => cli::sim::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Compare(a) => cli::compare::compare(a),
        Command::Bench(a) => cli::bench::run(a),
        Command::Import(a) => cli::import::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Constraints(a) => cli::constraints::run(a),
    });
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
