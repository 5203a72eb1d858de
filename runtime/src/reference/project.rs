//! Projections: `out_i[t] = Σ_j W_ij · src_j[t − D_ij]`, with three kernels.
//!
//! - [`Dense`]: a dense matrix with one delay; an ndarray matrix-vector
//!   product over row blocks in parallel, reading the source's delay line.
//! - [`Gather`]: sparse (CSR) weights with one delay, from a graded source;
//!   each output row sums its stored synapses, row blocks in parallel.
//! - [`Scatter`]: every other case — per-synapse delays (sparse or dense)
//!   and sparse weights from a spiking source. Each step of the source is
//!   added into a ring of future sums, at `t + D_ij`, which the projection
//!   reads out at each step. The output rows are cut into one block per
//!   thread, each with its own ring; a step whose active synapses are few
//!   runs the blocks on the calling thread (handing a few thousand
//!   additions to other threads costs more than it saves). Two routes,
//!   chosen per step:
//!   - by column, when at most one source in eight is nonzero: the weights
//!     are also stored by column (CSC) per block, and each nonzero source
//!     value is multiplied into its column, so a spike costs its fan-out
//!     and a silent neuron nothing;
//!   - by row, otherwise: every synapse of the block's rows, from the
//!     graph's own CSR tensors; a spiking source is first packed into bits
//!     (it then fits in cache, eight times smaller than its `f32` values).
//!
//!   Skipping zero sources is exact unless a weight is infinite or NaN
//!   (`0 · ∞` is NaN), so such matrices always take the row route.
//!
//! Sums are accumulated in `f32`, in an order that depends on the kernel
//! and route (never on the number of threads).

use std::ops::Range;
use std::sync::Arc;

use ndarray::linalg::general_mat_vec_mul;
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};
use rayon::prelude::*;
use snn_ir::tensor::SparsePattern;

/// Below this many multiply-adds per step a kernel runs on one thread.
const PAR_MIN_WORK: usize = 1 << 15;

/// Below this many output rows a [`Scatter`] moves its sums out on one
/// thread (a copy and a clear per row).
const PAR_MIN_ROWS: usize = 1 << 17;

/// Rows per parallel task for a kernel with `work` multiply-adds per step:
/// about eight tasks per thread, at least 64 rows.
fn rows_per_task(rows: usize, work: usize) -> usize {
    if work < PAR_MIN_WORK {
        return rows.max(1);
    }
    let tasks = 8 * rayon::current_num_threads();
    rows.div_ceil(tasks).max(64)
}

/// `Σ_k w_k · x[cols_k]`, in four interleaved partial sums (so that the
/// additions of a long row overlap instead of waiting on each other).
/// `x(j)` reads source element `j`.
#[inline]
fn sparse_dot(cols: &[u32], w: &[f32], x: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; 4];
    let (c4, w4) = (cols.chunks_exact(4), w.chunks_exact(4));
    let (c_tail, w_tail) = (c4.remainder(), w4.remainder());
    for (c, w) in c4.zip(w4) {
        for k in 0..4 {
            acc[k] += w[k] * x(c[k] as usize);
        }
    }
    let tail = c_tail
        .iter()
        .zip(w_tail)
        .fold(0.0f32, |a, (&c, &wk)| a + wk * x(c as usize));
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Past values of one node, for the projections that read it through a
/// constant delay: slot `τ mod slots` holds its value at step `τ`.
#[derive(Clone, Debug)]
pub(super) struct History {
    /// Slot of the node whose values are kept.
    pub(super) node: usize,
    n: usize,
    slots: usize,
    data: Vec<f32>,
}

impl History {
    /// A delay line of `slots` steps (the largest delay read) for a node of
    /// `n` elements, all zero (values at negative times).
    pub(super) fn new(node: usize, n: usize, slots: usize) -> Result<Self, String> {
        let data = zeros(n.checked_mul(slots), || {
            format!("a delay line of {slots} steps × {n} values")
        })?;
        Ok(History {
            node,
            n,
            slots,
            data,
        })
    }

