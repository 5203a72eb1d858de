//! Neuron populations: the per-step update of every model in
//! `docs/semantics.md` ("Neuron models"), elementwise over the population.
//!
//! Large populations are updated in parallel chunks; the arithmetic of each
//! neuron is the same either way, so results do not depend on threads.
//! `lif` and `if` run a branch-free loop that vectorizes, with the
//! parameters as loop constants when the population shares them.

use rayon::prelude::*;
use snn_ir::{Act, Const, Graph, Model, ModelKind, NodeId, ProbeVar, Reset};

use super::error::SimError;

/// Populations at least this large are updated in parallel.
const PAR_MIN: usize = 1 << 15;
/// Neurons per parallel task.
const CHUNK: usize = 1 << 13;

/// A real parameter: one value for the population or one per neuron.
/// `at(j)` reads `v[j · stride]` with `stride` 0 (shared) or 1.
#[derive(Clone, Debug)]
struct Param {
    v: Vec<f32>,
    stride: usize,
}

impl Param {
    fn scalar(x: f32) -> Self {
        Param {
            v: vec![x],
            stride: 0,
        }
    }

    #[inline]
    fn at(&self, j: usize) -> f32 {
        self.v[j * self.stride]
    }
}

/// Reads parameter `name` of `model` for a population of `n` neurons.
fn param(g: &Graph, node: NodeId, model: &Model, name: &str, n: usize) -> Result<Param, SimError> {
    match model.real(name) {
        Const::Scalar(x) => Ok(Param::scalar(x)),
        Const::Tensor(t) => {
            let values = g
                .get_tensor(t)
                .and_then(|tensor| tensor.f32s())
                .ok_or(SimError::MissingValues { tensor: t, node })?;
            if values.len() != n {
                return Err(SimError::TensorSize {
                    node: g.label(node),
                    tensor: t,
                    expected: n,
                    actual: values.len(),
                });
            }
            Ok(Param {
                v: values.to_vec(),
                stride: 1,
            })
        }
    }
}

/// `min(max(x, lo), hi)` (never panics, unlike `f32::clamp`).
#[inline]
fn act(a: Act, x: f32) -> f32 {
    match a {
        Act::Identity => x,
        Act::Relu => x.max(0.0),
        Act::Clamp { lo, hi } => x.max(lo).min(hi),
    }
}

/// Runs `body(offset, chunks…)` over the whole population, in parallel
/// chunks when it is large. `$a` are the mutable per-neuron arrays.
macro_rules! chunked {
    ($n:expr, |$off:ident, $($a:ident),+| $body:block) => {{
        if $n < PAR_MIN {
            let $off = 0usize;
            $(let $a = &mut $a[..];)+
            $body
        } else {
            chunked!(@zip $($a),+)
                .enumerate()
                .for_each(|(c, chunked!(@pat $($a),+))| {
                    let $off = c * CHUNK;
                    $body
                });
        }
    }};
    (@zip $a:ident) => { $a.par_chunks_mut(CHUNK) };
    (@zip $a:ident, $($rest:ident),+) => {
        chunked!(@zip $($rest),+).zip($a.par_chunks_mut(CHUNK))
    };
    (@pat $a:ident) => { $a };
    (@pat $a:ident, $($rest:ident),+) => { (chunked!(@pat $($rest),+), $a) };
}

/// `lif` (and `if`, which is `lif` without the synaptic current).
#[derive(Clone, Debug)]
struct LifParams {
    /// `false` for `if`: the current is `g · I` with no retention term.
    synapse: bool,
    alpha_syn: Param,
    alpha_mem: Param,
    threshold: Param,
    bias: Param,
    /// `if` only (0 for `lif`): the linear leak toward 0.
    leak: Param,
    gain: Param,
    v_min: Param,
    reset: Reset,
    refractory: u32,
}

#[derive(Clone, Debug)]
struct Lif {
    p: LifParams,
    i: Vec<f32>,
    v: Vec<f32>,
    /// Refractory steps left.
    r: Vec<u32>,
}

