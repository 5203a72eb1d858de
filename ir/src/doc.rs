//! A serde view of a graph, for RON/JSON tools: plain lists of tensors and
//! nodes with their operands. Tensor values are not included; tensors carry
//! their origin and hash as in the text dump.

use serde::{Deserialize, Serialize};

use crate::entities::{NodeId, TensorId};
use crate::graph::Graph;
use crate::op::Op;
use crate::quant::Quant;
use crate::range::Range;
use crate::span::Span;
use crate::tensor::{DType, Origin};

#[derive(Debug, Serialize, Deserialize)]
pub struct GraphDoc {
    pub format: String,
    pub source: Option<String>,
    pub timestep: String,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub ticks_per_step: u32,
    pub tensors: Vec<TensorDoc>,
    pub nodes: Vec<NodeDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TensorDoc {
    pub id: TensorId,
    pub dtype: DType,
    pub shape: Vec<u32>,
    pub nnz: Option<u64>,
    pub origin: Origin,
    pub hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NodeDoc {
    pub id: NodeId,
    pub size: u32,
    pub scalar: bool,
    pub op: Op,
    pub args: Vec<NodeId>,
    pub name: Option<String>,
    pub span: Option<Span>,
    pub quant: Option<Quant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
}

impl GraphDoc {
    pub fn new(g: &Graph) -> Self {
        let g = g.compacted();
        GraphDoc {
            format: "snn-ir 1".into(),
            source: g.source.clone(),
            timestep: g.timestep.to_string(),
            ticks_per_step: g.ticks_per_step,
            tensors: g
                .tensors()
                .map(|(id, t)| TensorDoc {
                    id,
                    dtype: t.dtype(),
                    shape: t.shape().to_vec(),
                    nnz: t.nnz(),
                    origin: t.origin().clone(),
                    hash: format!("{:016x}", t.hash()),
                })
                .collect(),
            nodes: g
                .nodes()
                .into_iter()
                .map(|n| NodeDoc {
                    id: n,
                    size: g.shape(n).len(),
                    scalar: g.shape(n).is_scalar(),
                    op: g.op(n).clone(),
                    args: g.args(n),
                    name: g.name(n).map(str::to_string),
                    span: g.span(n),
                    quant: g.quant(n),
                    range: g.range(n),
                })
                .collect(),
        }
    }
}

fn one() -> u32 {
    1
}

fn is_one(k: &u32) -> bool {
    *k == 1
}

/// The graph in RON.
pub fn to_ron(g: &Graph) -> String {
    let cfg = ron::ser::PrettyConfig::new()
        .depth_limit(6)
        .struct_names(true)
        .compact_arrays(true);
    let mut s = ron::ser::to_string_pretty(&GraphDoc::new(g), cfg)
        .expect("graph documents contain only serializable data");
    s.push('\n');
    s
}
