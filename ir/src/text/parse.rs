//! The text parser: reads what `print.rs` writes.
//!
//! Tensors are rebuilt from what the dump says about them: inline values,
//! a seeded initializer (regenerated), a file (read through a
//! [`TensorLoader`] the caller supplies, relative to the `source` file), or,
//! for derived tensors printed without values, a placeholder that knows only
//! its shape and hash. A rebuilt tensor's hash must match the one printed.

use std::sync::Arc;

use crate::entities::{NodeId, TensorId};
use crate::graph::{Graph, Shape};
use crate::op::{
    Act, BinaryFn, Const, Delay, Model, ModelKind, Op, ParamKind, ParamValue, Population, ProbeVar,
    Projection, Reset, UnaryFn,
};
use crate::quant::{Quant, QuantKind};
use crate::range::{Range, RangeOrigin};
use crate::span::Span;
use crate::tensor::{DType, Dist, Init, Origin, SparsePattern, Tensor, Values};
use crate::time::Duration;

/// Reads tensors named by `load(...)` in a dump.
pub trait TensorLoader {
    /// Loads array `key` (or the only array, for `.npy`) of the file at
    /// `path`, which is relative to the dump's `source` file.
    fn load(
        &mut self,
        source: Option<&str>,
        path: &str,
        key: Option<&str>,
    ) -> Result<Tensor, String>;
}

/// A loader that refuses every file, for dumps that must stand alone.
pub struct NoFiles;

impl TensorLoader for NoFiles {
    fn load(&mut self, _: Option<&str>, path: &str, _: Option<&str>) -> Result<Tensor, String> {
        Err(format!("cannot read `{path}` here"))
    }
}

/// Where and why a dump could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// A number, as the byte range of its text in the line (a dump may
    /// hold millions on one line: no allocation each).
    Num(usize, usize),
    Str(String),
    Hash(u64),
    Punct(char),
    DotDot,
}

struct Line<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    line: usize,
    text: &'a str,
}

type Res<T> = Result<T, ParseError>;

