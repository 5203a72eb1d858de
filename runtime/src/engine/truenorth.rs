//! TrueNorth: the neuron of Cassidy et al. (2013) in 20-bit integers, with
//! its stochastic modes.

use super::arith::Rng;
use super::{Overflow, State};
use crate::config::TrueNorthGroup;

/// TrueNorth's membrane potential: 20 bits, signed [`backends/src/truenorth/spec.rs`].
pub(super) const TN_V_MAX: i64 = (1 << 19) - 1;

/// One TrueNorth neuron's tick; returns (whether it spiked, its potential).
pub(super) fn update(
    p: &TrueNorthGroup,
    state: &mut State,
    rng: &mut Rng,
    j: usize,
    input: f64,
    ov: &mut Overflow,
) -> (f64, f64) {
    let State::Int { v, .. } = state else {
        return (0.0, 0.0);
    };
    // Synaptic integration (the input is Σ s[G], stochastic ones
    // drawn at delivery), leak, threshold. Draws, in this order:
    // the leak's ρ (stochastic leak), then η (threshold mask).
    let st = p.stochastic.as_ref();
    let integrated = v[j] + input.round() as i64;
    let leak = match st {
        Some(s) if s.leak => rng.bernoulli_sign(p.leak[j] as i64),
        _ => p.leak[j] as i64,
    };
    let eta = st.map_or(0, |s| rng.bits(s.threshold_bits));
    let mut saturated = 0;
    let spike = neuron(p, &mut v[j], j, integrated, leak, eta, &mut saturated);
    ov.saturated += saturated;
    (f64::from(spike), v[j] as f64)
}

/// Neuron `j` after its synaptic input (`integrated`): the leak (times
/// `sgn(V)` with reversal), the 20-bit clamp, the thresholds `α + η` and
/// `−β` (`+ η` unless κ) and the reset; returns whether it spiked.
#[inline(always)]
fn neuron(
    p: &TrueNorthGroup,
    v: &mut i64,
    j: usize,
    integrated: i64,
    leak: i64,
    eta: i64,
    saturated: &mut u64,
) -> bool {
    let omega = if p.leak_reversal {
        integrated.signum()
    } else {
        1
    };
    let pre = integrated + omega * leak;
    *v = pre.clamp(-TN_V_MAX, TN_V_MAX);
    *saturated += u64::from(*v != pre);
    let alpha = p.alpha[j] as i64 + eta;
    let beta = p.beta[j] as i64 + if p.kappa { 0 } else { eta };
    if *v >= alpha {
        match p.gamma {
            0 => *v = p.reset_value as i64,
            1 => *v -= alpha,
            _ => {}
        }
        return true;
    }
    if *v < -beta {
        if p.kappa {
            *v = -beta;
        } else {
            match p.gamma {
                0 => *v = -(p.reset_value as i64),
                1 => *v += beta,
                _ => {}
            }
        }
    }
    false
}

/// One tick of a whole group without stochastic modes, in one loop (the
/// arithmetic of [`update`]); `input(j)` is neuron j's synaptic input.
/// Spikes are appended to `fired` as `(first + j, 1)`.
pub(super) fn step_group(
    p: &TrueNorthGroup,
    v: &mut [i64],
    mut input: impl FnMut(usize) -> i64,
    first: usize,
    fired: &mut Vec<(usize, f64)>,
    ov: &mut Overflow,
) {
    debug_assert!(p.stochastic.is_none());
    let mut saturated = 0;
    for (j, vj) in v.iter_mut().enumerate() {
        let integrated = *vj + input(j);
        if neuron(p, vj, j, integrated, p.leak[j] as i64, 0, &mut saturated) {
            fired.push((first + j, 1.0));
        }
    }
    ov.saturated += saturated;
}
