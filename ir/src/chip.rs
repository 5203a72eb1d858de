//! What the placer needs to know about a chip: how many cores, what one core
//! holds, what a synapse costs, and how chips combine into systems. The
//! values live in `snn-backends` (`<chip>/spec.rs`, with sources).

use serde::Serialize;

/// The cost of synapses in a core's memory.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum SynapseMemory {
    /// Loihi: a core has `words` words of `word_bits` bits. Each input axon's
    /// synapses are stored in groups of at most `group` synapses, each group
    /// with a `header_bits` header; a synapse costs weight bits + delay bits
    /// + target-index bits; each axon's list is rounded up to whole words.
    Groups {
        words: u32,
        word_bits: u32,
        group: u32,
        header_bits: u32,
    },
    /// TrueNorth: a binary crossbar of every axon × every neuron of the core;
    /// any pattern fits.
    Crossbar,
    /// SENeCA: neuron states and weights share `bits` of data memory per
    /// core; a neuron costs `state_bits`, a synapse its weight bits plus
    /// `index_bits` for its target.
    Shared {
        bits: u64,
        state_bits: u32,
        index_bits: u32,
    },
}

/// Tables a core shares among its neurons (Loihi).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProfileLimits {
    /// Distinct (current decay, voltage decay, refractory) combinations.
    pub compartment: u32,
    /// Distinct thresholds.
    pub threshold: u32,
    /// Distinct synapse formats (each with one weight exponent).
    pub synapse_formats: u32,
}

/// A named system of several chips.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Board {
    pub name: &'static str,
    pub chips: u32,
}

/// Everything the placer checks, for one chip type.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ChipSpec {
    pub name: &'static str,
    pub cores_per_chip: u32,
    /// Neurons (compartments) per core, before any delay trade-off.
    pub neurons_per_core: u32,
    /// Distinct presynaptic sources a core can receive from.
    pub input_axons_per_core: u32,
    /// Distinct destinations (core, axon) a core's neurons can send to.
    pub output_axons_per_core: u32,
    pub synapses: SynapseMemory,
    pub profiles: Option<ProfileLimits>,
    /// Loihi: compartments × 2^delay_bits ≤ this per core.
    pub delay_ring_budget: Option<u32>,
    /// Each neuron sends to exactly one axon (TrueNorth).
    pub single_destination: bool,
    /// Messages between cores can carry a value (Loihi 2's graded spikes,
    /// SENeCA's events). Without it a value (a leaky integrator's voltage)
    /// reaches only a compartment on its own core.
    pub graded_spikes: bool,
    /// Compartments an adaptive (`alif`) neuron takes: 2 on Loihi (soma
    /// and adaptation compartment), 1 where neurons are programs.
    pub adaptive_compartments: u32,
    /// Systems with more than one chip, smallest first.
    pub boards: &'static [Board],
}

impl ChipSpec {
    /// Neurons a core holds when its synapses need `delay_bits` delay bits.
    pub fn neurons_with_delay_bits(&self, delay_bits: u32) -> u32 {
        match self.delay_ring_budget {
            Some(budget) => self.neurons_per_core.min(budget >> delay_bits.min(31)),
            None => self.neurons_per_core,
        }
    }

    /// The named board with at least `chips` chips, if any.
    pub fn board_for(&self, chips: u32) -> Option<&Board> {
        self.boards.iter().find(|b| b.chips >= chips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loihi_delay_tradeoff() {
        let spec = ChipSpec {
            name: "x",
            cores_per_chip: 128,
            neurons_per_core: 1024,
            input_axons_per_core: 4096,
            output_axons_per_core: 4096,
            synapses: SynapseMemory::Crossbar,
            profiles: None,
            delay_ring_budget: Some(8192),
            single_destination: false,
            graded_spikes: false,
            adaptive_compartments: 1,
            boards: &[
                Board {
                    name: "a",
                    chips: 2,
                },
                Board {
                    name: "b",
                    chips: 8,
                },
            ],
        };
        assert_eq!(spec.neurons_with_delay_bits(3), 1024);
        assert_eq!(spec.neurons_with_delay_bits(4), 512);
        assert_eq!(spec.neurons_with_delay_bits(6), 128);
        assert_eq!(spec.board_for(3).map(|b| b.name), Some("b"));
        assert_eq!(spec.board_for(9), None);
    }
}