fn lex(text: &str, line: usize) -> Res<Vec<(usize, Tok)>> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |col: usize, m: String| ParseError {
        line,
        col: col + 1,
        message: m,
    };
    while i < b.len() {
        let c = b[i] as char;
        let start = i;
        if c == ';' {
            break;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                match b.get(i) {
                    None => return Err(err(start, "unterminated string".into())),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        match b.get(i + 1) {
                            Some(b'n') => s.push('\n'),
                            Some(&e) => s.push(e as char),
                            None => return Err(err(start, "unterminated string".into())),
                        }
                        i += 2;
                    }
                    Some(_) => {
                        let ch = text[i..].chars().next().expect("in bounds");
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push((start, Tok::Str(s)));
        } else if c == '#' {
            i += 1;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            let h = u64::from_str_radix(&text[start + 1..i], 16)
                .map_err(|_| err(start, "bad hash".into()))?;
            out.push((start, Tok::Hash(h)));
        } else if c == '.' && b.get(i + 1) == Some(&b'.') {
            i += 2;
            out.push((start, Tok::DotDot));
        } else if c.is_ascii_digit() || (c == '-' && i + 1 < b.len()) {
            i += 1;
            if c == '-' && text[i..].starts_with("inf") {
                i += 3;
                out.push((start, Tok::Num(start, i)));
                continue;
            }
            while i < b.len() {
                let d = b[i] as char;
                let exp_sign = (d == '-' || d == '+') && matches!(b[i - 1], b'e' | b'E');
                let exp = (d == 'e' || d == 'E')
                    && b.get(i + 1)
                        .is_some_and(|n| n.is_ascii_digit() || *n == b'-' || *n == b'+');
                let point = d == '.' && b.get(i + 1) != Some(&b'.');
                if d.is_ascii_digit() || exp || exp_sign || point {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push((start, Tok::Num(start, i)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            let w = &text[start..i];
            if w == "inf" || w == "NaN" {
                out.push((start, Tok::Num(start, i)));
            } else {
                out.push((start, Tok::Word(w.into())));
            }
        } else if "()[],=:".contains(c) {
            i += 1;
            out.push((start, Tok::Punct(c)));
        } else {
            return Err(err(start, format!("unexpected character `{c}`")));
        }
    }
    Ok(out)
}

impl<'a> Line<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Res<T> {
        let col = self
            .toks
            .get(self.pos)
            .map(|(c, _)| *c)
            .unwrap_or(self.text.len());
        Err(ParseError {
            line: self.line,
            col: col + 1,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn punct(&mut self, c: char) -> Res<()> {
        match self.peek() {
            Some(Tok::Punct(p)) if *p == c => {
                self.pos += 1;
                Ok(())
            }
            _ => self.err(format!("expected `{c}`")),
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(p)) if *p == c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Res<String> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => self.err("expected a word"),
        }
    }

    fn keyword(&mut self, k: &str) -> Res<()> {
        match self.peek() {
            Some(Tok::Word(w)) if w == k => {
                self.pos += 1;
                Ok(())
            }
            _ => self.err(format!("expected `{k}`")),
        }
    }

    fn string(&mut self) -> Res<String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s),
            _ => {
                self.pos -= 1;
                self.err("expected a string")
            }
        }
    }

    fn num_text(&mut self) -> Res<&'a str> {
        let text = self.text;
        match self.peek() {
            Some(&Tok::Num(a, b)) => {
                self.pos += 1;
                Ok(&text[a..b])
            }
            _ => self.err("expected a number"),
        }
    }

    fn f32(&mut self) -> Res<f32> {
        let s = self.num_text()?;
        s.parse().or_else(|_| {
            self.pos -= 1;
            self.err(format!("`{s}` is not a number"))
        })
    }

    fn int<T: std::str::FromStr>(&mut self) -> Res<T> {
        let s = self.num_text()?;
        s.parse().or_else(|_| {
            self.pos -= 1;
            self.err(format!("`{s}` is not a whole number in range"))
        })
    }

    fn tensor_id(&mut self) -> Res<TensorId> {
        match self.peek() {
            Some(Tok::Word(w)) if TensorId::parse(w).is_some() => {
                let t = TensorId::parse(w).expect("checked");
                self.pos += 1;
                Ok(t)
            }
            _ => self.err("expected a tensor id like `t0`"),
        }
    }

    fn node_id(&mut self) -> Res<NodeId> {
        match self.peek() {
            Some(Tok::Word(w)) if NodeId::parse(w).is_some() => {
                let n = NodeId::parse(w).expect("checked");
                self.pos += 1;
                Ok(n)
            }
            _ => self.err("expected a node id like `n0`"),
        }
    }

    fn konst(&mut self) -> Res<Const> {
        match self.peek() {
            Some(Tok::Word(_)) => Ok(Const::Tensor(self.tensor_id()?)),
            _ => Ok(Const::Scalar(self.f32()?)),
        }
    }

    /// `key=`
    fn key(&mut self, k: &str) -> Res<()> {
        self.keyword(k)?;
        self.punct('=')
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Res<T>) -> Res<Vec<T>> {
        self.punct('[')?;
        let mut v = Vec::new();
        if self.eat_punct(']') {
            return Ok(v);
        }
        loop {
            v.push(item(self)?);
            if self.eat_punct(']') {
                return Ok(v);
            }
            self.punct(',')?;
        }
    }

    fn shape(&mut self) -> Res<Vec<u32>> {
        self.list(|l| l.int())
    }
}

struct NodeLine {
    id: NodeId,
    shape: Shape,
    op: Op,
    args: Vec<NodeId>,
    name: Option<String>,
    span: Option<Span>,
    quant: Option<Quant>,
    range: Option<Range>,
    line: usize,
}

