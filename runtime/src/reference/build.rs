//! From a graph to a [`Simulator`]: the checks, one value slot per node, the
//! program in schedule order, delay lines and projection kernels.

use std::collections::HashMap;
use std::sync::Arc;

use snn_ir::tensor::Values;
use snn_ir::{Const, Delay, Graph, NodeId, Op, ProbeVar, Projection, UnaryFn};

use super::error::SimError;
use super::neuron::Population;
use super::project::{DelaySpec, Dense, Gather, History, Layout, Scatter};
use super::{InputSlot, Instr, Kernel, OutputSlot, Projector, Simulator, StateSlot};

impl Simulator {
    /// Checks `g` and lays it out for execution. Errors: a tensor without
    /// values (a placeholder from a dump), a cycle without a delay, anything
    /// [`snn_ir::verify`] rejects, a malformed sparse pattern, or buffers too
    /// large to allocate.
    pub fn new(g: &Graph) -> Result<Self, SimError> {
        check_values(g)?;
        check_budget(g)?;
        let order = g.schedule().map_err(|nodes| SimError::ZeroDelayCycle {
            labels: nodes.iter().map(|&n| g.label(n)).collect(),
            nodes,
        })?;
        snn_ir::verify(g).map_err(SimError::Invalid)?;
        Builder::new(g).build(&order)
    }
}

/// The values of every node, the neuron state of every population (at most
/// ten numbers a neuron) and a state's pending value, against the memory
/// budget; delay lines and synapse tables are checked as they are made.
fn check_budget(g: &Graph) -> Result<(), SimError> {
    let mut total: u128 = 0;
    for n in g.nodes() {
        let len = u128::from(g.shape(n).len());
        let copies = match g.op(n) {
            Op::Population(_) => 11,
            Op::State { .. } => 2,
            _ => 1,
        };
        total += len * copies * 4;
    }
    snn_ir::budget::check(total, || {
        format!("the state of {} nodes and their neurons", g.node_count())
    })
    .map_err(SimError::Budget)
}

/// Every tensor a node uses must carry values.
fn check_values(g: &Graph) -> Result<(), SimError> {
    for n in g.nodes() {
        for t in g.op(n).tensors() {
            if g.get_tensor(t)
                .is_some_and(|tensor| tensor.data().is_none())
            {
                return Err(SimError::MissingValues { tensor: t, node: n });
            }
        }
    }
    Ok(())
}

struct Builder<'g> {
    g: &'g Graph,
    slot: HashMap<NodeId, usize>,
    values: Vec<Vec<f32>>,
    population_of: HashMap<NodeId, usize>,
    projection_of: HashMap<NodeId, usize>,
}

impl<'g> Builder<'g> {
    fn new(g: &'g Graph) -> Self {
        let nodes = g.nodes();
        Builder {
            g,
            slot: nodes.iter().enumerate().map(|(k, &n)| (n, k)).collect(),
            values: nodes
                .iter()
                .map(|&n| vec![0.0; g.shape(n).len() as usize])
                .collect(),
            population_of: HashMap::new(),
            projection_of: HashMap::new(),
        }
    }

    /// The slot of operand `k` of `n` (present in a verified graph).
    fn arg(&self, n: NodeId, k: usize) -> Result<usize, SimError> {
        self.g
            .arg(n, k)
            .and_then(|a| self.slot.get(&a).copied())
            .ok_or_else(|| self.invalid(n, format!("has no operand {k}")))
    }

    fn invalid(&self, n: NodeId, message: String) -> SimError {
        SimError::Layout {
            node: self.g.label(n),
            message,
        }
    }

    /// The values of a constant of `len` elements.
    fn constant(&self, n: NodeId, c: Const, len: usize) -> Result<Vec<f32>, SimError> {
        match c {
            Const::Scalar(v) => Ok(vec![v; len]),
            Const::Tensor(t) => {
                let v = self
                    .g
                    .get_tensor(t)
                    .and_then(|tensor| tensor.f32s())
                    .ok_or(SimError::MissingValues { tensor: t, node: n })?;
                if v.len() != len {
                    return Err(SimError::TensorSize {
                        node: self.g.label(n),
                        tensor: t,
                        expected: len,
                        actual: v.len(),
                    });
                }
                Ok(v.to_vec())
            }
        }
    }

