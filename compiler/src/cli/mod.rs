//! The subcommands of `snnc`. Each module has clap `Args` and a `run` that
//! returns warnings on success or a report of errors.

pub mod accuracy;
pub mod bench;
pub mod bench_networks;
pub mod bench_runtime;
pub mod check;
pub mod compare;
pub mod compile;
pub mod constraints;
pub mod dump;
pub mod export;
pub mod fidelity;
pub mod import;
pub mod passes;
pub mod run;
pub mod sim;

use std::io::Write;
use std::path::Path;

use crate::driver::Report;

/// What a subcommand returns: warnings to show, or the errors that stopped it.
pub type Outcome = Result<Report, Report>;

/// Prints `text` to standard output. A reader that went away (`snnc
/// compare … | head`) is not an error: the rest is dropped quietly.
pub fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The stack of the thread that runs a command. Lowering, folding and the
/// IR walks recurse over expressions; the limits in `docs/language.md`
/// ("Limits") bound how deep, and `tests/robust.rs` runs a model at each
/// limit in a debug build (the largest frames) on a stack of this size. It
/// is reserved address space: only the pages a command touches are used.
pub const STACK_BYTES: usize = 256 << 20;

/// Makes a write to a closed pipe end the process quietly, as it ends
/// `cat` or `grep` (`snnc compare ... | head`), instead of a panic in
/// `print!`. Rust starts programs with `SIGPIPE` ignored; this restores
/// the default action.
pub fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default has no
    // preconditions; it runs before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs `f` on a thread with a [`STACK_BYTES`] stack and returns its
/// result (a panic in `f` is resumed here). If no such thread can be made,
/// runs `f` on the calling thread.
pub fn with_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let job = std::sync::Mutex::new(Some(f));
    let take = || {
        job.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    };
    let result = std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("snnc".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, || take().map(|f| f()));
        spawned.ok().map(|h| h.join())
    });
    match result {
        Some(Ok(Some(v))) => v,
        Some(Err(panic)) => std::panic::resume_unwind(panic),
        // No thread: the job is still in its slot.
        Some(Ok(None)) | None => match take() {
            Some(f) => f(),
            None => unreachable!("the job runs once"),
        },
    }
}

/// Writes `bytes` to `path` atomically: into a temporary file next to it,
/// then renamed, so that a failure never leaves a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Report> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail =
        |e: std::io::Error| Report::error("E0202", format!("cannot write {}: {e}", path.display()));
    // A device, a pipe or a socket (`/dev/null`, `/dev/stdout`) is written
    // straight into: renaming a file over it would replace the device.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(fail);
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}
