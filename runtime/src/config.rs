//! The configuration directory a backend writes and the runtime executes.
//! `docs/formats.md` documents every field.
//!
//! ```text
//! DIR/manifest.json     Manifest: backend, system, I/O mapping, update order
//! DIR/core-<k>.json     Core: the core's neuron groups (chip parameters), routes
//! DIR/core-<k>.syn      Synapses: binary, little-endian (layout below)
//! ```
//!
//! Synapse file layout: magic `SNNSYN01` (8 bytes), `u32` axons, `u64`
//! synapses, `u32 axon_ptr[axons + 1]` (synapses of axon `a` are
//! `axon_ptr[a]..axon_ptr[a+1]`), then per synapse `u32 target` (neuron
//! index on the core), `i32 weight` (the chip's integer: Loihi mantissa,
//! TrueNorth crossbar bit, SENeCA bfloat16 bits), `u8 delay`, `u8 kind`
//! (Loihi synapse format, TrueNorth axon type of the row, SENeCA 0).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The format version this runtime reads and writes.
pub const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"SNNSYN01";

/// A configuration problem, naming the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// The most ticks a model step may take (`compile --ticks-per-step` takes 2
/// to this).
pub const MAX_TICKS_PER_STEP: u32 = 64;

fn invalid(file: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        file: file.display().to_string(),
        message: message.into(),
    }
}

/// How an input channel becomes events.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoder {
    /// Sends the change of the value when it is at least `threshold`
    /// (graded events; payload in units of `scale`).
    SigmaDelta { threshold: f32 },
    /// Accumulates the value and sends a spike each time the sum reaches 1.
    Rate,
}

/// One network input: its channels and where their events go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputMap {
    pub name: String,
    pub size: u32,
    pub encoder: Encoder,
    /// Float value of one payload unit (graded events).
    pub scale: f32,
    /// Per channel: `(core, axon)` pairs.
    pub routes: Vec<Vec<(u32, u32)>>,
}

/// What an output reads from its neurons.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// 1 on a step the neuron spikes, else 0.
    Spikes,
    /// The membrane voltage times `scale`.
    Voltage,
    /// The graded value the neuron last sent (sigma-delta reconstruction)
    /// times `scale`.
    Graded,
    /// The synaptic current times `scale` (Loihi's `u`, SENeCA's `i`).
    Current,
    /// The adaptation variable of an adaptive neuron times `scale`.
    Adaptation,
    /// The membrane voltage's change over the step (its value at the step's
    /// last tick minus that at the last tick of the step before) times
    /// `scale`: a memoryless readout run as an integrator without leak.
    VoltageChange,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputMap {
    pub name: String,
    pub read: Readout,
    /// Per output element: its neuron as `(core, neuron index on the core)`.
    pub neurons: Vec<(u32, u32)>,
    /// Float value of one unit of the neuron's state, per element.
    pub scale: Vec<f32>,
}

fn one_tick() -> u32 {
    1
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `loihi`, `loihi2`, `seneca` or `truenorth`.
    pub backend: String,
    pub chips: u32,
    pub cores: u32,
    /// One step, in microseconds.
    pub timestep_us: f64,
    /// Ticks per model step: an input row is held for this many ticks and
    /// outputs are read at the last of them (1 unless values travel as
    /// spike codes over several ticks: Loihi 1 sigma-delta, TrueNorth
    /// spike counts).
    #[serde(default = "one_tick")]
    pub ticks_per_step: u32,
    /// xxh3 of the model source, hex.
    pub source_hash: String,
    /// Neuron groups in update order: `(core, group index on the core)`.
    /// A group's same-step inputs come only from groups before it.
    pub order: Vec<(u32, u32)>,
    pub inputs: Vec<InputMap>,
    pub outputs: Vec<OutputMap>,
    /// Per-operation energy of the chip, for `snnc run --stats`.
    pub energy: Energy,
}

/// Energy per operation, in picojoules (the backend's named constants).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Energy {
    pub synaptic_op_pj: f64,
    pub neuron_update_pj: f64,
    pub spike_pj: f64,
}

