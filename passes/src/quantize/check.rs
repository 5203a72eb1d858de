//! What no scale can fix, found before anything changes: values that are
//! not numbers, tensors without values, and parameters outside what the
//! chip's format can hold at all (errors E0451, E0452, E0454).

use snn_ir::target::DecayFormat;
use snn_ir::{Graph, NodeId, Op, ParamValue};

use super::grid::{bf16, first, max_abs};
use super::params::{self, Values};
use super::{Family, Group, decays};
use crate::manager::{PassCx, PassDiag};

/// Checks every projection and population of `groups`; false after
/// reporting at least one error.
pub(super) fn check(g: &Graph, groups: &[Group], family: Family, cx: &mut PassCx) -> bool {
    let mut ok = true;
    for grp in groups {
        for &p in &grp.projections {
            ok &= projection(g, p, family, cx);
        }
        for &pop in &grp.pops {
            ok &= population(g, pop, family, cx);
        }
    }
    ok
}

fn projection(g: &Graph, p: NodeId, family: Family, cx: &mut PassCx) -> bool {
    let Op::Project(pr) = g.op(p) else {
        return true;
    };
    let Some(w) = g.tensor(pr.weights).f32s() else {
        cx.error(no_values(g, p, "projection", "weight"));
        return false;
    };
    // One pass finds whether anything is wrong; only then is it looked for.
    let m = max_abs(w);
    if !m.is_finite()
        && let Some(bad) = first(w, |x| !x.is_finite())
    {
        cx.error(
            PassDiag::error(
                "E0451",
                format!(
                    "projection {} has a weight of {bad}, which no number format holds",
                    g.label(p)
                ),
            )
            .at(g.span(p), "this projection")
            .help("a NaN or an infinity in trained weights usually comes from a training run that diverged"),
        );
        return false;
    }
    if family == (Family::Float { bits: None })
        && bf16(m as f32).is_infinite()
        && let Some(big) = first(w, |x| bf16(x).is_infinite())
    {
        cx.error(
            PassDiag::error(
                "E0452",
                format!(
                    "projection {} has a weight of {big}, beyond the largest bfloat16 ({})",
                    g.label(p),
                    f32::from_bits(0x7F7F_0000)
                ),
            )
            .at(g.span(p), "this projection"),
        );
        return false;
    }
    true
}

fn no_values(g: &Graph, n: NodeId, what: &str, of: &str) -> PassDiag {
    PassDiag::error(
        "E0454",
        format!("{what} {} has no {of} values to quantize", g.label(n)),
    )
    .at(g.span(n), format!("this {what}"))
    .note("its tensor was read from an IR dump printed without values")
    .help("dump the IR with `snnc dump-ir --values`, or compile the `.snn` source")
}

fn population(g: &Graph, pop: NodeId, family: Family, cx: &mut PassCx) -> bool {
    let Op::Population(p) = g.op(pop) else {
        return true;
    };
    let kind = p.model.kind();
    let target = cx.target.name;
    let label = g.label(pop);
    let mut found: Vec<PassDiag> = Vec::new();
    let fail = |code: &'static str, message: String, help: Option<&str>| {
        let d = PassDiag::error(code, message).at(g.span(pop), "this population");
        match help {
            Some(h) => d.help(h),
            None => d,
        }
    };
    for (name, value) in p.model.params() {
        let ParamValue::Real(_) = value else { continue };
        match params::values(g, pop, name) {
            None => {}
            Some(Values::Missing) => found.push(no_values(g, pop, "population", name)),
            Some(v) => {
                // `v_min = −∞` means no floor.
                let bad = |x: f32| !(x.is_finite() || name == "v_min" && x == f32::NEG_INFINITY);
                if let Some(x) = v.find(bad) {
                    found.push(fail(
                        "E0451",
                        format!("population {label} has {name} = {x}, which {target} cannot store"),
                        None,
                    ));
                }
            }
        }
    }
    let find = |name: &str, bad: &dyn Fn(f32) -> bool| {
        params::values(g, pop, name).and_then(|v| v.find(bad))
    };
    if let Family::Loihi { .. } | Family::AxonTypes { .. } = family {
        for name in ["threshold", "b0"] {
            if let Some(x) = find(name, &|x| x < 0.0) {
                found.push(fail(
                    "E0452",
                    format!("population {label} has {name} = {x}, but {target} thresholds are unsigned"),
                    Some("shift the neurons' resting level with the bias instead, and make the threshold 0 or more"),
                ));
            }
        }
    }
    if let Family::AxonTypes { .. } = family {
        if let Some(x) = find("v_min", &|x| x > 0.0) {
            found.push(fail(
                "E0452",
                format!(
                    "population {label} has v_min = {x}, but {target}'s floor on the voltage (β) lies at or below zero"
                ),
                None,
            ));
        }
        let refractory = p
            .model
            .params()
            .find_map(|(n, v)| match (n, v) {
                ("refractory", ParamValue::Steps(r)) => Some(r),
                _ => None,
            })
            .unwrap_or(0);
        if refractory > 0 {
            found.push(fail(
                "E0452",
                format!(
                    "population {label} has refractory = {refractory} steps, but {target} neurons have no refractory period"
                ),
                Some("remove the refractory period, or compile for a chip that has one"),
            ));
        }
    }
    if let Family::Float { .. } = family
        && cx.target.decays == DecayFormat::Bf16
    {
        for name in ["threshold", "bias", "b0", "beta", "v_min"] {
            if let Some(x) = find(name, &|x| x.is_finite() && bf16(x).is_infinite()) {
                found.push(fail(
                    "E0452",
                    format!("population {label} has {name} = {x}, beyond the largest bfloat16"),
                    None,
                ));
            }
        }
    }
    let format = cx.target.decays;
    for &(name, role) in decays::of(kind) {
        let bad = find(name, &|a| {
            a.is_finite() && decays::unrepresentable(format, role, a).is_some()
        });
        if let Some(x) = bad
            && let Some(why) = decays::unrepresentable(format, role, x)
        {
            found.push(fail(
                "E0452",
                format!("population {label} has {name} = {x}, but on {target} {why}"),
                None,
            ));
        }
    }
    let ok = found.is_empty();
    for d in found {
        cx.error(d);
    }
    ok
}
