//! What a pass needs to know about a chip: its number formats and structural
//! rules. The values for each chip live in `snn-backends` (one `spec.rs` per
//! chip, every number with its source); this is only the data type, so that
//! passes do not depend on backends.

use std::fmt;

use serde::Serialize;

use crate::op::ModelKind;

/// How synaptic weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum WeightFormat {
    /// Loihi: a signed mantissa of up to `max_bits` bits (sign included) and
    /// one exponent per synapse format, `w = mant · 2^(6 + exp)`.
    LoihiMantissa {
        max_bits: u8,
        exp_min: i8,
        exp_max: i8,
        /// Synapse formats per core (each with one exponent).
        max_formats: u8,
    },
    /// TrueNorth: binary crossbar; each axon row has one of `types` types and
    /// each neuron one signed weight of `bits` bits per type.
    AxonTypes { types: u8, bits: u8 },
    /// A signed integer of `bits` bits times a per-layer scale.
    Int { bits: u8 },
    /// bfloat16.
    Bf16,
}

/// How membrane/current decays are stored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum DecayFormat {
    /// `x ← x · (2^bits − d) / 2^bits`, `d` an unsigned integer of `bits` bits.
    Fraction { bits: u8 },
    /// No multiplicative decay: a constant (linear) leak per tick.
    Linear,
    /// A bfloat16 factor.
    Bf16,
}

/// How synaptic delays are stored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DelayFormat {
    /// Smallest delay a synapse can have, in steps.
    pub min: u32,
    /// Largest delay, in steps.
    pub max: u32,
    /// Whether each synapse has its own delay (else one per source neuron).
    pub per_synapse: bool,
    /// Loihi's trade-off: compartments × 2^delay_bits ≤ this per core.
    pub ring_budget: Option<u32>,
}

/// A compilation target as the passes see it.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// `loihi`, `loihi2`, `seneca`, `truenorth`.
    pub name: &'static str,
    /// Neuron models the chip runs natively.
    pub models: &'static [ModelKind],
    /// Whether spikes carry a graded payload (sigma-delta messages).
    pub graded_spikes: bool,
    pub weights: WeightFormat,
    pub decays: DecayFormat,
    pub delays: DelayFormat,
    /// Every synapse group has one sign (Loihi's excitatory/inhibitory split).
    pub one_sign_per_group: bool,
    /// A neuron sends its spikes to exactly one place (TrueNorth).
    pub single_destination: bool,
    /// Bits of a neuron's membrane state (for saturation checks).
    pub state_bits: u8,
    /// A core's neurons and input axons (the chip spec's limits), which
    /// `legalize` needs where a neuron has one destination: it splits
    /// fan-out by the blocks of targets one core can hold.
    pub core_neurons: u32,
    pub core_axons: u32,
}

impl Target {
    pub fn supports(&self, m: ModelKind) -> bool {
        self.models.contains(&m)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}