/// Parses a dump. Files named by `load(...)` are read through `loader`.
pub fn parse(text: &str, loader: &mut dyn TensorLoader) -> Result<Graph, ParseError> {
    let mut timestep = None;
    let mut ticks = 1u32;
    let mut source = None;
    let mut tensors: Vec<Tensor> = Vec::new();
    let mut nodes: Vec<NodeLine> = Vec::new();
    let mut seen_header = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let toks = lex(raw, line_no)?;
        if toks.is_empty() {
            continue;
        }
        let mut l = Line {
            toks,
            pos: 0,
            line: line_no,
            text: raw,
        };
        if !seen_header {
            if raw.trim() != "snn-ir 1" {
                return l.err("expected the header `snn-ir 1`");
            }
            seen_header = true;
            continue;
        }
        match l.peek().cloned() {
            Some(Tok::Word(w)) if w == "source" => {
                l.pos += 1;
                source = Some(l.string()?);
            }
            Some(Tok::Word(w)) if w == "timestep" => {
                l.pos += 1;
                let n = l.num_text()?;
                let unit = l.word()?;
                match Duration::from_decimal(n, &unit) {
                    Ok(d) if d.as_ps() > 0 => timestep = Some(d),
                    Ok(_) => return l.err("the time step must be positive"),
                    Err(e) => return l.err(e.to_string()),
                }
            }
            Some(Tok::Word(w)) if w == "ticks_per_step" => {
                l.pos += 1;
                ticks = l.int()?;
                if ticks == 0 {
                    l.pos -= 1;
                    return l.err("ticks_per_step must be at least 1");
                }
            }
            Some(Tok::Word(w)) if TensorId::parse(&w).is_some() => {
                let t = l.tensor_id()?;
                if t.index() != tensors.len() {
                    return l.err(format!("expected t{} next", tensors.len()));
                }
                tensors.push(tensor_line(&mut l, source.as_deref(), loader)?);
            }
            Some(Tok::Word(w)) if NodeId::parse(&w).is_some() => {
                let n = l.node_id()?;
                if n.index() != nodes.len() {
                    return l.err(format!("expected n{} next", nodes.len()));
                }
                nodes.push(node_line(&mut l, n, tensors.len())?);
            }
            _ => return l.err("expected `source`, `timestep`, a tensor or a node"),
        }
        if !l.at_end() {
            return l.err("unexpected text at the end of the line");
        }
    }
    if !seen_header {
        return Err(ParseError {
            line: 1,
            col: 1,
            message: "empty file: expected the header `snn-ir 1`".into(),
        });
    }
    let Some(timestep) = timestep else {
        return Err(ParseError {
            line: 1,
            col: 1,
            message: "missing `timestep` line".into(),
        });
    };
    let mut g = Graph::new(timestep);
    g.source = source;
    g.ticks_per_step = ticks;
    for t in tensors {
        g.add_tensor(t);
    }
    for n in &nodes {
        let id = g.add_shaped(n.op.clone(), n.shape);
        debug_assert_eq!(id, n.id);
        if let Some(name) = &n.name {
            g.set_name(id, name.clone());
        }
        if let Some(s) = n.span {
            g.set_span(id, s);
        }
        if let Some(q) = n.quant {
            g.set_quant(id, q);
        }
        if let Some(r) = n.range {
            g.set_range(id, r);
        }
    }
    for n in &nodes {
        for &a in &n.args {
            if a.index() >= nodes.len() {
                return Err(ParseError {
                    line: n.line,
                    col: 1,
                    message: format!("operand {a} does not exist"),
                });
            }
            g.push_arg(n.id, a);
        }
    }
    Ok(g)
}

