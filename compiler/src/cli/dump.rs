//! `snnc dump-ir FILE`: print the IR as text, RON or DOT, as lowered or
//! before/after any pass of a backend's pipeline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::ValueEnum;
use snn_ir::Graph;
use snn_ir::text::PrintOptions;

use super::passes::{self, PassArgs};
use super::{Outcome, write_atomic};
use crate::driver::{self, Report};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// The line-oriented text format; parses back with `snnc dump-ir a.ir`.
    Text,
    /// RON (serde), for tools.
    Ron,
    /// Graphviz DOT, for pictures.
    Dot,
}

#[derive(clap::Args)]
pub struct Args {
    /// The model: a `.snn` file or an `.ir` dump.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print the values of every tensor (the dump then stands alone).
    #[arg(long)]
    pub values: bool,
    /// Write to this file instead of standard output (a directory with
    /// `--after all`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Dump after this pass of the backend's pipeline; `all` writes one dump
    /// per pass into the `-o` directory.
    #[arg(
        long,
        value_name = "PASS",
        requires = "backend",
        conflicts_with = "before"
    )]
    pub after: Option<String>,
    /// Dump before this pass of the backend's pipeline.
    #[arg(long, value_name = "PASS", requires = "backend")]
    pub before: Option<String>,
    #[command(flatten)]
    pub passes: PassArgs,
}

fn render(g: &Graph, args: &Args) -> String {
    match args.format {
        Format::Text => snn_ir::text::print(
            g,
            PrintOptions {
                values: args.values,
            },
        ),
        Format::Ron => snn_ir::to_ron(g),
        Format::Dot => snn_ir::to_dot(g),
    }
}

fn extension(f: Format) -> &'static str {
    match f {
        Format::Text => "ir",
        Format::Ron => "ron",
        Format::Dot => "dot",
    }
}

pub fn run(mut args: Args) -> Outcome {
    args.passes.sample = passes::sample_input(&args.file, None);
    let start = Instant::now();
    let (g, mut report) = driver::load(&args.file)?;
    let lower_time = start.elapsed();
    let Some(target) = args.passes.target()? else {
        write(&args, &render(&g, &args))?;
        return Ok(report);
    };
    let pipeline = snn_passes::pipeline(target);
    for (flag, name) in [("--after", &args.after), ("--before", &args.before)] {
        if let Some(n) = name {
            let ok = pipeline.iter().any(|p| p.name == n) || (flag == "--after" && n == "all");
            if !ok {
                let names: Vec<&str> = pipeline.iter().map(|p| p.name).collect();
                return Err(Report::error(
                    "E0400",
                    format!(
                        "{flag} {n}: there is no such pass for {target}; the passes are {}{}",
                        names.join(", "),
                        if flag == "--after" { ", or all" } else { "" }
                    ),
                ));
            }
        }
    }
    let all = args.after.as_deref() == Some("all");
    let mut dumps: Vec<(String, String)> = Vec::new();
    if all {
        dumps.push(("lower".into(), render(&g, &args)));
    }
    // With --after PASS or --before PASS the pipeline ends there: the passes
    // after it cannot change (or fail) the dump asked for.
    let mut pass_args = args.passes.clone();
    pass_args.stop = match (&args.after, &args.before) {
        (Some(a), _) if !all => Some(snn_passes::Stop::After(a.clone())),
        (_, Some(b)) => Some(snn_passes::Stop::Before(b.clone())),
        _ => None,
    };
    let mut observe = |e: snn_passes::Event| {
        if let snn_passes::Event::After(name, g) = e
            && all
        {
            dumps.push((name.to_string(), render(g, &args)));
        }
    };
    let outcome = passes::run(g, target, &pass_args, &mut report, &mut observe);
    if args.passes.time_passes
        && let Ok(o) = &outcome
    {
        eprint!("{}", passes::timing(&o.reports, lower_time));
    }
    // Nothing is written when a pass fails.
    let Ok(outcome) = outcome else {
        return Err(report);
    };
    if all {
        let dir = args
            .output
            .clone()
            .unwrap_or_else(|| default_dir(&args.file));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Report::error("E0202", format!("cannot create {}: {e}", dir.display())))?;
        for (i, (name, text)) in dumps.iter().enumerate() {
            let path = dir.join(format!("{i:02}-{name}.{}", extension(args.format)));
            write_atomic(&path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
    } else {
        // The graph where the pipeline ended: after or before the pass
        // asked for, or after the whole pipeline.
        write(&args, &render(&outcome.graph, &args))?;
    }
    Ok(report)
}

fn default_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}.passes"))
}

fn write(args: &Args, text: &str) -> Result<(), Report> {
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
