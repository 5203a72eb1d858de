//! The `.npz` format: a zip archive of `.npy` files, as numpy's `savez`
//! (entries stored) and `savez_compressed` (entries deflated) write it.
//! An entry `W.npy` holds the array `W`; entries not ending in `.npy` and
//! directories are ignored.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::atomic::write_atomically;
use super::codec::{self, byte_len};
use super::error::{ArrayError, Ctx};
use super::{Array, Element, check_unique, npy};

/// An opened `.npz` archive.
pub(super) struct NpzFile {
    archive: ZipArchive<File>,
    /// The archive's length in bytes.
    len: u64,
    /// Array names and their entry indices, in archive order.
    entries: Vec<(String, usize)>,
}

/// The user-facing error for a zip error in `ctx`.
fn zip_error(ctx: Ctx<'_>, e: ZipError) -> ArrayError {
    match e {
        ZipError::Io(e) => ctx.read(e),
        ZipError::InvalidArchive(why) => ctx.malformed(format!("not a valid zip archive ({why})")),
        ZipError::UnsupportedArchive(why) => {
            ctx.malformed(format!("unsupported zip archive ({why})"))
        }
        other => ctx.malformed(other.to_string()),
    }
}

impl NpzFile {
    /// Reads the archive's directory.
    pub fn open(path: &Path, file: File) -> Result<NpzFile, ArrayError> {
        let len = file.metadata().map_err(|e| Ctx::file(path).read(e))?.len();
        let archive = ZipArchive::new(file).map_err(|e| zip_error(Ctx::file(path), e))?;
        let entries = (0..archive.len())
            .filter_map(|i| {
                let name = archive.name_for_index(i)?;
                Some((name.strip_suffix(".npy")?.to_string(), i))
            })
            .collect();
        Ok(NpzFile {
            archive,
            len,
            entries,
        })
    }

    /// The array names, in archive order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The number of arrays.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is an array `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }

    /// The shape and element type of the array `name`, from its `.npy`
    /// header alone (which [`contains`](Self::contains) said is there).
    pub fn header(&mut self, path: &Path, name: &str) -> Result<(Vec<usize>, Element), ArrayError> {
        let ctx = Ctx::array(path, name);
        let Some(&(_, index)) = self.entries.iter().find(|(n, _)| n == name) else {
            return Err(ctx.malformed("the entry is missing"));
        };
        let mut entry = self
            .archive
            .by_index(index)
            .map_err(|e| zip_error(ctx, e))?;
        check_sizes(
            ctx,
            self.len,
            entry.compression(),
            entry.size(),
            entry.compressed_size(),
        )?;
        let h = npy::read_header(&mut BufReader::new(&mut entry), ctx)?;
        Ok((h.shape, h.dtype))
    }

    /// Reads the array `name` (which [`contains`](Self::contains) said is
    /// there; if not, it is reported as a malformed archive).
    pub fn read(&mut self, path: &Path, name: &str) -> Result<Array, ArrayError> {
        let ctx = Ctx::array(path, name);
        let Some(&(_, index)) = self.entries.iter().find(|(n, _)| n == name) else {
            return Err(ctx.malformed("the entry is missing"));
        };
        let mut entry = self
            .archive
            .by_index(index)
            .map_err(|e| zip_error(ctx, e))?;
        let size = entry.size();
        check_sizes(
            ctx,
            self.len,
            entry.compression(),
            size,
            entry.compressed_size(),
        )?;
        let mut reader = BufReader::new(&mut entry);
        let array = npy::read_array(&mut reader, ctx, Some(size))?;
        // Read to the end, where the zip reader checks the CRC.
        io::copy(&mut reader, &mut io::sink()).map_err(|e| ctx.read(e))?;
        Ok(array)
    }
}

/// The most bytes one deflated byte can stand for (a run of 258 equal
/// bytes per 2-bit code, as zlib's documentation puts it: 1032 to 1).
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Checks an entry's declared sizes against the archive before any of its
/// data is read: its compressed bytes must lie in the archive, a stored
/// entry is as long as its data, and a deflated one cannot stand for more
/// than deflate can encode in its compressed bytes.
fn check_sizes(
    ctx: Ctx<'_>,
    archive: u64,
    method: CompressionMethod,
    size: u64,
    compressed: u64,
) -> Result<(), ArrayError> {
    if compressed > archive {
        return Err(ctx.malformed(format!(
            "the entry claims {compressed} compressed bytes, but the archive has {archive}"
        )));
    }
    match method {
        CompressionMethod::Stored if size != compressed => Err(ctx.malformed(format!(
            "the stored entry claims {size} bytes of data but takes {compressed} in the archive"
        ))),
        CompressionMethod::Deflated
            if size > compressed.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(1024) =>
        {
            Err(ctx.malformed(format!(
                "the entry claims {size} bytes of data, more than its {compressed} deflated bytes can hold"
            )))
        }
        _ => Ok(()),
    }
}

