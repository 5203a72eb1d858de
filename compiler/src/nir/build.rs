//! Building IR nodes from signals: a projection per term (sparse or dense
//! weights, one delay or one per synapse), terms of one source merged, and
//! the expression an output reads, with unique `.snn` names.

use std::collections::HashSet;
use std::sync::Arc;

use snn_ir::tensor::{Origin, SparsePattern, Values};
use snn_ir::{Delay, Graph, NodeId, Op, Projection, Tensor};

use super::linear::{Delays, Signal, Term};
use super::neurons::constant;

/// One projection node for a term.
pub(super) fn projection(g: &mut Graph, t: &Term<NodeId>) -> Result<NodeId, String> {
    let m = &t.map;
    let rows = m.rows as u32;
    let cols = m.cols as u32;
    let values: Vec<f32> = m.val.iter().map(|&v| v as f32).collect();
    let full = m.nnz() == m.rows * m.cols;
    let weights = if full {
        Tensor::from_f32(vec![rows, cols], values, Origin::Derived)
    } else {
        let pattern = Arc::new(SparsePattern {
            rows,
            cols,
            row_ptr: m.row_ptr.iter().map(|&p| p as u64).collect(),
            col_idx: m.col.iter().map(|&c| c as u32).collect(),
        });
        Tensor::sparse(pattern, Values::F32(values.into()), Origin::Derived)
    }
    .map_err(|e| format!("internal error: {e}"))?;
    let weights_pattern = weights.pattern().cloned();
    let w = g.add_tensor(weights);
    let delay = match &t.delays {
        Delays::Const(d) => Delay::Const(*d),
        other => {
            let mut d = Vec::with_capacity(m.nnz());
            for r in 0..m.rows {
                for e in m.row(r) {
                    d.push(other.of(e, r, m.col[e]) as i32);
                }
            }
            let tensor = match weights_pattern {
                None => Tensor::dense(vec![rows, cols], Values::I32(d.into()), Origin::Derived),
                Some(p) => Tensor::sparse(p, Values::I32(d.into()), Origin::Derived),
            }
            .map_err(|e| format!("internal error: {e}"))?;
            Delay::PerSynapse(g.add_tensor(tensor))
        }
    };
    Ok(g.add(Op::Project(Projection { weights: w, delay }), &[t.src]))
}

/// The terms with those of one source merged where their synapses do not
/// overlap, in order of first appearance.
pub(super) fn merged(terms: &[Term<NodeId>]) -> Vec<Term<NodeId>> {
    let mut sources: Vec<NodeId> = Vec::new();
    for t in terms {
        if !sources.contains(&t.src) {
            sources.push(t.src);
        }
    }
    let mut out = Vec::new();
    for s in sources {
        let group: Vec<_> = terms.iter().filter(|t| t.src == s).cloned().collect();
        match super::linear::merge(&group) {
            Some(t) if group.len() > 1 => out.push(t),
            _ => out.extend(group),
        }
    }
    out
}

/// A node computing `s` (for outputs that read more than one population).
pub(super) fn materialize(g: &mut Graph, s: &Signal<NodeId>) -> Result<NodeId, String> {
    if let ([t], None) = (s.terms.as_slice(), &s.bias)
        && t.map.is_identity()
        && t.delays == Delays::Const(0)
    {
        return Ok(t.src);
    }
    let mut acc: Option<NodeId> = None;
    for t in &s.terms {
        let p = projection(g, t)?;
        acc = Some(match acc {
            None => p,
            Some(a) => g.add(Op::Binary(snn_ir::BinaryFn::Add), &[a, p]),
        });
    }
    if let Some(b) = &s.bias {
        let c = constant(g, b.iter().map(|&v| v as f32).collect());
        let c = g.add(Op::Const(c), &[]);
        acc = Some(match acc {
            None => c,
            Some(a) => g.add(Op::Binary(snn_ir::BinaryFn::Add), &[a, c]),
        });
    }
    acc.ok_or_else(|| "an Output that nothing reaches".to_string())
}

/// Unique `.snn` identifiers from NIR node names.
#[derive(Default)]
pub(super) struct Names {
    used: HashSet<String>,
}

impl Names {
    pub(super) fn unique(&mut self, raw: &str) -> String {
        let s = crate::print::identifier(raw);
        let mut name = s.clone();
        let mut k = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{s}_{k}");
            k += 1;
        }
        name
    }
}
