//! TrueNorth limits and number formats. Sources: `shared/CHIPS.md`, citing
//! Merolla et al. 2014 (Science), Cassidy et al. 2013 (IJCNN), and the open
//! simulators RANC and NeMo.

use snn_ir::chip::{Board, ChipSpec, SynapseMemory};
use snn_ir::target::{DecayFormat, DelayFormat, WeightFormat};
use snn_ir::{ModelKind, Target};

/// Cores per chip, 64 × 64 [Merolla et al. 2014].
pub const CORES_PER_CHIP: u32 = 4096;
/// Axons (input rows) per core [Merolla et al. 2014].
pub const AXONS_PER_CORE: u32 = 256;
/// Neurons per core [Merolla et al. 2014].
pub const NEURONS_PER_CORE: u32 = 256;
/// Axon types per core [Cassidy et al. 2013].
pub const AXON_TYPES: u8 = 4;
/// Bits of each per-neuron, per-type signed weight, −255..255 [CHIPS.md, recalled].
pub const WEIGHT_BITS: u8 = 9;
/// Delay range in ticks, per neuron [RANC, NeMo].
pub const MIN_DELAY: u32 = 1;
pub const MAX_DELAY: u32 = 15;
/// Chips of an NS16e board [CHIPS.md, recalled].
pub const CHIPS_PER_NS16E: u32 = 16;
/// Membrane potential width in bits [Cassidy et al. 2013, recalled: 20-bit signed].
pub const STATE_BITS: u8 = 20;

/// TrueNorth neurons integrate with a linear leak: `if` runs natively; the
/// others are realized with rate codes or approximations.
pub static TARGET: Target = Target {
    name: "truenorth",
    models: &[ModelKind::If],
    graded_spikes: false,
    weights: WeightFormat::AxonTypes {
        types: AXON_TYPES,
        bits: WEIGHT_BITS,
    },
    decays: DecayFormat::Linear,
    delays: DelayFormat {
        min: MIN_DELAY,
        max: MAX_DELAY,
        per_synapse: false,
        ring_budget: None,
    },
    one_sign_per_group: false,
    single_destination: true,
    state_bits: STATE_BITS,
    core_neurons: NEURONS_PER_CORE,
    core_axons: AXONS_PER_CORE,
};

/// Systems [CHIPS.md, recalled]: NS1e (1 chip), NS16e (16 chips).
pub const BOARDS: &[Board] = &[Board {
    name: "ns16e",
    chips: CHIPS_PER_NS16E,
}];

/// The limits the placer checks.
pub static CHIP: ChipSpec = ChipSpec {
    name: "truenorth",
    cores_per_chip: CORES_PER_CHIP,
    neurons_per_core: NEURONS_PER_CORE,
    input_axons_per_core: AXONS_PER_CORE,
    output_axons_per_core: NEURONS_PER_CORE,
    synapses: SynapseMemory::Crossbar,
    profiles: None,
    delay_ring_budget: None,
    single_destination: true,
    // Spikes carry no payload [CHIPS.md].
    graded_spikes: false,
    // TrueNorth has no adaptive neuron (rejected by `legalize`); 1 for completeness.
    adaptive_compartments: 1,
    boards: BOARDS,
};

/// Energy per synaptic event, pJ [Merolla et al. 2014: 26 pJ at 0.775 V].
/// It is the chip's whole power divided by its synaptic events on the
/// paper's benchmark (about 65 mW for 2^20 neurons at 1 kHz, 20 Hz mean rate,
/// 128 active synapses each: 2.6·10^9 events/s, so ≈ 25 pJ each), so it
/// already pays for the neuron updates, spike routing and leakage of that
/// workload; no separate figure for them is published. It is the only
/// per-operation figure the paper gives, and summing parts of it would
/// count them twice.
pub const ENERGY_SYNAPTIC_OP_PJ: f64 = 26.0;
/// Energy per neuron update, pJ: included in [`ENERGY_SYNAPTIC_OP_PJ`]
/// (`run --stats` says so rather than print a figure).
pub const ENERGY_NEURON_UPDATE_PJ: f64 = 0.0;
/// Energy per spike sent, pJ: included in [`ENERGY_SYNAPTIC_OP_PJ`].
pub const ENERGY_SPIKE_PJ: f64 = 0.0;
