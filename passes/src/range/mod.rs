//! `range`: bounds every population's registers and messages, so that
//! `quantize` can pick each chip's scales from them and nothing wraps.
//!
//! Each population gets a [`Range`] (`state`: every register within it;
//! `sends`: what receivers hold from it), recorded in the graph. Where the
//! bounds come from:
//!
//! 1. **Proven** ([`bounds`]): activation bounds, spikes, the worst case of
//!    every synapse at once, biases, leaks, and the fixed point of those
//!    bounds through recurrence — for inputs within `±1` (the convention
//!    the chips' input encoders share), or within the largest `|x|` of the
//!    calibration data when there is some.
//! 2. **Calibrated** (`--calibrate DATA.npz`): the driver runs the float
//!    model of this very graph on the data and reports the largest
//!    magnitudes each population reached; the range is that times
//!    [`HEADROOM`], and never above a proven bound. Every population's
//!    range then comes from the data.
//! 3. **Observed, where nothing is proven.** Without `--calibrate`, a
//!    population with no finite proven bound (a ReLU recurrence whose gain
//!    can exceed 1, an integrator without leak) takes the largest magnitude
//!    it reached on the model's own sample input (`input.npy` or `--input`)
//!    times [`HEADROOM`], with warning W0456; without any input, the bound of
//!    a single step (W0457). Either way the runtime counts what wraps.
//!
//! Report: the table `value ranges` (per population: the range, what it
//! sends, where the range comes from, the proven bound and the observed
//! maximum) and the counters `populations bounded`, `ranges from
//! calibration`, `ranges observed on the sample input`, `ranges assumed`.

pub mod bounds;

use std::sync::Arc;

use snn_ir::{Graph, NodeId, Range, RangeOrigin};

use crate::manager::{Failed, PassCx, PassDiag, Table};
use bounds::{Bound, Net, Source};

/// Calibrated ranges are the observed maximum times this (one bit).
pub const HEADROOM: f64 = 2.0;

/// The largest magnitudes a population reached on some data: over its
/// registers (`state`) and over what it sends (`sends`). For an input node,
/// both are its largest `|x|`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observed {
    pub state: f32,
    pub sends: f32,
}

/// Runs the float model of a graph on the data and returns every
/// population's (and input's) [`Observed`], by node.
pub type ObserveFn = dyn Fn(&Graph) -> Result<Vec<(NodeId, Observed)>, String> + Send + Sync;

/// Data to observe a graph on: the driver's bridge to the float reference.
#[derive(Clone)]
pub struct Calibration {
    /// What the data is, for messages: `calib.npz (100 samples)`.
    pub source: String,
    /// `true` for `--calibrate`: every range comes from the data. `false`
    /// for the model's own sample input: used only where no bound is
    /// proven.
    pub explicit: bool,
    pub observe: Arc<ObserveFn>,
}

impl std::fmt::Debug for Calibration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calibration")
            .field("source", &self.source)
            .field("explicit", &self.explicit)
            .finish_non_exhaustive()
    }
}

/// A bound for messages: `6`, `2.5e3`, `unbounded`.
fn show(x: f64) -> String {
    if x.is_infinite() {
        "unbounded".into()
    } else {
        format!("{}", x as f32)
    }
}

/// Why a population has no finite proven bound, for W0456/W0457.
fn why_unbounded(g: &Graph, net: &Net, k: usize, proven: &[Bound]) -> String {
    let p = &net.pops[k];
    let upstream = p.inputs.iter().find_map(|(s, _)| match *s {
        Source::Pop(j) if j != k && proven[j].sends.is_infinite() => Some(j),
        _ => None,
    });
    if let Some(j) = upstream {
        return format!("its input from {} has none", g.label(net.pops[j].node));
    }
    if p.inputs.iter().any(|(s, _)| *s == Source::Pop(k)) {
        "its recurrent gain (the largest row sum of |weights| through itself) can reach 1 or more"
            .into()
    } else if p.inputs.iter().any(|(s, _)| *s == Source::Other) {
        "it reads a value the analysis does not bound".into()
    } else {
        "it integrates its input without a leak".into()
    }
}

