//! NIR files as HDF5: a tree of groups and datasets, read and written with
//! the pure-Rust `hdf5-pure` crate (no libhdf5, no Python).
//!
//! A NIR file holds a `version` string and a group `node` (the top
//! `NIRGraph`). This module knows only the tree: groups of named entries,
//! each a numeric array (with its shape), a string array, or a group. What
//! the entries mean is `nodes.rs`'s business.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure::{DType, Dataset, File, FileBuilder, Group as H5Group};

/// One entry of a group.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A numeric dataset, read as `f64` (integers are exact up to 2^53),
    /// and how it is stored.
    Numbers {
        shape: Vec<usize>,
        values: Vec<f64>,
        kind: Num,
    },
    /// A string dataset (a scalar string has shape `[]`).
    Text {
        shape: Vec<usize>,
        values: Vec<String>,
    },
    Group(Tree),
}

/// How numbers are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Num {
    F32,
    F64,
    Int,
}

/// A group: entries by name, in name order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
}

impl Tree {
    /// The entry `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// Adds a numeric array stored as `kind`.
    pub fn numbers(&mut self, name: &str, shape: Vec<usize>, values: Vec<f64>, kind: Num) {
        self.entries.insert(
            name.into(),
            Entry::Numbers {
                shape,
                values,
                kind,
            },
        );
    }

    /// Adds a scalar string.
    pub fn text(&mut self, name: &str, value: &str) {
        self.entries.insert(
            name.into(),
            Entry::Text {
                shape: vec![],
                values: vec![value.into()],
            },
        );
    }

    /// Adds a subgroup.
    pub fn group(&mut self, name: &str, tree: Tree) {
        self.entries.insert(name.into(), Entry::Group(tree));
    }
}

/// A whole NIR file: its format version and the top node's group.
#[derive(Clone, Debug, PartialEq)]
pub struct NirFile {
    pub version: String,
    pub node: Tree,
}

/// Reads `path`. Errors say what is wrong with the file, with the HDF5 path
/// of the object that could not be read.
pub fn read(path: &Path) -> Result<NirFile, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err("not an HDF5 file (NIR files are HDF5)".into());
    }
    let file = File::from_bytes(bytes).map_err(|e| format!("unreadable HDF5: {e}"))?;
    let root = file.root();
    let version = match root.dataset("version") {
        Ok(d) => read_dataset(&d, "/version")?
            .as_scalar_text()
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let node = file
        .group("node")
        .map_err(|_| "no group `/node` (the NIR graph) in the file".to_string())?;
    Ok(NirFile {
        version,
        node: read_group(&node, "/node", 0)?,
    })
}

impl Entry {
    fn as_scalar_text(&self) -> Option<String> {
        match self {
            Entry::Text { values, .. } if values.len() == 1 => Some(values[0].clone()),
            _ => None,
        }
    }
}

/// Groups nest no deeper than this (a NIR graph inside a graph inside ...).
const MAX_DEPTH: usize = 64;

fn read_group(g: &H5Group, at: &str, depth: usize) -> Result<Tree, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{at}: groups nested deeper than {MAX_DEPTH}"));
    }
    let err = |e: hdf5_pure::Error| format!("{at}: unreadable group: {e}");
    let mut tree = Tree::default();
    for (name, d) in g.iter_datasets().map_err(err)? {
        let here = format!("{at}/{name}");
        let entry = read_dataset(&d, &here)?;
        tree.entries.insert(name, entry);
    }
    for (name, sub) in g.iter_groups().map_err(err)? {
        let here = format!("{at}/{name}");
        let entry = Entry::Group(read_group(&sub, &here, depth + 1)?);
        tree.entries.insert(name, entry);
    }
    Ok(tree)
}

