//! What running a configuration on the [`Engine`](crate::engine::Engine)
//! takes in memory, checked against the budget ([`snn_ir::budget`]) before
//! the engine is built or run.

use snn_ir::budget::{self, BudgetError};

use crate::config::Config;

/// Bytes the engine keeps per neuron besides its ring buffers: its voltage,
/// accumulated input, output scale, group index, the group's state and
/// the per-source fan-out tables (at most twelve 8-byte numbers).
const PER_NEURON: u128 = 96;
/// Bytes per ring-buffer slot of a neuron: a spike and a graded sum.
const PER_SLOT: u128 = 16;
/// Bytes per synapse of the engine's fan-out lists and effective weights.
const PER_SYNAPSE: u128 = 40;
/// Bytes per recorded row of one output besides its values (a `Vec`).
const PER_ROW: u128 = 24;

/// The engine's memory for `config` (an upper bound).
pub fn engine_bytes(config: &Config) -> u128 {
    let mut neurons: u128 = 0;
    let mut synapses: u128 = 0;
    let mut slots: u128 = 1;
    for (core, syn) in &config.cores {
        neurons += u128::from(core.neurons);
        synapses += syn.target.len() as u128;
        let longest = syn.delay.iter().copied().max().unwrap_or(0);
        slots = slots.max(u128::from(longest) + 1);
    }
    let channels: u128 = config
        .manifest
        .inputs
        .iter()
        .map(|i| u128::from(i.size))
        .sum();
    neurons * (PER_NEURON + PER_SLOT * slots) + channels * PER_NEURON + synapses * PER_SYNAPSE
}

/// The recording of `steps` steps of every output (one row a step each).
pub fn recording_bytes(config: &Config, steps: usize) -> u128 {
    config
        .manifest
        .outputs
        .iter()
        .map(|o| (steps as u128) * (PER_ROW + 4 * o.neurons.len() as u128))
        .sum()
}

/// Checks that building the engine for `config` and recording `steps`
/// steps of its outputs fit in the memory budget.
pub fn check(config: &Config, steps: usize) -> Result<(), BudgetError> {
    budget::check(engine_bytes(config), || {
        "the runtime's neurons and synapses".to_string()
    })?;
    budget::check(recording_bytes(config, steps), || {
        format!("recording {steps} steps of the outputs")
    })
}
