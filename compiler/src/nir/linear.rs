//! Linear maps between NIR nodes' values, as sparse matrices, and their
//! composition: every chain of stateless NIR nodes (Linear, Affine, Scale,
//! Flatten, Conv, pooling, Delay) between two neuron nodes becomes one
//! projection whose weights are the product of the chain's matrices.

/// A `[rows, cols]` matrix in compressed sparse rows (columns sorted).
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    pub rows: usize,
    pub cols: usize,
    pub row_ptr: Vec<usize>,
    pub col: Vec<usize>,
    pub val: Vec<f64>,
}

impl Csr {
    /// The `n × n` identity.
    pub fn identity(n: usize) -> Self {
        Csr::diagonal(&vec![1.0; n])
    }

    /// A diagonal matrix.
    pub fn diagonal(d: &[f64]) -> Self {
        Csr {
            rows: d.len(),
            cols: d.len(),
            row_ptr: (0..=d.len()).collect(),
            col: (0..d.len()).collect(),
            val: d.to_vec(),
        }
    }

    /// A dense row-major `[rows, cols]` matrix (zeros are not stored).
    pub fn dense(rows: usize, cols: usize, w: &[f64]) -> Self {
        let mut b = Builder::new(rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                b.push(c, w[r * cols + c]);
            }
            b.end_row();
        }
        b.finish()
    }

    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.col.len()
    }

    /// The entries of row `r`.
    pub fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.row_ptr[r]..self.row_ptr[r + 1]
    }

    /// `self · other` (`[rows, k] · [k, cols]`).
    pub fn compose(&self, other: &Csr) -> Csr {
        debug_assert_eq!(self.cols, other.rows);
        let mut acc = vec![0.0f64; other.cols];
        let mut seen = vec![false; other.cols];
        let mut touched: Vec<usize> = Vec::new();
        let mut b = Builder::new(self.rows, other.cols);
        for r in 0..self.rows {
            for e in self.row(r) {
                let (k, w) = (self.col[e], self.val[e]);
                for f in other.row(k) {
                    let c = other.col[f];
                    if !seen[c] {
                        seen[c] = true;
                        touched.push(c);
                    }
                    acc[c] += w * other.val[f];
                }
            }
            touched.sort_unstable();
            for &c in &touched {
                b.push(c, acc[c]);
                acc[c] = 0.0;
                seen[c] = false;
            }
            touched.clear();
            b.end_row();
        }
        b.finish()
    }

    /// `self · v`.
    pub fn apply(&self, v: &[f64]) -> Vec<f64> {
        (0..self.rows)
            .map(|r| self.row(r).map(|e| self.val[e] * v[self.col[e]]).sum())
            .collect()
    }

    /// For each column, the one row that uses it, if every column has at most
    /// one entry.
    pub fn column_owner(&self) -> Option<Vec<Option<usize>>> {
        let mut owner = vec![None; self.cols];
        for r in 0..self.rows {
            for e in self.row(r) {
                let c = self.col[e];
                if owner[c].is_some() {
                    return None;
                }
                owner[c] = Some(r);
            }
        }
        Some(owner)
    }

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        self.rows == self.cols
            && self.nnz() == self.rows
            && (0..self.rows).all(|r| {
                let e = self.row_ptr[r];
                self.row_ptr[r + 1] == e + 1 && self.col[e] == r && self.val[e] == 1.0
            })
    }
}

/// Builds a [`Csr`] row by row; zeros are dropped.
pub struct Builder {
    m: Csr,
}

impl Builder {
    /// An empty `[rows, cols]` matrix to fill row by row.
    pub fn new(rows: usize, cols: usize) -> Self {
        Builder {
            m: Csr {
                rows,
                cols,
                row_ptr: vec![0],
                col: vec![],
                val: vec![],
            },
        }
    }

    /// Adds entry `(current row, c)`; columns must rise within a row.
    pub fn push(&mut self, c: usize, v: f64) {
        if v != 0.0 {
            self.m.col.push(c);
            self.m.val.push(v);
        }
    }

    /// Closes the current row.
    pub fn end_row(&mut self) {
        self.m.row_ptr.push(self.m.col.len());
    }

