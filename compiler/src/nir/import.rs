//! From a NIR graph to the IR: subgraphs are inlined, shapes inferred, each
//! neuron node becomes a population (discretized with the chosen scheme),
//! and every chain of stateless nodes between neurons becomes one
//! projection (see `linear.rs`). Edges that close a cycle (back edges of a
//! depth-first walk from the inputs, in edge order) read the previous step.

use std::collections::{HashMap, HashSet};

use snn_ir::{Duration, Graph, NodeId, Op, Population};

use super::build::{Names, materialize, merged, projection};
use super::conv::{ConvSpec, conv_matrix, pool_matrix};
use super::linear::{Csr, Signal};
use super::nodes::{Arr, NirGraph, Node};

/// How NIR's continuous-time equations become steps (see docs/nir.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Discretize {
    /// Forward Euler: `x ← x + dt/τ (−x + input)`; what snnTorch and Norse
    /// simulate (snnTorch's exporter writes its parameters for this).
    Euler,
    /// Forward Euler, but a synaptic current takes its input as a jump
    /// (`i ← i + w_in·x`), as Norse's `LIFCell` does.
    EulerJump,
    /// Exact for inputs held constant over a step: `α = exp(−dt/τ)`, the
    /// input scaled by `1 − α`.
    Exact,
}

/// One node after inlining subgraphs.
pub(super) struct Flat {
    pub(super) name: String,
    /// `None`: a pass-through (a subgraph's Input or Output).
    pub(super) node: Option<Node>,
}

/// Import options.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub dt: f64,
    pub discretize: Discretize,
}

/// Lowers `g` to the IR. Errors name the node.
pub fn import(g: &NirGraph, opts: Options) -> Result<Graph, String> {
    let mut flat = Vec::new();
    let mut edges = Vec::new();
    inline(g, "", &mut flat, &mut edges)?;
    let index: HashMap<&str, usize> = flat
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let edges: Vec<(usize, usize)> = edges
        .iter()
        .map(|(a, b)| (index[a.as_str()], index[b.as_str()]))
        .collect();
    let mut cx = Cx::new(flat, edges, opts)?;
    cx.check_cycles()?;
    cx.infer_shapes()?;
    cx.back_edges();
    cx.build()
}

fn inline(
    g: &NirGraph,
    prefix: &str,
    flat: &mut Vec<Flat>,
    edges: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let full = |n: &str| format!("{prefix}{n}");
    // A subgraph's inner Input and Output nodes stand in for it.
    let mut entry: HashMap<&str, String> = HashMap::new();
    let mut exit: HashMap<&str, String> = HashMap::new();
    for (name, node) in &g.nodes {
        if let Node::Graph(sub) = node {
            let sub_prefix = format!("{prefix}{name}.");
            let ins: Vec<&String> = sub
                .nodes
                .iter()
                .filter(|(_, n)| matches!(n, Node::Input { .. }))
                .map(|(n, _)| n)
                .collect();
            let outs: Vec<&String> = sub
                .nodes
                .iter()
                .filter(|(_, n)| matches!(n, Node::Output { .. }))
                .map(|(n, _)| n)
                .collect();
            if ins.len() > 1 || outs.len() > 1 {
                return Err(format!(
                    "node `{}` (NIRGraph): a subgraph with {} inputs and {} outputs; snnc inlines subgraphs with at most one of each",
                    full(name),
                    ins.len(),
                    outs.len()
                ));
            }
            inline(sub, &sub_prefix, flat, edges)?;
            for f in flat.iter_mut() {
                let inner = |n: &&String| format!("{sub_prefix}{n}") == f.name;
                if ins.iter().any(inner) || outs.iter().any(inner) {
                    f.node = None;
                }
            }
            if let Some(i) = ins.first() {
                entry.insert(name, format!("{sub_prefix}{i}"));
            }
            if let Some(o) = outs.first() {
                exit.insert(name, format!("{sub_prefix}{o}"));
            }
        } else {
            flat.push(Flat {
                name: full(name),
                node: Some(node.clone()),
            });
        }
    }
    for (a, b) in &g.edges {
        let src = match exit.get(a.as_str()) {
            Some(x) => x.clone(),
            None if matches!(g.node(a), Some(Node::Graph(_))) => {
                return Err(format!(
                    "node `{}` (NIRGraph): an edge leaves a subgraph without an Output",
                    full(a)
                ));
            }
            None => full(a),
        };
        let dst = match entry.get(b.as_str()) {
            Some(x) => x.clone(),
            None if matches!(g.node(b), Some(Node::Graph(_))) => {
                return Err(format!(
                    "node `{}` (NIRGraph): an edge enters a subgraph without an Input",
                    full(b)
                ));
            }
            None => full(b),
        };
        edges.push((src, dst));
    }
    Ok(())
}

