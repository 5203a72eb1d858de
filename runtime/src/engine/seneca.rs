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

/// One step of a whole `lif`, `if` or `li` group that reads only spikes,
/// in one loop (the arithmetic of [`update`]); `input(j)` is neuron j's
/// synaptic input, already bfloat16. Spikes are appended to `fired` as
/// `(first + j, 1)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn step_group(
    model: Model,
    p: &SenecaGroup,
    u: &mut [f32],
    v: &mut [f32],
    refr: &mut [u32],
    mut input: impl FnMut(usize) -> f32,
    first: usize,
    fired: &mut Vec<(usize, f64)>,
    ov: &mut Overflow,
) {
    debug_assert!(matches!(model, Model::Lif | Model::If | Model::Li));
    let f = from_bf16;
    let spiking = model != Model::Li;
    let v_min = f(p.v_min);
    let mut infinite = 0u64;
    for j in 0..v.len() {
        let x = input(j);
        let uu = bf16(bf16(f(p.alpha_syn[j]) * u[j]) + x);
        infinite += u64::from(uu.is_infinite());
        u[j] = uu;
        if refr[j] > 0 {
            refr[j] -= 1;
            continue;
        }
        let vv = bf16(bf16(bf16(f(p.alpha_mem[j]) * v[j]) + uu) + f(p.bias[j]));
        infinite += u64::from(vv.is_infinite());
        let vv = vv.max(v_min);
        let th = f(p.threshold[j]);
        if spiking && vv > th {
            v[j] = if p.reset_subtract { bf16(vv - th) } else { 0.0 };
            refr[j] = p.refractory;
            fired.push((first + j, 1.0));
        } else {
            v[j] = vv;
        }
    }
    ov.saturated += infinite;
}