fn read_dataset(d: &Dataset, at: &str) -> Result<Entry, String> {
    let err = |e: hdf5_pure::Error| format!("{at}: unreadable dataset: {e}");
    let shape: Vec<usize> = d
        .shape()
        .map_err(err)?
        .into_iter()
        .map(|n| n as usize)
        .collect();
    let count: usize = shape.iter().product();
    match d.dtype().map_err(err)? {
        DType::String | DType::VariableLengthString => {
            let values = d.read_string().map_err(err)?;
            if values.len() != count {
                return Err(format!(
                    "{at}: {} strings for shape {shape:?}",
                    values.len()
                ));
            }
            Ok(Entry::Text { shape, values })
        }
        dtype @ (DType::F32
        | DType::F64
        | DType::I8
        | DType::I16
        | DType::I32
        | DType::I64
        | DType::U8
        | DType::U16
        | DType::U32
        | DType::U64) => {
            let values = d.read_f64().map_err(err)?;
            if values.len() != count {
                return Err(format!("{at}: {} values for shape {shape:?}", values.len()));
            }
            let kind = match dtype {
                DType::F32 => Num::F32,
                DType::F64 => Num::F64,
                _ => Num::Int,
            };
            Ok(Entry::Numbers {
                shape,
                values,
                kind,
            })
        }
        DType::Enum(names) if names.len() == 2 => {
            // h5py stores numpy booleans as an enum of FALSE and TRUE.
            let values = d.read_f64().map_err(err)?;
            let kind = Num::Int;
            Ok(Entry::Numbers {
                shape,
                values,
                kind,
            })
        }
        other => Err(format!("{at}: unsupported datatype {other}")),
    }
}

/// Writes `file` to `path` atomically.
pub fn write(path: &Path, file: &NirFile) -> Result<(), String> {
    let bytes = to_bytes(file)?;
    crate::cli::write_atomic(path, &bytes).map_err(|r| {
        r.diags
            .first()
            .map(|d| d.message.clone())
            .unwrap_or_default()
    })
}

/// The HDF5 bytes of `file`.
pub fn to_bytes(file: &NirFile) -> Result<Vec<u8>, String> {
    let mut root = Tree::default();
    root.text("version", &file.version);
    root.group("node", file.node.clone());
    tree_to_bytes(&root)
}

/// The HDF5 bytes of a file whose root group is `root`.
pub fn tree_to_bytes(root: &Tree) -> Result<Vec<u8>, String> {
    let mut b = FileBuilder::new();
    for (name, entry) in &root.entries {
        match entry {
            Entry::Group(sub) => {
                let mut g = b.create_group(name);
                write_entries(&mut g, sub)?;
                b.add_group(g.finish());
            }
            Entry::Text { shape, values } => {
                let dims: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                b.create_dataset(name)
                    .with_vlen_strings(&refs)
                    .with_shape(&dims);
            }
            Entry::Numbers { .. } => {
                return Err(format!(
                    "`{name}`: numbers at the root of a file are not written"
                ));
            }
        }
    }
    b.finish().map_err(|e| format!("cannot encode HDF5: {e}"))
}

/// Reads any HDF5 file into a tree (its root group).
pub fn read_tree(path: &Path) -> Result<Tree, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err("not an HDF5 file".into());
    }
    let file = File::from_bytes(bytes).map_err(|e| format!("unreadable HDF5: {e}"))?;
    read_group(&file.root(), "", 0)
}

fn write_entries(g: &mut hdf5_pure::GroupBuilder, tree: &Tree) -> Result<(), String> {
    for (name, entry) in &tree.entries {
        match entry {
            Entry::Numbers {
                shape,
                values,
                kind,
            } => {
                let dims: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
                let d = g.create_dataset(name);
                match kind {
                    Num::Int => {
                        let v: Vec<i64> = values.iter().map(|&v| v as i64).collect();
                        d.with_i64_data(&v)
                    }
                    Num::F32 => {
                        let v: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                        d.with_f32_data(&v)
                    }
                    Num::F64 => d.with_f64_data(values),
                }
                .with_shape(&dims);
            }
            Entry::Text { shape, values } => {
                let dims: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                g.create_dataset(name)
                    .with_vlen_strings(&refs)
                    .with_shape(&dims);
            }
            Entry::Group(sub) => {
                let mut child = g.create_group(name);
                write_entries(&mut child, sub)?;
                g.add_group(child.finish());
            }
        }
    }
    Ok(())
}
