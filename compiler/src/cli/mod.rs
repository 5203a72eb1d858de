//! The subcommands of `snnc`. Each module has clap `Args` and a `run` that
//! returns warnings on success or a report of errors.

pub mod bench;
pub mod check;
pub mod compile;
pub mod dump;
pub mod passes;
pub mod run;
pub mod sim;

use std::io::Write;
use std::path::Path;

use crate::driver::Report;

/// What a subcommand returns: warnings to show, or the errors that stopped it.
pub type Outcome = Result<Report, Report>;

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
