//! Dense weight matrices that are mostly zeros, kept as sparse ones.
//!
//! A zero weight connects nothing: every chip pass and the placer skip it.
//! A user who saves a connectivity matrix as a dense array (`np.savez` of a
//! `[targets, sources]` block with 2% of its entries set) would otherwise
//! pay for every zero in memory, in `snnc check`'s synapse count and in the
//! float reference, whose work follows the stored entries. So a dense
//! `f32` matrix used as weights whose nonzero entries are at most
//! [`SPARSE_DENSITY`] of all becomes a sparse matrix of the same values
//! ([`Tensor::sparse_if_mostly_zero`]); an IR dump records it as
//! `load(...)` with `nnz=`, and reading the dump back drops the zeros of
//! the loaded array again ([`Tensor::without_zeros`]).

use std::sync::Arc;

use super::{Data, SparsePattern, Tensor, Values};

/// A dense weight matrix with at most this share of nonzero entries is
/// stored sparse. At a quarter, the sparse form (a value and a column index
/// per entry) takes half the memory of the dense one, and the reference's
/// sparse kernels are faster than its dense ones.
pub const SPARSE_DENSITY: f64 = 0.25;

impl Tensor {
    /// Entries that are not zero: the synapses of a weight matrix. A dense
    /// tensor counts its nonzero elements, a sparse one its nonzero stored
    /// values (a sparse tensor may store zeros, e.g. weights quantized to
    /// zero); a placeholder without values counts what it stores.
    pub fn nonzeros(&self) -> u64 {
        match self.data().map(|d| &d.values) {
            Some(Values::F32(v)) => v.iter().filter(|&&x| x != 0.0).count() as u64,
            Some(Values::I32(v)) => v.iter().filter(|&&x| x != 0).count() as u64,
            None => self.stored(),
        }
    }

    /// The same `[rows, cols]` matrix holding only its nonzero entries, as a
    /// sparse tensor with this tensor's origin (`-0.0` counts as zero, a NaN
    /// does not). `None` unless this is a dense two-dimensional `f32`
    /// tensor with values.
    pub fn without_zeros(&self) -> Option<Tensor> {
        let &[rows, cols] = self.shape() else {
            return None;
        };
        let data = self.data()?;
        if data.pattern.is_some() {
            return None;
        }
        let w = data.values.as_f32()?;
        let (rows_u, cols_u) = (rows as usize, cols as usize);
        let nnz = w.iter().filter(|&&x| x != 0.0).count();
        let mut row_ptr = Vec::with_capacity(rows_u + 1);
        let mut col_idx = Vec::with_capacity(nnz);
        let mut values = Vec::with_capacity(nnz);
        row_ptr.push(0u64);
        for r in 0..rows_u {
            let row = &w[r * cols_u..(r + 1) * cols_u];
            for (c, &x) in row.iter().enumerate() {
                if x != 0.0 {
                    col_idx.push(c as u32);
                    values.push(x);
                }
            }
            row_ptr.push(col_idx.len() as u64);
        }
        let pattern = SparsePattern {
            rows,
            cols,
            row_ptr,
            col_idx,
        };
        Tensor::sparse(
            Arc::new(pattern),
            Values::F32(values.into()),
            self.origin().clone(),
        )
        .ok()
    }

    /// [`Tensor::without_zeros`] for a dense matrix whose nonzero entries
    /// are at most [`SPARSE_DENSITY`] of all; `None` for any other tensor
    /// (denser, sparse already, not an `f32` matrix, without values).
    pub fn sparse_if_mostly_zero(&self) -> Option<Tensor> {
        let Some(Data {
            pattern: None,
            values: Values::F32(w),
        }) = self.data()
        else {
            return None;
        };
        if self.shape().len() != 2 || w.is_empty() {
            return None;
        }
        let nonzero = w.iter().filter(|&&x| x != 0.0).count();
        if nonzero as f64 > SPARSE_DENSITY * w.len() as f64 {
            return None;
        }
        self.without_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Origin;

    fn file() -> Origin {
        Origin::File {
            path: "w.npz".into(),
            key: Some("W".into()),
        }
    }

    #[test]
    fn zeros_are_dropped_row_by_row() {
        #[rustfmt::skip]
        let w = vec![
            0.0, 2.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0,
            -0.0, 0.0, 0.0, -3.5,
        ];
        let t = Tensor::from_f32(vec![3, 4], w, file()).unwrap();
        assert_eq!(t.nonzeros(), 2);
        let s = t.sparse_if_mostly_zero().unwrap();
        let p = s.pattern().unwrap();
        assert_eq!(p.row_ptr, vec![0, 1, 1, 2]);
        assert_eq!(p.col_idx, vec![1, 3]);
        assert_eq!(s.f32s().unwrap(), &[2.0, -3.5]);
        assert_eq!(s.shape(), &[3, 4]);
        assert_eq!(s.origin(), &file());
        assert_eq!(s.type_string(), "f32[3, 4] nnz=2");
        assert_eq!(s.nonzeros(), 2);
    }

    #[test]
    fn only_mostly_zero_dense_float_matrices_become_sparse() {
        // 3 of 12 nonzero: exactly a quarter, sparse.
        let mut w = vec![0.0f32; 12];
        w[0] = 1.0;
        w[5] = f32::NAN;
        w[11] = 1.0;
        let t = Tensor::from_f32(vec![3, 4], w.clone(), file()).unwrap();
        let s = t.sparse_if_mostly_zero().unwrap();
        assert_eq!(s.pattern().unwrap().col_idx, vec![0, 1, 3]);
        assert!(s.f32s().unwrap()[1].is_nan());
        // 4 of 12: denser than a quarter, stays dense.
        w[6] = 1.0;
        let t = Tensor::from_f32(vec![3, 4], w, file()).unwrap();
        assert!(t.sparse_if_mostly_zero().is_none());
        // Vectors, integer tensors and sparse tensors are left alone.
        let v = Tensor::from_f32(vec![4], vec![0.0, 0.0, 0.0, 1.0], file()).unwrap();
        assert!(v.sparse_if_mostly_zero().is_none());
        let d = Tensor::dense(vec![2, 2], Values::I32(vec![0, 0, 0, 1].into()), file()).unwrap();
        assert!(d.sparse_if_mostly_zero().is_none());
        assert_eq!(d.nonzeros(), 1);
        let e = Tensor::sparse(
            Arc::new(SparsePattern::diagonal(3)),
            Values::F32(vec![1.0, 0.0, 2.0].into()),
            Origin::Derived,
        )
        .unwrap();
        assert!(e.sparse_if_mostly_zero().is_none());
        assert_eq!(e.nonzeros(), 2);
        assert_eq!(e.stored(), 3);
    }
}
