//! Errors of the array readers and writers, worded to be shown to a user as
//! they are: every [`ArrayError`] names the file (and the array, where there
//! is one).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Element;

/// Why an array file could not be read or written.
///
/// Cloneable (I/O errors are shared behind an `Arc`) so that a caller can
/// cache the result of [`open`](super::open) and report it at every use.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArrayError {
    /// The file does not exist.
    #[error("cannot open {}: no such file", .file.display())]
    NotFound {
        /// The path as given.
        file: PathBuf,
    },
    /// The extension is not one of `.npy`, `.npz`, `.safetensors`.
    #[error(
        "cannot read {}: unsupported file type; snnc reads .npy, .npz and .safetensors files",
        .file.display()
    )]
    UnsupportedFormat {
        /// The path as given.
        file: PathBuf,
    },
    /// Reading failed at the operating-system level.
    #[error("cannot read {}: {source}", .file.display())]
    Read {
        /// The path as given.
        file: PathBuf,
        /// What the operating system said.
        source: Arc<io::Error>,
    },
    /// Writing failed at the operating-system level (nothing was written).
    #[error("cannot write {}: {source}", .file.display())]
    Write {
        /// The path as given.
        file: PathBuf,
        /// What the operating system said.
        source: Arc<io::Error>,
    },
    /// The file (or one array in it) is not what its format says it must be.
    #[error("{} is malformed: {reason}", Place(.file, .name.as_deref()))]
    Malformed {
        /// The path as given.
        file: PathBuf,
        /// The array, when the problem is inside one array of an archive.
        name: Option<String>,
        /// What is wrong, e.g. `expected 40960 bytes of data, found 1200`.
        reason: String,
    },
    /// The array's element type is one snnc does not read (complex numbers,
    /// strings, objects, structured records, 8-bit floats, ...).
    #[error("{} has dtype {dtype}, which snnc cannot use", Place(.file, .name.as_deref()))]
    UnsupportedDtype {
        /// The path as given.
        file: PathBuf,
        /// The array's name (absent for a `.npy` file).
        name: Option<String>,
        /// The type as numpy (or safetensors) names it, e.g. `complex64`.
        dtype: String,
    },
    /// An unsigned 64-bit element is larger than `i64::MAX`, the largest
    /// integer an [`Array`](super::Array) holds.
    #[error(
        "{} holds {value} at {}, larger than the largest integer snnc reads ({})",
        Place(.file, .name.as_deref()),
        Position(.at),
        i64::MAX
    )]
    TooLarge {
        /// The path as given.
        file: PathBuf,
        /// The array's name (absent for a `.npy` file).
        name: Option<String>,
        /// Where the element is (one index per dimension).
        at: Vec<usize>,
        /// The element.
        value: u64,
    },
    /// The file has no array of this name.
    #[error("{} has no array `{name}`; {}", .file.display(), Available(.available))]
    MissingArray {
        /// The path as given.
        file: PathBuf,
        /// The name asked for.
        name: String,
        /// The names the file does have, in file order, for suggestions.
        available: Vec<String>,
    },
    /// Reading the array would take more memory than the budget allows
    /// (nothing was read).
    #[error("cannot read {}: {error}", Place(.file, .name.as_deref()))]
    Budget {
        /// The path as given.
        file: PathBuf,
        /// The array's name (absent for a `.npy` file).
        name: Option<String>,
        /// How much was asked, and the budget.
        error: snn_ir::budget::BudgetError,
    },
    /// An array handed to a writer cannot be written as it is (nothing was
    /// written).
    #[error("cannot write {}{}: {reason}", In(.name.as_deref()), .file.display())]
    Invalid {
        /// The path as given.
        file: PathBuf,
        /// The array at fault, if the problem concerns one array.
        name: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

/// Why [`Array::to_f32`](super::Array::to_f32) or
/// [`Array::to_i32`](super::Array::to_i32) failed.
///
/// The message is a predicate meant to follow the array's name, as in
/// "`W` in weights.npz *has dtype bool; float32 values are needed*".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The element type cannot be converted at all.
    #[error("has dtype {dtype}; {wanted} values are needed")]
    Dtype {
        /// The array's element type.
        dtype: Element,
        /// The type asked for (`float32` or `int32`).
        wanted: &'static str,
    },
    /// One element is outside the range of the type asked for.
    #[error("has value {value}{}, outside the range of {wanted}", At(.at))]
    OutOfRange {
        /// The element, formatted.
        value: String,
        /// Where it is (one index per dimension).
        at: Vec<usize>,
        /// The type asked for.
        wanted: &'static str,
    },
    /// An integer too large for `f32` to hold exactly.
    #[error(
        "has value {value}{}; float32 holds integers exactly only up to 16777216 in magnitude",
        At(.at)
    )]
    Inexact {
        /// The element.
        value: i64,
        /// Where it is (one index per dimension).
        at: Vec<usize>,
    },
}