/// One neuron's `lif` parameters.
#[derive(Clone, Copy, Debug)]
struct LifAt {
    alpha_syn: f32,
    alpha_mem: f32,
    threshold: f32,
    bias: f32,
    leak: f32,
    gain: f32,
    v_min: f32,
}

impl LifParams {
    /// Neuron `j`'s parameters.
    #[inline]
    fn at(&self, j: usize) -> LifAt {
        LifAt {
            alpha_syn: self.alpha_syn.at(j),
            alpha_mem: self.alpha_mem.at(j),
            threshold: self.threshold.at(j),
            bias: self.bias.at(j),
            leak: self.leak.at(j),
            gain: self.gain.at(j),
            v_min: self.v_min.at(j),
        }
    }

    /// The parameters every neuron shares, when none is per neuron.
    fn shared(&self) -> Option<LifAt> {
        let all = [
            &self.alpha_syn,
            &self.alpha_mem,
            &self.threshold,
            &self.bias,
            &self.leak,
            &self.gain,
            &self.v_min,
        ];
        all.iter().all(|p| p.stride == 0).then(|| self.at(0))
    }
}

/// `x − leak · sgn(x)` with `sgn(0) = 0`, without branches; exactly `x`
/// when `leak` is 0.
#[inline(always)]
fn leaked(x: f32, leak: f32) -> f32 {
    let sign = i32::from(x > 0.0) - i32::from(x < 0.0);
    x - leak * sign as f32
}

/// One `lif` neuron's step (`docs/semantics.md`), written without branches
/// so that a loop over a population vectorizes; returns the spike. `SYN`:
/// the current has a retention term (`lif`, not `if`); `SUB`: reset by
/// subtraction.
#[inline(always)]
fn lif_neuron<const SYN: bool, const SUB: bool>(
    q: LifAt,
    refractory: u32,
    x: f32,
    i: &mut f32,
    v: &mut f32,
    r: &mut u32,
) -> f32 {
    let cur = if SYN {
        q.alpha_syn * *i + q.gain * x
    } else {
        q.gain * x
    };
    *i = cur;
    // During the refractory steps `v` is frozen and nothing fires; the
    // candidate `vt` is computed anyway (and dropped) to keep the loop
    // free of branches.
    let frozen = *r > 0;
    let vt = leaked(q.alpha_mem * *v + cur + q.bias, q.leak).max(q.v_min);
    let spike = !frozen & (vt > q.threshold);
    let after = if SUB { vt - q.threshold } else { 0.0 };
    *v = if frozen {
        *v
    } else if spike {
        after
    } else {
        vt
    };
    *r = if frozen {
        r.wrapping_sub(1)
    } else if spike {
        refractory
    } else {
        0
    };
    if spike { 1.0 } else { 0.0 }
}

/// Steps neurons `off .. off + s.len()`: shared parameters as constants of
/// the loop, else read per neuron (the same arithmetic either way). Built
/// for AVX2 and SSE4.1 besides the baseline (their blends make the
/// branch-free loop vectorize), picked at run time; the results are the
/// same bits on every path (no fused multiply-adds).
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+sse4.1"))]
fn lif_range<const SYN: bool, const SUB: bool>(
    p: &LifParams,
    off: usize,
    input: &[f32],
    s: &mut [f32],
    i: &mut [f32],
    v: &mut [f32],
    r: &mut [u32],
) {
    let input = &input[off..off + s.len()];
    let refractory = p.refractory;
    let neurons = s.iter_mut().zip(input).zip(i).zip(v).zip(r);
    match p.shared() {
        Some(q) => {
            for ((((s, &x), i), v), r) in neurons {
                *s = lif_neuron::<SYN, SUB>(q, refractory, x, i, v, r);
            }
        }
        None => {
            for (k, ((((s, &x), i), v), r)) in neurons.enumerate() {
                *s = lif_neuron::<SYN, SUB>(p.at(off + k), refractory, x, i, v, r);
            }
        }
    }
}

