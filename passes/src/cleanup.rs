//! `cleanup`: removes every node that no output depends on (through
//! operands, including a state's `next`), then drops tensors nothing uses.
//! Inputs stay, read or not: they are the columns of the input array, and
//! the compiled network takes the same array as the model.
//! Populations removed this way are reported as a warning: a population
//! that drives no output is usually a mistake.

use std::collections::HashSet;

use snn_ir::{Graph, NodeId, Op};

use crate::manager::{Failed, PassCx, PassDiag};

pub fn remove_dead_nodes(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let mut live: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<NodeId> = g.outputs();
    stack.extend(g.inputs());
    while let Some(n) = stack.pop() {
        if live.insert(n) {
            stack.extend(g.args(n));
        }
    }
    let dead: Vec<NodeId> = g
        .nodes()
        .into_iter()
        .filter(|n| !live.contains(n))
        .collect();
    for &n in &dead {
        if matches!(g.op(n), Op::Population(_)) {
            cx.warn(
                PassDiag::warning(
                    "W0401",
                    format!("population {} affects no output and is removed", g.label(n)),
                )
                .at(g.span(n), "drives no output")
                .help("add an `output` that reads it, or remove it"),
            );
        }
    }
    for n in &dead {
        g.remove(*n);
    }
    cx.report.count("nodes removed", dead.len() as u64);
    let before = g.tensor_count();
    *g = g.compacted();
    cx.report
        .count("tensors removed", (before - g.tensor_count()) as u64);
    Ok(())
}