/// Whether a node keeps state from step to step (so a cycle through it is
/// well defined once discretized).
pub(super) fn stateful(n: &Option<Node>) -> bool {
    matches!(
        n,
        Some(
            Node::I { .. }
                | Node::IF { .. }
                | Node::LI { .. }
                | Node::LIF { .. }
                | Node::CubaLI { .. }
                | Node::CubaLIF { .. }
        )
    )
}

/// Nodes that become populations.
fn is_neuron(n: &Option<Node>) -> bool {
    stateful(n) || matches!(n, Some(Node::Threshold { .. }))
}

pub(super) struct Cx {
    pub(super) flat: Vec<Flat>,
    pub(super) edges: Vec<(usize, usize)>,
    /// Incoming edge indices per node.
    into: Vec<Vec<usize>>,
    pub(super) opts: Options,
    shapes: Vec<Option<Vec<usize>>>,
    pub(super) back: HashSet<usize>,
}

impl Cx {
    fn new(flat: Vec<Flat>, edges: Vec<(usize, usize)>, opts: Options) -> Result<Self, String> {
        if !(opts.dt.is_finite() && opts.dt > 0.0) {
            return Err(format!("the time step must be positive, not {} s", opts.dt));
        }
        let mut into = vec![vec![]; flat.len()];
        for (k, &(_, b)) in edges.iter().enumerate() {
            into[b].push(k);
        }
        for &(a, b) in &edges {
            if matches!(flat[b].node, Some(Node::Input { .. })) {
                return Err(format!(
                    "node `{}` (Input): an edge from `{}` leads into an input",
                    flat[b].name, flat[a].name
                ));
            }
            if matches!(flat[a].node, Some(Node::Output { .. })) {
                return Err(format!(
                    "node `{}` (Output): an edge to `{}` leaves an output",
                    flat[a].name, flat[b].name
                ));
            }
        }
        let n = flat.len();
        Ok(Cx {
            flat,
            edges,
            into,
            opts,
            shapes: vec![None; n],
            back: HashSet::new(),
        })
    }

    pub(super) fn label(&self, i: usize) -> String {
        let ty = self.flat[i]
            .node
            .as_ref()
            .map_or("subgraph port", |n| n.type_name());
        format!("node `{}` ({ty})", self.flat[i].name)
    }

