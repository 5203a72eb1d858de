//! The `.npy` format: numpy's single-array file.
//!
//! Layout: the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), the header
//! length (2 bytes little-endian for 1.0, 4 bytes otherwise), a header that
//! is a Python dict literal (`{'descr': '<f4', 'fortran_order': False,
//! 'shape': (2, 3), }`, Latin-1 for 1.0 and 2.0, UTF-8 for 3.0) padded with
//! spaces and a newline, then the raw data. Writing follows numpy exactly:
//! version 1.0 when the header fits, else 2.0, the data 64-byte aligned.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

use super::atomic::write_atomically;
use super::codec::{self, ByteOrder, DataError, byte_len, element_count, position, truncated};
use super::error::{ArrayError, Ctx};
use super::{Array, Element, Values, open_file};

/// The first six bytes of every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy aligns the data to this many bytes.
const ALIGN: usize = 64;

/// numpy leaves room in the header for the first axis to grow to this many
/// digits (so that appending rewrites the header in place).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Headers longer than this are refused before being read.
const MAX_HEADER: u32 = 1 << 24;

/// What an `.npy` header says about the data after it.
#[derive(Debug, PartialEq)]
pub(super) struct Header {
    pub dtype: Element,
    pub order: ByteOrder,
    pub fortran: bool,
    pub shape: Vec<usize>,
    /// Bytes from the start of the file to the data.
    pub data_offset: u64,
}

/// Reads the array of a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array, ArrayError> {
    let ctx = Ctx::file(path);
    let file = open_file(path)?;
    let len = file.metadata().map_err(|e| ctx.read(e))?.len();
    read_array(&mut BufReader::new(file), ctx, Some(len))
}

/// Writes `array` as a `.npy` file numpy can load (little-endian, C order).
/// `bfloat16` arrays cannot be written: numpy has no such type.
pub fn write_npy(path: &Path, array: &Array) -> Result<(), ArrayError> {
    let ctx = Ctx::file(path);
    let header = checked_header(ctx, array)?;
    write_atomically(path, |file| {
        let mut w = BufWriter::new(file);
        w.write_all(&header).map_err(|e| ctx.write(e))?;
        codec::write_values(&mut w, array).map_err(|e| ctx.write(e))?;
        w.flush().map_err(|e| ctx.write(e))
    })
}

/// An opened `.npy` file whose header has been checked.
pub(super) struct NpyFile {
    file: File,
    name: String,
}

impl NpyFile {
    /// Checks the header of `file` (at `path`); the array is read by
    /// [`read`](Self::read).
    pub fn open(path: &Path, mut file: File) -> Result<NpyFile, ArrayError> {
        read_header(&mut BufReader::new(&mut file), Ctx::file(path))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(NpyFile { file, name })
    }

    /// The array's name: the file stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The array's shape and element type, from its header alone.
    pub fn header(&mut self, path: &Path) -> Result<(Vec<usize>, Element), ArrayError> {
        let ctx = Ctx::file(path);
        self.file.rewind().map_err(|e| ctx.read(e))?;
        let h = read_header(&mut BufReader::new(&mut self.file), ctx)?;
        Ok((h.shape, h.dtype))
    }

    /// Reads the array.
    pub fn read(&mut self, path: &Path) -> Result<Array, ArrayError> {
        let ctx = Ctx::file(path);
        let len = self.file.metadata().map_err(|e| ctx.read(e))?.len();
        self.file.rewind().map_err(|e| ctx.read(e))?;
        read_array(&mut BufReader::new(&mut self.file), ctx, Some(len))
    }
}