/// `weights.npz` or ``` `W` in weights.npz ```.
struct Place<'a>(&'a Path, Option<&'a str>);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) => write!(f, "`{name}` in {}", self.0.display()),
            None => write!(f, "{}", self.0.display()),
        }
    }
}

/// ``` `W` to ``` or nothing.
struct In<'a>(Option<&'a str>);

impl fmt::Display for In<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "`{name}` to "),
            None => Ok(()),
        }
    }
}

/// `[1, 3]`.
struct Position<'a>(&'a [usize]);

impl fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{x}")?;
        }
        f.write_str("]")
    }
}

/// ` at [1, 3]`, or nothing for a 0-d array.
struct At<'a>(&'a [usize]);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " at {}", Position(self.0))
        }
    }
}

/// `it has W1, b1` (at most 10 names, then how many more).
struct Available<'a>(&'a [String]);

impl fmt::Display for Available<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        if self.0.is_empty() {
            return f.write_str("it has no arrays");
        }
        f.write_str("it has ")?;
        for (i, name) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{name}`")?;
        }
        if self.0.len() > SHOWN {
            write!(f, " and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Formats a shape or position as `[2, 3]`.
pub(super) fn bracketed(xs: &[usize]) -> String {
    Position(xs).to_string()
}

/// The file and (inside an archive) array being read or written; builds
/// errors that name both.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub file: &'a Path,
    pub name: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    /// Context for a whole file.
    pub fn file(file: &'a Path) -> Self {
        Ctx { file, name: None }
    }

    /// Context for one named array in `file`.
    pub fn array(file: &'a Path, name: &'a str) -> Self {
        Ctx {
            file,
            name: Some(name),
        }
    }

    fn name(&self) -> Option<String> {
        self.name.map(str::to_string)
    }

    pub fn malformed(&self, reason: impl Into<String>) -> ArrayError {
        ArrayError::Malformed {
            file: self.file.to_path_buf(),
            name: self.name(),
            reason: reason.into(),
        }
    }

    pub fn unsupported(&self, dtype: impl Into<String>) -> ArrayError {
        ArrayError::UnsupportedDtype {
            file: self.file.to_path_buf(),
            name: self.name(),
            dtype: dtype.into(),
        }
    }

    pub fn invalid(&self, reason: impl Into<String>) -> ArrayError {
        ArrayError::Invalid {
            file: self.file.to_path_buf(),
            name: self.name(),
            reason: reason.into(),
        }
    }

    /// An I/O error while reading. Corrupt compressed data and early ends
    /// of file are reported as malformed files, not as I/O failures.
    pub fn read(&self, e: io::Error) -> ArrayError {
        match e.kind() {
            io::ErrorKind::InvalidData => self.malformed(format!("corrupt data ({e})")),
            io::ErrorKind::UnexpectedEof => self.malformed("unexpected end of file"),
            _ => ArrayError::Read {
                file: self.file.to_path_buf(),
                source: Arc::new(e),
            },
        }
    }

    /// An I/O error while writing.
    pub fn write(&self, e: io::Error) -> ArrayError {
        ArrayError::Write {
            file: self.file.to_path_buf(),
            source: Arc::new(e),
        }
    }

    /// Checks that an array of `count` elements of `dtype`, held `copies`
    /// times over while it is decoded, fits in the memory budget.
    pub fn budget(
        &self,
        shape: &[usize],
        dtype: Element,
        count: usize,
        copies: u64,
    ) -> Result<(), ArrayError> {
        let per = match dtype {
            Element::Bool => 1,
            Element::F16 | Element::BF16 | Element::F32 => 4,
            _ => 8,
        };
        snn_ir::budget::check_elements(count as u128, per * copies, || {
            format!("its data ({} {})", dtype.name(), bracketed(shape))
        })
        .map_err(|error| ArrayError::Budget {
            file: self.file.to_path_buf(),
            name: self.name(),
            error,
        })
    }

    pub fn too_large(&self, at: Vec<usize>, value: u64) -> ArrayError {
        ArrayError::TooLarge {
            file: self.file.to_path_buf(),
            name: self.name(),
            at,
            value,
        }
    }
}
