//! The dataflow graph: nodes (operations with ordered operands), the tensor
//! table, and side tables for source spans and names.
//!
//! petgraph holds the nodes and operand edges; it never appears in the API.
//! An edge `a → b` with weight `k` says "`a` is operand `k` of `b`".

use std::collections::HashMap;
use std::fmt;

use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeFiltered, EdgeRef, IntoEdgeReferences, NodeIndexable};

use crate::entities::{NodeId, TensorId};
use crate::op::{Const, Delay, Op, Projection};
use crate::quant::Quant;
use crate::range::Range;
use crate::span::Span;
use crate::tensor::Tensor;
use crate::time::Duration;

/// The shape of a node's per-step value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    Scalar,
    Vector(u32),
}

impl Shape {
    /// Elements per step (a scalar has one).
    pub fn len(self) -> u32 {
        match self {
            Shape::Scalar => 1,
            Shape::Vector(n) => n,
        }
    }

    /// Always false: every value has at least one element.
    pub fn is_empty(self) -> bool {
        false
    }

    pub fn is_scalar(self) -> bool {
        self == Shape::Scalar
    }

    /// The shape of an elementwise result, if the two shapes are compatible.
    pub fn broadcast(self, other: Shape) -> Option<Shape> {
        match (self, other) {
            (Shape::Scalar, s) | (s, Shape::Scalar) => Some(s),
            (Shape::Vector(a), Shape::Vector(b)) if a == b => Some(self),
            _ => None,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Scalar => f.write_str("[]"),
            Shape::Vector(n) => write!(f, "[{n}]"),
        }
    }
}

#[derive(Clone, Debug)]
struct NodeData {
    op: Op,
    shape: Shape,
}

/// A network: what is computed each time step, and the constants it uses.
#[derive(Clone, Debug)]
pub struct Graph {
    g: StableDiGraph<NodeData, u32>,
    tensors: Vec<Tensor>,
    /// Duration of one time step.
    pub timestep: Duration,
    /// Ticks the graph takes per model step (1 unless a pass carries
    /// values as spikes over several ticks: Loihi 1's binary sigma-delta
    /// code, TrueNorth's spike counts). Every step of a graph with `K`
    /// ticks per step is one tick: an input row is held for `K` of them and
    /// each output is read at the last tick of its step.
    pub ticks_per_step: u32,
    /// The `.snn` file this graph was lowered from, as given on the command
    /// line; tensor files and spans refer to it.
    pub source: Option<String>,
    spans: HashMap<NodeId, Span>,
    names: HashMap<NodeId, String>,
    quant: HashMap<NodeId, Quant>,
    ranges: HashMap<NodeId, Range>,
}

fn ix(id: NodeId) -> NodeIndex<u32> {
    NodeIndex::new(id.index())
}

fn id(ix: NodeIndex<u32>) -> NodeId {
    NodeId(ix.index() as u32)
}

impl Graph {
    pub fn new(timestep: Duration) -> Self {
        Graph {
            g: StableDiGraph::default(),
            tensors: Vec::new(),
            timestep,
            ticks_per_step: 1,
            source: None,
            spans: HashMap::new(),
            names: HashMap::new(),
            quant: HashMap::new(),
            ranges: HashMap::new(),
        }
    }

    // ---- tensors ----

    pub fn add_tensor(&mut self, t: Tensor) -> TensorId {
        self.tensors.push(t);
        TensorId(self.tensors.len() as u32 - 1)
    }

    /// The tensor `t`. Ids come from this graph; a foreign id is a bug.
    pub fn tensor(&self, t: TensorId) -> &Tensor {
        &self.tensors[t.index()]
    }

    pub fn tensor_mut(&mut self, t: TensorId) -> &mut Tensor {
        &mut self.tensors[t.index()]
    }

    pub fn get_tensor(&self, t: TensorId) -> Option<&Tensor> {
        self.tensors.get(t.index())
    }

