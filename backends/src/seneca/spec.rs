//! SENeCA limits and number formats. Sources: `shared/CHIPS.md`, citing
//! Tang et al. 2023 (SENeCA, Frontiers in Neuroscience) and Patiño-Saucedo
//! et al. 2024 (shared circular delay queue).

use snn_ir::chip::{Board, ChipSpec, SynapseMemory};
use snn_ir::target::{DecayFormat, DelayFormat, WeightFormat};
use snn_ir::{ModelKind, Target};

/// Data memory per core in bits: a parameter of the design; 2 Mbit is the
/// value of the public simulator's example configurations [CHIPS.md].
pub const DATA_MEMORY_BITS: u64 = 2 * 1024 * 1024;
/// Neuron processing elements per core [Tang et al. 2023, recalled: 8].
pub const NPES_PER_CORE: u32 = 8;
/// Address-event packet width on the NoC [Tang et al. 2023].
pub const EVENT_BITS: u32 = 32;
/// Largest delay of the shared circular delay queue, in steps. The queue's
/// depth is a software parameter; 64 matches the delay range used on SHD
/// by Patiño-Saucedo et al. 2024.
pub const MAX_DELAY: u32 = 64;
/// Bits of a bf16 neuron state [Tang et al. 2023: 16-bit float NPEs].
pub const STATE_BITS: u8 = 16;

/// SENeCA neurons are programs on the NPEs in bf16: every model runs, and
/// events can carry a payload.
pub static TARGET: Target = Target {
    name: "seneca",
    models: &[
        ModelKind::Lif,
        ModelKind::If,
        ModelKind::Alif,
        ModelKind::SigmaDelta,
        ModelKind::Li,
    ],
    graded_spikes: true,
    weights: WeightFormat::Bf16,
    decays: DecayFormat::Bf16,
    delays: DelayFormat {
        min: 0,
        max: MAX_DELAY,
        per_synapse: true,
        ring_budget: None,
    },
    one_sign_per_group: false,
    single_destination: false,
    state_bits: STATE_BITS,
    core_neurons: MAX_NEURONS_PER_CORE,
    core_axons: AXONS_PER_CORE,
};

/// Cores per chip: not published in what we read; a parameter of the
/// design (the NoC scales). 64 is used here.
pub const CORES_PER_CHIP: u32 = 64;
/// Bits of state per neuron: membrane, current and adaptation in bf16 plus
/// a 16-bit bookkeeping word (refractory counter, flags).
pub const NEURON_STATE_BITS: u32 = 4 * 16;
/// Bits to address a neuron within a core in a synapse entry.
pub const SYNAPSE_INDEX_BITS: u32 = 16;
/// Upper bound on neurons per core regardless of memory (16-bit index).
pub const MAX_NEURONS_PER_CORE: u32 = 1 << SYNAPSE_INDEX_BITS;
/// Axon table entries per core (16-bit source index in events).
pub const AXONS_PER_CORE: u32 = 1 << 16;
/// Systems: a parameter, chips tile on the NoC.
pub const BOARDS: &[Board] = &[];

/// The limits the placer checks.
pub static CHIP: ChipSpec = ChipSpec {
    name: "seneca",
    cores_per_chip: CORES_PER_CHIP,
    neurons_per_core: MAX_NEURONS_PER_CORE,
    input_axons_per_core: AXONS_PER_CORE,
    output_axons_per_core: AXONS_PER_CORE,
    synapses: SynapseMemory::Shared {
        bits: DATA_MEMORY_BITS,
        state_bits: NEURON_STATE_BITS,
        index_bits: SYNAPSE_INDEX_BITS,
    },
    profiles: None,
    delay_ring_budget: None,
    single_destination: false,
    // Events carry a value [CHIPS.md].
    graded_spikes: true,
    // SENeCA neurons are programs: an adaptive neuron is one.
    adaptive_compartments: 1,
    boards: BOARDS,
};

/// Energy per synaptic operation, pJ [Tang et al. 2023, Table 8: ~2.8 pJ
/// per synaptic operation overall].
pub const ENERGY_SYNAPTIC_OP_PJ: f64 = 2.8;
/// Energy per neuron update, pJ: load + 3 bf16 ops + store [Tang et al.
/// 2023, Table 8: 3.7 + 3 × 1.4 + 3.9].
pub const ENERGY_NEURON_UPDATE_PJ: f64 = 11.8;
/// Energy per event sent, pJ [Tang et al. 2023: event generation 0.5 + 1.1,
/// NoC 2 per 32-bit event].
pub const ENERGY_SPIKE_PJ: f64 = 3.6;
