//! The NIR graph as typed nodes: every node's parameters read from the HDF5
//! tree and checked (present, numeric, of consistent shapes), with errors
//! that name the node.
//!
//! Names follow the `nir` Python package (1.0): a graph is a group with
//! `type = "NIRGraph"`, `nodes` (one group per node) and `edges` (an
//! `[n, 2]` string array of `(source, target)` names).

use super::file::{Entry, Tree};

/// An n-dimensional array of numbers (row-major), as NIR stores parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Arr {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl Arr {
    /// A 1-D array.
    pub fn vector(values: Vec<f64>) -> Self {
        Arr {
            shape: vec![values.len()],
            values,
        }
    }

    /// Elements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Element `i`, broadcasting a one-element array.
    pub fn at(&self, i: usize) -> f64 {
        if self.values.len() == 1 {
            self.values[0]
        } else {
            self.values[i]
        }
    }
}

/// Padding of a convolution or pooling.
#[derive(Clone, Debug, PartialEq)]
pub enum Padding {
    Same,
    Valid,
    /// Per spatial dimension.
    Explicit(Vec<usize>),
}

/// One NIR node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Input {
        shape: Vec<usize>,
    },
    Output {
        shape: Option<Vec<usize>>,
    },
    Affine {
        weight: Arr,
        bias: Arr,
    },
    Linear {
        weight: Arr,
    },
    Scale {
        scale: Arr,
    },
    Threshold {
        threshold: Arr,
    },
    Flatten {
        start_dim: i64,
        end_dim: i64,
    },
    I {
        r: Arr,
    },
    IF {
        r: Arr,
        v_threshold: Arr,
        v_reset: Arr,
    },
    LI {
        tau: Arr,
        r: Arr,
        v_leak: Arr,
    },
    LIF {
        tau: Arr,
        r: Arr,
        v_leak: Arr,
        v_threshold: Arr,
        v_reset: Arr,
    },
    CubaLI {
        tau_syn: Arr,
        tau_mem: Arr,
        r: Arr,
        v_leak: Arr,
        w_in: Arr,
    },
    CubaLIF {
        tau_syn: Arr,
        tau_mem: Arr,
        r: Arr,
        v_leak: Arr,
        v_threshold: Arr,
        v_reset: Arr,
        w_in: Arr,
    },
    Delay {
        delay: Arr,
    },
    /// Conv1d (`weight` `[c_out, c_in, k]`) or Conv2d (`[c_out, c_in, kh, kw]`);
    /// `stride` and `dilation` have one entry per spatial dimension.
    Conv {
        weight: Arr,
        bias: Arr,
        stride: Vec<usize>,
        padding: Padding,
        dilation: Vec<usize>,
        groups: usize,
    },
    /// SumPool2d, or AvgPool2d (`average`).
    Pool {
        kernel: Vec<usize>,
        stride: Vec<usize>,
        padding: Vec<usize>,
        average: bool,
    },
    Graph(NirGraph),
}

impl Node {
    /// The NIR type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Input { .. } => "Input",
            Node::Output { .. } => "Output",
            Node::Affine { .. } => "Affine",
            Node::Linear { .. } => "Linear",
            Node::Scale { .. } => "Scale",
            Node::Threshold { .. } => "Threshold",
            Node::Flatten { .. } => "Flatten",
            Node::I { .. } => "I",
            Node::IF { .. } => "IF",
            Node::LI { .. } => "LI",
            Node::LIF { .. } => "LIF",
            Node::CubaLI { .. } => "CubaLI",
            Node::CubaLIF { .. } => "CubaLIF",
            Node::Delay { .. } => "Delay",
            Node::Conv { weight, .. } if weight.shape.len() == 3 => "Conv1d",
            Node::Conv { .. } => "Conv2d",
            Node::Pool { average: false, .. } => "SumPool2d",
            Node::Pool { average: true, .. } => "AvgPool2d",
            Node::Graph(_) => "NIRGraph",
        }
    }
}

/// A NIR graph: named nodes (in name order) and edges (in file order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NirGraph {
    pub nodes: Vec<(String, Node)>,
    pub edges: Vec<(String, String)>,
    pub metadata: Tree,
}

impl NirGraph {
    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|(n, _)| n == name).map(|(_, n)| n)
    }
}

