//! The `.safetensors` format: an 8-byte little-endian header length, a JSON
//! header naming each tensor's dtype, shape and byte range, then the
//! little-endian data.
//!
//! The header is parsed and validated by the `safetensors` crate; the data
//! is read from the file one tensor at a time (the crate itself wants the
//! whole file in memory).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use ::safetensors::Dtype;
use ::safetensors::tensor::{Metadata, TensorInfo};

use super::atomic::write_atomically;
use super::codec::{self, ByteOrder, byte_len, element_count, truncated};
use super::error::{ArrayError, Ctx};
use super::{Array, Element, check_unique};

/// The largest header the `safetensors` crate accepts.
const MAX_HEADER: u64 = 100_000_000;

/// The key a safetensors header reserves for free-form metadata.
const METADATA_KEY: &str = "__metadata__";

/// An opened `.safetensors` file whose header has been read.
pub(super) struct SafetensorsFile {
    file: File,
    /// Where the data section starts.
    data_start: u64,
    metadata: Metadata,
    /// Tensor names in the order of their data.
    names: Vec<String>,
}

impl SafetensorsFile {
    /// Reads and validates the header of `file` (at `path`).
    pub fn open(path: &Path, mut file: File) -> Result<SafetensorsFile, ArrayError> {
        let ctx = Ctx::file(path);
        let len = file.metadata().map_err(|e| ctx.read(e))?.len();
        if len < 8 {
            return Err(ctx.malformed(format!(
                "the file has {len} bytes, too few for a .safetensors header"
            )));
        }
        let mut n = [0u8; 8];
        file.read_exact(&mut n).map_err(|e| ctx.read(e))?;
        let n = u64::from_le_bytes(n);
        if n > MAX_HEADER {
            return Err(ctx.malformed(format!(
                "the header length {n} is larger than .safetensors allows ({MAX_HEADER})"
            )));
        }
        if n > len - 8 {
            return Err(ctx.malformed(format!(
                "the header should have {n} bytes, but the file ends after {}",
                len - 8
            )));
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact(&mut header).map_err(|e| ctx.read(e))?;
        let metadata: Metadata = serde_json::from_slice(&header)
            .map_err(|e| ctx.malformed(format!("invalid header: {e}")))?;
        let data_len = metadata.data_len() as u64;
        let there = len - 8 - n;
        if data_len > there {
            return Err(ctx.malformed(truncated(data_len, there)));
        }
        if data_len < there {
            return Err(ctx.malformed(format!(
                "{} bytes follow the last tensor's data",
                there - data_len
            )));
        }
        let names = metadata.offset_keys();
        Ok(SafetensorsFile {
            file,
            data_start: 8 + n,
            metadata,
            names,
        })
    }

    /// The tensor names, in the order of their data.
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is a tensor `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.metadata.info(name).is_some()
    }

    /// The shape and element type of the tensor `name`, from the header.
    pub fn header(&self, path: &Path, name: &str) -> Result<(Vec<usize>, Element), ArrayError> {
        let ctx = Ctx::array(path, name);
        let Some(info) = self.metadata.info(name) else {
            return Err(ctx.malformed("the tensor is missing"));
        };
        let dtype = element(info.dtype).ok_or_else(|| ctx.unsupported(dtype_name(info.dtype)))?;
        Ok((info.shape.clone(), dtype))
    }

    /// Reads the tensor `name` (which [`contains`](Self::contains) said is
    /// there; if not, it is reported as a malformed file).
    pub fn read(&mut self, path: &Path, name: &str) -> Result<Array, ArrayError> {
        let ctx = Ctx::array(path, name);
        let Some(info) = self.metadata.info(name) else {
            return Err(ctx.malformed("the tensor is missing"));
        };
        let dtype = element(info.dtype).ok_or_else(|| ctx.unsupported(dtype_name(info.dtype)))?;
        let shape = info.shape.clone();
        // The crate checked that the byte range matches shape and dtype.
        let count = element_count(&shape).ok_or_else(|| ctx.malformed("the shape is too large"))?;
        ctx.budget(&shape, dtype, count, 1)?;
        let (start, end) = info.data_offsets;
        self.file
            .seek(SeekFrom::Start(self.data_start + start as u64))
            .map_err(|e| ctx.read(e))?;
        let mut reader = BufReader::new(&mut self.file).take((end - start) as u64);
        let values = codec::read_values(&mut reader, dtype, ByteOrder::Little, count)
            .map_err(|e| e.at(ctx, &shape))?;
        Ok(Array {
            shape,
            dtype,
            values,
        })
    }
}

/// The element type of a safetensors dtype, if snnc reads it.
fn element(dtype: Dtype) -> Option<Element> {
    Some(match dtype {
        Dtype::BOOL => Element::Bool,
        Dtype::U8 => Element::U8,
        Dtype::I8 => Element::I8,
        Dtype::I16 => Element::I16,
        Dtype::U16 => Element::U16,
        Dtype::F16 => Element::F16,
        Dtype::BF16 => Element::BF16,
        Dtype::I32 => Element::I32,
        Dtype::U32 => Element::U32,
        Dtype::F32 => Element::F32,
        Dtype::F64 => Element::F64,
        Dtype::I64 => Element::I64,
        Dtype::U64 => Element::U64,
        _ => return None,
    })
}

/// The safetensors dtype of an element type.
fn dtype(element: Element) -> Dtype {
    match element {
        Element::Bool => Dtype::BOOL,
        Element::U8 => Dtype::U8,
        Element::I8 => Dtype::I8,
        Element::I16 => Dtype::I16,
        Element::U16 => Dtype::U16,
        Element::F16 => Dtype::F16,
        Element::BF16 => Dtype::BF16,
        Element::I32 => Dtype::I32,
        Element::U32 => Dtype::U32,
        Element::F32 => Dtype::F32,
        Element::F64 => Dtype::F64,
        Element::I64 => Dtype::I64,
        Element::U64 => Dtype::U64,
    }
}

/// How to name a dtype snnc does not read: numpy's name for complex
/// numbers, the safetensors name (`F8_E4M3`, ...) for the rest.
fn dtype_name(dtype: Dtype) -> String {
    match dtype {
        Dtype::C64 => "complex64".into(),
        other => other.to_string(),
    }
}

/// Writes `arrays` as a `.safetensors` file. Names must be distinct and not
/// `__metadata__`. As the `safetensors` crate does, tensors are laid out by
/// decreasing element size, then by name (so each is aligned), and the
/// header is padded with spaces to a multiple of 8 bytes.
pub fn write_safetensors(path: &Path, arrays: &[(&str, &Array)]) -> Result<(), ArrayError> {
    let ctx = Ctx::file(path);
    check_unique(path, arrays)?;
    for &(name, array) in arrays {
        let actx = Ctx::array(path, name);
        if name == METADATA_KEY {
            return Err(ctx.invalid(format!(
                "the name `{METADATA_KEY}` is reserved in .safetensors files"
            )));
        }
        codec::check_writable(array).map_err(|reason| actx.invalid(reason))?;
    }
    let mut order: Vec<(&str, &Array)> = arrays.to_vec();
    order.sort_by(|(ln, la), (rn, ra)| dtype(ra.dtype).cmp(&dtype(la.dtype)).then(ln.cmp(rn)));
    let mut offset = 0usize;
    let mut infos = Vec::with_capacity(order.len());
    for &(name, array) in &order {
        let too_big = || Ctx::array(path, name).invalid("the array is too large");
        let n = byte_len(array.len(), array.dtype)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(too_big)?;
        let end = offset.checked_add(n).ok_or_else(too_big)?;
        infos.push((
            name.to_string(),
            TensorInfo {
                dtype: dtype(array.dtype),
                shape: array.shape.clone(),
                data_offsets: (offset, end),
            },
        ));
        offset = end;
    }
    let metadata = Metadata::new(None, infos).map_err(|e| ctx.invalid(e.to_string()))?;
    let mut header = serde_json::to_vec(&metadata).map_err(|e| ctx.invalid(e.to_string()))?;
    header.resize(header.len().next_multiple_of(8), b' ');
    write_atomically(path, |file| {
        let mut w = BufWriter::new(file);
        w.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(|e| ctx.write(e))?;
        w.write_all(&header).map_err(|e| ctx.write(e))?;
        for (_, array) in &order {
            codec::write_values(&mut w, array).map_err(|e| ctx.write(e))?;
        }
        w.flush().map_err(|e| ctx.write(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrays::testdir::TestDir;
    use crate::arrays::{Values, open};

    /// A safetensors file from a header (as JSON text) and data, unpadded.
    fn raw(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn error(dir: &TestDir, bytes: &[u8]) -> String {
        let path = dir.path().join("m.safetensors");
        std::fs::write(&path, bytes).unwrap();
        let err = match open(&path) {
            Ok(mut f) => {
                let name = f.names().first().cloned().unwrap_or_default();
                f.get(&name).unwrap_err()
            }
            Err(e) => e,
        };
        err.to_string()
            .replace(&format!("{}/", dir.path().display()), "")
    }

    #[test]
    fn reads_a_file_written_by_hand() {
        let dir = TestDir::new("st-hand");
        let path = dir.path().join("m.safetensors");
        let mut data = Vec::new();
        for x in [1.5f32, -2.0] {
            data.extend_from_slice(&x.to_le_bytes());
        }
        data.extend_from_slice(&[0x80, 0x3F]); // bfloat16 1.0
        let header = r#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"BF16","shape":[],"data_offsets":[8,10]}}"#;
        std::fs::write(&path, raw(header, &data)).unwrap();
        let mut f = open(&path).unwrap();
        assert_eq!(f.names(), vec!["w", "h"]);
        assert_eq!(f.get("w").unwrap(), Array::f32(vec![2], vec![1.5, -2.0]));
        let h = f.get("h").unwrap();
        assert_eq!(
            (h.dtype, h.shape.len(), h.values),
            (Element::BF16, 0, Values::F32(vec![1.0]))
        );
    }

    #[test]
    fn errors_name_the_file_and_say_what_is_wrong() {
        let dir = TestDir::new("st-errors");
        let f32s = r#"{"w":{"dtype":"F32","shape":[10,1024],"data_offsets":[0,40960]}}"#;
        assert_eq!(
            error(&dir, &raw(f32s, &[0; 1200])),
            "m.safetensors is malformed: expected 40960 bytes of data, found 1200"
        );
        let c64 = r#"{"z":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#;
        assert_eq!(
            error(&dir, &raw(c64, &[0; 8])),
            "`z` in m.safetensors has dtype complex64, which snnc cannot use"
        );
        let f8 = r#"{"q":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#;
        assert_eq!(
            error(&dir, &raw(f8, &[0; 2])),
            "`q` in m.safetensors has dtype F8_E4M3, which snnc cannot use"
        );
        let u64s = r#"{"u":{"dtype":"U64","shape":[2],"data_offsets":[0,16]}}"#;
        let mut data = 5u64.to_le_bytes().to_vec();
        data.extend_from_slice(&(1u64 << 63).to_le_bytes());
        assert_eq!(
            error(&dir, &raw(u64s, &data)),
            "`u` in m.safetensors holds 9223372036854775808 at [1], larger than the largest integer snnc \
             reads (9223372036854775807)"
        );
        assert_eq!(
            error(&dir, &raw(f32s, &[0; 40964])),
            "m.safetensors is malformed: 4 bytes follow the last tensor's data"
        );
        assert_eq!(
            error(&dir, b"\x05\0\0"),
            "m.safetensors is malformed: the file has 3 bytes, too few for a .safetensors header"
        );
        assert_eq!(
            error(&dir, b"\xff\xff\0\0\0\0\0\0{}"),
            "m.safetensors is malformed: the header should have 65535 bytes, but the file ends after 2"
        );
        assert_eq!(
            error(&dir, b"\xff\xff\xff\xff\0\0\0\0{}"),
            "m.safetensors is malformed: the header length 4294967295 is larger than .safetensors allows \
             (100000000)"
        );
        let err = error(&dir, &raw("{\"w\": nonsense}", &[]));
        assert!(
            err.starts_with("m.safetensors is malformed: invalid header: "),
            "{err}"
        );
        let overlap = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let err = error(&dir, &raw(overlap, &[0; 8]));
        assert!(
            err.starts_with("m.safetensors is malformed: invalid header: "),
            "{err}"
        );
    }

    #[test]
    fn written_files_are_laid_out_as_the_crate_does() {
        let dir = TestDir::new("st-write");
        let path = dir.path().join("out.safetensors");
        let a = Array::f32(vec![2], vec![1.0, 2.0]);
        let b = Array {
            shape: vec![3],
            dtype: Element::U8,
            values: Values::Int(vec![1, 2, 255]),
        };
        let c = Array::i32(vec![1], vec![-1]);
        write_safetensors(&path, &[("b", &b), ("c", &c), ("a", &a)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let ours = ::safetensors::serialize(
            [
                (
                    "a",
                    ::safetensors::tensor::TensorView::new(
                        Dtype::F32,
                        vec![2],
                        &bytes[bytes.len() - 15..bytes.len() - 7],
                    )
                    .unwrap(),
                ),
                (
                    "c",
                    ::safetensors::tensor::TensorView::new(
                        Dtype::I32,
                        vec![1],
                        &bytes[bytes.len() - 7..bytes.len() - 3],
                    )
                    .unwrap(),
                ),
                (
                    "b",
                    ::safetensors::tensor::TensorView::new(
                        Dtype::U8,
                        vec![3],
                        &bytes[bytes.len() - 3..],
                    )
                    .unwrap(),
                ),
            ],
            None,
        )
        .unwrap();
        assert_eq!(bytes, ours);
        let parsed = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(parsed.tensor("b").unwrap().data(), &[1, 2, 255]);
        let mut f = open(&path).unwrap();
        assert_eq!(f.names(), vec!["a", "c", "b"]);
        assert_eq!(
            (
                f.get("a").unwrap(),
                f.get("b").unwrap(),
                f.get("c").unwrap()
            ),
            (a.clone(), b, c)
        );
        let err = write_safetensors(&path, &[("__metadata__", &a)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: the name `__metadata__` is reserved in .safetensors files",
                path.display()
            )
        );
    }
}
