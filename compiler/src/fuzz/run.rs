//! Running a case in-process: its files written, its command lines parsed
//! as the binary parses them and run on the command stack, the outcome
//! classified (a panic caught and its message kept).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;

use clap::Parser;

use super::case::{Case, CaseFile};
use crate::cli;
use crate::driver::Report;

/// How a case ended, in-process. (Aborts, stack overflows, timeouts and
/// memory are seen from outside the process, by the `fuzz` example.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The first error code reported.
    Error(String),
    /// A panic, with its message.
    Panic(String),
}

impl Outcome {
    /// `ok`, `error E0102`, `panic`.
    pub fn key(&self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Error(code) => format!("error {code}"),
            Outcome::Panic(_) => "panic".into(),
        }
    }
}

/// Writes the files of a case into `dir` (made if needed; files there from
/// an earlier case are removed first).
pub fn write_files(dir: &Path, files: &[(String, CaseFile)]) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    let _ = std::fs::create_dir_all(dir);
    for (name, f) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        // Never write through what is there: it may be a link to a seed.
        if std::fs::symlink_metadata(&path).is_ok() {
            let _ = std::fs::remove_file(&path);
        }
        match f {
            CaseFile::Data(d) => {
                let _ = std::fs::write(&path, d);
            }
            CaseFile::Link(target) => {
                #[cfg(unix)]
                let _ = std::os::unix::fs::symlink(target, &path);
                #[cfg(not(unix))]
                let _ = std::fs::copy(target, &path);
            }
        }
    }
}

/// The commands `snnc` has, for parsing a case's command lines exactly as
/// the binary does.
#[derive(Parser)]
#[command(name = "snnc")]
struct Line {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    Check(cli::check::Args),
    Compile(cli::compile::Args),
    #[command(name = "dump-ir")]
    DumpIr(cli::dump::Args),
    Sim(cli::sim::Args),
    Run(cli::run::Args),
    Compare(cli::compare::CompareArgs),
}

/// Runs one command line (without `snnc`) in-process, on a thread with
/// the command stack ([`cli::with_stack`]). A command line clap refuses
/// is `error usage`.
pub fn run_line(args: &[String]) -> Outcome {
    let line =
        match Line::try_parse_from(std::iter::once("snnc".to_string()).chain(args.iter().cloned()))
        {
            Ok(l) => l,
            Err(_) => return Outcome::Error("usage".into()),
        };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        cli::with_stack(move || match line.command {
            Command::Check(a) => cli::check::run(a),
            Command::Compile(a) => cli::compile::run(a),
            Command::DumpIr(a) => cli::dump::run(a),
            Command::Sim(a) => cli::sim::run(a),
            Command::Run(a) => cli::run::run(a),
            Command::Compare(a) => cli::compare::compare(a),
        })
    }));
    match result {
        Ok(Ok(_)) => Outcome::Ok,
        Ok(Err(report)) => Outcome::Error(first_code(&report)),
        Err(_) => Outcome::Panic(last_panic()),
    }
}

fn first_code(report: &Report) -> String {
    report
        .diags
        .iter()
        .find(|d| d.is_error())
        .map_or("none", |d| d.code)
        .to_string()
}

/// Runs a case in `dir`: writes its files, then its commands in order until
/// one does not succeed.
pub fn run_case(case: &Case, dir: &Path) -> Outcome {
    write_files(dir, &case.files);
    let d = dir.to_string_lossy();
    let mut last = Outcome::Ok;
    for command in &case.commands {
        let args: Vec<String> = command.iter().map(|a| a.replace("{dir}", &d)).collect();
        last = run_line(&args);
        if last != Outcome::Ok {
            break;
        }
    }
    last
}

static PANIC: Mutex<String> = Mutex::new(String::new());

/// Replaces the panic hook with one that keeps the message (for
/// [`Outcome::Panic`]) instead of printing it.
pub fn keep_panic_messages() {
    std::panic::set_hook(Box::new(|info| {
        let msg = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default(),
        };
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut p) = PANIC.lock() {
            *p = format!("{msg}{at}");
        }
    }));
}

fn last_panic() -> String {
    PANIC.lock().map(|p| p.clone()).unwrap_or_default()
}