/// Reads one `.npy` array from `r`, which holds `available` bytes if known
/// (so that a short file is reported before memory is set aside for it).
pub(super) fn read_array<R: Read>(
    r: &mut R,
    ctx: Ctx<'_>,
    available: Option<u64>,
) -> Result<Array, ArrayError> {
    let header = read_header(r, ctx)?;
    let shape = header.shape;
    let count = element_count(&shape)
        .ok_or_else(|| ctx.malformed(format!("shape {} is too large", py_shape(&shape))))?;
    let bytes = byte_len(count, header.dtype)
        .ok_or_else(|| ctx.malformed(format!("shape {} is too large", py_shape(&shape))))?;
    if let Some(total) = available {
        let there = total.saturating_sub(header.data_offset);
        if there < bytes {
            return Err(ctx.malformed(truncated(bytes, there)));
        }
        if there > bytes {
            return Err(ctx.malformed(format!(
                "{} bytes follow the array's {bytes} bytes of data",
                there - bytes
            )));
        }
    }
    // A Fortran-order array is held twice while it is reordered.
    ctx.budget(
        &shape,
        header.dtype,
        count,
        if header.fortran { 2 } else { 1 },
    )?;
    let values = codec::read_values(r, header.dtype, header.order, count).map_err(|e| match e {
        DataError::TooLarge { index, value } if header.fortran => {
            // `index` counts in Fortran order: the first index fastest.
            let reversed: Vec<usize> = shape.iter().rev().copied().collect();
            let mut at = position(&reversed, index);
            at.reverse();
            ctx.too_large(at, value)
        }
        e => e.at(ctx, &shape),
    })?;
    let values = if header.fortran {
        match values {
            Values::F32(v) => Values::F32(codec::fortran_to_c(v, &shape)),
            Values::F64(v) => Values::F64(codec::fortran_to_c(v, &shape)),
            Values::Int(v) => Values::Int(codec::fortran_to_c(v, &shape)),
            Values::Bool(v) => Values::Bool(codec::fortran_to_c(v, &shape)),
        }
    } else {
        values
    };
    Ok(Array {
        shape,
        dtype: header.dtype,
        values,
    })
}

/// Reads up to `buf.len()` bytes; returns how many (fewer only at the end).
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads and checks the magic, version and header, leaving `r` at the data.
pub(super) fn read_header<R: Read>(r: &mut R, ctx: Ctx<'_>) -> Result<Header, ArrayError> {
    let mut start = [0u8; 8];
    let n = read_full(r, &mut start).map_err(|e| ctx.read(e))?;
    if n < MAGIC.len() || &start[..MAGIC.len()] != MAGIC {
        return Err(ctx.malformed("not an .npy file: it does not start with the bytes \\x93NUMPY"));
    }
    if n < start.len() {
        return Err(ctx.malformed("the file ends inside the .npy header"));
    }
    let (major, minor) = (start[6], start[7]);
    let len_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(ctx.malformed(format!(
                "unsupported .npy format version {major}.{minor} (snnc reads 1.0, 2.0 and 3.0)"
            )));
        }
    };
    let mut len_buf = [0u8; 4];
    if read_full(r, &mut len_buf[..len_bytes]).map_err(|e| ctx.read(e))? < len_bytes {
        return Err(ctx.malformed("the file ends inside the .npy header"));
    }
    let header_len = u32::from_le_bytes(len_buf);
    if header_len > MAX_HEADER {
        return Err(ctx.malformed(format!(
            "the .npy header claims {header_len} bytes, too many to be real"
        )));
    }
    let mut text = vec![0u8; header_len as usize];
    let got = read_full(r, &mut text).map_err(|e| ctx.read(e))?;
    if got < text.len() {
        return Err(ctx.malformed(format!(
            "the .npy header should have {header_len} bytes, but the file ends after {got}"
        )));
    }
    let text = if major == 3 {
        String::from_utf8(text).map_err(|_| ctx.malformed("the .npy header is not valid UTF-8"))?
    } else {
        // Latin-1: every byte is the code point of the same value.
        text.iter().map(|&b| char::from(b)).collect()
    };
    let (dtype, order, fortran, shape) = parse_header(&text, ctx)?;
    Ok(Header {
        dtype,
        order,
        fortran,
        shape,
        data_offset: 8 + len_bytes as u64 + u64::from(header_len),
    })
}