    /// The matrix.
    pub fn finish(self) -> Csr {
        debug_assert_eq!(self.m.row_ptr.len(), self.m.rows + 1);
        self.m
    }
}

/// The delays of one term, in steps.
#[derive(Clone, Debug, PartialEq)]
pub enum Delays {
    /// The same for every synapse.
    Const(u32),
    /// One per source element (column).
    PerSource(Vec<u32>),
    /// One per target element (row).
    PerTarget(Vec<u32>),
    /// One per stored entry of the term's map, in its order.
    PerSynapse(Vec<u32>),
}

impl Delays {
    /// The delay of stored entry `e`, at `(row, col)`.
    pub fn of(&self, e: usize, row: usize, col: usize) -> u32 {
        match self {
            Delays::Const(d) => *d,
            Delays::PerSource(d) => d[col],
            Delays::PerTarget(d) => d[row],
            Delays::PerSynapse(d) => d[e],
        }
    }

    /// Every delay plus `k`.
    pub fn plus(&self, k: u32) -> Delays {
        match self {
            Delays::Const(d) => Delays::Const(d + k),
            Delays::PerSource(d) => Delays::PerSource(d.iter().map(|x| x + k).collect()),
            Delays::PerTarget(d) => Delays::PerTarget(d.iter().map(|x| x + k).collect()),
            Delays::PerSynapse(d) => Delays::PerSynapse(d.iter().map(|x| x + k).collect()),
        }
    }
}

/// `map · src[t − delays]`: one source node seen through a linear map.
#[derive(Clone, Debug, PartialEq)]
pub struct Term<S> {
    pub src: S,
    pub map: Csr,
    pub delays: Delays,
}

/// A value: a sum of terms plus a constant.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal<S> {
    pub len: usize,
    pub terms: Vec<Term<S>>,
    pub bias: Option<Vec<f64>>,
}

impl<S: Clone> Signal<S> {
    /// The value of `src` (of `len` elements) itself.
    pub fn source(src: S, len: usize) -> Self {
        Signal {
            len,
            terms: vec![Term {
                src,
                map: Csr::identity(len),
                delays: Delays::Const(0),
            }],
            bias: None,
        }
    }

    /// Zero of `len` elements.
    pub fn zero(len: usize) -> Self {
        Signal {
            len,
            terms: vec![],
            bias: None,
        }
    }

    /// `self + other` (same length).
    pub fn add(&mut self, other: Signal<S>) {
        self.terms.extend(other.terms);
        self.bias = match (self.bias.take(), other.bias) {
            (Some(a), Some(b)) => Some(a.iter().zip(&b).map(|(x, y)| x + y).collect()),
            (a, b) => a.or(b),
        };
    }

    /// `m · self`; errors when a per-target delay would have to pass through
    /// a map that mixes elements.
    pub fn map(&self, m: &Csr) -> Result<Signal<S>, String> {
        let mut terms = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let delays = match &t.delays {
                Delays::PerSynapse(_) => {
                    return Err("internal error: a merged term mapped again".into());
                }
                Delays::PerTarget(d) => {
                    // Each source element must reach one intermediate element.
                    let owner = t.map.column_owner().ok_or_else(|| {
                        "a Delay between two maps that mix elements (each source element would need several delays)".to_string()
                    })?;
                    Delays::PerSource(owner.iter().map(|o| o.map_or(0, |r| d[r])).collect())
                }
                other => other.clone(),
            };
            terms.push(Term {
                src: t.src.clone(),
                map: m.compose(&t.map),
                delays,
            });
        }
        Ok(Signal {
            len: m.rows,
            terms,
            bias: self.bias.as_ref().map(|b| m.apply(b)),
        })
    }

    /// The value `d` steps later (per element, or one for all).
    pub fn delay(&self, d: &[u32]) -> Result<Signal<S>, String> {
        let uniform = d.iter().all(|&x| x == d[0]);
        let mut terms = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let delays = match (&t.delays, uniform) {
                (old, true) => old.plus(d.first().copied().unwrap_or(0)),
                (Delays::Const(c), false) => Delays::PerTarget(d.iter().map(|x| x + c).collect()),
                (Delays::PerTarget(o), false) => {
                    Delays::PerTarget(o.iter().zip(d).map(|(a, b)| a + b).collect())
                }
                (Delays::PerSource(_) | Delays::PerSynapse(_), false) => {
                    return Err(
                        "two Delays with different delays per element around a map that mixes elements"
                            .into(),
                    );
                }
            };
            terms.push(Term {
                src: t.src.clone(),
                map: t.map.clone(),
                delays,
            });
        }
        if self.bias.is_some() && !d.iter().all(|&x| x == 0) {
            // A constant delayed is the same constant after the first steps;
            // NIR graphs start at rest, so it would be zero before.
            return Err("a Delay of a constant (an Affine bias before a Delay)".into());
        }
        Ok(Signal {
            len: self.len,
            terms,
            bias: self.bias.clone(),
        })
    }
}

