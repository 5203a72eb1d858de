//! A projection's synapses, row by row, and sparse tensors built from a
//! selection of them. This is how `legalize` and `delays` read and rewrite
//! weight and delay tensors, dense or sparse alike: in parallel over blocks
//! of rows, with no allocation per synapse or per row.

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use snn_ir::tensor::{Origin, SparsePattern, Tensor, Values};
use snn_ir::{Delay, Graph, NodeId, Op};

/// Stored entries per block of rows handed to one parallel task.
const BLOCK: usize = 1 << 16;

/// The stored entries of a `[rows, cols]` weight tensor.
#[derive(Clone, Copy)]
pub(crate) struct Synapses<'a> {
    pub rows: usize,
    pub cols: usize,
    pub pattern: Option<&'a SparsePattern>,
    /// One value per stored entry (all `rows × cols` when dense).
    pub weights: &'a [f32],
}

impl<'a> Synapses<'a> {
    /// `None` for a tensor without values (a placeholder) or not 2-D.
    pub fn of(w: &'a Tensor) -> Option<Self> {
        let weights = w.f32s()?;
        let [rows, cols] = *w.shape() else {
            return None;
        };
        Some(Synapses {
            rows: rows as usize,
            cols: cols as usize,
            pattern: w.pattern().map(|p| &**p),
            weights,
        })
    }

    /// Storage indices of row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> Range<usize> {
        match self.pattern {
            Some(p) => p.row(r),
            None => r * self.cols..(r + 1) * self.cols,
        }
    }

    /// The column of stored entry `k`, which lies in row `r`.
    #[inline]
    pub fn col(&self, r: usize, k: usize) -> u32 {
        match self.pattern {
            Some(p) => p.col_idx[k],
            None => (k - r * self.cols) as u32,
        }
    }

    /// Storage indices of rows `rows` (contiguous in both layouts).
    pub fn span(&self, rows: &Range<usize>) -> Range<usize> {
        if rows.is_empty() {
            let k = self.row(rows.start.min(self.rows.saturating_sub(1))).start;
            return k..k;
        }
        self.row(rows.start).start..self.row(rows.end - 1).end
    }

    /// The rows cut into consecutive blocks of about [`BLOCK`] stored
    /// entries. The cut depends only on the tensor, so work done per
    /// block and combined in block order is deterministic.
    pub fn blocks(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut size = 0;
        for r in 0..self.rows {
            size += self.row(r).len();
            if size >= BLOCK {
                out.push(start..r + 1);
                start = r + 1;
                size = 0;
            }
        }
        if start < self.rows || out.is_empty() {
            out.push(start..self.rows);
        }
        out
    }
}

/// Folds the blocks of rows into one accumulator per thread (not one per
/// task, which for per-column tables would cost more than the work), then
/// merges them. For sums of integers, maxima and the like, whose result
/// does not depend on the order.
pub(crate) fn fold_blocks<T, I, F, M>(s: &Synapses, init: I, fold: F, merge: M) -> T
where
    T: Send,
    I: Fn() -> T + Sync,
    F: Fn(&mut T, Range<usize>) + Sync,
    M: Fn(T, T) -> T,
{
    let blocks = s.blocks();
    let per = blocks
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1);
    let parts: Vec<T> = blocks
        .par_chunks(per)
        .map(|chunk| {
            let mut acc = init();
            for rows in chunk {
                fold(&mut acc, rows.clone());
            }
            acc
        })
        .collect();
    parts.into_iter().reduce(merge).unwrap_or_else(init)
}

/// A projection's delays, entry by entry.
#[derive(Clone, Copy)]
pub(crate) enum Delays<'a> {
    Const(u32),
    /// Laid out like the weights.
    Per(&'a [i32]),
}

impl Delays<'_> {
    /// The delay of stored entry `k`.
    #[inline]
    pub fn get(&self, k: usize) -> i32 {
        match self {
            Delays::Const(d) => *d as i32,
            Delays::Per(v) => v[k],
        }
    }

    /// The delays `d` of a projection of `g` (`None` if the delay tensor
    /// has no values).
    pub fn of<'g>(g: &'g Graph, d: Delay) -> Option<Delays<'g>> {
        Some(match d {
            Delay::Const(c) => Delays::Const(c),
            Delay::PerSynapse(t) => Delays::Per(g.tensor(t).i32s()?),
        })
    }
}

/// One part of a split projection: a sparse pattern, its weights and the
/// delay of every entry.
pub(crate) struct Part {
    pub pattern: Arc<SparsePattern>,
    pub weights: Vec<f32>,
    pub delays: Vec<i32>,
}

