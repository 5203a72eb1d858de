//! The engine against hand-computed traces, chip by chip.

use super::*;
use crate::config::*;

/// One core: `n` neurons in one group with `params`; input channel c
/// feeds axon c; `syn` lists (axon, target, weight, delay, kind).
fn config(
    backend: &str,
    model: &str,
    n: u32,
    params: Params,
    syn: &[(u32, u32, i32, u8, u8)],
    inputs: u32,
    routes: Vec<Vec<(u32, u32)>>,
) -> Config {
    let mut s = Synapses {
        axon_ptr: vec![0],
        ..Synapses::default()
    };
    let axons = syn.iter().map(|x| x.0 + 1).max().unwrap_or(0).max(inputs);
    for a in 0..axons {
        for &(ax, t, w, d, k) in syn {
            if ax == a {
                s.target.push(t);
                s.weight.push(w);
                s.delay.push(d);
                s.kind.push(k);
            }
        }
        s.axon_ptr.push(s.target.len() as u32);
    }
    let core = Core {
        chip: 0,
        core: 0,
        neurons: n,
        groups: vec![Group {
            population: "p".into(),
            model: model.into(),
            first: 0,
            count: n,
            graded: false,
            scale: 1.0,
            params,
        }],
        routes,
        axon_graded: vec![false; axons as usize],
    };
    Config {
        manifest: Manifest {
            format: FORMAT,
            backend: backend.into(),
            chips: 1,
            cores: 1,
            timestep_us: 1000.0,
            ticks_per_step: 1,
            source_hash: "0".into(),
            order: vec![(0, 0)],
            inputs: vec![InputMap {
                name: "x".into(),
                size: inputs,
                encoder: Encoder::Rate,
                scale: 1.0,
                routes: (0..inputs).map(|c| vec![(0, c)]).collect(),
            }],
            outputs: vec![
                OutputMap {
                    name: "s".into(),
                    read: Readout::Spikes,
                    neurons: (0..n).map(|i| (0, i)).collect(),
                    scale: vec![1.0; n as usize],
                },
                OutputMap {
                    name: "v".into(),
                    read: Readout::Voltage,
                    neurons: (0..n).map(|i| (0, i)).collect(),
                    scale: vec![1.0; n as usize],
                },
            ],
            energy: Energy {
                synaptic_op_pj: 1.0,
                neuron_update_pj: 1.0,
                spike_pj: 1.0,
            },
        },
        cores: vec![(core, s)],
    }
}

/// One core of `n` Loihi `lif` neurons (`syn`, `inputs` and `routes` as
/// in [`config`]) in two groups of `n / 2`, updated in order: half `k` is
/// population `half(k).0` with parameters `half(k).1`.
fn two_halves(
    n: u32,
    syn: &[(u32, u32, i32, u8, u8)],
    inputs: u32,
    routes: Vec<Vec<(u32, u32)>>,
    half: impl Fn(usize) -> (&'static str, LoihiGroup),
) -> Config {
    let whole = Params::Loihi(loihi(n as usize, 0, 0, 0));
    let mut c = config("loihi", "lif", n, whole, syn, inputs, routes);
    let g = c.cores[0].0.groups[0].clone();
    c.cores[0].0.groups = (0..2)
        .map(|k| {
            let (name, p) = half(k);
            Group {
                population: name.into(),
                first: k as u32 * (n / 2),
                count: n / 2,
                params: Params::Loihi(p),
                ..g.clone()
            }
        })
        .collect();
    c.manifest.order = vec![(0, 0), (0, 1)];
    c
}

fn loihi(n: usize, du: u16, dv: u16, vth: u32) -> LoihiGroup {
    LoihiGroup {
        du: vec![du; n],
        dv: vec![dv; n],
        vth: vec![vth; n],
        bias_mant: vec![0; n],
        bias_exp: vec![0; n],
        vmin: -(V_MAX as i32),
        refractory: 0,
        reset_subtract: false,
        formats: vec![0],
        adaptive: None,
        sigma_delta: None,
    }
}

/// Runs with input `x[t]` on channel 0; returns (spikes, voltages) of
/// neuron `k`.
fn trace(c: Config, x: &[f32], steps: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let mut e = Engine::new(c);
    let x = x.to_vec();
    let out = e.run(steps, &move |t| {
        vec![vec![x.get(t).copied().unwrap_or(0.0)]]
    });
    (
        out[0].1.iter().map(|r| r[k]).collect(),
        out[1].1.iter().map(|r| r[k]).collect(),
    )
}

#[test]
fn loihi_cuba_lif_by_hand() {
    // du = 2047: u halves (4096 − 2048); dv = 1024: v × 3/4. One input
    // spike a step through a weight of mantissa 1 at exponent 0 = 64.
    // vth 2 → spike when v > 128.
    // t0: u = 64,       v = 64
    // t1: u = 32 + 64,  v = 48 + 96 = 144 > 128: spike, v = 0
    // t2: u = 48 + 64,  v = 112
    // t3: u = 56 + 64,  v = 84 + 120 = 204: spike, v = 0
    // t4: u = 60 + 64,  v = 124
    let c = config(
        "loihi",
        "lif",
        1,
        Params::Loihi(loihi(1, 2047, 1024, 2)),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    );
    let (s, v) = trace(c, &[1.0; 5], 5, 0);
    assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
    assert_eq!(v, vec![64.0, 0.0, 112.0, 0.0, 124.0]);
}

#[test]
fn spikes_use_the_integer_ring_only_when_sums_provably_fit() {
    let c = |w: i32, exp: i8| {
        let mut p = loihi(1, 4095, 4095, 100_000);
        p.formats = vec![exp];
        config(
            "loihi",
            "lif",
            1,
            Params::Loihi(p),
            &[(0, 0, w, 0, 0), (1, 0, w, 0, 0)],
            2,
            vec![vec![]],
        )
    };
    // 2 · 100 · 2^6 = 12800: integer weights whose sum fits.
    assert!(Engine::new(c(100, 0)).int_spikes);
    // Mantissa 3 at exponent −7 is 3 · 2^−1 = 1.5, but a negative
    // exponent's synapses are summed as mantissas and shifted (Lava's
    // floor), so the integer ring still holds every sum.
    assert!(Engine::new(c(3, -7)).int_spikes);
    // 2 · 255 · 2^13 = 4177920: fits; the bound is per target.
    assert!(Engine::new(c(255, 7)).int_spikes);
    // 2 · 255 · 2^22 = 2139095040 is below 2^31 but not 2^31 − 2^24: the
    // decayed current added to it in the CUBA loop could leave `i32`.
    assert!(!Engine::new(c(255, 16)).int_spikes);
    assert!(Engine::new(c(255, 15)).int_spikes);
    // The float ring gives the same trace on a whole-valued network.
    let (s1, v1) = trace(c(100, 0), &[1.0; 4], 4, 0);
    let mut e = Engine::new(c(100, 0));
    assert!(e.int_spikes);
    e.int_spikes = false;
    e.spike = vec![0.0; e.slots * e.neurons];
    let out = e.run(4, &|_| vec![vec![1.0, 0.0]]);
    assert_eq!(out[1].1.iter().map(|r| r[0]).collect::<Vec<_>>(), v1);
    assert_eq!(s1, vec![0.0; 4]);
    // du = 4095 clears u each step: u = 100 · 2^6 = 6400. dv = 4095
    // keeps 1/4096 of v: v = 6400, then ⌊6400 / 4096⌋ + 6400 = 6401.
    assert_eq!(v1, vec![6400.0, 6401.0, 6401.0, 6401.0]);
}

/// Lava's Dense (fixed point) sums the mantissas of a step's spikes per
/// synapse format and shifts the sum: `Σm · 2^e` for `e ≥ 0`, `⌊Σm /
/// 2^−e⌋` for `e < 0`; the LIF then adds it `<< 6` to `u`. Sixteen
/// formats with exponents −8..7, two input channels each, mantissas 3
/// and 2 into neuron 0 and −3 and −2 into neuron 1; every channel
/// spikes once, at step 0, and `du = 4095` makes `u` that step's input.
/// Neuron 0: Σm = 5 per format, so 5 · 64 · (1 + 2 + … + 128) = 81600
/// from e = 0..7, and ⌊5/2⌋ · 64 = 128, ⌊5/4⌋ · 64 = 64 and 0 for
/// e = −3..−8: u = 81792 (scaling each synapse exactly would give
/// 5 · 2^(6+e) summed, 81918.75). Neuron 1: Σm = −5: −81600, then
/// ⌊−5/2⌋ = −3 → −192, ⌊−5/4⌋ = −2 → −128, and ⌊−5/2^k⌋ = −1 → −64 for
/// each of k = 3..8: u = −81600 − 192 − 128 − 384 = −82304.
#[test]
fn negative_exponents_floor_the_step_sum_as_lava_does() {
    let mut p = loihi(2, 4095, 0, 131_071);
    p.formats = (-8..=7).collect();
    let mut syn = Vec::new();
    for f in 0..16u8 {
        for (k, m) in [(0u32, 3), (1, 2)] {
            let axon = 2 * f as u32 + k;
            syn.push((axon, 0, m, 0, f));
            syn.push((axon, 1, -m, 0, f));
        }
    }
    let mut c = config(
        "loihi",
        "lif",
        2,
        Params::Loihi(p),
        &syn,
        32,
        vec![vec![], vec![]],
    );
    c.manifest.outputs[1].read = Readout::Current;
    let mut e = Engine::new(c);
    assert!(e.int_spikes);
    let out = e.run(2, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }; 32]]);
    assert_eq!(out[1].1[0], vec![81792.0, -82304.0]);
    // Nothing arrives at step 1, and u is cleared every step.
    assert_eq!(out[1].1[1], vec![0.0, 0.0]);
    // Spread over two steps (delay 1 for channel 1) each step's sum is
    // floored on its own: ⌊3/2⌋ + ⌊2/2⌋ = 2 at e = −1, not ⌊5/2⌋.
    let mut p = loihi(1, 4095, 0, 131_071);
    p.formats = vec![-1];
    let c = config(
        "loihi",
        "lif",
        1,
        Params::Loihi(p),
        &[(0, 0, 3, 0, 0), (1, 0, 2, 1, 0)],
        2,
        vec![vec![]],
    );
    let mut c2 = c.clone();
    c2.manifest.outputs[1].read = Readout::Current;
    let mut e = Engine::new(c2);
    let out = e.run(3, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }; 2]]);
    let u: Vec<f32> = out[1].1.iter().map(|r| r[0]).collect();
    assert_eq!(u, vec![64.0, 64.0, 0.0]);
}

