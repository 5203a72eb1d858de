//! Case `(seed, index)`: which command, on which files, made from which
//! seed and how mutated (the mix is in the module documentation).

use std::path::PathBuf;

use super::corpus::{Corpus, Seed, SeedFile, plain};
use super::rng::Rng;
use super::{grammar, mutate};

/// A file of a case: a link to an unchanged file, or new bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseFile {
    Link(PathBuf),
    Data(Vec<u8>),
}

/// What to write and what to run. Paths in `commands` are relative to the
/// case's directory (`{dir}` stands for it).
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Which kind of case, for the counts (`check`, `sim`, ...).
    pub kind: &'static str,
    /// The seed it was made from.
    pub seed: String,
    pub files: Vec<(String, CaseFile)>,
    /// Command lines (without `snnc`), run in order until one fails.
    pub commands: Vec<Vec<String>>,
}

impl Case {
    /// The size of the files it writes (links count as their targets).
    pub fn bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|(_, f)| match f {
                CaseFile::Data(d) => d.len() as u64,
                CaseFile::Link(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            })
            .sum()
    }
}

fn pick_seed<'a>(r: &mut Rng, seeds: &'a [Seed]) -> Option<&'a Seed> {
    let total: u64 = seeds.iter().map(|s| u64::from(s.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut x = r.next_u64() % total;
    for s in seeds {
        if x < u64::from(s.weight) {
            return Some(s);
        }
        x -= u64::from(s.weight);
    }
    seeds.last()
}

/// A seed's files with its model replaced by `model` text.
fn with_model(seed: &Seed, model: &str, text: String) -> Vec<(String, CaseFile)> {
    let mut files: Vec<(String, CaseFile)> = plain(seed)
        .into_iter()
        .filter(|(n, _)| n != model)
        .collect();
    files.push((model.to_string(), CaseFile::Data(text.into_bytes())));
    files
}

/// [`with_model`] for a model that runs: a generated model (one whose
/// inputs are not the seed's) gets an `input.npy` made for it.
fn runnable(r: &mut Rng, seed: &Seed, text: String) -> Vec<(String, CaseFile)> {
    let own = model_text(seed);
    let fresh = input_columns(&text) != input_columns(&own);
    let input = if fresh { input_for(r, &text) } else { None };
    let mut files = with_model(seed, &seed.model, text);
    if let Some(bytes) = input {
        files.retain(|(n, _)| n != "input.npy");
        files.push((s("input.npy"), CaseFile::Data(bytes)));
    }
    files
}

fn model_text(seed: &Seed) -> String {
    seed.files
        .iter()
        .find(|f| f.name == seed.model)
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
        .unwrap_or_default()
}

/// A model text for a case, with the seed whose files go with it: a seed's
/// model or a generated one (even odds), mutated with probability
/// `mutated`.
fn some_model<'a>(r: &mut Rng, corpus: &'a Corpus, mutated: f64) -> Option<(&'a Seed, String)> {
    let seed = pick_seed(r, &corpus.seeds)?;
    let text = if r.chance(0.5) {
        grammar::program(r, &seed.available)
    } else {
        model_text(seed)
    };
    if !r.chance(mutated) {
        return Some((seed, text));
    }
    let others: Vec<String> = (0..2)
        .filter_map(|_| pick_seed(r, &corpus.seeds).map(model_text))
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    Some((seed, mutate::text(r, &text, &others)))
}

/// The columns a model's `input name[N];` lines declare (as written).
fn input_columns(text: &str) -> Option<u64> {
    let mut total = 0u64;
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("input ") else {
            continue;
        };
        let (_, size) = rest.split_once('[')?;
        let (size, _) = size.split_once(']')?;
        total += size.trim().parse::<u64>().ok()?;
    }
    Some(total)
}

/// A little-endian float32 `.npy` of `rows` × `cols` values.
pub fn npy_f32(rows: usize, cols: usize, values: impl Iterator<Item = f32>) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values.take(rows * cols) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// An input array for a model's declared inputs: spikes or values.
fn input_for(r: &mut Rng, text: &str) -> Option<Vec<u8>> {
    let cols = input_columns(text).filter(|&c| (1..=4096).contains(&c))? as usize;
    let rows = r.range(1, 40) as usize;
    let spikes = r.chance(0.5);
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| {
            if spikes {
                f32::from(u8::from(r.chance(0.2)))
            } else {
                r.unit() as f32
            }
        })
        .collect();
    Some(npy_f32(rows, cols, values.into_iter()))
}

