//! Graphviz DOT output for pictures of a network.

use std::fmt::Write;

use crate::graph::Graph;
use crate::op::Op;

/// The graph in DOT. Populations are boxes, states are diamonds, inputs and
/// outputs are ellipses; edges read from an earlier step are dashed.
pub fn to_dot(g: &Graph) -> String {
    let g = g.compacted();
    let mut out = String::from("digraph snn {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for n in g.nodes() {
        let op = g.op(n);
        let shape = match op {
            Op::Population(_) => "box",
            Op::State { .. } => "diamond",
            Op::Input { .. } | Op::Output { .. } => "ellipse",
            _ => "plaintext",
        };
        let mut label = format!("{n} {}", op.name());
        match op {
            Op::Input { name, .. } | Op::Output { name } => {
                let _ = write!(label, " {name}");
            }
            _ => {
                if let Some(name) = g.name(n) {
                    let _ = write!(label, "\\n{name}");
                }
            }
        }
        let _ = write!(label, "\\n{}", g.shape(n));
        let _ = writeln!(
            out,
            "  {n} [shape={shape}, label=\"{}\"];",
            label.replace('"', "\\\"")
        );
    }
    for n in g.nodes() {
        let dashed = !g.reads_same_step(n);
        for a in g.args(n) {
            let style = if dashed { " [style=dashed]" } else { "" };
            let _ = writeln!(out, "  {a} -> {n}{style};");
        }
    }
    out.push_str("}\n");
    out
}
