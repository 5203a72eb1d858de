//! Seeded initializers: the same initializer and shape give the same bits on
//! every machine and thread count.
//!
//! Generator: xoshiro256++ (Blackman & Vigna), state filled by SplitMix64.
//! Work is cut into blocks (65,536 elements of a dense tensor, 1,024 rows of a
//! sparse one); block `b` uses its own generator seeded from `(seed, b)`, so
//! blocks run in parallel without changing the result. Normal values use the
//! Box–Muller transform in `f64`, both outputs of each pair in turn. A sparse
//! row draws its columns by geometric skipping (each entry present with
//! probability `density`, independently), then its values.

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Data, SparsePattern, Values};

/// A distribution of values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Dist {
    Constant(f32),
    Normal {
        mean: f32,
        std: f32,
    },
    Uniform {
        low: f32,
        high: f32,
    },
    /// Whole numbers uniform in `low..high` (makes `i32` tensors).
    Integers {
        low: i32,
        high: i32,
    },
}

impl Dist {
    /// Whether the values are `i32` rather than `f32`.
    pub fn is_integer(self) -> bool {
        matches!(self, Dist::Integers { .. })
    }
}

/// A seeded initializer for a tensor of a given shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// Every element drawn from `dist`.
    Dense { dist: Dist, seed: u64 },
    /// Each entry of an `[m, n]` matrix present with probability `density`,
    /// present entries drawn from `dist`.
    Sparse { density: f64, dist: Dist, seed: u64 },
    /// `value` on the diagonal of a square matrix (one-to-one connections).
    Eye { value: f32 },
}

/// Why an initializer cannot make a tensor of the asked shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InitError {
    #[error("`{0}` makes matrices, but the shape {1:?} is not two-dimensional")]
    NotAMatrix(&'static str, Vec<u32>),
    #[error("`eye` needs a square matrix, got [{0}, {1}]")]
    NotSquare(u32, u32),
    #[error("density must be in [0, 1], got {0}")]
    Density(f64),
    #[error("the tensor has {0} entries, more than this machine can address")]
    TooLarge(u128),
    #[error("`randint` needs low < high, got {0}..{1}")]
    EmptyRange(i32, i32),
    #[error("{0}")]
    Budget(crate::budget::BudgetError),
}

const DENSE_BLOCK: usize = 1 << 16;
const SPARSE_BLOCK_ROWS: usize = 1 << 10;

impl Init {
    /// Zeros of any shape.
    pub fn zeros() -> Self {
        Init::Dense {
            dist: Dist::Constant(0.0),
            seed: 0,
        }
    }

    /// The name of the initializer as written in source and dumps.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Dense {
                dist: Dist::Constant(_),
                ..
            } => "full",
            Init::Dense {
                dist: Dist::Normal { .. },
                ..
            } => "normal",
            Init::Dense {
                dist: Dist::Uniform { .. },
                ..
            } => "uniform",
            Init::Dense {
                dist: Dist::Integers { .. },
                ..
            } => "randint",
            Init::Sparse { .. } => "sparse",
            Init::Eye { .. } => "eye",
        }
    }

    /// Whether this initializer makes a sparse tensor.
    pub fn is_sparse(&self) -> bool {
        matches!(self, Init::Sparse { .. } | Init::Eye { .. })
    }

    /// Makes the tensor contents for `shape`.
    pub fn generate(&self, shape: &[u32]) -> Result<Data, InitError> {
        match *self {
            Init::Dense { dist, seed } => {
                check_dist(dist)?;
                let n: u128 = shape.iter().map(|&d| d as u128).product();
                // The values are drawn into a vector and then moved into the
                // tensor's shared array (integers through a converted copy):
                // two copies at once, at the peak.
                let per = 8;
                budget(n, per, self, shape)?;
                let n = usize::try_from(n).map_err(|_| InitError::TooLarge(n))?;
                Ok(Data {
                    pattern: None,
                    values: typed(dist, dense_values(dist, seed, n)),
                })
            }
            Init::Sparse {
                density,
                dist,
                seed,
            } => {
                let [rows, cols] = *shape else {
                    return Err(InitError::NotAMatrix("sparse", shape.to_vec()));
                };
                if !(0.0..=1.0).contains(&density) {
                    return Err(InitError::Density(density));
                }
                check_dist(dist)?;
                // The row counts and pointers, then the expected entries
                // (column and value each); the exact count is checked again
                // once the rows are drawn.
                let expected = rows as f64 * cols as f64 * density;
                let per = if dist.is_integer() { 12 } else { 8 };
                budget(rows as u128 * 2, 8, self, shape)?;
                budget(expected.ceil() as u128, per, self, shape)?;
                let (pattern, values) = sparse_values(rows, cols, density, dist, seed, |n| {
                    budget(n as u128, per, self, shape)
                })?;
                Ok(Data {
                    pattern: Some(Arc::new(pattern)),
                    values: typed(dist, values),
                })
            }
            Init::Eye { value } => {
                let [rows, cols] = *shape else {
                    return Err(InitError::NotAMatrix("eye", shape.to_vec()));
                };
                if rows != cols {
                    return Err(InitError::NotSquare(rows, cols));
                }
                // Row pointers, columns and values.
                budget(rows as u128, 16, self, shape)?;
                Ok(Data {
                    pattern: Some(Arc::new(SparsePattern::diagonal(rows))),
                    values: Values::F32(vec![value; rows as usize].into()),
                })
            }
        }
    }
}

