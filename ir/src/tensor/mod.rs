//! Constant tensors: weights, delays and per-neuron parameters.
//!
//! A tensor is dense (`[n]` or `[m, n]`, row-major) or sparse (`[m, n]` in
//! compressed sparse rows). Values are `f32` (weights, parameters) or `i32`
//! (delays in steps). Every tensor remembers where it came from ([`Origin`]),
//! which is what the text dump prints instead of megabytes of numbers, and a
//! content hash, which is how dumps of the same data compare equal.
//!
//! Storage is reference-counted: cloning a graph to run a pass on it does not
//! copy weights.

mod init;
mod sparsify;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use init::{Dist, Init, InitError};
pub use sparsify::SPARSE_DENSITY;

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    F32,
    I32,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I32 => "i32",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(DType::F32),
            "i32" => Some(DType::I32),
            _ => None,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The element values of a tensor, dense or the stored entries of a sparse one.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    F32(Arc<[f32]>),
    I32(Arc<[i32]>),
}

impl Values {
    pub fn dtype(&self) -> DType {
        match self {
            Values::F32(_) => DType::F32,
            Values::I32(_) => DType::I32,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::I32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match self {
            Values::F32(v) => Some(v),
            Values::I32(_) => None,
        }
    }

    pub fn as_i32(&self) -> Option<&[i32]> {
        match self {
            Values::I32(v) => Some(v),
            Values::F32(_) => None,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Values::F32(v) => bytemuck::cast_slice(v),
            Values::I32(v) => bytemuck::cast_slice(v),
        }
    }
}

/// Where the nonzeros of a sparse `[rows, cols]` matrix are: compressed sparse
/// rows. Row `r` owns entries `row_ptr[r]..row_ptr[r + 1]`; column indices are
/// strictly increasing within a row unless a row holds several synapses
/// between the same pair of neurons (parallel delays), then non-decreasing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparsePattern {
    pub rows: u32,
    pub cols: u32,
    pub row_ptr: Vec<u64>,
    pub col_idx: Vec<u32>,
}

impl SparsePattern {
    /// Checks the structural invariants; returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.row_ptr.len() != self.rows as usize + 1 {
            return Err(format!(
                "row_ptr has {} entries, expected {}",
                self.row_ptr.len(),
                self.rows as usize + 1
            ));
        }
        if self.row_ptr[0] != 0 || *self.row_ptr.last().unwrap_or(&0) != self.col_idx.len() as u64 {
            return Err("row_ptr does not span the column indices".into());
        }
        for r in 0..self.rows as usize {
            let (a, b) = (self.row_ptr[r], self.row_ptr[r + 1]);
            if a > b {
                return Err(format!("row_ptr decreases at row {r}"));
            }
            let row = &self.col_idx[a as usize..b as usize];
            if row.iter().any(|&c| c >= self.cols) {
                return Err(format!("row {r} has a column index >= {}", self.cols));
            }
            if row.windows(2).any(|w| w[0] > w[1]) {
                return Err(format!("row {r} has unsorted column indices"));
            }
        }
        Ok(())
    }

    pub fn nnz(&self) -> u64 {
        self.col_idx.len() as u64
    }

    /// The entries of row `r`.
    pub fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.row_ptr[r] as usize..self.row_ptr[r + 1] as usize
    }

    /// A diagonal pattern of size `n × n`.
    pub fn diagonal(n: u32) -> Self {
        SparsePattern {
            rows: n,
            cols: n,
            row_ptr: (0..=n as u64).collect(),
            col_idx: (0..n).collect(),
        }
    }
}

/// Tensor contents: the values, plus the sparsity pattern for sparse tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Data {
    pub pattern: Option<Arc<SparsePattern>>,
    pub values: Values,
}

/// How a tensor came to be. The text dump prints this instead of the values
/// whenever the values can be recreated from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Origin {
    /// Written inline in the source; the dump prints the values.
    Literal,
    /// Read from a file; `key` names the array inside an `.npz`/`.safetensors`
    /// file (absent for `.npy`). `path` is as written in the source, relative
    /// to the source file's directory.
    File { path: String, key: Option<String> },
    /// Made by a seeded initializer; recreated bit for bit from it.
    Init(Init),
    /// Computed at compile time (constant folding, a pass).
    Derived,
}