/// The negative ring's runs floor each (target, k) sum as a whole: two
/// mantissas 3 at k = 2 into neuron 0 give ⌊6/4⌋ = 1 (each on its own
/// would give 0), and 5 at k = 1 into it ⌊5/2⌋ = 2, so u = 3 · 64 = 192;
/// 1 at k = 1 into neuron 1 gives 0; −3 at k = 2 into neuron 2 gives
/// ⌊−3/4⌋ = −1, plus 2 at exponent 0 (the ordinary ring): u = −64 + 128.
/// One run per k over the neurons it reaches (k = 1: 0..2, k = 2: 0..3),
/// shifted before the update; with a mantissa 0 at k = 1 into neuron 2
/// too, both runs span the group and the CUBA loop adds them itself.
#[test]
fn negative_exponent_runs_floor_each_target_and_k() {
    let mut p = loihi(3, 4095, 0, 131_071);
    p.formats = vec![-2, -1, 0];
    // (axon, target, mantissa, delay, kind)
    let syn = vec![
        (0, 0, 3, 0, 0),
        (0, 2, -3, 0, 0),
        (1, 0, 3, 0, 0),
        (1, 2, 2, 0, 2),
        (2, 0, 5, 0, 1),
        (2, 1, 1, 0, 1),
    ];
    let mut whole = syn.clone();
    whole.push((2, 2, 0, 0, 1));
    let run = |off, first, len, k| Run { off, first, len, k };
    for (syn, runs, fused) in [
        (syn, vec![run(0, 0, 2, 1), run(2, 0, 3, 2)], false),
        (whole, vec![run(0, 0, 3, 1), run(3, 0, 3, 2)], true),
    ] {
        let mut c = config(
            "loihi",
            "lif",
            3,
            Params::Loihi(p.clone()),
            &syn,
            3,
            vec![vec![]; 3],
        );
        c.manifest.outputs[1].read = Readout::Current;
        for threads in [1, 2, 3] {
            let mut e = Engine::new(c.clone());
            assert!(e.int_spikes && !e.neg.wide);
            assert_eq!(e.neg.runs, runs);
            assert_eq!(e.fuses_negative(&e.groups[0]), fused);
            // Threads cut the group in as many pieces (0..1 and 1..3 for
            // two), and its runs with it.
            e.set_threads(threads);
            e.par_work = 0;
            let firsts: Vec<usize> = e.groups.iter().map(|g| g.first).collect();
            assert_eq!(firsts, [vec![0], vec![0, 1], vec![0, 1, 2]][threads - 1]);
            // Pieces of a fused group fuse; of the other, those whose runs
            // each cover them whole (not 1..3, which k = 1 reaches at 1).
            let pieces: Vec<bool> = e.groups.iter().map(|g| e.fuses_negative(g)).collect();
            let expect = match (fused, threads) {
                (true, _) => vec![true; threads],
                (false, 1) => vec![false],
                (false, 2) => vec![true, false],
                (false, _) => vec![true; 3],
            };
            assert_eq!(pieces, expect, "{threads} threads");
            // Sources: the 3 neurons, then the channels; channel 1 also
            // has an ordinary synapse.
            assert_eq!(
                e.neg.source,
                [
                    NEG_NONE, NEG_NONE, NEG_NONE, NEG_PACKED, NEG_MIXED, NEG_PACKED
                ]
            );
            let out = e.run(3, &|t| vec![vec![if t != 1 { 1.0 } else { 0.0 }; 3]]);
            assert_eq!(out[1].1[0], vec![192.0, 0.0, 64.0], "{threads} threads");
            assert_eq!(out[1].1[1], vec![0.0, 0.0, 0.0], "{threads} threads");
            assert_eq!(out[1].1[2], vec![192.0, 0.0, 64.0], "{threads} threads");
        }
        // The float ring gives the same.
        let mut e = Engine::new(c.clone());
        e.int_spikes = false;
        e.spike = vec![0.0; e.slots * e.neurons];
        assert!(!e.fuses_negative(&e.groups[0]));
        let out = e.run(1, &|_| vec![vec![1.0; 3]]);
        assert_eq!(out[1].1[0], vec![192.0, 0.0, 64.0]);
    }
}

