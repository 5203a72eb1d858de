//! The networks `snnc bench --runtime` times, written as `.snn` files (and,
//! for the user-style CUBA network, the `.npz` weights beside it).
//!
//! - `cuba`: the Brette et al. (2007) CUBA benchmark as seeded sparse
//!   initializers, driven hard enough to fire at about 19 Hz;
//! - `user-cuba`: the same network written as a user would: `lif`
//!   populations with a refractory period and reset to zero, and the
//!   connectivity saved by numpy as four dense `[targets, sources]`
//!   blocks, 98% zeros (`bench/brian2_cuba.py` builds it in Brian2 from
//!   the same file);
//! - `low-rate`, `high-rate`: 10,000 integrate-and-fire neurons (8,000
//!   excitatory, 2,000 inhibitory, 100 random inputs each, per-neuron
//!   biases) at about 2 Hz and about 100 Hz (TrueNorth cannot place them:
//!   a TrueNorth neuron sends to one core, these to many);
//! - `blocks`: 64 blocks of 256 integrate-and-fire neurons connected
//!   within their block only, the connectivity TrueNorth's crossbars hold
//!   (one core per block), so that every chip runs one network;
//! - `recurrent-100k`: 100,000 LIF neurons with 100 random inputs each.

use std::path::{Path, PathBuf};

use snn_ir::tensor::{Dist, Init};

use crate::arrays::{self, Array};
use crate::driver::Report;

/// One benchmark network: its name and how to write it into a directory.
pub struct Network {
    /// Its name in the bench's table.
    pub name: &'static str,
    /// What it is, for the bench's header.
    pub about: &'static str,
    write: fn(&Path) -> Result<PathBuf, Report>,
}

impl Network {
    /// Writes the network's files into `dir` (which exists) and returns the
    /// path of its `.snn` file.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, Report> {
        (self.write)(dir)
    }
}

/// Every network of the runtime bench, in the order it runs them.
pub fn networks() -> Vec<Network> {
    vec![
        Network {
            name: "cuba",
            about: "Brette et al. CUBA, 4000 LIF, seeded sparse weights, ~19 Hz",
            write: |dir| write_source(dir, "cuba", &cuba_source()),
        },
        Network {
            name: "user-cuba",
            about: "the same written as a user would: refractory 4, reset to zero, dense .npz blocks",
            write: write_user_cuba,
        },
        Network {
            name: "low-rate",
            about: "10,000 IF neurons, 100 inputs each, ~2 Hz",
            write: |dir| write_source(dir, "low-rate", &rate_source(RATE_LOW_BIAS)),
        },
        Network {
            name: "high-rate",
            about: "the same at ~100 Hz",
            write: |dir| write_source(dir, "high-rate", &rate_source(RATE_HIGH_BIAS)),
        },
        Network {
            name: "blocks",
            about: "64 blocks of 256 IF neurons, 77 inputs each from its own block, ~20 Hz (fits TrueNorth's crossbars)",
            write: |dir| write_source(dir, "blocks", &blocks_source()),
        },
        Network {
            name: "recurrent-100k",
            about: "100,000 LIF neurons, 100 random inputs each",
            write: |dir| write_source(dir, "recurrent-100k", &recurrent_source(100_000, 100)),
        },
    ]
}

