//! Atomic file writes: write a temporary file beside the target, then
//! rename it over the target, so that readers see the old file or the
//! whole new one, and an error leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{ArrayError, Ctx};

/// Distinguishes temporary files of concurrent writes in one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Removes the temporary file unless the write went through.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: the error being reported matters more.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `path` atomically: `body` writes the contents into a fresh
/// temporary file in the same directory, which is synced and renamed onto
/// `path` only if `body` succeeds.
pub(super) fn write_atomically(
    path: &Path,
    body: impl FnOnce(&mut File) -> Result<(), ArrayError>,
) -> Result<(), ArrayError> {
    let ctx = Ctx::file(path);
    // A device, a pipe or a socket (`/dev/null`, `/dev/stdout`, a FIFO) is
    // written straight into: renaming a file over it would replace the
    // device itself with a plain file.
    if let Ok(meta) = fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| ctx.write(e))?;
        return body(&mut file);
    }
    let Some(file_name) = path.file_name() else {
        return Err(ctx.write(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file name",
        )));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (mut file, mut temp) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(
            ".{}.{}-{n}.tmp",
            file_name.to_string_lossy(),
            std::process::id()
        ));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(f) => {
                break (
                    f,
                    Temp {
                        path: temp,
                        keep: false,
                    },
                );
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ctx.write(e)),
        }
    };
    body(&mut file)?;
    file.sync_all().map_err(|e| ctx.write(e))?;
    drop(file);
    fs::rename(&temp.path, path).map_err(|e| ctx.write(e))?;
    temp.keep = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrays::testdir::TestDir;

    #[test]
    fn a_failed_write_leaves_neither_target_nor_temporary_file() {
        let dir = TestDir::new("atomic-fail");
        let target = dir.path().join("out.bin");
        let err = write_atomically(&target, |f| {
            io::Write::write_all(f, b"partial").map_err(|e| Ctx::file(&target).write(e))?;
            Err(Ctx::file(&target).invalid("stop"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: stop", target.display())
        );
        assert!(!target.exists());
        assert_eq!(dir.entries(), Vec::<String>::new());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = TestDir::new("atomic-keep");
        let target = dir.path().join("out.bin");
        fs::write(&target, b"old").unwrap();
        let result = write_atomically(&target, |_| Err(Ctx::file(&target).invalid("stop")));
        assert!(result.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(dir.entries(), vec!["out.bin".to_string()]);
    }

    #[test]
    fn a_successful_write_replaces_the_file() {
        let dir = TestDir::new("atomic-ok");
        let target = dir.path().join("out.bin");
        fs::write(&target, b"old").unwrap();
        write_atomically(&target, |f| {
            io::Write::write_all(f, b"new").map_err(|e| Ctx::file(&target).write(e))
        })
        .unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(dir.entries(), vec!["out.bin".to_string()]);
    }

    #[test]
    fn a_device_is_written_into_not_replaced() {
        let path = Path::new("/dev/null");
        write_atomically(path, |f| {
            use std::io::Write;
            f.write_all(b"discarded")
                .map_err(|e| Ctx::file(path).write(e))
        })
        .unwrap();
        let meta = fs::metadata(path).unwrap();
        assert!(!meta.is_file(), "/dev/null must stay a device");
        assert_eq!(fs::read(path).unwrap(), b"");
    }

    #[test]
    fn a_missing_directory_is_a_write_error() {
        let dir = TestDir::new("atomic-nodir");
        let target = dir.path().join("no/such/dir/out.bin");
        let err = write_atomically(&target, |_| Ok(())).unwrap_err();
        assert!(matches!(err, ArrayError::Write { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write {}: ", target.display())),
            "{err}"
        );
    }
}