impl Part {
    pub fn synapses(&self) -> u64 {
        self.pattern.nnz()
    }

    /// The weight tensor, and the delay: constant if every entry has the
    /// same one (or there are none), else a tensor laid out like the weights.
    pub fn into_tensors(self, empty_delay: u32) -> (Tensor, DelayTensor) {
        let delay = match self.delays.first() {
            None => DelayTensor::Const(empty_delay),
            Some(&d) if self.delays.iter().all(|&x| x == d) => DelayTensor::Const(d.max(0) as u32),
            Some(_) => DelayTensor::Per(
                // Invariant: one delay per pattern entry, by construction.
                Tensor::sparse(
                    self.pattern.clone(),
                    Values::I32(self.delays.into()),
                    Origin::Derived,
                )
                .expect("one delay per entry"),
            ),
        };
        // Invariant: one weight per pattern entry, by construction.
        let w = Tensor::sparse(
            self.pattern,
            Values::F32(self.weights.into()),
            Origin::Derived,
        )
        .expect("one weight per entry");
        (w, delay)
    }
}

/// A delay ready to be put in the graph.
pub(crate) enum DelayTensor {
    Const(u32),
    Per(Tensor),
}

impl DelayTensor {
    pub fn add_to(self, g: &mut Graph) -> Delay {
        match self {
            DelayTensor::Const(d) => Delay::Const(d),
            DelayTensor::Per(t) => Delay::PerSynapse(g.add_tensor(t)),
        }
    }
}

/// Where [`split`] puts one entry: part, new column, new delay.
pub(crate) type Placed = Option<(usize, u32, i32)>;