impl Lif {
    fn step(&mut self, input: &[f32], s: &mut [f32]) {
        let p = &self.p;
        let (i, v, r) = (&mut self.i, &mut self.v, &mut self.r);
        let range = match (p.synapse, p.reset) {
            (true, Reset::Zero) => lif_range::<true, false>,
            (true, Reset::Subtract) => lif_range::<true, true>,
            (false, Reset::Zero) => lif_range::<false, false>,
            (false, Reset::Subtract) => lif_range::<false, true>,
        };
        chunked!(s.len(), |off, s, i, v, r| {
            range(p, off, input, s, i, v, r);
        });
    }
}

/// `alif`: adaptive threshold, reset applied one step after the spike.
#[derive(Clone, Debug)]
struct AlifParams {
    alpha_mem: Param,
    rho: Param,
    beta: Param,
    b0: Param,
    bias: Param,
    gain: Param,
    reset: Reset,
    refractory: u32,
}

#[derive(Clone, Debug)]
struct Alif {
    p: AlifParams,
    v: Vec<f32>,
    b: Vec<f32>,
    r: Vec<u32>,
}

impl Alif {
    /// `s` holds `s[t − 1]` on entry and `s[t]` on return.
    fn step(&mut self, input: &[f32], s: &mut [f32]) {
        let p = &self.p;
        let (v, b, r) = (&mut self.v, &mut self.b, &mut self.r);
        chunked!(s.len(), |off, s, v, b, r| {
            for k in 0..s.len() {
                let j = off + k;
                let s_prev = s[k];
                let spiked = s_prev != 0.0;
                let rho = p.rho.at(j);
                b[k] = rho * b[k] + (1.0 - rho) * s_prev;
                let theta = p.b0.at(j) + p.beta.at(j) * b[k];
                if r[k] > 0 {
                    // Refractory: no leak and no input, but the reset of the
                    // spike at t − 1 still applies (see the module docs of
                    // `reference`).
                    r[k] -= 1;
                    v[k] = match p.reset {
                        Reset::Subtract => v[k] - theta * s_prev,
                        Reset::Zero if spiked => 0.0,
                        Reset::Zero => v[k],
                    };
                    s[k] = 0.0;
                    continue;
                }
                let alpha = p.alpha_mem.at(j);
                let drive = (1.0 - alpha) * (p.gain.at(j) * input[j] + p.bias.at(j));
                v[k] = match p.reset {
                    Reset::Subtract => alpha * v[k] + drive - theta * s_prev,
                    Reset::Zero => alpha * (if spiked { 0.0 } else { v[k] }) + drive,
                };
                if v[k] > theta {
                    s[k] = 1.0;
                    r[k] = p.refractory;
                } else {
                    s[k] = 0.0;
                }
            }
        });
    }
}

/// `sigma_delta`: activation, optional low-pass, thresholded change.
#[derive(Clone, Debug)]
struct SigmaDeltaParams {
    alpha: Param,
    threshold: Param,
    act: Act,
    bias: Param,
    gain: Param,
}

#[derive(Clone, Debug)]
struct SigmaDelta {
    p: SigmaDeltaParams,
    h: Vec<f32>,
}

impl SigmaDelta {
    /// `out` holds `r[t − 1]` on entry and `r[t]` on return.
    fn step(&mut self, input: &[f32], out: &mut [f32]) {
        let p = &self.p;
        let h = &mut self.h;
        chunked!(out.len(), |off, out, h| {
            for k in 0..out.len() {
                let j = off + k;
                let y = act(p.act, p.gain.at(j) * input[j] + p.bias.at(j));
                let alpha = p.alpha.at(j);
                h[k] = alpha * h[k] + (1.0 - alpha) * y;
                let d = h[k] - out[k];
                if d.abs() >= p.threshold.at(j) {
                    out[k] += d;
                }
            }
        });
    }
}

/// `li`: leaky integrator, output `v`.
#[derive(Clone, Debug)]
struct LiParams {
    alpha_syn: Param,
    alpha_mem: Param,
    bias: Param,
    leak: Param,
    gain: Param,
    v_min: Param,
}

