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
    let omega = if p.leak_reversal {
        integrated.signum()
    } else {
        1
    };
    let pre = integrated + omega * leak;
    v[j] = pre.clamp(-TN_V_MAX, TN_V_MAX);
    ov.saturated += u64::from(v[j] != pre);
    let eta = st.map_or(0, |s| rng.bits(s.threshold_bits));
    let alpha = p.alpha[j] as i64 + eta;
    let beta = p.beta[j] as i64 + if p.kappa { 0 } else { eta };
    let mut spike = false;
    if v[j] >= alpha {
        spike = true;
        match p.gamma {
            0 => v[j] = p.reset_value as i64,
            1 => v[j] -= alpha,
            _ => {}
        }
    } else if v[j] < -beta {
        if p.kappa {
            v[j] = -beta;
        } else {
            match p.gamma {
                0 => v[j] = -(p.reset_value as i64),
                1 => v[j] += beta,
                _ => {}
            }
        }
    }
    (f64::from(spike), v[j] as f64)
}