    fn build(mut self, order: &[NodeId]) -> Result<Simulator, SimError> {
        let g = self.g;
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut states = Vec::new();
        let mut populations = Vec::new();
        let mut population_nodes = Vec::new();
        let mut projections = Vec::new();
        // (projection index, source slot, delay) for reads through a delay line.
        let mut delayed = Vec::new();
        let mut max_population = 0;

        for n in g.nodes() {
            let slot = self.slot[&n];
            let len = self.values[slot].len();
            match g.op(n) {
                Op::Input { name, size } => inputs.push(InputSlot {
                    node: n,
                    name: name.clone(),
                    slot,
                    size: *size as usize,
                }),
                Op::Const(c) => self.values[slot] = self.constant(n, *c, len)?,
                Op::State { init, .. } => {
                    self.values[slot] = self.constant(n, *init, len)?;
                    states.push(StateSlot {
                        slot,
                        next: self.arg(n, 0)?,
                        pending: vec![0.0; len],
                    });
                }
                Op::Population(p) => {
                    self.population_of.insert(n, populations.len());
                    populations.push(Population::new(g, n, &p.model, len)?);
                    population_nodes.push(n);
                    max_population = max_population.max(len);
                }
                Op::Project(p) => {
                    let src = self.arg(n, 0)?;
                    let kernel = self.kernel(n, p)?;
                    match &kernel {
                        Kernel::Dense { delay, .. } | Kernel::Gather { delay, .. }
                            if *delay > 0 =>
                        {
                            delayed.push((projections.len(), src, *delay))
                        }
                        _ => {}
                    }
                    self.projection_of.insert(n, projections.len());
                    projections.push(Projector { src, kernel });
                }
                Op::Output { name } => outputs.push(OutputSlot {
                    name: name.clone(),
                    node: n,
                    slot,
                }),
                Op::Unary(_) | Op::Binary(_) | Op::Clamp { .. } | Op::Probe(_) => {}
            }
        }

        // One delay line per delayed source, as long as its longest delay.
        let mut histories: Vec<History> = Vec::new();
        let mut history_of: HashMap<usize, usize> = HashMap::new();
        for &(_, src, delay) in &delayed {
            match history_of.get(&src) {
                Some(&h) => {
                    let h = &mut histories[h];
                    if delay > h.slots() {
                        *h = History::new(src, self.values[src].len(), delay)
                            .map_err(|m| self.layout_error(src, m))?;
                    }
                }
                None => {
                    history_of.insert(src, histories.len());
                    histories.push(
                        History::new(src, self.values[src].len(), delay)
                            .map_err(|m| self.layout_error(src, m))?,
                    );
                }
            }
        }
        for &(p, src, _) in &delayed {
            if let Kernel::Dense { hist, .. } | Kernel::Gather { hist, .. } =
                &mut projections[p].kernel
            {
                *hist = history_of.get(&src).copied();
            }
        }

        let mut program = Vec::with_capacity(order.len());
        for &n in order {
            let Some(&dst) = self.slot.get(&n) else {
                continue;
            };
            let instr = match g.op(n) {
                Op::Input { .. } | Op::Const(_) | Op::State { .. } => continue,
                Op::Unary(f) => Instr::Unary {
                    f: *f,
                    x: self.arg(n, 0)?,
                    dst,
                },
                Op::Binary(f) => Instr::Binary {
                    f: *f,
                    a: self.arg(n, 0)?,
                    b: self.arg(n, 1)?,
                    dst,
                },
                Op::Clamp { lo, hi } => Instr::Clamp {
                    lo: *lo,
                    hi: *hi,
                    x: self.arg(n, 0)?,
                    dst,
                },
                Op::Project(_) => Instr::Project {
                    p: self.projection_of[&n],
                    dst,
                },
                Op::Population(_) => Instr::Population {
                    p: self.population_of[&n],
                    args: (0..g.args(n).len())
                        .map(|k| self.arg(n, k))
                        .collect::<Result<_, _>>()?,
                    dst,
                },
                Op::Probe(var) => {
                    let pop = g.arg(n, 0).and_then(|a| self.population_of.get(&a));
                    let Some(&p) = pop else {
                        return Err(
                            self.invalid(n, "probe of something that is not a population".into())
                        );
                    };
                    if *var == ProbeVar::Dv {
                        populations[p].mark_steps();
                    }
                    Instr::Probe { p, var: *var, dst }
                }
                Op::Output { .. } => Instr::Copy {
                    x: self.arg(n, 0)?,
                    dst,
                },
            };
            program.push(instr);
        }

        let mut slots: Vec<(NodeId, usize)> = self.slot.iter().map(|(&n, &s)| (n, s)).collect();
        slots.sort_unstable();
        Ok(Simulator {
            t: 0,
            values: self.values,
            slots,
            program,
            inputs,
            outputs,
            states,
            histories,
            projections,
            populations,
            population_nodes,
            input_peaks: None,
            current: vec![0.0; max_population],
            ticks: g.ticks_per_step.max(1) as usize,
        })
    }

