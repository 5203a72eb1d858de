//! The seeds cases are made from: the examples and test models with the
//! files beside them, their IR dumps, and their compiled configurations.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::case::CaseFile;
use super::grammar;
use super::run::{Outcome, run_line, write_files};

/// One file of a seed: where it lives (so that an unchanged file is linked,
/// not copied) and its bytes (to mutate).
#[derive(Clone, Debug)]
pub struct SeedFile {
    pub name: String,
    pub path: PathBuf,
    pub bytes: Arc<Vec<u8>>,
}

/// A model with the files beside it.
#[derive(Clone, Debug)]
pub struct Seed {
    /// For reports: `examples/lprnn`, `tests/data/diag/cycle.snn`, ...
    pub label: String,
    /// The model file among `files`.
    pub model: String,
    pub files: Vec<SeedFile>,
    /// Arrays the files hold, for generated programs.
    pub available: Vec<grammar::Available>,
    /// How often it is picked, relative to the others.
    pub weight: u32,
}

/// A compiled configuration and the input it runs on.
#[derive(Clone, Debug)]
pub struct ConfigSeed {
    pub label: String,
    /// Paths relative to the configuration directory.
    pub files: Vec<SeedFile>,
    pub input: Option<SeedFile>,
}

/// Everything cases are made from.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub seeds: Vec<Seed>,
    pub configs: Vec<ConfigSeed>,
    /// IR dumps of the seeds (same files, plus `model.ir`).
    pub dumps: Vec<Seed>,
}

fn seed_file(name: &str, path: &Path) -> Option<SeedFile> {
    let bytes = std::fs::read(path).ok()?;
    Some(SeedFile {
        name: name.to_string(),
        path: path.to_path_buf(),
        bytes: Arc::new(bytes),
    })
}

/// The arrays in the weight files of a seed.
fn arrays_of(files: &[SeedFile]) -> Vec<grammar::Available> {
    let mut out = Vec::new();
    for f in files {
        if f.name == "input.npy" {
            continue;
        }
        let Ok(mut file) = crate::arrays::open(&f.path) else {
            continue;
        };
        for name in file.names() {
            if let Ok((shape, _)) = file.header(&name) {
                out.push(grammar::Available {
                    file: f.name.clone(),
                    name,
                    shape,
                });
            }
        }
    }
    out
}

