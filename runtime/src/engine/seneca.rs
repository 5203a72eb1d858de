//! SENeCA: the neuron programs in bfloat16, every operation rounded.

use super::arith::*;
use super::{Model, Overflow, State};
use crate::config::SenecaGroup;

/// A bfloat16 result, counting one that overflowed to infinity.
#[inline(always)]
fn finite_bf16(x: f32, ov: &mut Overflow) -> f32 {
    ov.saturated += u64::from(x.is_infinite());
    x
}

/// One SENeCA neuron's update; returns (what it sends, its readout state).
pub(super) fn update(
    model: Model,
    p: &SenecaGroup,
    state: &mut State,
    j: usize,
    input: f64,
    ov: &mut Overflow,
) -> (f64, f64) {
    let State::Float {
        u,
        v,
        aux,
        r,
        refr,
        last,
    } = state
    else {
        return (0.0, 0.0);
    };
    let f = from_bf16;
    let x = input as f32;
    let (a_syn, a_mem, th, b) = (
        f(p.alpha_syn[j]),
        f(p.alpha_mem[j]),
        f(p.threshold[j]),
        f(p.bias[j]),
    );
    match model {
        Model::SigmaDelta => {
            let y = finite_bf16(bf16(x + b), ov).clamp(f(p.lo), f(p.hi));
            v[j] = bf16(bf16(a_mem * v[j]) + bf16(bf16(1.0 - a_mem) * y));
            let d = bf16(v[j] - r[j]);
            if d != 0.0 && d.abs() >= th {
                r[j] = bf16(r[j] + d);
                return (d as f64, r[j] as f64);
            }
            (0.0, r[j] as f64)
        }
        Model::Alif => {
            let (rho, beta) = (f(p.rho[j]), f(p.beta[j]));
            let s_prev = if last[j] { 1.0 } else { 0.0 };
            aux[j] = bf16(bf16(rho * aux[j]) + bf16(bf16(1.0 - rho) * s_prev));
            let theta = bf16(th + bf16(beta * aux[j]));
            if refr[j] > 0 {
                refr[j] -= 1;
                last[j] = false;
                return (0.0, v[j] as f64);
            }
            let drive = bf16(bf16(1.0 - a_mem) * bf16(x + b));
            let mut vv = if !p.reset_subtract && last[j] {
                0.0
            } else {
                v[j]
            };
            vv = bf16(bf16(a_mem * vv) + drive);
            if p.reset_subtract {
                vv = bf16(vv - bf16(theta * s_prev));
            }
            v[j] = finite_bf16(vv, ov).max(f(p.v_min));
            let s = v[j] > theta;
            last[j] = s;
            if s {
                refr[j] = p.refractory;
            }
            (f64::from(s), v[j] as f64)
        }
        _ => {
            u[j] = finite_bf16(bf16(bf16(a_syn * u[j]) + x), ov);
            if refr[j] > 0 {
                refr[j] -= 1;
                return (0.0, v[j] as f64);
            }
            v[j] = finite_bf16(bf16(bf16(bf16(a_mem * v[j]) + u[j]) + b), ov).max(f(p.v_min));
            if model != Model::Li && v[j] > th {
                v[j] = if p.reset_subtract {
                    bf16(v[j] - th)
                } else {
                    0.0
                };
                refr[j] = p.refractory;
                return (1.0, v[j] as f64);
            }
            (0.0, v[j] as f64)
        }
    }
}

/// One step of a whole `lif`, `if` or `li` group that reads only spikes
/// (the arithmetic of [`update`], bit for bit): neuron j's input is
/// `spike[j]` (a bfloat16 sum), which it clears. Spikes are appended to
/// `fired` as `(first + j, 1)`; `flags` is scratch, at least a flag per
/// neuron.
#[allow(clippy::too_many_arguments)]
pub(super) fn step_group(
    model: Model,
    p: &SenecaGroup,
    u: &mut [f32],
    v: &mut [f32],
    refr: &mut [u32],
    spike: &mut [f32],
    flags: &mut [u8],
    first: usize,
    fired: &mut Vec<(usize, f64)>,
    ov: &mut Overflow,
) {
    debug_assert!(matches!(model, Model::Lif | Model::If | Model::Li));
    let n = v.len();
    let flags = &mut flags[..n];
    let k = Consts {
        spiking: model != Model::Li,
        v_min: from_bf16(p.v_min),
        subtract: p.reset_subtract,
        refractory: p.refractory,
    };
    let per = Neurons {
        alpha_syn: &p.alpha_syn[..n],
        alpha_mem: &p.alpha_mem[..n],
        threshold: &p.threshold[..n],
        bias: &p.bias[..n],
    };
    ov.saturated += u64::from(lif_loop(&k, &per, u, v, refr, &mut spike[..n], flags));
    super::push_flags(flags, first, fired);
}

/// A group's shared constants.
struct Consts {
    spiking: bool,
    v_min: f32,
    subtract: bool,
    refractory: u32,
}

/// A group's per-neuron parameters (bfloat16 bit patterns).
struct Neurons<'a> {
    alpha_syn: &'a [u16],
    alpha_mem: &'a [u16],
    threshold: &'a [u16],
    bias: &'a [u16],
}

/// The loop of [`step_group`], without branches, so that it vectorizes;
/// compiled for wider vector units too and picked at run time. Returns
/// the results that overflowed to infinity.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq",
    "x86_64+avx2",
    "x86_64+sse4.1"
))]
fn lif_loop(
    k: &Consts,
    p: &Neurons,
    u: &mut [f32],
    v: &mut [f32],
    refr: &mut [u32],
    spike: &mut [f32],
    flags: &mut [u8],
) -> u32 {
    let n = flags.len();
    let (u, v, refr, spike) = (&mut u[..n], &mut v[..n], &mut refr[..n], &mut spike[..n]);
    let (a_syn, a_mem, th, bias) = (
        &p.alpha_syn[..n],
        &p.alpha_mem[..n],
        &p.threshold[..n],
        &p.bias[..n],
    );
    let f = from_bf16;
    let mut infinite = 0u32;
    for j in 0..n {
        let x = bf16(spike[j]);
        spike[j] = 0.0;
        let uu = bf16(bf16(f(a_syn[j]) * u[j]) + x);
        infinite += uu.is_infinite() as u32;
        u[j] = uu;
        // A refractory neuron counts down and keeps its voltage.
        let active = refr[j] == 0;
        let vv = bf16(bf16(bf16(f(a_mem[j]) * v[j]) + uu) + f(bias[j]));
        infinite += (active && vv.is_infinite()) as u32;
        let vv = vv.max(k.v_min);
        let t = f(th[j]);
        let fire = k.spiking && active && vv > t;
        let reset = if k.subtract { bf16(vv - t) } else { 0.0 };
        let after = if fire { reset } else { vv };
        v[j] = if active { after } else { v[j] };
        refr[j] = if fire {
            k.refractory
        } else {
            refr[j].saturating_sub(1)
        };
        flags[j] = fire as u8;
    }
    infinite
}
