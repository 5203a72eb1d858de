//! Prints a neuron-level graph as `.snn` source that a person can read and
//! edit: inputs, one `population` block per population (scalar parameters
//! written inline, per-neuron ones loaded from the weight file), one
//! projection per line, outputs. Tensors go into an `.npz` beside it.
//!
//! Populations are printed in schedule order, so every same-step
//! projection reads a population declared above its target; a projection
//! from a population declared below its target reads the previous step
//! (the language's rule), so its printed delay is one less than the IR's.

use std::collections::HashMap;
use std::fmt::Write as _;

use snn_ir::{Const, Delay, Graph, NodeId, Op, ParamValue};

use crate::arrays::Array;

/// The printed source and the arrays for its weight file.
pub struct Printed {
    pub source: String,
    pub arrays: Vec<(String, Array)>,
}

/// Why a graph cannot be printed at the neuron level.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintError {
    pub node: NodeId,
    pub message: String,
}

/// Prints `g`; `weights` is the weight file's name as the source loads it,
/// `header` comment lines go on top.
pub fn print_snn(g: &Graph, weights: &str, header: &[String]) -> Result<Printed, PrintError> {
    let order = g.schedule().map_err(|c| PrintError {
        node: c[0],
        message: "a cycle without delay".into(),
    })?;
    let mut p = Printer {
        g,
        weights,
        src: String::new(),
        consts: String::new(),
        arrays: vec![],
        names: HashMap::new(),
    };
    for line in header {
        let _ = writeln!(p.src, "// {line}");
    }
    let _ = writeln!(p.src, "timestep {};\n", g.timestep);
    for n in g.inputs() {
        if let Op::Input { name, size } = g.op(n) {
            let name = identifier(name);
            let _ = writeln!(p.src, "input {name}[{size}];");
            p.names.insert(n, name);
        }
    }
    let pops: Vec<NodeId> = order
        .iter()
        .copied()
        .filter(|&n| matches!(g.op(n), Op::Population(_)))
        .collect();
    let position: HashMap<NodeId, usize> = pops.iter().enumerate().map(|(k, &n)| (n, k)).collect();
    let mut body = String::new();
    for &n in &pops {
        let name = p.ident(n);
        p.names.insert(n, name);
    }
    for &n in &pops {
        p.population(n, &mut body)?;
    }
    body.push('\n');
    for &n in &pops {
        for a in g.args(n) {
            p.projection(a, n, &position, &mut body)?;
        }
    }
    body.push('\n');
    for o in g.outputs() {
        let Op::Output { name } = g.op(o) else {
            continue;
        };
        let src = g.args(o)[0];
        let Some(from) = p.names.get(&src) else {
            return Err(PrintError {
                node: o,
                message: format!(
                    "output `{name}` reads {}, which is not an input or a population",
                    g.label(src)
                ),
            });
        };
        if from == name {
            let _ = writeln!(body, "output {name};");
        } else {
            let _ = writeln!(body, "output {name} = {from};");
        }
    }
    let mut source = p.src;
    if !p.consts.is_empty() {
        source.push('\n');
        source.push_str(&p.consts);
    }
    source.push('\n');
    source.push_str(&body);
    Ok(Printed {
        source,
        arrays: p.arrays,
    })
}

struct Printer<'g> {
    g: &'g Graph,
    weights: &'g str,
    src: String,
    consts: String,
    arrays: Vec<(String, Array)>,
    names: HashMap<NodeId, String>,
}