/// Loihi / Loihi 2 compartment parameters (per neuron).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoihiGroup {
    /// Current decay, 12 bits: `u ← u · (4096 − (du + 1)) / 4096` (Lava's
    /// offset of 1); `du = 4095` clears the current every step.
    pub du: Vec<u16>,
    /// Voltage decay, 12 bits: `v ← v · (4096 − dv) / 4096`.
    pub dv: Vec<u16>,
    /// Threshold mantissa, 17 bits: spike when `v > vth · 2^6`.
    pub vth: Vec<u32>,
    /// Bias mantissa (13-bit signed) and exponent (0–7).
    pub bias_mant: Vec<i16>,
    pub bias_exp: Vec<u8>,
    /// Lower clamp of `v` (`-(2^23 − 1)` for none).
    pub vmin: i32,
    pub refractory: u32,
    /// `v ← 0` (false) or `v ← v − vth·2^6` (true) on a spike.
    pub reset_subtract: bool,
    /// Synapse formats: the weight exponent of each.
    pub formats: Vec<i8>,
    /// Adaptive threshold (`alif`): the auxiliary compartment's decay (12
    /// bits, `b ← b·(4096 − drho)/4096 + drho·s`), and the threshold
    /// increase per unit of `b` (in `v` units, Q12).
    pub adaptive: Option<Adaptive>,
    /// Sigma-delta: the activation's bounds in `v` units and the low-pass
    /// decay (12 bits).
    pub sigma_delta: Option<SigmaDelta>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adaptive {
    pub drho: Vec<u16>,
    pub beta: Vec<i32>,
    /// `α` of the `(1 − α)` input factor, as the 12-bit `dv`.
    pub input_factor: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigmaDelta {
    pub lo: i32,
    pub hi: i32,
    pub dalpha: Vec<u16>,
}

/// TrueNorth neuron parameters (per neuron).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrueNorthGroup {
    /// `s[0..4]`: the signed 9-bit weight for each axon type.
    pub s: Vec<[i16; 4]>,
    /// Leak λ added every tick (times `sgn(V)` with `leak_reversal`).
    pub leak: Vec<i32>,
    /// Leak reversal ε: the leak is `sgn(V) · λ`, `V` taken after the
    /// tick's synaptic input, so a negative λ pulls `V` toward 0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leak_reversal: bool,
    /// Positive threshold α: spike when `V ≥ α`.
    pub alpha: Vec<i32>,
    /// Negative threshold β: below `−β` the neuron resets or saturates.
    pub beta: Vec<i32>,
    /// Reset mode γ: 0 `V ← R`, 1 `V ← V − α`, 2 none.
    pub gamma: u8,
    pub reset_value: i32,
    /// κ: saturate at `−β` (true) or reset (false) below it.
    pub kappa: bool,
    /// Destination delay (1–15 ticks) of each neuron's spikes.
    pub delay: Vec<u8>,
    /// `V` holds the model's potential plus `offset`: it starts at
    /// `offset`, and voltage readouts take it off. The compiler uses −1,
    /// so that TrueNorth's `V ≥ α` with a reset by `α` gives the model's
    /// `v > θ` with `v ← v − θ` for whole θ (see `docs/formats.md`).
    #[serde(default)]
    pub offset: i32,
    /// The stochastic modes, all off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stochastic: Option<Stochastic>,
}

/// TrueNorth's stochastic modes (Cassidy et al. 2013), drawn from a
/// seeded PRNG: the chip's own generator is undocumented, so runs are
/// reproducible here but cannot be bit-matched to silicon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stochastic {
    /// Per axon type: an active synapse adds `sign(s[G])` with probability
    /// `|s[G]| / 256` instead of `s[G]`.
    pub synapse: [bool; 4],
    /// The leak adds `sign(λ)` with probability `|λ| / 256` instead of `λ`.
    pub leak: bool,
    /// Threshold mask bits M (0–17): every tick `η = ρ & (2^M − 1)` is
    /// added to α (and to β when κ is false).
    pub threshold_bits: u8,
    /// Seed of the group's generator.
    pub seed: u64,
}

