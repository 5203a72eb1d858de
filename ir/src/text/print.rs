//! The text printer. One line per tensor and per node, in id order:
//!
//! ```text
//! snn-ir 1
//! source "examples/lprnn/model.snn"
//! timestep 1ms
//!
//! t0: f32[128, 80] = load("weights.npz", "W1") #9f0c2a1b3d4e5f60
//! t1: f32[3] = literal [0.5, 1, 2] #0123456789abcdef
//!
//! n0: [80] = input "x" name="x" span=42..53
//! n1: [128] = project(n0) weights=t0 delay=0 span=80..86
//! n2: [128] = state(n5) init=0 name="h" span=60..75
//! ```
//!
//! Tensors print as where they came from plus a content hash; values are
//! printed for literals, for small derived tensors, and for every tensor when
//! asked. The parser in `parse.rs` reads this back; printing what it reads
//! gives the same text.

use std::fmt::Write;

use crate::entities::TensorId;
use crate::graph::Graph;
use crate::op::{Const, Delay, Op, ParamValue};
use crate::tensor::{Origin, ShapeFmt, Tensor, Values};

/// Derived tensors up to this many stored values print their values.
pub const SMALL_TENSOR: u64 = 64;

/// What the printer includes.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrintOptions {
    /// Print the values of every tensor, so the dump stands alone.
    pub values: bool,
}

/// The text form of `g` (compacted: dense ids, unused tensors dropped).
pub fn print(g: &Graph, opts: PrintOptions) -> String {
    let g = g.compacted();
    let mut out = String::new();
    out.push_str("snn-ir 1\n");
    if let Some(src) = &g.source {
        let _ = writeln!(out, "source {}", quote(src));
    }
    let _ = writeln!(out, "timestep {}", g.timestep);
    if g.ticks_per_step != 1 {
        let _ = writeln!(out, "ticks_per_step {}", g.ticks_per_step);
    }
    if g.tensor_count() > 0 {
        out.push('\n');
    }
    for (id, t) in g.tensors() {
        print_tensor(&mut out, id, t, opts);
    }
    out.push('\n');
    for n in g.nodes() {
        let op = g.op(n);
        let args = g.args(n);
        let _ = write!(out, "{n}: {} = {}", g.shape(n), op.name());
        if op.arity() != Some(0) {
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{a}");
            }
            out.push(')');
        }
        match op {
            Op::Input { name, .. } => {
                let _ = write!(out, " {}", quote(name));
            }
            Op::Const(c) => {
                let _ = write!(out, " {}", konst(*c));
            }
            Op::Unary(_) | Op::Binary(_) => {}
            Op::Clamp { lo, hi } => {
                let _ = write!(out, " lo={lo} hi={hi}");
            }
            Op::Project(p) => {
                let _ = write!(out, " weights={}", p.weights);
                match p.delay {
                    Delay::Const(d) => {
                        let _ = write!(out, " delay={d}");
                    }
                    Delay::PerSynapse(t) => {
                        let _ = write!(out, " delay={t}");
                    }
                }
            }
            Op::State { init, .. } => {
                let _ = write!(out, " init={}", konst(*init));
            }
            Op::Population(p) => {
                for (name, value) in p.model.params() {
                    let _ = write!(out, " {name}=");
                    match value {
                        ParamValue::Real(c) => out.push_str(&konst(c)),
                        ParamValue::Steps(s) => {
                            let _ = write!(out, "{s}");
                        }
                        ParamValue::Reset(r) => out.push_str(r.name()),
                        ParamValue::Act(a) => {
                            let _ = write!(out, "{a}");
                        }
                    }
                }
            }
            Op::Probe(var) => {
                let _ = write!(out, " {}", var.name());
            }
            Op::Output { name } => {
                let _ = write!(out, " {}", quote(name));
            }
        }
        if let Some(q) = g.quant(n) {
            let _ = write!(out, " quant={q}");
        }
        if let Some(r) = g.range(n) {
            let _ = write!(out, " range={r}");
        }
        if let Some(name) = g.name(n) {
            let _ = write!(out, " name={}", quote(name));
        }
        if let Some(span) = g.span(n) {
            let _ = write!(out, " span={span}");
        }
        out.push('\n');
    }
    out
}

fn konst(c: Const) -> String {
    match c {
        Const::Scalar(v) => format!("{v}"),
        Const::Tensor(t) => t.to_string(),
    }
}

/// A string literal with `"` and `\` escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn print_tensor(out: &mut String, id: TensorId, t: &Tensor, opts: PrintOptions) {
    let _ = write!(out, "{id}: {}{}", t.dtype(), ShapeFmt(t.shape()));
    if let Some(nnz) = t.nnz() {
        let _ = write!(out, " nnz={nnz}");
    }
    if let Some(min) = t.i32_min() {
        let _ = write!(out, " min={min}");
    }
    out.push_str(" = ");
    let show_values = match t.origin() {
        Origin::Literal => {
            out.push_str("literal");
            true
        }
        Origin::File { path, key } => {
            let _ = write!(out, "load({}", quote(path));
            if let Some(k) = key {
                let _ = write!(out, ", {}", quote(k));
            }
            out.push(')');
            opts.values
        }
        Origin::Init(init) => {
            let _ = write!(out, "{init}");
            opts.values
        }
        Origin::Derived => {
            out.push_str("derived");
            opts.values || t.stored() <= SMALL_TENSOR
        }
    };
    if let (true, Some(data)) = (show_values, t.data()) {
        out.push(' ');
        if let Some(p) = &data.pattern {
            out.push_str("csr(");
            list(out, p.row_ptr.iter());
            out.push_str(", ");
            list(out, p.col_idx.iter());
            out.push_str(", ");
            values(out, &data.values);
            out.push(')');
        } else {
            values(out, &data.values);
        }
    }
    let _ = writeln!(out, " #{:016x}", t.hash());
}

fn values(out: &mut String, v: &Values) {
    match v {
        Values::F32(v) => list(out, v.iter()),
        Values::I32(v) => list(out, v.iter()),
    }
}

fn list<T: std::fmt::Display>(out: &mut String, items: impl Iterator<Item = T>) {
    out.push('[');
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{x}");
    }
    out.push(']');
}
