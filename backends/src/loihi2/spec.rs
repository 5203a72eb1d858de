//! Loihi 2 limits and number formats. Sources: `shared/CHIPS.md` (Loihi 2
//! row: Intel's Loihi 2 brief, Lava `src/lava/proc/sdn/models.py`, lava-dl
//! `netx/hdf5.py`); where Loihi 2 is not documented to differ, the Loihi 1
//! constant is used and named as such.

use snn_ir::chip::{Board, ChipSpec, ProfileLimits, SynapseMemory};
use snn_ir::target::{DecayFormat, DelayFormat, WeightFormat};
use snn_ir::{ModelKind, Target};

use crate::loihi::spec as l1;

/// Neurocores per chip [Intel Loihi 2 brief: 128 neuromorphic cores].
pub const CORES_PER_CHIP: u32 = 128;
/// Neurons per core [CHIPS.md, recalled: up to 8192].
pub const NEURONS_PER_CORE: u32 = 8192;
/// Neurons per chip [CHIPS.md, recalled: 1M].
pub const NEURONS_PER_CHIP: u32 = 1 << 20;
/// Synapses per chip [CHIPS.md, recalled: ~120M].
pub const SYNAPSES_PER_CHIP: u64 = 120_000_000;
/// Graded spike payload bits [CHIPS.md: up to 24-bit payload].
pub const SPIKE_PAYLOAD_BITS: u8 = 24;
/// Largest delay in steps [CHIPS.md: 0..63 on Loihi 2].
pub const MAX_DELAY: u32 = 63;
/// Default spike and state exponents of lava-dl netx [CHIPS.md].
pub const SPIKE_EXP: u8 = 6;
pub const STATE_EXP: u8 = 6;

/// Loihi 2 neurons are microcode programs: every model runs natively, and
/// spikes carry graded ΣΔ payloads.
pub static TARGET: Target = Target {
    name: "loihi2",
    models: &[
        ModelKind::Lif,
        ModelKind::If,
        ModelKind::Alif,
        ModelKind::SigmaDelta,
        ModelKind::Li,
    ],
    graded_spikes: true,
    weights: WeightFormat::LoihiMantissa {
        max_bits: l1::WEIGHT_BITS,
        exp_min: l1::WEIGHT_EXP_MIN,
        exp_max: l1::WEIGHT_EXP_MAX,
        max_formats: l1::SYNAPSE_FORMATS,
    },
    decays: DecayFormat::Fraction {
        bits: l1::DECAY_BITS,
    },
    delays: DelayFormat {
        min: 0,
        max: MAX_DELAY,
        per_synapse: true,
        ring_budget: Some(l1::DELAY_RING_BUDGET),
    },
    one_sign_per_group: true,
    single_destination: false,
    state_bits: l1::STATE_BITS,
    core_neurons: NEURONS_PER_CORE,
    core_axons: INPUT_AXONS_PER_CORE,
};

/// Synapse memory per core in 64-bit words, derived from the ~120M
/// synapses per chip [CHIPS.md, recalled] at 8 bits each over 128 cores:
/// 120e6 × 8 / 128 / 64 ≈ 117,188 words.
pub const SYNAPSE_WORDS_PER_CORE: u32 = 117_188;
/// Input and output axons per core: not documented in what we read; the
/// Loihi 1 figure is used.
pub const INPUT_AXONS_PER_CORE: u32 = l1::INPUT_AXONS_PER_CORE;
pub const OUTPUT_AXONS_PER_CORE: u32 = l1::OUTPUT_AXONS_PER_CORE;
/// Loihi 2 systems [recalled: Kapoho Point 8 chips, Hala Point 1152 chips].
pub const BOARDS: &[Board] = &[
    Board {
        name: "kapoho-point",
        chips: 8,
    },
    Board {
        name: "hala-point",
        chips: 1152,
    },
];

/// The limits the placer checks.
pub static CHIP: ChipSpec = ChipSpec {
    name: "loihi2",
    cores_per_chip: CORES_PER_CHIP,
    neurons_per_core: NEURONS_PER_CORE,
    input_axons_per_core: INPUT_AXONS_PER_CORE,
    output_axons_per_core: OUTPUT_AXONS_PER_CORE,
    synapses: SynapseMemory::Groups {
        words: SYNAPSE_WORDS_PER_CORE,
        word_bits: l1::SYNAPSE_WORD_BITS,
        group: l1::SYNAPSE_GROUP,
        header_bits: l1::SYNAPSE_GROUP_HEADER_BITS,
    },
    profiles: Some(ProfileLimits {
        compartment: l1::COMPARTMENT_PROFILES,
        threshold: l1::THRESHOLD_PROFILES,
        synapse_formats: l1::SYNAPSE_FORMATS as u32,
    }),
    delay_ring_budget: None,
    single_destination: false,
    // Graded spikes [CHIPS.md].
    graded_spikes: true,
    // Loihi 2 neurons are microcode programs: an adaptive neuron is one.
    adaptive_compartments: 1,
    boards: BOARDS,
};

/// Energy per synaptic operation, pJ: Loihi 1's figure [SANA-FE
/// `arch/loihi.yaml`], no published Loihi 2 table was read.
pub const ENERGY_SYNAPTIC_OP_PJ: f64 = 35.5;
/// Energy per neuron update, pJ [as Loihi 1, SANA-FE].
pub const ENERGY_NEURON_UPDATE_PJ: f64 = 21.6;
/// Energy per spike sent, pJ [as Loihi 1, SANA-FE].
pub const ENERGY_SPIKE_PJ: f64 = 69.3;