impl Corpus {
    /// Reads the seeds under the repository root `root`: the examples
    /// (`big` also takes the two large ones, rarely), `tests/data/diag` and
    /// `tests/data/fold`. Configurations and dumps are added by
    /// [`Corpus::prepare`].
    pub fn read(root: &Path, big: bool) -> Corpus {
        let mut seeds = Vec::new();
        let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        examples.sort();
        for dir in examples {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let large = matches!(name.as_str(), "modular" | "adaptive_lstm_large");
            if large && !big {
                continue;
            }
            let mut files: Vec<SeedFile> = std::fs::read_dir(&dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            let n = e.file_name().to_string_lossy().into_owned();
                            seed_file(&n, &e.path())
                        })
                        .collect()
                })
                .unwrap_or_default();
            files.sort_by(|a, b| a.name.cmp(&b.name));
            if !files.iter().any(|f| f.name == "model.snn") {
                continue;
            }
            let available = arrays_of(&files);
            seeds.push(Seed {
                label: format!("examples/{name}"),
                model: "model.snn".into(),
                files,
                available,
                weight: if large { 1 } else { 20 },
            });
        }
        for sub in ["tests/data/diag", "tests/data/fold"] {
            let dir = root.join(sub);
            let mut models: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            models.sort();
            let weights: Vec<SeedFile> = models
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "npz"))
                .filter_map(|p| seed_file(&p.file_name()?.to_string_lossy(), p))
                .collect();
            let available = arrays_of(&weights);
            for m in models
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "snn"))
            {
                let Some(model) = seed_file("model.snn", m) else {
                    continue;
                };
                let mut files = vec![model];
                files.extend(weights.iter().cloned());
                seeds.push(Seed {
                    label: format!(
                        "{sub}/{}",
                        m.file_name().unwrap_or_default().to_string_lossy()
                    ),
                    model: "model.snn".into(),
                    files,
                    available: available.clone(),
                    weight: 3,
                });
            }
        }
        Corpus {
            seeds,
            configs: Vec::new(),
            dumps: Vec::new(),
        }
    }

    /// Makes, under `dir`, the IR dump of every seed that loads and the
    /// configurations of the examples for `backends` (in-process, with the
    /// same code as `snnc dump-ir` and `snnc compile -o`), then adds them
    /// with [`Corpus::load_prepared`]. One process prepares; others load.
    pub fn prepare(&mut self, dir: &Path, backends: &[&str]) {
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::create_dir_all(dir);
        for (k, seed) in self.seeds.iter().enumerate() {
            let d = dir.join(format!("dump-{k}"));
            let _ = std::fs::create_dir_all(&d);
            write_files(&d, &plain(seed));
            let model = d.join(&seed.model);
            let ir = d.join("model.ir");
            // A seed that does not load has no dump.
            let _ = run_line(&[
                "dump-ir".into(),
                path_arg(&model),
                "-o".into(),
                path_arg(&ir),
            ]);
        }

        for seed in self
            .seeds
            .iter()
            .filter(|s| s.label.starts_with("examples/"))
        {
            for &backend in backends {
                let d = dir.join(format!("config-{}-{backend}", seed.label.replace('/', "-")));
                let out = d.join("cfg");
                let _ = std::fs::create_dir_all(&d);
                write_files(&d, &plain(seed));
                let ok = run_line(&[
                    "compile".into(),
                    path_arg(&d.join(&seed.model)),
                    "--backend".into(),
                    backend.into(),
                    "--place-time".into(),
                    "1".into(),
                    "-o".into(),
                    path_arg(&out),
                ]);
                if !matches!(ok, Outcome::Ok) {
                    let _ = std::fs::remove_dir_all(&d);
                }
            }
        }
        let _ = std::fs::write(dir.join("ready"), "");
        self.load_prepared(dir, backends);
    }

    /// Adds the dumps and configurations [`Corpus::prepare`] made under
    /// `dir` (reading only; nothing there is written).
    pub fn load_prepared(&mut self, dir: &Path, backends: &[&str]) {
        let mut dumps = Vec::new();
        for (k, seed) in self.seeds.iter().enumerate() {
            let d = dir.join(format!("dump-{k}"));
            let Some(ir) = seed_file("model.ir", &d.join("model.ir")) else {
                continue;
            };
            let mut files: Vec<SeedFile> = seed.files.clone();
            files.push(ir);
            dumps.push(Seed {
                label: format!("{} (IR dump)", seed.label),
                model: "model.ir".into(),
                files,
                available: seed.available.clone(),
                weight: seed.weight,
            });
        }
        self.dumps = dumps;
        let mut configs = Vec::new();
        for seed in self
            .seeds
            .iter()
            .filter(|s| s.label.starts_with("examples/"))
        {
            for &backend in backends {
                let out = dir
                    .join(format!("config-{}-{backend}", seed.label.replace('/', "-")))
                    .join("cfg");
                let mut cfg: Vec<SeedFile> = std::fs::read_dir(&out)
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .filter_map(|e| seed_file(&e.file_name().to_string_lossy(), &e.path()))
                            .collect()
                    })
                    .unwrap_or_default();
                if cfg.is_empty() {
                    continue;
                }
                cfg.sort_by(|a, b| a.name.cmp(&b.name));
                configs.push(ConfigSeed {
                    label: format!("{} on {backend}", seed.label),
                    files: cfg,
                    input: seed.files.iter().find(|f| f.name == "input.npy").cloned(),
                });
            }
        }
        self.configs = configs;
    }
}

/// A seed's files, unchanged.
pub(super) fn plain(seed: &Seed) -> Vec<(String, CaseFile)> {
    seed.files
        .iter()
        .map(|f| (f.name.clone(), CaseFile::Link(f.path.clone())))
        .collect()
}

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