#[derive(Clone, Debug)]
struct Li {
    p: LiParams,
    i: Vec<f32>,
    v: Vec<f32>,
}

impl Li {
    fn step(&mut self, input: &[f32], out: &mut [f32]) {
        let p = &self.p;
        let (i, v) = (&mut self.i, &mut self.v);
        chunked!(out.len(), |off, out, i, v| {
            for k in 0..out.len() {
                let j = off + k;
                i[k] = p.alpha_syn.at(j) * i[k] + p.gain.at(j) * input[j];
                let pre = p.alpha_mem.at(j) * v[k] + i[k] + p.bias.at(j);
                v[k] = leaked(pre, p.leak.at(j)).max(p.v_min.at(j));
                out[k] = v[k];
            }
        });
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Lif(Lif),
    Alif(Alif),
    SigmaDelta(SigmaDelta),
    Li(Li),
}

/// One population's parameters and state variables. Its output (spikes, or
/// the graded value) lives in the node's value buffer, which the caller
/// passes to [`Population::step`] holding the previous step's output.
#[derive(Clone, Debug)]
pub(super) struct Population {
    kind: Kind,
    /// When observing (calibration): the largest magnitudes seen so far of
    /// the population's registers and of what it sends.
    peak: Option<Peak>,
    /// When a probe reads the voltage's change over a step
    /// ([`ProbeVar::Dv`]): the voltage at the end of the last step (empty
    /// before the first, when every voltage is 0).
    mark: Option<Vec<f32>>,
}

/// The largest magnitudes a population reached: `state` over its registers
/// (summed input and bias, current, voltage or low-passed value), `sends`
/// over what its receivers hold from it (1 once a spiking neuron fired).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Peak {
    pub state: f32,
    pub sends: f32,
}

impl Population {
    /// Reads the model's parameters; every state variable starts at 0.
    pub(super) fn new(g: &Graph, node: NodeId, model: &Model, n: usize) -> Result<Self, SimError> {
        let p = |name: &str| param(g, node, model, name, n);
        let zeros = || vec![0.0f32; n];
        let kind = match model.kind() {
            ModelKind::Lif | ModelKind::If => {
                let lif = model.kind() == ModelKind::Lif;
                Kind::Lif(Lif {
                    p: LifParams {
                        synapse: lif,
                        alpha_syn: if lif {
                            p("alpha_syn")?
                        } else {
                            Param::scalar(0.0)
                        },
                        alpha_mem: if lif {
                            p("alpha_mem")?
                        } else {
                            Param::scalar(1.0)
                        },
                        threshold: p("threshold")?,
                        bias: p("bias")?,
                        leak: if lif { Param::scalar(0.0) } else { p("leak")? },
                        gain: p("gain")?,
                        v_min: p("v_min")?,
                        reset: model.reset(),
                        refractory: model.steps("refractory"),
                    },
                    i: zeros(),
                    v: zeros(),
                    r: vec![0; n],
                })
            }
            ModelKind::Alif => Kind::Alif(Alif {
                p: AlifParams {
                    alpha_mem: p("alpha_mem")?,
                    rho: p("rho")?,
                    beta: p("beta")?,
                    b0: p("b0")?,
                    bias: p("bias")?,
                    gain: p("gain")?,
                    reset: model.reset(),
                    refractory: model.steps("refractory"),
                },
                v: zeros(),
                b: zeros(),
                r: vec![0; n],
            }),
            ModelKind::SigmaDelta => Kind::SigmaDelta(SigmaDelta {
                p: SigmaDeltaParams {
                    alpha: p("alpha")?,
                    threshold: p("threshold")?,
                    act: model.act(),
                    bias: p("bias")?,
                    gain: p("gain")?,
                },
                h: zeros(),
            }),
            ModelKind::Li => Kind::Li(Li {
                p: LiParams {
                    alpha_syn: p("alpha_syn")?,
                    alpha_mem: p("alpha_mem")?,
                    bias: p("bias")?,
                    leak: p("leak")?,
                    gain: p("gain")?,
                    v_min: p("v_min")?,
                },
                i: zeros(),
                v: zeros(),
            }),
        };
        Ok(Population {
            kind,
            peak: None,
            mark: None,
        })
    }