/// Sums that may leave `i32` go to the 64-bit ring: two mantissas
/// 3 · 2^29 at k = 30 sum to 3 · 2^30 ≥ 2^31, floored to 3 (each on its
/// own, 1), so u = 3 · 64. Too wide to pack, they take the unpacked lists.
#[test]
fn negative_exponent_sums_beyond_i32_use_the_wide_ring() {
    let mut p = loihi(1, 4095, 0, 131_071);
    p.formats = vec![-30];
    let m = 3 << 29;
    let syn = [(0, 0, m, 0, 0), (1, 0, m, 0, 0)];
    let mut c = config("loihi", "lif", 1, Params::Loihi(p), &syn, 2, vec![vec![]]);
    c.manifest.outputs[1].read = Readout::Current;
    for int_spikes in [true, false] {
        let mut e = Engine::new(c.clone());
        assert!(e.int_spikes && e.neg.wide && !e.fuses_negative(&e.groups[0]));
        assert_eq!(e.neg.source, [NEG_NONE, NEG_MIXED, NEG_MIXED]);
        if !int_spikes {
            e.int_spikes = false;
            e.spike = vec![0.0; e.slots * e.neurons];
        }
        let out = e.run(2, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }; 2]]);
        assert_eq!(out[1].1[0], vec![192.0], "int_spikes {int_spikes}");
        assert_eq!(out[1].1[1], vec![0.0], "int_spikes {int_spikes}");
    }
}

/// A current that leaves 24 bits wraps, and a voltage beyond them
/// saturates; the engine counts both. Nine channels of mantissa 127 at
/// exponent 7 (127 · 2^13 = 1040384 each) bring 9363456 a step, which
/// wraps to 9363456 − 2^24 = −7413760 in `u` (du = 4095: no memory).
/// `v` (dv = 0: no leak) takes −7413760, then −14827520, clamped to
/// −(2^23 − 1) (the register's floor): one saturation at step 1, one
/// at each step after.
#[test]
fn wraps_and_saturations_are_counted_per_population() {
    let mut p = loihi(1, 4095, 0, 131_071);
    p.formats = vec![7];
    let syn: Vec<_> = (0..9).map(|a| (a, 0, 127, 0, 0)).collect();
    let c = config("loihi", "lif", 1, Params::Loihi(p), &syn, 9, vec![vec![]]);
    let mut e = Engine::new(c);
    let out = e.run(3, &|_| vec![vec![1.0; 9]]);
    let v: Vec<f32> = out[1].1.iter().map(|r| r[0]).collect();
    assert_eq!(v, vec![-7_413_760.0, -(V_MAX as f32), -(V_MAX as f32)]);
    assert_eq!(
        e.overflow(),
        vec![(
            "p".to_string(),
            Overflow {
                wrapped: 3,
                saturated: 2
            }
        )]
    );
    // A rate-coded input above 1 (more than a spike a step) is counted
    // on its input.
    let mut e = Engine::new(config(
        "loihi",
        "lif",
        1,
        Params::Loihi(loihi(1, 4095, 0, 131_071)),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    ));
    e.run(2, &|_| vec![vec![2.5]]);
    assert_eq!(
        e.overflow()[0],
        (
            "input x".to_string(),
            Overflow {
                wrapped: 0,
                saturated: 2
            }
        )
    );
}

#[test]
fn the_uniform_cuba_loop_matches_the_general_one_bit_for_bit() {
    // Random inputs up to ±2^26 (so u wraps at 24 bits), a floor that
    // clips, subtractive and zero resets, refractory periods; 67
    // neurons, so the flags end in a partial word; a bias shared by the
    // group or one per neuron.
    for (subtract, refractory, vmin, own_bias) in [
        (false, 0, -(V_MAX as i32), false),
        (true, 3, -50_000, false),
        (true, 2, -(V_MAX as i32), true),
    ] {
        let mut p = loihi(67, 1000, 300, 500);
        p.reset_subtract = subtract;
        p.refractory = refractory;
        p.vmin = vmin;
        p.bias_mant = (0..67)
            .map(|j| if own_bias { j * 37 % 500 - 250 } else { -120 })
            .collect();
        p.bias_exp = vec![3; 67];
        let mut a = Cuba::new(&p, 67, true);
        let mut b = Cuba::new(&p, 67, true);
        assert!(a.vectorised() && a.uniform() != own_bias);
        let mut rng = Rng::new(11);
        let (mut fa, mut fb) = (Vec::new(), Vec::new());
        for _ in 0..400 {
            let input: Vec<i32> = (0..67)
                .map(|_| (rng.bits(27) - (1 << 26)) as i32 >> (rng.bits(4) as u32))
                .collect();
            let mut sa = input.clone();
            a.step_uniform(Some(&mut sa), [], 0, &mut fa);
            assert!(sa.iter().all(|&x| x == 0));
            b.step(|j| input[j] as i64, 0, &mut fb);
            assert_eq!((&a.u, &a.v, &a.refr), (&b.u, &b.v, &b.refr));
            assert_eq!(fa, fb);
            // The same wraps and saturations (a group that resets to zero
            // counts none at the top: its neurons fire there).
            assert_eq!(a.overflow, b.overflow);
        }
        assert!(!fa.is_empty());
        assert!(a.overflow.wrapped > 0 && a.overflow.saturated > 0);
        assert!(
            a.v.iter().any(|&v| v == vmin.max(-(V_MAX as i32))),
            "the floor is reached"
        );
    }
}

#[test]
fn chunks_of_one_population_on_two_cores_update_as_one_group() {
    // The hand-traced neuron of `loihi_cuba_lif_by_hand`, twice: one on
    // each of two cores, both fed by input channel 0. The two groups
    // are one population with the same constants, so they merge; each
    // neuron still follows the hand trace.
    let mut c = config(
        "loihi",
        "lif",
        1,
        Params::Loihi(loihi(1, 2047, 1024, 2)),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    );
    let second = c.cores[0].clone();
    c.cores.push(second);
    c.cores[1].0.core = 1;
    let m = &mut c.manifest;
    m.cores = 2;
    m.order = vec![(0, 0), (1, 0)];
    m.inputs[0].routes = vec![vec![(0, 0), (1, 0)]];
    for o in &mut m.outputs {
        o.neurons = vec![(0, 0), (1, 0)];
        o.scale = vec![1.0; 2];
    }
    let mut e = Engine::new(c);
    assert_eq!(
        (e.groups.len(), e.order.len(), e.groups[0].count),
        (1, 1, 2)
    );
    let out = e.run(5, &|_| vec![vec![1.0]]);
    for k in 0..2 {
        let s: Vec<f32> = out[0].1.iter().map(|r| r[k]).collect();
        let v: Vec<f32> = out[1].1.iter().map(|r| r[k]).collect();
        assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
        assert_eq!(v, vec![64.0, 0.0, 112.0, 0.0, 124.0]);
    }
}

#[test]
fn per_neuron_and_shared_constants_agree() {
    // Two neurons with the same constants, once stored shared and once
    // per neuron (one of them differs in a constant it never uses:
    // neuron 1's threshold is high, so neuron 0 is the same in both).
    let shared = loihi(2, 2047, 1024, 2);
    let mut apart = loihi(2, 2047, 1024, 2);
    apart.vth[1] = 1000;
    let run = |p: LoihiGroup| {
        let c = config(
            "loihi",
            "lif",
            2,
            Params::Loihi(p),
            &[(0, 0, 1, 0, 0), (0, 1, 1, 0, 0)],
            1,
            vec![vec![], vec![]],
        );
        trace(c, &[1.0; 5], 5, 0)
    };
    let e = Engine::new(config(
        "loihi",
        "lif",
        2,
        Params::Loihi(apart.clone()),
        &[],
        1,
        vec![vec![], vec![]],
    ));
    let cuba = e.groups[0].cuba.as_ref().unwrap();
    assert_eq!((cuba.mask_u, cuba.mask_vth), (0, usize::MAX));
    assert_eq!(run(shared), run(apart));
    // And both match the hand trace of `loihi_cuba_lif_by_hand`.
    let (s, v) = run(loihi(2, 2047, 1024, 2));
    assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
    assert_eq!(v, vec![64.0, 0.0, 112.0, 0.0, 124.0]);
}

