//! The float reference interpreter: runs a [`Graph`] step by step exactly as
//! `docs/semantics.md` specifies, in `f32`.
//!
//! ```text
//! simulate(g, inputs, T)  =  Simulator::new(g)?.run(inputs, T)
//! ```
//!
//! [`Simulator::new`] checks the graph (tensor values present, no cycle
//! without a delay, [`snn_ir::verify`]) and lays it out for execution: one
//! value buffer per node, the schedule as a flat program, a delay line for
//! every node read through a constant delay, a kernel per projection (see
//! `project.rs`), and the neuron state of every population. Each step then
//! 1. copies row `t` of every input (zeros past the last row),
//! 2. evaluates the program in [`Graph::schedule`] order,
//! 3. stores delayed values: the delay lines take the step's values, and
//!    projections without zero-delay synapses add the source's step-`t`
//!    value into their future sums,
//! 4. latches every `State` (all at once, so a state reading a state sees
//!    the value of step `t`).
//!
//! Choices where the semantics leave room:
//! - a delayed read of any node before step 0 is zero, `State`s included
//!   (a state's `init` is its value at step 0, not before);
//! - `alif` during its refractory steps: `v` neither leaks nor integrates,
//!   but the reset of the spike at `t − 1` (which the model applies one step
//!   late) still happens, so the membrane is frozen at its reset value;
//! - `sigma_delta` computes `r[t] = r[t−1] + d` literally, so with θ = 0
//!   the output equals `h[t]` up to the rounding of `r + (h − r)`;
//! - sums over synapses are accumulated in `f32` in an order that depends
//!   on the projection's kernel (see `project.rs`), never on the number of
//!   threads; results are deterministic.

mod build;
mod error;
mod io;
mod neuron;
mod project;
#[cfg(test)]
mod tests;

use std::mem;

use snn_ir::{BinaryFn, Graph, NodeId, ProbeVar, UnaryFn};

pub use error::SimError;
pub use io::{Inputs, Outputs, Recorded};
pub use neuron::Peak;

use neuron::Population;
use project::{Dense, Gather, History, Scatter};

/// Runs `g` for `steps` steps on `inputs` and returns every output's
/// recording. Steps past the inputs' last row read zeros; a network without
/// inputs takes [`Inputs::new`].
pub fn simulate(g: &Graph, inputs: &Inputs, steps: usize) -> Result<Outputs, SimError> {
    Simulator::new(g)?.run(inputs, steps)
}

/// A graph laid out for execution, with the state of every node. It owns
/// what it needs (weights are shared with the graph, not copied) and does
/// not borrow the graph.
#[derive(Clone, Debug)]
pub struct Simulator {
    /// Steps taken so far.
    t: usize,
    /// The value of every node at the current step, by slot.
    values: Vec<Vec<f32>>,
    /// Node → slot.
    slots: Vec<(NodeId, usize)>,
    /// Evaluation in schedule order.
    program: Vec<Instr>,
    inputs: Vec<InputSlot>,
    outputs: Vec<OutputSlot>,
    states: Vec<StateSlot>,
    histories: Vec<History>,
    projections: Vec<Projector>,
    populations: Vec<Population>,
    /// The node of each population, in the order of `populations`.
    population_nodes: Vec<NodeId>,
    /// When observing: the largest `|x|` each input has taken.
    input_peaks: Option<Vec<f32>>,
    /// Scratch for a population's summed input current.
    current: Vec<f32>,
    /// Ticks per model step ([`Graph::ticks_per_step`]).
    ticks: usize,
}

#[derive(Clone, Debug)]
struct InputSlot {
    node: NodeId,
    name: String,
    slot: usize,
    size: usize,
}

#[derive(Clone, Debug)]
struct OutputSlot {
    name: String,
    node: NodeId,
    slot: usize,
}

#[derive(Clone, Debug)]
struct StateSlot {
    slot: usize,
    next: usize,
    /// The value to latch, gathered before any state changes.
    pending: Vec<f32>,
}

/// How a projection gets its source values.
#[derive(Clone, Debug)]
enum Kernel {
    /// `W · src[t − delay]`, read from the current value (delay 0) or
    /// from the history at index `hist`.
    Dense {
        k: Dense,
        delay: usize,
        hist: Option<usize>,
    },
    Gather {
        k: Gather,
        delay: usize,
        hist: Option<usize>,
    },
    /// `same_step`: some synapse has delay 0, so the source is scattered
    /// when the projection is evaluated; otherwise at the end of the step.
    Scatter { k: Scatter, same_step: bool },
}

#[derive(Clone, Debug)]
struct Projector {
    src: usize,
    kernel: Kernel,
}