/// Reads the graph in `tree` (the group of a `NIRGraph` node); `at` is its
/// path for messages (`""` for the top graph).
pub fn read_graph(tree: &Tree, at: &str) -> Result<NirGraph, String> {
    let ty = text(tree, "type", at)?;
    if ty != "NIRGraph" {
        return Err(format!(
            "{}: the top node is a `{ty}`, not a `NIRGraph`",
            where_(at)
        ));
    }
    let Some(Entry::Group(nodes)) = tree.get("nodes") else {
        return Err(format!("{}: graph without `nodes`", where_(at)));
    };
    let mut out = NirGraph::default();
    for (name, entry) in &nodes.entries {
        let path = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        let Entry::Group(g) = entry else {
            return Err(format!("node `{path}`: not a group"));
        };
        out.nodes.push((name.clone(), read_node(g, &path)?));
    }
    match tree.get("edges") {
        Some(Entry::Text { shape, values }) => {
            let pairs_ok = match shape.as_slice() {
                [n, 2] => values.len() == n * 2,
                [0] => values.is_empty(),
                _ => false,
            };
            if !pairs_ok {
                return Err(format!(
                    "{}: `edges` has shape {shape:?}; expected [n, 2] (source, target)",
                    where_(at)
                ));
            }
            for pair in values.chunks(2) {
                for end in pair {
                    if out.node(end).is_none() {
                        return Err(format!(
                            "{}: an edge `{}` -> `{}` names `{end}`, which is not a node{}",
                            where_(at),
                            pair[0],
                            pair[1],
                            suggest(end, out.nodes.iter().map(|(n, _)| n.as_str()))
                        ));
                    }
                }
                out.edges.push((pair[0].clone(), pair[1].clone()));
            }
        }
        Some(Entry::Numbers { values, .. }) if values.is_empty() => {}
        None => {}
        Some(_) => {
            return Err(format!(
                "{}: `edges` is not an array of node names",
                where_(at)
            ));
        }
    }
    if let Some(Entry::Group(m)) = tree.get("metadata") {
        out.metadata = m.clone();
    }
    Ok(out)
}

fn where_(at: &str) -> String {
    if at.is_empty() {
        "the graph".into()
    } else {
        format!("subgraph `{at}`")
    }
}

fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::diag::did_you_mean(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// The node types this reader knows, for messages.
pub const TYPES: &[&str] = &[
    "Affine",
    "AvgPool2d",
    "Conv1d",
    "Conv2d",
    "CubaLI",
    "CubaLIF",
    "Delay",
    "Flatten",
    "I",
    "IF",
    "Input",
    "LI",
    "LIF",
    "Linear",
    "NIRGraph",
    "Output",
    "Scale",
    "SumPool2d",
    "Threshold",
];

fn read_node(g: &Tree, at: &str) -> Result<Node, String> {
    let ty = text(g, "type", at)?;
    let arr = |name: &str| array(g, name, at, &ty);
    let opt = |name: &str| -> Result<Option<Arr>, String> {
        match g.get(name) {
            None => Ok(None),
            Some(_) => arr(name).map(Some),
        }
    };
    let node = match ty.as_str() {
        "Input" | "Output" => {
            let shape = match opt("shape")? {
                Some(s) => Some(dims(&s, "shape", at, &ty)?),
                None => None,
            };
            if ty == "Input" {
                let shape = shape.ok_or_else(|| {
                    format!("node `{at}` (Input): no `shape`; an input needs its shape")
                })?;
                Node::Input { shape }
            } else {
                Node::Output { shape }
            }
        }
        "Affine" => {
            let weight = matrix(arr("weight")?, at, &ty)?;
            let bias = arr("bias")?;
            if bias.len() != 1 && bias.len() != weight.shape[0] {
                return Err(format!(
                    "node `{at}` ({ty}): `bias` has {} values for {} outputs",
                    bias.len(),
                    weight.shape[0]
                ));
            }
            Node::Affine { weight, bias }
        }
        "Linear" => Node::Linear {
            weight: matrix(arr("weight")?, at, &ty)?,
        },
        "Scale" => Node::Scale {
            scale: arr("scale")?,
        },
        "Threshold" => Node::Threshold {
            threshold: arr("threshold")?,
        },
        "Flatten" => Node::Flatten {
            start_dim: int_or(g, "start_dim", 1, at, &ty)?,
            end_dim: int_or(g, "end_dim", -1, at, &ty)?,
        },
        "I" => Node::I { r: arr("r")? },
        "IF" => {
            let v_threshold = arr("v_threshold")?;
            let v_reset = opt("v_reset")?.unwrap_or_else(|| zeros_like(&v_threshold));
            same_shapes(
                at,
                &ty,
                &[
                    ("r", &arr("r")?),
                    ("v_threshold", &v_threshold),
                    ("v_reset", &v_reset),
                ],
            )?;
            Node::IF {
                r: arr("r")?,
                v_threshold,
                v_reset,
            }
        }
        "LI" => {
            let (tau, r, v_leak) = (arr("tau")?, arr("r")?, arr("v_leak")?);
            same_shapes(at, &ty, &[("tau", &tau), ("r", &r), ("v_leak", &v_leak)])?;
            Node::LI { tau, r, v_leak }
        }
        "LIF" => {
            let (tau, r, v_leak, v_threshold) =
                (arr("tau")?, arr("r")?, arr("v_leak")?, arr("v_threshold")?);
            let v_reset = opt("v_reset")?.unwrap_or_else(|| zeros_like(&v_threshold));
            same_shapes(
                at,
                &ty,
                &[
                    ("tau", &tau),
                    ("r", &r),
                    ("v_leak", &v_leak),
                    ("v_threshold", &v_threshold),
                    ("v_reset", &v_reset),
                ],
            )?;
            Node::LIF {
                tau,
                r,
                v_leak,
                v_threshold,
                v_reset,
            }
        }
        "CubaLI" | "CubaLIF" => {
            let (tau_syn, tau_mem, r, v_leak) =
                (arr("tau_syn")?, arr("tau_mem")?, arr("r")?, arr("v_leak")?);
            let w_in = opt("w_in")?.unwrap_or_else(|| ones_like(&v_leak));
            let mut shapes = vec![
                ("tau_syn", &tau_syn),
                ("tau_mem", &tau_mem),
                ("r", &r),
                ("v_leak", &v_leak),
            ];
            if w_in.len() != 1 {
                shapes.push(("w_in", &w_in));
            }
            if ty == "CubaLI" {
                same_shapes(at, &ty, &shapes)?;
                Node::CubaLI {
                    tau_syn,
                    tau_mem,
                    r,
                    v_leak,
                    w_in,
                }
            } else {
                let v_threshold = arr("v_threshold")?;
                let v_reset = opt("v_reset")?.unwrap_or_else(|| zeros_like(&v_threshold));
                let mut shapes = shapes.clone();
                shapes.push(("v_threshold", &v_threshold));
                shapes.push(("v_reset", &v_reset));
                same_shapes(at, &ty, &shapes)?;
                Node::CubaLIF {
                    tau_syn,
                    tau_mem,
                    r,
                    v_leak,
                    v_threshold,
                    v_reset,
                    w_in,
                }
            }
        }
        "Delay" => Node::Delay {
            delay: arr("delay")?,
        },
        "Conv1d" | "Conv2d" => {
            let spatial = if ty == "Conv1d" { 1 } else { 2 };
            let weight = arr("weight")?;
            if weight.shape.len() != spatial + 2 {
                return Err(format!(
                    "node `{at}` ({ty}): `weight` has shape {:?}; expected {} dimensions (out channels, in channels, kernel)",
                    weight.shape,
                    spatial + 2
                ));
            }
            let bias = opt("bias")?.unwrap_or_else(|| Arr::vector(vec![0.0; weight.shape[0]]));
            if bias.len() != weight.shape[0] && bias.len() != 1 {
                return Err(format!(
                    "node `{at}` ({ty}): `bias` has {} values for {} output channels",
                    bias.len(),
                    weight.shape[0]
                ));
            }
            let groups = int_or(g, "groups", 1, at, &ty)?;
            if groups < 1 || weight.shape[0] % groups as usize != 0 {
                return Err(format!(
                    "node `{at}` ({ty}): `groups` = {groups} does not divide the {} output channels",
                    weight.shape[0]
                ));
            }
            Node::Conv {
                bias,
                stride: per_dim(g, "stride", spatial, 1, at, &ty)?,
                padding: padding(g, spatial, at, &ty)?,
                dilation: per_dim(g, "dilation", spatial, 1, at, &ty)?,
                groups: groups as usize,
                weight,
            }
        }
        "SumPool2d" | "AvgPool2d" => {
            let kernel = per_dim(g, "kernel_size", 2, 0, at, &ty)?;
            let stride = per_dim(g, "stride", 2, 0, at, &ty)?;
            let padding = per_dim(g, "padding", 2, 0, at, &ty)?;
            if kernel.contains(&0) || stride.contains(&0) {
                return Err(format!(
                    "node `{at}` ({ty}): kernel size and stride must be at least 1"
                ));
            }
            Node::Pool {
                kernel,
                stride,
                padding,
                average: ty == "AvgPool2d",
            }
        }
        "NIRGraph" => Node::Graph(read_graph(g, at)?),
        other => {
            return Err(format!(
                "node `{at}`: unknown node type `{other}`{}; snnc reads {}",
                suggest(other, TYPES.iter().copied()),
                TYPES.join(", ")
            ));
        }
    };
    Ok(node)
}

fn text(g: &Tree, name: &str, at: &str) -> Result<String, String> {
    match g.get(name) {
        Some(Entry::Text { values, .. }) if values.len() == 1 => Ok(values[0].clone()),
        Some(_) => Err(format!("node `{at}`: `{name}` is not a string")),
        None if at.is_empty() => Err(format!("the graph has no `{name}`")),
        None => Err(format!("node `{at}`: no `{name}`")),
    }
}

fn array(g: &Tree, name: &str, at: &str, ty: &str) -> Result<Arr, String> {
    match g.get(name) {
        Some(Entry::Numbers { shape, values, .. }) => {
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(format!(
                    "node `{at}` ({ty}): `{name}` holds {bad}, not a finite number"
                ));
            }
            Ok(Arr {
                shape: shape.clone(),
                values: values.clone(),
            })
        }
        Some(_) => Err(format!("node `{at}` ({ty}): `{name}` is not numeric")),
        None => Err(format!(
            "node `{at}` ({ty}): the parameter `{name}` is missing"
        )),
    }
}

