//! The `range` pass: proven bounds worked out by hand, the fixed point
//! through recurrence, calibration, and the warnings where nothing bounds a
//! population. Each network is compiled from `.snn` source for Loihi 2.

use std::sync::Arc;

use snn_ir::{Graph, NodeId, RangeOrigin};
use snn_passes::range::{Calibration, Observed};
use snn_passes::{Options, Outcome, PassDiag, Severity};

fn compile(name: &str, source: &str, options: Options) -> Outcome {
    let dir = std::env::temp_dir().join(format!("snnc-range-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.snn");
    std::fs::write(&path, source).unwrap();
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    std::fs::remove_dir_all(&dir).unwrap();
    let target = snn_backends::target("loihi2").unwrap();
    snn_passes::run(
        g,
        &snn_passes::pipeline(target),
        target,
        &options,
        &mut |_| {},
    )
    .unwrap_or_else(|d| panic!("{d:#?}"))
}

fn population(g: &Graph, name: &str) -> NodeId {
    g.populations()
        .into_iter()
        .find(|&n| g.name(n) == Some(name))
        .unwrap_or_else(|| panic!("no population {name}"))
}

fn warnings(o: &Outcome) -> Vec<&PassDiag> {
    o.diags
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.code.starts_with("W045"))
        .collect()
}

/// A calibration that reports fixed peaks for the populations named.
fn calibration(explicit: bool, peaks: &'static [(&'static str, f32, f32)]) -> Calibration {
    Calibration {
        source: "peaks.npz (1 sample)".into(),
        explicit,
        observe: Arc::new(move |g: &Graph| {
            let mut out: Vec<(NodeId, Observed)> = peaks
                .iter()
                .map(|&(name, state, sends)| (population(g, name), Observed { state, sends }))
                .collect();
            out.sort_by_key(|(n, _)| *n);
            Ok(out)
        }),
    }
}

/// Feed-forward, every bound exact:
/// - `hid` (lif, α_syn = 0.5, α_mem = 0.75, bias 0.5, θ = 1): row L1
///   norms of `W` are 3 and 1.5 with spike-or-unit inputs, so the current
///   reaches 3 / (1 − 0.5) = 6 and one step's drive 6 + 0.5 = 6.5; below
///   zero (no floor) the voltage can settle at 6.5 / (1 − 0.75) = 26; it
///   sends spikes (1).
/// - `sd` (sigma-delta, clamp(0, 4), bias −0.25): from `hid`'s spikes its
///   rows bring 2 and 10, so its Σ register holds up to 10.25 and it sends
///   at most 4 (the clamp).
/// - `out` (li, α_mem = 0.75): rows of |V| · 4 are 2 and 1, so `v` reaches
///   (2 + 0.5) / (1 − 0.75) = 10 (bias 0.5); it sends (feeds) nothing but
///   is read: sends = 10.
#[test]
fn feed_forward_bounds_by_hand() {
    let src = "timestep 1ms;
input x[2];
const W = [[2, -1], [0.5, 1]];
const S = [[1, -1], [4, 6]];
const V = [[0.25, -0.25], [0, 0.25]];
population hid: lif[2] { alpha_syn = 0.5; alpha_mem = 0.75; threshold = 1; bias = 0.5; }
population sd: sigma_delta[2] { act = clamp(0, 4); bias = -0.25; }
population out: li[2] { alpha_mem = 0.75; bias = 0.5; }
x -> hid { weight = W; }
hid -> sd { weight = S; }
sd -> out { weight = V; }
output y = out;
";
    let o = compile("ff", src, Options::default());
    let g = &o.graph;
    let r = |name| g.range(population(g, name)).unwrap();
    assert_eq!((r("hid").state, r("hid").sends), (26.0, 1.0));
    assert_eq!((r("sd").state, r("sd").sends), (10.25, 4.0));
    assert_eq!((r("out").state, r("out").sends), (10.0, 10.0));
    for name in ["hid", "sd", "out"] {
        assert_eq!(r(name).origin, RangeOrigin::Proven, "{name}");
    }
    assert!(warnings(&o).is_empty());
    // Loihi 2's 24-bit state holds ±(2^23 − 1): `out`'s 10 needs one unit
    // of at least 10 / 8388607 = 1.19e-6, so 2^-19 (1.9e-6); its largest
    // weight, 0.25, needs only 0.25 / (127 · 2^13) = 2.4e-7.
    assert_eq!(g.quant(population(g, "out")).unwrap().scale, 2f32.powi(-19));
    let table = o
        .reports
        .iter()
        .flat_map(|r| &r.tables)
        .find(|t| t.title == "value ranges")
        .unwrap();
    assert_eq!(
        table.rows[1],
        vec!["`sd`", "10.25", "4", "proven", "10.25", "-"]
    );
}

