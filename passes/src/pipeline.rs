//! The pipeline: which passes run, in which order, for each target. This is
//! the one place to read to know what `snnc compile` does to a network.

use snn_ir::Target;

use crate::manager::Pass;
use crate::{cleanup, delays, fold, legalize, quantize, range, spikes};

const FOLD: Pass = Pass {
    name: "fold",
    about: "rewrite cell algebra into neuron populations (e-graphs)",
    run: fold::fold_cells,
    required: true,
    exact: true,
};

const CLEANUP: Pass = Pass {
    name: "cleanup",
    about: "remove nodes no output depends on, and unused tensors",
    run: cleanup::remove_dead_nodes,
    required: false,
    exact: true,
};

const SPIKE_CODES: Pass = Pass {
    name: "spike_codes",
    about: "on chips without graded spikes, carry sigma-delta values as binary spike codes over K ticks a step",
    run: spikes::carry_values_as_spikes,
    required: true,
    exact: false,
};

const LEGALIZE: Pass = Pass {
    name: "legalize",
    about: "restructure for the chip: one sign per synapse group, weight-exponent groups, copy neurons",
    run: legalize::legalize,
    required: true,
    exact: true,
};

const RANGE: Pass = Pass {
    name: "range",
    about: "bound every population's registers and messages (proven, or from calibration data)",
    run: range::bound_ranges,
    required: true,
    exact: true,
};

const QUANTIZE: Pass = Pass {
    name: "quantize",
    about: "weights, biases, thresholds and decays to the chip's number formats",
    run: quantize::quantize,
    required: false,
    exact: false,
};

const DELAYS: Pass = Pass {
    name: "delays",
    about: "quantize synaptic delays to the chip's range and prune them to the top k",
    run: delays::quantize_and_prune_delays,
    required: false,
    exact: false,
};

/// The passes for `target`, in order.
pub fn pipeline(target: &Target) -> Vec<Pass> {
    match target.name {
        // Every chip runs the same stages; each stage reads the target's
        // formats and rules.
        "loihi" | "loihi2" | "seneca" | "truenorth" => {
            vec![
                FOLD,
                CLEANUP,
                SPIKE_CODES,
                LEGALIZE,
                RANGE,
                QUANTIZE,
                DELAYS,
            ]
        }
        _ => vec![FOLD, CLEANUP],
    }
}

/// The names of every pass any pipeline has, for `--help` and errors.
pub const ALL: [&str; 7] = [
    "fold",
    "cleanup",
    "spike_codes",
    "legalize",
    "range",
    "quantize",
    "delays",
];
