//! The `quantize` pass on small networks, compiled from `.snn` source
//! through the whole pipeline for each target. Every expected value is
//! worked out by hand in the comment above its test.

use snn_ir::{Const, Graph, NodeId, Op, QuantKind};
use snn_passes::{Options, Outcome, PassDiag, PassReport};

fn compile_with(
    name: &str,
    source: &str,
    backend: &str,
    options: Options,
) -> Result<Outcome, Vec<PassDiag>> {
    compile_files(name, source, &[], backend, options)
}

/// Compiles `source` with `files` (name, bytes) beside it.
fn compile_files(
    name: &str,
    source: &str,
    files: &[(&str, Vec<u8>)],
    backend: &str,
    options: Options,
) -> Result<Outcome, Vec<PassDiag>> {
    let dir = std::env::temp_dir().join(format!("snnc-quant-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, bytes) in files {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    let path = dir.join("model.snn");
    std::fs::write(&path, source).unwrap();
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    std::fs::remove_dir_all(&dir).unwrap();
    let target = snn_backends::target(backend).unwrap();
    snn_passes::run(
        g,
        &snn_passes::pipeline(target),
        target,
        &options,
        &mut |_| {},
    )
}

fn compile(name: &str, source: &str, backend: &str, bits: Option<u8>) -> Outcome {
    let options = Options {
        weight_bits: bits,
        ..Options::default()
    };
    compile_with(name, source, backend, options).unwrap_or_else(|d| panic!("{d:#?}"))
}

fn errors(name: &str, source: &str, backend: &str, bits: Option<u8>) -> Vec<PassDiag> {
    let options = Options {
        weight_bits: bits,
        ..Options::default()
    };
    match compile_with(name, source, backend, options) {
        Ok(_) => panic!("{name} compiled"),
        Err(d) => d,
    }
}

fn projection(g: &Graph, name: &str) -> NodeId {
    g.nodes()
        .into_iter()
        .find(|&n| matches!(g.op(n), Op::Project(_)) && g.name(n) == Some(name))
        .unwrap_or_else(|| panic!("no projection {name}"))
}

/// The stored weights (all of them when dense, the entries when sparse).
fn weights(g: &Graph, p: NodeId) -> Vec<f32> {
    let Op::Project(pr) = g.op(p) else { panic!() };
    g.tensor(pr.weights).f32s().unwrap().to_vec()
}

fn population(g: &Graph, name: &str) -> NodeId {
    g.populations()
        .into_iter()
        .find(|&n| g.name(n) == Some(name))
        .unwrap()
}

fn param(g: &Graph, pop: &str, name: &str) -> f32 {
    let Op::Population(p) = g.op(population(g, pop)) else {
        panic!()
    };
    match p.model.real(name) {
        Const::Scalar(v) => v,
        Const::Tensor(_) => panic!("per-neuron {name}"),
    }
}

fn report(o: &Outcome) -> &PassReport {
    o.reports.iter().find(|r| r.pass == "quantize").unwrap()
}

/// The rows of the quantize table titled `title`.
fn rows(o: &Outcome, title: &str) -> Vec<Vec<String>> {
    report(o)
        .tables
        .iter()
        .find(|t| t.title == title)
        .unwrap_or_else(|| panic!("no table {title}"))
        .rows
        .clone()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

const NET: &str = "timestep 1ms;\n\
    input x[2];\n\
    population p: lif[2] { tau_mem = 20ms; alpha_syn = 0.8; threshold = 1.0; bias = 0.3; }\n\
    x -> p { weight = [[0.5, -0.25], [1.0, 0.126]]; }\n\
    output y = p;\n";

/// Loihi, 8-bit mantissas (|m| ≤ 127). `legalize` splits the projection
/// by sign: `x->p(+)` holds 0.5, 1.0, 0.126 (rows 0, 1, 1) and `x->p(-)`
/// holds −0.25.
///
/// Population scale s, the smallest power of two at least each of:
/// threshold 1 / (131071 · 2^6) = 1.2e-7; largest weight 1 / (127 · 2^13)
/// = 9.61e-7; bias 0.3 / (4095 · 2^7) = 5.7e-7; range: the largest row
/// L1 norm, 1.126, through the current's decay (α_syn = 3277/4096, so
/// × 4096/819) plus the bias, 5.93 above; below zero (no floor) the leak's
/// steady state under that drive, 5.93 × 4096/200 = 121.47, over
/// 2^23 − 1: 1.45e-5. The range wins: s = 2^-16.
///
/// `x->p(+)`: exp 4 (1.0 / (2^-16 · 2^(6 + 3)) = 128 is one too many),
/// step 2^-16 · 2^10 = 2^-6: 0.126 · 64 = 8.064 → 8 → 0.125, the rest
/// exact. SQNR 10 · log10((0.25 + 1 + 0.015876) / 0.001²) = 61.0 dB.
/// `x->p(-)`: 0.25 · 2^(10 − e) ≤ 127.5 needs e ≥ 2: step 2^-8, −0.25 =
/// mantissa −64, exact.
///
/// Threshold 1.0 = vth 1024 · 2^6 · 2^-16, exact. Bias 0.3 / 2^-16 =
/// 19660.8: at exp 2, 4915.2 → 4915 is over 4095; at exp 3, 2457.6 → 2458:
/// 2458 · 2^3 · 2^-16 = 0.300048828125. Decays: 4096 · 0.2 = 819.2 → 819,
/// α_syn = 3277/4096; α_mem = exp(−1/20): 4096 · 0.048771 = 199.77 → 200,
/// α_mem = 3896/4096.
#[test]
fn loihi_weights_thresholds_biases_and_decays() {
    let o = compile("loihi", NET, "loihi", None);
    let g = &o.graph;
    let pos = projection(g, "x->p(+)");
    let neg = projection(g, "x->p(-)");
    assert_eq!(weights(g, pos), vec![0.5, 1.0, 0.125]);
    assert_eq!(weights(g, neg), vec![-0.25]);
    let q = g.quant(pos).unwrap();
    assert_eq!(q.kind, QuantKind::Loihi { bits: 8, exp: 4 });
    assert_eq!(q.scale, 2f32.powi(-16));
    // The mantissas the chip stores: w / (s · 2^(6 + exp)).
    let mant: Vec<f32> = weights(g, pos)
        .iter()
        .map(|w| w / (q.scale * 2f32.powi(10)))
        .collect();
    assert_eq!(mant, vec![32.0, 64.0, 8.0]);
    assert_eq!(
        g.quant(neg).unwrap().kind,
        QuantKind::Loihi { bits: 8, exp: 2 }
    );
    let pop = g.quant(population(g, "p")).unwrap();
    assert_eq!(pop.kind, QuantKind::Int { bits: 24 });
    assert_eq!(pop.scale, 2f32.powi(-16));
    assert_eq!(param(g, "p", "threshold"), 1.0);
    assert_eq!(param(g, "p", "bias"), 2458.0 * 2f32.powi(-13));
    assert_eq!(param(g, "p", "alpha_syn"), 3277.0 / 4096.0);
    assert_eq!(param(g, "p", "alpha_mem"), 3896.0 / 4096.0);
    assert_eq!(
        rows(&o, "quantized weights"),
        vec![
            row(&[
                "`x->p(+)`",
                "8-bit mantissa, exp 4",
                "2^-6",
                "61.0 dB",
                "0.0%",
                "0.0%"
            ]),
            row(&[
                "`x->p(-)`",
                "8-bit mantissa, exp 2",
                "2^-8",
                "inf",
                "0.0%",
                "0.0%"
            ]),
        ]
    );
    // The largest relative change is the bias's, 1.6e-4 (the decays
    // move by 6e-5).
    assert_eq!(
        rows(&o, "quantized neuron constants"),
        vec![row(&["`p`", "2^-16", "bias: 0.3 → 0.30004883"])]
    );
    assert_eq!(report(&o).counter("weights quantized"), 4);
}

/// `--weight-bits 3` on Loihi: |m| ≤ 3. Scale: 1 / (3 · 2^13) = 4.07e-5
/// → s = 2^-14. `x->p(+)`: exp 7 is the smallest holding 1.0 (step 0.5,
/// mantissa 2). Clipping grids compete on the entries 0.5, 1.0, 0.126:
/// step 0.5 → [0.5, 1.0, 0]: error 0.126² = 0.015876; step 0.25 (largest
/// 0.75) → [0.5, 0.75, 0.25]: 0.0625 + 0.015376 = 0.077876; step 0.125 →
/// [0.375, 0.375, 0.125]: 0.406; so step 0.5 stays, and 0.126 becomes 0
/// (1 of 3 weights, 33.3%). SQNR 10 · log10(1.265876 / 0.015876) = 19.0 dB.
/// `x->p(-)`: −0.25 at exp 5 is −2 · 2^-3, exact. Threshold 1.0 = 256 ·
/// 2^6 · 2^-14; bias 0.3 / 2^-14 = 4915.2: exp 1, 2457.6 → 2458 → 2458 ·
/// 2 · 2^-14.
#[test]
fn three_bit_loihi_weights() {
    let o = compile("loihi3", NET, "loihi", Some(3));
    let g = &o.graph;
    let pos = projection(g, "x->p(+)");
    assert_eq!(weights(g, pos), vec![0.5, 1.0, 0.0]);
    assert_eq!(
        g.quant(pos).unwrap().kind,
        QuantKind::Loihi { bits: 3, exp: 7 }
    );
    assert_eq!(g.quant(pos).unwrap().scale, 2f32.powi(-14));
    assert_eq!(weights(g, projection(g, "x->p(-)")), vec![-0.25]);
    assert_eq!(param(g, "p", "threshold"), 1.0);
    assert_eq!(param(g, "p", "bias"), 2458.0 * 2f32.powi(-13));
    assert_eq!(
        rows(&o, "quantized weights")[0],
        row(&[
            "`x->p(+)`",
            "3-bit mantissa, exp 7",
            "2^-1",
            "19.0 dB",
            "33.3%",
            "0.0%"
        ])
    );
}

/// SENeCA by default: bfloat16 everywhere, one projection (no sign
/// split). 0.126 = 0x3E01_0625 → 0x3E01 = 0.1259765625: error 2.344e-5,
/// SQNR 10 · log10(1.328376 / 5.494e-10) = 93.8 dB. α_mem = exp(−1/20) =
/// 0.951229: in [0.5, 1) bfloat16 steps are 2^-8, 243.51 → 244 →
/// 0.953125; α_syn 0.8: 204.8 → 205 → 0.80078125; bias 0.3 = 0x3E99_999A
/// → 0x3E9A = 0.30078125; threshold 1.0 exact.
#[test]
fn seneca_bf16_weights_and_parameters() {
    let o = compile("seneca", NET, "seneca", None);
    let g = &o.graph;
    let p = projection(g, "x->p");
    assert_eq!(weights(g, p), vec![0.5, -0.25, 1.0, 129.0 / 1024.0]);
    assert_eq!(g.quant(p).unwrap().kind, QuantKind::Bf16);
    assert_eq!(param(g, "p", "alpha_mem"), 0.953125);
    assert_eq!(param(g, "p", "alpha_syn"), 205.0 / 256.0);
    assert_eq!(param(g, "p", "bias"), 154.0 / 512.0);
    assert_eq!(param(g, "p", "threshold"), 1.0);
    assert_eq!(
        rows(&o, "quantized weights"),
        vec![row(&["`x->p`", "bf16", "-", "93.8 dB", "0.0%", "0.0%"])]
    );
}

/// SENeCA with `--weight-bits 4` (|k| ≤ 7): a scale has at most 5
/// significant bits (`m · 2^k`, m ∈ [16, 31]) so that every k · scale is a
/// bfloat16. For the largest weight 1.0 the smallest unsaturated scale is
/// 18/128 = 9/64 (17/128 would round 1.0 to 7.53 → 8). Of the 49 scales
/// from 18/512 to 36/128, 9/64 has the smallest squared error: [4, −2, 7,
/// 1] · 9/64 = [0.5625, −0.28125, 0.984375, 0.140625], errors 0.0625² +
/// 0.03125² + 0.015625² + 0.014625² = 0.005341 (next: 17/128, which clips
/// 1.0 to 119/128, 0.006211). SQNR 10 · log10(1.328376 / 0.005341) =
/// 24.0 dB.
#[test]
fn seneca_int4_weights() {
    let o = compile("seneca4", NET, "seneca", Some(4));
    let g = &o.graph;
    let p = projection(g, "x->p");
    assert_eq!(weights(g, p), vec![0.5625, -0.28125, 0.984375, 0.140625]);
    let q = g.quant(p).unwrap();
    assert_eq!(q.kind, QuantKind::Int { bits: 4 });
    assert_eq!(q.scale, 9.0 / 64.0);
    assert_eq!(
        rows(&o, "quantized weights"),
        vec![row(&[
            "`x->p`",
            "int4",
            "1.4062e-1",
            "24.0 dB",
            "0.0%",
            "0.0%"
        ])]
    );
}

/// int8 on SENeCA: 7-bit integers times a 1-bit scale (a power of two).
/// 2^-7 would round 1.0 to 128 > 127, so 2^-6: mantissas 32, −16, 64 and
/// 8.064 → 8. Weights on a 2^-3 grid come out exact with int4: 0.75 / 7 ≤
/// 0.125 and every weight is a multiple of 0.125; no finer 5-bit scale
/// divides them all with |k| ≤ 7.
#[test]
fn seneca_int8_and_exact_int4() {
    let o = compile("seneca8", NET, "seneca", Some(8));
    let g = &o.graph;
    let p = projection(g, "x->p");
    assert_eq!(weights(g, p), vec![0.5, -0.25, 1.0, 0.125]);
    assert_eq!(g.quant(p).unwrap().scale, 2f32.powi(-6));
    let src = NET.replace("0.126", "0.125").replace("1.0, ", "0.75, ");
    let o = compile("seneca4x", &src, "seneca", Some(4));
    let g = &o.graph;
    let p = projection(g, "x->p");
    assert_eq!(weights(g, p), vec![0.5, -0.25, 0.75, 0.125]);
    assert_eq!(g.quant(p).unwrap().scale, 0.125);
    assert_eq!(rows(&o, "quantized weights")[0][3], "inf");
}

/// SENeCA blends with α and 1 − α in bfloat16, so a low-pass factor must
/// have both exact: 0.2949 is 151/512 in bfloat16, but 1 − 151/512 =
/// 361/512 needs 9 bits; below 0.5 the factors whose complement is exact
/// are the multiples of 2^-8: 0.2949 · 256 = 75.49 → 75/256. The clamp
/// bounds 0 and 6 are bfloat16 already.
#[test]
fn seneca_sigma_delta_filter_keeps_its_complement_exact() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population h: sigma_delta[2] { alpha = 0.2949; act = clamp(0, 6); }\n\
        x -> h { weight = [[0.5, 0.25], [1.0, 0.125]]; }\n\
        output y = h;\n";
    let o = compile("sd", src, "seneca", None);
    assert_eq!(param(&o.graph, "h", "alpha"), 75.0 / 256.0);
    // Loihi 2 (Loihi 1 has no sigma-delta neurons): 4096 · (1 − 0.2949)
    // = 2888.1 → 2888, α = 1208/4096.
    let o = compile("sd-loihi2", src, "loihi2", None);
    assert_eq!(param(&o.graph, "h", "alpha"), 1208.0 / 4096.0);
}

/// Loihi's decay registers: the voltage keeps at least 1/4096 (dv ≤
/// 4095), so α_mem = 0 becomes 1/4096; the current keeps at most 4095/4096
/// (du + 1 ≥ 1), so α_syn = 1 becomes 4095/4096.
#[test]
fn loihi_decays_at_the_ends_of_their_registers() {
    let src = "timestep 1ms;\n\
        input x[1];\n\
        population p: lif[1] { alpha_mem = 0.0; alpha_syn = 1.0; }\n\
        x -> p { weight = [[0.5]]; }\n\
        output y = p;\n";
    let o = compile("ends", src, "loihi", None);
    assert_eq!(param(&o.graph, "p", "alpha_mem"), 1.0 / 4096.0);
    assert_eq!(param(&o.graph, "p", "alpha_syn"), 4095.0 / 4096.0);
    // A factor of 0 that moved is the largest change (relatively, without
    // bound), ahead of α_syn's 1/4096.
    assert_eq!(
        rows(&o, "quantized neuron constants")[0][2],
        "alpha_mem: 0 → 0.00024414063"
    );
}

/// TrueNorth: `legalize` gives each column an axon type (three here, all
/// exact) and records each neuron's weight per type: row 0 [1.0, −0.5,
/// 0.25, 0], row 1 [0.5, −1.0, 0.75, 0]. The smallest scale saturating
/// nothing is 1/255 (the weights bind: the threshold needs 2.0 / 262142,
/// the leak 0.1 / 255). Scales 1/q, q ∈ [128, 255], are tried: the weights
/// are integers when q is a multiple of 4, the leak −0.1 when q is a
/// multiple of 10, so q = 240 makes everything exact: weights [240, −120,
/// 60] and [120, −240, 180], threshold 480 (α = 481), leak −24.
#[test]
fn truenorth_scale_that_makes_everything_an_integer() {
    let src = "timestep 1ms;\n\
        input x[3];\n\
        population p: if[2] { threshold = 2.0; bias = -0.1; }\n\
        x -> p { weight = [[1.0, -0.5, 0.25], [0.5, -1.0, 0.75]]; }\n\
        output y = p;\n";
    let o = compile("tn", src, "truenorth", None);
    let g = &o.graph;
    let p = projection(g, "x->p");
    let q = g.quant(p).unwrap();
    let QuantKind::AxonTypes {
        bits,
        types,
        values,
    } = q.kind
    else {
        panic!("{q:?}")
    };
    assert_eq!(bits, 9);
    assert!((q.scale as f64 * 240.0 - 1.0).abs() < 1e-6, "{}", q.scale);
    assert_eq!(g.tensor(types).i32s().unwrap(), &[0, 1, 2]);
    let ints: Vec<f64> = g
        .tensor(values)
        .f32s()
        .unwrap()
        .iter()
        .map(|&v| (v as f64 / q.scale as f64).round())
        .collect();
    assert_eq!(
        ints,
        vec![240.0, -120.0, 60.0, 0.0, 120.0, -240.0, 180.0, 0.0]
    );
    assert_eq!(weights(g, p), vec![1.0, -0.5, 0.25, 0.5, -1.0, 0.75]);
    assert_eq!(param(g, "p", "threshold"), 2.0);
    assert_eq!(param(g, "p", "bias"), -0.1);
    let pop = g.quant(population(g, "p")).unwrap();
    assert_eq!(pop.kind, QuantKind::Int { bits: 20 });
    assert_eq!(pop.scale, q.scale);
    assert_eq!(
        rows(&o, "quantized weights"),
        vec![row(&[
            "`x->p`",
            "4 axon types, 9-bit",
            "4.1667e-3",
            "inf",
            "0.0%",
            "0.0%"
        ])]
    );
    assert_eq!(
        rows(&o, "quantized neuron constants"),
        vec![row(&["`p`", "4.1667e-3", "exact"])]
    );
}

/// TrueNorth with 3-bit weights (|k| ≤ 3), one neuron, weights 0.9, 0.6,
/// 0.3, threshold 0.5. Unclipped scales 0.9 / q for q ∈ {2, 3}: at 0.3
/// every weight is exact (3, 2, 1) and the threshold 0.5 / 0.3 = 1.67 → 2
/// → 0.6 (error 0.01 / 0.25 = 0.04 relative); at 0.45, 0.6 → 1 (0.15²),
/// 0.3 → 1 (0.15²), worse. Clipping scales 0.9 / q, q ∈ {4 … 12}, clip
/// 0.9 and are worse still for the weights. Scale 0.3 wins.
#[test]
fn truenorth_three_bit_weights() {
    let src = "timestep 1ms;\n\
        input x[3];\n\
        population p: if[1] { threshold = 0.5; }\n\
        x -> p { weight = [[0.9, 0.6, 0.3]]; }\n\
        output y = p;\n";
    let o = compile("tn3", src, "truenorth", Some(3));
    let g = &o.graph;
    let p = projection(g, "x->p");
    let q = g.quant(p).unwrap();
    assert!(matches!(q.kind, QuantKind::AxonTypes { bits: 3, .. }));
    assert!((q.scale as f64 - 0.3).abs() < 1e-7, "{}", q.scale);
    let ints: Vec<f64> = weights(g, p)
        .iter()
        .map(|&w| (w as f64 / q.scale as f64).round())
        .collect();
    assert_eq!(ints, vec![3.0, 2.0, 1.0]);
    assert_eq!(
        (param(g, "p", "threshold") as f64 / q.scale as f64).round(),
        2.0
    );
}

#[test]
fn weight_bits_outside_the_chip_are_errors() {
    let d = errors("bits", NET, "loihi", Some(12));
    assert_eq!(d[0].code, "E0450");
    assert_eq!(
        d[0].message,
        "--weight-bits 12: loihi weights have at most 8 bits"
    );
    assert_eq!(d[0].help.as_deref(), Some("choose 2 to 8 bits"));
    let d = errors("bits1", NET, "seneca", Some(1));
    assert_eq!(
        d[0].message,
        "--weight-bits 1: a signed weight needs at least 2 bits, one of them the sign"
    );
    let tn = "timestep 1ms;\n\
        input x[1];\n\
        population p: if[1] {}\n\
        x -> p { weight = [[1.0]]; }\n\
        output y = p;\n";
    let d = errors("bits10", tn, "truenorth", Some(10));
    assert_eq!(
        d[0].message,
        "--weight-bits 10: truenorth weights have at most 9 bits"
    );
}

/// A little-endian `f32` `.npy` file of shape `[rows, cols]`.
fn npy(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A weight file with a NaN: the literal syntax cannot write one, but a
/// trained file can hold one.
#[test]
fn weights_that_are_not_numbers_are_an_error() {
    // The front end refuses a NaN in a file (E0124); a graph made another
    // way (by a library user) can still bring one to the pass.
    let src = "timestep 1ms;\n\
        input x[2];\n\
        const W: [1, 2] = load(\"w.npy\");\n\
        population p: lif[1] { alpha_mem = 0.9; }\n\
        x -> p { weight = W; }\n\
        output y = p;\n";
    let dir = std::env::temp_dir().join(format!("snnc-quant-{}-nan", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("w.npy"), npy(1, 2, &[2.0, 1.0])).unwrap();
    std::fs::write(dir.join("model.snn"), src).unwrap();
    let (g, _) = snnc::driver::load(&dir.join("model.snn")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    for backend in ["loihi", "seneca"] {
        let mut g = g.clone();
        let proj = g
            .nodes()
            .into_iter()
            .find_map(|n| match g.op(n) {
                Op::Project(p) => Some(p.weights),
                _ => None,
            })
            .unwrap();
        let nan = g
            .tensor(proj)
            .map_f32(|v| if v == 2.0 { f32::NAN } else { v })
            .unwrap();
        *g.tensor_mut(proj) = nan;
        let target = snn_backends::target(backend).unwrap();
        let d = snn_passes::run(
            g,
            &snn_passes::pipeline(target),
            target,
            &Options::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(d[0].code, "E0451");
        assert_eq!(
            d[0].message,
            "projection `x->p` has a weight of NaN, which no number format holds"
        );
        assert!(d[0].span.is_some());
    }
}

/// A threshold of 1e6 makes the population's scale 2^-3 (1e6 / (131071 ·
/// 64) = 0.119); the finest weight step is then 2^-3 · 2^(6 − 8) = 2^-5,
/// and a weight of 1e-4 rounds to zero.
#[test]
fn weights_lost_entirely_are_an_error() {
    let src = "timestep 1ms;\n\
        input x[1];\n\
        population p: lif[1] { alpha_mem = 0.9; threshold = 1000000.0; }\n\
        x -> p { weight = [[0.0001]]; }\n\
        output y = p;\n";
    let d = errors("lost", src, "loihi", None);
    assert_eq!(d[0].code, "E0453");
    assert_eq!(
        d[0].message,
        "every weight of projection `x->p` rounds to zero: its largest, 1e-4, is below half the finest step the chip can give it (2^-5)"
    );
    assert!(d[0].span.is_some());
}

#[test]
fn parameters_no_format_holds_are_errors() {
    let neg = NET.replace("threshold = 1.0", "threshold = -0.5");
    let d = errors("neg", &neg, "loihi", None);
    assert_eq!(d[0].code, "E0452");
    assert_eq!(
        d[0].message,
        "population `p` has threshold = -0.5, but loihi thresholds are unsigned"
    );
    assert!(d[0].span.is_some());
    let growing = NET.replace("tau_mem = 20ms", "alpha_mem = 1.5");
    let d = errors("grow", &growing, "loihi", None);
    assert_eq!(
        d[0].message,
        "population `p` has alpha_mem = 1.5, but on loihi a decay is a 12-bit fraction, so a retention factor lies between 0 and 1"
    );
    let tn = "timestep 1ms;\n\
        input x[1];\n\
        population p: if[1] { refractory = 2; v_min = 0.5; }\n\
        x -> p { weight = [[1.0]]; }\n\
        output y = p;\n";
    let d = errors("tn", tn, "truenorth", None);
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "population `p` has v_min = 0.5, but truenorth's floor on the voltage (β) lies at or below zero",
            "population `p` has refractory = 2 steps, but truenorth neurons have no refractory period",
        ]
    );
    assert!(d.iter().all(|d| d.code == "E0452"));
}

/// A projection split by `legalize` holds derived tensors; an IR dump
/// without values keeps only their shape and hash, and such a graph has
/// nothing to quantize.
#[test]
fn tensors_without_values_are_an_error() {
    let src = "timestep 1ms;\n\
        input x[16];\n\
        population p: lif[16] { alpha_mem = 0.9; }\n\
        x -> p { weight = normal(std=0.5, seed=1); }\n\
        output y = p;\n";
    let skip = Options {
        skip: vec!["quantize".into(), "delays".into()],
        ..Options::default()
    };
    let o = compile_with("dump", src, "loihi", skip).unwrap();
    let text = snn_ir::text::print(&o.graph, snn_ir::text::PrintOptions::default());
    let dir = std::env::temp_dir().join(format!("snnc-quant-{}-ir", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.ir");
    std::fs::write(&path, text).unwrap();
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    std::fs::remove_dir_all(&dir).unwrap();
    let target = snn_backends::target("loihi").unwrap();
    let d = snn_passes::run(
        g,
        &snn_passes::pipeline(target),
        target,
        &Options::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(d[0].code, "E0454");
    assert_eq!(
        d[0].message,
        "projection `x->p(+)` has no weight values to quantize"
    );
}

/// A decay that the format cannot resolve is reported. τ = 700 steps:
/// α = exp(−1/700) = 0.998572, and bfloat16 steps are 2^-8 just below 1,
/// so α rounds to 1 on SENeCA and the state would never decay (W0455,
/// naming the population and the time constant). Loihi keeps 12 bits of
/// 1 − α: 4096 · 0.001428 = 5.85 → dv = 6, no warning. τ = 20 rounds to
/// 0.953125 in bfloat16: no warning either.
#[test]
fn a_decay_lost_to_rounding_is_reported() {
    let src = "timestep 1ms;\n\
        input x[2];\n\
        population slow: li[2] { tau_mem = 700ms; }\n\
        population fast: li[2] { tau_mem = 20ms; }\n\
        x -> slow { weight = [[1, 0], [0, 1]]; }\n\
        x -> fast { weight = [[1, 0], [0, 1]]; }\n\
        output s = slow;\n\
        output f = fast;\n";
    let warnings = |backend: &str| -> Vec<String> {
        compile(&format!("lost-{backend}"), src, backend, None)
            .diags
            .iter()
            .filter(|d| d.code == "W0455")
            .map(|d| d.message.clone())
            .collect()
    };
    assert_eq!(
        warnings("seneca"),
        vec![
            "`alpha_mem` of `slow` (0.99857247, a time constant of 700 steps) rounds to 1 on seneca: that state will not decay"
        ]
    );
    assert!(warnings("loihi").is_empty());
}