    pub fn tensor_count(&self) -> usize {
        self.tensors.len()
    }

    pub fn tensors(&self) -> impl Iterator<Item = (TensorId, &Tensor)> {
        self.tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (TensorId(i as u32), t))
    }

    // ---- nodes ----

    /// Adds a node with its operands; its shape is inferred from them.
    pub fn add(&mut self, op: Op, args: &[NodeId]) -> NodeId {
        let shape = self.infer_shape(&op, args);
        let n = id(self.g.add_node(NodeData { op, shape }));
        for (slot, &a) in args.iter().enumerate() {
            self.g.add_edge(ix(a), ix(n), slot as u32);
        }
        n
    }

    /// Adds a node whose shape is given (the text parser; the verifier checks
    /// it against the inferred one). Operands are added with `push_arg`.
    pub fn add_shaped(&mut self, op: Op, shape: Shape) -> NodeId {
        id(self.g.add_node(NodeData { op, shape }))
    }

    /// Appends an operand (a population input, a state's `next`).
    pub fn push_arg(&mut self, node: NodeId, arg: NodeId) {
        let slot = self.g.edges_directed(ix(node), Direction::Incoming).count() as u32;
        self.g.add_edge(ix(arg), ix(node), slot);
    }

    /// Replaces operand `slot` of `node`.
    pub fn set_arg(&mut self, node: NodeId, slot: usize, arg: NodeId) {
        let e = self
            .g
            .edges_directed(ix(node), Direction::Incoming)
            .find(|e| *e.weight() == slot as u32)
            .map(|e| e.id());
        if let Some(e) = e {
            self.g.remove_edge(e);
        }
        self.g.add_edge(ix(arg), ix(node), slot as u32);
    }

    /// Removes all operands of `node`.
    pub fn clear_args(&mut self, node: NodeId) {
        let edges: Vec<_> = self
            .g
            .edges_directed(ix(node), Direction::Incoming)
            .map(|e| e.id())
            .collect();
        for e in edges {
            self.g.remove_edge(e);
        }
    }

    pub fn contains(&self, n: NodeId) -> bool {
        self.g.contains_node(ix(n))
    }

    /// The op of `n`. Ids come from this graph; a removed id is a bug.
    pub fn op(&self, n: NodeId) -> &Op {
        &self.g[ix(n)].op
    }

    /// Changes the op of `n`; the shape is inferred again.
    pub fn set_op(&mut self, n: NodeId, op: Op) {
        let args = self.args(n);
        let shape = self.infer_shape(&op, &args);
        self.g[ix(n)] = NodeData { op, shape };
    }

    /// Mutable access to the op; the caller keeps the shape unchanged.
    pub fn op_mut(&mut self, n: NodeId) -> &mut Op {
        &mut self.g[ix(n)].op
    }

    pub fn shape(&self, n: NodeId) -> Shape {
        self.g[ix(n)].shape
    }

    /// Operands of `n`, in order.
    pub fn args(&self, n: NodeId) -> Vec<NodeId> {
        let mut e: Vec<(u32, NodeId)> = self
            .g
            .edges_directed(ix(n), Direction::Incoming)
            .map(|e| (*e.weight(), id(e.source())))
            .collect();
        e.sort_unstable_by_key(|(slot, _)| *slot);
        e.into_iter().map(|(_, a)| a).collect()
    }

    /// Operand `slot` of `n`, if present.
    pub fn arg(&self, n: NodeId, slot: usize) -> Option<NodeId> {
        self.g
            .edges_directed(ix(n), Direction::Incoming)
            .find(|e| *e.weight() == slot as u32)
            .map(|e| id(e.source()))
    }

    /// `(user, slot)` for every use of `n`, sorted.
    pub fn users(&self, n: NodeId) -> Vec<(NodeId, usize)> {
        let mut u: Vec<(NodeId, usize)> = self
            .g
            .edges_directed(ix(n), Direction::Outgoing)
            .map(|e| (id(e.target()), *e.weight() as usize))
            .collect();
        u.sort_unstable();
        u
    }

    /// Makes every user of `old` use `new` instead.
    pub fn replace_uses(&mut self, old: NodeId, new: NodeId) {
        for (user, slot) in self.users(old) {
            self.set_arg(user, slot, new);
        }
    }

    /// Removes `n` and its edges (operands and uses) and side-table entries.
    pub fn remove(&mut self, n: NodeId) {
        self.g.remove_node(ix(n));
        self.spans.remove(&n);
        self.names.remove(&n);
        self.quant.remove(&n);
        self.ranges.remove(&n);
    }

    /// Node ids in ascending order.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.g.node_indices().map(id).collect();
        v.sort_unstable();
        v
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Input nodes in id order (the order of columns in the input array).
    pub fn inputs(&self) -> Vec<NodeId> {
        self.nodes()
            .into_iter()
            .filter(|&n| matches!(self.op(n), Op::Input { .. }))
            .collect()
    }

    /// Output nodes in id order.
    pub fn outputs(&self) -> Vec<NodeId> {
        self.nodes()
            .into_iter()
            .filter(|&n| matches!(self.op(n), Op::Output { .. }))
            .collect()
    }

    /// Population nodes in id order.
    pub fn populations(&self) -> Vec<NodeId> {
        self.nodes()
            .into_iter()
            .filter(|&n| matches!(self.op(n), Op::Population(_)))
            .collect()
    }

    // ---- side tables ----

    pub fn set_span(&mut self, n: NodeId, span: Span) {
        self.spans.insert(n, span);
    }

    pub fn span(&self, n: NodeId) -> Option<Span> {
        self.spans.get(&n).copied()
    }

    pub fn set_name(&mut self, n: NodeId, name: impl Into<String>) {
        self.names.insert(n, name.into());
    }

    pub fn name(&self, n: NodeId) -> Option<&str> {
        self.names.get(&n).map(String::as_str)
    }

    /// Records how `n`'s constants are stored on the target.
    pub fn set_quant(&mut self, n: NodeId, q: Quant) {
        self.quant.insert(n, q);
    }

    pub fn quant(&self, n: NodeId) -> Option<Quant> {
        self.quant.get(&n).copied()
    }

    /// Records the bounds of population `n`'s values (the `range` pass).
    pub fn set_range(&mut self, n: NodeId, r: Range) {
        self.ranges.insert(n, r);
    }

    pub fn range(&self, n: NodeId) -> Option<Range> {
        self.ranges.get(&n).copied()
    }

    /// The name if there is one, else the id: for messages.
    pub fn label(&self, n: NodeId) -> String {
        match self.name(n) {
            Some(name) => format!("`{name}`"),
            None => n.to_string(),
        }
    }

    // ---- analysis ----

    /// The smallest synaptic delay of a projection, if known (a per-synapse
    /// delay tensor without values is unknown).
    pub fn min_delay(&self, p: &Projection) -> Option<u32> {
        match p.delay {
            Delay::Const(d) => Some(d),
            Delay::PerSynapse(t) => Some(self.get_tensor(t)?.i32_min()?.max(0) as u32),
        }
    }

    /// Whether operand edges into `n` are read in the same step (combinational),
    /// as opposed to from an earlier step (a state, a delayed projection).
    pub fn reads_same_step(&self, n: NodeId) -> bool {
        match self.op(n) {
            Op::State { .. } => false,
            Op::Project(p) => self.min_delay(p).is_none_or(|d| d == 0),
            _ => true,
        }
    }

    /// An order in which every node comes after the same-step values it reads,
    /// or the nodes of one cycle with no delay in it.
    pub fn schedule(&self) -> Result<Vec<NodeId>, Vec<NodeId>> {
        let same_step: Vec<bool> = (0..self.g.node_bound())
            .map(|i| {
                let n = NodeId(i as u32);
                self.contains(n) && self.reads_same_step(n)
            })
            .collect();
        let filtered = EdgeFiltered::from_fn(&self.g, |e| same_step[e.target().index()]);
        // Deterministic: visit roots in id order via a Kahn queue on ids.
        let mut indegree: HashMap<NodeId, usize> = HashMap::new();
        for n in self.nodes() {
            indegree.insert(n, 0);
        }
        for e in self.g.edge_references() {
            if same_step[e.target().index()] {
                *indegree
                    .get_mut(&id(e.target()))
                    .expect("edge target is a node") += 1;
            }
        }
        let mut ready: std::collections::BTreeSet<NodeId> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| *n)
            .collect();
        let mut order = Vec::with_capacity(self.node_count());
        while let Some(n) = ready.pop_first() {
            order.push(n);
            for e in self.g.edges_directed(ix(n), Direction::Outgoing) {
                if !same_step[e.target().index()] {
                    continue;
                }
                let d = indegree
                    .get_mut(&id(e.target()))
                    .expect("edge target is a node");
                *d -= 1;
                if *d == 0 {
                    ready.insert(id(e.target()));
                }
            }
        }
        if order.len() == self.node_count() {
            return Ok(order);
        }
        // Report one strongly connected component that is a real cycle.
        for scc in petgraph::algo::tarjan_scc(&filtered) {
            let is_cycle = scc.len() > 1
                || (same_step[scc[0].index()]
                    && self
                        .g
                        .edges_directed(scc[0], Direction::Incoming)
                        .any(|e| e.source() == scc[0]));
            if is_cycle {
                let mut c: Vec<NodeId> = scc.into_iter().map(id).collect();
                c.sort_unstable();
                return Err(c);
            }
        }
        unreachable!("Kahn's algorithm stalled without a cycle")
    }

    /// Shape of a node's value from its op and operands (lenient: the
    /// verifier reports mismatches).
    pub(crate) fn infer_shape(&self, op: &Op, args: &[NodeId]) -> Shape {
        let arg = |i: usize| args.get(i).map(|&a| self.shape(a)).unwrap_or(Shape::Scalar);
        match op {
            Op::Input { size, .. } | Op::State { size, .. } => Shape::Vector(*size),
            Op::Population(p) => Shape::Vector(p.size),
            Op::Const(Const::Scalar(_)) => Shape::Scalar,
            Op::Const(Const::Tensor(t)) => match self.get_tensor(*t).map(|t| t.shape()) {
                Some([n]) => Shape::Vector(*n),
                _ => Shape::Scalar,
            },
            Op::Unary(_) | Op::Clamp { .. } | Op::Probe(_) | Op::Output { .. } => arg(0),
            Op::Binary(_) => {
                let (a, b) = (arg(0), arg(1));
                a.broadcast(b)
                    .unwrap_or(if a.len() >= b.len() { a } else { b })
            }
            Op::Project(p) => match self.get_tensor(p.weights).map(|t| t.shape()) {
                Some([rows, _]) => Shape::Vector(*rows),
                _ => Shape::Scalar,
            },
        }
    }

    /// A copy with nodes numbered `0..n` in the current id order and only the
    /// tensors still referred to, numbered in order of first reference.
    pub fn compacted(&self) -> Graph {
        let nodes = self.nodes();
        let remap: HashMap<NodeId, NodeId> = nodes
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, NodeId(i as u32)))
            .collect();
        let mut tensor_map: HashMap<TensorId, TensorId> = HashMap::new();
        let mut out = Graph::new(self.timestep);
        out.source = self.source.clone();
        out.ticks_per_step = self.ticks_per_step;
        for &n in &nodes {
            let mut op = self.op(n).clone();
            for t in op.tensors() {
                tensor_map
                    .entry(t)
                    .or_insert_with(|| out.add_tensor(self.tensor(t).clone()));
            }
            for t in self.quant(n).map(|q| q.tensors()).unwrap_or_default() {
                tensor_map
                    .entry(t)
                    .or_insert_with(|| out.add_tensor(self.tensor(t).clone()));
            }
            crate::visit::remap_tensors(&mut op, &|t| tensor_map[&t]);
            let shape = self.shape(n);
            let new = id(out.g.add_node(NodeData { op, shape }));
            debug_assert_eq!(new, remap[&n]);
        }
        for &n in &nodes {
            for (slot, a) in self.args(n).into_iter().enumerate() {
                out.g.add_edge(ix(remap[&a]), ix(remap[&n]), slot as u32);
            }
            if let Some(s) = self.span(n) {
                out.set_span(remap[&n], s);
            }
            if let Some(name) = self.name(n) {
                out.set_name(remap[&n], name);
            }
            if let Some(q) = self.quant(n) {
                out.set_quant(remap[&n], q.remap(&|t| tensor_map[&t]));
            }
            if let Some(r) = self.range(n) {
                out.set_range(remap[&n], r);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{BinaryFn, UnaryFn};

    fn dt() -> Duration {
        Duration::parse("1ms").unwrap()
    }

    #[test]
    fn args_keep_their_order() {
        let mut g = Graph::new(dt());
        let a = g.add(
            Op::Input {
                name: "a".into(),
                size: 3,
            },
            &[],
        );
        let b = g.add(Op::Const(Const::Scalar(2.0)), &[]);
        let s = g.add(Op::Binary(BinaryFn::Sub), &[b, a]);
        assert_eq!(g.args(s), vec![b, a]);
        assert_eq!(g.shape(s), Shape::Vector(3));
        g.set_arg(s, 0, a);
        assert_eq!(g.args(s), vec![a, a]);
        assert_eq!(g.users(a), vec![(s, 0), (s, 1)]);
    }

    #[test]
    fn schedule_breaks_cycles_at_states_only() {
        let mut g = Graph::new(dt());
        let x = g.add(
            Op::Input {
                name: "x".into(),
                size: 2,
            },
            &[],
        );
        let h = g.add(
            Op::State {
                size: 2,
                init: Const::Scalar(0.0),
            },
            &[],
        );
        let sum = g.add(Op::Binary(BinaryFn::Add), &[x, h]);
        let r = g.add(Op::Unary(UnaryFn::Relu), &[sum]);
        g.push_arg(h, r);
        let order = g.schedule().unwrap();
        let pos = |n| order.iter().position(|&m| m == n).unwrap();
        assert!(pos(x) < pos(sum) && pos(h) < pos(sum) && pos(sum) < pos(r));

        let mut g2 = Graph::new(dt());
        let a = g2.add(
            Op::Input {
                name: "x".into(),
                size: 2,
            },
            &[],
        );
        let p = g2.add(Op::Unary(UnaryFn::Relu), &[a]);
        let q = g2.add(Op::Unary(UnaryFn::Tanh), &[p]);
        g2.set_arg(p, 0, q);
        assert_eq!(g2.schedule().unwrap_err(), vec![p, q]);
    }

    #[test]
    fn compaction_renumbers() {
        let mut g = Graph::new(dt());
        let a = g.add(
            Op::Input {
                name: "a".into(),
                size: 3,
            },
            &[],
        );
        let dead = g.add(Op::Unary(UnaryFn::Neg), &[a]);
        let o = g.add(Op::Output { name: "y".into() }, &[a]);
        g.set_name(o, "y");
        g.remove(dead);
        let c = g.compacted();
        assert_eq!(c.nodes(), vec![NodeId(0), NodeId(1)]);
        assert_eq!(c.args(NodeId(1)), vec![NodeId(0)]);
        assert_eq!(c.name(NodeId(1)), Some("y"));
    }
}
