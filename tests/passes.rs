//! The pass pipeline on every example and every target: each exact pass
//! keeps the reference outputs of the graph it got (to 1e-5 relative), and every (example, target)
//! pair either compiles or fails with a diagnostic; the outcome of each pair
//! is pinned in `tests/data/golden/targets.txt`.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use snn_ir::Graph;
use snn_runtime::reference::{Inputs, simulate};
use snnc::arrays;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The models to push through the pipeline: every example, and the fold
/// tests that are expected to fold.
fn models() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.snn").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        v.push((n.clone(), PathBuf::from(format!("examples/{n}/model.snn"))));
    }
    for n in ["alif_algebra", "nested", "lstm", "tanh_rnn"] {
        v.push((
            format!("fold/{n}"),
            PathBuf::from(format!("tests/data/fold/{n}.snn")),
        ));
    }
    v
}

fn load(rel: &Path) -> Graph {
    let (g, _) =
        snnc::driver::load(&root().join(rel)).unwrap_or_else(|r| panic!("{}", r.render(false)));
    g
}

/// The example's own input, or a seeded random spike train.
fn input_for(g: &Graph, rel: &Path) -> Inputs {
    let npy = rel.with_file_name("input.npy");
    if root().join(&npy).exists() {
        let a = arrays::read_npy(&root().join(&npy)).unwrap();
        let (t, n) = (a.shape[0], a.shape[1]);
        let m = Array2::from_shape_vec((t, n), a.to_f32().unwrap()).unwrap();
        return Inputs::split(g, m.view()).unwrap();
    }
    let width: u32 = g.inputs().iter().map(|&n| g.shape(n).len()).sum();
    let init = snn_ir::tensor::Init::Dense {
        dist: snn_ir::tensor::Dist::Uniform {
            low: 0.0,
            high: 1.0,
        },
        seed: 5,
    };
    let v = init
        .generate(&[40, width])
        .unwrap()
        .values
        .as_f32()
        .unwrap()
        .to_vec();
    let m = Array2::from_shape_vec((40, width as usize), v).unwrap();
    Inputs::split(g, m.view()).unwrap()
}

fn outputs(g: &Graph, inputs: &Inputs) -> Vec<(String, Array2<f32>)> {
    simulate(g, inputs, inputs.rows())
        .unwrap()
        .into_vec()
        .into_iter()
        .map(|r| (r.name, r.values))
        .collect()
}

fn assert_same(before: &[(String, Array2<f32>)], after: &[(String, Array2<f32>)], what: &str) {
    assert_eq!(
        before.len(),
        after.len(),
        "{what}: outputs differ in number"
    );
    for ((n, a), (m, b)) in before.iter().zip(after) {
        assert_eq!(n, m, "{what}");
        assert_eq!(a.dim(), b.dim(), "{what}: {n}");
        let scale = a.iter().fold(0f32, |s, x| s.max(x.abs())).max(1.0);
        let worst = a
            .iter()
            .zip(b.iter())
            .fold(0f32, |s, (x, y)| s.max((x - y).abs()));
        assert!(
            worst <= 1e-5 * scale,
            "{what}: output {n} differs by {worst} (scale {scale})"
        );
    }
}

#[test]
fn exact_passes_keep_the_reference_outputs_and_every_pair_is_pinned() {
    let mut table = String::new();
    for (name, rel) in models() {
        let g0 = load(&rel);
        let inputs = input_for(&g0, &rel);
        let reference = outputs(&g0, &inputs);
        let options = if name == "fold/lstm" {
            snn_passes::Options {
                approximate_lstm: true,
                ..Default::default()
            }
        } else {
            snn_passes::Options::default()
        };
        for backend in snn_backends::NAMES {
            let target = snn_backends::target(backend).unwrap();
            let mut g = g0.clone();
            let mut before = reference.clone();
            let mut outcome = String::from("ok");
            for pass in snn_passes::pipeline(target) {
                match snn_passes::run(g.clone(), &[pass], target, &options, &mut |_| {}) {
                    Ok(o) => {
                        g = o.graph;
                        let approximated = o.diags.iter().any(|d| d.code == "W0431");
                        let after = outputs(&g, &inputs);
                        if pass.exact && !approximated {
                            assert_same(
                                &before,
                                &after,
                                &format!("{name} {backend} after {}", pass.name),
                            );
                        }
                        before = after;
                    }
                    Err(diags) => {
                        let first = diags
                            .iter()
                            .find(|d| d.severity == snn_passes::Severity::Error)
                            .expect("a failing pass reports an error");
                        outcome = format!(
                            "{} in {}: [{}] {}",
                            "fails", pass.name, first.code, first.message
                        );
                        break;
                    }
                }
            }
            let pops = g.populations().len();
            if outcome == "ok" {
                outcome = format!("ok ({pops} populations)");
            }
            table.push_str(&format!("{name:<24} {backend:<10} {outcome}\n"));
        }
    }
    let path = root().join("tests/data/golden/targets.txt");
    if std::env::var_os("SNNC_BLESS").is_some() {
        std::fs::write(&path, &table).unwrap();
    } else {
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            want, table,
            "tests/data/golden/targets.txt differs (re-bless with SNNC_BLESS=1)"
        );
    }
}