/// One node's evaluation; operands and results are value slots.
#[derive(Clone, Debug)]
enum Instr {
    Unary {
        f: UnaryFn,
        x: usize,
        dst: usize,
    },
    Binary {
        f: BinaryFn,
        a: usize,
        b: usize,
        dst: usize,
    },
    Clamp {
        lo: f32,
        hi: f32,
        x: usize,
        dst: usize,
    },
    Project {
        p: usize,
        dst: usize,
    },
    Population {
        p: usize,
        args: Vec<usize>,
        dst: usize,
    },
    Probe {
        p: usize,
        var: ProbeVar,
        dst: usize,
    },
    Copy {
        x: usize,
        dst: usize,
    },
}

impl Simulator {
    /// Steps taken so far (the index of the next step).
    pub fn time(&self) -> usize {
        self.t
    }

    /// The value of node `n` at the last step taken (its initial value
    /// before the first step), or `None` for a node not in the graph.
    pub fn value(&self, n: NodeId) -> Option<&[f32]> {
        let k = self.slots.binary_search_by_key(&n, |(m, _)| *m).ok()?;
        Some(&self.values[self.slots[k].1])
    }

    /// Starts (`true`) or stops recording the largest magnitudes every
    /// population's registers and messages and every input reach; see
    /// [`Simulator::peaks`]. Used to calibrate a chip's number ranges.
    pub fn observe(&mut self, on: bool) {
        for p in &mut self.populations {
            p.observe(on);
        }
        self.input_peaks = on.then(|| {
            self.input_peaks
                .take()
                .unwrap_or_else(|| vec![0.0; self.inputs.len()])
        });
    }

    /// What [`Simulator::observe`] recorded: each population's [`Peak`],
    /// and each input's largest `|x|` (as a `Peak` with `state = sends`),
    /// by node. Empty when not observing.
    pub fn peaks(&self) -> Vec<(NodeId, Peak)> {
        let mut out: Vec<(NodeId, Peak)> = self
            .population_nodes
            .iter()
            .zip(&self.populations)
            .filter_map(|(&n, p)| Some((n, p.peak()?)))
            .collect();
        if let Some(x) = &self.input_peaks {
            out.extend(
                self.inputs
                    .iter()
                    .zip(x)
                    .map(|(i, &m)| (i.node, Peak { state: m, sends: m })),
            );
        }
        out.sort_unstable_by_key(|(n, _)| *n);
        out
    }

    /// Total width of one input row: the inputs' sizes summed.
    pub fn input_width(&self) -> usize {
        self.inputs.iter().map(|i| i.size).sum()
    }

    /// Takes one model step (its ticks) with one row of the combined input
    /// array (every input's columns, in [`Graph::inputs`] order).
    pub fn step(&mut self, row: &[f32]) -> Result<(), SimError> {
        if row.len() != self.input_width() {
            return Err(SimError::InputWidth {
                expected: self.input_width(),
                actual: row.len(),
                layout: io::describe_layout(&self.input_layout()),
            });
        }
        for _ in 0..self.ticks {
            let mut at = 0;
            self.advance(|_, dst| {
                dst.copy_from_slice(&row[at..at + dst.len()]);
                at += dst.len();
            });
        }
        Ok(())
    }

    /// Ticks per model step.
    pub fn ticks_per_step(&self) -> usize {
        self.ticks
    }

    /// Runs `steps` steps from the current time; row `k` of each input array
    /// feeds the `k`-th of them (zeros past the last row). Returns the
    /// outputs of these steps.
    pub fn run(&mut self, inputs: &Inputs, steps: usize) -> Result<Outputs, SimError> {
        let bound = inputs.bind(&self.input_layout())?;
        let mut recorded: Vec<Vec<f32>> = Vec::with_capacity(self.outputs.len());
        let width: usize = self.outputs.iter().map(|o| self.values[o.slot].len()).sum();
        snn_ir::budget::check_elements(steps as u128 * width as u128, 4, || {
            format!("a recording of {steps} steps × {width} output values")
        })
        .map_err(SimError::Budget)?;
        for o in &self.outputs {
            let m = self.values[o.slot].len();
            let mut rec = Vec::new();
            let fits = steps
                .checked_mul(m)
                .is_some_and(|len| rec.try_reserve_exact(len).is_ok());
            if !fits {
                return Err(SimError::Layout {
                    node: format!("output `{}`", o.name),
                    message: format!(
                        "a recording of {steps} steps × {m} values does not fit in memory"
                    ),
                });
            }
            recorded.push(rec);
        }
        for k in 0..steps {
            // A model step is `ticks` ticks with the same row; outputs are
            // read at its last.
            for _ in 0..self.ticks {
                self.advance(|i, dst| fill_row(inputs.array(bound[i]), k, dst));
            }
            for (o, rec) in self.outputs.iter().zip(&mut recorded) {
                rec.extend_from_slice(&self.values[o.slot]);
            }
        }
        let recorded = self
            .outputs
            .iter()
            .zip(recorded)
            .map(|(o, rec)| {
                let m = self.values[o.slot].len();
                // Invariant: one row of `m` values was pushed per step.
                let values =
                    ndarray::Array2::from_shape_vec((steps, m), rec).expect("one row per step");
                Recorded {
                    name: o.name.clone(),
                    node: o.node,
                    values,
                }
            })
            .collect();
        Ok(Outputs { steps, recorded })
    }

