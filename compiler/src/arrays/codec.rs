//! Element codecs: the raw bytes of a data section to [`Values`] and back.
//!
//! Data moves in bounded chunks, so reading a 400 MB array needs the
//! resulting `Vec` plus one 64 KiB buffer, never a second full copy.

use std::io::{self, Read, Write};

use half::{bf16, f16};

use super::error::{ArrayError, Ctx, bracketed};
use super::{Array, Element, Values};

/// Bytes moved per read or write call.
const CHUNK: usize = 1 << 16;

/// Byte order of multi-byte elements in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ByteOrder {
    Little,
    Big,
}

/// Why reading a data section failed, before the file is known.
#[derive(Debug)]
pub(super) enum DataError {
    Io(io::Error),
    /// The data ended after `found` of the `expected` bytes.
    Truncated {
        expected: u64,
        found: u64,
    },
    /// A `uint64` element above `i64::MAX` at flat index `index`.
    TooLarge {
        index: usize,
        value: u64,
    },
}

impl DataError {
    /// The user-facing error for the array `ctx` of shape `shape`.
    pub fn at(self, ctx: Ctx<'_>, shape: &[usize]) -> ArrayError {
        match self {
            DataError::Io(e) => ctx.read(e),
            DataError::Truncated { expected, found } => ctx.malformed(truncated(expected, found)),
            DataError::TooLarge { index, value } => ctx.too_large(position(shape, index), value),
        }
    }
}

/// `expected 40960 bytes of data, found 1200`.
pub(super) fn truncated(expected: u64, found: u64) -> String {
    format!("expected {expected} bytes of data, found {found}")
}

/// The number of elements of `shape`, or `None` if it overflows `usize`.
pub(super) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// The number of data bytes of `count` elements of `dtype`, if it fits.
pub(super) fn byte_len(count: usize, dtype: Element) -> Option<u64> {
    u64::try_from(count).ok()?.checked_mul(dtype.size() as u64)
}

/// The multi-index (C order) of flat index `flat` in an array of `shape`.
pub(super) fn position(shape: &[usize], flat: usize) -> Vec<usize> {
    if shape.contains(&0) {
        return vec![flat];
    }
    let mut at = vec![0; shape.len()];
    let mut rest = flat;
    for (i, &d) in shape.iter().enumerate().rev() {
        at[i] = rest % d;
        rest /= d;
    }
    at
}

/// Reads exactly `buf.len()` bytes; `done` counts the bytes read so far
/// (for the error message) out of `expected`.
fn fill<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    done: &mut u64,
    expected: u64,
) -> Result<(), DataError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(DataError::Truncated {
                    expected,
                    found: *done + filled as u64,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::Io(e)),
        }
    }
    *done += filled as u64;
    Ok(())
}

