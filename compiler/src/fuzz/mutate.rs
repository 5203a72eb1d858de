//! Mutators: small random edits of model text, IR dumps and configuration
//! JSON, and of the binary files snnc reads (`.npy`, `.npz`,
//! `.safetensors`, synapse tables). Each edit is one of the ways a file
//! goes wrong in practice (a typo, a line pasted twice, a number at the
//! edge of its type, a truncated download, a header that lies about its
//! size) or a way to reach a limit (deep nesting, long chains, huge sizes).

use std::io::Write;

use super::rng::Rng;

/// Numbers that sit on the edges of what some part of snnc takes.
const NUMBERS: [&str; 24] = [
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "3",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "18446744073709551615",
    "1e38",
    "3.5e38",
    "1e308",
    "1e-45",
    "1e-320",
    "1_000_000_000",
    "1e400",
    "-1e9",
];

/// Tokens worth inserting into model text.
const TOKENS: [&str; 40] = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "=",
    "+",
    "-",
    "*",
    "/",
    "@",
    "->",
    ".",
    "timestep",
    "input",
    "const",
    "state",
    "let",
    "population",
    "output",
    "relu",
    "tanh",
    "sigmoid",
    "exp",
    "clamp",
    "normal",
    "sparse",
    "load",
    "dt",
    "ms",
    "steps",
    "\"",
    "//",
    "/*",
    "\u{e9}",
    "\0",
];

/// Names worth putting where a name was.
const NAMES: [&str; 26] = [
    "x",
    "h",
    "W",
    "dt",
    "lif",
    "if",
    "alif",
    "li",
    "sigma_delta",
    "relu",
    "tau_mem",
    "alpha_mem",
    "threshold",
    "weight",
    "delay",
    "v",
    "i",
    "b",
    "seed",
    "std",
    "density",
    "values",
    "reset",
    "subtract",
    "zero",
    "act",
];

/// File names worth putting in a string.
const FILES: [&str; 10] = [
    "weights.npz",
    "weights.safetensors",
    "input.npy",
    "missing.npz",
    "model.snn",
    ".",
    "",
    "weights.npz\", \"W",
    "../input.npy",
    "dir.npy",
];

/// Applies 1 to 4 random edits to a text (UTF-8 is kept where it was).
pub fn text(r: &mut Rng, src: &str, others: &[&str]) -> String {
    let mut s = src.to_string();
    for _ in 0..r.range(1, 4) {
        s = edit(r, &s, others);
    }
    s
}

