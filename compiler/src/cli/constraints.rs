//! `snnc constraints --backend B`: the rules a chip imposes on a network,
//! for a training script to train against (weight levels, fan-in, value
//! ranges, activity levels, delays). Every figure comes from the chip's
//! `spec.rs` constants and the passes' own choices, so what is printed is
//! what `compile` enforces.

use serde::Serialize;
use snn_ir::target::{DecayFormat, WeightFormat};

use super::Outcome;
use crate::driver::Report;

#[derive(clap::Args)]
pub struct Args {
    /// The chip: loihi, loihi2, seneca or truenorth.
    #[arg(long, value_name = "CHIP")]
    pub backend: String,
    /// Ticks per model step where the chip carries values as spike counts
    /// or binary sigma-delta spikes (loihi, truenorth); it sets the number
    /// of activity levels.
    #[arg(long, value_name = "K")]
    pub ticks_per_step: Option<u32>,
    /// Print JSON (one object of named rules) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One rule: a name a script can key on, its value, and what it means.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub name: &'static str,
    pub value: serde_json::Value,
    pub meaning: String,
}

fn rule(
    name: &'static str,
    value: impl Into<serde_json::Value>,
    meaning: impl Into<String>,
) -> Rule {
    Rule {
        name,
        value: value.into(),
        meaning: meaning.into(),
    }
}

/// The rules of backend `name` (`None`: no such backend).
pub fn rules(name: &str, ticks: Option<u32>) -> Option<Vec<Rule>> {
    let target = snn_backends::target(name)?;
    let chip = snn_backends::chip(name)?;
    let k = ticks.unwrap_or(snn_passes::spikes::DEFAULT_TICKS);
    let mut r = vec![
        rule(
            "neurons_per_core",
            chip.neurons_per_core,
            "neurons (compartments) one core holds",
        ),
        rule(
            "input_axons_per_core",
            chip.input_axons_per_core,
            "distinct source neurons a core can receive from",
        ),
        rule("cores_per_chip", chip.cores_per_chip, "cores on one chip"),
        rule(
            "state_bits",
            target.state_bits,
            "bits of a neuron's state; values beyond the range set from its bound wrap or saturate",
        ),
        rule(
            "delay_ticks",
            serde_json::json!([target.delays.min, target.delays.max]),
            if target.delays.per_synapse {
                "synaptic delay per synapse, in ticks"
            } else {
                "synaptic delay, one per source neuron, in ticks"
            },
        ),
    ];
    match target.weights {
        WeightFormat::LoihiMantissa {
            max_bits,
            exp_min,
            exp_max,
            max_formats,
        } => {
            r.push(rule(
                "weight_levels",
                1u32 << max_bits,
                format!(
                    "a weight is a {max_bits}-bit signed mantissa times 2^(6 + e), one exponent e ∈ {exp_min}..{exp_max} per projection: train with {} levels per projection, symmetric about 0",
                    1u32 << max_bits
                ),
            ));
            r.push(rule(
                "synapse_formats_per_core",
                max_formats,
                "weight formats (bits and exponent) one core holds",
            ));
        }
        WeightFormat::AxonTypes { types, bits } => {
            let levels = 1u32 << types;
            r.push(rule(
                "weight_levels",
                levels,
                format!(
                    "per neuron: w = n · c, n ∈ −{}..{}, one scale c per neuron (row of all its incoming weights together); each input is repeated on {types} axons of types weighted {{1, 2, 4, −8}}·c (--weight-bits b below 4: 2^b levels on b types)",
                    levels / 2,
                    levels / 2 - 1
                ),
            ));
            r.push(rule(
                "type_weight_bits",
                bits,
                "bits of each signed per-neuron, per-type weight",
            ));
            r.push(rule(
                "fan_in",
                chip.input_axons_per_core / u32::from(types),
                format!(
                    "distinct source neurons per neuron: {} axons over {types} copies of each input",
                    chip.input_axons_per_core
                ),
            ));
        }
        WeightFormat::Int { bits } => r.push(rule(
            "weight_levels",
            1u64 << bits,
            format!("a {bits}-bit signed integer times one scale per projection"),
        )),
        WeightFormat::Bf16 => r.push(rule(
            "weight_format",
            "bf16",
            "bfloat16 weights (8 bits of mantissa): no training constraint beyond float rounding",
        )),
    }
    r.push(match target.decays {
        DecayFormat::Fraction { bits } => rule(
            "decay_bits",
            bits,
            format!(
                "a decay is d / 2^{bits}: retention factors come in steps of 2^−{bits}"
            ),
        ),
        DecayFormat::Linear => rule(
            "decay",
            "linear",
            "no multiplicative leak: a constant leak toward zero (`leak` on if/li) or a bias; a decay (alpha_mem < 1) runs only as the nearest such leak, with --approximate leak=linear",
        ),
        DecayFormat::Bf16 => rule("decay", "bf16", "a bfloat16 retention factor"),
    });
    if target.graded_spikes {
        r.push(rule(
            "messages",
            "graded",
            "spikes carry a value: sigma-delta populations send their changes as they are",
        ));
    } else {
        r.push(rule(
            "ticks_per_step",
            k,
            "a model step runs this many ticks (--ticks-per-step) when values travel as spikes",
        ));
        r.push(rule(
            "activity_levels",
            k + 1,
            format!(
                "a value y ∈ [0, q] (q: the clamp's top, or a ReLU's bound) travels as a spike count 0..{k} a step: train with y ∈ {{0, q/{k}, …, q}}"
            ),
        ));
        r.push(rule(
            "activation_range",
            "[0, q]",
            "values below zero cannot travel as spikes: use relu or clamp(0, q)",
        ));
        r.push(rule(
            "low_pass",
            true,
            if target.name == "truenorth" {
                "a low-pass (alpha > 0) runs as two spike counts, the activation and alpha of the last count plus 1 − alpha of it (no synaptic filter carries it); a memoryless readout (alpha_mem = 0) as an integrator read by its change a step"
            } else {
                "a low-pass (alpha > 0) runs as a binary sigma-delta neuron (Boeshertz et al.)"
            },
        ));
    }
    Some(r)
}

pub fn run(args: Args) -> Outcome {
    let Some(r) = rules(&args.backend, args.ticks_per_step) else {
        return Err(Report::error(
            "E0203",
            format!(
                "no backend `{}`; the backends are {}",
                args.backend,
                snn_backends::NAMES.join(", ")
            ),
        ));
    };
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> = r
            .iter()
            .map(|x| (x.name.to_string(), x.value.clone()))
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "backend": args.backend,
            "rules": obj,
        }))
        .map_err(|e| Report::error("E0900", e.to_string()))?;
        super::print_out(&format!("{text}\n"));
    } else {
        let mut t = snn_passes::Table::new(
            format!("what {} imposes on a network", args.backend),
            &["rule", "value", "meaning"],
        );
        for x in &r {
            let v = match &x.value {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            t.row(vec![x.name.to_string(), v, x.meaning.clone()]);
        }
        super::print_out(&t.render());
    }
    Ok(Report::default())
}