    /// The longest delay it serves.
    pub(super) fn slots(&self) -> usize {
        self.slots
    }

    /// Stores the node's value at step `t`.
    pub(super) fn push(&mut self, t: usize, x: &[f32]) {
        let s = t % self.slots;
        self.data[s * self.n..(s + 1) * self.n].copy_from_slice(x);
    }

    /// The node's value at `t − d`, `1 ≤ d ≤ slots`, read during step `t`
    /// (after pushes for steps up to `t − 1`). Slots for negative times
    /// were never written and are zero.
    pub(super) fn at(&self, t: usize, d: usize) -> &[f32] {
        let s = (t + self.slots - d) % self.slots;
        &self.data[s * self.n..(s + 1) * self.n]
    }
}

/// A zeroed vector of `len` elements, or a message when it cannot be
/// allocated (instead of aborting the process).
fn zeros<T: Clone + Default>(
    len: Option<usize>,
    what: impl Fn() -> String,
) -> Result<Vec<T>, String> {
    let oom = || format!("{} does not fit in memory", what());
    let len = len.ok_or_else(oom)?;
    snn_ir::budget::check_elements(len as u128, std::mem::size_of::<T>() as u64, &what)
        .map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| oom())?;
    v.resize(len, T::default());
    Ok(v)
}

/// Dense `[rows, cols]` weights, row-major, with one delay.
#[derive(Clone, Debug)]
pub(super) struct Dense {
    w: Arc<[f32]>,
    rows: usize,
    cols: usize,
    rows_per_task: usize,
}

impl Dense {
    /// `w` must hold `rows · cols` values.
    pub(super) fn new(w: Arc<[f32]>, rows: usize, cols: usize) -> Option<Self> {
        (rows.checked_mul(cols)? == w.len()).then_some(Dense {
            rows_per_task: rows_per_task(rows, w.len()),
            w,
            rows,
            cols,
        })
    }

    /// `out = W x`.
    pub(super) fn apply(&self, x: &[f32], out: &mut [f32]) {
        let cols = self.cols;
        let x = ArrayView1::from(x);
        let block = |r0: usize, out: &mut [f32]| {
            let w = &self.w[r0 * cols..(r0 + out.len()) * cols];
            // Invariant: `new` checked `w.len() == rows · cols`, so every
            // row block holds `out.len() · cols` values.
            let w = ArrayView2::from_shape((out.len(), cols), w).expect("row block of W");
            general_mat_vec_mul(1.0, &w, &x, 0.0, &mut ArrayViewMut1::from(out));
        };
        if self.rows_per_task >= self.rows {
            block(0, out);
        } else {
            out.par_chunks_mut(self.rows_per_task)
                .enumerate()
                .for_each(|(c, out)| block(c * self.rows_per_task, out));
        }
    }
}

/// Sparse CSR weights with one delay.
#[derive(Clone, Debug)]
pub(super) struct Gather {
    pattern: Arc<SparsePattern>,
    w: Arc<[f32]>,
    rows_per_task: usize,
}

impl Gather {
    /// `pattern` must have passed [`SparsePattern::check`] and `w` hold one
    /// value per stored entry.
    pub(super) fn new(pattern: Arc<SparsePattern>, w: Arc<[f32]>) -> Option<Self> {
        (w.len() == pattern.col_idx.len()).then_some(Gather {
            rows_per_task: rows_per_task(pattern.rows as usize, w.len()),
            pattern,
            w,
        })
    }