fn tensor_line(l: &mut Line, source: Option<&str>, loader: &mut dyn TensorLoader) -> Res<Tensor> {
    l.punct(':')?;
    let dtype_word = l.word()?;
    let Some(dtype) = DType::from_name(&dtype_word) else {
        l.pos -= 1;
        return l.err(format!("unknown element type `{dtype_word}`"));
    };
    let shape = l.shape()?;
    let nnz = if matches!(l.peek(), Some(Tok::Word(w)) if w == "nnz") {
        l.key("nnz")?;
        Some(l.int::<u64>()?)
    } else {
        None
    };
    let min = if matches!(l.peek(), Some(Tok::Word(w)) if w == "min") {
        l.key("min")?;
        Some(l.int::<i32>()?)
    } else {
        None
    };
    l.punct('=')?;
    let origin_col = l.pos;
    let origin = match l.word()?.as_str() {
        "literal" => Origin::Literal,
        "derived" => Origin::Derived,
        "load" => {
            l.punct('(')?;
            let path = l.string()?;
            let key = if l.eat_punct(',') {
                Some(l.string()?)
            } else {
                None
            };
            l.punct(')')?;
            Origin::File { path, key }
        }
        name => {
            l.pos -= 1;
            Origin::Init(init(l, name)?)
        }
    };
    // Inline values, if any.
    let data = match l.peek() {
        Some(Tok::Punct('[')) => Some((None, values(l, dtype)?)),
        Some(Tok::Word(w)) if w == "csr" => {
            l.pos += 1;
            l.punct('(')?;
            let row_ptr = l.list(|l| l.int::<u64>())?;
            l.punct(',')?;
            let col_idx = l.list(|l| l.int::<u32>())?;
            l.punct(',')?;
            let vals = values(l, dtype)?;
            l.punct(')')?;
            let [rows, cols] = shape[..] else {
                return l.err("a sparse tensor must be two-dimensional");
            };
            let p = SparsePattern {
                rows,
                cols,
                row_ptr,
                col_idx,
            };
            if let Err(e) = p.check() {
                return l.err(format!("bad sparse tensor: {e}"));
            }
            Some((Some(Arc::new(p)), vals))
        }
        _ => None,
    };
    let hash = match l.next() {
        Some(Tok::Hash(h)) => h,
        _ => {
            l.pos -= 1;
            return l.err("expected the tensor's hash `#…`");
        }
    };
    let built = match (data, &origin) {
        (Some((pattern, vals)), _) => match pattern {
            Some(p) => Tensor::sparse(p, vals, origin.clone()),
            None => Tensor::dense(shape.clone(), vals, origin.clone()),
        }
        .or_else(|e| l.err(e.0))?,
        (None, Origin::Literal) => return l.err("a literal tensor needs its values"),
        (None, Origin::Derived) => {
            return Ok(Tensor::placeholder(shape, dtype, nnz, min, hash, origin));
        }
        (None, Origin::Init(init)) => {
            let data = init.generate(&shape).or_else(|e| l.err(e.to_string()))?;
            match data.pattern {
                Some(p) => Tensor::sparse(p, data.values, origin.clone()),
                None => Tensor::dense(shape.clone(), data.values, origin.clone()),
            }
            .or_else(|e| l.err(e.0))?
        }
        (None, Origin::File { path, key }) => {
            let mut t = loader.load(source, path, key.as_deref()).or_else(|e| {
                l.pos = origin_col;
                l.err(e)
            })?;
            t.set_origin(origin.clone());
            // Weights loaded dense and stored without their zeros (see
            // `tensor/sparsify.rs`) are dumped with `nnz=`: drop them again.
            match nnz {
                Some(_) => t.without_zeros().unwrap_or(t),
                None => t,
            }
        }
    };
    if built.shape() != shape || built.dtype() != dtype || built.nnz() != nnz {
        l.pos = origin_col;
        return l.err(format!(
            "the tensor is {}, but the dump says {dtype}{}",
            built.type_string(),
            crate::tensor::ShapeFmt(&shape)
        ));
    }
    if built.hash() != hash {
        l.pos = origin_col;
        return l.err(format!(
            "the tensor's contents changed since the dump (hash #{:016x}, dump says #{hash:016x})",
            built.hash()
        ));
    }
    Ok(built)
}

fn values(l: &mut Line, dtype: DType) -> Res<Values> {
    Ok(match dtype {
        DType::F32 => Values::F32(l.list(|l| l.f32())?.into()),
        DType::I32 => Values::I32(l.list(|l| l.int::<i32>())?.into()),
    })
}

