//! snn-backends: one module per chip. Each holds the chip's limits and
//! number formats as named constants with their sources (`spec.rs`), and the
//! [`Target`] the passes compile for.
//!
//! Invariant: every chip number used anywhere in snnc is a constant in one of
//! the `spec.rs` files, with a comment naming where it comes from.

pub mod emit;
pub mod layout;
pub mod loihi;
pub mod loihi2;
pub mod seneca;
pub mod truenorth;

use snn_ir::{ChipSpec, Target};

/// The backends, by the name `--backend` takes.
pub const NAMES: [&str; 4] = ["loihi", "loihi2", "seneca", "truenorth"];

/// The target description of backend `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    match name {
        "loihi" => Some(&loihi::TARGET),
        "loihi2" => Some(&loihi2::TARGET),
        "seneca" => Some(&seneca::TARGET),
        "truenorth" => Some(&truenorth::TARGET),
        _ => None,
    }
}

/// The chip limits of backend `name`.
pub fn chip(name: &str) -> Option<&'static ChipSpec> {
    match name {
        "loihi" => Some(&loihi::spec::CHIP),
        "loihi2" => Some(&loihi2::spec::CHIP),
        "seneca" => Some(&seneca::spec::CHIP),
        "truenorth" => Some(&truenorth::spec::CHIP),
        _ => None,
    }
}

/// The per-operation energy figures of backend `name` (its `spec.rs`).
pub fn energy(name: &str) -> Option<snn_runtime::config::Energy> {
    macro_rules! e {
        ($m:ident) => {
            snn_runtime::config::Energy {
                synaptic_op_pj: $m::spec::ENERGY_SYNAPTIC_OP_PJ,
                neuron_update_pj: $m::spec::ENERGY_NEURON_UPDATE_PJ,
                spike_pj: $m::spec::ENERGY_SPIKE_PJ,
            }
        };
    }
    match name {
        "loihi" => Some(e!(loihi)),
        "loihi2" => Some(e!(loihi2)),
        "seneca" => Some(e!(seneca)),
        "truenorth" => Some(e!(truenorth)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_a_target() {
        for n in NAMES {
            assert_eq!(target(n).map(|t| t.name), Some(n));
            assert_eq!(chip(n).map(|c| c.name), Some(n));
        }
        assert!(target("spinnaker").is_none());
    }
}