/// Writes `arrays` as an uncompressed `.npz` archive (like `numpy.savez`),
/// entry `name.npy` for each, in the order given. Names must be distinct.
pub fn write_npz(path: &Path, arrays: &[(&str, &Array)]) -> Result<(), ArrayError> {
    write_npz_as(path, arrays, CompressionMethod::Stored)
}

/// [`write_npz`] with every entry deflated (like `numpy.savez_compressed`).
pub fn write_npz_compressed(path: &Path, arrays: &[(&str, &Array)]) -> Result<(), ArrayError> {
    write_npz_as(path, arrays, CompressionMethod::Deflated)
}

fn write_npz_as(
    path: &Path,
    arrays: &[(&str, &Array)],
    method: CompressionMethod,
) -> Result<(), ArrayError> {
    let ctx = Ctx::file(path);
    check_unique(path, arrays)?;
    let headers = arrays
        .iter()
        .map(|&(name, array)| npy::checked_header(Ctx::array(path, name), array))
        .collect::<Result<Vec<_>, _>>()?;
    let zip_err = |e: ZipError| match e {
        ZipError::Io(e) => ctx.write(e),
        other => ctx.write(io::Error::other(other.to_string())),
    };
    write_atomically(path, |file| {
        let mut zip = ZipWriter::new(BufWriter::new(file));
        for ((name, array), header) in arrays.iter().zip(&headers) {
            let size = byte_len(array.len(), array.dtype)
                .and_then(|n| n.checked_add(header.len() as u64))
                .unwrap_or(u64::MAX);
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(size >= u64::from(u32::MAX));
            zip.start_file(format!("{name}.npy"), options)
                .map_err(zip_err)?;
            zip.write_all(header).map_err(|e| ctx.write(e))?;
            codec::write_values(&mut zip, array).map_err(|e| ctx.write(e))?;
        }
        let mut inner = zip.finish().map_err(zip_err)?;
        inner.flush().map_err(|e| ctx.write(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrays::testdir::TestDir;
    use crate::arrays::{Element, Values, open};

    /// The `.npy` bytes of a little-endian float32 vector, as numpy writes it.
    fn npy_f32(values: &[f32]) -> Vec<u8> {
        let header = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
            values.len()
        );
        let mut text = header.into_bytes();
        while (10 + text.len() + 1) % 64 != 0 {
            text.push(b' ');
        }
        text.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(&text);
        for x in values {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Writes a zip of `(entry name, bytes)` with the given compression.
    fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)], method: CompressionMethod) {
        let mut zip = ZipWriter::new(File::create(path).unwrap());
        for (name, bytes) in entries {
            zip.start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn savez_compressed_archives_are_read() {
        let dir = TestDir::new("npz-deflate");
        let path = dir.path().join("w.npz");
        let big: Vec<f32> = (0..10_000).map(|i| (i % 7) as f32).collect();
        write_zip(
            &path,
            &[
                ("W.npy", npy_f32(&big)),
                ("notes.txt", b"ignored".to_vec()),
                ("sub/", Vec::new()),
                ("b.npy", npy_f32(&[0.5, -0.5])),
            ],
            CompressionMethod::Deflated,
        );
        // The data really is compressed.
        assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
        let mut f = open(&path).unwrap();
        assert_eq!(f.names(), vec!["W".to_string(), "b".to_string()]);
        assert!(!f.is_single());
        assert_eq!(f.get("b").unwrap(), Array::f32(vec![2], vec![0.5, -0.5]));
        assert_eq!(f.get("W").unwrap(), Array::f32(vec![10_000], big));
        assert_eq!(f.get("b").unwrap().values, Values::F32(vec![0.5, -0.5]));
    }

    #[test]
    fn stored_archives_with_one_array_are_single() {
        let dir = TestDir::new("npz-stored");
        let path = dir.path().join("one.npz");
        write_zip(
            &path,
            &[("arr_0.npy", npy_f32(&[1.0]))],
            CompressionMethod::Stored,
        );
        let mut f = open(&path).unwrap();
        assert!(f.is_single());
        assert_eq!(f.names(), vec!["arr_0".to_string()]);
        assert_eq!(f.get("arr_0").unwrap().dtype, Element::F32);
    }

    #[test]
    fn compressed_archives_are_deflated_and_read_back() {
        let dir = TestDir::new("npz-write-deflate");
        let path = dir.path().join("w.npz");
        let zeros = Array::f32(vec![64, 64], vec![0.0; 64 * 64]);
        let few = Array::f32(vec![3], vec![1.5, -2.0, 0.25]);
        write_npz_compressed(&path, &[("Z", &zeros), ("few", &few)]).unwrap();
        // 16 KiB of zeros deflate to far less.
        assert!(std::fs::metadata(&path).unwrap().len() < 1024);
        let mut f = open(&path).unwrap();
        assert_eq!(f.get("Z").unwrap(), zeros);
        assert_eq!(f.get("few").unwrap(), few);
    }

    #[test]
    fn errors_name_the_archive_and_the_array() {
        let dir = TestDir::new("npz-errors");
        let show = |e: ArrayError| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        };
        let path = dir.path().join("weights.npz");
        let mut short = npy_f32(&[0.0; 300]);
        short.truncate(short.len() - 1000);
        let mut complex = npy_f32(&[0.0; 4]);
        assert_eq!(&complex[21..24], b"<f4");
        complex[22] = b'c';
        complex[23] = b'8';
        write_zip(
            &path,
            &[
                ("W1.npy", short),
                ("b1.npy", npy_f32(&[1.0])),
                ("W.npy", complex),
            ],
            CompressionMethod::Deflated,
        );
        let mut f = open(&path).unwrap();
        assert_eq!(
            show(f.get("W1").unwrap_err()),
            "`W1` in weights.npz is malformed: expected 1200 bytes of data, found 200"
        );
        assert_eq!(
            show(f.get("W").unwrap_err()),
            "`W` in weights.npz has dtype complex64, which snnc cannot use"
        );
        let err = f.get("W2").unwrap_err();
        let ArrayError::MissingArray {
            name, available, ..
        } = &err
        else {
            panic!("expected MissingArray, got {err:?}");
        };
        assert_eq!(name, "W2");
        assert_eq!(available, &["W1", "b1", "W"]);
        assert_eq!(
            show(err),
            "weights.npz has no array `W2`; it has `W1`, `b1`, `W`"
        );

        let not_zip = dir.path().join("fake.npz");
        std::fs::write(&not_zip, b"\x93NUMPY this is an npy file").unwrap();
        let err = show(open(&not_zip).unwrap_err());
        assert!(
            err.starts_with("fake.npz is malformed: not a valid zip archive ("),
            "{err}"
        );

        let empty = dir.path().join("empty.npz");
        write_npz(&empty, &[]).unwrap();
        assert_eq!(
            show(open(&empty).unwrap().get("x").unwrap_err()),
            "empty.npz has no array `x`; it has no arrays"
        );
    }

    #[test]
    fn corrupted_data_fails_the_checksum() {
        let dir = TestDir::new("npz-crc");
        let path = dir.path().join("c.npz");
        write_npz(
            &path,
            &[("x", &Array::f32(vec![4], vec![1.0, 2.0, 3.0, 4.0]))],
        )
        .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        // The last float's bytes sit just before the central directory;
        // find 4.0f32 and change it.
        let four = 4.0f32.to_le_bytes();
        let at = bytes.windows(4).position(|w| w == four).unwrap();
        bytes[at] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = open(&path).unwrap().get("x").unwrap_err();
        assert!(matches!(err, ArrayError::Malformed { .. }), "{err:?}");
        let shown = err
            .to_string()
            .replace(&format!("{}/", dir.path().display()), "");
        assert!(
            shown.starts_with("`x` in c.npz is malformed: corrupt data ("),
            "{shown}"
        );
    }

    #[test]
    fn written_archives_are_stored_and_aligned_like_savez() {
        let dir = TestDir::new("npz-write");
        let path = dir.path().join("out.npz");
        let a = Array::f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let b = Array::i32(vec![3], vec![7, -8, 9]);
        write_npz(&path, &[("a", &a), ("b", &b)]).unwrap();
        let mut archive = ZipArchive::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(
            archive.file_names().collect::<Vec<_>>(),
            vec!["a.npy", "b.npy"]
        );
        let entry = archive.by_name("b.npy").unwrap();
        assert_eq!(entry.compression(), CompressionMethod::Stored);
        assert_eq!(entry.size(), 128 + 12);
        drop(entry);
        let mut f = open(&path).unwrap();
        assert_eq!(f.get("a").unwrap(), a);
        assert_eq!(f.get("b").unwrap(), b);
        let err = write_npz(&path, &[("a", &a), ("a", &b)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: the name `a` appears twice",
                path.display()
            )
        );
        // The earlier file is untouched.
        assert_eq!(open(&path).unwrap().names(), vec!["a", "b"]);
    }
}