    /// Runs `steps` steps like [`Simulator::run`] and returns, for each node
    /// of `nodes`, the share of ticks on which each of its elements was
    /// non-zero: the firing rate of a spiking population, the message rate
    /// of a sigma-delta one. Used to estimate spike traffic for placement.
    pub fn activity(
        &mut self,
        inputs: &Inputs,
        steps: usize,
        nodes: &[NodeId],
    ) -> Result<Vec<Vec<f32>>, SimError> {
        let bound = inputs.bind(&self.input_layout())?;
        let slots: Vec<Option<usize>> = nodes
            .iter()
            .map(|&n| {
                self.slots
                    .binary_search_by_key(&n, |(m, _)| *m)
                    .ok()
                    .map(|k| self.slots[k].1)
            })
            .collect();
        let mut counts: Vec<Vec<u32>> = slots
            .iter()
            .map(|s| vec![0; s.map_or(0, |s| self.values[s].len())])
            .collect();
        let ticks = self.ticks;
        for k in 0..steps * ticks {
            self.advance(|i, dst| fill_row(inputs.array(bound[i]), k / ticks, dst));
            for (s, c) in slots.iter().zip(&mut counts) {
                if let Some(s) = s {
                    for (c, v) in c.iter_mut().zip(&self.values[*s]) {
                        *c += u32::from(*v != 0.0);
                    }
                }
            }
        }
        let n = (steps * self.ticks).max(1) as f32;
        Ok(counts
            .into_iter()
            .map(|c| c.into_iter().map(|c| c as f32 / n).collect())
            .collect())
    }

    fn input_layout(&self) -> Vec<(String, usize)> {
        self.inputs
            .iter()
            .map(|i| (i.name.clone(), i.size))
            .collect()
    }

    /// One step; `fill(i, buffer)` writes input `i`'s row.
    fn advance(&mut self, mut fill: impl FnMut(usize, &mut [f32])) {
        let Simulator {
            t,
            values,
            program,
            inputs,
            states,
            histories,
            projections,
            populations,
            current,
            ..
        } = self;
        let t = *t;
        for (i, input) in inputs.iter().enumerate() {
            fill(i, &mut values[input.slot]);
            if let Some(peaks) = &mut self.input_peaks {
                for &x in &values[input.slot] {
                    if x.abs() > peaks[i] {
                        peaks[i] = x.abs();
                    }
                }
            }
        }
        for instr in program.iter() {
            exec(
                instr,
                t,
                values,
                histories,
                projections,
                populations,
                current,
            );
        }
        // End of step: delay lines, delayed scatters, then states.
        for h in histories.iter_mut() {
            h.push(t, &values[h.node]);
        }
        for p in projections.iter_mut() {
            if let Kernel::Scatter {
                k,
                same_step: false,
            } = &mut p.kernel
            {
                k.scatter(&values[p.src], t);
            }
        }
        for s in states.iter_mut() {
            let next = &values[s.next];
            if next.len() == s.pending.len() {
                s.pending.copy_from_slice(next);
            } else {
                // A scalar operand of a vector state is broadcast.
                s.pending.fill(next.first().copied().unwrap_or(0.0));
            }
        }
        for s in states.iter_mut() {
            mem::swap(&mut values[s.slot], &mut s.pending);
        }
        // The last tick of a model step.
        if (t + 1) % self.ticks.max(1) == 0 {
            for p in populations.iter_mut() {
                p.end_step();
            }
        }
        self.t += 1;
    }
}

/// Row `k` of `a` into `dst`, zeros past its last row.
fn fill_row(a: &ndarray::Array2<f32>, k: usize, dst: &mut [f32]) {
    if k < a.nrows() {
        for (d, v) in dst.iter_mut().zip(a.row(k)) {
            *d = *v;
        }
    } else {
        dst.fill(0.0);
    }
}