/// `normal(mean=0, std=0.1, seed=1)` and the other initializers.
fn init(l: &mut Line, name: &str) -> Res<Init> {
    l.pos += 1;
    l.punct('(')?;
    let init = match name {
        "sparse" => {
            l.key("density")?;
            let density: f64 = l.int()?;
            l.punct(',')?;
            l.key("seed")?;
            let seed = l.int()?;
            l.punct(',')?;
            l.key("values")?;
            let dname = l.word()?;
            l.punct('(')?;
            let dist = dist(l, &dname)?;
            l.punct(')')?;
            Init::Sparse {
                density,
                dist,
                seed,
            }
        }
        "eye" => Init::Eye { value: l.f32()? },
        "full" => Init::Dense {
            dist: Dist::Constant(l.f32()?),
            seed: 0,
        },
        "normal" | "uniform" | "randint" => {
            let dist = dist(l, name)?;
            l.punct(',')?;
            l.key("seed")?;
            Init::Dense {
                dist,
                seed: l.int()?,
            }
        }
        other => {
            l.pos -= 2;
            return l.err(format!("unknown tensor origin `{other}`"));
        }
    };
    l.punct(')')?;
    Ok(init)
}

fn dist(l: &mut Line, name: &str) -> Res<Dist> {
    Ok(match name {
        "normal" => {
            l.key("mean")?;
            let mean = l.f32()?;
            l.punct(',')?;
            l.key("std")?;
            Dist::Normal {
                mean,
                std: l.f32()?,
            }
        }
        "uniform" => {
            l.key("low")?;
            let low = l.f32()?;
            l.punct(',')?;
            l.key("high")?;
            Dist::Uniform {
                low,
                high: l.f32()?,
            }
        }
        "randint" => {
            l.key("low")?;
            let low = l.int()?;
            l.punct(',')?;
            l.key("high")?;
            Dist::Integers {
                low,
                high: l.int()?,
            }
        }
        "full" => Dist::Constant(l.f32()?),
        other => return l.err(format!("unknown distribution `{other}`")),
    })
}

fn node_line(l: &mut Line, id: NodeId, tensor_count: usize) -> Res<NodeLine> {
    let line = l.line;
    l.punct(':')?;
    let dims = l.shape()?;
    let shape = match dims[..] {
        [] => Shape::Scalar,
        [n] => Shape::Vector(n),
        _ => return l.err("a node's shape is [] or [n]"),
    };
    l.punct('=')?;
    let name = l.word()?;
    let name_pos = l.pos - 1;
    let mut args = Vec::new();
    if l.eat_punct('(') && !l.eat_punct(')') {
        loop {
            args.push(l.node_id()?);
            if l.eat_punct(')') {
                break;
            }
            l.punct(',')?;
        }
    }
    let size = shape.len();
    let op = if let Some(f) = UnaryFn::from_name(&name) {
        Op::Unary(f)
    } else if let Some(f) = BinaryFn::from_name(&name) {
        Op::Binary(f)
    } else if let Some(kind) = ModelKind::from_name(&name) {
        let mut given = Vec::new();
        for spec in kind.params() {
            l.key(spec.name)?;
            let v = match spec.kind {
                ParamKind::Real => ParamValue::Real(l.konst()?),
                ParamKind::Steps => ParamValue::Steps(l.int()?),
                ParamKind::ResetMode => {
                    let w = l.word()?;
                    match Reset::from_name(&w) {
                        Some(r) => ParamValue::Reset(r),
                        None => {
                            l.pos -= 1;
                            return l.err(format!("unknown reset mode `{w}`"));
                        }
                    }
                }
                ParamKind::Activation => ParamValue::Act(act(l)?),
            };
            given.push((spec.name.to_string(), v));
        }
        let model = Model::new(kind, given).or_else(|e| l.err(e.to_string()))?;
        Op::Population(Population { size, model })
    } else {
        match name.as_str() {
            "input" => Op::Input {
                name: l.string()?,
                size,
            },
            "output" => Op::Output { name: l.string()? },
            "const" => Op::Const(l.konst()?),
            "clamp" => {
                l.key("lo")?;
                let lo = l.f32()?;
                l.key("hi")?;
                Op::Clamp { lo, hi: l.f32()? }
            }
            "project" => {
                l.key("weights")?;
                let weights = l.tensor_id()?;
                l.key("delay")?;
                let delay = match l.peek() {
                    Some(Tok::Word(_)) => Delay::PerSynapse(l.tensor_id()?),
                    _ => Delay::Const(l.int()?),
                };
                Op::Project(Projection { weights, delay })
            }
            "state" => {
                l.key("init")?;
                Op::State {
                    size,
                    init: l.konst()?,
                }
            }
            "probe" => {
                let w = l.word()?;
                match ProbeVar::from_name(&w) {
                    Some(v) => Op::Probe(v),
                    None => {
                        l.pos -= 1;
                        return l.err(format!("unknown state variable `{w}`"));
                    }
                }
            }
            other => {
                l.pos = name_pos;
                return l.err(format!("unknown operation `{other}`"));
            }
        }
    };
    for t in op.tensors() {
        if t.index() >= tensor_count {
            return l.err(format!("tensor {t} is not defined above"));
        }
    }
    let mut node = NodeLine {
        id,
        shape,
        op,
        args,
        name: None,
        span: None,
        quant: None,
        range: None,
        line,
    };
    if matches!(l.peek(), Some(Tok::Word(w)) if w == "quant") {
        l.key("quant")?;
        let q = quant(l)?;
        for t in q.tensors() {
            if t.index() >= tensor_count {
                return l.err(format!("tensor {t} is not defined above"));
            }
        }
        node.quant = Some(q);
    }
    if matches!(l.peek(), Some(Tok::Word(w)) if w == "range") {
        l.key("range")?;
        node.range = Some(range(l)?);
    }
    if matches!(l.peek(), Some(Tok::Word(w)) if w == "name") {
        l.key("name")?;
        node.name = Some(l.string()?);
    }
    if matches!(l.peek(), Some(Tok::Word(w)) if w == "span") {
        l.key("span")?;
        let a: usize = l.int()?;
        if l.next() != Some(Tok::DotDot) {
            l.pos -= 1;
            return l.err("expected `..` in a span");
        }
        let b: usize = l.int()?;
        node.span = Some(Span::new(a, b));
    }
    Ok(node)
}

