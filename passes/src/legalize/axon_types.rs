//! TrueNorth's axon types. A core's crossbar connects axon `i` (a source
//! neuron, a column of the IR's `[targets, sources]` weights) to neuron `j`
//! or not; each axon has one of four types `G_i`, and each neuron one
//! signed weight per type, so `W[j][i] = c[j][i] · s_j[G_i]`.
//!
//! All projections into one population are factored together, since its
//! neurons have one set of four weights for every axon that reaches them:
//! each projection's columns get types, and the population's `[rows, 4]`
//! table of weights is shared by its projections' annotations.
//!
//! 1. **Exact.** Columns are taken largest first; each joins the first type
//!    whose weights agree with it on every row where both have a synapse,
//!    or starts a type. If every column finds one of the four, the
//!    factorization is exact and the weights are kept as they are.
//! 2. **Otherwise**, alternating minimisation of `Σ (w − s_j[G_i])²` over
//!    the synapses (a weight of 0 is no synapse and costs nothing): columns
//!    start in four equal buckets by their mean weight, then "each type's
//!    weight per neuron is the mean of its synapses" and "each column takes
//!    the type that fits it best" alternate until at most one column in a
//!    hundred changes (at most 16 rounds). The weights become the factored
//!    ones; the error is reported (W0462: `legalize` is then not exact).
//!
//! Types are numbered in order of first use by column, so results are
//! deterministic and readable.

use std::collections::HashSet;

use rayon::prelude::*;
use snn_ir::target::WeightFormat;
use snn_ir::tensor::{Origin, Tensor, Values};
use snn_ir::{Graph, NodeId, Op, Quant, QuantKind};

use super::synapses::{Synapses, fold_blocks, relaid};
use crate::manager::{PassCx, PassDiag, Table};

/// Rounds of alternating minimisation at most.
const ROUNDS: usize = 16;
/// Alternation stops when at most one column in this many changes type.
const SETTLED: usize = 100;

/// A factorization of one population's incoming weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Factors {
    /// Type of every column, projections one after the other.
    pub types: Vec<u8>,
    /// `[rows, k]`: each neuron's weight for each type.
    pub values: Vec<f32>,
    /// Whether `c · s[G]` reproduces every weight.
    pub exact: bool,
}

/// Weights by column: `(row, weight)` of every nonzero synapse.
struct Columns {
    ptr: Vec<usize>,
    entries: Vec<(u32, f32)>,
}