    /// Output shapes by fixed-point iteration; errors for nodes left unknown
    /// and for edges whose ends disagree.
    fn infer_shapes(&mut self) -> Result<(), String> {
        loop {
            let mut changed = false;
            for i in 0..self.flat.len() {
                if self.shapes[i].is_some() {
                    continue;
                }
                if let Some(s) = self.shape_of(i)? {
                    self.shapes[i] = Some(s);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for i in 0..self.flat.len() {
            if self.shapes[i].is_none() {
                return Err(format!(
                    "{}: its shape cannot be inferred (no input reaches it and its parameters do not say)",
                    self.label(i)
                ));
            }
        }
        for &(a, b) in &self.edges {
            let out = numel(self.shapes[a].as_ref());
            let want = self.input_len(b);
            if let Some(want) = want
                && want != out
            {
                return Err(format!(
                    "{}: takes {want} values, but `{}` sends {out}",
                    self.label(b),
                    self.flat[a].name
                ));
            }
        }
        Ok(())
    }

    /// The number of input values a node takes, where its parameters fix it.
    fn input_len(&self, i: usize) -> Option<usize> {
        match self.flat[i].node.as_ref()? {
            Node::Affine { weight, .. } | Node::Linear { weight } => Some(weight.shape[1]),
            Node::Output { shape: Some(s) } => Some(s.iter().product()),
            Node::Conv { .. } | Node::Pool { .. } | Node::Flatten { .. } | Node::Graph(_) => None,
            Node::Input { .. } | Node::Output { shape: None } => None,
            _ => Some(numel(self.shapes[i].as_ref())),
        }
    }

    /// The shape of the first input whose shape is known.
    fn in_shape(&self, i: usize) -> Option<Vec<usize>> {
        self.into[i]
            .iter()
            .find_map(|&k| self.shapes[self.edges[k].0].clone())
    }

    fn shape_of(&self, i: usize) -> Result<Option<Vec<usize>>, String> {
        let at = || self.label(i);
        let from_params = |a: &Arr| -> Option<Vec<usize>> {
            if a.len() > 1 {
                Some(a.shape.clone())
            } else {
                self.in_shape(i)
            }
        };
        let Some(node) = &self.flat[i].node else {
            return Ok(self.in_shape(i));
        };
        Ok(match node {
            Node::Input { shape } => Some(shape.clone()),
            Node::Output { shape } => shape.clone().or_else(|| self.in_shape(i)),
            Node::Affine { weight, .. } | Node::Linear { weight } => Some(vec![weight.shape[0]]),
            Node::Scale { scale: a }
            | Node::Threshold { threshold: a }
            | Node::Delay { delay: a }
            | Node::I { r: a }
            | Node::IF { v_threshold: a, .. }
            | Node::LI { tau: a, .. }
            | Node::LIF { tau: a, .. }
            | Node::CubaLI { tau_mem: a, .. }
            | Node::CubaLIF { tau_mem: a, .. } => from_params(a),
            Node::Flatten { start_dim, end_dim } => match self.in_shape(i) {
                None => None,
                Some(s) => {
                    Some(flatten(&s, *start_dim, *end_dim).map_err(|e| format!("{}: {e}", at()))?)
                }
            },
            Node::Conv {
                weight,
                stride,
                padding,
                dilation,
                groups,
                ..
            } => match self.in_shape(i) {
                None => None,
                Some(s) => {
                    let spec = ConvSpec {
                        weight: &weight.values,
                        weight_shape: &weight.shape,
                        stride,
                        padding,
                        dilation,
                        groups: *groups,
                    };
                    let s = conv_input(&s, weight.shape[1] * groups, weight.shape.len() - 2);
                    Some(
                        conv_matrix(&spec, &s)
                            .map_err(|e| format!("{}: {e}", at()))?
                            .1,
                    )
                }
            },
            Node::Pool {
                kernel,
                stride,
                padding,
                average,
            } => match self.in_shape(i) {
                None => None,
                Some(s) => Some(
                    pool_matrix(&s, kernel, stride, padding, *average)
                        .map_err(|e| format!("{}: {e}", at()))?
                        .1,
                ),
            },
            Node::Graph(_) => None,
        })
    }

    fn build(self) -> Result<Graph, String> {
        let ps = (self.opts.dt * 1e12).round();
        if ps < 1.0 || ps > u64::MAX as f64 {
            return Err(format!("the time step {} s is out of range", self.opts.dt));
        }
        let mut g = Graph::new(Duration::from_ps(ps as u64));
        let mut names = Names::default();
        // Sources: inputs and populations, created before any operand.
        let mut source: HashMap<usize, NodeId> = HashMap::new();
        for i in 0..self.flat.len() {
            let len = numel(self.shapes[i].as_ref()) as u32;
            match &self.flat[i].node {
                Some(Node::Input { .. }) => {
                    let name = names.unique(&self.flat[i].name);
                    let n = g.add(
                        Op::Input {
                            name: name.clone(),
                            size: len,
                        },
                        &[],
                    );
                    g.set_name(n, name);
                    source.insert(i, n);
                }
                node if is_neuron(node) => {
                    let model = self.model(i, len as usize, &mut g)?;
                    let n = g.add(Op::Population(Population { size: len, model }), &[]);
                    g.set_name(n, names.unique(&self.flat[i].name));
                    source.insert(i, n);
                }
                _ => {}
            }
        }
        let mut memo: HashMap<usize, Signal<NodeId>> = HashMap::new();
        for i in 0..self.flat.len() {
            let node = &self.flat[i].node;
            if is_neuron(node) {
                let input = self.input_signal(i, &source, &mut memo)?;
                let pop = source[&i];
                if let Some(b) = input.bias.as_ref().filter(|b| b.iter().any(|&v| v != 0.0)) {
                    self.add_bias(&mut g, i, pop, b)?;
                }
                for t in merged(&input.terms) {
                    let p = projection(&mut g, &t)?;
                    g.push_arg(pop, p);
                }
            } else if let Some(Node::Output { .. }) = node {
                let input = self.input_signal(i, &source, &mut memo)?;
                let value = materialize(&mut g, &input)?;
                let name = names.unique(&self.flat[i].name);
                let o = g.add(Op::Output { name: name.clone() }, &[value]);
                g.set_name(o, name);
            }
        }
        if g.outputs().is_empty() {
            return Err("the graph has no Output node".into());
        }
        Ok(g)
    }

    /// The sum of everything that flows into node `i`.
    fn input_signal(
        &self,
        i: usize,
        source: &HashMap<usize, NodeId>,
        memo: &mut HashMap<usize, Signal<NodeId>>,
    ) -> Result<Signal<NodeId>, String> {
        let len = match self.flat[i].node.as_ref() {
            Some(Node::Affine { weight, .. } | Node::Linear { weight }) => weight.shape[1],
            _ => self
                .in_shape(i)
                .map_or(numel(self.shapes[i].as_ref()), |s| numel(Some(&s))),
        };
        let mut sum = Signal::zero(len);
        for &k in &self.into[i] {
            let a = self.edges[k].0;
            let mut s = self.output_signal(a, source, memo)?;
            if self.back.contains(&k) {
                for t in &mut s.terms {
                    t.delays = t.delays.plus(1);
                }
            }
            sum.add(s);
        }
        Ok(sum)
    }

    /// The value node `i` sends along its edges.
    fn output_signal(
        &self,
        i: usize,
        source: &HashMap<usize, NodeId>,
        memo: &mut HashMap<usize, Signal<NodeId>>,
    ) -> Result<Signal<NodeId>, String> {
        if let Some(s) = memo.get(&i) {
            return Ok(s.clone());
        }
        let len = numel(self.shapes[i].as_ref());
        let at = |e: String| format!("{}: {e}", self.label(i));
        let s = if let Some(&n) = source.get(&i) {
            Signal::source(n, len)
        } else {
            let x = self.input_signal(i, source, memo)?;
            match &self.flat[i].node {
                None | Some(Node::Flatten { .. }) | Some(Node::Output { .. }) => x,
                Some(Node::Linear { weight }) => x.map(&dense(weight)).map_err(at)?,
                Some(Node::Affine { weight, bias }) => {
                    let mut y = x.map(&dense(weight)).map_err(at)?;
                    let b: Vec<f64> = (0..weight.shape[0]).map(|r| bias.at(r)).collect();
                    y.add(Signal {
                        len: y.len,
                        terms: vec![],
                        bias: Some(b),
                    });
                    y
                }
                Some(Node::Scale { scale }) => {
                    let d: Vec<f64> = (0..len).map(|r| scale.at(r)).collect();
                    x.map(&Csr::diagonal(&d)).map_err(at)?
                }
                Some(Node::Delay { delay }) => {
                    let steps = (0..len)
                        .map(|r| self.steps(delay.at(r)))
                        .collect::<Result<Vec<u32>, String>>()
                        .map_err(at)?;
                    x.delay(&steps).map_err(at)?
                }
                Some(Node::Conv {
                    weight,
                    bias,
                    stride,
                    padding,
                    dilation,
                    groups,
                }) => {
                    let spec = ConvSpec {
                        weight: &weight.values,
                        weight_shape: &weight.shape,
                        stride,
                        padding,
                        dilation,
                        groups: *groups,
                    };
                    let shape = self.in_shape(i).unwrap_or_default();
                    let shape =
                        conv_input(&shape, weight.shape[1] * groups, weight.shape.len() - 2);
                    let (m, out) = conv_matrix(&spec, &shape).map_err(at)?;
                    let mut y = x.map(&m).map_err(at)?;
                    let per = out[1..].iter().product::<usize>();
                    let b: Vec<f64> = (0..m.rows).map(|r| bias.at(r / per)).collect();
                    if b.iter().any(|&v| v != 0.0) {
                        y.add(Signal {
                            len: y.len,
                            terms: vec![],
                            bias: Some(b),
                        });
                    }
                    y
                }
                Some(Node::Pool {
                    kernel,
                    stride,
                    padding,
                    average,
                }) => {
                    let shape = self.in_shape(i).unwrap_or_default();
                    let (m, _) =
                        pool_matrix(&shape, kernel, stride, padding, *average).map_err(at)?;
                    x.map(&m).map_err(at)?
                }
                Some(other) => {
                    return Err(format!(
                        "{}: internal error: `{}` is not a stateless node",
                        self.label(i),
                        other.type_name()
                    ));
                }
            }
        };
        memo.insert(i, s.clone());
        Ok(s)
    }

    /// A delay in seconds as whole steps.
    pub(super) fn steps(&self, seconds: f64) -> Result<u32, String> {
        let k = seconds / self.opts.dt;
        let r = k.round();
        if !(0.0..=1e6).contains(&r) || (k - r).abs() > 1e-3 {
            return Err(format!(
                "a delay of {seconds} s is not a whole number of time steps of {} s",
                self.opts.dt
            ));
        }
        Ok(r as u32)
    }
}

fn numel(s: Option<&Vec<usize>>) -> usize {
    s.map_or(0, |s| s.iter().product())
}

/// A conv input shape `[c, spatial...]` from what arrives (a flat vector of
/// the right size gets the channels put in front).
fn conv_input(s: &[usize], channels: usize, spatial: usize) -> Vec<usize> {
    if s.len() == spatial + 1 {
        return s.to_vec();
    }
    if s.len() == spatial && channels == 1 {
        let mut v = vec![1];
        v.extend(s);
        return v;
    }
    s.to_vec()
}

fn flatten(s: &[usize], start: i64, end: i64) -> Result<Vec<usize>, String> {
    let n = s.len() as i64;
    let norm = |d: i64| if d < 0 { d + n } else { d };
    let (a, b) = (norm(start), norm(end));
    if s.is_empty() {
        return Ok(vec![]);
    }
    if a < 0 || b >= n || a > b {
        return Err(format!(
            "cannot flatten dimensions {start}..={end} of a shape {s:?}"
        ));
    }
    let (a, b) = (a as usize, b as usize);
    let mut out = s[..a].to_vec();
    out.push(s[a..=b].iter().product());
    out.extend(&s[b + 1..]);
    Ok(out)
}

fn dense(w: &Arr) -> Csr {
    Csr::dense(w.shape[0], w.shape[1], &w.values)
}