#[test]
fn packed_lists_deliver_what_the_plain_lists_do() {
    // Three sources over 5 neurons (3 target bits, 29 mantissa bits):
    // shifts 6 and 0, then one not packed because it has two delays.
    let ptr = [0, 3, 5, 6];
    let target = [0u32, 2, 4, 1, 3, 2];
    let weight = [-64i32 * 3, 128, 64 * 255, -1, 1 << 27, 7];
    let uniform = [0u8, 0, u8::MAX];
    let p = Packed::new(true, 5, &ptr, &target, &weight, &[false; 3], &uniform);
    assert_eq!((p.mbits, p.shift.as_slice()), (29, &[6u8, 0, u8::MAX][..]));
    let mut row = vec![0i32; 5];
    let rings = |row: &mut [i32]| Rings::new(row, &mut [], &mut [], &mut [], &mut [], &mut []);
    assert!(p.deliver(0, 0..3, rings(&mut row), 0));
    assert!(p.deliver(1, 3..5, rings(&mut row), 0));
    assert!(!p.deliver(2, 5..6, rings(&mut row), 0));
    assert_eq!(row, [-192, -1, 128, 1 << 27, 16320]);
    // A mantissa wider than the bits left by the targets: not packed.
    let wide = Packed::new(true, 1 << 22, &[0, 1], &[7], &[1 << 10 | 1], &[false], &[0]);
    assert!(!wide.has(0));
    // One neuron: one target bit, no shift by 32.
    let one = Packed::new(true, 1, &[0, 1], &[0], &[-5], &[false], &[0]);
    let mut row = vec![0i32; 1];
    assert!(one.deliver(0, 0..1, rings(&mut row), 0));
    assert_eq!((one.mbits, row[0]), (31, -5));
    // Float rings never pack.
    assert!(!Packed::new(false, 5, &ptr, &target, &weight, &[false; 3], &uniform).has(0));
}

#[test]
fn loihi_refractory_holds_v() {
    // du 4095 (no current memory), dv 0, weight 64 a step, vth 1 (64):
    // t0 v = 64 (not > 64), t1 128: spike, v = 0; refractory 2: t2, t3
    // hold 0; t4 64; t5 128: spike.
    let mut p = loihi(1, 4095, 0, 1);
    p.refractory = 2;
    let c = config(
        "loihi",
        "lif",
        1,
        Params::Loihi(p),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    );
    let (s, v) = trace(c, &[1.0; 6], 6, 0);
    assert_eq!(s, vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(v, vec![64.0, 0.0, 0.0, 0.0, 64.0, 0.0]);
}

#[test]
fn loihi_voltage_clips_at_24_bits_and_current_wraps() {
    // A leaky integrator with bias 4095 · 2^7 = 524160 a step and no
    // decay: 16 steps give 8386560, the 17th clips to 2^23 − 1.
    let mut p = loihi(1, 4095, 0, 0);
    p.bias_mant = vec![4095];
    p.bias_exp = vec![7];
    let c = config("loihi", "li", 1, Params::Loihi(p), &[], 1, vec![vec![]]);
    let (_, v) = trace(c, &[], 18, 0);
    assert_eq!(v[15], 8_386_560.0);
    assert_eq!(v[16], 8_388_607.0);
    assert_eq!(v[17], 8_388_607.0);
    assert_eq!(wrap24(1 << 23), -(1 << 23));
    assert_eq!(wrap24((1 << 23) - 1), (1 << 23) - 1);
    assert_eq!(wrap24(-(1 << 23) - 1), (1 << 23) - 1);
    // Decay rounds toward zero: 5 · 2048 / 4096 = 2.5 → 2, −2.5 → −2.
    assert_eq!(loihi_decay(5, 2048), 2);
    assert_eq!(loihi_decay(-5, 2048), -2);
}

#[test]
fn loihi_delays_at_the_range_ends() {
    // One input spike at t0 through delays 0 and 62: the neuron with
    // delay 0 sees it at t0, the other at t62.
    let c = config(
        "loihi",
        "li",
        2,
        Params::Loihi(loihi(2, 4095, 0, 0)),
        &[(0, 0, 1, 0, 0), (0, 1, 1, 62, 0)],
        1,
        vec![vec![], vec![]],
    );
    let mut e = Engine::new(c);
    let out = e.run(64, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }]]);
    let v = &out[1].1;
    assert_eq!(v[0], vec![64.0, 0.0]);
    assert_eq!(v[61], vec![64.0, 0.0]);
    assert_eq!(v[62], vec![64.0, 64.0]);
}

fn tn(gamma: u8, kappa: bool, s0: i16, alpha: i32, beta: i32) -> Params {
    Params::TrueNorth(TrueNorthGroup {
        s: vec![[s0, 0, 0, 0]],
        leak: vec![0],
        leak_reversal: false,
        alpha: vec![alpha],
        beta: vec![beta],
        gamma,
        reset_value: 0,
        kappa,
        offset: 0,
        stochastic: None,
        delay: vec![1],
    })
}

