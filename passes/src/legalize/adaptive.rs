//! Adaptive neurons on Loihi 1. Loihi 1 has no adaptive-threshold circuit:
//! an `alif` neuron runs as two compartments (METHODS 3 and 4, CHIPS.md),
//!
//! ```text
//! soma: v = α·v + (1 − α)·(I + bias) − θ·s[t−1],   s = v > θ
//! aux:  b = ρ·b + (1 − ρ)·s[t−1]                   θ = b0 + β·b
//! ```
//!
//! the auxiliary one integrating the soma's own spikes with the slow decay
//! ρ and raising its threshold. The population stays one `alif` node (its
//! float semantics are those of `docs/semantics.md`), which is what the
//! backend emits as soma + auxiliary compartment; this step checks that
//! both compartments can be built — the two retention factors are decays,
//! fractions in [0, 1] — and reports the compartments each population
//! takes, which is twice its neurons. Loihi 2 and SENeCA run `alif` as a
//! program on one neuron.

use snn_ir::{Const, Graph, ModelKind, Op};

use crate::manager::{PassCx, PassDiag, Table};

/// Targets whose `alif` neurons take two compartments.
const TWO_COMPARTMENTS: &[&str] = &["loihi"];

/// The smallest and largest value of a real parameter.
fn range(g: &Graph, c: Const) -> Option<(f32, f32)> {
    match c {
        Const::Scalar(v) => Some((v, v)),
        Const::Tensor(t) => {
            let v = g.tensor(t).f32s()?;
            let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            Some((lo, hi))
        }
    }
}

fn show((lo, hi): (f32, f32)) -> String {
    if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo}..{hi}")
    }
}

/// Checks and reports the two-compartment form of every `alif` population;
/// false if one cannot be built.
pub(super) fn two_compartments(g: &Graph, cx: &mut PassCx) -> bool {
    if !TWO_COMPARTMENTS.contains(&cx.target.name) {
        return true;
    }
    let mut ok = true;
    let mut table = Table::new(
        "adaptive neurons as two compartments (soma + threshold adaptation)",
        &[
            "population",
            "neurons",
            "compartments",
            "soma retention",
            "adaptation retention",
            "beta",
        ],
    );
    for pop in g.populations() {
        let Op::Population(p) = g.op(pop) else {
            continue;
        };
        if p.model.kind() != ModelKind::Alif {
            continue;
        }
        let alpha = range(g, p.model.real("alpha_mem"));
        let rho = range(g, p.model.real("rho"));
        let beta = range(g, p.model.real("beta"));
        for (name, what, r) in [("alpha_mem", "soma", alpha), ("rho", "auxiliary", rho)] {
            let Some((lo, hi)) = r else { continue };
            if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) {
                let bad = if (0.0..=1.0).contains(&lo) { hi } else { lo };
                cx.error(
                    PassDiag::error(
                        "E0461",
                        format!(
                            "alif population {} has {name} = {bad}, but on {} its {what} compartment decays by a fraction between 0 and 1",
                            g.label(pop),
                            cx.target.name
                        ),
                    )
                    .at(g.span(pop), "this population")
                    .help("give time constants (`tau_mem`, `tau_adp`) or retention factors between 0 and 1"),
                );
                ok = false;
            }
        }
        table.row(vec![
            g.label(pop),
            p.size.to_string(),
            (2 * p.size as u64).to_string(),
            alpha.map_or("-".into(), show),
            rho.map_or("-".into(), show),
            beta.map_or("-".into(), show),
        ]);
        cx.report
            .count("compartments of adaptive neurons", 2 * p.size as u64);
    }
    if !table.rows.is_empty() {
        cx.report.tables.push(table);
    }
    ok
}