/// SENeCA neuron program and its bfloat16 parameters (per neuron, as
/// bf16 bit patterns).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenecaGroup {
    pub alpha_syn: Vec<u16>,
    pub alpha_mem: Vec<u16>,
    pub threshold: Vec<u16>,
    pub bias: Vec<u16>,
    pub v_min: u16,
    pub refractory: u32,
    pub reset_subtract: bool,
    /// `alif`: ρ, β, b0; `sigma_delta`: activation bounds.
    pub rho: Vec<u16>,
    pub beta: Vec<u16>,
    pub lo: u16,
    pub hi: u16,
}

/// A chip's parameters for one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Params {
    Loihi(LoihiGroup),
    TrueNorth(TrueNorthGroup),
    Seneca(SenecaGroup),
}

/// A group of neurons of one population on one core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub population: String,
    /// `lif`, `if`, `alif`, `sigma_delta` or `li`.
    pub model: String,
    /// First neuron of the group on the core, and how many.
    pub first: u32,
    pub count: u32,
    /// Whether the neurons send graded values (sigma-delta) or spikes.
    pub graded: bool,
    /// Float value of one unit of a graded message (1 for spikes).
    pub scale: f32,
    pub params: Params,
}

/// `core-<k>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Core {
    pub chip: u32,
    pub core: u32,
    pub neurons: u32,
    pub groups: Vec<Group>,
    /// Per neuron: where its events go, `(core, axon)`.
    pub routes: Vec<Vec<(u32, u32)>>,
    /// Per input axon: whether its events are graded (accumulated by the
    /// receiver) or spikes (one step's input).
    pub axon_graded: Vec<bool>,
}

/// `core-<k>.syn`, in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Synapses {
    pub axon_ptr: Vec<u32>,
    pub target: Vec<u32>,
    pub weight: Vec<i32>,
    pub delay: Vec<u8>,
    pub kind: Vec<u8>,
}

impl Synapses {
    pub fn axons(&self) -> usize {
        self.axon_ptr.len().saturating_sub(1)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let n = self.target.len();
        let mut b = Vec::with_capacity(20 + 4 * self.axon_ptr.len() + 10 * n);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(self.axons() as u32).to_le_bytes());
        b.extend_from_slice(&(n as u64).to_le_bytes());
        for p in &self.axon_ptr {
            b.extend_from_slice(&p.to_le_bytes());
        }
        for t in &self.target {
            b.extend_from_slice(&t.to_le_bytes());
        }
        for w in &self.weight {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&self.delay);
        b.extend_from_slice(&self.kind);
        b
    }

    fn from_bytes(file: &Path, b: &[u8]) -> Result<Self, ConfigError> {
        if b.len() < 20 || &b[..8] != MAGIC {
            return Err(invalid(file, "not a synapse file (bad magic)"));
        }
        let axons = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")) as usize;
        let n = u64::from_le_bytes(b[12..20].try_into().expect("8 bytes")) as usize;
        let need = 20usize
            .checked_add(4 * (axons + 1))
            .and_then(|x| x.checked_add(n.checked_mul(10)?));
        if need != Some(b.len()) {
            return Err(invalid(
                file,
                format!(
                    "{} bytes, but {axons} axons and {n} synapses need {}",
                    b.len(),
                    need.map_or("more".into(), |x| x.to_string())
                ),
            ));
        }
        let u32s = |at: usize, k: usize| -> Vec<u32> {
            b[at..at + 4 * k]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect()
        };
        let axon_ptr = u32s(20, axons + 1);
        let at = 20 + 4 * (axons + 1);
        let target = u32s(at, n);
        let weight = u32s(at + 4 * n, n).into_iter().map(|w| w as i32).collect();
        let delay = b[at + 8 * n..at + 9 * n].to_vec();
        let kind = b[at + 9 * n..].to_vec();
        if axon_ptr.first() != Some(&0)
            || axon_ptr.last().map(|&p| p as usize) != Some(n)
            || axon_ptr.windows(2).any(|w| w[0] > w[1])
        {
            return Err(invalid(
                file,
                "axon_ptr must rise from 0 to the number of synapses",
            ));
        }
        Ok(Synapses {
            axon_ptr,
            target,
            weight,
            delay,
            kind,
        })
    }
}