impl Columns {
    fn new(mats: &[Synapses]) -> Columns {
        let total: usize = mats.iter().map(|m| m.cols).sum();
        let offsets: Vec<usize> = mats
            .iter()
            .scan(0, |o, m| {
                let at = *o;
                *o += m.cols;
                Some(at)
            })
            .collect();
        // Synapses per column (integer sums: any order gives the same).
        let mut count = vec![0usize; total + 1];
        for (m, &offset) in mats.iter().zip(&offsets) {
            let per: Vec<usize> = fold_blocks(
                m,
                || vec![0usize; m.cols],
                |c, rows| {
                    for r in rows {
                        for k in m.row(r) {
                            if m.weights[k] != 0.0 {
                                c[m.col(r, k) as usize] += 1;
                            }
                        }
                    }
                },
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
            count[offset + 1..offset + 1 + m.cols].copy_from_slice(&per);
        }
        for c in 0..total {
            count[c + 1] += count[c];
        }
        // Each task fills a range of columns, scanning every synapse, so
        // every column lists its synapses in row order.
        let tasks = rayon::current_num_threads().max(1);
        let step = total.div_ceil(tasks).max(1);
        let mut entries = vec![(0u32, 0f32); count[total]];
        let mut ranges: Vec<(usize, &mut [(u32, f32)])> = Vec::new();
        let mut rest = entries.as_mut_slice();
        let mut c0 = 0;
        while c0 < total {
            let c1 = (c0 + step).min(total);
            let (head, tail) = rest.split_at_mut(count[c1] - count[c0]);
            ranges.push((c0, head));
            rest = tail;
            c0 = c1;
        }
        ranges.into_par_iter().for_each(|(c0, out)| {
            let c1 = (c0 + step).min(total);
            let mut next: Vec<usize> = count[c0..c1].iter().map(|&p| p - count[c0]).collect();
            for (m, &offset) in mats.iter().zip(&offsets) {
                if offset + m.cols <= c0 || offset >= c1 {
                    continue;
                }
                for r in 0..m.rows {
                    for k in m.row(r) {
                        let w = m.weights[k];
                        let c = offset + m.col(r, k) as usize;
                        if w != 0.0 && (c0..c1).contains(&c) {
                            out[next[c - c0]] = (r as u32, w);
                            next[c - c0] += 1;
                        }
                    }
                }
            }
        });
        Columns {
            ptr: count,
            entries,
        }
    }

    fn len(&self) -> usize {
        self.ptr.len() - 1
    }

    fn col(&self, c: usize) -> &[(u32, f32)] {
        &self.entries[self.ptr[c]..self.ptr[c + 1]]
    }
}

/// Step 1: first-fit grouping of columns that agree wherever both have a
/// synapse, largest columns first. Returns each column's group and each
/// group's weight per row, or `None` as soon as `k` groups do not suffice.
fn first_fit(rows: usize, cols: &Columns, k: usize) -> Option<(Vec<u8>, Vec<Vec<f32>>)> {
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(cols.col(c).len()), c));
    let mut group = vec![0u8; cols.len()];
    let mut centres: Vec<Vec<f32>> = Vec::new();
    for c in order {
        let col = cols.col(c);
        if col.is_empty() {
            continue;
        }
        let fits = |z: &Vec<f32>| {
            col.iter()
                .all(|&(r, w)| z[r as usize].is_nan() || z[r as usize] == w)
        };
        let t = match centres.iter().position(fits) {
            Some(t) => t,
            None if centres.len() < k => {
                centres.push(vec![f32::NAN; rows]);
                centres.len() - 1
            }
            None => return None,
        };
        for &(r, w) in col {
            centres[t][r as usize] = w;
        }
        group[c] = t as u8;
    }
    Some((group, centres))
}