/// How often a model run by `sim`, `compile` or `compare` is mutated: most
/// of them should get past the front end.
const DEEP_MUTATED: f64 = 0.3;

fn mutated_file(r: &mut Rng, f: &SeedFile) -> Vec<u8> {
    if f.name.ends_with(".npz") {
        let members = mutate::npz_members(&f.bytes);
        if !members.is_empty() && r.chance(0.8) {
            return mutate::npz(r, &members);
        }
    }
    if f.name.ends_with(".json") || f.name.ends_with(".ir") {
        let text = String::from_utf8_lossy(&f.bytes).into_owned();
        return mutate::text(r, &text, &[]).into_bytes();
    }
    mutate::bytes(r, &f.bytes)
}

const BACKENDS: [&str; 4] = ["loihi", "loihi2", "seneca", "truenorth"];
const PASSES: [&str; 6] = ["fold", "cleanup", "legalize", "quantize", "delays", "all"];

fn s(x: &str) -> String {
    x.to_string()
}

fn steps(r: &mut Rng) -> String {
    if r.chance(0.03) {
        s(r.word(&["0", "1000000000000", "18446744073709551615", "4294967296"]))
    } else {
        r.range(1, 60).to_string()
    }
}

/// Case `index` of the run seeded with `seed`.
pub fn case(corpus: &Corpus, seed: u64, index: u64) -> Case {
    let mut r = Rng::new(seed, index);
    let roll = r.below(100);
    let fallback = || Case {
        kind: "check",
        seed: String::new(),
        files: vec![(s("model.snn"), CaseFile::Data(b"timestep 1ms;\n".to_vec()))],
        commands: vec![vec![s("check"), s("{dir}/model.snn")]],
    };
    let r = &mut r;
    match roll {
        // A mutated or generated model through `check`.
        0..=67 => {
            let Some((seed, text)) = (if roll < 60 {
                some_model(r, corpus, 0.9)
            } else {
                pick_seed(r, &corpus.seeds).map(|sd| (sd, grammar::program(r, &sd.available)))
            }) else {
                return fallback();
            };
            Case {
                kind: if roll < 60 {
                    "check"
                } else {
                    "check generated"
                },
                seed: seed.label.clone(),
                files: with_model(seed, &seed.model, text),
                commands: vec![vec![s("check"), format!("{{dir}}/{}", seed.model)]],
            }
        }
        // A weight file mutated.
        68..=73 => {
            let Some(seed) = pick_seed(r, &corpus.seeds) else {
                return fallback();
            };
            let weights: Vec<&SeedFile> = seed
                .files
                .iter()
                .filter(|f| f.name != seed.model && f.name != "input.npy")
                .collect();
            let mut files = plain(seed);
            if !weights.is_empty() {
                let f = *r.pick(&weights);
                let bytes = mutated_file(r, f);
                files.retain(|(n, _)| *n != f.name);
                files.push((f.name.clone(), CaseFile::Data(bytes)));
            }
            Case {
                kind: "check weights",
                seed: seed.label.clone(),
                files,
                commands: vec![vec![s("check"), format!("{{dir}}/{}", seed.model)]],
            }
        }
        // An IR dump mutated.
        74..=78 => {
            let Some(seed) = pick_seed(r, &corpus.dumps) else {
                return fallback();
            };
            let text = mutate::text(r, &model_text(seed), &[]);
            let mut command = vec![s("dump-ir"), s("{dir}/model.ir")];
            if r.chance(0.3) {
                command.extend([s("--values"), s("-o"), s("{dir}/again.ir")]);
            }
            Case {
                kind: "dump-ir",
                seed: seed.label.clone(),
                files: with_model(seed, "model.ir", text),
                commands: vec![command],
            }
        }
        // Around a pass.
        79..=81 => {
            let Some((seed, text)) = some_model(r, corpus, DEEP_MUTATED) else {
                return fallback();
            };
            let pass = r.word(&PASSES);
            let flag = if pass == "all" || r.chance(0.6) {
                "--after"
            } else {
                "--before"
            };
            Case {
                kind: "dump-ir pass",
                seed: seed.label.clone(),
                files: with_model(seed, &seed.model, text),
                commands: vec![vec![
                    s("dump-ir"),
                    format!("{{dir}}/{}", seed.model),
                    s("--backend"),
                    s(r.word(&BACKENDS)),
                    s(flag),
                    s(pass),
                    s("-o"),
                    s("{dir}/out"),
                ]],
            }
        }
        // The float reference.
        82..=88 => {
            let Some((seed, text)) = some_model(r, corpus, DEEP_MUTATED) else {
                return fallback();
            };
            let mut files = runnable(r, seed, text);
            let mut command = vec![s("sim"), format!("{{dir}}/{}", seed.model)];
            let input = seed.files.iter().find(|f| f.name == "input.npy");
            let has_input = files.iter().any(|(n, _)| n == "input.npy");
            if has_input && r.chance(0.9) {
                command.extend([s("--input"), s("{dir}/input.npy")]);
                if let Some(input) = input
                    && r.chance(0.1)
                {
                    let bytes = mutated_file(r, input);
                    files.retain(|(n, _)| n != "input.npy");
                    files.push((s("input.npy"), CaseFile::Data(bytes)));
                }
            }
            if r.chance(0.3) || !has_input {
                command.extend([s("--steps"), steps(r)]);
            }
            let out = r.word(&["{dir}/y.npz", "{dir}/y.npy", "{dir}/ydir"]);
            command.extend([s("--output"), s(out)]);
            Case {
                kind: "sim",
                seed: seed.label.clone(),
                files,
                commands: vec![command],
            }
        }
        // Compile, then run what was written.
        89..=93 => {
            let Some((seed, text)) = some_model(r, corpus, DEEP_MUTATED) else {
                return fallback();
            };
            let backend = s(r.word(&BACKENDS));
            let mut compile = vec![
                s("compile"),
                format!("{{dir}}/{}", seed.model),
                s("--backend"),
                backend,
                s("--place-time"),
                s("0.3"),
                s("-o"),
                s("{dir}/cfg"),
            ];
            if r.chance(0.2) {
                compile.push(s("--report"));
            }
            if r.chance(0.1) {
                compile.extend([s("--weight-bits"), r.range(2, 8).to_string()]);
            }
            if r.chance(0.1) {
                compile.extend([s("--chips"), s(r.word(&["2", "0", "nahuku-32", "ns16e"]))]);
            }
            let files = runnable(r, seed, text);
            let mut run = vec![s("run"), s("{dir}/cfg"), s("--output"), s("{dir}/y.npz")];
            if files.iter().any(|(n, _)| n == "input.npy") && r.chance(0.9) {
                run.extend([s("--input"), s("{dir}/input.npy")]);
            } else {
                run.extend([s("--steps"), steps(r)]);
            }
            Case {
                kind: "compile",
                seed: seed.label.clone(),
                files,
                commands: vec![compile, run],
            }
        }
        // A configuration mutated, then run.
        94..=97 => {
            if corpus.configs.is_empty() {
                return fallback();
            }
            let c = r.pick(&corpus.configs);
            let k = r.below(c.files.len().max(1));
            let mut files: Vec<(String, CaseFile)> = Vec::new();
            for (i, f) in c.files.iter().enumerate() {
                let file = if i == k {
                    CaseFile::Data(mutated_file(r, f))
                } else {
                    CaseFile::Link(f.path.clone())
                };
                files.push((format!("cfg/{}", f.name), file));
            }
            let mut run = vec![s("run"), s("{dir}/cfg"), s("--output"), s("{dir}/y.npz")];
            match &c.input {
                Some(input) if r.chance(0.8) => {
                    files.push((s("input.npy"), CaseFile::Link(input.path.clone())));
                    run.extend([s("--input"), s("{dir}/input.npy")]);
                    if r.chance(0.2) {
                        run.extend([s("--steps"), steps(r)]);
                    }
                }
                _ => run.extend([s("--steps"), steps(r)]),
            }
            if r.chance(0.2) {
                run.push(s("--stats"));
            }
            Case {
                kind: "run config",
                seed: c.label.clone(),
                files,
                commands: vec![run],
            }
        }
        // Everything at once.
        _ => {
            let Some((seed, text)) = some_model(r, corpus, DEEP_MUTATED) else {
                return fallback();
            };
            let mut command = vec![
                s("compare"),
                format!("{{dir}}/{}", seed.model),
                s("--backend"),
                s(r.word(&BACKENDS)),
            ];
            let files = runnable(r, seed, text);
            if !files.iter().any(|(n, _)| n == "input.npy") {
                command.extend([s("--input"), s("{dir}/missing.npy")]);
            }
            Case {
                kind: "compare",
                seed: seed.label.clone(),
                files,
                commands: vec![command],
            }
        }
    }
}