    /// `out = W x`.
    pub(super) fn apply(&self, x: &[f32], out: &mut [f32]) {
        let (p, w) = (&*self.pattern, &*self.w);
        let block = |r0: usize, out: &mut [f32]| {
            for (r, o) in out.iter_mut().enumerate() {
                let range = p.row(r0 + r);
                *o = sparse_dot(&p.col_idx[range.clone()], &w[range], |j| x[j]);
            }
        };
        if self.rows_per_task >= out.len() {
            block(0, out);
        } else {
            out.par_chunks_mut(self.rows_per_task)
                .enumerate()
                .for_each(|(c, out)| block(c * self.rows_per_task, out));
        }
    }
}

/// Where the synapses of a [`Scatter`] come from: a checked CSR pattern, or
/// every entry of a dense row-major matrix.
#[derive(Clone, Debug)]
pub(super) enum Layout {
    Sparse(Arc<SparsePattern>),
    Dense { rows: usize, cols: usize },
}

impl Layout {
    fn rows(&self) -> usize {
        match self {
            Layout::Sparse(p) => p.rows as usize,
            Layout::Dense { rows, .. } => *rows,
        }
    }

    fn cols(&self) -> usize {
        match self {
            Layout::Sparse(p) => p.cols as usize,
            Layout::Dense { cols, .. } => *cols,
        }
    }

    /// Calls `f(k, col)` for every stored entry `k` of row `r`.
    #[inline]
    fn for_each_entry(&self, r: usize, mut f: impl FnMut(usize, usize)) {
        match self {
            Layout::Sparse(p) => {
                let range = p.row(r);
                for (k, &c) in range.clone().zip(&p.col_idx[range]) {
                    f(k, c as usize);
                }
            }
            Layout::Dense { cols, .. } => {
                for c in 0..*cols {
                    f(r * cols + c, c);
                }
            }
        }
    }

    /// `Σ_k w_k · x(col_k)` over the entries of row `r`.
    #[inline]
    fn row_dot(&self, w: &[f32], r: usize, x: impl Fn(usize) -> f32) -> f32 {
        match self {
            Layout::Sparse(p) => {
                let range = p.row(r);
                sparse_dot(&p.col_idx[range.clone()], &w[range], x)
            }
            Layout::Dense { cols, .. } => w[r * cols..(r + 1) * cols]
                .iter()
                .enumerate()
                .fold(0.0f32, |acc, (c, &wk)| acc + wk * x(c)),
        }
    }
}

/// Element `j` of a binary vector packed 64 to a word, as `0.0` or `1.0`.
#[inline]
fn bit(bits: &[u64], j: usize) -> f32 {
    ((bits[j >> 6] >> (j & 63)) & 1) as f32
}

/// A per-synapse delay in the narrowest type that holds the largest one
/// (`()` when the projection has one delay for all synapses).
trait Steps: Copy + Default + Send + Sync + std::fmt::Debug {
    /// From a delay already checked to be in `0 ..= Self::MAX`.
    fn from_i32(v: i32) -> Self;
    fn get(self) -> usize;
}

impl Steps for () {
    fn from_i32(_: i32) -> Self {}
    fn get(self) -> usize {
        0
    }
}

macro_rules! steps {
    ($($t:ty),*) => {$(
        impl Steps for $t {
            fn from_i32(v: i32) -> Self {
                v as $t
            }
            fn get(self) -> usize {
                self as usize
            }
        }
    )*};
}
steps!(u8, u16, u32);

/// The delays of a [`Scatter`]'s synapses, as given in the graph.
#[derive(Clone, Debug)]
pub(super) enum DelaySpec {
    /// One delay for all synapses.
    Const(usize),
    /// One non-negative delay per stored entry, in storage order.
    PerSynapse(Arc<[i32]>),
}

/// The weights in the graph's own row order (shared with its tensors, not
/// copied), for steps where so many sources are active that summing every
/// row is cheaper than visiting the active columns.
#[derive(Clone, Debug)]
struct ByRow {
    layout: Layout,
    w: Arc<[f32]>,
    delay: DelaySpec,
}

/// One synapse onto a block: local row, weight, delay — packed together so
/// that a column's synapses are one contiguous run of memory.
#[derive(Clone, Copy, Debug, Default)]
struct Syn<D> {
    row: u32,
    w: f32,
    d: D,
}