/// Merges terms of one source into one, if no two of them hold the same
/// `(row, col)` entry: one projection with a delay per synapse instead of
/// one per delay (what an exported per-synapse delay comes back as).
pub fn merge<S: Clone + PartialEq>(terms: &[Term<S>]) -> Option<Term<S>> {
    let first = terms.first()?;
    if terms
        .iter()
        .any(|t| t.src != first.src || t.map.rows != first.map.rows)
    {
        return None;
    }
    let (rows, cols) = (first.map.rows, first.map.cols);
    let mut b = Builder::new(rows, cols);
    let mut delays = Vec::new();
    let mut row: Vec<(usize, f64, u32)> = Vec::new();
    for r in 0..rows {
        row.clear();
        for t in terms {
            for e in t.map.row(r) {
                let c = t.map.col[e];
                row.push((c, t.map.val[e], t.delays.of(e, r, c)));
            }
        }
        row.sort_by_key(|x| x.0);
        if row.windows(2).any(|w| w[0].0 == w[1].0) {
            return None;
        }
        for &(c, v, d) in &row {
            b.push(c, v);
            if v != 0.0 {
                delays.push(d);
            }
        }
        b.end_row();
    }
    let delays = match delays.first() {
        Some(&d0) if delays.iter().all(|&d| d == d0) => Delays::Const(d0),
        None => Delays::Const(0),
        Some(_) => Delays::PerSynapse(delays),
    };
    Some(Term {
        src: first.src.clone(),
        map: b.finish(),
        delays,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composition_multiplies_matrices() {
        // [[1, 2], [0, 3]] · [[4, 0, 1], [0, 5, 0]] = [[4, 10, 1], [0, 15, 0]]
        let a = Csr::dense(2, 2, &[1.0, 2.0, 0.0, 3.0]);
        let b = Csr::dense(2, 3, &[4.0, 0.0, 1.0, 0.0, 5.0, 0.0]);
        let c = a.compose(&b);
        assert_eq!(c, Csr::dense(2, 3, &[4.0, 10.0, 1.0, 0.0, 15.0, 0.0]));
        assert_eq!(c.apply(&[1.0, 1.0, 1.0]), vec![15.0, 15.0]);
        assert!(Csr::identity(3).is_identity());
        assert!(!Csr::diagonal(&[1.0, 2.0]).is_identity());
    }

    #[test]
    fn per_target_delays_move_to_sources_through_one_to_one_maps() {
        let s: Signal<u8> = Signal::source(0, 2).delay(&[1, 3]).unwrap();
        assert_eq!(s.terms[0].delays, Delays::PerTarget(vec![1, 3]));
        let mixed = s.map(&Csr::dense(1, 2, &[1.0, 1.0])).unwrap();
        assert_eq!(mixed.terms[0].delays, Delays::PerSource(vec![1, 3]));
        let twice = Signal::source(0u8, 2)
            .map(&Csr::dense(2, 2, &[1.0, 1.0, 1.0, 1.0]))
            .unwrap()
            .delay(&[1, 2])
            .unwrap();
        assert_eq!(
            twice.map(&Csr::identity(2)).unwrap_err(),
            "a Delay between two maps that mix elements (each source element would need several delays)"
        );
    }
}