/// Checks `count` elements of `size` bytes against the memory budget.
fn budget(count: u128, size: u64, init: &Init, shape: &[u32]) -> Result<(), InitError> {
    crate::budget::check_elements(count, size, || {
        format!("`{}` of shape {}", init.name(), super::ShapeFmt(shape))
    })
    .map_err(InitError::Budget)
}

fn check_dist(dist: Dist) -> Result<(), InitError> {
    match dist {
        Dist::Integers { low, high } if low >= high => Err(InitError::EmptyRange(low, high)),
        _ => Ok(()),
    }
}

/// Integer distributions are drawn as `f64` and stored as `i32`.
fn typed(dist: Dist, v: Vec<f32>) -> Values {
    if dist.is_integer() {
        Values::I32(v.into_iter().map(|x| x as i32).collect::<Vec<_>>().into())
    } else {
        Values::F32(v.into())
    }
}

fn dense_values(dist: Dist, seed: u64, n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    if let Dist::Constant(c) = dist {
        out.fill(c);
        return out;
    }
    out.par_chunks_mut(DENSE_BLOCK)
        .enumerate()
        .for_each(|(block, chunk)| {
            let mut rng = Rng::for_block(seed, block as u64);
            for v in chunk {
                *v = rng.draw(dist);
            }
        });
    out
}

/// Two passes over the same generators: the first counts each row's entries so
/// that the second can write straight into exactly-sized arrays (the peak
/// memory is the result, not twice the result).
fn sparse_values(
    rows: u32,
    cols: u32,
    density: f64,
    dist: Dist,
    seed: u64,
    fits: impl FnOnce(u64) -> Result<(), InitError>,
) -> Result<(SparsePattern, Vec<f32>), InitError> {
    let rows_usize = rows as usize;
    let blocks = rows_usize.div_ceil(SPARSE_BLOCK_ROWS);
    let block_rows =
        |b: usize| b * SPARSE_BLOCK_ROWS..((b + 1) * SPARSE_BLOCK_ROWS).min(rows_usize);

    let mut counts = vec![0u64; rows_usize];
    counts
        .par_chunks_mut(SPARSE_BLOCK_ROWS)
        .enumerate()
        .for_each(|(b, chunk)| {
            let mut rng = Rng::for_block(seed, b as u64);
            for c in chunk.iter_mut() {
                *c = row_columns(&mut rng, cols, density, |_| {});
                skip_values(&mut rng, dist, *c);
            }
        });
    let mut row_ptr = Vec::with_capacity(rows_usize + 1);
    row_ptr.push(0u64);
    let mut total = 0u64;
    for c in &counts {
        total += c;
        row_ptr.push(total);
    }
    drop(counts);
    fits(total)?;

    let mut col_idx = vec![0u32; total as usize];
    let mut values = vec![0f32; total as usize];
    let mut parts = Vec::with_capacity(blocks);
    let (mut ci, mut vi) = (col_idx.as_mut_slice(), values.as_mut_slice());
    for b in 0..blocks {
        let r = block_rows(b);
        let len = (row_ptr[r.end] - row_ptr[r.start]) as usize;
        let (c_head, c_tail) = ci.split_at_mut(len);
        let (v_head, v_tail) = vi.split_at_mut(len);
        parts.push((b, c_head, v_head));
        ci = c_tail;
        vi = v_tail;
    }
    parts.into_par_iter().for_each(|(b, cs, vs)| {
        let mut rng = Rng::for_block(seed, b as u64);
        let mut at = 0usize;
        for _ in block_rows(b) {
            let start = at;
            row_columns(&mut rng, cols, density, |c| {
                cs[at] = c;
                at += 1;
            });
            for v in &mut vs[start..at] {
                *v = rng.draw(dist);
            }
        }
    });
    Ok((
        SparsePattern {
            rows,
            cols,
            row_ptr,
            col_idx,
        },
        values,
    ))
}