/// The synapses onto one block of output rows, by column: column `j` owns
/// `syn[col_ptr[j] .. col_ptr[j + 1]]`, rows increasing.
#[derive(Clone, Debug)]
struct Table<D> {
    col_ptr: Vec<u32>,
    syn: Vec<Syn<D>>,
}

impl<D: Steps> Table<D> {
    fn column(&self, j: usize) -> &[Syn<D>] {
        &self.syn[self.col_ptr[j] as usize..self.col_ptr[j + 1] as usize]
    }

    /// Adds `x_j · W_ij` into the sum for step `t + D_ij` for every active
    /// column `j`; `base = t mod slots`, `acc` holds `slots` rows of sums.
    fn scatter(&self, acc: &mut [f32], rows: usize, active: &[u32], x: &[f32], base: usize) {
        let slots = acc.len() / rows.max(1);
        for &j in active {
            let j = j as usize;
            let xj = x[j];
            for s in self.column(j) {
                // base < slots and d < slots, so one subtraction wraps.
                let mut k = base + s.d.get();
                if k >= slots {
                    k -= slots;
                }
                acc[k * rows + s.row as usize] += s.w * xj;
            }
        }
    }

    /// The same with one delay for every synapse: one ring slot.
    fn scatter_const(&self, acc: &mut [f32], active: &[u32], x: &[f32]) {
        for &j in active {
            let j = j as usize;
            let xj = x[j];
            for s in self.column(j) {
                acc[s.row as usize] += s.w * xj;
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Synapses {
    /// One delay for all synapses.
    Const(Table<()>, usize),
    U8(Table<u8>),
    U16(Table<u16>),
    U32(Table<u32>),
}

/// One block of output rows `r0 .. r0 + rows`: its synapses and its ring
/// of future sums, `acc[s · rows + i]` being the sum arriving at local row
/// `i` at the step `τ` with `τ mod slots = s`.
#[derive(Clone, Debug)]
struct Block {
    r0: usize,
    rows: usize,
    slots: usize,
    syn: Synapses,
    acc: Vec<f32>,
}

impl Block {
    /// Adds the active sources' values into the future sums; `base = t mod
    /// slots` for the source's step `t`.
    fn scatter(&mut self, active: &[u32], x: &[f32], base: usize) {
        let (acc, rows) = (&mut self.acc[..], self.rows);
        match &self.syn {
            Synapses::Const(t, d) => {
                let s = (base + d) % self.slots;
                t.scatter_const(&mut acc[s * rows..(s + 1) * rows], active, x);
            }
            Synapses::U8(t) => t.scatter(acc, rows, active, x, base),
            Synapses::U16(t) => t.scatter(acc, rows, active, x, base),
            Synapses::U32(t) => t.scatter(acc, rows, active, x, base),
        }
    }

    /// The same sums, row by row: every synapse of the block's rows, in the
    /// graph's order (which is also the order `scatter` adds them in, so
    /// both give the same bits).
    fn gather(&mut self, by_row: &ByRow, x: impl Fn(usize) -> f32, base: usize) {
        let (rows, slots) = (self.rows, self.slots);
        let ByRow { layout, w, delay } = by_row;
        match delay {
            DelaySpec::Const(d) => {
                let s = (base + d) % slots;
                let acc = &mut self.acc[s * rows..(s + 1) * rows];
                for (i, a) in acc.iter_mut().enumerate() {
                    *a += layout.row_dot(w, self.r0 + i, &x);
                }
            }
            DelaySpec::PerSynapse(d) => {
                let acc = &mut self.acc[..];
                for i in 0..rows {
                    layout.for_each_entry(self.r0 + i, |k, c| {
                        // base < slots and d < slots (checked in `new`).
                        let mut s = base + d[k] as usize;
                        if s >= slots {
                            s -= slots;
                        }
                        acc[s * rows + i] += w[k] * x(c);
                    });
                }
            }
        }
    }

    /// Adds the source's step into the future sums by the route chosen in
    /// [`Scatter::choose_route`].
    fn add(&mut self, route: Route<'_>, x: &[f32], base: usize) {
        match route {
            Route::Columns(active) => self.scatter(active, x, base),
            Route::Rows(by_row) => self.gather(by_row, |j| x[j], base),
            Route::RowsOfBits(by_row, bits) => self.gather(by_row, |j| bit(bits, j), base),
        }
    }

    /// Moves the sum for the step with `τ mod slots = s` into `out` and
    /// clears it for reuse.
    fn take(&mut self, s: usize, out: &mut [f32]) {
        let acc = &mut self.acc[s * self.rows..(s + 1) * self.rows];
        out.copy_from_slice(acc);
        acc.fill(0.0);
    }
}

/// How one step of a [`Scatter`]'s source is added into the future sums.
#[derive(Clone, Copy)]
enum Route<'a> {
    /// By the active (nonzero) columns.
    Columns(&'a [u32]),
    /// Row by row.
    Rows(&'a ByRow),
    /// Row by row, reading a binary source from a bit vector (eight times
    /// smaller than the `f32` values, so it stays in cache).
    RowsOfBits(&'a ByRow, &'a [u64]),
}

impl<'a> Route<'a> {
    fn new(
        by_rows: bool,
        binary: bool,
        active: &'a [u32],
        by_row: &'a ByRow,
        bits: &'a [u64],
    ) -> Self {
        match (by_rows, binary) {
            (false, _) => Route::Columns(active),
            (true, false) => Route::Rows(by_row),
            (true, true) => Route::RowsOfBits(by_row, bits),
        }
    }
}

/// With more than `1 / ROW_ROUTE` of the sources active (nonzero), a step is
/// summed row by row instead of scattered by column: a scattered synapse
/// costs about eight times a summed one (random writes against streaming
/// reads).
const ROW_ROUTE: usize = 8;

/// Weights by column in row blocks, with a ring of future sums per block.
#[derive(Clone, Debug)]
pub(super) struct Scatter {
    cols: usize,
    /// Stored synapses.
    nnz: usize,
    slots: usize,
    rows_per_block: usize,
    /// Whether zero source values may be skipped (all weights finite).
    skip_zeros: bool,
    blocks: Vec<Block>,
    by_row: ByRow,
    /// Whether every source value is 0 or 1 (a spiking source).
    binary: bool,
    /// The nonzero source columns of this step.
    active: Vec<u32>,
    /// A binary source packed into bits, for the row route.
    bits: Vec<u64>,
}

impl Scatter {
    /// Builds the column tables from `layout` (a sparse pattern must have
    /// passed [`SparsePattern::check`]), one weight per stored entry, and
    /// the delays. `binary` promises that every source value is 0 or 1.
    /// Errors are messages about memory or sizes.
    pub(super) fn new(
        layout: Layout,
        w: Arc<[f32]>,
        delay: DelaySpec,
        binary: bool,
    ) -> Result<Self, String> {
        let (rows, cols) = (layout.rows(), layout.cols());
        let nnz = match &layout {
            Layout::Sparse(p) => p.col_idx.len(),
            Layout::Dense { rows, cols } => rows
                .checked_mul(*cols)
                .ok_or("the weight matrix is too large")?,
        };
        if w.len() != nnz {
            return Err(format!("{} weights for {nnz} synapses", w.len()));
        }
        let max_delay = match &delay {
            DelaySpec::Const(d) => *d,
            DelaySpec::PerSynapse(d) => {
                if d.len() != nnz {
                    return Err(format!("{} delays for {nnz} synapses", d.len()));
                }
                if let Some(bad) = d.iter().find(|&&v| v < 0) {
                    return Err(format!("negative delay {bad}"));
                }
                d.iter().copied().max().unwrap_or(0) as usize
            }
        };
        let slots = max_delay
            .checked_add(1)
            .ok_or_else(|| format!("delay {max_delay} is too large"))?;

        // One block of rows per thread: a column's synapses onto a block
        // stay one long contiguous run (fewer cache misses per spike than
        // more, shorter blocks). More blocks only when a block's synapse
        // count would not fit the u32 column pointers.
        let block_nnz = |r0: usize, r1: usize| match &layout {
            Layout::Sparse(p) => (p.row_ptr[r1] - p.row_ptr[r0]) as usize,
            Layout::Dense { cols, .. } => (r1 - r0) * cols,
        };
        let mut nblocks = if nnz < PAR_MIN_WORK {
            1
        } else {
            rayon::current_num_threads()
        };
        let rows_per_block = loop {
            let per = rows.div_ceil(nblocks).max(1);
            let fits = (0..rows)
                .step_by(per)
                .all(|r0| block_nnz(r0, (r0 + per).min(rows)) <= u32::MAX as usize);
            if fits {
                break per;
            }
            if per == 1 {
                return Err("a row has more than 2^32 synapses".into());
            }
            nblocks *= 2;
        };
        let per_synapse = match &delay {
            DelaySpec::Const(_) => None,
            DelaySpec::PerSynapse(d) => Some(&d[..]),
        };
        let starts: Vec<usize> = (0..rows).step_by(rows_per_block).collect();
        let blocks = starts
            .into_par_iter()
            .map(|r0| {
                let r1 = (r0 + rows_per_block).min(rows);
                let range = r0..r1;
                let syn = match (&delay, per_synapse) {
                    (DelaySpec::Const(d), _) => {
                        Synapses::Const(table(&layout, &w, None, range)?, *d)
                    }
                    (_, ds) if max_delay <= u8::MAX as usize => {
                        Synapses::U8(table(&layout, &w, ds, range)?)
                    }
                    (_, ds) if max_delay <= u16::MAX as usize => {
                        Synapses::U16(table(&layout, &w, ds, range)?)
                    }
                    (_, ds) => Synapses::U32(table(&layout, &w, ds, range)?),
                };
                let acc = zeros((r1 - r0).checked_mul(slots), || {
                    format!("a ring of {slots} future sums × {} neurons", r1 - r0)
                })?;
                Ok(Block {
                    r0,
                    rows: r1 - r0,
                    slots,
                    syn,
                    acc,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let skip_zeros = w.iter().all(|v| v.is_finite());
        Ok(Scatter {
            cols,
            nnz,
            slots,
            rows_per_block,
            skip_zeros,
            blocks,
            by_row: ByRow { layout, w, delay },
            binary,
            active: Vec::with_capacity(cols),
            bits: if binary {
                vec![0; cols.div_ceil(64)]
            } else {
                Vec::new()
            },
        })
    }

    /// Adds the source's value at step `t` into the future sums.
    pub(super) fn scatter(&mut self, x: &[f32], t: usize) {
        let by_rows = self.choose_route(x);
        let parallel = self.parallel(by_rows);
        let route = Route::new(by_rows, self.binary, &self.active, &self.by_row, &self.bits);
        let base = t % self.slots;
        if parallel {
            self.blocks
                .par_iter_mut()
                .for_each(|b| b.add(route, x, base));
        } else {
            for b in &mut self.blocks {
                b.add(route, x, base);
            }
        }
    }

    /// Writes the sums arriving at step `t` into `out`.
    pub(super) fn take(&mut self, t: usize, out: &mut [f32]) {
        let s = t % self.slots;
        if self.blocks.len() > 1 && out.len() >= PAR_MIN_ROWS {
            out.par_chunks_mut(self.rows_per_block)
                .zip(self.blocks.par_iter_mut())
                .for_each(|(out, b)| b.take(s, out));
        } else {
            for (out, b) in out.chunks_mut(self.rows_per_block).zip(&mut self.blocks) {
                b.take(s, out);
            }
        }
    }

    /// `scatter(x, t)` then `take(t, out)`, in one pass over the blocks: for
    /// projections with zero-delay synapses, whose source is already
    /// evaluated at step `t`.
    pub(super) fn scatter_take(&mut self, x: &[f32], t: usize, out: &mut [f32]) {
        let by_rows = self.choose_route(x);
        let parallel = self.parallel(by_rows);
        let route = Route::new(by_rows, self.binary, &self.active, &self.by_row, &self.bits);
        let s = t % self.slots;
        let add_take = |(out, b): (&mut [f32], &mut Block)| {
            b.add(route, x, s);
            b.take(s, out);
        };
        if parallel {
            out.par_chunks_mut(self.rows_per_block)
                .zip(self.blocks.par_iter_mut())
                .for_each(add_take);
        } else {
            out.chunks_mut(self.rows_per_block)
                .zip(&mut self.blocks)
                .for_each(add_take);
        }
    }

    /// Whether this step's synapses are worth spreading over the blocks'
    /// threads: all of them on the row route, the active columns' share
    /// on the column route. (Blocks are independent, so the sums are the
    /// same bits either way.)
    fn parallel(&self, by_rows: bool) -> bool {
        let work = if by_rows {
            self.nnz
        } else {
            self.active.len() * (self.nnz / self.cols.max(1))
        };
        self.blocks.len() > 1 && work >= PAR_MIN_WORK
    }

    /// Collects the active (nonzero) columns; returns whether this step
    /// should be summed by row instead: many active sources, or weights
    /// that are not all finite (where skipping a zero source would drop a
    /// NaN). A binary source is also packed into bits, for the row route.
    fn choose_route(&mut self, x: &[f32]) -> bool {
        self.active.clear();
        let want_bits = self.binary;
        // 64 sources at a time: a mask of the nonzero ones (a loop the
        // compiler turns into vector compares), then its set bits.
        for (c, chunk) in x.chunks(64).enumerate() {
            let mask = chunk
                .iter()
                .enumerate()
                .fold(0u64, |m, (k, &v)| m | (u64::from(v != 0.0) << k));
            if want_bits {
                self.bits[c] = mask;
            }
            if self.skip_zeros {
                let mut m = mask;
                while m != 0 {
                    self.active.push((c * 64) as u32 + m.trailing_zeros());
                    m &= m - 1;
                }
            }
        }
        !self.skip_zeros || self.active.len() * ROW_ROUTE > self.cols
    }
}

/// The synapses of rows `rows`, by column (a counting sort of the CSR
/// entries; within a column, rows stay in increasing order).
fn table<D: Steps>(
    layout: &Layout,
    w: &[f32],
    delays: Option<&[i32]>,
    rows: Range<usize>,
) -> Result<Table<D>, String> {
    let cols = layout.cols();
    let what = || format!("the synapse table of rows {}..{}", rows.start, rows.end);
    let mut col_ptr: Vec<u32> = zeros(cols.checked_add(1), what)?;
    for r in rows.clone() {
        layout.for_each_entry(r, |_, c| col_ptr[c + 1] += 1);
    }
    for c in 0..cols {
        col_ptr[c + 1] += col_ptr[c];
    }
    let nnz = col_ptr[cols] as usize;
    let mut next = col_ptr[..cols].to_vec();
    let mut syn: Vec<Syn<D>> = zeros(Some(nnz), what)?;
    for r in rows.clone() {
        let row = (r - rows.start) as u32;
        layout.for_each_entry(r, |k, c| {
            let at = next[c] as usize;
            next[c] += 1;
            syn[at] = Syn {
                row,
                w: w[k],
                d: delays.map_or_else(D::default, |d| D::from_i32(d[k])),
            };
        });
    }
    Ok(Table { col_ptr, syn })
}