/// Evaluates one node at step `t`.
fn exec(
    instr: &Instr,
    t: usize,
    values: &mut [Vec<f32>],
    histories: &[History],
    projections: &mut [Projector],
    populations: &mut [Population],
    current: &mut [f32],
) {
    let dst = match *instr {
        Instr::Unary { dst, .. }
        | Instr::Binary { dst, .. }
        | Instr::Clamp { dst, .. }
        | Instr::Project { dst, .. }
        | Instr::Population { dst, .. }
        | Instr::Probe { dst, .. }
        | Instr::Copy { dst, .. } => dst,
    };
    // The node's own buffer is taken out while it is computed; no node reads
    // itself in the same step (that would be a cycle without a delay).
    let mut out = mem::take(&mut values[dst]);
    let vals: &[Vec<f32>] = values;
    match *instr {
        Instr::Unary { f, x, .. } => unary(f, &vals[x], &mut out),
        Instr::Binary { f, a, b, .. } => binary(f, &vals[a], &vals[b], &mut out),
        Instr::Clamp { lo, hi, x, .. } => map1(&mut out, &vals[x], |v| v.max(lo).min(hi)),
        Instr::Project { p, .. } => {
            let p = &mut projections[p];
            let src = &vals[p.src];
            match &mut p.kernel {
                Kernel::Dense { k, delay, hist } => {
                    k.apply(delayed(src, histories, *hist, t, *delay), &mut out)
                }
                Kernel::Gather { k, delay, hist } => {
                    k.apply(delayed(src, histories, *hist, t, *delay), &mut out)
                }
                Kernel::Scatter { k, same_step: true } => k.scatter_take(src, t, &mut out),
                Kernel::Scatter { k, .. } => k.take(t, &mut out),
            }
        }
        Instr::Population { p, ref args, .. } => {
            let n = out.len();
            let input: &[f32] = match args.as_slice() {
                [a] => &vals[*a],
                _ => {
                    let sum = &mut current[..n];
                    sum.fill(0.0);
                    for a in args {
                        for (s, v) in sum.iter_mut().zip(&vals[*a]) {
                            *s += *v;
                        }
                    }
                    sum
                }
            };
            if input.len() == n {
                populations[p].step(input, &mut out);
            }
        }
        Instr::Probe {
            p,
            var: ProbeVar::Dv,
            ..
        } => populations[p].change(&mut out),
        Instr::Probe { p, var, .. } => match populations[p].var(var) {
            Some(v) if v.len() == out.len() => out.copy_from_slice(v),
            _ => out.fill(0.0),
        },
        Instr::Copy { x, .. } => map1(&mut out, &vals[x], |v| v),
    }
    values[dst] = out;
}

/// The source of a delayed read: the current value for delay 0, else the
/// delay line (which the builder made for every delayed read).
fn delayed<'a>(
    src: &'a [f32],
    histories: &'a [History],
    hist: Option<usize>,
    t: usize,
    delay: usize,
) -> &'a [f32] {
    match hist {
        Some(h) if delay > 0 => histories[h].at(t, delay),
        _ => src,
    }
}

/// `out_i = f(x_i)`.
#[inline]
fn map1(out: &mut [f32], x: &[f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `out_i = f(a_i, b_i)`, a one-element operand broadcast.
#[inline]
fn map2(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    match (a, b) {
        (&[a0], b) if b.len() == out.len() => map1(out, b, |v| f(a0, v)),
        (a, &[b0]) => map1(out, a, |v| f(v, b0)),
        _ => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
    }
}

fn unary(f: UnaryFn, x: &[f32], out: &mut [f32]) {
    match f {
        UnaryFn::Neg => map1(out, x, |v| -v),
        UnaryFn::Relu => map1(out, x, |v| v.max(0.0)),
        UnaryFn::Tanh => map1(out, x, f32::tanh),
        UnaryFn::Sigmoid => map1(out, x, |v| 1.0 / (1.0 + (-v).exp())),
        UnaryFn::Exp => map1(out, x, f32::exp),
        UnaryFn::Heaviside => map1(out, x, |v| if v > 0.0 { 1.0 } else { 0.0 }),
    }
}

fn binary(f: BinaryFn, a: &[f32], b: &[f32], out: &mut [f32]) {
    match f {
        BinaryFn::Add => map2(out, a, b, |x, y| x + y),
        BinaryFn::Sub => map2(out, a, b, |x, y| x - y),
        BinaryFn::Mul => map2(out, a, b, |x, y| x * y),
        BinaryFn::Div => map2(out, a, b, |x, y| x / y),
    }
}