/// A constant tensor. Its `data` is absent only for a tensor read back from a
/// dump that did not carry its values (a placeholder: shape and hash known).
#[derive(Clone, Debug)]
pub struct Tensor {
    shape: Vec<u32>,
    dtype: DType,
    nnz: Option<u64>,
    data: Option<Data>,
    origin: Origin,
    hash: u64,
    /// The smallest `i32` value (known even for placeholders).
    min_i32: Option<i32>,
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape
            && self.dtype == other.dtype
            && self.nnz == other.nnz
            && self.hash == other.hash
    }
}

/// A tensor whose contents do not match its declared shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TensorError(pub String);

impl Tensor {
    /// A dense tensor of the given shape.
    pub fn dense(shape: Vec<u32>, values: Values, origin: Origin) -> Result<Self, TensorError> {
        let n: u64 = shape.iter().map(|&d| d as u64).product();
        if n != values.len() as u64 {
            return Err(TensorError(format!(
                "shape {} needs {n} values, got {}",
                ShapeFmt(&shape),
                values.len()
            )));
        }
        let data = Data {
            pattern: None,
            values,
        };
        let hash = content_hash(&shape, &data);
        Ok(Tensor {
            dtype: data.values.dtype(),
            shape,
            nnz: None,
            min_i32: min_of(&data.values),
            data: Some(data),
            origin,
            hash,
        })
    }

    /// A dense `f32` tensor.
    pub fn from_f32(
        shape: Vec<u32>,
        values: Vec<f32>,
        origin: Origin,
    ) -> Result<Self, TensorError> {
        Self::dense(shape, Values::F32(values.into()), origin)
    }

    /// A sparse `[rows, cols]` tensor.
    pub fn sparse(
        pattern: Arc<SparsePattern>,
        values: Values,
        origin: Origin,
    ) -> Result<Self, TensorError> {
        if values.len() != pattern.col_idx.len() {
            return Err(TensorError(format!(
                "sparse pattern has {} entries, got {} values",
                pattern.col_idx.len(),
                values.len()
            )));
        }
        let shape = vec![pattern.rows, pattern.cols];
        let nnz = Some(pattern.nnz());
        let data = Data {
            pattern: Some(pattern),
            values,
        };
        let hash = content_hash(&shape, &data);
        Ok(Tensor {
            dtype: data.values.dtype(),
            shape,
            nnz,
            min_i32: min_of(&data.values),
            data: Some(data),
            origin,
            hash,
        })
    }

    /// A tensor known only by shape and hash (read from a dump without values).
    pub fn placeholder(
        shape: Vec<u32>,
        dtype: DType,
        nnz: Option<u64>,
        min_i32: Option<i32>,
        hash: u64,
        origin: Origin,
    ) -> Self {
        Tensor {
            shape,
            dtype,
            nnz,
            data: None,
            origin,
            hash,
            min_i32,
        }
    }

    /// The smallest value of an `i32` tensor (delays), also for placeholders.
    pub fn i32_min(&self) -> Option<i32> {
        self.min_i32
    }