/// The start of step 2: columns in `k` equal buckets by their mean weight
/// (ties by index), so similar inputs start with one type.
fn by_mean(cols: &Columns, k: usize) -> Vec<u8> {
    let mean: Vec<f64> = (0..cols.len())
        .map(|c| {
            let col = cols.col(c);
            if col.is_empty() {
                0.0
            } else {
                col.iter().map(|&(_, w)| w as f64).sum::<f64>() / col.len() as f64
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by(|&a, &b| mean[a].total_cmp(&mean[b]).then(a.cmp(&b)));
    let mut types = vec![0u8; cols.len()];
    let n = cols.len().max(1);
    for (i, c) in order.into_iter().enumerate() {
        types[c] = (i * k / n) as u8;
    }
    types
}

/// Renumbers types in order of first use by column; returns the new
/// numbers of the old.
fn canonical(types: &mut [u8], k: usize) -> Vec<usize> {
    let mut new_of = vec![usize::MAX; k];
    let mut next = 0;
    for t in types.iter_mut() {
        let old = *t as usize;
        if new_of[old] == usize::MAX {
            new_of[old] = next;
            next += 1;
        }
        *t = new_of[old] as u8;
    }
    for slot in new_of.iter_mut() {
        if *slot == usize::MAX {
            *slot = next;
            next += 1;
        }
    }
    new_of
}

/// Moves column `old` of a `[rows, k]` table to column `new_of[old]`.
fn permute(values: &[f32], k: usize, new_of: &[usize]) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    for (r, row) in values.chunks(k).enumerate() {
        for (old, &v) in row.iter().enumerate() {
            out[r * k + new_of[old]] = v;
        }
    }
    out
}

/// Each type's weight per row: the mean of its synapses (0 without any),
/// row by row in parallel.
fn means(rows: usize, k: usize, mats: &[Synapses], types: &[u8]) -> Vec<f32> {
    let mut values = vec![0f32; rows * k];
    values
        .par_chunks_mut(k * 1024)
        .enumerate()
        .for_each(|(chunk, out)| {
            let r0 = chunk * 1024;
            let mut sum = vec![0f64; k];
            let mut n = vec![0u32; k];
            for (i, row) in out.chunks_mut(k).enumerate() {
                let r = r0 + i;
                sum.iter_mut().for_each(|x| *x = 0.0);
                n.iter_mut().for_each(|x| *x = 0);
                let mut offset = 0;
                for m in mats {
                    for j in m.row(r) {
                        let w = m.weights[j];
                        if w != 0.0 {
                            let t = types[offset + m.col(r, j) as usize] as usize;
                            sum[t] += w as f64;
                            n[t] += 1;
                        }
                    }
                    offset += m.cols;
                }
                for t in 0..k {
                    row[t] = if n[t] > 0 {
                        (sum[t] / n[t] as f64) as f32
                    } else {
                        0.0
                    };
                }
            }
        });
    values
}

/// Each column's best type given the weights (ties: the lower type).
fn assign(k: usize, cols: &Columns, values: &[f32], old: &[u8]) -> Vec<u8> {
    (0..cols.len())
        .into_par_iter()
        .map(|c| {
            let col = cols.col(c);
            if col.is_empty() {
                return old[c];
            }
            let cost = |t: usize| -> f64 {
                col.iter()
                    .map(|&(r, w)| (w as f64 - values[r as usize * k + t] as f64).powi(2))
                    .sum()
            };
            let mut best = (cost(old[c] as usize), old[c] as usize);
            for t in 0..k {
                let x = cost(t);
                if x < best.0 || (x == best.0 && t < best.1) {
                    best = (x, t);
                }
            }
            best.1 as u8
        })
        .collect()
}

/// Factors the columns of `mats` (all `rows` high) into `k` axon types.
pub fn factor(rows: usize, mats: &[Synapses], k: usize) -> Factors {
    let cols = Columns::new(mats);
    if let Some((mut types, centres)) = first_fit(rows, &cols, k) {
        let mut values = vec![0f32; rows * k];
        for (t, z) in centres.iter().enumerate() {
            for (r, &v) in z.iter().enumerate() {
                if !v.is_nan() {
                    values[r * k + t] = v;
                }
            }
        }
        let new_of = canonical(&mut types, k);
        return Factors {
            types,
            values: permute(&values, k, &new_of),
            exact: true,
        };
    }
    // Alternate until at most one column in a hundred changes type.
    let mut types = by_mean(&cols, k);
    let mut values = means(rows, k, mats, &types);
    for _ in 0..ROUNDS {
        let next = assign(k, &cols, &values, &types);
        let changed = next.iter().zip(&types).filter(|(a, b)| a != b).count();
        types = next;
        values = means(rows, k, mats, &types);
        if changed * SETTLED <= cols.len() {
            break;
        }
    }
    let new_of = canonical(&mut types, k);
    let values = permute(&values, k, &new_of);
    let exact = (0..cols.len()).into_par_iter().all(|c| {
        cols.col(c)
            .iter()
            .all(|&(r, w)| values[r as usize * k + types[c] as usize] == w)
    });
    Factors {
        types,
        values,
        exact,
    }
}

/// Error of the factored weights of one projection: synapses, root mean
/// square error, largest error.
fn error(s: &Synapses, types: &[u8], values: &[f32], k: usize) -> (u64, f64, f64) {
    let (n, sq, max) = s
        .blocks()
        .into_par_iter()
        .map(|rows| {
            let (mut n, mut sq, mut max) = (0u64, 0f64, 0f64);
            for r in rows {
                for i in s.row(r) {
                    let w = s.weights[i];
                    if w != 0.0 {
                        let c = s.col(r, i) as usize;
                        let e = (w - values[r * k + types[c] as usize]).abs() as f64;
                        n += 1;
                        sq += e * e;
                        max = max.max(e);
                    }
                }
            }
            (n, sq, max)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0u64, 0f64, 0f64), |a, b| {
            (a.0 + b.0, a.1 + b.1, a.2.max(b.2))
        });
    let rms = if n > 0 { (sq / n as f64).sqrt() } else { 0.0 };
    (n, rms, max)
}

/// The factored weights of one projection, laid out like `w`.
fn factored(s: &Synapses, w: &Tensor, types: &[u8], values: &[f32], k: usize) -> Tensor {
    let mut out = vec![0f32; s.weights.len()];
    let blocks = s.blocks();
    let mut chunks: Vec<&mut [f32]> = Vec::with_capacity(blocks.len());
    let mut rest = out.as_mut_slice();
    for b in &blocks {
        let (head, tail) = rest.split_at_mut(s.span(b).len());
        chunks.push(head);
        rest = tail;
    }
    blocks
        .into_par_iter()
        .zip(chunks)
        .for_each(|(rows, chunk)| {
            let base = s.span(&rows).start;
            for r in rows {
                for i in s.row(r) {
                    let w = s.weights[i];
                    if w != 0.0 {
                        let c = s.col(r, i) as usize;
                        chunk[i - base] = values[r * k + types[c] as usize];
                    }
                }
            }
        });
    relaid(w, Values::F32(out.into()))
}

/// Source columns one population's factoring may read (over all its
/// incoming projections, which after splitting by target block and adding
/// copies each read the whole copy population): beyond this, the column
/// index and the per-column type tensors would take gigabytes.
pub const MAX_COLUMNS: usize = 1 << 25;

/// Factors every population's incoming weights into axon types and
/// records them; reports the error per projection. Returns false (E0476)
/// when a population reads more than [`MAX_COLUMNS`] source columns.
pub(super) fn axon_types(g: &mut Graph, cx: &mut PassCx) -> bool {
    let WeightFormat::AxonTypes { types: k, bits } = cx.target.weights else {
        return true;
    };
    let k = k as usize;
    let mut table = Table::new(
        "axon types (W[j][i] = c[j][i] · s_j[G_i])",
        &["projection", "rows", "cols", "rms error", "max error"],
    );
    for pop in g.populations() {
        let Op::Population(p) = g.op(pop) else {
            continue;
        };
        let rows = p.size as usize;
        let incoming: Vec<NodeId> = g
            .args(pop)
            .into_iter()
            .filter(|&a| matches!(g.op(a), Op::Project(_)))
            .collect();
        let tensors: Vec<Tensor> = incoming
            .iter()
            .filter_map(|&q| match g.op(q) {
                Op::Project(pr) => Some(g.tensor(pr.weights).clone()),
                _ => None,
            })
            .collect();
        let mats: Vec<Synapses> = tensors.iter().filter_map(Synapses::of).collect();
        if mats.len() != incoming.len() || mats.is_empty() {
            continue;
        }
        let columns: usize = mats.iter().map(|m| m.cols).sum();
        if columns > MAX_COLUMNS {
            let sources: HashSet<NodeId> = incoming.iter().filter_map(|&q| g.arg(q, 0)).collect();
            cx.error(
                PassDiag::error(
                    "E0476",
                    format!(
                        "population {} reads {} projection parts from {} source population{}, {columns} source columns in all, more than the {MAX_COLUMNS} that {}'s axon-type factoring takes: its neurons' inputs come from so many different sources that few of its neurons share a {}-axon core, and every core's part reads a whole copy population",
                        g.label(pop),
                        incoming.len(),
                        sources.len(),
                        if sources.len() == 1 { "" } else { "s" },
                        cx.target.name,
                        cx.target.core_axons,
                    ),
                )
                .at(g.span(pop), "this population")
                .help(format!(
                    "{} suits block-local connectivity (each block of up to {} neurons reading up to {} sources); compile for loihi, loihi2 or seneca, or connect the population more locally",
                    cx.target.name, cx.target.core_neurons, cx.target.core_axons
                )),
            );
            return false;
        }
        let f = factor(rows, &mats, k);
        // Invariant: `values` holds rows × k weights.
        let values = g.add_tensor(
            Tensor::from_f32(
                vec![rows as u32, k as u32],
                f.values.clone(),
                Origin::Derived,
            )
            .expect("rows × types"),
        );
        let mut offset = 0;
        for ((&q, s), w) in incoming.iter().zip(&mats).zip(&tensors) {
            let types = &f.types[offset..offset + s.cols];
            offset += s.cols;
            let (n, rms, max) = error(s, types, &f.values, k);
            if max > 0.0 {
                let t = factored(s, w, types, &f.values, k);
                let id = g.add_tensor(t);
                if let Op::Project(pr) = g.op_mut(q) {
                    pr.weights = id;
                }
                cx.warn(
                    PassDiag::warning(
                        "W0462",
                        format!(
                            "the weights of projection {} do not factor into {k} axon types: replaced by the nearest that do (rms error {rms:.3e}, largest {max:.3e} over {n} synapses), so `legalize` is not exact here",
                            g.label(q)
                        ),
                    )
                    .at(g.span(q), "this projection")
                    .help(format!(
                        "on {} each input has one of {k} types and each neuron one weight per type; train with at most {k} weight values per neuron, shared across inputs",
                        cx.target.name
                    )),
                );
                cx.report.count("projections factored with error", 1);
            } else {
                cx.report.count("projections factored exactly", 1);
            }
            // Invariant: one type per column.
            let types_t = Tensor::dense(
                vec![s.cols as u32],
                Values::I32(types.iter().map(|&t| t as i32).collect::<Vec<_>>().into()),
                Origin::Derived,
            )
            .expect("one type per column");
            let types_id = g.add_tensor(types_t);
            g.set_quant(
                q,
                Quant {
                    kind: QuantKind::AxonTypes {
                        bits,
                        types: types_id,
                        values,
                    },
                    scale: 1.0,
                },
            );
            table.row(vec![
                g.label(q),
                s.rows.to_string(),
                s.cols.to_string(),
                format!("{rms:.3e}"),
                format!("{max:.3e}"),
            ]);
        }
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(rows: u32, cols: u32, v: &[f32]) -> Tensor {
        Tensor::from_f32(vec![rows, cols], v.to_vec(), Origin::Literal).unwrap()
    }

    #[test]
    fn an_exact_four_type_matrix_factors_exactly() {
        // Columns 0 and 1 are one type; 2, 3 and 4 one each.
        let w = mat(2, 5, &[1.0, 1.0, -1.0, 5.0, 0.1, 2.0, 2.0, -3.0, 0.5, 0.2]);
        let f = factor(2, &[Synapses::of(&w).unwrap()], 4);
        assert!(f.exact);
        assert_eq!(f.types, vec![0, 0, 1, 2, 3]);
        assert_eq!(f.values, vec![1.0, -1.0, 5.0, 0.1, 2.0, -3.0, 0.5, 0.2]);
    }

    #[test]
    fn missing_synapses_do_not_separate_types() {
        // Column 1 lacks row 1 but agrees with column 0 on row 0.
        let w = mat(2, 2, &[3.0, 3.0, 4.0, 0.0]);
        let f = factor(2, &[Synapses::of(&w).unwrap()], 4);
        assert_eq!(f.types, vec![0, 0]);
        assert!(f.exact);
    }

    #[test]
    fn five_types_are_approximated_by_the_nearest_four() {
        // One row, five distinct weights: the two closest (1.0, 1.5) share
        // their mean, 1.25.
        let w = mat(1, 5, &[1.0, 1.5, 4.0, 8.0, -6.0]);
        let s = Synapses::of(&w).unwrap();
        let f = factor(1, &[s], 4);
        assert!(!f.exact);
        assert_eq!(f.types[0], f.types[1]);
        assert_eq!(f.types, vec![0, 0, 1, 2, 3]);
        assert_eq!(f.values, vec![1.25, 4.0, 8.0, -6.0]);
        let (n, _, max) = error(&s, &f.types, &f.values, 4);
        assert_eq!(n, 5);
        assert_eq!(max, 0.25);
    }
}
