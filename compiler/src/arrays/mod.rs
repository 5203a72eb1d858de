//! Numeric arrays in the files researchers keep weights in: `.npy`, `.npz`
//! and `.safetensors`, read into [`Array`]s and written back.
//!
//! Reading goes through [`open`], which picks the format by extension and
//! gives an [`ArrayFile`]: its array [names](ArrayFile::names) and each array
//! [by name](ArrayFile::get). [`read_npy`] reads a lone `.npy` file directly.
//! Writing: [`write_npy`], [`write_npz`] (and [`write_npz_compressed`]),
//! [`write_safetensors`], each atomic (a temporary file in the same
//! directory, renamed into place, so an error never leaves a partial file).
//!
//! Invariants:
//! - an [`Array`] read from a file has `shape.iter().product() ==
//!   values.len()`, values in C (row-major) order, and `values` of the kind
//!   its `dtype` calls for (see [`Values`]);
//! - data is decoded in bounded chunks straight into the final `Vec`, so a
//!   large array is held once (twice only while a Fortran-order array is
//!   reordered);
//! - nothing in a file can make these readers panic; every problem is an
//!   [`ArrayError`] that names the file.

mod atomic;
mod codec;
mod error;
mod npy;
mod npz;
mod safetensors;

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

pub use error::{ArrayError, ConvertError};
pub use npy::{read_npy, write_npy};
pub use npz::{write_npz, write_npz_compressed};
pub use safetensors::write_safetensors;

use codec::position;
use error::Ctx;