fn write_source(dir: &Path, name: &str, source: &str) -> Result<PathBuf, Report> {
    let path = dir.join(format!("{name}.snn"));
    std::fs::write(&path, source)
        .map_err(|e| Report::error("E0202", format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// The Brette et al. (2007) CUBA benchmark: 3200 excitatory and 800
/// inhibitory LIF neurons, each receiving from 2% of all (80 inputs),
/// driven by a bias above threshold so that activity is sustained.
pub fn cuba_source() -> String {
    "timestep 1ms;\n\
     population e: lif[3200] { tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; bias = 0.06; refractory = 5; }\n\
     population i: lif[800] { tau_mem = 20ms; tau_syn = 10ms; threshold = 1.0; bias = 0.06; refractory = 5; }\n\
     e -> e { weight = sparse(density=0.02, values=0.02, seed=1); }\n\
     e -> i { weight = sparse(density=0.02, values=0.02, seed=2); }\n\
     i -> e { weight = sparse(density=0.02, values=-0.1, seed=3); }\n\
     i -> i { weight = sparse(density=0.02, values=-0.1, seed=4); }\n\
     output spikes = e;\n\
     output spikes_i = i;\n"
        .to_string()
}

/// Sizes of the user-style CUBA network.
pub const USER_CUBA_E: u32 = 3200;
/// Inhibitory neurons of the user-style CUBA network.
pub const USER_CUBA_I: u32 = 800;
/// Connection probability of the user-style CUBA network.
pub const USER_CUBA_P: f64 = 0.02;
/// Excitatory weight: Brette et al.'s 1.62 mV jump of a 5 ms synaptic
/// current into a 20 ms membrane, in units of the 10 mV from reset to
/// threshold, as a current step `i += w` that `v` integrates each step.
pub const USER_CUBA_WE: f32 = 0.0073;
/// Inhibitory weight (their −9 mV, 10 ms current, by the same rule).
pub const USER_CUBA_WI: f32 = -0.08;

/// The user-style CUBA network's source; its weights are in
/// `weights.npz` beside it (see [`write_user_cuba`]).
pub fn user_cuba_source() -> String {
    let e = USER_CUBA_E;
    let i = USER_CUBA_I;
    format!(
        "// The Brette et al. (2007) CUBA network: 4000 LIF neurons, 80% excitatory,\n\
         // connected with probability 0.02. The connectivity was saved with numpy\n\
         // as dense [targets, sources] blocks.\n\
         timestep 1ms;\n\
         \n\
         const e_to_e: [{e}, {e}] = load(\"weights.npz\", \"e_to_e\");\n\
         const e_to_i: [{i}, {e}] = load(\"weights.npz\", \"e_to_i\");\n\
         const i_to_e: [{e}, {i}] = load(\"weights.npz\", \"i_to_e\");\n\
         const i_to_i: [{i}, {i}] = load(\"weights.npz\", \"i_to_i\");\n\
         \n\
         // Leak towards 1.1 (El = -49 mV, reset -60 mV, threshold -50 mV).\n\
         population e: lif[{e}] {{ tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; bias = 0.055; reset = zero; refractory = 4; }}\n\
         population i: lif[{i}] {{ tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; bias = 0.055; reset = zero; refractory = 4; }}\n\
         \n\
         e -> e {{ weight = e_to_e; }}\n\
         e -> i {{ weight = e_to_i; }}\n\
         i -> e {{ weight = i_to_e; }}\n\
         i -> i {{ weight = i_to_i; }}\n\
         \n\
         output e_spikes = e;\n\
         output i_spikes = i;\n"
    )
}

/// A dense `[rows, cols]` block with each entry `value` with probability
/// `p` (the seeded generator of `sparse(...)`), zeros elsewhere.
fn dense_block(rows: u32, cols: u32, value: f32, seed: u64) -> Result<Array, Report> {
    let init = Init::Sparse {
        density: USER_CUBA_P,
        dist: Dist::Constant(value),
        seed,
    };
    let data = init
        .generate(&[rows, cols])
        .map_err(|e| Report::error("E0900", format!("weight generation failed: {e}")))?;
    let (pattern, values) = match (&data.pattern, data.values.as_f32()) {
        (Some(p), Some(v)) => (p, v),
        _ => {
            return Err(Report::error(
                "E0900",
                "weight generation gave no sparse block",
            ));
        }
    };
    let cols_u = cols as usize;
    let mut dense = vec![0.0f32; rows as usize * cols_u];
    for r in 0..rows as usize {
        for k in pattern.row(r) {
            dense[r * cols_u + pattern.col_idx[k] as usize] = values[k];
        }
    }
    Ok(Array::f32(vec![rows as usize, cols_u], dense))
}

/// Writes `user-cuba/model.snn` and `user-cuba/weights.npz` (uncompressed,
/// as `numpy.savez` writes it) under `dir`.
pub fn write_user_cuba(dir: &Path) -> Result<PathBuf, Report> {
    let sub = dir.join("user-cuba");
    std::fs::create_dir_all(&sub)
        .map_err(|e| Report::error("E0202", format!("cannot create {}: {e}", sub.display())))?;
    let (e, i) = (USER_CUBA_E, USER_CUBA_I);
    let blocks = [
        ("e_to_e", dense_block(e, e, USER_CUBA_WE, 11)?),
        ("e_to_i", dense_block(i, e, USER_CUBA_WE, 12)?),
        ("i_to_e", dense_block(e, i, USER_CUBA_WI, 13)?),
        ("i_to_i", dense_block(i, i, USER_CUBA_WI, 14)?),
    ];
    let named: Vec<(&str, &Array)> = blocks.iter().map(|(n, a)| (*n, a)).collect();
    arrays::write_npz(&sub.join("weights.npz"), &named)
        .map_err(|e| Report::error("E0202", e.to_string()))?;
    write_source(&sub, "model", &user_cuba_source())
}

/// Mean bias of the low-rate network (a drift of the membrane per step).
const RATE_LOW_BIAS: f64 = 0.003;
/// Mean bias of the high-rate network.
const RATE_HIGH_BIAS: f64 = 0.17;

/// 10,000 integrate-and-fire neurons (8,000 excitatory, 2,000 inhibitory),
/// each with 80 excitatory and 20 inhibitory inputs, driven by a bias
/// drawn per neuron from `[0, 2 * bias)` (so that they do not all fire in
/// the same step); the inhibition halves the rate the bias alone gives.
pub fn rate_source(bias: f64) -> String {
    let hi = 2.0 * bias;
    format!(
        "timestep 1ms;\n\
         const be: [8000] = uniform(0, {hi}, seed=25);\n\
         const bi: [2000] = uniform(0, {hi}, seed=26);\n\
         population e: if[8000] {{ threshold = 1.0; bias = be; }}\n\
         population i: if[2000] {{ threshold = 1.0; bias = bi; }}\n\
         e -> e {{ weight = sparse(density=0.01, values=0.05, seed=21); }}\n\
         e -> i {{ weight = sparse(density=0.01, values=0.05, seed=22); }}\n\
         i -> e {{ weight = sparse(density=0.01, values=-0.25, seed=23); }}\n\
         i -> i {{ weight = sparse(density=0.01, values=-0.25, seed=24); }}\n\
         output spikes = e;\n\
         output spikes_i = i;\n"
    )
}

/// Blocks of the `blocks` network, and neurons in each (one TrueNorth
/// core's worth).
const BLOCKS: u32 = 64;
const BLOCK: u32 = 256;

/// `BLOCKS` populations of `BLOCK` integrate-and-fire neurons, each neuron
/// with 30% of its own block as inputs (77 on average, one weight), driven
/// by a bias drawn per neuron from `[0, 0.04)` (about 20 Hz, the recurrence
/// adding a little). Every neuron's synapses are on one core and every
/// core reads 256 axons of one type: the connectivity TrueNorth's
/// crossbars hold, so all four chips run it.
pub fn blocks_source() -> String {
    let mut s = String::from("timestep 1ms;\n");
    for b in 0..BLOCKS {
        s += &format!(
            "const b{b}: [{BLOCK}] = uniform(0, 0.04, seed={});\n\
             population p{b}: if[{BLOCK}] {{ threshold = 1.0; bias = b{b}; }}\n\
             p{b} -> p{b} {{ weight = sparse(density=0.3, values=0.002, seed={}); }}\n\
             output s{b} = p{b};\n",
            1000 + b,
            2000 + b
        );
    }
    s
}

/// A recurrent LIF network of `n` neurons with `fan_in` random inputs each.
pub fn recurrent_source(n: u64, fan_in: u64) -> String {
    let density = fan_in as f64 / n as f64;
    format!(
        "timestep 1ms;\n\
         population p: lif[{n}] {{ tau_mem = 20ms; tau_syn = 5ms; threshold = 1.0; bias = 0.06; refractory = 5; }}\n\
         p -> p {{ weight = sparse(density={density:e}, values=normal(mean=0, std=0.02), seed=7); }}\n\
         output spikes = p;\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_ir::Op;

    /// The user-style CUBA network's dense `.npz` blocks load as sparse
    /// matrices of the synapses they hold (p = 0.02 of each block).
    #[test]
    fn user_cuba_loads_only_the_synapses_that_exist() {
        let dir = std::env::temp_dir().join(format!("snnc-bench-nets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = write_user_cuba(&dir).unwrap();
        let stored = std::fs::metadata(dir.join("user-cuba/weights.npz"));
        let loaded = crate::driver::load(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        // Four dense float32 blocks, 4000 x 4000 entries in all, and the
        // zip and .npy headers.
        assert_eq!(stored.unwrap().len(), 4 * 4000 * 4000 + 918);
        let (g, _) = loaded.unwrap_or_else(|r| panic!("{}", r.render(false)));
        let mut blocks: Vec<(Vec<u32>, bool, u64)> = g
            .nodes()
            .into_iter()
            .filter_map(|n| match g.op(n) {
                Op::Project(p) => {
                    let w = g.tensor(p.weights);
                    Some((w.shape().to_vec(), w.is_sparse(), w.nonzeros()))
                }
                _ => None,
            })
            .collect();
        blocks.sort_by_key(|b| b.2);
        assert_eq!(
            blocks,
            vec![
                (vec![800, 800], true, 12753),
                (vec![3200, 800], true, 51095),
                (vec![800, 3200], true, 51174),
                (vec![3200, 3200], true, 204871),
            ]
        );
    }
}