/// `loihi(bits=8, exp=-2, scale=0.5)` and the other formats.
fn quant(l: &mut Line) -> Res<Quant> {
    let w = l.word()?;
    l.punct('(')?;
    let kind = match w.as_str() {
        "loihi" => {
            l.key("bits")?;
            let bits = l.int()?;
            l.punct(',')?;
            l.key("exp")?;
            let exp = l.int()?;
            l.punct(',')?;
            QuantKind::Loihi { bits, exp }
        }
        "int" => {
            l.key("bits")?;
            let bits = l.int()?;
            l.punct(',')?;
            QuantKind::Int { bits }
        }
        "bf16" => QuantKind::Bf16,
        "axon_types" => {
            l.key("bits")?;
            let bits = l.int()?;
            l.punct(',')?;
            l.key("types")?;
            let types = l.tensor_id()?;
            l.punct(',')?;
            l.key("values")?;
            let values = l.tensor_id()?;
            l.punct(',')?;
            QuantKind::AxonTypes {
                bits,
                types,
                values,
            }
        }
        other => {
            l.pos -= 2;
            return l.err(format!("unknown quantization format `{other}`"));
        }
    };
    l.key("scale")?;
    let scale = l.f32()?;
    l.punct(')')?;
    Ok(Quant { kind, scale })
}

/// `(state=6.5, sends=6, proven)`.
fn range(l: &mut Line) -> Res<Range> {
    l.punct('(')?;
    l.key("state")?;
    let state = l.f32()?;
    l.punct(',')?;
    l.key("sends")?;
    let sends = l.f32()?;
    l.punct(',')?;
    let w = l.word()?;
    let Some(origin) = RangeOrigin::parse(&w) else {
        l.pos -= 1;
        return l.err(format!(
            "unknown range origin `{w}`; expected proven, calibrated or assumed"
        ));
    };
    l.punct(')')?;
    Ok(Range {
        state,
        sends,
        origin,
    })
}

fn act(l: &mut Line) -> Res<Act> {
    let w = l.word()?;
    match w.as_str() {
        "identity" => Ok(Act::Identity),
        "relu" => Ok(Act::Relu),
        "clamp" => {
            l.punct('(')?;
            let lo = l.f32()?;
            l.punct(',')?;
            let hi = l.f32()?;
            l.punct(')')?;
            Ok(Act::Clamp { lo, hi })
        }
        _ => {
            l.pos -= 1;
            l.err(format!("unknown activation `{w}`"))
        }
    }
}