/// Recurrence through a ReLU whose gain is 1/2: the row of `h` brings
/// 1.2 from `x` and its bias, and half of what `h` sends, so the bound is
/// the fixed point S = 1.2 + S/2 = 2.4, taken a hundredth above the
/// iterate that first proves itself.
#[test]
fn a_contracting_recurrence_has_its_fixed_point() {
    let src = "timestep 1ms;
input x[2];
const W = [[0.5, -0.25], [1, 0]];
const U = [[0.5, 0], [0.25, 0.25]];
const b = [0.1, -0.2];
state h[2] = 0;
h = relu(W @ x + U @ h + b);
output y = h;
";
    let o = compile("contract", src, Options::default());
    let g = &o.graph;
    let r = g.range(population(g, "h")).unwrap();
    assert!((2.4..=2.4 * 1.01).contains(&r.sends), "{r:?}");
    assert!((2.4..=2.4 * 1.01).contains(&r.state), "{r:?}");
    assert_eq!(r.origin, RangeOrigin::Proven);
}

const GROWING: &str = "timestep 1ms;
input x[2];
const W = [[1, 0], [0, 1]];
const U = [[1, 1], [1, 1]];
state h[2] = 0;
h = relu(W @ x + U @ h);
output y = h;
";

/// A ReLU recurrence with gain 2 has no finite bound. Without data the
/// range is one step from rest, with what has no bound counting as 1: the
/// input's 1 through `W` and `h`'s 1 through both entries of a row of `U`,
/// 3 (W0457).
#[test]
fn an_unbounded_recurrence_without_data_is_assumed_and_warned() {
    let o = compile("grow-nodata", GROWING, Options::default());
    let g = &o.graph;
    let r = g.range(population(g, "h")).unwrap();
    assert_eq!(
        (r.state, r.sends, r.origin),
        (3.0, 3.0, RangeOrigin::Assumed)
    );
    let w = warnings(&o);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].code, "W0457");
    assert_eq!(
        w[0].message,
        "no finite bound can be proven for `h`: its recurrent gain (the largest row sum of |weights| through itself) can reach 1 or more; with no data to observe, its range is assumed ±3 (one step of input); it may wrap on the chip"
    );
}

/// With the model's sample input, the unbounded population takes what it
/// reached there times 2 (W0456); proven ones keep their proof.
#[test]
fn an_unbounded_recurrence_takes_the_sample_input_with_head_room() {
    let options = Options {
        calibration: Some(calibration(false, &[("h", 37.5, 30.0)])),
        ..Options::default()
    };
    let o = compile("grow-sample", GROWING, options);
    let g = &o.graph;
    let r = g.range(population(g, "h")).unwrap();
    assert_eq!(
        (r.state, r.sends, r.origin),
        (75.0, 60.0, RangeOrigin::Assumed)
    );
    let w = warnings(&o);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].code, "W0456");
    assert_eq!(
        w[0].message,
        "no finite bound can be proven for `h`: its recurrent gain (the largest row sum of |weights| through itself) can reach 1 or more; its range is set from peaks.npz (1 sample), where it reached 37.5, times a head-room of 2"
    );
}

/// Explicit calibration sets every range from the data, never above a
/// proven bound: `hid`'s observed 2 × 2 = 4 is below its proof (26), so
/// it is calibrated; `sd`'s 9 × 2 = 18 is above its proof (10.25), which
/// stays.
#[test]
fn calibration_sets_ranges_below_their_proof() {
    let src = "timestep 1ms;
input x[2];
const W = [[2, -1], [0.5, 1]];
const S = [[1, -1], [4, 6]];
population hid: lif[2] { alpha_syn = 0.5; alpha_mem = 0.75; threshold = 1; bias = 0.5; }
population sd: sigma_delta[2] { act = clamp(0, 4); bias = -0.25; }
x -> hid { weight = W; }
hid -> sd { weight = S; }
output y = sd;
";
    let options = Options {
        calibration: Some(calibration(true, &[("hid", 2.0, 1.0), ("sd", 9.0, 3.5)])),
        ..Options::default()
    };
    let o = compile("calibrated", src, options);
    let g = &o.graph;
    let r = |name| g.range(population(g, name)).unwrap();
    assert_eq!(
        (r("hid").state, r("hid").sends, r("hid").origin),
        (4.0, 1.0, RangeOrigin::Calibrated)
    );
    assert_eq!(
        (r("sd").state, r("sd").sends, r("sd").origin),
        (10.25, 4.0, RangeOrigin::Proven)
    );
    assert!(warnings(&o).is_empty());
}