/// Draws the columns of one row in increasing order; returns how many.
fn row_columns(rng: &mut Rng, cols: u32, density: f64, mut emit: impl FnMut(u32)) -> u64 {
    let mut count = 0;
    if density <= 0.0 || cols == 0 {
        return 0;
    }
    if density >= 1.0 {
        for c in 0..cols {
            emit(c);
        }
        return cols as u64;
    }
    let log_q = (-density).ln_1p();
    let mut col: u64 = 0;
    loop {
        let u = 1.0 - rng.next_f64(); // (0, 1]
        let gap = (u.ln() / log_q).floor();
        if gap >= (cols as u64 - col) as f64 {
            return count;
        }
        col += gap as u64;
        emit(col as u32);
        count += 1;
        col += 1;
        if col >= cols as u64 {
            return count;
        }
    }
}

/// Advances the generator exactly as drawing `n` values would.
fn skip_values(rng: &mut Rng, dist: Dist, n: u64) {
    for _ in 0..n {
        rng.draw(dist);
    }
}

/// xoshiro256++ with a cached second Box–Muller output.
struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    fn for_block(seed: u64, block: u64) -> Self {
        let mut x = seed;
        let mut x = splitmix64(&mut x) ^ block;
        let s = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        Rng { s, spare: None }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn next_normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }

    fn draw(&mut self, dist: Dist) -> f32 {
        match dist {
            Dist::Constant(c) => c,
            Dist::Normal { mean, std } => (mean as f64 + std as f64 * self.next_normal()) as f32,
            Dist::Uniform { low, high } => {
                (low as f64 + (high as f64 - low as f64) * self.next_f64()) as f32
            }
            Dist::Integers { low, high } => {
                let span = (high as i64 - low as i64) as u64;
                // Multiply-shift maps 64 random bits onto 0..span.
                let k = ((self.next_u64() as u128 * span as u128) >> 64) as i64;
                (low as i64 + k) as f32
            }
        }
    }
}

fn num(v: f32) -> String {
    format!("{v}")
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Dist::Constant(c) => write!(f, "full({})", num(c)),
            Dist::Normal { mean, std } => write!(f, "normal(mean={}, std={})", num(mean), num(std)),
            Dist::Uniform { low, high } => {
                write!(f, "uniform(low={}, high={})", num(low), num(high))
            }
            Dist::Integers { low, high } => write!(f, "randint(low={low}, high={high})"),
        }
    }
}