    /// Keeps the voltage at each step's end from now on, for
    /// [`Population::change`].
    pub(super) fn mark_steps(&mut self) {
        self.mark.get_or_insert_with(Vec::new);
    }

    /// At a model step's end: keeps the voltage, if a probe reads its
    /// change.
    pub(super) fn end_step(&mut self) {
        if let (Some(mark), Kind::Li(l)) = (&mut self.mark, &self.kind) {
            mark.clear();
            mark.extend_from_slice(&l.v);
        }
    }

    /// The voltage's change since the last step's end into `out` (zeros
    /// for a model without the change).
    pub(super) fn change(&self, out: &mut [f32]) {
        match (&self.kind, &self.mark) {
            (Kind::Li(l), Some(mark)) if l.v.len() == out.len() => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = l.v[j] - mark.get(j).copied().unwrap_or(0.0);
                }
            }
            _ => out.fill(0.0),
        }
    }

    /// Starts (or stops) recording [`Peak`]s.
    pub(super) fn observe(&mut self, on: bool) {
        self.peak = on.then(|| self.peak.unwrap_or_default());
    }

    pub(super) fn peak(&self) -> Option<Peak> {
        self.peak
    }

    /// Updates the peaks after a step with input `input` and output `out`.
    fn see(&mut self, input: &[f32], out: &[f32]) {
        let Some(peak) = &mut self.peak else { return };
        let mut state = peak.state;
        let mut sends = peak.sends;
        let m = |a: f32, b: f32| if b.abs() > a { b.abs() } else { a };
        match &self.kind {
            Kind::Lif(l) => {
                let p = &l.p;
                for (j, &o) in out.iter().enumerate() {
                    state = m(state, l.i[j].abs() + p.bias.at(j).abs());
                    state = m(state, l.v[j]);
                    sends = m(sends, o);
                }
            }
            Kind::Alif(a) => {
                let p = &a.p;
                for (j, &o) in out.iter().enumerate() {
                    state = m(state, p.gain.at(j) * input[j] + p.bias.at(j));
                    state = m(state, a.v[j]);
                    sends = m(sends, o);
                }
            }
            Kind::SigmaDelta(d) => {
                let p = &d.p;
                for (j, &o) in out.iter().enumerate() {
                    state = m(state, p.gain.at(j) * input[j] + p.bias.at(j));
                    state = m(state, d.h[j]);
                    sends = m(sends, o);
                }
            }
            Kind::Li(l) => {
                for (&i, &v) in l.i.iter().zip(&l.v) {
                    state = m(state, i);
                    state = m(state, v);
                    sends = m(sends, v);
                }
            }
        }
        *peak = Peak { state, sends };
    }

    /// One step: `input` is the summed current `I[t]`, `out` the output
    /// (previous step's on entry). Both have the population's size.
    pub(super) fn step(&mut self, input: &[f32], out: &mut [f32]) {
        match &mut self.kind {
            Kind::Lif(m) => m.step(input, out),
            Kind::Alif(m) => m.step(input, out),
            Kind::SigmaDelta(m) => m.step(input, out),
            Kind::Li(m) => m.step(input, out),
        }
        self.see(input, out);
    }

    /// The state variable a probe reads, after this step's update.
    pub(super) fn var(&self, var: ProbeVar) -> Option<&[f32]> {
        match (&self.kind, var) {
            (Kind::Lif(m), ProbeVar::V) => Some(&m.v),
            (Kind::Lif(m), ProbeVar::I) => Some(&m.i),
            (Kind::Alif(m), ProbeVar::V) => Some(&m.v),
            (Kind::Alif(m), ProbeVar::B) => Some(&m.b),
            (Kind::SigmaDelta(m), ProbeVar::V) => Some(&m.h),
            (Kind::Li(m), ProbeVar::V) => Some(&m.v),
            (Kind::Li(m), ProbeVar::I) => Some(&m.i),
            _ => None,
        }
    }
}
