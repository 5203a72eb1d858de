//! Loihi 1 limits and number formats. Sources: `shared/CHIPS.md`, which
//! cites nengo-loihi (`nengo_loihi/block.py`, `nengo_loihi/builder/
//! discretize.py`), Lava (`src/lava/proc/lif/models.py`,
//! `src/lava/utils/weightutils.py`) and Davies et al. 2018 (IEEE Micro).

use snn_ir::chip::{Board, ChipSpec, ProfileLimits, SynapseMemory};
use snn_ir::target::{DecayFormat, DelayFormat, WeightFormat};
use snn_ir::{ModelKind, Target};

/// Neurocores per chip [Davies et al. 2018].
pub const CORES_PER_CHIP: u32 = 128;
/// Compartments per core [nengo-loihi block.py, `MAX_COMPARTMENTS`].
pub const COMPARTMENTS_PER_CORE: u32 = 1024;
/// Input axons per core [nengo-loihi block.py, `MAX_IN_AXONS`].
pub const INPUT_AXONS_PER_CORE: u32 = 4096;
/// Output axons per core [nengo-loihi block.py, `MAX_OUT_AXONS`].
pub const OUTPUT_AXONS_PER_CORE: u32 = 4096;
/// Synaptic memory per core, 64-bit words [nengo-loihi block.py, `MAX_SYNAPSE_BITS / 64`].
pub const SYNAPSE_WORDS_PER_CORE: u32 = 16384;
/// Compartment profiles per core (decays, refractory) [nengo-loihi / NxSDK].
pub const COMPARTMENT_PROFILES: u32 = 32;
/// Threshold profiles per core [nengo-loihi / NxSDK].
pub const THRESHOLD_PROFILES: u32 = 8;
/// Synapse formats per core, each with one weight exponent [nengo-loihi block.py].
pub const SYNAPSE_FORMATS: u8 = 15;
/// Weight mantissa bits including the sign [Lava weightutils, nengo-loihi].
pub const WEIGHT_BITS: u8 = 8;
/// Weight exponent range: effective weight = mant · 2^(6 + exp) [Lava weightutils].
pub const WEIGHT_EXP_MIN: i8 = -8;
pub const WEIGHT_EXP_MAX: i8 = 7;
/// Decays are 12-bit: `x ← x · (4096 − d) / 4096` [Lava lif models, `du`, `dv`].
pub const DECAY_BITS: u8 = 12;
/// Largest synaptic delay in steps [nengo-loihi, NxSDK: 6 delay bits, 0..62].
pub const MAX_DELAY: u32 = 62;
/// compartments × 2^delay_bits ≤ this per core [NxSDK tutorial on delays].
pub const DELAY_RING_BUDGET: u32 = 8192;
/// Membrane and current state width in bits [Lava lif models].
pub const STATE_BITS: u8 = 24;

/// Loihi 1 runs LIF compartments; `li` is a compartment that never fires
/// and `alif` the two-compartment adaptive neuron (METHODS 4). Its spikes
/// carry no payload, so `sigma_delta` neurons, which send values, need
/// Loihi 2.
pub static TARGET: Target = Target {
    name: "loihi",
    // `alif` runs as two compartments: the soma and an auxiliary
    // compartment integrating its spikes into the threshold (METHODS 3, 4).
    models: &[
        ModelKind::Lif,
        ModelKind::If,
        ModelKind::Alif,
        ModelKind::Li,
    ],
    graded_spikes: false,
    weights: WeightFormat::LoihiMantissa {
        max_bits: WEIGHT_BITS,
        exp_min: WEIGHT_EXP_MIN,
        exp_max: WEIGHT_EXP_MAX,
        max_formats: SYNAPSE_FORMATS,
    },
    decays: DecayFormat::Fraction { bits: DECAY_BITS },
    delays: DelayFormat {
        min: 0,
        max: MAX_DELAY,
        per_synapse: true,
        ring_budget: Some(DELAY_RING_BUDGET),
    },
    one_sign_per_group: true,
    single_destination: false,
    state_bits: STATE_BITS,
    core_neurons: COMPARTMENTS_PER_CORE,
    core_axons: INPUT_AXONS_PER_CORE,
};

/// Systems of several Loihi chips [CHIPS.md, recalled; names from Intel's
/// Neuromorphic Research Community material]: Kapoho Bay (2), Wolf Mountain
/// (4), Nahuku (8 and 32), Pohoiki Beach (64), Pohoiki Springs (768).
pub const BOARDS: &[Board] = &[
    Board {
        name: "kapoho-bay",
        chips: 2,
    },
    Board {
        name: "wolf-mountain",
        chips: 4,
    },
    Board {
        name: "nahuku-8",
        chips: 8,
    },
    Board {
        name: "nahuku-32",
        chips: 32,
    },
    Board {
        name: "pohoiki-beach",
        chips: 64,
    },
    Board {
        name: "pohoiki-springs",
        chips: 768,
    },
];
/// Bits of a synapse memory word [nengo-loihi block.py].
pub const SYNAPSE_WORD_BITS: u32 = 64;
/// Synapses per group of one axon's list [CHIPS.md].
pub const SYNAPSE_GROUP: u32 = 64;
/// Header bits per synapse group [CHIPS.md].
pub const SYNAPSE_GROUP_HEADER_BITS: u32 = 10;

/// The limits the placer checks.
pub static CHIP: ChipSpec = ChipSpec {
    name: "loihi",
    cores_per_chip: CORES_PER_CHIP,
    neurons_per_core: COMPARTMENTS_PER_CORE,
    input_axons_per_core: INPUT_AXONS_PER_CORE,
    output_axons_per_core: OUTPUT_AXONS_PER_CORE,
    synapses: SynapseMemory::Groups {
        words: SYNAPSE_WORDS_PER_CORE,
        word_bits: SYNAPSE_WORD_BITS,
        group: SYNAPSE_GROUP,
        header_bits: SYNAPSE_GROUP_HEADER_BITS,
    },
    profiles: Some(ProfileLimits {
        compartment: COMPARTMENT_PROFILES,
        threshold: THRESHOLD_PROFILES,
        synapse_formats: SYNAPSE_FORMATS as u32,
    }),
    delay_ring_budget: Some(DELAY_RING_BUDGET),
    single_destination: false,
    // Loihi 1 spikes carry no payload [CHIPS.md: graded spikes are Loihi 2's].
    graded_spikes: false,
    // Loihi runs `alif` as two compartments (METHODS 3, 4: Plank et al. 2021).
    adaptive_compartments: 2,
    boards: BOARDS,
};

/// Energy per synaptic operation, pJ [SANA-FE `arch/loihi.yaml`, dense synapse].
pub const ENERGY_SYNAPTIC_OP_PJ: f64 = 35.5;
/// Energy per neuron (compartment) update, pJ [SANA-FE `arch/loihi.yaml`].
pub const ENERGY_NEURON_UPDATE_PJ: f64 = 21.6;
/// Energy per spike sent, pJ [SANA-FE `arch/loihi.yaml`, spike out].
pub const ENERGY_SPIKE_PJ: f64 = 69.3;
