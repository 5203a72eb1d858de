//! Placement tests: small networks whose optimal core count is worked out
//! by hand below, one infeasible case per limit of each chip with the
//! expected error text, determinism, and the independent checker refusing
//! a placement that breaks a limit.
//!
//! The networks are placed straight after lowering (no quantization), so
//! weights count as 8 bits wide: the partitioner's default for an
//! unquantized projection.

use std::path::PathBuf;
use std::process::Command;

use snn_ir::Graph;
use snn_passes::place::{self, PlaceOptions, Placement};

/// Lowers `source` (written to a temporary `.snn` file).
fn lower(name: &str, source: &str) -> Graph {
    lower_with(name, source, &[])
}

/// [`lower`], with `arrays` in a `w.npz` beside the source.
fn lower_with(name: &str, source: &str, arrays: &[(&str, &snnc::arrays::Array)]) -> Graph {
    let dir = std::env::temp_dir().join(format!("snnc-place-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if !arrays.is_empty() {
        snnc::arrays::write_npz(&dir.join("w.npz"), arrays).unwrap();
    }
    let path = dir.join("model.snn");
    std::fs::write(&path, source).unwrap();
    let (g, _) = snnc::driver::load(&path).unwrap_or_else(|r| panic!("{}", r.render(false)));
    std::fs::remove_dir_all(&dir).unwrap();
    g
}

fn place_on(chip: &str, g: &Graph, chips: u32) -> Result<Placement, Vec<snn_passes::PassDiag>> {
    let spec = snn_backends::chip(chip).unwrap();
    let opts = PlaceOptions {
        chips,
        ..PlaceOptions::default()
    };
    place::place(g, spec, &opts)
}

fn cores(p: &Placement) -> usize {
    p.cores.len()
}

/// The message of the only error.
fn error(r: Result<Placement, Vec<snn_passes::PassDiag>>) -> (String, String, Option<String>) {
    let d = r.expect_err("placement should fail");
    assert_eq!(d.len(), 1, "{d:?}");
    (d[0].message.clone(), d[0].label.clone(), d[0].help.clone())
}

// ---- known optima ----------------------------------------------------------

/// Loihi, 1024 compartments per core: 600 + 600 + 400 neurons. Any two of
/// the 600s overflow a core, so 2 cores is optimal: {600, 400} and {600}.
#[test]
fn loihi_packs_600_600_400_into_two_cores() {
    let g = lower(
        "loihi-pack",
        "timestep 1ms;\n\
         population a: lif[600] { tau_mem = 20ms; bias = 0.1; }\n\
         population b: lif[600] { tau_mem = 20ms; bias = 0.1; }\n\
         population c: lif[400] { tau_mem = 20ms; bias = 0.1; }\n\
         output a_out = a; output b_out = b; output c_out = c;\n",
    );
    let p = place_on("loihi", &g, 1).unwrap();
    assert_eq!(cores(&p), 2);
    assert_eq!(p.lower_bound_cores, 2);
    // a and c share core 0 (dataflow order), b is alone.
    let loc = p.location();
    let core_of = |pop: usize| {
        loc[p
            .chunks
            .iter()
            .position(|c| c.pop == g.populations()[pop])
            .unwrap()]
    };
    assert_eq!(core_of(0), core_of(2));
    assert_ne!(core_of(0), core_of(1));
}

/// Loihi's delay trade-off: delays up to 62 need 6 delay bits, and
/// compartments × 2^6 ≤ 8192 leaves 128 compartments per core: 300 neurons
/// take ⌈300 / 128⌉ = 3 cores.
#[test]
fn loihi_long_delays_leave_128_compartments_per_core() {
    let g = lower(
        "loihi-delay",
        "timestep 1ms;\n\
         input x[4];\n\
         population p: lif[300] { tau_mem = 20ms; }\n\
         x -> p { weight = full(0.5); delay = 62; }\n\
         output p_out = p;\n",
    );
    let p = place_on("loihi", &g, 1).unwrap();
    assert_eq!(cores(&p), 3);
    assert_eq!(p.lower_bound_cores, 3);
    assert_eq!(
        p.chunks.iter().map(|c| c.end - c.start).collect::<Vec<_>>(),
        vec![128, 128, 44]
    );
}

/// Loihi has 8 threshold profiles per core: 20 neurons with 20 distinct
/// thresholds need ⌈20 / 8⌉ = 3 cores.
#[test]
fn loihi_threshold_profiles_limit_a_core_to_8_distinct_thresholds() {
    let thresholds: Vec<String> = (1..=20).map(|k| format!("{k}.0")).collect();
    let g = lower(
        "loihi-profiles",
        &format!(
            "timestep 1ms;\n\
             population p: lif[20] {{ tau_mem = 20ms; bias = 0.1; threshold = [{}]; }}\n\
             output p_out = p;\n",
            thresholds.join(", ")
        ),
    );
    let p = place_on("loihi", &g, 1).unwrap();
    assert_eq!(cores(&p), 3);
    let usage = p
        .usage
        .iter()
        .find(|u| u.0 == "threshold profiles")
        .unwrap();
    assert_eq!(usage.1, vec![8, 8, 4]);
}

/// TrueNorth: 256 neurons per core, so 300 neurons take 2 cores.
#[test]
fn truenorth_300_neurons_take_two_cores() {
    let g = lower(
        "tn-neurons",
        "timestep 1ms;\n\
         population p: if[300] { bias = 0.25; }\n\
         output p_out = p;\n",
    );
    let p = place_on("truenorth", &g, 1).unwrap();
    assert_eq!(cores(&p), 2);
    assert_eq!(p.lower_bound_cores, 2);
}

/// SENeCA: a neuron costs 64 state bits plus (8 + 16) bits per synapse; 100
/// dense inputs make 2464 bits per neuron, and 2 Mibit hold
/// ⌊2097152 / 2464⌋ = 851 neurons: 4000 neurons take ⌈4000 / 851⌉ = 5 cores.
#[test]
fn seneca_shared_memory_holds_851_neurons_with_100_inputs() {
    let g = lower(
        "seneca-mem",
        "timestep 1ms;\n\
         input x[100];\n\
         population p: lif[4000] { tau_mem = 20ms; }\n\
         x -> p { weight = uniform(0.1, 1.0, seed=1); }\n\
         output p_out = p;\n",
    );
    let p = place_on("seneca", &g, 1).unwrap();
    assert_eq!(cores(&p), 5);
    assert_eq!(p.chunks[0].end - p.chunks[0].start, 851);
    assert_eq!(p.chunks[0].res.memory_bits, 851 * 2464);
    assert_eq!(p.lower_bound_cores, 5);
}

/// Same input, same placement, to the bit.
#[test]
fn placement_is_deterministic() {
    let src = "timestep 1ms;\n\
               input x[50];\n\
               population h: lif[3000] { tau_mem = 20ms; }\n\
               population o: li[10] { tau_mem = 20ms; }\n\
               x -> h { weight = sparse(density=0.2, values=normal(std=0.5), seed=3); }\n\
               h -> h { weight = sparse(density=0.01, values=normal(std=0.1), seed=4); }\n\
               h -> o { weight = sparse(density=0.05, values=normal(std=0.1), seed=5); }\n\
               output o_out = o;\n";
    let g = lower("determinism", src);
    let a = serde_json::to_string(&place_on("seneca", &g, 1).unwrap().cores).unwrap();
    let b = serde_json::to_string(&place_on("seneca", &g, 1).unwrap().cores).unwrap();
    assert_eq!(a, b);
    let a = serde_json::to_string(&place_on("loihi", &g, 1).unwrap().cores).unwrap();
    let b = serde_json::to_string(&place_on("loihi", &g, 1).unwrap().cores).unwrap();
    assert_eq!(a, b);
}

// ---- infeasible: one case per limit ------------------------------------------

#[test]
fn truenorth_neuron_with_300_inputs_has_too_many_input_axons() {
    let g = lower(
        "tn-axons",
        "timestep 1ms;\n\
         input x[300];\n\
         population p: if[10] { }\n\
         x -> p { weight = ones(); }\n\
         output p_out = p;\n",
    );
    let (msg, label, help) = error(place_on("truenorth", &g, 1));
    assert_eq!(
        msg,
        "population `p` does not fit a truenorth core: one neuron needs 300 input axons, a core has 256 (over by 44)"
    );
    assert_eq!(label, "even one of these neurons is too big for a core");
    assert_eq!(
        help.as_deref(),
        Some(
            "reduce the fan-in (prune synapses: `--prune`, a sparser `weight`), or split the layer"
        )
    );
}

#[test]
fn loihi_neuron_with_5000_inputs_has_too_many_input_axons() {
    let g = lower(
        "loihi-axons",
        "timestep 1ms;\n\
         input x[5000];\n\
         population p: lif[2] { tau_mem = 20ms; }\n\
         x -> p { weight = ones(); }\n\
         output p_out = p;\n",
    );
    let (msg, _, _) = error(place_on("loihi", &g, 1));
    assert_eq!(
        msg,
        "population `p` does not fit a loihi core: one neuron needs 5000 input axons, a core has 4096 (over by 904)"
    );
}

/// SENeCA: two projections from 50,000 inputs (50,000 axons, under the
/// 65,536 limit) make 100,000 synapses at 24 bits each; with 64 state bits
/// that is 2,400,064 bits, over the 2,097,152-bit data memory by 302,912.
#[test]
fn seneca_neuron_with_100000_synapses_overflows_the_data_memory() {
    let g = lower(
        "seneca-mem-err",
        "timestep 1ms;\n\
         input x[50000];\n\
         population p: lif[1] { tau_mem = 20ms; }\n\
         x -> p { weight = ones(); }\n\
         x -> p { weight = full(0.5); }\n\
         output p_out = p;\n",
    );
    let (msg, _, help) = error(place_on("seneca", &g, 1));
    assert_eq!(
        msg,
        "population `p` does not fit a seneca core: one neuron needs 2400064 synapse memory (bits), a core has 2097152 (over by 302912)"
    );
    assert!(help.unwrap().contains("--weight-bits"));
}

/// TrueNorth: a neuron has one destination; 300 targets take two cores, so
/// a neuron that drives all of them needs copy neurons first.
#[test]
fn truenorth_neuron_with_two_destination_cores_is_refused() {
    let g = lower(
        "tn-fanout",
        "timestep 1ms;\n\
         population a: if[2] { bias = 0.5; }\n\
         population b: if[300] { }\n\
         a -> b { weight = ones(); }\n\
         output b_out = b;\n",
    );
    let (msg, label, help) = error(place_on("truenorth", &g, 1));
    assert_eq!(
        msg,
        "neuron 0 of population `a` sends to 2 cores, and a truenorth neuron has one destination"
    );
    assert_eq!(label, "more than one destination");
    assert_eq!(
        help.as_deref(),
        Some(
            "`legalize` gives a neuron one relay copy per projection, delay and block of targets a core holds; here the targets were cut otherwise (fewer sources or targets per population help)"
        )
    );
}

/// Loihi: 140,000 neurons need at least ⌈140000 / 1024⌉ = 137 cores, 2
/// chips of 128: refused from the neuron count, before the populations are
/// cut.
#[test]
fn loihi_network_larger_than_one_chip_names_the_chips_it_needs() {
    let g = lower(
        "loihi-chips",
        "timestep 1ms;\n\
         population big: lif[140000] { tau_mem = 20ms; bias = 0.1; }\n\
         output big_out = big;\n",
    );
    let (msg, label, help) = error(place_on("loihi", &g, 1));
    assert_eq!(
        msg,
        "the network needs at least 137 loihi cores, 2 chips, for its neurons alone; the system has 1 chip (128 cores)"
    );
    assert_eq!(
        label,
        "the largest population: 140000 neurons (at most 1024 fit a core)"
    );
    assert_eq!(
        help.as_deref(),
        Some(
            "give more chips with `--chips 2` (smallest named system: kapoho-bay, 2 chips), or shrink the network"
        )
    );
    // With two chips it fits, and the checker accepts it.
    let p = place_on("loihi", &g, 2).unwrap();
    assert_eq!((cores(&p), p.chips_used), (137, 2));
}

/// Loihi: 20,000 neurons fit 20 cores by count, but a delay of 60 steps
/// takes 6 bits of the delay ring (8192 >> 6 = 128 neurons a core): 157
/// cores, found by cutting the population.
#[test]
fn loihi_network_whose_delays_need_more_cores_than_its_neurons() {
    let g = lower(
        "loihi-ring",
        "timestep 1ms;\n\
         input x[20000];\n\
         population big: lif[20000] { tau_mem = 20ms; }\n\
         x -> big { weight = 1.0; delay = 60; }\n\
         output big_out = big;\n",
    );
    let (msg, label, help) = error(place_on("loihi", &g, 1));
    assert_eq!(
        msg,
        "the network needs 157 loihi cores, 2 chips; the system has 1 chip (128 cores)"
    );
    assert_eq!(
        label,
        "takes 157 cores: 128 neurons per core, limited by neurons"
    );
    assert_eq!(
        help.as_deref(),
        Some(
            "give more chips with `--chips 2` (smallest named system: kapoho-bay, 2 chips), or shrink the network: \
             prune synapses or delays (`--prune`), fewer delay bits (`--delay-bits`)"
        )
    );
    let p = place_on("loihi", &g, 2).unwrap();
    assert_eq!((cores(&p), p.chips_used), (157, 2));
}

/// TrueNorth: 70 chips of 4096 cores would be needed for 70 × 4096 × 256
/// neurons; here 2 chips' worth with one chip available.
#[test]
fn truenorth_network_larger_than_one_chip() {
    let g = lower(
        "tn-chips",
        "timestep 1ms;\n\
         population big: if[1048577] { bias = 0.5; }\n\
         output big_out = big;\n",
    );
    let (msg, _, help) = error(place_on("truenorth", &g, 1));
    assert_eq!(
        msg,
        "the network needs at least 4097 truenorth cores, 2 chips, for its neurons alone; the system has 1 chip (4096 cores)"
    );
    assert!(
        help.unwrap()
            .contains("`--chips 2` (smallest named system: ns16e, 16 chips)")
    );
}

// ---- the checker -------------------------------------------------------------

/// Moving every chunk onto one core breaks the neuron limit, and the
/// checker says so in its own words.
#[test]
fn checker_refuses_an_overfull_core() {
    let g = lower(
        "checker",
        "timestep 1ms;\n\
         population a: lif[600] { tau_mem = 20ms; bias = 0.1; }\n\
         population b: lif[600] { tau_mem = 20ms; bias = 0.1; }\n\
         output a_out = a; output b_out = b;\n",
    );
    let spec = snn_backends::chip("loihi").unwrap();
    let mut p = place_on("loihi", &g, 1).unwrap();
    assert!(place::check::check(&g, spec, &p).is_ok());
    let all: Vec<usize> = (0..p.chunks.len()).collect();
    p.cores.truncate(1);
    p.cores[0].chunks = all;
    let errors = place::check::check(&g, spec, &p).unwrap_err();
    assert_eq!(
        errors,
        vec!["chip 0 core 0: neurons 1200 > 1024".to_string()]
    );
}

/// On Loihi 1 a leaky integrator joined one-to-one is a compartment of its
/// target's neuron: 300 + 300 neurons share one core. Moved apart by hand,
/// the checker names the first voltage that would cross cores.
#[test]
fn checker_refuses_a_voltage_between_cores_on_loihi_1() {
    let g = lower(
        "checker-li",
        "timestep 1ms;\n\
         population a: li[300] { tau_mem = 20ms; bias = 0.1; }\n\
         population b: if[300] { threshold = 2.0; }\n\
         a -> b { weight = 1.0; }\n\
         output y = b;\n",
    );
    let spec = snn_backends::chip("loihi").unwrap();
    let mut p = place_on("loihi", &g, 1).unwrap();
    assert_eq!(cores(&p), 1);
    let b = p.cores[0].chunks.pop().unwrap();
    p.cores.push(place::Core {
        chip: 0,
        core: 1,
        chunks: vec![b],
    });
    let errors = place::check::check(&g, spec, &p).unwrap_err();
    assert_eq!(
        errors,
        vec![
            "neuron 0 of `a` sends its voltage to neuron 0 of `b` on another core; loihi spikes carry no value"
                .to_string()
        ]
    );
}

// ---- through the command line ----------------------------------------------

fn snnc(args: &[&str]) -> (bool, String, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn compile_report_has_the_placement_tables() {
    let (ok, out, err) = snnc(&[
        "compile",
        "examples/alif_srnn/model.snn",
        "--backend",
        "loihi",
        "--report",
    ]);
    assert!(ok, "{err}");
    for row in [
        "placement on loihi",
        " chips used ",
        " cores used ",
        " lower bound on cores ",
        " inter-core traffic (spikes/step) ",
        "per-core utilisation",
        " synapse memory (bits) ",
        "placement time per stage",
    ] {
        assert!(out.contains(row), "missing `{row}` in\n{out}");
    }
}

/// Loihi 1 spikes carry no value, so the LSTM stand-in's auxiliary
/// compartments (leaky integrators sending their voltage one-to-one) must
/// share a core with their adaptive neurons: 10 cores. The untied cut
/// packed in order takes 9 (every chunk's synapse lists priced at the
/// index and delay widths of the core it shares, and each list rounded to
/// whole words): it may split a neuron from its compartment, which the
/// tied cut may not. The checker refuses any
/// placement that leaves a voltage crossing cores, so success means they
/// share.
#[test]
fn loihi_1_keeps_each_leaky_compartment_on_its_neurons_core() {
    let (ok, out, err) = snnc(&[
        "compile",
        "examples/adaptive_lstm_large/model.snn",
        "--backend",
        "loihi",
        "--report",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().eq(["cores", "used", "10"])),
        "{out}"
    );
    assert!(
        out.contains(" sequential packing: cores, inter-core traffic  9, "),
        "{out}"
    );
}

#[test]
fn an_unknown_board_lists_the_boards() {
    let (ok, _, err) = snnc(&[
        "compile",
        "examples/alif_srnn/model.snn",
        "--backend",
        "loihi",
        "--chips",
        "nahuku-99",
    ]);
    assert!(!ok);
    assert!(
        err.contains(
            "--chips nahuku-99: not a number of chips nor a loihi board; the boards are kapoho-bay (2 chips), \
             wolf-mountain (4 chips), nahuku-8 (8 chips), nahuku-32 (32 chips), pohoiki-beach (64 chips), \
             pohoiki-springs (768 chips)"
        ),
        "{err}"
    );
}

/// Loihi builds an adaptive neuron from two compartments: 600 `alif`
/// neurons are 1200 compartments, 512 neurons per core, 2 cores. SENeCA
/// runs them as programs: one core.
#[test]
fn loihi_adaptive_neurons_take_two_compartments() {
    let g = lower(
        "alif",
        "timestep 1ms;\n\
         population a: alif[600] { tau_mem = 20ms; tau_adp = 200ms; bias = 0.1; }\n\
         output a_out = a;\n",
    );
    let p = place_on("loihi", &g, 1).unwrap();
    assert_eq!(cores(&p), 2);
    assert_eq!(
        p.chunks.iter().map(|c| c.end - c.start).collect::<Vec<_>>(),
        vec![512, 88]
    );
    let usage = p.usage.iter().find(|u| u.0 == "neurons").unwrap();
    assert_eq!(usage.1, vec![1024, 176]);
    assert_eq!(cores(&place_on("seneca", &g, 1).unwrap()), 1);
}

/// A population whose neurons exchange spikes in pairs far apart in index
/// order (neuron i with neuron i XOR 1024, one synapse each way) on Loihi's
/// 1024-compartment cores. In index order the cut is [0, 1024) and
/// [1024, 2048): every pair is split and all 2048 spikes per step (uniform
/// rates) cross. Cut in growth order, each chunk takes a neuron and then
/// its partner (0, 1024, 1, 1025, ...), so no spike leaves its core, on
/// the same two cores.
#[test]
fn connected_neurons_far_apart_in_index_order_share_a_core() {
    let n = 2048usize;
    let mut w = vec![0f32; n * n];
    for i in 0..n {
        w[(i ^ 1024) * n + i] = 1.0;
    }
    let pairs = snnc::arrays::Array::f32(vec![n, n], w);
    let g = lower_with(
        "grow",
        "timestep 1ms;\n\
         const W: [2048, 2048] = load(\"w.npz\", \"W\");\n\
         population p: if[2048] { bias = 0.1; }\n\
         p -> p { weight = W; }\n\
         output y = p;\n",
        &[("W", &pairs)],
    );
    let p = place_on("loihi", &g, 1).unwrap();
    assert_eq!((cores(&p), p.lower_bound_cores), (2, 2));
    assert_eq!(p.sequential_cores, 2);
    assert_eq!(p.sequential_traffic.inter_core, 2048.0);
    assert_eq!(p.traffic.inter_core, 0.0);
    let first: Vec<u32> = p.chunks[0].neurons().take(6).collect();
    assert_eq!(first, vec![0, 1024, 1, 1025, 2, 1026]);
    assert_eq!(
        p.chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
        [1024, 1024]
    );
    assert_eq!(
        place::population_table(&g, &p).rows,
        vec![vec!["`p`", "2048", "1024", "2", "growth order"]]
    );
    // The placement is the same on a second run.
    let again = place_on("loihi", &g, 1).unwrap();
    assert!(
        p.chunks
            .iter()
            .zip(&again.chunks)
            .all(|(a, b)| a.neurons().eq(b.neurons()))
    );
}

/// Two populations joined one-to-one are cut together and tied to one core
/// per pair of chunks: 800 + 800 neurons on Loihi's 1024-compartment cores
/// become [0, 512) and [512, 800) of each, paired. Both packings take two
/// cores, but in-order packing puts `a` on one and `b` on the other, so
/// each of `a`'s 800 spikes per step (uniform rates: one per neuron per
/// step) crosses; tied, none does.
#[test]
fn one_to_one_populations_are_cut_together_and_share_cores() {
    let g = lower(
        "loihi-pairs",
        "timestep 1ms;\n\
         population a: if[800] { bias = 0.5; }\n\
         population b: if[800] { threshold = 2.0; }\n\
         a -> b { weight = 1.0; }\n\
         output sb = b;\n",
    );
    let p = place_on("loihi", &g, 1).unwrap();
    assert_eq!(cores(&p), 2);
    assert_eq!(p.lower_bound_cores, 2);
    let ranges: Vec<(u32, u32)> = p.chunks.iter().map(|c| (c.start, c.end)).collect();
    assert_eq!(ranges, vec![(0, 512), (512, 800), (0, 512), (512, 800)]);
    let loc = p.location();
    assert_eq!(loc[0], loc[2]);
    assert_eq!(loc[1], loc[3]);
    assert_ne!(loc[0], loc[1]);
    assert_eq!(p.traffic.inter_core, 0.0);
    assert_eq!(p.sequential_cores, 2);
    assert_eq!(p.sequential_traffic.inter_core, 800.0);
}

/// TrueNorth: the relay copies of one neuron are its one destination, so
/// the partitioner cuts their population only between neurons' copies.
/// Three copies each for 100 neurons: a core's 256 neurons would end
/// inside neuron 85's copies (positions 255-257), so the first core takes
/// 255 and the second the other 45.
#[test]
fn truenorth_keeps_a_neurons_copies_on_one_core() {
    let (n, k) = (100usize, 3usize);
    let mut w = vec![0f32; n * k * n];
    for r in 0..n * k {
        w[r * n + r / k] = 1.0;
    }
    let relay = snnc::arrays::Array::f32(vec![n * k, n], w);
    let g = lower_with(
        "tn-copies",
        "timestep 1ms;\n\
         const W: [300, 100] = load(\"w.npz\", \"W\");\n\
         population a: if[100] { bias = 0.5; }\n\
         population c: if[300] { threshold = 0.5; }\n\
         a -> c { weight = W; }\n\
         output y = c;\n",
        &[("W", &relay)],
    );
    let p = place_on("truenorth", &g, 1).unwrap();
    let c = g.populations()[1];
    let ranges: Vec<(u32, u32)> = p
        .chunks
        .iter()
        .filter(|ch| ch.pop == c)
        .map(|ch| (ch.start, ch.end))
        .collect();
    assert_eq!(ranges, vec![(0, 255), (255, 300)]);
}