fn matrix(a: Arr, at: &str, ty: &str) -> Result<Arr, String> {
    if a.shape.len() != 2 {
        return Err(format!(
            "node `{at}` ({ty}): `weight` has shape {:?}; snnc reads 2-D weights [out, in]",
            a.shape
        ));
    }
    Ok(a)
}

fn dims(a: &Arr, name: &str, at: &str, ty: &str) -> Result<Vec<usize>, String> {
    a.values
        .iter()
        .map(|&v| {
            if v >= 1.0 && v.fract() == 0.0 && v < u32::MAX as f64 {
                Ok(v as usize)
            } else {
                Err(format!(
                    "node `{at}` ({ty}): `{name}` = {:?} is not a list of positive whole numbers",
                    a.values
                ))
            }
        })
        .collect()
}

fn int_or(g: &Tree, name: &str, default: i64, at: &str, ty: &str) -> Result<i64, String> {
    match g.get(name) {
        None => Ok(default),
        Some(Entry::Numbers { values, .. }) if values.len() == 1 && values[0].fract() == 0.0 => {
            Ok(values[0] as i64)
        }
        Some(_) => Err(format!(
            "node `{at}` ({ty}): `{name}` is not a whole number"
        )),
    }
}

/// An int or one int per spatial dimension.
fn per_dim(
    g: &Tree,
    name: &str,
    n: usize,
    default: usize,
    at: &str,
    ty: &str,
) -> Result<Vec<usize>, String> {
    match g.get(name) {
        None if default > 0 => Ok(vec![default; n]),
        None => Err(format!(
            "node `{at}` ({ty}): the parameter `{name}` is missing"
        )),
        Some(Entry::Numbers { values, .. })
            if (values.len() == 1 || values.len() == n)
                && values.iter().all(|v| *v >= 0.0 && v.fract() == 0.0) =>
        {
            Ok((0..n)
                .map(|i| values[if values.len() == 1 { 0 } else { i }] as usize)
                .collect())
        }
        Some(_) => Err(format!(
            "node `{at}` ({ty}): `{name}` must be one or {n} whole numbers"
        )),
    }
}

fn padding(g: &Tree, n: usize, at: &str, ty: &str) -> Result<Padding, String> {
    match g.get("padding") {
        Some(Entry::Text { values, .. }) if values.len() == 1 => match values[0].as_str() {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Valid),
            other => Err(format!(
                "node `{at}` ({ty}): padding `{other}`; expected `same`, `valid` or numbers"
            )),
        },
        _ => per_dim(g, "padding", n, 0, at, ty).map(Padding::Explicit),
    }
}

fn zeros_like(a: &Arr) -> Arr {
    Arr {
        shape: a.shape.clone(),
        values: vec![0.0; a.len()],
    }
}

fn ones_like(a: &Arr) -> Arr {
    Arr {
        shape: a.shape.clone(),
        values: vec![1.0; a.len()],
    }
}

/// Parameters of one neuron node must have one shape (or one element each).
fn same_shapes(at: &str, ty: &str, params: &[(&str, &Arr)]) -> Result<(), String> {
    let Some((first, a)) = params.iter().find(|(_, a)| a.len() != 1) else {
        return Ok(());
    };
    for (name, b) in params {
        if b.len() != 1 && b.shape != a.shape {
            return Err(format!(
                "node `{at}` ({ty}): `{name}` has shape {:?} but `{first}` has {:?}",
                b.shape, a.shape
            ));
        }
    }
    Ok(())
}