/// One population's range as chosen, with what the report shows of it.
pub(crate) struct Chosen {
    pub node: NodeId,
    pub range: Range,
    /// The proven bound of its registers (∞ when none).
    pub proven: f64,
    pub observed: Option<Observed>,
    /// W0456 or W0457 when nothing bounds it.
    pub warning: Option<PassDiag>,
}

/// Chooses every population's range (see the module docs); E0458 if the
/// calibration data cannot run. Records nothing in the graph.
pub(crate) fn choose(g: &Graph, cx: &mut PassCx) -> Result<Vec<Chosen>, Failed> {
    // The bounds hold four values a neuron (bias, two retentions, floor)
    // and one per incoming projection, as f64.
    let (mut values, mut neurons) = (0u128, 0u128);
    for pop in g.populations() {
        let n = g.shape(pop).len() as u128;
        let inputs = g.args(pop).len() as u128;
        neurons = neurons.saturating_add(n);
        values = values.saturating_add(n.saturating_mul(4 + inputs));
    }
    if let Err(e) = snn_ir::budget::check_elements(values, 8, || {
        format!("the range analysis of {} neurons", neurons)
    }) {
        cx.error(PassDiag::error("E0206", e.to_string()));
        return Err(Failed);
    }
    let net = Net::of(g, cx.target.decays);
    if net.pops.is_empty() {
        return Ok(Vec::new());
    }
    let observed: Option<(Vec<(NodeId, Observed)>, &Calibration)> = match &cx.options.calibration {
        Some(c) => match (c.observe)(g) {
            Ok(o) => Some((o, c)),
            Err(e) => {
                cx.error(
                        PassDiag::error(
                            "E0458",
                            format!("cannot run the calibration data {}: {e}", c.source),
                        )
                        .help("calibration data is an .npz with `inputs` [S, T, N], the format of `compare --dataset`"),
                    );
                return Err(Failed);
            }
        },
        None => None,
    };
    let seen = |n: NodeId| -> Option<Observed> {
        let (o, _) = observed.as_ref()?;
        o.binary_search_by_key(&n, |(m, _)| *m).ok().map(|i| o[i].1)
    };
    let explicit = observed.as_ref().is_some_and(|(_, c)| c.explicit);
    // Inputs: ±1 by convention, or what the calibration data holds.
    let input = |n: NodeId| -> f64 {
        match seen(n) {
            Some(o) if explicit => o.sends as f64,
            _ => 1.0,
        }
    };
    let proven = bounds::proven(&net, &input);
    // Without any data, a population without a bound takes the bound of
    // one step from rest, its unbounded sources counting as sending 1.
    let one_step: Vec<Bound> = net
        .pops
        .iter()
        .map(|p| {
            let finite = |b: f64| if b.is_finite() { b } else { 1.0 };
            let send = |s: Source| match s {
                Source::Input(n) => input(n),
                Source::Pop(j) => finite(proven[j].sends),
                Source::Other => 1.0,
            };
            let b = p.one_step(&send);
            Bound {
                state: finite(b.state),
                sends: finite(b.sends),
            }
        })
        .collect();
    let mut out = Vec::with_capacity(net.pops.len());
    for (k, p) in net.pops.iter().enumerate() {
        let b = proven[k];
        let obs = seen(p.node);
        let scaled = obs.map(|o| Bound {
            state: o.state as f64 * HEADROOM,
            sends: o.sends as f64 * HEADROOM,
        });
        let unbounded = !(b.state.is_finite() && b.sends.is_finite());
        let range = match scaled {
            Some(o) if explicit => {
                // Never wider than proven; the threshold always fits.
                let floor = p.bound(&|_| 0.0).state;
                let floor = if floor.is_finite() { floor } else { 0.0 };
                let sends = o.sends.min(b.sends);
                let state = o.state.max(floor).max(sends).min(b.state);
                let origin = if state < b.state || sends < b.sends {
                    RangeOrigin::Calibrated
                } else {
                    RangeOrigin::Proven
                };
                (Bound { state, sends }, origin, None)
            }
            _ if !unbounded => (b, RangeOrigin::Proven, None),
            Some(o) => {
                // What the population reaches with no input (its threshold,
                // its bias's steady state), unless that grows without end
                // (a bias integrated without a leak): then what was seen.
                let floor = p.bound(&|_| 0.0).state;
                let floor = if floor.is_finite() { floor } else { 0.0 };
                let state = o.state.max(floor).max(o.sends);
                let c = observed
                    .as_ref()
                    .map(|(_, c)| c.source.as_str())
                    .unwrap_or("");
                let w = PassDiag::warning(
                        "W0456",
                        format!(
                            "no finite bound can be proven for {}: {}; its range is set from {c}, where it reached {}, times a head-room of {HEADROOM}",
                            g.label(p.node),
                            why_unbounded(g, &net, k, &proven),
                            obs.map_or(0.0, |o| o.state)
                        ),
                    )
                    .at(g.span(p.node), "this population")
                    .note(format!(
                        "beyond ±{} its values wrap or saturate on the chip (the runtime counts them)",
                        state as f32
                    ))
                    .help("give --calibrate DATA.npz with typical inputs, or bound the activation (clamp)");
                (
                    Bound {
                        state,
                        sends: o.sends,
                    },
                    RangeOrigin::Assumed,
                    Some(w),
                )
            }
            None => {
                let a = one_step[k];
                let w = PassDiag::warning(
                        "W0457",
                        format!(
                            "no finite bound can be proven for {}: {}; with no data to observe, its range is assumed ±{} (one step of input); it may wrap on the chip",
                            g.label(p.node),
                            why_unbounded(g, &net, k, &proven),
                            a.state as f32
                        ),
                    )
                    .at(g.span(p.node), "this population")
                    .help("give --calibrate DATA.npz with typical inputs (or --input), or bound the activation (clamp)");
                (a, RangeOrigin::Assumed, Some(w))
            }
        };
        let (range, origin, warning) = range;
        out.push(Chosen {
            node: p.node,
            range: Range {
                state: range.state as f32,
                sends: range.sends as f32,
                origin,
            },
            proven: b.state,
            observed: obs,
            warning,
        });
    }
    Ok(out)
}