/// The element type of an array as its file stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Element {
    /// IEEE half precision (`float16`).
    F16,
    /// Brain floating point (`bfloat16`; safetensors only, numpy has none).
    BF16,
    /// IEEE single precision (`float32`).
    F32,
    /// IEEE double precision (`float64`).
    F64,
    /// `int8`.
    I8,
    /// `int16`.
    I16,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64` (values above `i64::MAX` are refused when reading).
    U64,
    /// `bool`, one byte per element (0 is false, anything else true).
    Bool,
}

impl Element {
    /// Every element type, floats first.
    pub const ALL: [Element; 13] = [
        Element::F16,
        Element::BF16,
        Element::F32,
        Element::F64,
        Element::I8,
        Element::I16,
        Element::I32,
        Element::I64,
        Element::U8,
        Element::U16,
        Element::U32,
        Element::U64,
        Element::Bool,
    ];

    /// The numpy name: `float32`, `int64`, `bfloat16`, `bool`, ...
    pub fn name(self) -> &'static str {
        match self {
            Element::F16 => "float16",
            Element::BF16 => "bfloat16",
            Element::F32 => "float32",
            Element::F64 => "float64",
            Element::I8 => "int8",
            Element::I16 => "int16",
            Element::I32 => "int32",
            Element::I64 => "int64",
            Element::U8 => "uint8",
            Element::U16 => "uint16",
            Element::U32 => "uint32",
            Element::U64 => "uint64",
            Element::Bool => "bool",
        }
    }

    /// Bytes per element in a file.
    pub fn size(self) -> usize {
        match self {
            Element::I8 | Element::U8 | Element::Bool => 1,
            Element::F16 | Element::BF16 | Element::I16 | Element::U16 => 2,
            Element::F32 | Element::I32 | Element::U32 => 4,
            Element::F64 | Element::I64 | Element::U64 => 8,
        }
    }

    /// Whether this is one of the integer types (held as [`Values::Int`]).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Element::I8
                | Element::I16
                | Element::I32
                | Element::I64
                | Element::U8
                | Element::U16
                | Element::U32
                | Element::U64
        )
    }

    /// Whether this is one of the floating-point types.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            Element::F16 | Element::BF16 | Element::F32 | Element::F64
        )
    }

    /// The values an integer type holds, as far as `i64` reaches (`u64`
    /// stops at `i64::MAX`). Not meaningful for other types.
    fn int_range(self) -> (i64, i64) {
        match self {
            Element::I8 => (i8::MIN.into(), i8::MAX.into()),
            Element::I16 => (i16::MIN.into(), i16::MAX.into()),
            Element::I32 => (i32::MIN.into(), i32::MAX.into()),
            Element::U8 => (0, u8::MAX.into()),
            Element::U16 => (0, u16::MAX.into()),
            Element::U32 => (0, u32::MAX.into()),
            Element::U64 => (0, i64::MAX),
            _ => (i64::MIN, i64::MAX),
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The elements of an array, in C order. Which variant goes with which
/// [`Element`]: `F32` for `float16`, `bfloat16` and `float32` (converted
/// exactly), `F64` for `float64`, `Int` for every integer type (`uint64`
/// values above `i64::MAX` are refused when reading), `Bool` for `bool`.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// `float16`, `bfloat16` or `float32` elements.
    F32(Vec<f32>),
    /// `float64` elements.
    F64(Vec<f64>),
    /// Integer elements of any width.
    Int(Vec<i64>),
    /// `bool` elements.
    Bool(Vec<bool>),
}

impl Values {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The variant's name: `F32`, `F64`, `Int` or `Bool`.
    pub fn kind(&self) -> &'static str {
        match self {
            Values::F32(_) => "F32",
            Values::F64(_) => "F64",
            Values::Int(_) => "Int",
            Values::Bool(_) => "Bool",
        }
    }
}

/// A dense array read from (or to be written to) a file.
///
/// Writers check that the fields agree (shape against length, dtype
/// against values, every value within the dtype's range) and report an
/// [`ArrayError::Invalid`] otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Dimensions; empty for a scalar (0-d array, one element).
    pub shape: Vec<usize>,
    /// The element type in the file.
    pub dtype: Element,
    /// The elements in C (row-major) order.
    pub values: Values,
}

impl Array {
    /// A `float32` array.
    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> Array {
        Array {
            shape,
            dtype: Element::F32,
            values: Values::F32(values),
        }
    }

    /// An `int32` array (held as `i64`, written as `int32`).
    pub fn i32(shape: Vec<usize>, values: Vec<i32>) -> Array {
        Array {
            shape,
            dtype: Element::I32,
            values: Values::Int(values.into_iter().map(i64::from).collect()),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values as `f32`: floats (a `float64` that is finite but beyond
    /// the range of `f32` is an error; others are rounded to nearest), and
    /// integers of magnitude at most 2^24 (which `f32` holds exactly).
    /// `bool` arrays are a dtype error.
    pub fn to_f32(&self) -> Result<Vec<f32>, ConvertError> {
        match &self.values {
            Values::F32(v) => Ok(v.clone()),
            _ => self.convert_f32(),
        }
    }

    /// Like [`to_f32`](Self::to_f32), but hands over `f32` values without
    /// copying them.
    pub fn into_f32(self) -> Result<Vec<f32>, ConvertError> {
        match self.values {
            Values::F32(v) => Ok(v),
            _ => self.convert_f32(),
        }
    }

    /// [`to_f32`](Self::to_f32) for every kind of values but `F32`.
    fn convert_f32(&self) -> Result<Vec<f32>, ConvertError> {
        const EXACT: i64 = 1 << 24;
        match &self.values {
            Values::F32(v) => Ok(v.clone()),
            Values::F64(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let y = x as f32;
                    if x.is_finite() && y.is_infinite() {
                        Err(ConvertError::OutOfRange {
                            value: format!("{x:?}"),
                            at: position(&self.shape, i),
                            wanted: "float32",
                        })
                    } else {
                        Ok(y)
                    }
                })
                .collect(),
            Values::Int(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if (-EXACT..=EXACT).contains(&x) {
                        Ok(x as f32)
                    } else {
                        Err(ConvertError::Inexact {
                            value: x,
                            at: position(&self.shape, i),
                        })
                    }
                })
                .collect(),
            Values::Bool(_) => Err(ConvertError::Dtype {
                dtype: self.dtype,
                wanted: "float32",
            }),
        }
    }

    /// The values as `i32`: integer arrays only (floats and `bool` are a
    /// dtype error), each value within the range of `i32`.
    pub fn to_i32(&self) -> Result<Vec<i32>, ConvertError> {
        let Values::Int(v) = &self.values else {
            return Err(ConvertError::Dtype {
                dtype: self.dtype,
                wanted: "int32",
            });
        };
        v.iter()
            .enumerate()
            .map(|(i, &x)| {
                i32::try_from(x).map_err(|_| ConvertError::OutOfRange {
                    value: x.to_string(),
                    at: position(&self.shape, i),
                    wanted: "int32",
                })
            })
            .collect()
    }
}

/// The file formats, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `.npy`: one numpy array.
    Npy,
    /// `.npz`: a zip of `.npy` files (numpy's `savez`, `savez_compressed`).
    Npz,
    /// `.safetensors`: a JSON header and little-endian tensors.
    Safetensors,
}

impl Format {
    /// The format a path's extension names (ASCII case-insensitive), if any.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Format::Npy),
            "npz" => Some(Format::Npz),
            "safetensors" => Some(Format::Safetensors),
            _ => None,
        }
    }

    /// The extension without its dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Npy => "npy",
            Format::Npz => "npz",
            Format::Safetensors => "safetensors",
        }
    }
}

/// An opened array file: lists its arrays and reads them one at a time.
///
/// Names are in file order: for `.npz` the order of the archive's entries
/// (numpy writes them in the order given to `savez`), for `.safetensors`
/// the order of the tensors' data in the file. A `.npy` file holds one
/// array, named by the file stem (`weights` for `weights.npy`); [`get`]
/// also accepts the empty name for it.
///
/// [`get`]: ArrayFile::get
pub struct ArrayFile {
    path: PathBuf,
    source: Source,
}

/// The format-specific reader behind an [`ArrayFile`].
enum Source {
    Npy(npy::NpyFile),
    Npz(npz::NpzFile),
    Safetensors(safetensors::SafetensorsFile),
}

impl fmt::Debug for ArrayFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayFile")
            .field("path", &self.path)
            .field("format", &self.format())
            .field("names", &self.names())
            .finish()
    }
}

/// Opens an array file, choosing the format by extension (`.npy`, `.npz`,
/// `.safetensors`), and reads its index: the header of a `.npy` file, the
/// directory of a `.npz` archive, the header of a `.safetensors` file. The
/// arrays themselves are read by [`ArrayFile::get`].
pub fn open(path: &Path) -> Result<ArrayFile, ArrayError> {
    let Some(format) = Format::of(path) else {
        return Err(ArrayError::UnsupportedFormat {
            file: path.to_path_buf(),
        });
    };
    let file = open_file(path)?;
    let source = match format {
        Format::Npy => Source::Npy(npy::NpyFile::open(path, file)?),
        Format::Npz => Source::Npz(npz::NpzFile::open(path, file)?),
        Format::Safetensors => Source::Safetensors(safetensors::SafetensorsFile::open(path, file)?),
    };
    Ok(ArrayFile {
        path: path.to_path_buf(),
        source,
    })
}

impl ArrayFile {
    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        match self.source {
            Source::Npy(_) => Format::Npy,
            Source::Npz(_) => Format::Npz,
            Source::Safetensors(_) => Format::Safetensors,
        }
    }

    /// The names of the arrays, in file order (see [`ArrayFile`]).
    pub fn names(&self) -> Vec<String> {
        match &self.source {
            Source::Npy(f) => vec![f.name().to_string()],
            Source::Npz(f) => f.names(),
            Source::Safetensors(f) => f.names(),
        }
    }

    /// Whether the file holds exactly one array (always so for `.npy`), so
    /// that a caller may read it without naming it.
    pub fn is_single(&self) -> bool {
        match &self.source {
            Source::Npy(_) => true,
            Source::Npz(f) => f.len() == 1,
            Source::Safetensors(f) => f.len() == 1,
        }
    }

    /// Whether the file has an array of this name.
    pub fn contains(&self, name: &str) -> bool {
        match &self.source {
            Source::Npy(f) => name.is_empty() || name == f.name(),
            Source::Npz(f) => f.contains(name),
            Source::Safetensors(f) => f.contains(name),
        }
    }

    /// The shape and element type of the array `name`, read from its header
    /// without its data (so that a caller can check them before paying for
    /// the data). A missing name is an [`ArrayError::MissingArray`].
    pub fn header(&mut self, name: &str) -> Result<(Vec<usize>, Element), ArrayError> {
        if !self.contains(name) {
            return Err(ArrayError::MissingArray {
                file: self.path.clone(),
                name: name.to_string(),
                available: self.names(),
            });
        }
        match &mut self.source {
            Source::Npy(f) => f.header(&self.path),
            Source::Npz(f) => f.header(&self.path, name),
            Source::Safetensors(f) => f.header(&self.path, name),
        }
    }

    /// Reads the array `name`. A missing name is an
    /// [`ArrayError::MissingArray`] that lists the names there are.
    pub fn get(&mut self, name: &str) -> Result<Array, ArrayError> {
        if !self.contains(name) {
            return Err(ArrayError::MissingArray {
                file: self.path.clone(),
                name: name.to_string(),
                available: self.names(),
            });
        }
        match &mut self.source {
            Source::Npy(f) => f.read(&self.path),
            Source::Npz(f) => f.read(&self.path, name),
            Source::Safetensors(f) => f.read(&self.path, name),
        }
    }
}

/// Opens `path` for reading: a missing file is [`ArrayError::NotFound`], a
/// directory is a read error.
fn open_file(path: &Path) -> Result<File, ArrayError> {
    let ctx = Ctx::file(path);
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ArrayError::NotFound {
            file: path.to_path_buf(),
        },
        _ => ctx.read(e),
    })?;
    let meta = file.metadata().map_err(|e| ctx.read(e))?;
    if meta.is_dir() {
        return Err(ctx.read(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    Ok(file)
}

/// Checks the names given to an archive writer: each at most once.
fn check_unique(path: &Path, arrays: &[(&str, &Array)]) -> Result<(), ArrayError> {
    let mut seen = std::collections::HashSet::new();
    for (name, _) in arrays {
        if !seen.insert(*name) {
            return Err(Ctx::file(path).invalid(format!("the name `{name}` appears twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testdir;

#[cfg(test)]
mod tests;