impl fmt::Display for Init {
    /// The source syntax: `normal(mean=0, std=0.1, seed=1)`,
    /// `sparse(density=0.01, seed=3, values=normal(mean=0, std=0.1))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Dense {
                dist: Dist::Constant(c),
                ..
            } => write!(f, "full({})", num(*c)),
            Init::Dense {
                dist: Dist::Normal { mean, std },
                seed,
            } => write!(
                f,
                "normal(mean={}, std={}, seed={seed})",
                num(*mean),
                num(*std)
            ),
            Init::Dense {
                dist: Dist::Uniform { low, high },
                seed,
            } => write!(
                f,
                "uniform(low={}, high={}, seed={seed})",
                num(*low),
                num(*high)
            ),
            Init::Dense {
                dist: Dist::Integers { low, high },
                seed,
            } => write!(f, "randint(low={low}, high={high}, seed={seed})"),
            Init::Sparse {
                density,
                dist,
                seed,
            } => write!(f, "sparse(density={density}, seed={seed}, values={dist})"),
            Init::Eye { value } => write!(f, "eye({})", num(*value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_reference_stream() {
        // State [1, 2, 3, 4], worked by hand from the algorithm:
        // 1st: rotl(1 + 4, 23) + 1 = 5·2^23 + 1 = 41943041; the state becomes
        // [7, 0, 2^18 + 2, 6·2^45].
        // 2nd: rotl(7 + 6·2^45, 23) + 7 = 7·2^23 + (2^5 + 2^6) + 7 = 58720359.
        let mut rng = Rng {
            s: [1, 2, 3, 4],
            spare: None,
        };
        let got: Vec<u64> = (0..2).map(|_| rng.next_u64()).collect();
        assert_eq!(got, vec![41943041, 58720359]);
    }

    #[test]
    fn dense_is_independent_of_thread_count() {
        let init = Init::Dense {
            dist: Dist::Normal {
                mean: 0.0,
                std: 1.0,
            },
            seed: 7,
        };
        let a = init.generate(&[300, 700]).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = pool.install(|| init.generate(&[300, 700]).unwrap());
        assert_eq!(a, b);
        let v = a.values.as_f32().unwrap();
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn sparse_density_and_structure() {
        let init = Init::Sparse {
            density: 0.05,
            dist: Dist::Uniform {
                low: -1.0,
                high: 1.0,
            },
            seed: 3,
        };
        let d = init.generate(&[2000, 1000]).unwrap();
        let p = d.pattern.unwrap();
        p.check().unwrap();
        let share = p.nnz() as f64 / 2e6;
        assert!((share - 0.05).abs() < 0.002, "share {share}");
        let v = d.values.as_f32().unwrap();
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        // Same bits again.
        assert_eq!(
            init.generate(&[2000, 1000])
                .unwrap()
                .values
                .as_f32()
                .unwrap(),
            v
        );
    }

    #[test]
    fn sparse_edge_densities() {
        let full = Init::Sparse {
            density: 1.0,
            dist: Dist::Constant(2.0),
            seed: 0,
        };
        assert_eq!(full.generate(&[3, 4]).unwrap().pattern.unwrap().nnz(), 12);
        let empty = Init::Sparse {
            density: 0.0,
            dist: Dist::Constant(2.0),
            seed: 0,
        };
        assert_eq!(empty.generate(&[3, 4]).unwrap().pattern.unwrap().nnz(), 0);
        assert_eq!(
            empty.generate(&[3]).unwrap_err(),
            InitError::NotAMatrix("sparse", vec![3])
        );
    }

    #[test]
    fn integers_make_i32_tensors() {
        let init = Init::Dense {
            dist: Dist::Integers { low: 2, high: 5 },
            seed: 1,
        };
        let d = init.generate(&[1000]).unwrap();
        let v = d.values.as_i32().unwrap();
        assert!(v.iter().all(|x| (2..5).contains(x)));
        for k in 2..5 {
            assert!(
                v.iter().filter(|&&x| x == k).count() > 280,
                "value {k} too rare"
            );
        }
        assert_eq!(init.to_string(), "randint(low=2, high=5, seed=1)");
        let empty = Init::Dense {
            dist: Dist::Integers { low: 3, high: 3 },
            seed: 1,
        };
        assert_eq!(
            empty.generate(&[2]).unwrap_err(),
            InitError::EmptyRange(3, 3)
        );
    }

    #[test]
    fn display_is_source_syntax() {
        let s = Init::Sparse {
            density: 0.01,
            dist: Dist::Normal {
                mean: 0.0,
                std: 0.1,
            },
            seed: 3,
        };
        assert_eq!(
            s.to_string(),
            "sparse(density=0.01, seed=3, values=normal(mean=0, std=0.1))"
        );
        assert_eq!(Init::zeros().to_string(), "full(0)");
    }
}
