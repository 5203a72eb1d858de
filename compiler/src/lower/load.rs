//! `load("file", "name")`: tensors from `.npy`, `.npz` and `.safetensors`
//! files next to the `.snn` file, and the loader that IR dumps use to read
//! the same files back.

use std::path::{Path, PathBuf};

use snn_ir::Tensor;
use snn_ir::tensor::{Origin, Values};

use super::value::{CTensor, CVal};
use super::{Lowerer, Mode, Val};
use crate::arrays::{self, Array, ArrayError, ArrayFile};
use crate::diag::{Diagnostic, did_you_mean};
use crate::syntax::ast::{Arg, Name};

/// An opened tensor file, or why it could not be opened (kept so that every
/// `load` of a missing file reports once per use, with the same reason).
pub(super) type OpenFile = Result<ArrayFile, ArrayError>;

/// What became of an array: a scalar, a tensor, or why neither.
enum Converted {
    Scalar(f64),
    Tensor(Tensor),
}

/// Makes an IR tensor (or a scalar, for a 0-d array) from a file's array.
fn convert(array: Array, origin: Origin) -> Result<Converted, String> {
    let shape: Vec<u32> = array
        .shape
        .iter()
        .map(|&d| u32::try_from(d).map_err(|_| format!("dimension {d} is too large")))
        .collect::<Result<_, _>>()?;
    let dtype = array.dtype;
    if shape.len() > 2 {
        return Err(format!(
            "has {} dimensions ({:?}); snnc uses vectors and [rows, cols] matrices",
            shape.len(),
            shape
        ));
    }
    let values = match &array.values {
        arrays::Values::Int(_) => Values::I32(array.to_i32().map_err(|e| e.to_string())?.into()),
        arrays::Values::Bool(_) => {
            return Err(format!("has dtype {dtype}; tensors must hold numbers"));
        }
        _ => Values::F32(array.to_f32().map_err(|e| e.to_string())?.into()),
    };
    if shape.is_empty() {
        let v = match &values {
            Values::F32(v) => v[0] as f64,
            Values::I32(v) => v[0] as f64,
        };
        return Ok(Converted::Scalar(v));
    }
    Tensor::dense(shape, values, origin)
        .map(Converted::Tensor)
        .map_err(|e| e.0)
}

