//! Fidelity reporting end to end: `compile --report` and `compare` run the
//! chip the same way and print the same deviation, and values that do not
//! fit a register are counted and warned about by `run`, `compare` and
//! `compile --report`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .arg("--color=never")
        .current_dir(root())
        .output()
        .expect("snnc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-fidelity-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The data rows of the table whose title starts with `title`.
fn table_rows(out: &str, title: &str) -> Vec<String> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with(title));
    let found = lines
        .next()
        .unwrap_or_else(|| panic!("no table `{title}` in\n{out}"));
    let _columns = lines.next();
    let rows: Vec<String> = lines
        .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert!(!rows.is_empty(), "empty table {found}");
    rows
}

/// Each row's cells (split at blanks).
fn cells(rows: &[String]) -> Vec<Vec<&str>> {
    rows.iter()
        .map(|r| r.split_whitespace().collect())
        .collect()
}

/// The rows of the first array in `path`.
fn rows_of(path: &str) -> usize {
    let mut f = snnc::arrays::open(&root().join(path)).unwrap();
    let name = f.names().into_iter().next().unwrap();
    f.get(&name).unwrap().shape[0]
}

#[test]
fn the_report_and_compare_print_the_same_deviation() {
    let input = "examples/lprnn/input.npy";
    let n = rows_of(input);
    for backend in ["loihi2", "seneca"] {
        let (fewer, more) = ((n - 1).to_string(), (n + 20).to_string());
        for steps in [None, Some(fewer.as_str()), Some(more.as_str())] {
            let mut compile = vec![
                "compile",
                "examples/lprnn/model.snn",
                "--backend",
                backend,
                "--report",
            ];
            let mut compare = vec!["compare", "examples/lprnn/model.snn", "--backend", backend];
            if let Some(t) = steps {
                compile.extend(["--steps", t]);
                compare.extend(["--steps", t]);
            }
            let a = snnc(&compile);
            let b = snnc(&compare);
            assert!(a.status.success(), "{}", text(&a.stderr));
            assert!(b.status.success(), "{}", text(&b.stderr));
            let (a, b) = (text(&a.stdout), text(&b.stdout));
            let report = table_rows(&a, "deviation from the float model");
            let compared = table_rows(&b, "examples/lprnn/model.snn on");
            assert_eq!(report, compared, "{backend} {steps:?}");
            // Both titles say which steps ran.
            let rows = a
                .lines()
                .find(|l| l.starts_with("deviation from the float model"))
                .unwrap();
            let note = match steps {
                None => format!("{n} steps of {input}"),
                Some(t) if t == fewer => {
                    format!(
                        "{} steps: the first {} of the {n} rows of {input}",
                        n - 1,
                        n - 1
                    )
                }
                _ => format!("{} steps: the {n} rows of {input}, then zeros", n + 20),
            };
            assert!(rows.contains(&note), "{rows}");
            assert!(b.contains(&note), "{b}");
        }
    }
}

const WRAPS: &str = "timestep 1ms;
input x[1];
population p: li[1] { alpha_mem = 0.5; }
x -> p { weight = 1; }
output y = p;
";

