//! Value ranges: how large a population's registers and messages can get.
//!
//! The `range` pass bounds every population before `quantize`, which picks
//! each chip's scales and exponents from these bounds (a 24-bit Loihi
//! state, TrueNorth's 20-bit potential, bfloat16's exponent range), so that
//! nothing wraps or saturates on the chip that the float model does not.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a range comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeOrigin {
    /// Bounded for every input within the assumed input range: activation
    /// bounds, spikes, the worst case of every synapse at once, and, through
    /// recurrence, the fixed point of those bounds.
    Proven,
    /// Observed on calibration data, times the documented head-room (and
    /// never above a proven bound).
    Calibrated,
    /// No finite bound could be proven and no calibration data was given:
    /// the range is a guess (warning W0457), and the chip may wrap.
    Assumed,
}

impl RangeOrigin {
    pub fn name(self) -> &'static str {
        match self {
            RangeOrigin::Proven => "proven",
            RangeOrigin::Calibrated => "calibrated",
            RangeOrigin::Assumed => "assumed",
        }
    }

    pub fn parse(s: &str) -> Option<RangeOrigin> {
        match s {
            "proven" => Some(RangeOrigin::Proven),
            "calibrated" => Some(RangeOrigin::Calibrated),
            "assumed" => Some(RangeOrigin::Assumed),
            _ => None,
        }
    }
}

/// The largest magnitudes of one population, in float units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Every register of the population stays within `±state`: its summed
    /// input, its current, its voltage (or low-passed value), and for a
    /// spiking neuron the voltage up to one step's drive past the threshold.
    pub state: f32,
    /// What its receivers hold from it stays within `±sends`: 1 for spikes,
    /// the reconstructed value of a sigma-delta neuron, the voltage of a
    /// leaky integrator that feeds others.
    pub sends: f32,
    pub origin: RangeOrigin,
}

impl fmt::Display for Range {
    /// The text-format spelling: `(state=6.5, sends=6, proven)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(state={}, sends={}, {})",
            self.state,
            self.sends,
            self.origin.name()
        )
    }
}