/// Splits the stored entries of `s` into `cols.len()` sparse parts, part
/// `i` having `cols[i]` columns. `place(row, col, weight, delay)` says where
/// each entry goes (`None`: dropped). Within a row the new columns of one
/// part must not decrease in the order of the old ones. The parts carry
/// per-entry delays only if `keep_delays`.
///
/// Two passes over the blocks of rows: the first counts each part's
/// entries per row, the second writes them straight into place.
pub(crate) fn split<F>(
    s: &Synapses,
    d: Delays,
    cols: &[u32],
    keep_delays: bool,
    place: F,
) -> Vec<Part>
where
    F: Fn(usize, u32, f32, i32) -> Placed + Sync,
{
    let n = cols.len();
    let blocks = s.blocks();
    // Entries per (block, part, row of the block).
    let counts: Vec<Vec<u32>> = blocks
        .par_iter()
        .map(|rows| {
            let len = rows.len();
            let mut c = vec![0u32; n * len];
            for r in rows.clone() {
                for k in s.row(r) {
                    if let Some((part, _, _)) = place(r, s.col(r, k), s.weights[k], d.get(k)) {
                        c[part * len + r - rows.start] += 1;
                    }
                }
            }
            c
        })
        .collect();
    // Each part's arrays, sized exactly.
    let mut storage: Vec<Part> = (0..n)
        .map(|part| {
            let mut row_ptr = Vec::with_capacity(s.rows + 1);
            row_ptr.push(0u64);
            for (rows, c) in blocks.iter().zip(&counts) {
                let len = rows.len();
                for &x in &c[part * len..(part + 1) * len] {
                    let last = *row_ptr.last().unwrap_or(&0);
                    row_ptr.push(last + x as u64);
                }
            }
            let total = *row_ptr.last().unwrap_or(&0) as usize;
            Part {
                pattern: Arc::new(SparsePattern {
                    rows: s.rows as u32,
                    cols: cols[part],
                    row_ptr,
                    col_idx: vec![0u32; total],
                }),
                weights: vec![0f32; total],
                delays: if keep_delays {
                    vec![0i32; total]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    // The chunk of every part that each block writes.
    let mut per_block: Vec<Vec<Out>> = (0..blocks.len()).map(|_| Vec::with_capacity(n)).collect();
    for part in storage.iter_mut() {
        // Invariant: the pattern was made just above and is not shared yet.
        let pattern = Arc::get_mut(&mut part.pattern).expect("unshared pattern");
        let row_ptr = &pattern.row_ptr;
        let mut rest = Out {
            cols: pattern.col_idx.as_mut_slice(),
            weights: part.weights.as_mut_slice(),
            delays: part.delays.as_mut_slice(),
        };
        for (b, rows) in blocks.iter().enumerate() {
            let len = (row_ptr[rows.end] - row_ptr[rows.start]) as usize;
            let (head, tail) = rest.split_at(len, keep_delays);
            per_block[b].push(head);
            rest = tail;
        }
    }
    blocks
        .par_iter()
        .zip(per_block)
        .for_each(|(rows, mut out)| {
            let mut pos = vec![0usize; n];
            for r in rows.clone() {
                for k in s.row(r) {
                    let w = s.weights[k];
                    if let Some((part, c, delay)) = place(r, s.col(r, k), w, d.get(k)) {
                        let o = &mut out[part];
                        let i = pos[part];
                        o.cols[i] = c;
                        o.weights[i] = w;
                        if keep_delays {
                            o.delays[i] = delay;
                        }
                        pos[part] += 1;
                    }
                }
            }
        });
    storage
}

/// The part of a [`Part`]'s arrays one block of rows writes.
struct Out<'a> {
    cols: &'a mut [u32],
    weights: &'a mut [f32],
    delays: &'a mut [i32],
}

impl<'a> Out<'a> {
    /// The first `len` entries, and the rest.
    fn split_at(self, len: usize, delays: bool) -> (Out<'a>, Out<'a>) {
        let (c, ct) = self.cols.split_at_mut(len);
        let (w, wt) = self.weights.split_at_mut(len);
        let (d, dt) = self.delays.split_at_mut(if delays { len } else { 0 });
        (
            Out {
                cols: c,
                weights: w,
                delays: d,
            },
            Out {
                cols: ct,
                weights: wt,
                delays: dt,
            },
        )
    }
}

/// A tensor with `w`'s layout (shape and sparsity pattern) and new values.
pub(crate) fn relaid(w: &Tensor, values: Values) -> Tensor {
    let t = match w.pattern() {
        Some(p) => Tensor::sparse(p.clone(), values, Origin::Derived),
        None => Tensor::dense(w.shape().to_vec(), values, Origin::Derived),
    };
    // Invariant: callers give one value per stored entry of `w`.
    t.expect("one value per stored entry")
}

/// The projection nodes that feed populations, each once, in id order,
/// with the populations that read them. A projection read by anything
/// else is left out: it cannot be split into several.
pub(crate) fn projections(g: &Graph) -> Vec<(NodeId, Vec<NodeId>)> {
    let mut out = Vec::new();
    for n in g.nodes() {
        if !matches!(g.op(n), Op::Project(_)) || g.arg(n, 0).is_none() {
            continue;
        }
        let users: Vec<NodeId> = g.users(n).into_iter().map(|(u, _)| u).collect();
        if users.is_empty() || users.iter().any(|&u| !matches!(g.op(u), Op::Population(_))) {
            continue;
        }
        let mut pops = users;
        pops.dedup();
        out.push((n, pops));
    }
    out
}

/// A name for a node derived from `n`'s: its name or label, plus `suffix`.
pub(crate) fn derived_name(g: &Graph, n: NodeId, suffix: &str) -> String {
    let base = g.name(n).map(str::to_string).unwrap_or_else(|| g.label(n));
    format!("{base}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(rows: u32, cols: u32, v: Vec<f32>) -> Tensor {
        Tensor::from_f32(vec![rows, cols], v, Origin::Literal).unwrap()
    }

    #[test]
    fn split_routes_entries_and_keeps_rows() {
        let w = dense(2, 3, vec![1.0, -2.0, 0.0, 0.0, 3.0, -4.0]);
        let s = Synapses::of(&w).unwrap();
        let parts = split(&s, Delays::Const(2), &[3, 3], true, |_, c, w, d| {
            (w != 0.0).then_some((usize::from(w < 0.0), c, d + 1))
        });
        assert_eq!(parts[0].pattern.row_ptr, vec![0, 1, 2]);
        assert_eq!(parts[0].pattern.col_idx, vec![0, 1]);
        assert_eq!(parts[0].weights, vec![1.0, 3.0]);
        assert_eq!(parts[1].pattern.col_idx, vec![1, 2]);
        assert_eq!(parts[1].delays, vec![3, 3]);
        assert!(parts[1].pattern.check().is_ok());
    }

    #[test]
    fn blocks_cover_every_row_once() {
        let w = dense(3, 1 << 15, vec![0.5; 3 << 15]);
        let s = Synapses::of(&w).unwrap();
        assert_eq!(s.blocks(), vec![0..2, 2..3]);
        assert_eq!(s.span(&(1..3)), (1 << 15)..(3 << 15));
    }
}