/// A whole configuration in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub manifest: Manifest,
    pub cores: Vec<(Core, Synapses)>,
}

fn io(file: &Path) -> impl Fn(std::io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io {
        file: file.display().to_string(),
        source,
    }
}

impl Config {
    /// Writes the configuration to `dir` atomically: into a temporary
    /// directory beside it, renamed into place; on error nothing is left.
    pub fn write(&self, dir: &Path) -> Result<(), ConfigError> {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        // Only a directory (or nothing) may be replaced: never a file, and
        // never a device such as /dev/null.
        if dir.exists() && !dir.is_dir() {
            return Err(ConfigError::Io {
                file: dir.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "exists and is not a directory; a configuration is a directory",
                ),
            });
        }
        let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = self.write_into(&tmp).and_then(|()| {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::rename(&tmp, dir).map_err(io(dir))
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    fn write_into(&self, dir: &Path) -> Result<(), ConfigError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let put = |path: PathBuf, bytes: &[u8]| -> Result<(), ConfigError> {
            let mut f = std::fs::File::create(&path).map_err(io(&path))?;
            f.write_all(bytes).map_err(io(&path))
        };
        let mpath = dir.join("manifest.json");
        put(mpath.clone(), to_json(&mpath, &self.manifest)?.as_bytes())?;
        for (k, (core, syn)) in self.cores.iter().enumerate() {
            let cpath = dir.join(format!("core-{k}.json"));
            put(cpath.clone(), to_json(&cpath, core)?.as_bytes())?;
            put(dir.join(format!("core-{k}.syn")), &syn.to_bytes())?;
        }
        Ok(())
    }

    /// Reads and validates `dir`.
    pub fn read(dir: &Path) -> Result<Config, ConfigError> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(invalid(
                &path,
                format!(
                    "format: version {} (this runtime reads {FORMAT})",
                    manifest.format
                ),
            ));
        }
        // Grown as the files are read: `cores` is the file's word, and a
        // count with no files behind it must not reserve memory first.
        let mut cores = Vec::new();
        for k in 0..manifest.cores {
            let path = dir.join(format!("core-{k}.json"));
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let core: Core =
                serde_json::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?;
            let spath = dir.join(format!("core-{k}.syn"));
            let bytes = std::fs::read(&spath).map_err(io(&spath))?;
            let syn = Synapses::from_bytes(&spath, &bytes)?;
            cores.push((core, syn));
        }
        let c = Config { manifest, cores };
        c.validate(dir)?;
        Ok(c)
    }

    /// Cross-checks sizes and indices; the first problem, by file and field.
    pub fn validate(&self, dir: &Path) -> Result<(), ConfigError> {
        let m = &self.manifest;
        let mpath = dir.join("manifest.json");
        if !(1..=MAX_TICKS_PER_STEP).contains(&m.ticks_per_step) {
            return Err(invalid(
                &mpath,
                format!(
                    "ticks_per_step: {} (a step is 1 to {MAX_TICKS_PER_STEP} ticks)",
                    m.ticks_per_step
                ),
            ));
        }
        let ncores = self.cores.len() as u32;
        let axons: Vec<u32> = self
            .cores
            .iter()
            .map(|(c, _)| c.axon_graded.len() as u32)
            .collect();
        let check_route =
            |file: &Path, what: String, (core, axon): (u32, u32)| -> Result<(), ConfigError> {
                if core >= ncores {
                    return Err(invalid(
                        file,
                        format!("{what}: core {core} does not exist ({ncores} cores)"),
                    ));
                }
                if axon >= axons[core as usize] {
                    return Err(invalid(
                        file,
                        format!(
                            "{what}: axon {axon} of core {core} does not exist ({} axons)",
                            axons[core as usize]
                        ),
                    ));
                }
                Ok(())
            };
        for (gi, &(core, group)) in m.order.iter().enumerate() {
            let ok = self
                .cores
                .get(core as usize)
                .is_some_and(|(c, _)| (group as usize) < c.groups.len());
            if !ok {
                return Err(invalid(
                    &mpath,
                    format!("order[{gi}]: no group {group} on core {core}"),
                ));
            }
        }
        for inp in &m.inputs {
            if inp.routes.len() != inp.size as usize {
                return Err(invalid(
                    &mpath,
                    format!(
                        "inputs.{}.routes: {} channels for size {}",
                        inp.name,
                        inp.routes.len(),
                        inp.size
                    ),
                ));
            }
            for (ch, rs) in inp.routes.iter().enumerate() {
                for &r in rs {
                    check_route(&mpath, format!("inputs.{}.routes[{ch}]", inp.name), r)?;
                }
            }
        }
        for out in &m.outputs {
            if out.scale.len() != out.neurons.len() {
                return Err(invalid(
                    &mpath,
                    format!(
                        "outputs.{}.scale: {} values for {} neurons",
                        out.name,
                        out.scale.len(),
                        out.neurons.len()
                    ),
                ));
            }
            for (i, &(core, n)) in out.neurons.iter().enumerate() {
                let ok = self
                    .cores
                    .get(core as usize)
                    .is_some_and(|(c, _)| n < c.neurons);
                if !ok {
                    return Err(invalid(
                        &mpath,
                        format!(
                            "outputs.{}.neurons[{i}]: no neuron {n} on core {core}",
                            out.name
                        ),
                    ));
                }
            }
        }
        for (k, (core, syn)) in self.cores.iter().enumerate() {
            let cpath = dir.join(format!("core-{k}.json"));
            let spath = dir.join(format!("core-{k}.syn"));
            if core.routes.len() != core.neurons as usize {
                return Err(invalid(
                    &cpath,
                    format!(
                        "routes: {} lists for {} neurons",
                        core.routes.len(),
                        core.neurons
                    ),
                ));
            }
            if syn.axons() != core.axon_graded.len() {
                return Err(invalid(
                    &cpath,
                    format!(
                        "axon_graded: {} axons here, {} in {}",
                        core.axon_graded.len(),
                        syn.axons(),
                        spath.display()
                    ),
                ));
            }
            let mut covered = 0u32;
            for (gi, g) in core.groups.iter().enumerate() {
                if g.first != covered {
                    return Err(invalid(
                        &cpath,
                        format!("groups[{gi}].first: {} (expected {covered})", g.first),
                    ));
                }
                covered += g.count;
                let n = g.count as usize;
                let bad = |field: &str, len: usize| {
                    invalid(
                        &cpath,
                        format!("groups[{gi}].params.{field}: {len} values for {n} neurons"),
                    )
                };
                match &g.params {
                    Params::Loihi(p) => {
                        for (f, len) in [
                            ("du", p.du.len()),
                            ("dv", p.dv.len()),
                            ("vth", p.vth.len()),
                            ("bias_mant", p.bias_mant.len()),
                            ("bias_exp", p.bias_exp.len()),
                        ] {
                            if len != n {
                                return Err(bad(f, len));
                            }
                        }
                        if let Some(a) = &p.adaptive {
                            for (f, len) in [
                                ("adaptive.drho", a.drho.len()),
                                ("adaptive.beta", a.beta.len()),
                            ] {
                                if len != n {
                                    return Err(bad(f, len));
                                }
                            }
                        }
                        if let Some(sd) = &p.sigma_delta
                            && sd.dalpha.len() != n
                        {
                            return Err(bad("sigma_delta.dalpha", sd.dalpha.len()));
                        }
                        if let Some((i, v)) = p.vth.iter().enumerate().find(|(_, v)| **v >= 1 << 17)
                        {
                            return Err(invalid(
                                &cpath,
                                format!(
                                    "groups[{gi}].params.vth[{i}]: {v} out of range 0..=131071"
                                ),
                            ));
                        }
                        if let Some((i, v)) =
                            p.du.iter()
                                .chain(&p.dv)
                                .enumerate()
                                .find(|(_, v)| **v > 4095)
                        {
                            return Err(invalid(
                                &cpath,
                                format!(
                                    "groups[{gi}].params: decay {v} (entry {i}) out of range 0..=4095"
                                ),
                            ));
                        }
                        if let Some((i, v)) = p.bias_exp.iter().enumerate().find(|(_, v)| **v > 7) {
                            return Err(invalid(
                                &cpath,
                                format!(
                                    "groups[{gi}].params.bias_exp[{i}]: {v} out of range 0..=7"
                                ),
                            ));
                        }
                    }
                    Params::TrueNorth(p) => {
                        for (f, len) in [
                            ("s", p.s.len()),
                            ("leak", p.leak.len()),
                            ("alpha", p.alpha.len()),
                            ("beta", p.beta.len()),
                            ("delay", p.delay.len()),
                        ] {
                            if len != n {
                                return Err(bad(f, len));
                            }
                        }
                        if let Some((i, d)) = p
                            .delay
                            .iter()
                            .enumerate()
                            .find(|(_, d)| !(1..=15).contains(*d))
                        {
                            return Err(invalid(
                                &cpath,
                                format!("groups[{gi}].params.delay[{i}]: {d} out of range 1..=15"),
                            ));
                        }
                        if let Some(st) = &p.stochastic
                            && st.threshold_bits > 17
                        {
                            return Err(invalid(
                                &cpath,
                                format!(
                                    "groups[{gi}].params.stochastic.threshold_bits: {} out of range 0..=17",
                                    st.threshold_bits
                                ),
                            ));
                        }
                        if p.gamma > 2 {
                            return Err(invalid(
                                &cpath,
                                format!(
                                    "groups[{gi}].params.gamma: {} out of range 0..=2",
                                    p.gamma
                                ),
                            ));
                        }
                    }
                    Params::Seneca(p) => {
                        for (f, len) in [
                            ("alpha_syn", p.alpha_syn.len()),
                            ("alpha_mem", p.alpha_mem.len()),
                            ("threshold", p.threshold.len()),
                            ("bias", p.bias.len()),
                            ("rho", p.rho.len()),
                            ("beta", p.beta.len()),
                        ] {
                            if len != n {
                                return Err(bad(f, len));
                            }
                        }
                    }
                }
            }
            if covered != core.neurons {
                return Err(invalid(
                    &cpath,
                    format!("groups cover {covered} neurons of {}", core.neurons),
                ));
            }
            if let Some((i, &t)) = syn
                .target
                .iter()
                .enumerate()
                .find(|(_, t)| **t >= core.neurons)
            {
                return Err(invalid(
                    &spath,
                    format!(
                        "synapse {i}: target {t} out of range (the core has {} neurons)",
                        core.neurons
                    ),
                ));
            }
            // Each synapse's kind must name something its target's group
            // has: a Loihi synapse format, a TrueNorth axon type (0–3).
            for (i, (&t, &kind)) in syn.target.iter().zip(&syn.kind).enumerate() {
                let Some(g) = core
                    .groups
                    .iter()
                    .find(|g| g.first <= t && t < g.first + g.count)
                else {
                    continue;
                };
                let (kinds, what) = match &g.params {
                    Params::Loihi(p) => (p.formats.len(), "synapse formats"),
                    Params::TrueNorth(_) => (4, "axon types"),
                    Params::Seneca(_) => (1, "kind (0)"),
                };
                if kind as usize >= kinds {
                    return Err(invalid(
                        &spath,
                        format!(
                            "synapse {i}: kind {kind} out of range (its target's group `{}` has {kinds} {what})",
                            g.population
                        ),
                    ));
                }
            }
            for (n, rs) in core.routes.iter().enumerate() {
                for &r in rs {
                    check_route(&cpath, format!("routes[{n}]"), r)?;
                }
            }
        }
        Ok(())
    }
}

fn to_json<T: Serialize>(file: &Path, v: &T) -> Result<String, ConfigError> {
    serde_json::to_string_pretty(v).map_err(|e| invalid(file, e.to_string()))
}