/// A byte offset on a character boundary of `s`.
fn at(r: &mut Rng, s: &str) -> usize {
    let mut i = r.below(s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte ranges of the number tokens, identifiers and strings in `s`.
fn tokens(
    s: &str,
    pred: impl Fn(char) -> bool,
    cont: impl Fn(char) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match start {
            None if pred(c) => start = Some(i),
            Some(st) if !cont(c) => {
                out.push((st, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

fn numbers(s: &str) -> Vec<(usize, usize)> {
    tokens(
        s,
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_alphanumeric() || c == '.' || c == '_',
    )
}

fn names(s: &str) -> Vec<(usize, usize)> {
    tokens(
        s,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_',
    )
}

fn strings(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open = None;
    for (i, c) in s.char_indices() {
        if c == '"' {
            match open {
                None => open = Some(i + 1),
                Some(st) => {
                    out.push((st, i));
                    open = None;
                }
            }
        }
        if c == '\n' {
            open = None;
        }
    }
    out
}

fn replace(s: &str, (a, b): (usize, usize), with: &str) -> String {
    let mut out = String::with_capacity(s.len() + with.len());
    out.push_str(&s[..a]);
    out.push_str(with);
    out.push_str(&s[b..]);
    out
}

fn edit(r: &mut Rng, s: &str, others: &[&str]) -> String {
    let lines: Vec<&str> = s.lines().collect();
    match r.below(16) {
        // Delete a few characters.
        0 => {
            let a = at(r, s);
            let mut b = (a + r.range(1, 12) as usize).min(s.len());
            while !s.is_char_boundary(b) {
                b -= 1;
            }
            replace(s, (a, b), "")
        }
        // Insert a token.
        1 | 2 => {
            let a = at(r, s);
            let t = r.word(&TOKENS);
            replace(s, (a, a), &format!(" {t} "))
        }
        // A number at an edge.
        3 | 4 => match numbers(s) {
            v if v.is_empty() => s.to_string(),
            v => {
                let span = *r.pick(&v);
                replace(s, span, r.word(&NUMBERS))
            }
        },
        // Another name.
        5 | 6 => match names(s) {
            v if v.is_empty() => s.to_string(),
            v => {
                let span = *r.pick(&v);
                let with = if r.chance(0.5) {
                    let (a, b) = *r.pick(&v);
                    s[a..b].to_string()
                } else {
                    r.pick(&NAMES).to_string()
                };
                replace(s, span, &with)
            }
        },
        // A line twice, a line gone, two lines swapped.
        7 if !lines.is_empty() => {
            let mut l: Vec<&str> = lines.clone();
            let i = r.below(l.len());
            match r.below(3) {
                0 => l.insert(i, lines[i]),
                1 => {
                    l.remove(i);
                }
                _ => {
                    let j = r.below(l.len());
                    l.swap(i, j);
                }
            }
            let mut t = l.join("\n");
            t.push('\n');
            t
        }
        // A line from another input.
        8 if !others.is_empty() => {
            let other = *r.pick(others);
            let ol: Vec<&str> = other.lines().collect();
            if ol.is_empty() {
                return s.to_string();
            }
            let line = *r.pick(&ol);
            let mut l: Vec<&str> = lines.clone();
            l.insert(r.below(l.len() + 1), line);
            let mut t = l.join("\n");
            t.push('\n');
            t
        }
        // Deep nesting at a random place.
        9 => {
            let n = *r.pick(&[8usize, 255, 256, 257, 300, 1000, 5000]);
            let a = at(r, s);
            let (open, close) = *r.pick(&[("relu(", ")"), ("(", ")"), ("[", "]"), ("-", "")]);
            let inner = if r.chance(0.5) { "x" } else { "1" };
            let deep = format!("{}{inner}{}", open.repeat(n), close.repeat(n));
            replace(s, (a, a), &deep)
        }
        // A long chain of operators.
        10 => {
            let n = *r.pick(&[100usize, 256, 257, 2000, 20000]);
            let op = r.word(&[" + x", " * 2", " - h", " @ x"]);
            let a = at(r, s);
            replace(s, (a, a), &op.repeat(n))
        }
        // A string names another file.
        11 => match strings(s) {
            v if v.is_empty() => s.to_string(),
            v => {
                let span = *r.pick(&v);
                replace(s, span, r.word(&FILES))
            }
        },
        // Units.
        12 => {
            let a = at(r, s);
            let u = r.word(&["ms", "s", "us", "ns", "steps", "kg", "ps", " steps"]);
            replace(s, (a, a), u)
        }
        // A random byte where a character was.
        13 => {
            let a = at(r, s);
            let c = char::from_u32(r.below(0x250) as u32).unwrap_or('?');
            replace(s, (a, a), &c.to_string())
        }
        // Cut the text short.
        14 => {
            let a = at(r, s);
            s[..a].to_string()
        }
        // Many copies of a line (long files, many names).
        _ if !lines.is_empty() => {
            let line = *r.pick(&lines);
            let n = *r.pick(&[2usize, 10, 100, 1000]);
            let mut t = s.to_string();
            for _ in 0..n {
                t.push_str(line);
                t.push('\n');
            }
            t
        }
        _ => s.to_string(),
    }
}

/// Applies 1 to 3 random byte-level edits.
pub fn bytes(r: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut b = src.to_vec();
    for _ in 0..r.range(1, 3) {
        byte_edit(r, &mut b);
    }
    b
}

fn byte_edit(r: &mut Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        b.extend_from_slice(b"\x93NUMPY");
        return;
    }
    // Headers hold the interesting fields: favour the first bytes.
    let pos = if r.chance(0.6) {
        r.below(b.len().min(160))
    } else {
        r.below(b.len())
    };
    match r.below(8) {
        0 => b[pos] ^= 1 << r.below(8),
        1 => b[pos] = *r.pick(&[0u8, 0xff, 0x7f, 0x80, b'9', b'(', b',', b'\'']),
        2 => b.truncate(pos),
        3 => b.extend((0..r.range(1, 64)).map(|_| r.below(256) as u8)),
        4 => {
            // A little-endian length field set to an extreme.
            let v: u64 = *r.pick(&[0, 1, u32::MAX as u64, u64::MAX, 1 << 40, 100_000_000]);
            let w = r.range(2, 8) as usize;
            let end = (pos + w).min(b.len());
            let le = v.to_le_bytes();
            b[pos..end].copy_from_slice(&le[..end - pos]);
        }
        5 => {
            // Digits in a text header changed (npy shapes, JSON offsets).
            let digits: Vec<usize> = b
                .iter()
                .take(512)
                .enumerate()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            if !digits.is_empty() {
                let i = *r.pick(&digits);
                let with = r.pick(&NUMBERS).as_bytes().to_vec();
                b.splice(i..i + 1, with);
            }
        }
        6 => {
            let end = (pos + r.range(1, 32) as usize).min(b.len());
            b.drain(pos..end);
        }
        _ => {
            let end = (pos + r.range(1, 32) as usize).min(b.len());
            let chunk = b[pos..end].to_vec();
            let at = r.below(b.len() + 1);
            b.splice(at..at, chunk);
        }
    }
}

/// An `.npz` archive (stored or deflated) of `members` after mutating one
/// member's bytes, and sometimes the archive's own bytes.
pub fn npz(r: &mut Rng, members: &[(String, Vec<u8>)]) -> Vec<u8> {
    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;
    let k = if members.is_empty() {
        0
    } else {
        r.below(members.len())
    };
    let method = if r.chance(0.5) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        for (i, (name, data)) in members.iter().enumerate() {
            let data = if i == k { bytes(r, data) } else { data.clone() };
            let name = if i == k && r.chance(0.1) {
                format!("{}{}", name, r.pick(&["", "/", ".npy", "x"]))
            } else {
                name.clone()
            };
            let opts = SimpleFileOptions::default().compression_method(method);
            // Writing into memory cannot fail.
            let _ = zip.start_file(name, opts);
            let _ = zip.write_all(&data);
        }
        let _ = zip.finish();
    }
    let archive = out.into_inner();
    if r.chance(0.3) {
        bytes(r, &archive)
    } else {
        archive
    }
}

/// The `.npy` members of an `.npz` archive, by entry name.
pub fn npz_members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(archive)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut f) = zip.by_index(i) else { continue };
        let name = f.name().to_string();
        let mut data = Vec::new();
        if f.read_to_end(&mut data).is_ok() {
            out.push((name, data));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_change_text_and_keep_it_valid_utf8() {
        let src = "timestep 1ms;\ninput x[4];\nconst W: [4, 4] = load(\"weights.npz\", \"W\");\noutput y = W @ x;\n";
        let mut changed = 0;
        for i in 0..500 {
            let mut r = Rng::new(9, i);
            let t = text(&mut r, src, &[src]);
            changed += usize::from(t != src);
        }
        // Nearly every edit changes something (a swap of equal lines or a
        // name replaced by itself may not).
        assert!(changed > 450, "{changed}");
    }

    #[test]
    fn npz_members_round_trip() {
        let members = vec![("W.npy".to_string(), b"\x93NUMPY\x01\x00abc".to_vec())];
        let mut r = Rng::new(1, 1);
        // An archive whose own bytes are left alone reads back.
        let back = (0..50)
            .map(|_| npz_members(&npz(&mut r, &members)))
            .filter(|m| !m.is_empty())
            .count();
        assert!(back > 10, "{back}");
    }
}