impl Printer<'_> {
    fn ident(&self, n: NodeId) -> String {
        let raw = self.g.name(n).map_or_else(|| n.to_string(), str::to_string);
        let mut s: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
            s = format!("n{s}");
        }
        s
    }

    /// A `const` loading `values` from the weight file; returns its name.
    fn tensor(&mut self, name: &str, shape: Vec<usize>, a: Array) -> String {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        let _ = writeln!(
            self.consts,
            "const {name}: [{}] = load(\"{}\", \"{name}\");",
            dims.join(", "),
            self.weights
        );
        self.arrays.push((name.to_string(), a));
        name.to_string()
    }

    fn population(&mut self, n: NodeId, out: &mut String) -> Result<(), PrintError> {
        let g = self.g;
        let Op::Population(p) = g.op(n) else {
            return Ok(());
        };
        let name = self.names[&n].clone();
        let _ = writeln!(out, "population {name}: {}[{}] {{", p.model.kind(), p.size);
        for (pname, v) in p.model.params() {
            let text = match v {
                ParamValue::Real(Const::Scalar(x)) => number(x),
                ParamValue::Real(Const::Tensor(t)) => {
                    let values = g.tensor(t).f32s().ok_or_else(|| PrintError {
                        node: n,
                        message: format!("parameter `{pname}` has no values"),
                    })?;
                    let len = values.len();
                    self.tensor(
                        &format!("{name}_{pname}"),
                        vec![len],
                        Array::f32(vec![len], values.to_vec()),
                    )
                }
                ParamValue::Steps(s) => s.to_string(),
                ParamValue::Reset(r) => r.name().to_string(),
                ParamValue::Act(a) => a.to_string(),
            };
            // Defaults are left out, except the ones a reader looks for.
            let default = p
                .model
                .kind()
                .params()
                .iter()
                .find(|s| s.name == pname)
                .and_then(|s| s.default);
            if default == Some(v) && !matches!(pname, "threshold" | "reset") {
                continue;
            }
            if let ParamValue::Real(Const::Scalar(x)) = v
                && x == f32::NEG_INFINITY
            {
                continue;
            }
            let _ = writeln!(out, "    {pname} = {text};");
        }
        out.push_str("}\n");
        Ok(())
    }

    fn projection(
        &mut self,
        proj: NodeId,
        target: NodeId,
        position: &HashMap<NodeId, usize>,
        out: &mut String,
    ) -> Result<(), PrintError> {
        let g = self.g;
        let Op::Project(p) = g.op(proj) else {
            return Err(PrintError {
                node: proj,
                message: format!(
                    "{} feeds a population directly; only projections print at the neuron level",
                    g.label(proj)
                ),
            });
        };
        let src = g.args(proj)[0];
        let Some(from) = self.names.get(&src).cloned() else {
            return Err(PrintError {
                node: proj,
                message: format!(
                    "a projection from {}, which is not an input or a population",
                    g.label(src)
                ),
            });
        };
        let to = self.names[&target].clone();
        // A source declared below its target is read one step late.
        let late = position.get(&src).is_some_and(|&s| s >= position[&target]) as i32;
        let w = g.tensor(p.weights);
        let (rows, cols) = (w.shape()[0] as usize, w.shape()[1] as usize);
        let missing = || PrintError {
            node: proj,
            message: "weights without values".into(),
        };
        let values = w.f32s().ok_or_else(missing)?;
        let mut dense = vec![0.0f32; rows * cols];
        let mut layout: Vec<usize> = Vec::with_capacity(values.len());
        match w.pattern() {
            None => layout.extend(0..rows * cols),
            Some(pat) => {
                for r in 0..rows {
                    for e in pat.row(r) {
                        layout.push(r * cols + pat.col_idx[e] as usize);
                    }
                }
            }
        }
        for (k, &at) in layout.iter().enumerate() {
            dense[at] += values[k];
        }
        let base = format!("W_{from}_{to}");
        let mut wname = base.clone();
        let mut k = 2;
        while self.arrays.iter().any(|(n, _)| *n == wname) {
            wname = format!("{base}_{k}");
            k += 1;
        }
        let wconst = self.tensor(
            &wname,
            vec![rows, cols],
            Array::f32(vec![rows, cols], dense),
        );
        let delay = match p.delay {
            Delay::Const(d) => {
                let d = d as i32 - late;
                if d > 0 {
                    format!(" delay = {d};")
                } else {
                    String::new()
                }
            }
            Delay::PerSynapse(t) => {
                let dv = g.tensor(t).i32s().ok_or_else(missing)?;
                let mut dd = vec![0i32; rows * cols];
                for (k, &at) in layout.iter().enumerate() {
                    dd[at] = dv[k] - late;
                }
                let dname = format!("D{}", &wname[1..]);
                let c = self.tensor(&dname, vec![rows, cols], Array::i32(vec![rows, cols], dd));
                format!(" delay = {c};")
            }
        };
        let _ = writeln!(out, "{from} -> {to} {{ weight = {wconst};{delay} }}");
        Ok(())
    }
}

/// Words a name cannot be: the keywords, and `dt`.
const RESERVED: &[&str] = &[
    "timestep",
    "input",
    "const",
    "state",
    "let",
    "population",
    "output",
    "dt",
];

/// `raw` as a `.snn` name: other characters become `_`, a leading digit
/// gets an `n` in front, a reserved word a `_` behind.
pub fn identifier(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("n{s}");
    }
    if RESERVED.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// A number as the language reads it back to the same `f32`.
fn number(x: f32) -> String {
    let s = format!("{x:?}");
    if let Some(rest) = s.strip_prefix('-') {
        // The grammar has a unary minus; `-0.5` parses as `-(0.5)`.
        format!("-{rest}")
    } else {
        s
    }
}