impl Lowerer<'_> {
    pub(super) fn load_call(&mut self, func: &Name, args: &[Arg]) -> Val {
        // The shape the enclosing `const` declares, if this load is its value.
        let hint = self.load_hint.take();
        let Some(b) = self.bind(func, args, &["path", "name"], 1) else {
            return Val::Err;
        };
        let path_e = b[0].expect("required");
        let Val::C(CVal::Str(path)) = self.expr(path_e, Mode::Const) else {
            let d = Diagnostic::error("E0109", "`load` needs a file name in quotes")
                .label(path_e.span, "not a string")
                .help("write `load(\"weights.npz\", \"W1\")`");
            self.error(d);
            return Val::Err;
        };
        let key = match b[1] {
            Some(e) => match self.expr(e, Mode::Const) {
                Val::C(CVal::Str(k)) => Some((k, e.span)),
                _ => {
                    let d = Diagnostic::error("E0109", "the array name in `load` must be a string")
                        .label(e.span, "not a string");
                    self.error(d);
                    return Val::Err;
                }
            },
            None => None,
        };
        let full = self.base.join(&path);
        let opened = self
            .files
            .entry(full.clone())
            .or_insert_with(|| arrays::open(&full));
        let file = match opened {
            Ok(f) => f,
            Err(e) => {
                let e = e.clone();
                let d = match e {
                    ArrayError::NotFound { .. } => {
                        Diagnostic::error("E0120", format!("missing weight file `{path}`"))
                            .label(path_e.span, format!("no file at {}", full.display()))
                            .help("paths are relative to the directory of the .snn file")
                    }
                    other => Diagnostic::error("E0123", format!("cannot read `{path}`"))
                        .label(path_e.span, other.to_string()),
                };
                self.error(d);
                return Val::Err;
            }
        };
        let names = file.names();
        let name = match &key {
            Some((k, _)) => k.clone(),
            None if file.is_single() => names.first().cloned().unwrap_or_default(),
            None => {
                let d =
                    Diagnostic::error("E0121", format!("`{path}` holds several arrays; say which"))
                        .label(func.span, "no array name")
                        .help(format!(
                            "write `load(\"{path}\", \"{}\")`",
                            names.first().map(String::as_str).unwrap_or("name")
                        ))
                        .note(format!("the file has: {}", list(&names)));
                self.error(d);
                return Val::Err;
            }
        };
        // Check a declared shape against the header before reading the data.
        if let Some(hint) = hint
            && let Ok((shape, dtype)) = file.header(&name)
            && !shape
                .iter()
                .map(|&d| d as u64)
                .eq(hint.dims.iter().map(|&d| d as u64))
        {
            let span = key.as_ref().map_or(path_e.span, |(_, s)| *s);
            let what = match &key {
                Some((k, _)) => format!("`{k}` in {path}"),
                None => path.clone(),
            };
            let shown = format!("{shape:?}");
            let d = Diagnostic::error(
                "E0122",
                format!(
                    "shape mismatch: {what} has shape {shown}, but `{}` is declared {}",
                    hint.name,
                    snn_ir::tensor::ShapeFmt(&hint.dims)
                ),
            )
            .label(span, format!("{dtype} {shown}"))
            .label(
                hint.shape_span,
                format!("declared {}", snn_ir::tensor::ShapeFmt(&hint.dims)),
            );
            self.error(d);
            return Val::Err;
        }
        let array = match file.get(&name) {
            Ok(a) => a,
            Err(ArrayError::MissingArray { available, .. }) => {
                let span = key.as_ref().map_or(func.span, |(_, s)| *s);
                let mut d =
                    Diagnostic::error("E0121", format!("missing tensor `{name}` in `{path}`"))
                        .label(span, "no array with this name");
                if let Some(s) = did_you_mean(&name, available.iter().map(String::as_str)) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                d = d.note(format!("the file has: {}", list(&available)));
                self.error(d);
                return Val::Err;
            }
            Err(ArrayError::Budget { error, .. }) => {
                let d = Diagnostic::error(
                    "E0206",
                    format!("cannot read `{name}` from `{path}`: {error}"),
                )
                .label(key.as_ref().map_or(path_e.span, |(_, s)| *s), "this array")
                .help("raise the budget with --max-memory, or load a smaller array");
                self.error(d);
                return Val::Err;
            }
            Err(e) => {
                let d = Diagnostic::error("E0123", format!("cannot read `{name}` from `{path}`"))
                    .label(key.as_ref().map_or(path_e.span, |(_, s)| *s), e.to_string());
                self.error(d);
                return Val::Err;
            }
        };
        let origin = Origin::File {
            path: path.clone(),
            key: key.as_ref().map(|(k, _)| k.clone()),
        };
        let dtype = array.dtype;
        match convert(array, origin) {
            Ok(Converted::Scalar(v)) => Val::C(CVal::Num(v, 0)),
            Ok(Converted::Tensor(t)) => Val::C(CVal::Tensor(CTensor::new(t), 0)),
            Err(why) => {
                let span = key.as_ref().map_or(path_e.span, |(_, s)| *s);
                let d = Diagnostic::error(
                    "E0122",
                    format!("wrong tensor dtype or shape: `{name}` in `{path}` {why}"),
                )
                .label(span, format!("dtype {dtype}"));
                self.error(d);
                Val::Err
            }
        }
    }
}

/// `a, b, c` (at most 12 names).
fn list(names: &[String]) -> String {
    if names.len() > 12 {
        format!("{}, … ({} arrays)", names[..12].join(", "), names.len())
    } else {
        names.join(", ")
    }
}

/// Reads the tensors an IR dump names with `load(...)`. A path is relative
/// to the directory of the dump's `source` file; a relative `source` is
/// looked for first from the dump's own directory, then from the current
/// one (where a dump printed to standard output was made).
#[derive(Default)]
pub struct FileLoader {
    /// The directory of the dump being read.
    dump_dir: PathBuf,
    files: std::collections::HashMap<PathBuf, ArrayFile>,
}

impl FileLoader {
    /// A loader for the dump at `dump`.
    pub fn for_dump(dump: &Path) -> Self {
        FileLoader {
            dump_dir: dump.parent().map(Path::to_path_buf).unwrap_or_default(),
            files: Default::default(),
        }
    }
}

impl snn_ir::text::TensorLoader for FileLoader {
    fn load(
        &mut self,
        source: Option<&str>,
        path: &str,
        key: Option<&str>,
    ) -> Result<Tensor, String> {
        let base = source
            .and_then(|s| Path::new(s).parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let beside_dump = self.dump_dir.join(&base).join(path);
        let full = if beside_dump.exists() {
            beside_dump
        } else {
            base.join(path)
        };
        if !self.files.contains_key(&full) {
            let f = arrays::open(&full).map_err(|e| e.to_string())?;
            self.files.insert(full.clone(), f);
        }
        let file = self.files.get_mut(&full).expect("inserted above");
        let name = match key {
            Some(k) => k.to_string(),
            None => file.names().first().cloned().unwrap_or_default(),
        };
        let array = file.get(&name).map_err(|e| e.to_string())?;
        let origin = Origin::File {
            path: path.to_string(),
            key: key.map(str::to_string),
        };
        match convert(array, origin)? {
            Converted::Tensor(t) => Ok(t),
            Converted::Scalar(_) => Err(format!("`{name}` in {path} is a scalar, not a tensor")),
        }
    }
}