/// Interprets the header dict: element type, byte order, Fortran order and
/// shape.
fn parse_header(
    text: &str,
    ctx: Ctx<'_>,
) -> Result<(Element, ByteOrder, bool, Vec<usize>), ArrayError> {
    let bad = |what: String| {
        ctx.malformed(format!(
            "bad .npy header {}: {what}",
            shorten(text.trim_end())
        ))
    };
    let lit = Parser::new(text).parse_all().map_err(&bad)?;
    let Lit::Dict(entries) = lit else {
        return Err(bad("it is not a dict".into()));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, Lit::Str(s) if s == key))
            .map(|(_, v)| v)
            .ok_or_else(|| bad(format!("it has no '{key}' key")))
    };
    let (descr, fortran, shape) = (get("descr")?, get("fortran_order")?, get("shape")?);
    let Lit::Bool(fortran) = *fortran else {
        return Err(bad("'fortran_order' is not True or False".into()));
    };
    let shape = match shape {
        Lit::Seq(items, _) => items
            .iter()
            .map(|d| match d {
                Lit::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>(),
        _ => None,
    }
    .ok_or_else(|| bad("'shape' is not a tuple of non-negative integers".into()))?;
    let (dtype, order) = match descr {
        Lit::Str(s) => parse_descr(s).map_err(|name| ctx.unsupported(name))?,
        Lit::Seq(..) => {
            return Err(ctx.unsupported(format!("structured {}", shorten(&descr.to_string()))));
        }
        _ => return Err(bad("'descr' is not a string".into())),
    };
    Ok((dtype, order, fortran, shape))
}

/// At most 120 characters of `s`.
fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

/// The element type and byte order of a numpy type string such as `<f4`;
/// for a type snnc does not read, its name (numpy's where there is one).
fn parse_descr(descr: &str) -> Result<(Element, ByteOrder), String> {
    const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
    let (order, rest) = match descr.as_bytes().first() {
        Some(b'<') => (ByteOrder::Little, &descr[1..]),
        Some(b'>') => (ByteOrder::Big, &descr[1..]),
        Some(b'|' | b'=') => (NATIVE, &descr[1..]),
        _ => (NATIVE, descr),
    };
    let mut chars = rest.chars();
    let kind = chars.next();
    let size: Option<u32> = chars.as_str().parse().ok();
    let element = match (kind, size) {
        (Some('b'), Some(1)) => Element::Bool,
        (Some('i'), Some(1)) => Element::I8,
        (Some('i'), Some(2)) => Element::I16,
        (Some('i'), Some(4)) => Element::I32,
        (Some('i'), Some(8)) => Element::I64,
        (Some('u'), Some(1)) => Element::U8,
        (Some('u'), Some(2)) => Element::U16,
        (Some('u'), Some(4)) => Element::U32,
        (Some('u'), Some(8)) => Element::U64,
        (Some('f'), Some(2)) => Element::F16,
        (Some('f'), Some(4)) => Element::F32,
        (Some('f'), Some(8)) => Element::F64,
        (Some('f'), Some(n)) if n <= 16 => return Err(format!("float{}", n * 8)),
        (Some('c'), Some(n)) if n <= 32 => return Err(format!("complex{}", n * 8)),
        (Some('O'), _) => return Err("object".into()),
        _ => return Err(format!("'{descr}'")),
    };
    Ok((element, order))
}

/// A shape as Python writes a tuple: `()`, `(3,)`, `(2, 3)`.
fn py_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The numpy type string for writing `dtype`, if numpy has the type.
fn descr(dtype: Element) -> Option<&'static str> {
    Some(match dtype {
        Element::F16 => "<f2",
        Element::BF16 => return None,
        Element::F32 => "<f4",
        Element::F64 => "<f8",
        Element::I8 => "|i1",
        Element::I16 => "<i2",
        Element::I32 => "<i4",
        Element::I64 => "<i8",
        Element::U8 => "|u1",
        Element::U16 => "<u2",
        Element::U32 => "<u4",
        Element::U64 => "<u8",
        Element::Bool => "|b1",
    })
}

/// Checks `array` for writing and makes its `.npy` header.
pub(super) fn checked_header(ctx: Ctx<'_>, array: &Array) -> Result<Vec<u8>, ArrayError> {
    codec::check_writable(array).map_err(|reason| ctx.invalid(reason))?;
    header(&array.shape, array.dtype).map_err(|reason| ctx.invalid(reason))
}

