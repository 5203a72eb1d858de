//! End-to-end golden tests: the `snnc` binary run from the repository root
//! on the bundled examples and on `tests/data/`, compared with expected
//! files. Re-bless after an intended change with `SNNC_BLESS=1 cargo test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .arg("--color=never")
        // A fixed memory budget: the default depends on the machine, and
        // E0206 names it.
        .arg("--max-memory=4G")
        .current_dir(root())
        .output()
        .expect("snnc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compares `actual` with the file `expected` (relative to the root), or
/// rewrites the file when `SNNC_BLESS` is set. Returns a failure message.
fn check_golden(expected: &str, actual: &str) -> Option<String> {
    let path = root().join(expected);
    if std::env::var_os("SNNC_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(want) if want == actual => None,
        Ok(want) => Some(format!(
            "{expected} differs (re-bless with SNNC_BLESS=1 if intended)\n--- expected\n{want}\n--- actual\n{actual}"
        )),
        Err(_) => Some(format!(
            "{expected} is missing; create it with SNNC_BLESS=1\n--- actual\n{actual}"
        )),
    }
}

fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.snn").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-golden-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn every_diagnostic_matches_its_golden_text() {
    let dir = root().join("tests/data/diag");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("diag directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "snn"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "expected the full set of diagnostic cases"
    );
    let mut failures = Vec::new();
    for case in cases {
        let rel = format!(
            "tests/data/diag/{}",
            case.file_name().unwrap().to_string_lossy()
        );
        let out = snnc(&["check", &rel]);
        if out.status.code() != Some(1) {
            failures.push(format!("{rel}: exit {:?}, expected 1", out.status.code()));
        }
        if !out.stdout.is_empty() {
            failures.push(format!("{rel}: printed to stdout: {}", text(&out.stdout)));
        }
        let golden = rel.replace(".snn", ".stderr");
        failures.extend(check_golden(&golden, &text(&out.stderr)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_example_dumps_to_its_golden_ir() {
    let mut failures = Vec::new();
    for ex in examples() {
        let model = format!("examples/{ex}/model.snn");
        let out = snnc(&["dump-ir", &model]);
        assert!(out.status.success(), "{model}: {}", text(&out.stderr));
        failures.extend(check_golden(
            &format!("tests/data/golden/{ex}.ir"),
            &text(&out.stdout),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ron_and_dot_formats_are_stable() {
    let model = "examples/adaptive_lstm/model.snn";
    let mut failures = Vec::new();
    for (format, ext) in [("ron", "ron"), ("dot", "dot")] {
        let out = snnc(&["dump-ir", model, "--format", format]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        failures.extend(check_golden(
            &format!("tests/data/golden/adaptive_lstm.{ext}"),
            &text(&out.stdout),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_example_round_trips_through_the_text_format() {
    let tmp = temp_dir("roundtrip");
    for ex in examples() {
        for values in [false, true] {
            let a = snnc(
                &["dump-ir", &format!("examples/{ex}/model.snn")]
                    .into_iter()
                    .chain(values.then_some("--values"))
                    .collect::<Vec<_>>(),
            );
            assert!(a.status.success(), "{ex}: {}", text(&a.stderr));
            let a_path = tmp.join(format!("{ex}-{values}.ir"));
            std::fs::write(&a_path, &a.stdout).unwrap();
            let a_arg = a_path.to_string_lossy().into_owned();
            let b = snnc(
                &["dump-ir", &a_arg]
                    .into_iter()
                    .chain(values.then_some("--values"))
                    .collect::<Vec<_>>(),
            );
            assert!(b.status.success(), "{ex}: {}", text(&b.stderr));
            assert_eq!(
                text(&a.stdout),
                text(&b.stdout),
                "{ex}: dump of the dump differs"
            );
        }
    }
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn every_example_simulates_the_same_from_source_and_from_its_dump() {
    let tmp = temp_dir("sim");
    for ex in examples() {
        let model = format!("examples/{ex}/model.snn");
        let input = format!("examples/{ex}/input.npy");
        let dump = tmp.join(format!("{ex}.ir"));
        let out = snnc(&["dump-ir", &model, "-o", &dump.to_string_lossy()]);
        assert!(out.status.success(), "{ex}: {}", text(&out.stderr));
        let mut results = Vec::new();
        for (tag, src) in [
            ("snn", model.clone()),
            ("ir", dump.to_string_lossy().into_owned()),
        ] {
            let y = tmp.join(format!("{ex}-{tag}.npz"));
            let out = snnc(&[
                "sim",
                &src,
                "--input",
                &input,
                "--output",
                &y.to_string_lossy(),
            ]);
            assert!(out.status.success(), "{ex} ({tag}): {}", text(&out.stderr));
            results.push(std::fs::read(&y).expect("outputs written"));
        }
        assert!(results[0].len() > 200, "{ex}: outputs too small");
        assert_eq!(
            results[0], results[1],
            "{ex}: the dump simulates differently"
        );
    }
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn sim_errors_are_reported_without_partial_files() {
    let tmp = temp_dir("simerr");
    let y = tmp.join("y.npy");
    // The modular input has 64 columns; the elman network takes 8.
    let out = snnc(&[
        "sim",
        "examples/elman/model.snn",
        "--input",
        "examples/modular/input.npy",
        "--output",
        &y.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "[E0300] Error: examples/modular/input.npy: the input array has 64 columns, but the network's inputs take 8 (x: 8)\n1 error\n"
    );
    assert!(!y.exists());
    // Two outputs cannot go to one .npy file.
    let out = snnc(&[
        "sim",
        "examples/alif_srnn/model.snn",
        "--input",
        "examples/alif_srnn/input.npy",
        "--output",
        &y.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "[E0300] Error: the network has 2 outputs (logits, hidden_spikes); write them to a .npz file or a directory\n1 error\n"
    );
    assert!(!y.exists());
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn missing_model_file_is_a_clear_error() {
    let out = snnc(&["check", "no/such/model.snn"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "[E0200] Error: cannot read no/such/model.snn: no such file\n1 error\n"
    );
}

/// Where a fold test's dump goes (deleted after).
fn out_path(case: &str) -> PathBuf {
    std::env::temp_dir().join(format!("snnc-fold-{}-{case}.ir", std::process::id()))
}

#[test]
fn fold_diagnostics_match_their_golden_text() {
    let mut failures = Vec::new();
    for (case, extra) in [
        ("lstm", None),
        ("tanh_rnn", None),
        ("lstm", Some("lstm=sfa")),
    ] {
        let file = format!("tests/data/fold/{case}.snn");
        // The dump itself is not checked here, only the diagnostics.
        let out = out_path(case).display().to_string();
        let mut args = vec![
            "dump-ir",
            &file,
            "--backend",
            "loihi2",
            "--after",
            "fold",
            "-o",
            &out,
        ];
        if let Some(a) = extra {
            args.extend(["--approximate", a]);
        }
        let out = snnc(&args);
        let _ = std::fs::remove_file(out_path(case));
        let expect_ok = extra.is_some();
        if out.status.success() != expect_ok {
            failures.push(format!("{file} {extra:?}: exit {:?}", out.status.code()));
        }
        let golden = match extra {
            Some(_) => format!("tests/data/fold/{case}.approximate.stderr"),
            None => format!("tests/data/fold/{case}.stderr"),
        };
        failures.extend(check_golden(&golden, &text(&out.stderr)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