/// A TrueNorth neuron with the given stochastic modes, `s0` on axon type
/// 0, leak `leak`, run for `steps` ticks with an input spike every tick;
/// returns the voltage trace (α and β are out of reach).
fn tn_stochastic(st: crate::config::Stochastic, s0: i16, leak: i32, steps: usize) -> Vec<f32> {
    let mut p = tn(2, false, s0, 1 << 20, 1 << 20);
    if let Params::TrueNorth(t) = &mut p {
        t.leak = vec![leak];
        t.stochastic = Some(st);
    }
    let c = config("truenorth", "if", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
    trace(c, &vec![1.0; steps], steps, 0).1
}

fn stochastic(
    synapse0: bool,
    leak: bool,
    threshold_bits: u8,
    seed: u64,
) -> crate::config::Stochastic {
    crate::config::Stochastic {
        synapse: [synapse0, false, false, false],
        leak,
        threshold_bits,
        seed,
    }
}

#[test]
fn truenorth_stochastic_leak_and_synapse_have_the_right_means() {
    // Stochastic leak λ = 64: +1 with probability 64/256 each tick.
    // Over 4000 ticks: mean 1000, σ = √(4000 · 0.25 · 0.75) ≈ 27.4.
    let v = tn_stochastic(stochastic(false, true, 0, 7), 0, 64, 4000);
    let last = *v.last().unwrap();
    assert!((900.0..=1100.0).contains(&last), "{last}");
    // Its steps are 0 or +1, never the deterministic 64.
    assert!(
        v.windows(2)
            .all(|w| w[1] - w[0] == 0.0 || w[1] - w[0] == 1.0)
    );
    // A negative leak steps down: λ = −128, mean −2000 ± 3·31.6.
    let v = tn_stochastic(stochastic(false, true, 0, 7), 0, -128, 4000);
    let last = *v.last().unwrap();
    assert!((-2100.0..=-1900.0).contains(&last), "{last}");
    // Stochastic synapse s = 192: +1 with probability 0.75 per spike.
    let v = tn_stochastic(stochastic(true, false, 0, 7), 192, 0, 4000);
    let last = *v.last().unwrap();
    assert!((2900.0..=3100.0).contains(&last), "{last}");
    // Deterministic synapse for comparison: +192 every tick.
    let v = tn_stochastic(stochastic(false, false, 0, 7), 192, 0, 10);
    assert_eq!(*v.last().unwrap(), 1920.0);
}

#[test]
fn truenorth_leak_reversal_pulls_toward_zero() {
    // s0 = 10, λ = −3, ε = 1, no threshold in reach; input spikes at
    // t1 and t2. The leak is sgn(V) · λ on V after the tick's input:
    //   t0: V = 0 (sgn 0: no leak)
    //   t1: 10 − 3 = 7     t2: 17 − 3 = 14
    //   t3: 11  t4: 8  t5: 5  t6: 2  t7: 2 − 3 = −1 (past zero)
    //   t8: −1 + 3 = 2     t9: −1
    let mut p = tn(2, false, 10, 1 << 18, 1 << 18);
    if let Params::TrueNorth(t) = &mut p {
        t.leak = vec![-3];
        t.leak_reversal = true;
    }
    let c = config("truenorth", "if", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
    let mut input = vec![0.0; 10];
    input[1] = 1.0;
    input[2] = 1.0;
    let (_, v) = trace(c, &input, 10, 0);
    assert_eq!(
        v,
        vec![0.0, 7.0, 14.0, 11.0, 8.0, 5.0, 2.0, -1.0, 2.0, -1.0]
    );
}

#[test]
fn truenorth_stochastic_runs_repeat_with_the_seed_and_differ_without() {
    let a = tn_stochastic(stochastic(true, true, 0, 1), 100, 30, 500);
    let b = tn_stochastic(stochastic(true, true, 0, 1), 100, 30, 500);
    let c = tn_stochastic(stochastic(true, true, 0, 2), 100, 30, 500);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn truenorth_threshold_mask_raises_alpha_by_a_random_eta() {
    // +4 a tick, α = 4, zero reset: without a mask it spikes every
    // tick. With 2 mask bits the threshold α + η is 4..7, uniformly:
    // V = 4 spikes only when η = 0 (probability 1/4); otherwise V = 8
    // on the next tick, which spikes whatever η is.
    let run = |bits: u8| {
        let mut p = tn(0, false, 4, 4, 100);
        if let Params::TrueNorth(t) = &mut p {
            t.stochastic = Some(stochastic(false, false, bits, 3));
        }
        let c = config("truenorth", "if", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
        trace(c, &[1.0; 4000], 4000, 0).0
    };
    assert!(run(0).iter().all(|&s| s == 1.0));
    let s = run(2);
    // After a spike V = 0; the next tick V = 4 spikes with
    // probability 1/4, else the one after (V = 8 ≥ 4 + η always):
    // one spike per 1.75 ticks on average, 2286 of 4000 expected.
    let n = s.iter().filter(|&&x| x == 1.0).count();
    assert!((2150..=2420).contains(&n), "{n}");
    // Never two silent ticks in a row.
    assert!(s.windows(2).all(|w| w[0] + w[1] >= 1.0));
}

#[test]
fn truenorth_reset_modes() {
    // +3 a tick, α = 5.
    let run = |gamma| {
        let c = config(
            "truenorth",
            "if",
            1,
            tn(gamma, false, 3, 5, 100),
            &[(0, 0, 1, 0, 0)],
            1,
            vec![vec![]],
        );
        trace(c, &[1.0; 5], 5, 0)
    };
    // γ = 0, V ← 0: 3, 6 → 0, 3, 6 → 0, 3.
    assert_eq!(
        run(0),
        (vec![0.0, 1.0, 0.0, 1.0, 0.0], vec![3.0, 0.0, 3.0, 0.0, 3.0])
    );
    // γ = 1, V ← V − α: 3, 6 → 1, 4, 7 → 2, 5 → 0.
    assert_eq!(
        run(1),
        (vec![0.0, 1.0, 0.0, 1.0, 1.0], vec![3.0, 1.0, 4.0, 2.0, 0.0])
    );
    // γ = 2, no reset: 3, 6, 9, 12, 15, spiking from the second tick.
    assert_eq!(
        run(2),
        (
            vec![0.0, 1.0, 1.0, 1.0, 1.0],
            vec![3.0, 6.0, 9.0, 12.0, 15.0]
        )
    );
}

#[test]
fn truenorth_negative_threshold() {
    // −4 a tick, β = 6. κ: saturate at −6. Without κ and γ = 0: reset
    // to −R = 0 below −6.
    let c = config(
        "truenorth",
        "if",
        1,
        tn(0, true, -4, 5, 6),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    );
    assert_eq!(trace(c, &[1.0; 4], 4, 0).1, vec![-4.0, -6.0, -6.0, -6.0]);
    let c = config(
        "truenorth",
        "if",
        1,
        tn(0, false, -4, 5, 6),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    );
    assert_eq!(trace(c, &[1.0; 4], 4, 0).1, vec![-4.0, 0.0, -4.0, 0.0]);
    // γ = 1 below −β: V ← V + β: −4, −8 + 6 = −2, −6, −10 + 6 = −4.
    let c = config(
        "truenorth",
        "if",
        1,
        tn(1, false, -4, 5, 6),
        &[(0, 0, 1, 0, 0)],
        1,
        vec![vec![]],
    );
    assert_eq!(trace(c, &[1.0; 4], 4, 0).1, vec![-4.0, -2.0, -6.0, -4.0]);
}

#[test]
fn bf16_ties_go_to_even() {
    assert_eq!(bf16(1.0 + 2f32.powi(-8)), 1.0);
    assert_eq!(bf16(1.0 + 3.0 * 2f32.powi(-8)), 1.0 + 2f32.powi(-6));
    assert_eq!(from_bf16(to_bf16(0.3)), 77.0 / 256.0);
}

#[test]
fn seneca_lif_in_bf16() {
    // α_syn 0, α_mem 0.5, threshold 1, weight 0.3 (bf16 0.30078125).
    // v: 0.30078125, 0.451171875 (0.150390625 + 0.30078125),
    // 0.5263671875 → bf16 0.52734375 ... computed step by step below.
    let p = SenecaGroup {
        alpha_syn: vec![to_bf16(0.0)],
        alpha_mem: vec![to_bf16(0.5)],
        threshold: vec![to_bf16(1.0)],
        bias: vec![0],
        v_min: to_bf16(f32::NEG_INFINITY),
        refractory: 0,
        reset_subtract: false,
        rho: vec![0],
        beta: vec![0],
        lo: 0,
        hi: 0,
    };
    let c = config(
        "seneca",
        "lif",
        1,
        Params::Seneca(p),
        &[(0, 0, to_bf16(0.3) as i32, 0, 0)],
        1,
        vec![vec![]],
    );
    let (_, v) = trace(c, &[1.0; 3], 3, 0);
    let w = 77.0f32 / 256.0;
    let v0 = w;
    let v1 = bf16(bf16(0.5 * v0) + w);
    let v2 = bf16(bf16(0.5 * v1) + w);
    assert_eq!(v, vec![v0, v1, v2]);
    assert_eq!(v1, 231.0 / 512.0);
    assert_eq!(v2, 135.0 / 256.0);
}

#[test]
fn a_three_neuron_chain_fires_in_order() {
    // Input → n0 → n1 → n2, IF neurons (du 4095, dv 0), vth 1 (64),
    // weights of mantissa 2 (128), one step of delay between neurons of
    // the group: the input spike at t1 makes n0 fire at t1, n1 at t2,
    // n2 at t3.
    let syn = [(0, 0, 2, 0, 0), (1, 1, 2, 1, 0), (2, 2, 2, 1, 0)];
    let routes = vec![vec![(0, 1)], vec![(0, 2)], vec![]];
    let c = config(
        "loihi",
        "if",
        3,
        Params::Loihi(loihi(3, 4095, 0, 1)),
        &syn,
        1,
        routes,
    );
    let mut e = Engine::new(c);
    let out = e.run(5, &|t| vec![vec![if t == 1 { 1.0 } else { 0.0 }]]);
    assert_eq!(
        out[0].1,
        vec![
            vec![0.0, 0.0, 0.0],
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
            vec![0.0, 0.0, 0.0]
        ]
    );
    assert_eq!(e.stats.spikes, 3);
    assert_eq!(e.stats.synaptic_events, 3);
}

#[test]
fn write_read_round_trip_and_validation() {
    let c = config(
        "loihi",
        "lif",
        1,
        Params::Loihi(loihi(1, 2047, 1024, 2)),
        &[(0, 0, 1, 3, 0)],
        1,
        vec![vec![]],
    );
    let dir = std::env::temp_dir().join(format!("snn-config-{}", std::process::id()));
    c.write(&dir).unwrap();
    assert_eq!(Config::read(&dir).unwrap(), c);
    // Two runs, the same bits.
    let run = |c: Config| Engine::new(c).run(20, &|_| vec![vec![0.7]]);
    assert_eq!(run(c.clone()), run(c.clone()));
    // A hand-edited threshold out of range.
    let core = dir.join("core-0.json");
    let text = std::fs::read_to_string(&core).unwrap();
    std::fs::write(
        &core,
        text.replacen(
            "\"vth\": [\n            2\n          ]",
            "\"vth\": [\n            200000\n          ]",
            1,
        ),
    )
    .unwrap();
    let e = Config::read(&dir).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: groups[0].params.vth[0]: 200000 out of range 0..=131071",
            core.display()
        )
    );
    // A truncated synapse file.
    c.write(&dir).unwrap();
    let syn = dir.join("core-0.syn");
    let bytes = std::fs::read(&syn).unwrap();
    std::fs::write(&syn, &bytes[..bytes.len() - 1]).unwrap();
    let e = Config::read(&dir).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: 37 bytes, but 1 axons and 1 synapses need 38",
            syn.display()
        )
    );
    // A synapse format the target does not have (the last byte is the
    // one synapse's kind; the group has one format).
    let mut edited = bytes.clone();
    *edited.last_mut().unwrap() = 7;
    std::fs::write(&syn, &edited).unwrap();
    let e = Config::read(&dir).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: synapse 0: kind 7 out of range (its target's group `p` has 1 synapse formats)",
            syn.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The TrueNorth group loop (no stochastic mode) and the general
/// per-neuron update (forced by a stochastic mode with every draw off)
/// give the same spikes and potentials, tick for tick, in every reset
/// mode, with and without κ and leak reversal.
#[test]
fn truenorth_group_loop_matches_the_general_update_bit_for_bit() {
    let n = 6u32;
    // Inputs on axons 0 and 1; neuron i sends to axon 2 + i (delay 1).
    let mut syn = Vec::new();
    for a in 0..2 + n {
        for t in 0..n {
            if (a * 7 + t * 3) % 4 != 0 {
                syn.push((a, t, 1, u8::from(a >= 2), ((a + t) % 4) as u8));
            }
        }
    }
    let routes: Vec<Vec<(u32, u32)>> = (0..n).map(|i| vec![(0, 2 + i)]).collect();
    let input: Vec<Vec<f32>> = (0..300)
        .map(|t| vec![(t % 3 == 0) as u8 as f32, (t % 7 < 3) as u8 as f32])
        .collect();
    for gamma in 0..3u8 {
        for kappa in [false, true] {
            for reversal in [false, true] {
                let group = |stochastic| TrueNorthGroup {
                    s: vec![
                        [40, -30, 25, -60],
                        [90, 10, -45, 5],
                        [-20, 70, 35, -10],
                        [55, -55, 60, 20],
                        [15, 25, -80, 95],
                        [-35, 45, 50, -25],
                    ],
                    leak: vec![-3, 2, 0, -5, 1, -1],
                    leak_reversal: reversal,
                    alpha: vec![100, 120, 90, 150, 80, 110],
                    beta: vec![50, 60, 0, 70, 40, 30],
                    gamma,
                    reset_value: 2,
                    kappa,
                    offset: 0,
                    stochastic,
                    delay: vec![1; n as usize],
                };
                let run = |stochastic| {
                    let c = config(
                        "truenorth",
                        "if",
                        n,
                        Params::TrueNorth(group(stochastic)),
                        &syn,
                        2,
                        routes.clone(),
                    );
                    let mut e = Engine::new(c);
                    let x = input.clone();
                    e.run(300, &move |t| vec![x[t].clone()])
                };
                let off = crate::config::Stochastic {
                    synapse: [false; 4],
                    leak: false,
                    threshold_bits: 0,
                    seed: 1,
                };
                let fast = run(None);
                let general = run(Some(off));
                assert_eq!(fast, general, "γ {gamma}, κ {kappa}, reversal {reversal}");
                let spikes: f32 = fast[0].1.iter().flatten().sum();
                assert!(spikes > 20.0, "γ {gamma}, κ {kappa}: {spikes} spikes");
            }
        }
    }
}

/// The SENeCA group loop and the general per-neuron update give the same
/// spikes, voltages and currents, step for step, for `lif`, `if` and `li`
/// with per-neuron constants, both resets, a refractory period and a floor.
#[test]
fn seneca_group_loop_matches_the_general_update_bit_for_bit() {
    // 37 neurons: a block of 32 flags and a tail.
    let n = 37u32;
    let mut syn = Vec::new();
    for a in 0..2 + n {
        for t in 0..n {
            if (a * 5 + t * 2) % 3 != 0 {
                let w = [0.31, -0.27, 0.45, 0.12, -0.4][((a + t) % 5) as usize];
                syn.push((a, t, to_bf16(w) as i32, u8::from(a >= 2), 0u8));
            }
        }
    }
    let routes: Vec<Vec<(u32, u32)>> = (0..n).map(|i| vec![(0, 2 + i)]).collect();
    let input: Vec<Vec<f32>> = (0..200)
        .map(|t| vec![(t % 2 == 0) as u8 as f32, (t % 5 < 2) as u8 as f32])
        .collect();
    // The five constants repeat over the neurons.
    let bf = |v: &[f32]| {
        (0..n as usize)
            .map(|j| to_bf16(v[j % 5]))
            .collect::<Vec<u16>>()
    };
    for model in ["lif", "if", "li"] {
        for subtract in [false, true] {
            let p = SenecaGroup {
                alpha_syn: bf(&[0.5, 0.25, 0.0, 0.75, 0.125]),
                alpha_mem: bf(&[0.9, 0.95, 0.8, 1.0, 0.6]),
                threshold: bf(&[1.0, 0.7, 1.3, 0.9, 0.5]),
                bias: bf(&[0.05, 0.0, 0.1, -0.02, 0.03]),
                v_min: to_bf16(-0.5),
                refractory: 2,
                reset_subtract: subtract,
                rho: vec![0; n as usize],
                beta: vec![0; n as usize],
                lo: 0,
                hi: 0,
            };
            let run = |general: bool| {
                let c = config(
                    "seneca",
                    model,
                    n,
                    Params::Seneca(p.clone()),
                    &syn,
                    2,
                    routes.clone(),
                );
                let e = Engine::new(c);
                let mut e = if general { e.general_updates() } else { e };
                let x = input.clone();
                let out = e.run(200, &move |t| vec![x[t].clone()]);
                (out, e.stats.spikes)
            };
            let (fast, fast_spikes) = run(false);
            let (general, general_spikes) = run(true);
            assert_eq!(fast, general, "{model}, subtract {subtract}");
            assert_eq!(fast_spikes, general_spikes);
            if model != "li" {
                assert!(fast_spikes > 20, "{model}: {fast_spikes} spikes");
            }
        }
    }
}

/// Delivery shared among threads gives the same bits as one thread, on
/// Loihi (integer rings, several delays) and SENeCA (bfloat16 sums, where
/// the order of the terms matters), every batch shared.
#[test]
fn threads_share_delivery_without_changing_a_bit() {
    let n = 400u32;
    let mut syn = Vec::new();
    // 8 inputs to 200 targets each; neuron i to 50 targets, delays 1 to 3,
    // written in no particular target order.
    for a in 0..8 + n {
        let fan = if a < 8 { 200 } else { 50 };
        for k in 0..fan {
            let t = (a * 37 + k * 101) % n;
            let w = if (a + k) % 5 == 0 { -3 } else { 2 };
            // Kind 1 has a negative exponent in the second Loihi group.
            syn.push((a, t, w, 1 + ((a + k) % 3) as u8, ((a + k) % 2) as u8));
        }
    }
    let routes: Vec<Vec<(u32, u32)>> = (0..n).map(|i| vec![(0, 8 + i)]).collect();
    let input: Vec<Vec<f32>> = (0..120)
        .map(|t| (0..8).map(|c| ((t + c) % 3 == 0) as u8 as f32).collect())
        .collect();
    let loihi_group = Params::Loihi(loihi(n as usize, 2047, 512, 3));
    // Exponent −2 for kind 1: every list mixes both rings, and the
    // negative ring's sums are floored per step.
    let mut p = loihi(n as usize, 2047, 512, 3);
    p.formats = vec![0, -2];
    let loihi_negative = Params::Loihi(p);
    let bf = |x: f32| vec![to_bf16(x); n as usize];
    let seneca_group = Params::Seneca(SenecaGroup {
        alpha_syn: bf(0.5),
        alpha_mem: bf(0.9),
        threshold: bf(1.0),
        bias: bf(0.0),
        v_min: to_bf16(f32::NEG_INFINITY),
        refractory: 1,
        reset_subtract: false,
        rho: vec![0; n as usize],
        beta: vec![0; n as usize],
        lo: 0,
        hi: 0,
    });
    for (backend, params, scale) in [
        ("loihi", loihi_group, 64),
        ("loihi", loihi_negative, 64),
        ("seneca", seneca_group, to_bf16(0.13) as i32),
    ] {
        let syn: Vec<_> = syn
            .iter()
            .map(|&(a, t, w, d, k)| {
                let w = if backend == "loihi" {
                    w * scale
                } else if w < 0 {
                    to_bf16(-0.21) as i32
                } else {
                    scale
                };
                (a, t, w, d, k)
            })
            .collect();
        let run = |threads: usize, batch: bool| {
            let c = config(backend, "lif", n, params.clone(), &syn, 8, routes.clone());
            let mut e = Engine::new(c);
            // No synapse of delay 0: a tick's spikes go out in one batch.
            assert!(e.batch_ticks, "{backend}");
            assert_eq!(e.stages, [0, 1]);
            e.batch_ticks = batch;
            e.set_threads(threads);
            e.par_work = 0;
            // With batches, the group updates are shared too: Loihi's
            // uniform group is cut at each share.
            let shared = batch && threads > 1;
            let splits: Vec<usize> = e.update_split.iter().map(|s| s.1.len()).collect();
            assert_eq!(splits, if shared { vec![threads + 1] } else { vec![] });
            let pieces = if shared && backend == "loihi" {
                threads
            } else {
                1
            };
            assert_eq!(e.groups.len(), pieces, "{backend} on {threads} threads");
            let x = input.clone();
            let out = e.run(120, &move |t| vec![x[t].clone()]);
            (out, e.stats.clone())
        };
        let (one, stats) = run(1, false);
        assert!(stats.spikes > 500, "{backend}: {} spikes", stats.spikes);
        for threads in [1, 2, 3] {
            let (many, s) = run(threads, true);
            assert_eq!(many, one, "{backend} on {threads} threads");
            assert_eq!(s, stats, "{backend} on {threads} threads");
        }
        let (many, _) = run(2, false);
        assert_eq!(many, one, "{backend} on 2 threads, group by group");
        // The flat recording holds the same rows: a spike raster, written
        // only where there are spikes, and the voltages.
        let c = config(backend, "lif", n, params.clone(), &syn, 8, routes.clone());
        let x = input.clone();
        let mut flat = vec![
            Recording::Spikes(Vec::new()),
            Recording::Values(vec![0.0; 120 * n as usize]),
        ];
        Engine::new(c).run_into(120, &move |t| vec![x[t].clone()], &mut flat);
        let raster: Vec<u64> = one[0]
            .1
            .concat()
            .iter()
            .enumerate()
            .filter(|&(_, &x)| x != 0.0)
            .map(|(p, _)| p as u64)
            .collect();
        assert_eq!(flat[0], Recording::Spikes(raster), "{backend}: spikes");
        assert_eq!(
            flat[1],
            Recording::Values(one[1].1.concat()),
            "{backend}: voltages"
        );
    }
}

/// Two chunks of one population whose biases differ join into one group
/// with a bias per neuron (one loop a tick), and give the same spikes and
/// voltages as two groups; cut again for two threads, the same too.
#[test]
fn chunks_with_different_biases_join_with_a_bias_per_neuron() {
    let n = 40u32;
    let mut syn: Vec<(u32, u32, i32, u8, u8)> = vec![(0, 0, 192, 1, 0), (1, 20, 192, 1, 0)];
    for i in 0..n {
        syn.push((2 + i, (i + 3) % n, 64, 1, 0));
    }
    let routes: Vec<Vec<(u32, u32)>> = (0..n).map(|i| vec![(0, 2 + i)]).collect();
    let input: Vec<Vec<f32>> = (0..80)
        .map(|t| vec![(t % 5 == 0) as u8 as f32, (t % 7 == 0) as u8 as f32])
        .collect();
    // Chunk 0..20 with bias 3 (a shared one), 20..40 with 1, 2, 3, 1, ...
    let chunks = |names: [&'static str; 2]| {
        two_halves(n, &syn, 2, routes.clone(), |k| {
            let mut p = loihi((n / 2) as usize, 2047, 512, 4);
            p.bias_mant = (0..n / 2)
                .map(|j| if k == 0 { 3 } else { 1 + j as i16 % 3 })
                .collect();
            (names[k], p)
        })
    };
    let run = |c: Config, threads: usize| {
        let mut e = Engine::new(c);
        e.set_threads(threads);
        e.par_work = 0;
        let biases = e
            .groups
            .iter()
            .map(|g| g.cuba.as_ref().map_or(0, |c| c.bias.len()));
        let shape: Vec<(usize, usize)> = e.groups.iter().map(|g| g.count).zip(biases).collect();
        let x = input.clone();
        (e.run(80, &move |t| vec![x[t].clone()]), shape)
    };
    let (two, shape) = run(chunks(["a", "b"]), 1);
    assert_eq!(shape, [(20, 1), (20, 20)]);
    assert!(two[0].1.iter().flatten().sum::<f32>() > 20.0);
    let (one, shape) = run(chunks(["p", "p"]), 1);
    assert_eq!(shape, [(40, 40)]);
    assert_eq!(one, two);
    let (cut, shape) = run(chunks(["p", "p"]), 2);
    assert_eq!(shape, [(20, 20), (20, 20)]);
    assert_eq!(cut, two);
}

/// A synapse of delay 0 is read in the same tick: the stage of its source
/// ends before the group of its target, if that comes later in the
/// order. Group by group, staged, and staged on threads (where the Loihi
/// groups are cut in two) give the same bits.
#[test]
fn a_synapse_of_delay_0_ends_a_stage_before_its_target_group() {
    let n = 40u32;
    // Neuron i (axon 2 + i) feeds i + 1 and i + 7 (delays 1 and 2), but
    // neuron 25, which only the last of group a (neuron 19) feeds, at
    // delay 0 and enough to fire it in the same tick.
    // (Loihi weights: mantissas times 2^6.)
    let mut syn: Vec<(u32, u32, i32, u8, u8)> = vec![(0, 0, 192, 1, 0), (1, 20, 192, 1, 0)];
    for i in 0..n {
        for (t, d) in [((i + 1) % n, 1), ((i + 7) % n, 2)] {
            if t != 25 {
                syn.push((2 + i, t, 64, d, 0));
            }
        }
    }
    syn.push((2 + 19, 25, 192, 0, 0));
    let routes: Vec<Vec<(u32, u32)>> = (0..n).map(|i| vec![(0, 2 + i)]).collect();
    let input: Vec<Vec<f32>> = (0..60)
        .map(|t| vec![(t % 3 == 0) as u8 as f32, (t % 4 == 0) as u8 as f32])
        .collect();
    // Groups a (0..20) and b (20..40), in that order.
    let two = |syn: &[(u32, u32, i32, u8, u8)]| {
        two_halves(n, syn, 2, routes.clone(), |k| {
            (["a", "b"][k], loihi((n / 2) as usize, 2047, 512, 2))
        })
    };
    let c = two(&syn);
    let run = |c: &Config, batch: bool, threads: usize| {
        let mut e = Engine::new(c.clone());
        e.batch_ticks = batch;
        e.set_threads(threads);
        e.par_work = 0;
        let x = input.clone();
        (
            e.run(60, &move |t| vec![x[t].clone()]),
            e.stats.clone(),
            e.stages.clone(),
        )
    };
    let (one, stats, stages) = run(&c, false, 1);
    assert_eq!(stages, [0, 1, 2]);
    let raster = |j: usize| -> Vec<f32> { one[0].1.iter().map(|r| r[j]).collect() };
    assert!(raster(19).iter().sum::<f32>() > 5.0);
    assert_eq!(raster(25), raster(19));
    let (staged, s, _) = run(&c, true, 1);
    assert_eq!((&staged, &s), (&one, &stats));
    // Two threads cut each group in two: stages of two pieces each.
    let (shared, s, stages) = run(&c, true, 2);
    assert_eq!(stages, [0, 2, 4]);
    assert_eq!((&shared, &s), (&one, &stats));
    // From b back to a at delay 0 (a comes first): one stage.
    let k = syn.len() - 1;
    syn[k] = (2 + 25, 3, 192, 0, 0);
    assert_eq!(Engine::new(two(&syn)).stages, [0, 2]);
}

#[test]
fn a_voltage_change_readout_gives_what_each_step_added() {
    // A TrueNorth integrator (s0 = 3, λ = 1, thresholds out of reach), 4
    // ticks a step, the input rate-coded: 1 spikes every tick, 0.5 every
    // second (the encoder's remainder reaches 1 on a step's ticks 2 and 4),
    // 0 never. An input spike lands in its own tick (delay 0), so a tick
    // adds 3 + 1 with a spike and 1 without:
    //   step 0 (x = 1):   4 + 4 + 4 + 4 → V = 16, change 16
    //   step 1 (x = 0.5): 1 + 4 + 1 + 4 → V = 26, change 10
    //   step 2 (x = 0):   1 + 1 + 1 + 1 → V = 30, change 4
    //   step 3 (x = 1):   4 + 4 + 4 + 4 → V = 46, change 16
    let mut p = tn(2, false, 3, 1 << 18, 1 << 18);
    if let Params::TrueNorth(t) = &mut p {
        t.leak = vec![1];
    }
    let mut c = config("truenorth", "li", 1, p, &[(0, 0, 1, 0, 0)], 1, vec![vec![]]);
    c.manifest.ticks_per_step = 4;
    let mut dv = c.manifest.outputs[1].clone();
    dv.name = "dv".into();
    dv.read = Readout::VoltageChange;
    c.manifest.outputs.push(dv);
    let mut e = Engine::new(c);
    let input = [1.0, 0.5, 0.0, 1.0];
    let out = e.run(4, &|t| vec![vec![input[t]]]);
    let column = |k: usize| -> Vec<f32> { out[k].1.iter().map(|r| r[0]).collect() };
    assert_eq!(column(1), vec![16.0, 26.0, 30.0, 46.0]);
    assert_eq!(column(2), vec![16.0, 10.0, 4.0, 16.0]);
    // `run_into` records the same.
    let mut e = Engine::new(e.config().clone());
    let mut rec = vec![
        Recording::Spikes(Vec::new()),
        Recording::Values(vec![0.0; 4]),
        Recording::Values(vec![0.0; 4]),
    ];
    e.run_into(4, &|t| vec![vec![input[t]]], &mut rec);
    assert_eq!(rec[2], Recording::Values(vec![16.0, 10.0, 4.0, 16.0]));
}

#[test]
fn a_list_of_a_few_delays_is_cut_into_runs_of_one() {
    // Source 0: delays 0, 0, 1, 1 → runs ending at 2 (delay 0), 4 (1).
    // Source 1: one delay (uniform): no runs. Source 2: 0, 1, 0 → three
    // runs. Source 3: ten alternating delays → more than MAX_DELAY_RUNS,
    // none (each synapse then takes its own delay).
    let mut delay = vec![0, 0, 1, 1, 1, 1, 1, 0, 1, 0];
    delay.extend((0..10).map(|k| (k % 2) as u8));
    let ptr = [0, 4, 7, 10, 20];
    let uniform = [u8::MAX, 1, u8::MAX, u8::MAX];
    let (run_ptr, runs) = delay_runs(&ptr, &delay, &uniform);
    assert_eq!(run_ptr, vec![0, 2, 2, 5, 5]);
    assert_eq!(runs, vec![(2, 0), (4, 1), (8, 0), (9, 1), (10, 0)]);
}

#[test]
fn a_spike_to_targets_of_different_delays_lands_at_each() {
    // A TrueNorth axon reaches neuron 0 at delay 0, neurons 1 and 2 at
    // delay 2 and neuron 3 at delay 0 again (weights 1, 2, 3, 4; λ = 0,
    // thresholds out of reach): one input spike at tick 0 adds 1 and 4 to
    // neurons 0 and 3 at tick 0, and 2 and 3 to neurons 1 and 2 at tick 2;
    // on two threads, each delivering its half of the targets, the same.
    let n = 4;
    let p = Params::TrueNorth(TrueNorthGroup {
        s: vec![[1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0], [4, 0, 0, 0]],
        leak: vec![0; n],
        leak_reversal: false,
        alpha: vec![1 << 18; n],
        beta: vec![1 << 18; n],
        gamma: 2,
        reset_value: 0,
        kappa: false,
        offset: 0,
        stochastic: None,
        delay: vec![1; n],
    });
    let syn = [
        (0, 0, 1, 0, 0),
        (0, 1, 1, 2, 0),
        (0, 2, 1, 2, 0),
        (0, 3, 1, 0, 0),
    ];
    let c = config("truenorth", "if", n as u32, p, &syn, 1, vec![vec![]; n]);
    for threads in [1, 2] {
        let mut e = Engine::new(c.clone());
        e.set_threads(threads);
        let out = e.run(4, &|t| vec![vec![if t == 0 { 1.0 } else { 0.0 }]]);
        let v: Vec<Vec<f32>> = out[1].1.clone();
        assert_eq!(v[0], vec![1.0, 0.0, 0.0, 4.0], "{threads} threads");
        assert_eq!(v[1], vec![1.0, 0.0, 0.0, 4.0], "{threads} threads");
        assert_eq!(v[2], vec![1.0, 2.0, 3.0, 4.0], "{threads} threads");
        assert_eq!(v[3], vec![1.0, 2.0, 3.0, 4.0], "{threads} threads");
    }
}