/// The magic, version, length and padded header of a C-order,
/// little-endian array, as numpy's `write_array` makes them.
fn header(shape: &[usize], dtype: Element) -> Result<Vec<u8>, String> {
    let descr = descr(dtype).ok_or(
        "numpy has no bfloat16 type; convert the array to float32 or write a .safetensors file",
    )?;
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        py_shape(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // The header ends with a newline; spaces before it align the data.
    let text_len = dict.len() + 1;
    for (major, len_bytes) in [(1u8, 2usize), (2, 4)] {
        let prefix = MAGIC.len() + 2 + len_bytes;
        let pad = ALIGN - (prefix + text_len) % ALIGN;
        let total = text_len + pad;
        let len_field: Vec<u8> = if major == 1 {
            match u16::try_from(total) {
                Ok(n) => n.to_le_bytes().to_vec(),
                Err(_) => continue,
            }
        } else {
            match u32::try_from(total) {
                Ok(n) => n.to_le_bytes().to_vec(),
                Err(_) => break,
            }
        };
        let mut out = Vec::with_capacity(prefix + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[major, 0]);
        out.extend_from_slice(&len_field);
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
        return Ok(out);
    }
    Err(format!(
        "the shape has too many dimensions ({}) for an .npy header",
        shape.len()
    ))
}

/// A Python literal as found in `.npy` headers.
#[derive(Debug, PartialEq)]
enum Lit {
    Str(String),
    /// A non-negative integer.
    Int(u64),
    /// A negative integer (never valid in a header; kept for messages).
    Neg(u64),
    Bool(bool),
    None,
    /// A tuple (`false`) or list (`true`).
    Seq(Vec<Lit>, bool),
    Dict(Vec<(Lit, Lit)>),
}

impl std::fmt::Display for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Str(s) => write!(f, "'{s}'"),
            Lit::Int(n) => write!(f, "{n}"),
            Lit::Neg(n) => write!(f, "-{n}"),
            Lit::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Lit::None => f.write_str("None"),
            Lit::Seq(items, list) => {
                f.write_str(if *list { "[" } else { "(" })?;
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                if !*list && items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(if *list { "]" } else { ")" })
            }
            Lit::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Containers may nest this deep (structured types nest a little).
const MAX_DEPTH: usize = 32;

/// A recursive-descent parser for the Python literals of `.npy` headers:
/// dicts, tuples, lists, strings, integers, `True`, `False`, `None`.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser { s, pos: 0 }
    }

    /// Parses one literal that must fill the whole text (but whitespace).
    fn parse_all(mut self) -> Result<Lit, String> {
        let lit = self.value(0)?;
        self.skip_ws();
        if self.pos < self.s.len() {
            return Err(self.unexpected());
        }
        Ok(lit)
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn unexpected(&self) -> String {
        match self.peek() {
            Some(c) => format!("unexpected `{c}` at offset {}", self.pos),
            None => "it ends too early".into(),
        }
    }

    /// Skips whitespace and consumes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("it nests too deeply".into());
        }
        self.skip_ws();
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    if self.eat('}') {
                        break;
                    }
                    let key = self.value(depth + 1)?;
                    if !self.eat(':') {
                        return Err(self.unexpected());
                    }
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat('}') {
                        break;
                    }
                    return Err(self.unexpected());
                }
                Ok(Lit::Dict(entries))
            }
            Some(open @ ('(' | '[')) => {
                self.pos += 1;
                let close = if open == '(' { ')' } else { ']' };
                let mut items = Vec::new();
                loop {
                    if self.eat(close) {
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat(close) {
                        break;
                    }
                    return Err(self.unexpected());
                }
                Ok(Lit::Seq(items, open == '['))
            }
            Some(quote @ ('\'' | '"')) => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    let Some(c) = self.peek() else {
                        return Err("a string is not closed".into());
                    };
                    self.pos += c.len_utf8();
                    if c == quote {
                        break;
                    }
                    if c == '\\' {
                        let Some(e) = self.peek() else {
                            return Err("a string is not closed".into());
                        };
                        self.pos += e.len_utf8();
                        out.push(e);
                    } else {
                        out.push(c);
                    }
                }
                Ok(Lit::Str(out))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let negative = c == '-';
                if negative {
                    self.pos += 1;
                }
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits = &self.s[start..self.pos];
                if digits.is_empty() {
                    return Err(self.unexpected());
                }
                // Python 2 wrote long integers as `3L`.
                if matches!(self.peek(), Some('L' | 'l')) {
                    self.pos += 1;
                }
                let n: u64 = digits
                    .parse()
                    .map_err(|_| format!("the integer {digits} is too large"))?;
                Ok(if negative { Lit::Neg(n) } else { Lit::Int(n) })
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    "True" => Ok(Lit::Bool(true)),
                    "False" => Ok(Lit::Bool(false)),
                    "None" => Ok(Lit::None),
                    word => Err(format!("unexpected `{word}` at offset {start}")),
                }
            }
            _ => Err(self.unexpected()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrays::testdir::TestDir;

    /// The bytes of an `.npy` file: magic, version, header length, header
    /// text (padded with spaces and a newline to `pad_to` bytes in all, as
    /// numpy does, or unpadded when `pad_to` is 0), then `data`.
    fn npy_bytes(version: u8, header: &str, pad_to: usize, data: &[u8]) -> Vec<u8> {
        let len_bytes = if version == 1 { 2 } else { 4 };
        let prefix = 8 + len_bytes;
        let mut text = header.as_bytes().to_vec();
        while pad_to > 0 && prefix + text.len() + 1 < pad_to {
            text.push(b' ');
        }
        text.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(&text);
        out.extend_from_slice(data);
        out
    }

    fn read_bytes(dir: &TestDir, file: &str, bytes: &[u8]) -> Result<Array, ArrayError> {
        let path = dir.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        read_npy(&path)
    }

    fn message(dir: &TestDir, file: &str, bytes: &[u8]) -> String {
        let err = read_bytes(dir, file, bytes).unwrap_err();
        let prefix = format!("{}/", dir.path().display());
        err.to_string().replace(&prefix, "")
    }

    #[test]
    fn numpy_float32_vector_little_endian() {
        // np.save("a.npy", np.array([1, 2.5, -3], dtype="<f4")), byte for byte.
        let mut data = Vec::new();
        for x in [1.0f32, 2.5, -3.0] {
            data.extend_from_slice(&x.to_le_bytes());
        }
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        let bytes = npy_bytes(1, &format!("{header}{}", " ".repeat(20)), 128, &data);
        assert_eq!(bytes.len(), 128 + 12);
        assert_eq!(&bytes[..10], b"\x93NUMPY\x01\x00\x76\x00");
        let dir = TestDir::new("npy-le");
        let a = read_bytes(&dir, "a.npy", &bytes).unwrap();
        assert_eq!(a, Array::f32(vec![3], vec![1.0, 2.5, -3.0]));
        // What snnc writes is the same file.
        let out = dir.path().join("out.npy");
        write_npy(&out, &a).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), bytes);
    }

    #[test]
    fn big_endian_int32_matrix() {
        let mut data = Vec::new();
        for x in [1i32, -2, 300000, i32::MIN, 5, 6] {
            data.extend_from_slice(&x.to_be_bytes());
        }
        let bytes = npy_bytes(
            1,
            "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3), }",
            64,
            &data,
        );
        let dir = TestDir::new("npy-be");
        let a = read_bytes(&dir, "b.npy", &bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.dtype, Element::I32);
        assert_eq!(
            a.values,
            Values::Int(vec![1, -2, 300000, i32::MIN as i64, 5, 6])
        );
    }

    #[test]
    fn big_endian_float64_and_float16() {
        let dir = TestDir::new("npy-be-float");
        let mut data = Vec::new();
        for x in [0.1f64, -1e300] {
            data.extend_from_slice(&x.to_be_bytes());
        }
        let bytes = npy_bytes(
            1,
            "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
            64,
            &data,
        );
        let a = read_bytes(&dir, "d.npy", &bytes).unwrap();
        assert_eq!(a.values, Values::F64(vec![0.1, -1e300]));
        // float16: 1.0 is 0x3C00, -2.0 is 0xC000, 65504 is 0x7BFF.
        let data = [0x3C, 0x00, 0xC0, 0x00, 0x7B, 0xFF];
        let bytes = npy_bytes(
            1,
            "{'descr': '>f2', 'fortran_order': False, 'shape': (3,), }",
            64,
            &data,
        );
        let a = read_bytes(&dir, "h.npy", &bytes).unwrap();
        assert_eq!(a.dtype, Element::F16);
        assert_eq!(a.values, Values::F32(vec![1.0, -2.0, 65504.0]));
    }

    #[test]
    fn fortran_order_is_converted_to_c_order() {
        // np.asfortranarray([[1, 2, 3], [4, 5, 6]], dtype="<i8"): columns first.
        let mut data = Vec::new();
        for x in [1i64, 4, 2, 5, 3, 6] {
            data.extend_from_slice(&x.to_le_bytes());
        }
        let bytes = npy_bytes(
            1,
            "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }",
            128,
            &data,
        );
        let dir = TestDir::new("npy-fortran");
        let a = read_bytes(&dir, "f.npy", &bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.values, Values::Int(vec![1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn versions_2_and_3_and_unpadded_headers() {
        let dir = TestDir::new("npy-v2");
        let data = [1u8, 0, 1, 1];
        let header = "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }";
        let v2 = npy_bytes(2, header, 128, &data);
        assert_eq!(&v2[6..12], &[2, 0, 116, 0, 0, 0]);
        let a = read_bytes(&dir, "v2.npy", &v2).unwrap();
        assert_eq!(a.values, Values::Bool(vec![true, false, true, true]));
        // Version 3.0: a UTF-8 header; the data need not be aligned.
        let v3 = npy_bytes(
            3,
            "{\"shape\": [4], 'fortran_order': False, 'descr': '|u1'}",
            0,
            &data,
        );
        let a = read_bytes(&dir, "v3.npy", &v3).unwrap();
        assert_eq!(a.dtype, Element::U8);
        assert_eq!(a.values, Values::Int(vec![1, 0, 1, 1]));
    }

    #[test]
    fn scalar_and_empty_arrays() {
        let dir = TestDir::new("npy-scalar");
        let bytes = npy_bytes(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
            64,
            &2.5f64.to_le_bytes(),
        );
        let a = read_bytes(&dir, "s.npy", &bytes).unwrap();
        assert_eq!(a.shape, Vec::<usize>::new());
        assert_eq!(a.values, Values::F64(vec![2.5]));
        let bytes = npy_bytes(
            1,
            "{'descr': '<f4', 'fortran_order': True, 'shape': (0, 3), }",
            64,
            &[],
        );
        let a = read_bytes(&dir, "e.npy", &bytes).unwrap();
        assert_eq!(a, Array::f32(vec![0, 3], vec![]));
    }

    #[test]
    fn header_padding_matches_numpy() {
        // np.save of a (2, 3) float64 array, and of a 0-d bool array, has its
        // data at offset 128.
        let h = header(&[2, 3], Element::F64).unwrap();
        assert_eq!(h.len(), 128);
        assert_eq!(&h[..10], b"\x93NUMPY\x01\x00\x76\x00");
        assert!(h.starts_with(
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), } "
        ));
        assert_eq!(h.last(), Some(&b'\n'));
        assert_eq!(
            header(&[], Element::Bool).unwrap(),
            [
                b"\x93NUMPY\x01\x00v\x00".as_slice(),
                b"{'descr': '|b1', 'fortran_order': False, 'shape': (), }",
                &[b' '; 62],
                b"\n",
            ]
            .concat()
        );
        // A header too long for version 1.0 takes version 2.0.
        let many = vec![1usize; 30_000];
        let h = header(&many, Element::F32).unwrap();
        assert_eq!(&h[6..8], &[2, 0]);
        assert_eq!(h.len() % ALIGN, 0);
        let len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        assert_eq!(len + 12, h.len());
    }

    #[test]
    fn errors_name_the_file_and_say_what_is_wrong() {
        let dir = TestDir::new("npy-errors");
        let f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 1024), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, f4, 128, &[0; 1200])),
            "w.npy is malformed: expected 40960 bytes of data, found 1200"
        );
        assert_eq!(
            message(&dir, "w.npy", b"PK\x03\x04 not numpy at all"),
            "w.npy is malformed: not an .npy file: it does not start with the bytes \\x93NUMPY"
        );
        assert_eq!(
            message(&dir, "w.npy", b""),
            "w.npy is malformed: not an .npy file: it does not start with the bytes \\x93NUMPY"
        );
        assert_eq!(
            message(&dir, "w.npy", b"\x93NUMPY\x04\x00\x10\x00"),
            "w.npy is malformed: unsupported .npy format version 4.0 (snnc reads 1.0, 2.0 and 3.0)"
        );
        assert_eq!(
            message(&dir, "w.npy", b"\x93NUMPY\x01\x00\x76\x00{'descr'"),
            "w.npy is malformed: the .npy header should have 118 bytes, but the file ends after 8"
        );
        assert_eq!(
            message(&dir, "w.npy", b"\x93NUMPY\x01"),
            "w.npy is malformed: the file ends inside the .npy header"
        );
        let c8 = "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, c8, 64, &[0; 16])),
            "w.npy has dtype complex64, which snnc cannot use"
        );
        let obj = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, obj, 64, &[0; 16])),
            "w.npy has dtype object, which snnc cannot use"
        );
        let text = "{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, text, 64, &[0; 40])),
            "w.npy has dtype '<U5', which snnc cannot use"
        );
        let rec =
            "{'descr': [('x', '<f4'), ('y', '<i2')], 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, rec, 64, &[0; 12])),
            "w.npy has dtype structured [('x', '<f4'), ('y', '<i2')], which snnc cannot use"
        );
        let neg = "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, neg, 0, &[])),
            "w.npy is malformed: bad .npy header {'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }: \
             'shape' is not a tuple of non-negative integers"
        );
        let syntax = "{'descr': '<f4' 'fortran_order': False}";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, syntax, 0, &[])),
            "w.npy is malformed: bad .npy header {'descr': '<f4' 'fortran_order': False}: \
             unexpected `'` at offset 16"
        );
        let nokey = "{'descr': '<f4', 'shape': (1,)}";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, nokey, 0, &[0; 4])),
            "w.npy is malformed: bad .npy header {'descr': '<f4', 'shape': (1,)}: it has no 'fortran_order' key"
        );
        let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, huge, 0, &[])),
            "w.npy is malformed: shape (4294967296, 4294967296) is too large"
        );
        let u8s = "{'descr': '<u8', 'fortran_order': True, 'shape': (2, 2), }";
        let mut data = Vec::new();
        for x in [0u64, 1, u64::MAX, 3] {
            data.extend_from_slice(&x.to_le_bytes());
        }
        // Fortran order: the third element in the file is row 0, column 1.
        assert_eq!(
            message(&dir, "w.npy", &npy_bytes(1, u8s, 64, &data)),
            "w.npy holds 18446744073709551615 at [0, 1], larger than the largest integer snnc reads \
             (9223372036854775807)"
        );
        let missing = dir.path().join("missing.npy");
        assert_eq!(
            read_npy(&missing).unwrap_err().to_string(),
            format!("cannot open {}: no such file", missing.display())
        );
    }

    #[test]
    fn bfloat16_cannot_be_written_as_npy() {
        let dir = TestDir::new("npy-bf16");
        let path = dir.path().join("b.npy");
        let a = Array {
            shape: vec![1],
            dtype: Element::BF16,
            values: Values::F32(vec![1.0]),
        };
        assert_eq!(
            write_npy(&path, &a).unwrap_err().to_string(),
            format!(
                "cannot write {}: numpy has no bfloat16 type; convert the array to float32 or write a \
                 .safetensors file",
                path.display()
            )
        );
        assert_eq!(dir.entries(), Vec::<String>::new());
    }

    #[test]
    fn parser_reads_python_literals() {
        let lit = Parser::new("{'a': (1, 2L,), \"b\": [True, None, -3], 'c': 'x\\'y', }")
            .parse_all()
            .unwrap();
        assert_eq!(
            lit.to_string(),
            "{'a': (1, 2), 'b': [True, None, -3], 'c': 'x'y'}"
        );
        assert_eq!(
            Parser::new("(5,)").parse_all().unwrap(),
            Lit::Seq(vec![Lit::Int(5)], false)
        );
        assert_eq!(
            Parser::new("()").parse_all().unwrap(),
            Lit::Seq(vec![], false)
        );
        assert!(Parser::new("{'a': 1} x").parse_all().is_err());
        assert!(Parser::new("(((").parse_all().is_err());
        assert!(Parser::new(&"[".repeat(100)).parse_all().is_err());
        assert!(Parser::new("99999999999999999999999").parse_all().is_err());
    }
}