/// The pass: chooses every population's range, records it, reports.
pub fn bound_ranges(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let chosen = choose(g, cx)?;
    if chosen.is_empty() {
        return Ok(());
    }
    let mut table = Table::new(
        "value ranges",
        &[
            "population",
            "range",
            "sends",
            "from",
            "proven bound",
            "observed max",
        ],
    );
    let (mut from_data, mut from_sample, mut assumed) = (0u64, 0u64, 0u64);
    for c in &chosen {
        match (c.range.origin, c.warning.as_ref().map(|w| w.code)) {
            (RangeOrigin::Calibrated, _) => from_data += 1,
            (RangeOrigin::Assumed, Some("W0456")) => from_sample += 1,
            (RangeOrigin::Assumed, _) => assumed += 1,
            _ => {}
        }
        if let Some(w) = &c.warning {
            cx.warn(w.clone());
        }
        table.row(vec![
            g.label(c.node),
            show(c.range.state as f64),
            show(c.range.sends as f64),
            c.range.origin.name().into(),
            show(c.proven),
            c.observed.map_or("-".into(), |o| format!("{}", o.state)),
        ]);
        g.set_range(c.node, c.range);
    }
    cx.report.count("populations bounded", chosen.len() as u64);
    cx.report.count("ranges from calibration", from_data);
    cx.report
        .count("ranges observed on the sample input", from_sample);
    cx.report.count("ranges assumed", assumed);
    cx.report.tables.push(table);
    Ok(())
}