/// `p` is bounded for inputs within ±1 (its range is 1 / (1 − 0.5) = 2;
/// its weight of 1 needs a unit of at least 1 / (127 · 2^13), so one unit
/// of state is 2^-19). An input of 1000 then brings 1000 · 2^19 =
/// 524288000 units into the 24-bit current, which wraps to 524288000 −
/// 31 · 2^24 = 4194304: one wrap at step 0; at step 1 the input's change
/// of −1000 brings the current back to 0, and nothing else overflows.
#[test]
fn a_population_driven_into_wrap_is_counted_and_warned() {
    let dir = temp_dir("wrap");
    let model = dir.join("model.snn");
    std::fs::write(&model, WRAPS).unwrap();
    let big = dir.join("big.npy");
    let x = snnc::arrays::Array::f32(vec![3, 1], vec![1000.0, 0.0, 0.0]);
    snnc::cli::sim::write_arrays(&[("x".to_string(), x)], &big).unwrap();
    let cfg = dir.join("cfg");
    let (model, big, cfg) = (
        model.to_string_lossy().into_owned(),
        big.to_string_lossy().into_owned(),
        cfg.to_string_lossy().into_owned(),
    );
    let out = snnc(&["compile", &model, "--backend", "loihi2", "-o", &cfg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let y = dir.join("y.npy").to_string_lossy().into_owned();
    let out = snnc(&["run", &cfg, "--input", &big, "--output", &y, "--stats"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        cells(&table_rows(&stdout, "values that did not fit on the chip")),
        vec![vec!["p", "1", "0"]]
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("[W0510] Warning: `p`: 1 value wrapped and 0 saturated on the chip\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Help: its range was too small for this input: compile with --calibrate DATA.npz"
        ),
        "{stderr}"
    );
    // The report's deviation run counts the same, and so does compare.
    let out = snnc(&[
        "compile",
        &model,
        "--backend",
        "loihi2",
        "--report",
        "--input",
        &big,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        cells(&table_rows(
            &text(&out.stdout),
            "values that did not fit on the chip"
        )),
        vec![vec!["p", "1", "0"]]
    );
    assert!(text(&out.stderr).contains("[W0510] Warning: `p`: 1 value wrapped"));
    // Within the range nothing is counted.
    let small = dir.join("small.npy");
    let x = snnc::arrays::Array::f32(vec![3, 1], vec![1.0, 0.5, 0.0]);
    snnc::cli::sim::write_arrays(&[("x".to_string(), x)], &small).unwrap();
    let out = snnc(&[
        "run",
        &cfg,
        "--input",
        &small.to_string_lossy(),
        "--output",
        &y,
        "--stats",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("overflow: none (every value fit its register)"),
        "{}",
        text(&out.stdout)
    );
    assert!(!text(&out.stderr).contains("W0510"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The arrays of an `.npz` written by `sim` or `run`, by name.
fn outputs(path: &Path) -> Vec<(String, Vec<f32>)> {
    let mut f = snnc::arrays::open(path).unwrap();
    f.names()
        .into_iter()
        .map(|n| {
            let a = f.get(&n).unwrap();
            (n, a.into_f32().unwrap())
        })
        .collect()
}

/// Readouts read what they name. With input 1, 0, 0, 0 (every value a
/// power of two, so Loihi 2's integers hold them exactly):
/// - `p.i`, the current with α_syn = 0.5: 1, 0.5, 0.25, 0.125;
/// - `p.v`, the voltage with α_mem = 0.5: 1, 1, 0.75, 0.5;
/// - `sd`, the reconstruction `r` of a sigma-delta neuron (α = 0.5,
///   θ = 0.25) whose `h` is 0.5, 0.25, 0.125, 0.0625: `r` moves by 0.5,
///   then by −0.25, then not (0.125 < θ): 0.5, 0.25, 0.25, 0.25;
/// - `sd.v`, its low-passed `h`: 0.5, 0.25, 0.125, 0.0625.
#[test]
fn readouts_read_the_variables_they_name() {
    let dir = temp_dir("readouts");
    let model = dir.join("model.snn");
    std::fs::write(
        &model,
        "timestep 1ms;
input x[1];
population p: lif[1] { alpha_syn = 0.5; alpha_mem = 0.5; threshold = 100; }
population sd: sigma_delta[1] { alpha = 0.5; act = relu; threshold = 0.25; }
x -> p { weight = 1; }
x -> sd { weight = 1; }
output i = p.i;
output v = p.v;
output r = sd;
output h = sd.v;
",
    )
    .unwrap();
    let x = dir.join("x.npy");
    let a = snnc::arrays::Array::f32(vec![4, 1], vec![1.0, 0.0, 0.0, 0.0]);
    snnc::cli::sim::write_arrays(&[("x".to_string(), a)], &x).unwrap();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let (cfg, float, chip) = (dir.join("cfg"), dir.join("f.npz"), dir.join("c.npz"));
    let out = snnc(&["sim", &s(&model), "--input", &s(&x), "--output", &s(&float)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = snnc(&["compile", &s(&model), "--backend", "loihi2", "-o", &s(&cfg)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = snnc(&["run", &s(&cfg), "--input", &s(&x), "--output", &s(&chip)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want = vec![
        ("h".to_string(), vec![0.5, 0.25, 0.125, 0.0625]),
        ("i".to_string(), vec![1.0, 0.5, 0.25, 0.125]),
        ("r".to_string(), vec![0.5, 0.25, 0.25, 0.25]),
        ("v".to_string(), vec![1.0, 1.0, 0.75, 0.5]),
    ];
    let sorted = |mut v: Vec<(String, Vec<f32>)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(sorted(outputs(&float)), want);
    assert_eq!(sorted(outputs(&chip)), want);
    let manifest = std::fs::read_to_string(cfg.join("manifest.json")).unwrap();
    for read in ["\"current\"", "\"voltage\"", "\"graded\""] {
        assert!(manifest.contains(read), "{read} in {manifest}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Loihi 1 spikes carry no value: its inputs are rate-coded (a 0/1 input
/// is exact), while Loihi 2 sends graded input events.
#[test]
fn loihi_1_inputs_are_binary_spikes() {
    let dir = temp_dir("loihi1");
    let model = dir.join("model.snn");
    std::fs::write(
        &model,
        "timestep 1ms;
input x[2];
population p: lif[1] { alpha_mem = 0.5; threshold = 0.75; }
x -> p { weight = [[1, 0.5]]; }
output s = p;
",
    )
    .unwrap();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    for (backend, encoder) in [("loihi", "\"rate\""), ("loihi2", "\"sigma_delta\"")] {
        let cfg = dir.join(backend);
        let out = snnc(&["compile", &s(&model), "--backend", backend, "-o", &s(&cfg)]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let manifest = std::fs::read_to_string(cfg.join("manifest.json")).unwrap();
        assert!(manifest.contains(encoder), "{backend}: {manifest}");
    }
    // Spikes in, spikes out: the same train on both chips and in float.
    let x = dir.join("x.npy");
    let a = snnc::arrays::Array::f32(vec![4, 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    snnc::cli::sim::write_arrays(&[("x".to_string(), a)], &x).unwrap();
    let float = dir.join("f.npy");
    let out = snnc(&["sim", &s(&model), "--input", &s(&x), "--output", &s(&float)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // v: 1 → spike (reset 0); 0.5 → no; 0.25 + 1.5 → spike; 0 → no.
    assert_eq!(outputs(&float)[0].1, vec![1.0, 0.0, 1.0, 0.0]);
    for backend in ["loihi", "loihi2"] {
        let chip = dir.join(format!("{backend}.npy"));
        let out = snnc(&[
            "run",
            &s(&dir.join(backend)),
            "--input",
            &s(&x),
            "--output",
            &s(&chip),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(outputs(&chip)[0].1, vec![1.0, 0.0, 1.0, 0.0], "{backend}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