/// Reads `count` elements of `N` bytes each, decoding each with `decode`.
fn read_with<R: Read, T, const N: usize>(
    r: &mut R,
    count: usize,
    decode: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, DataError> {
    let expected = count as u64 * N as u64;
    let mut out = Vec::with_capacity(count);
    let mut buf = vec![0u8; CHUNK - CHUNK % N];
    let mut done = 0u64;
    while done < expected {
        let want = (expected - done).min(buf.len() as u64) as usize;
        let chunk = &mut buf[..want];
        fill(r, chunk, &mut done, expected)?;
        let (elements, _) = chunk.as_chunks::<N>();
        out.extend(elements.iter().map(|&b| decode(b)));
    }
    Ok(out)
}

/// Decodes numbers of type `$t` in byte order `$order`, mapping each with
/// `$conv`.
macro_rules! numbers {
    ($r:expr, $count:expr, $order:expr, $t:ty, $conv:expr) => {
        match $order {
            ByteOrder::Little => read_with($r, $count, |b| ($conv)(<$t>::from_le_bytes(b))),
            ByteOrder::Big => read_with($r, $count, |b| ($conv)(<$t>::from_be_bytes(b))),
        }
    };
}

/// Reads `count` elements of `dtype` stored in `order`, in C order as they
/// lie. The caller has checked that `count * dtype.size()` fits in `u64`
/// (and, where it can, that the data is there, so that the allocation is
/// backed by real bytes).
pub(super) fn read_values<R: Read>(
    r: &mut R,
    dtype: Element,
    order: ByteOrder,
    count: usize,
) -> Result<Values, DataError> {
    Ok(match dtype {
        Element::Bool => Values::Bool(read_with(r, count, |b: [u8; 1]| b[0] != 0)?),
        Element::F16 => {
            Values::F32(numbers!(r, count, order, u16, |x| f16::from_bits(x).to_f32())?)
        }
        Element::BF16 => {
            Values::F32(numbers!(r, count, order, u16, |x| bf16::from_bits(x).to_f32())?)
        }
        Element::F32 => Values::F32(numbers!(r, count, order, f32, |x| x)?),
        Element::F64 => Values::F64(numbers!(r, count, order, f64, |x| x)?),
        Element::I8 => Values::Int(numbers!(r, count, order, i8, i64::from)?),
        Element::I16 => Values::Int(numbers!(r, count, order, i16, i64::from)?),
        Element::I32 => Values::Int(numbers!(r, count, order, i32, i64::from)?),
        Element::I64 => Values::Int(numbers!(r, count, order, i64, |x| x)?),
        Element::U8 => Values::Int(numbers!(r, count, order, u8, i64::from)?),
        Element::U16 => Values::Int(numbers!(r, count, order, u16, i64::from)?),
        Element::U32 => Values::Int(numbers!(r, count, order, u32, i64::from)?),
        Element::U64 => {
            // Reinterpret, then find the first element that wrapped.
            let v: Vec<i64> = numbers!(r, count, order, u64, |x: u64| x as i64)?;
            if let Some(index) = v.iter().position(|&x| x < 0) {
                return Err(DataError::TooLarge {
                    index,
                    value: v[index] as u64,
                });
            }
            Values::Int(v)
        }
    })
}

/// Reorders the elements of a Fortran-order (column-major) array of `shape`
/// into C order (row-major). Needs one extra copy of the values.
/// `values.len()` must be the product of `shape` (as [`read_values`]
/// returns it), which keeps every index in bounds.
pub(super) fn fortran_to_c<T: Copy>(values: Vec<T>, shape: &[usize]) -> Vec<T> {
    if shape.iter().filter(|&&d| d > 1).count() < 2 {
        // At most one dimension longer than 1: both orders agree.
        return values;
    }
    // Fortran strides: the first index varies fastest.
    let mut strides = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        strides[k] = strides[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(values.len());
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    for _ in 0..values.len() {
        out.push(values[offset]);
        // Advance the C-order odometer: the last index varies fastest.
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < shape[k] {
                break;
            }
            offset -= strides[k] * shape[k];
            index[k] = 0;
        }
    }
    out
}

/// Checks that `array` can be written as it claims: its shape matches the
/// number of values, its values match its dtype, and every value fits in
/// the dtype. Returns what is wrong.
pub(super) fn check_writable(array: &Array) -> Result<(), String> {
    let count = element_count(&array.shape)
        .ok_or_else(|| format!("shape {} is too large", bracketed(&array.shape)))?;
    if count != array.values.len() {
        return Err(format!(
            "shape {} needs {count} values, found {}",
            bracketed(&array.shape),
            array.values.len()
        ));
    }
    let dtype = array.dtype;
    let out_of_range = |index: usize, value: String| {
        format!(
            "value {value} at {} is outside the range of {dtype}",
            bracketed(&position(&array.shape, index))
        )
    };
    match (&array.values, dtype) {
        (Values::F32(_), Element::F32)
        | (Values::F64(_), Element::F64)
        | (Values::Bool(_), Element::Bool) => {}
        (Values::F32(v), Element::F16 | Element::BF16) => {
            let overflows = |x: f32| {
                x.is_finite()
                    && if dtype == Element::F16 {
                        f16::from_f32(x).is_infinite()
                    } else {
                        bf16::from_f32(x).is_infinite()
                    }
            };
            if let Some(i) = v.iter().position(|&x| overflows(x)) {
                return Err(out_of_range(i, format!("{:?}", v[i])));
            }
        }
        (Values::Int(v), _) if dtype.is_integer() => {
            let (lo, hi) = dtype.int_range();
            if let Some(i) = v.iter().position(|&x| x < lo || x > hi) {
                return Err(out_of_range(i, v[i].to_string()));
            }
        }
        (values, _) => {
            return Err(format!(
                "dtype {dtype} does not match its values (Values::{})",
                values.kind()
            ));
        }
    }
    Ok(())
}

/// Encodes `values` with `encode` into `w`, one chunk at a time.
fn write_with<W: Write, T: Copy, const N: usize>(
    w: &mut W,
    values: &[T],
    encode: impl Fn(T) -> [u8; N],
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK);
    for chunk in values.chunks(CHUNK / N) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&encode(x));
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Writes the elements of `array` little-endian in C order. The array must
/// have passed [`check_writable`] (integers are narrowed with `as`).
pub(super) fn write_values<W: Write>(w: &mut W, array: &Array) -> io::Result<()> {
    match (&array.values, array.dtype) {
        (Values::F32(v), Element::F16) => write_with(w, v, |x| f16::from_f32(x).to_le_bytes()),
        (Values::F32(v), Element::BF16) => write_with(w, v, |x| bf16::from_f32(x).to_le_bytes()),
        (Values::F32(v), _) => write_with(w, v, f32::to_le_bytes),
        (Values::F64(v), _) => write_with(w, v, f64::to_le_bytes),
        (Values::Bool(v), _) => write_with(w, v, |x| [u8::from(x)]),
        (Values::Int(v), Element::I8) => write_with(w, v, |x| (x as i8).to_le_bytes()),
        (Values::Int(v), Element::I16) => write_with(w, v, |x| (x as i16).to_le_bytes()),
        (Values::Int(v), Element::I32) => write_with(w, v, |x| (x as i32).to_le_bytes()),
        (Values::Int(v), Element::U8) => write_with(w, v, |x| (x as u8).to_le_bytes()),
        (Values::Int(v), Element::U16) => write_with(w, v, |x| (x as u16).to_le_bytes()),
        (Values::Int(v), Element::U32) => write_with(w, v, |x| (x as u32).to_le_bytes()),
        (Values::Int(v), Element::U64) => write_with(w, v, |x| (x as u64).to_le_bytes()),
        (Values::Int(v), _) => write_with(w, v, i64::to_le_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_to_c_transposes_a_matrix_and_a_3d_array() {
        // [[0, 1, 2], [3, 4, 5]] stored column by column.
        assert_eq!(
            fortran_to_c(vec![0, 3, 1, 4, 2, 5], &[2, 3]),
            vec![0, 1, 2, 3, 4, 5]
        );
        // A [2, 2, 2] array whose element (i, j, k) is 100i + 10j + k.
        let shape = [2, 2, 2];
        let mut fortran = vec![0; 8];
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..2 {
                    fortran[i + 2 * j + 4 * k] = 100 * i + 10 * j + k;
                }
            }
        }
        assert_eq!(
            fortran_to_c(fortran, &shape),
            vec![0, 1, 10, 11, 100, 101, 110, 111]
        );
        // Degenerate shapes keep their order.
        assert_eq!(fortran_to_c(vec![1, 2, 3], &[1, 3]), vec![1, 2, 3]);
        assert_eq!(fortran_to_c(Vec::<u8>::new(), &[0, 3]), Vec::<u8>::new());
    }

    #[test]
    fn position_is_c_order() {
        assert_eq!(position(&[2, 3], 5), vec![1, 2]);
        assert_eq!(position(&[2, 3], 3), vec![1, 0]);
        assert_eq!(position(&[], 0), Vec::<usize>::new());
    }

    #[test]
    fn truncated_reads_say_how_much_was_there() {
        let bytes = [0u8; 10];
        let err = read_values(&mut &bytes[..], Element::F32, ByteOrder::Little, 4).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 16,
                    found: 10
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn uint64_above_i64_max_is_reported_with_its_index() {
        let mut bytes = Vec::new();
        for x in [1u64, u64::MAX] {
            bytes.extend_from_slice(&x.to_be_bytes());
        }
        let err = read_values(&mut &bytes[..], Element::U64, ByteOrder::Big, 2).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TooLarge {
                    index: 1,
                    value: u64::MAX
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn large_reads_cross_chunk_boundaries() {
        let n = CHUNK; // 4 bytes each: several chunks
        let mut bytes = Vec::new();
        for i in 0..n as u32 {
            bytes.extend_from_slice(&i.to_be_bytes());
        }
        let Values::Int(v) = read_values(&mut &bytes[..], Element::U32, ByteOrder::Big, n).unwrap()
        else {
            panic!("u32 reads as integers");
        };
        assert_eq!(v.len(), n);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as i64));
    }
}