    pub fn shape(&self) -> &[u32] {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn is_sparse(&self) -> bool {
        self.nnz.is_some()
    }

    /// Stored entries of a sparse tensor; `None` for a dense one.
    pub fn nnz(&self) -> Option<u64> {
        self.nnz
    }

    /// Number of elements of the dense shape.
    pub fn numel(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }

    /// Entries actually stored: `nnz` for sparse, `numel` for dense.
    pub fn stored(&self) -> u64 {
        self.nnz.unwrap_or_else(|| self.numel())
    }

    pub fn data(&self) -> Option<&Data> {
        self.data.as_ref()
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The stored `f32` values (all elements when dense, the nonzeros when sparse).
    pub fn f32s(&self) -> Option<&[f32]> {
        self.data.as_ref()?.values.as_f32()
    }

    /// The stored `i32` values.
    pub fn i32s(&self) -> Option<&[i32]> {
        self.data.as_ref()?.values.as_i32()
    }

    pub fn pattern(&self) -> Option<&Arc<SparsePattern>> {
        self.data.as_ref()?.pattern.as_ref()
    }

    /// The first value that is NaN or infinite, with its position (one
    /// index per dimension), if a float tensor holds one.
    pub fn non_finite(&self) -> Option<(Vec<u64>, f32)> {
        let values = self.f32s()?;
        let k = values.iter().position(|x| !x.is_finite())?;
        let at = match self.pattern() {
            Some(p) => {
                let row = p.row_ptr.partition_point(|&start| start <= k as u64) - 1;
                vec![row as u64, u64::from(p.col_idx[k])]
            }
            None => {
                let mut rest = k as u64;
                let mut at: Vec<u64> = self
                    .shape
                    .iter()
                    .rev()
                    .map(|&d| {
                        let i = rest % u64::from(d);
                        rest /= u64::from(d);
                        i
                    })
                    .collect();
                at.reverse();
                at
            }
        };
        Some((at, values[k]))
    }

    /// A new tensor with the same layout and each stored value mapped.
    pub fn map_f32(&self, f: impl Fn(f32) -> f32 + Sync) -> Option<Tensor> {
        use rayon::prelude::*;
        let data = self.data.as_ref()?;
        let values: Vec<f32> = data.values.as_f32()?.par_iter().map(|&v| f(v)).collect();
        let values = Values::F32(values.into());
        Some(match &data.pattern {
            Some(p) => Tensor::sparse(p.clone(), values, Origin::Derived).ok()?,
            None => Tensor::dense(self.shape.clone(), values, Origin::Derived).ok()?,
        })
    }

    /// A short human description: `f32[128, 80]`, `f32[1000, 1000] nnz=9987`.
    pub fn type_string(&self) -> String {
        match self.nnz {
            Some(nnz) => format!("{}{} nnz={nnz}", self.dtype, ShapeFmt(&self.shape)),
            None => format!("{}{}", self.dtype, ShapeFmt(&self.shape)),
        }
    }
}

fn min_of(v: &Values) -> Option<i32> {
    use rayon::prelude::*;
    match v {
        Values::I32(v) => Some(v.par_iter().copied().min().unwrap_or(0)),
        Values::F32(_) => None,
    }
}

/// The xxh3 hash of a tensor's shape, layout and values.
fn content_hash(shape: &[u32], data: &Data) -> u64 {
    use xxhash_rust::xxh3::Xxh3;
    let mut h = Xxh3::new();
    h.update(&[data.values.dtype() as u8, data.pattern.is_some() as u8]);
    for &d in shape {
        h.update(&d.to_le_bytes());
    }
    if let Some(p) = &data.pattern {
        h.update(bytemuck::cast_slice(&p.row_ptr));
        h.update(bytemuck::cast_slice(&p.col_idx));
    }
    h.update(data.values.bytes());
    h.digest()
}

/// Formats a shape as `[128, 80]`.
pub struct ShapeFmt<'a>(pub &'a [u32]);

impl fmt::Display for ShapeFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_shape_and_values() {
        let a = Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0], Origin::Literal).unwrap();
        let b = Tensor::from_f32(vec![4], vec![1.0, 2.0, 3.0, 4.0], Origin::Literal).unwrap();
        let c = Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 5.0], Origin::Literal).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        let a2 = Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0], Origin::Derived).unwrap();
        assert_eq!(a.hash(), a2.hash());
    }

    #[test]
    fn dense_checks_element_count() {
        let err = Tensor::from_f32(vec![2, 3], vec![0.0; 5], Origin::Literal).unwrap_err();
        assert_eq!(err.0, "shape [2, 3] needs 6 values, got 5");
    }

    #[test]
    fn pattern_check_finds_bad_rows() {
        let p = SparsePattern {
            rows: 2,
            cols: 3,
            row_ptr: vec![0, 2, 3],
            col_idx: vec![2, 1, 0],
        };
        assert_eq!(p.check().unwrap_err(), "row 0 has unsorted column indices");
        assert!(SparsePattern::diagonal(4).check().is_ok());
    }
}