    fn layout_error(&self, slot: usize, message: String) -> SimError {
        let node = self
            .slot
            .iter()
            .find(|(_, s)| **s == slot)
            .map_or_else(|| format!("slot {slot}"), |(n, _)| self.g.label(*n));
        SimError::Layout { node, message }
    }

    /// Chooses and builds the kernel of projection `n` (see `project.rs`).
    /// Delay lines are attached afterwards.
    fn kernel(&self, n: NodeId, p: &Projection) -> Result<Kernel, SimError> {
        let g = self.g;
        let w = g.tensor(p.weights);
        let &[rows, cols] = w.shape() else {
            return Err(self.invalid(n, format!("weights {} are not a matrix", p.weights)));
        };
        let (rows, cols) = (rows as usize, cols as usize);
        // The verifier guarantees these; the kernels index by them.
        let (src_len, dst_len) = (
            self.values[self.arg(n, 0)?].len(),
            self.values[self.slot[&n]].len(),
        );
        if src_len != cols || dst_len != rows {
            return Err(self.invalid(
                n,
                format!("weights [{rows}, {cols}] map {src_len} values to {dst_len}"),
            ));
        }
        let data = w.data().ok_or(SimError::MissingValues {
            tensor: p.weights,
            node: n,
        })?;
        let Values::F32(wv) = &data.values else {
            return Err(self.invalid(n, format!("weights {} are not f32", p.weights)));
        };
        let wv: Arc<[f32]> = wv.clone();
        if let Some(pattern) = &data.pattern {
            pattern.check().map_err(|message| SimError::BadPattern {
                node: g.label(n),
                tensor: p.weights,
                message,
            })?;
        }
        let src = g.arg(n, 0);
        let spiking = src.is_some_and(|s| match g.op(s) {
            Op::Population(pop) => pop.model.kind().is_spiking(),
            Op::Unary(UnaryFn::Heaviside) => true,
            _ => false,
        });
        let sizes = |what: &str| {
            self.invalid(
                n,
                format!(
                    "{what} {} do not match its [{rows}, {cols}] layout",
                    p.weights
                ),
            )
        };
        match (&data.pattern, p.delay) {
            (None, Delay::Const(d)) => Ok(Kernel::Dense {
                k: Dense::new(wv, rows, cols).ok_or_else(|| sizes("weights"))?,
                delay: d as usize,
                hist: None,
            }),
            (Some(pattern), Delay::Const(d)) if !spiking => Ok(Kernel::Gather {
                k: Gather::new(pattern.clone(), wv).ok_or_else(|| sizes("weights"))?,
                delay: d as usize,
                hist: None,
            }),
            (pattern, delay) => {
                let layout = match pattern {
                    Some(pattern) => Layout::Sparse(pattern.clone()),
                    None => Layout::Dense { rows, cols },
                };
                let spec = match delay {
                    Delay::Const(d) => DelaySpec::Const(d as usize),
                    Delay::PerSynapse(t) => {
                        let values = g.get_tensor(t).and_then(|tensor| tensor.data());
                        match values.map(|data| &data.values) {
                            Some(Values::I32(d)) => DelaySpec::PerSynapse(d.clone()),
                            Some(Values::F32(_)) => {
                                return Err(self.invalid(n, format!("delays {t} are not i32")));
                            }
                            None => return Err(SimError::MissingValues { tensor: t, node: n }),
                        }
                    }
                };
                let k = Scatter::new(layout, wv, spec, spiking).map_err(|message| {
                    SimError::Layout {
                        node: g.label(n),
                        message,
                    }
                })?;
                Ok(Kernel::Scatter {
                    k,
                    same_step: g.reads_same_step(n),
                })
            }
        }
    }
}
