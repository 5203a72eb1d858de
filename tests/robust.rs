//! No input crashes snnc or hides an error: every reproducer of issue 12
//! and every crash the fuzzer found, run through the `snnc` binary, each
//! ending in exit 0 or a diagnostic with exit 1; and the documented limits
//! (nesting, chains, memory) at and just past their boundaries, on the
//! command stack (`snnc::cli::STACK_BYTES`) of whatever build runs the
//! tests (a debug build has the largest stack frames).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use snnc::arrays::{self, Array};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory for one test.
fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-robust-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `snnc ARGS --color=never --max-memory 1G` in `cwd`.
fn snnc_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .args(["--color=never", "--max-memory", "1G"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("snnc runs")
}

/// `snnc_in` with the address space limited to `bytes`: an allocation the
/// budget should have refused aborts here instead of succeeding on a
/// machine with the memory for it.
fn snnc_limited(cwd: &Path, args: &[&str], bytes: u64) -> Output {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_snnc"));
    command
        .args(args)
        .args(["--color=never", "--max-memory", "1G"])
        .current_dir(cwd)
        .stdin(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe, and the closure touches
    // nothing else between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.output().expect("snnc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `snnc`, checks that it failed with exit 1 and a first line that
/// starts with `expected`, and returns what it printed on stderr.
fn fails(cwd: &Path, args: &[&str], expected: &str) -> String {
    let out = snnc_in(cwd, args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(expected),
        "{args:?}: expected a first line starting\n{expected}\ngot\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Runs `snnc`, checks that it succeeded, and returns stdout.
fn succeeds(cwd: &Path, args: &[&str]) -> String {
    let out = snnc_in(cwd, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn write(d: &Path, name: &str, body: &str) {
    std::fs::write(d.join(name), body).expect("write");
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

const HEAD: &str = "timestep 1ms;\ninput x[4];\n";

// ------------------------------------------------------------ limits

#[test]
fn deep_nesting_is_a_located_error() {
    let d = dir("nesting");
    let cases = [
        (
            "relu",
            format!("let y = {}x{};\n", "relu(".repeat(5000), ")".repeat(5000)),
        ),
        (
            "lists",
            format!("const c = {}1{};\n", "[".repeat(10_000), "]".repeat(10_000)),
        ),
        ("minus", format!("let y = {}x;\n", "-".repeat(40_000))),
        ("sum", format!("let y = x{};\n", " + x".repeat(39_999))),
    ];
    for (name, body) in cases {
        let file = format!("{name}.snn");
        write(&d, &file, &format!("{HEAD}{body}output o = x;\n"));
        let err = fails(
            &d,
            &["check", &file],
            "[E0012] Error: expression nested more than 256 levels deep",
        );
        assert!(err.contains("level 257 starts here"), "{err}");
    }
}

/// 255 minus signs and `x`: 256 levels, the most an expression may nest.
/// Lowering, folding, the reference and the placement all walk it.
#[test]
fn an_expression_at_the_nesting_limit_runs_end_to_end() {
    let d = dir("nesting-limit");
    write(
        &d,
        "m.snn",
        &format!("{HEAD}output y = {}x;\n", "-".repeat(255)),
    );
    write(
        &d,
        "r.snn",
        &format!(
            "{HEAD}output y = {}x{};\n",
            "relu(".repeat(255),
            ")".repeat(255)
        ),
    );
    let x = Array::f32(
        vec![3, 4],
        vec![
            0.5, -1.0, 2.0, 0.0, 1.0, 1.0, -3.0, 0.25, 0.0, 0.0, 0.0, 1.0,
        ],
    );
    arrays::write_npy(&d.join("x.npy"), &x).expect("input");
    succeeds(
        &d,
        &["sim", "m.snn", "--input", "x.npy", "--output", "m.npy"],
    );
    // 255 negations: −x.
    let y = arrays::read_npy(&d.join("m.npy")).expect("output");
    let neg: Vec<f32> = x.to_f32().unwrap().iter().map(|v| -v).collect();
    assert_eq!(y.to_f32().unwrap(), neg);
    succeeds(&d, &["compile", "m.snn", "--backend", "loihi2"]);
    // 255 nested activations become 255 layers of sigma-delta neurons.
    let out = succeeds(&d, &["compile", "r.snn", "--backend", "loihi2"]);
    assert!(out.contains("255 populations (1020 neurons)"), "{out}");
}

/// `let a2047 = -a2048;` … written last to first: lowering `a0` goes
/// through every definition, one inside the other.
fn reverse_lets(n: usize) -> String {
    let mut s = format!("{HEAD}output y = a0;\n");
    for i in 0..n {
        s.push_str(&format!("let a{i} = -a{};\n", i + 1));
    }
    s.push_str(&format!("let a{n} = x;\n"));
    s
}

/// `let a1 = -a0;` … in order: a chain of `n` negations in one step.
fn chain(n: usize) -> String {
    let mut s = format!("{HEAD}let a0 = x;\n");
    for i in 0..n {
        s.push_str(&format!("let a{} = -a{i};\n", i + 1));
    }
    s.push_str(&format!("output y = a{n};\n"));
    s
}

#[test]
fn definitions_nested_to_the_limit_lower_and_one_more_is_an_error() {
    let d = dir("definitions");
    // Each definition is two levels (the minus and the name it reads).
    write(&d, "ok.snn", &reverse_lets(2047));
    write(&d, "deep.snn", &reverse_lets(2048));
    succeeds(&d, &["check", "ok.snn"]);
    succeeds(&d, &["compile", "ok.snn", "--backend", "seneca"]);
    let err = fails(
        &d,
        &["check", "deep.snn"],
        "[E0013] Error: this value is defined through more than 4096 nested expressions",
    );
    assert!(err.contains("let a2047 = -a2048;"), "{err}");
}

#[test]
fn chains_to_the_limit_compile_and_one_more_operation_is_an_error() {
    let d = dir("chains");
    write(&d, "ok.snn", &chain(4096));
    write(&d, "long.snn", &chain(4097));
    let x = Array::f32(vec![2, 4], vec![1.0, -2.0, 0.5, 0.0, 3.0, 1.0, -1.0, 2.0]);
    arrays::write_npy(&d.join("x.npy"), &x).expect("input");
    succeeds(
        &d,
        &["sim", "ok.snn", "--input", "x.npy", "--output", "y.npy"],
    );
    // An even number of negations: x again.
    assert_eq!(arrays::read_npy(&d.join("y.npy")).unwrap(), x);
    succeeds(&d, &["compile", "ok.snn", "--backend", "loihi2"]);
    // Its IR dump reads back.
    let dump = succeeds(&d, &["dump-ir", "ok.snn"]);
    write(&d, "ok.ir", &dump);
    succeeds(&d, &["check", "ok.ir"]);
    fails(
        &d,
        &["check", "long.snn"],
        "[E0013] Error: `a4097` is computed through a chain of 4097 operations in one step, more than 4096",
    );
}

/// `let a1 = a0 + a0;`, `let a2 = a1 + a1;` …: every definition reads the
/// one before twice, so the expression has 2^n paths through n nodes.
fn ladder(n: usize) -> String {
    let mut s = format!("{HEAD}let a0 = x;\n");
    for i in 0..n {
        s.push_str(&format!("let a{} = a{i} + a{i};\n", i + 1));
    }
    s.push_str(&format!("output y = a{n};\n"));
    s
}

#[test]
fn shared_definitions_fold_once_each() {
    let d = dir("ladder");
    // The fold pass's sizes counted 2^40 paths (an overflow in a debug
    // build) and walked them.
    write(&d, "ladder.snn", &ladder(40));
    let out = succeeds(&d, &["compile", "ladder.snn", "--backend", "loihi2"]);
    assert!(
        out.contains("1 population (4 neurons), 1 projection (4 synapses)"),
        "{out}"
    );
    let x = Array::f32(vec![1, 4], vec![1.0, -2.0, 0.5, 0.0]);
    arrays::write_npy(&d.join("x.npy"), &x).expect("input");
    succeeds(
        &d,
        &["sim", "ladder.snn", "--input", "x.npy", "--output", "y.npy"],
    );
    let k = 2f32.powi(40);
    assert_eq!(
        arrays::read_npy(&d.join("y.npy")).unwrap(),
        Array::f32(vec![1, 4], vec![k, -2.0 * k, 0.5 * k, 0.0])
    );
}

#[test]
fn a_chain_of_matrix_products_is_one_short_error() {
    let d = dir("matrix-chain");
    // Extraction from the e-graph went over the whole graph once a link
    // (half a minute for 1,000 links), and the message named every matrix.
    let mut s = format!("{HEAD}const W: [4, 4] = normal(std=0.1, seed=1);\nlet a0 = x;\n");
    for i in 0..300 {
        s.push_str(&format!("let a{} = 0.5 * W @ a{i} + x;\n", i + 1));
    }
    s.push_str("output y = a300;\n");
    write(&d, "chain.snn", &s);
    let err = fails(
        &d,
        &["compile", "chain.snn", "--backend", "loihi2"],
        "[E0430] Error: cannot fold the value `a300`: a product of several matrices cannot be mapped to a neuron input",
    );
    assert!(err.contains("let a300 = 0.5 * W @ a299 + x;"), "{err}");
    // A value without a name is the expression the message points at, not
    // a node number of the IR.
    write(
        &d,
        "unnamed.snn",
        &format!(
            "{HEAD}const W: [4, 4] = normal(std=0.1, seed=1);\noutput y = relu(W @ (W @ x));\n"
        ),
    );
    let err = fails(
        &d,
        &["compile", "unnamed.snn", "--backend", "loihi2"],
        "[E0430] Error: cannot fold this value: a matrix times a matrix product inside `relu` cannot be mapped to a neuron input",
    );
    assert!(err.contains("output y = relu(W @ (W @ x));"), "{err}");
}

#[test]
fn sizes_over_the_memory_budget_are_refused_before_any_work() {
    let d = dir("budget");
    write(
        &d,
        "big_const.snn",
        &format!("{HEAD}const q: [1000000, 1000000] = normal(seed=1);\noutput o = x;\n"),
    );
    fails(
        &d,
        &["check", "big_const.snn"],
        "[E0206] Error: `normal` of shape [1000000, 1000000] needs 7.28 TiB of memory, more than the budget of 1.00 GiB (--max-memory)",
    );
    // Found by the long fuzz run (seed 12, case 635945): 0.95 GiB of
    // values fit a 1 GiB budget, but moving them into the tensor held two
    // copies, 2 GB resident. Both copies are counted now.
    write(
        &d,
        "twice.snn",
        &format!("{HEAD}const q: [1000000, 256] = normal(std=0.1, seed=1);\noutput o = x;\n"),
    );
    fails(
        &d,
        &["check", "twice.snn"],
        "[E0206] Error: `normal` of shape [1000000, 256] needs 1.91 GiB of memory, more than the budget of 1.00 GiB (--max-memory)",
    );
    // `check` reads the model only; `sim` needs the neurons.
    write(
        &d,
        "big_pop.snn",
        "timestep 1ms;\npopulation p: lif[1000000000] { tau_mem = 20ms; bias = 0.5; }\noutput o = p.v;\n",
    );
    succeeds(&d, &["check", "big_pop.snn"]);
    fails(
        &d,
        &["sim", "big_pop.snn", "--steps", "3", "--output", "y.npz"],
        "[E0206] Error: the state of 3 nodes and their neurons needs 48.43 GiB of memory, more than the budget of 1.00 GiB (--max-memory)",
    );
    assert!(!d.join("y.npz").exists());
    fails(
        &d,
        &["compile", "big_pop.snn", "--backend", "loihi2"],
        "[E0206] Error: the range analysis of 1000000000 neurons needs 29.80 GiB of memory, more than the budget of 1.00 GiB (--max-memory)",
    );
    // A huge input feeding a sparse projection: refused from the expected
    // number of synapses, before drawing them.
    write(
        &d,
        "sparse.snn",
        "timestep 1ms;\ninput x[2147483647];\npopulation p: lif[100] { tau_mem = 20ms; }\n\
         x -> p { weight = sparse(density=0.1, values=1.0, seed=1); }\noutput o = p.v;\n",
    );
    fails(
        &d,
        &["check", "sparse.snn"],
        "[E0206] Error: `sparse` of shape [100, 2147483647] needs 160.00 GiB of memory, more than the budget of 1.00 GiB (--max-memory)",
    );
    // A model file itself: its text is read only as far as the budget
    // allows for tokens and syntax tree.
    fails(
        &d,
        &["check", "/dev/zero"],
        "[E0206] Error: /dev/zero is longer than the 4.00 MiB of text the memory budget of 1.00 GiB allows for a model (256 bytes per byte of text) (--max-memory)",
    );
}

#[test]
fn run_steps_beyond_memory_are_refused() {
    let d = dir("steps");
    let model = root().join("examples/lprnn/model.snn");
    let input = path(&root().join("examples/lprnn/input.npy"));
    succeeds(
        &d,
        &["compile", &path(&model), "--backend", "loihi2", "-o", "cfg"],
    );
    for (steps, needs) in [
        ("1000000000000", "58.21 TiB"),
        ("18446744073709551615", "1.00 ZiB"),
    ] {
        fails(
            &d,
            &[
                "run", "cfg", "--input", &input, "--output", "y.npy", "--steps", steps,
            ],
            &format!(
                "[E0206] Error: recording {steps} steps of the outputs needs {needs} of memory, more than the budget of 1.00 GiB (--max-memory)"
            ),
        );
        assert!(!d.join("y.npy").exists());
    }
    // The same steps through the reference.
    fails(
        &d,
        &[
            "sim",
            &path(&model),
            "--input",
            &input,
            "--output",
            "y.npy",
            "--steps",
            "18446744073709551615",
        ],
        "[E0206] Error: a recording of 18446744073709551615 steps × 10 output values needs 640.00 EiB of memory, more than the budget of 1.00 GiB (--max-memory)",
    );
}

// -------------------------------------------------------- array files

/// The `.npy` bytes of a float32 array whose header declares `shape`,
/// followed by `data` as given.
fn npy_bytes(shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn zip(path: &Path, members: &[(&str, Vec<u8>)]) {
    let f = std::fs::File::create(path).expect("create");
    let mut z = zip::ZipWriter::new(f);
    for (name, data) in members {
        z.start_file(
            *name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .expect("entry");
        z.write_all(data).expect("data");
    }
    z.finish().expect("finish");
}

#[test]
fn array_headers_are_checked_before_their_data_is_read() {
    let d = dir("arrays");
    // A member that declares [64, 4194304] (1 GiB of float32) but holds 16
    // bytes: the declared shape is refused from the header.
    zip(
        &d.join("big.npz"),
        &[("W.npy", npy_bytes("(64, 4194304)", &[0; 16]))],
    );
    write(
        &d,
        "big.snn",
        &format!("{HEAD}const W: [4, 4] = load(\"big.npz\", \"W\");\noutput y = W @ x;\n"),
    );
    fails(
        &d,
        &["check", "big.snn"],
        "[E0122] Error: shape mismatch: `W` in big.npz has shape [64, 4194304], but `W` is declared [4, 4]",
    );
    // Without a declared shape the data is checked against the member's
    // size before any of it is set aside.
    write(
        &d,
        "undeclared.snn",
        &format!("{HEAD}const W = load(\"big.npz\", \"W\");\noutput y = x;\n"),
    );
    let err = fails(
        &d,
        &["check", "undeclared.snn"],
        "[E0123] Error: cannot read `W` from `big.npz`",
    );
    assert!(
        err.contains("expected 1073741824 bytes of data, found 16"),
        "{err}"
    );
    // Bytes after a valid array.
    let ones: Vec<u8> = [1.0f32; 16].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut junk = npy_bytes("(4, 4)", &ones);
    junk.extend_from_slice(b"JUNKJUNK");
    zip(&d.join("junk.npz"), &[("W.npy", junk.clone())]);
    std::fs::write(d.join("junk.npy"), &junk).unwrap();
    write(
        &d,
        "junk.snn",
        &format!(
            "{HEAD}const W: [4, 4] = load(\"junk.npz\", \"W\");\nconst V: [4, 4] = load(\"junk.npy\");\noutput y = W @ x + V @ x;\n"
        ),
    );
    let err = fails(
        &d,
        &["check", "junk.snn"],
        "[E0123] Error: cannot read `W` from `junk.npz`",
    );
    assert!(
        err.contains("`W` in junk.npz is malformed: 8 bytes follow the array's 64 bytes of data"),
        "{err}"
    );
    assert!(
        err.contains("junk.npy is malformed: 8 bytes follow the array's 64 bytes of data"),
        "{err}"
    );
    // A 0-d array is not broadcast to a declared matrix.
    arrays::write_npy(&d.join("s.npy"), &Array::f32(vec![], vec![0.5])).unwrap();
    write(
        &d,
        "scalar.snn",
        &format!("{HEAD}const W: [4, 4] = load(\"s.npy\");\noutput y = W @ x;\n"),
    );
    fails(
        &d,
        &["check", "scalar.snn"],
        "[E0122] Error: shape mismatch: s.npy has shape [], but `W` is declared [4, 4]",
    );
}

#[test]
fn weights_that_are_not_finite_are_an_error_at_check() {
    let d = dir("nonfinite");
    let mut w = vec![0.5f32; 16];
    w[5] = f32::NAN;
    let mut v = vec![0.25f32; 16];
    v[6] = f32::INFINITY;
    arrays::write_npz(
        &d.join("w.npz"),
        &[
            ("W", &Array::f32(vec![4, 4], w)),
            ("V", &Array::f32(vec![4, 4], v)),
        ],
    )
    .unwrap();
    write(
        &d,
        "m.snn",
        &format!(
            "{HEAD}population p: lif[4] {{ tau_mem = 20ms; }}\nx -> p {{ weight = load(\"w.npz\", \"V\"); }}\noutput y = load(\"w.npz\", \"W\") @ x;\noutput z = p.v;\n"
        ),
    );
    let err = fails(
        &d,
        &["check", "m.snn"],
        "[E0124] Error: `V` in w.npz holds inf at [1, 2]",
    );
    assert!(
        err.contains("[E0124] Error: `W` in w.npz holds NaN at [1, 1]"),
        "{err}"
    );
    // Made by arithmetic: `1 / 0`.
    write(
        &d,
        "div.snn",
        &format!("{HEAD}const W: [2, 4] = [[1, 2, 3, 4], [5, 6, 7, 8]] / 0;\noutput y = W @ x;\n"),
    );
    fails(
        &d,
        &["check", "div.snn"],
        "[E0124] Error: this tensor holds inf at [0, 0]",
    );
}

// ------------------------------------------------- nothing is dropped

#[test]
fn a_matrix_product_of_two_changing_values_is_reported_where_it_is() {
    let d = dir("matvec");
    write(&d, "out.snn", &format!("{HEAD}output y = x @ x;\n"));
    write(
        &d,
        "state.snn",
        &format!("{HEAD}state h[4] = 0;\nh = x @ x;\noutput y = h;\n"),
    );
    for f in ["out.snn", "state.snn"] {
        let err = fails(
            &d,
            &["check", f],
            "[E0102] Error: the left side of `@` must be a constant matrix, not a value computed every step",
        );
        assert!(err.contains("computed every step"), "{err}");
    }
}

#[test]
fn output_of_a_population_by_name_works() {
    let d = dir("output");
    write(
        &d,
        "m.snn",
        &format!(
            "{HEAD}population hid: lif[4] {{ tau_mem = 20ms; threshold = 0.5; }}\nx -> hid {{ weight = 1.0; }}\noutput hid;\n"
        ),
    );
    let out = succeeds(&d, &["check", "m.snn"]);
    assert!(out.contains("1 output"), "{out}");
    arrays::write_npy(
        &d.join("x.npy"),
        &Array::f32(vec![2, 4], vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    )
    .unwrap();
    succeeds(
        &d,
        &["sim", "m.snn", "--input", "x.npy", "--output", "y.npy"],
    );
    // A current of 1 over a threshold of 0.5 spikes at once.
    let y = arrays::read_npy(&d.join("y.npy")).unwrap();
    assert_eq!(y.shape, vec![2, 4]);
    assert_eq!(
        y.to_f32().unwrap(),
        vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
    // Twice is a duplicate, reported once.
    write(
        &d,
        "twice.snn",
        &format!(
            "{HEAD}population hid: lif[4] {{ tau_mem = 20ms; }}\nx -> hid {{ weight = 1.0; }}\noutput hid;\noutput hid;\n"
        ),
    );
    let err = fails(
        &d,
        &["check", "twice.snn"],
        "[E0101] Error: duplicate output `hid`",
    );
    assert!(err.ends_with("1 error in twice.snn\n"), "{err}");
}

#[test]
fn a_bad_time_constant_is_one_error() {
    let d = dir("tau");
    write(
        &d,
        "m.snn",
        &format!(
            "{HEAD}population p: lif[4] {{ tau_mem = 20; }}\nx -> p {{ weight = 1.0; }}\noutput p;\n"
        ),
    );
    let err = fails(
        &d,
        &["check", "m.snn"],
        "[E0103] Error: bad unit: `tau_mem` is a time constant",
    );
    assert!(!err.contains("E0108"), "{err}");
    assert!(err.ends_with("1 error in m.snn\n"), "{err}");
}

// ------------------------------------------------------ smaller items

#[test]
fn the_approximation_is_not_suggested_when_it_was_asked_for_and_cannot_apply() {
    let d = dir("gru");
    write(
        &d,
        "gru.snn",
        "timestep 1ms;\ninput x[6];\n\
         const Wz: [4, 6] = normal(std=0.3, seed=1);\nconst Wr: [4, 6] = normal(std=0.3, seed=2);\n\
         const Wh: [4, 6] = normal(std=0.3, seed=3);\nconst Uz: [4, 4] = normal(std=0.3, seed=4);\n\
         const Ur: [4, 4] = normal(std=0.3, seed=5);\nconst Uh: [4, 4] = normal(std=0.3, seed=6);\n\
         state h[4] = 0;\nlet z = sigmoid(Wz @ x + Uz @ h);\nlet r = sigmoid(Wr @ x + Ur @ h);\n\
         let c = tanh(Wh @ x + Uh @ (r * h));\nh = (1 - z) * h + z * c;\noutput y = h;\n",
    );
    let plain = fails(
        &d,
        &["compile", "gru.snn", "--backend", "loihi2"],
        "[E0430]",
    );
    assert!(plain.contains("Pass `--approximate lstm=sfa`"), "{plain}");
    let asked = fails(
        &d,
        &[
            "compile",
            "gru.snn",
            "--backend",
            "loihi2",
            "--approximate",
            "lstm=sfa",
        ],
        "[E0430]",
    );
    assert!(!asked.contains("Pass `--approximate lstm=sfa`"), "{asked}");
    assert!(
        asked.contains("`--approximate lstm=sfa` replaces a gated cell only when one of its products holds a candidate `tanh`"),
        "{asked}"
    );
}

#[test]
fn an_ir_dump_reads_its_weights_from_beside_it() {
    let d = dir("dump-paths");
    let ex = d.join("model");
    std::fs::create_dir_all(&ex).unwrap();
    for f in ["model.snn", "weights.npz"] {
        std::fs::copy(root().join("examples/lprnn").join(f), ex.join(f)).unwrap();
    }
    // Dumped from inside its directory: `source "model.snn"`.
    succeeds(&ex, &["dump-ir", "model.snn", "-o", "model.ir"]);
    // Read from elsewhere.
    let out = succeeds(&d, &["check", "model/model.ir"]);
    assert!(out.starts_with("model/model.ir: ok"), "{out}");
}

#[test]
fn dump_ir_after_a_pass_stops_there_and_writes_nothing_on_failure() {
    let d = dir("dump-after");
    let model = path(&root().join("examples/alif_srnn/model.snn"));
    // Folding works on TrueNorth; a later pass would refuse the model.
    succeeds(
        &d,
        &[
            "dump-ir",
            &model,
            "--backend",
            "truenorth",
            "--after",
            "fold",
            "-o",
            "fold.ir",
        ],
    );
    let dump = std::fs::read_to_string(d.join("fold.ir")).unwrap();
    assert!(dump.contains("= alif("), "{dump}");
    fails(
        &d,
        &[
            "dump-ir",
            &model,
            "--backend",
            "truenorth",
            "--after",
            "legalize",
            "-o",
            "legalize.ir",
        ],
        "[E0460] Error: alif population `hid` cannot run on truenorth",
    );
    assert!(!d.join("legalize.ir").exists());
}

#[test]
fn printing_into_a_closed_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args([
            "dump-ir",
            "examples/modular/model.snn",
            "--values",
            "--color=never",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("snnc runs");
    // Read one line, then close the pipe (as `| head -1` does).
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 9];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"snn-ir 1\n");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{:?}",
            out.status
        );
    }
}

#[test]
fn check_and_compile_count_the_same_synapses() {
    let d = dir("synapses");
    // A dense matrix with zeros: three synapses, not six.
    write(
        &d,
        "m.snn",
        "timestep 1ms;\ninput x[3];\nconst W: [2, 3] = [[0.5, 0, 0.25], [0, 0, 1]];\n\
         population p: lif[2] { tau_mem = 20ms; }\nx -> p { weight = W; }\noutput o = p.v;\n",
    );
    let check = succeeds(&d, &["check", "m.snn"]);
    assert!(check.contains("1 projection (3 synapses)"), "{check}");
    for backend in ["loihi", "loihi2"] {
        let compiled = succeeds(&d, &["compile", "m.snn", "--backend", backend]);
        assert!(compiled.contains("(3 synapses)"), "{compiled}");
    }
}

// ------------------------------------------------ found by the fuzzer

/// Compiles `example` for `backend` into `d/cfg`, removes the last value of
/// `groups[0].params.<chip>.<path>` in `core-0.json`, and returns the
/// error `run` gives (the engine indexed past such a list).
fn run_with_short_list(d: &Path, example: &str, backend: &str, keys: &[&str]) -> String {
    let model = path_of_example(example);
    succeeds(d, &["compile", &model, "--backend", backend, "-o", "cfg"]);
    let file = d.join("cfg/core-0.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let params = json["groups"][0]["params"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let mut at = params;
    for key in keys {
        at = &mut at[*key];
    }
    at.as_array_mut().unwrap().pop();
    std::fs::write(&file, serde_json::to_string(&json).unwrap()).unwrap();
    let input = path(&root().join(format!("examples/{example}/input.npy")));
    let out = snnc_in(d, &["run", "cfg", "--input", &input, "--output", "y.npz"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    text(&out.stderr)
}

fn path_of_example(name: &str) -> String {
    path(&root().join(format!("examples/{name}/model.snn")))
}

#[test]
fn per_neuron_lists_of_a_configuration_are_checked_before_running() {
    let d = dir("short-lists");
    let err = run_with_short_list(&d, "alif_srnn", "seneca", &["beta"]);
    assert!(
        err.starts_with("[E0500] Error: invalid configuration: cfg/core-0.json: groups[0].params.beta: 63 values for 64 neurons"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(d.join("cfg"));
    let err = run_with_short_list(&d, "alif_srnn", "loihi2", &["adaptive", "drho"]);
    assert!(
        err.starts_with("[E0500] Error: invalid configuration: cfg/core-0.json: groups[0].params.adaptive.drho: 32 values for 33 neurons"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(d.join("cfg"));
    let err = run_with_short_list(&d, "lprnn", "loihi2", &["sigma_delta", "dalpha"]);
    assert!(
        err.starts_with("[E0500] Error: invalid configuration: cfg/core-0.json: groups[0].params.sigma_delta.dalpha: 63 values for 64 neurons"),
        "{err}"
    );
}

/// A configuration lists routes for every column of an input: for 2^32 - 1
/// columns, 96 GiB asked of the allocator (an abort).
#[test]
fn the_routes_of_a_huge_input_are_checked_against_the_budget() {
    let d = dir("input-routes");
    write(
        &d,
        "m.snn",
        "timestep 1ms;\ninput x[4294967295];\noutput o = x;\n",
    );
    for args in [
        &["compile", "m.snn", "--backend", "truenorth", "-o", "cfg"][..],
        &["compare", "m.snn", "--backend", "truenorth"],
    ] {
        let err = fails(
            &d,
            args,
            "[E0206] Error: the routes of the 4294967295 columns of input `x` needs 96.00 GiB of memory, more than the budget of 1.00 GiB (--max-memory)",
        );
        assert!(err.contains("input x[4294967295];"), "{err}");
        assert!(!d.join("cfg").exists());
    }
}

/// Folding `-0.875 * x` into a population of 10^9 neurons made a bias of
/// one value a neuron (8 GB) before anything was checked.
#[test]
fn folding_a_huge_value_is_checked_against_the_budget() {
    let d = dir("fold-budget");
    write(
        &d,
        "m.snn",
        "timestep 1ms;\ninput x[1000000000];\nlet y = relu(x);\noutput o = -0.875 * x;\n",
    );
    for args in [
        &[
            "dump-ir",
            "m.snn",
            "--backend",
            "loihi",
            "--after",
            "quantize",
            "-o",
            "out",
        ][..],
        &["compile", "m.snn", "--backend", "loihi2", "-o", "cfg"],
    ] {
        // 4 GiB of address space: the bias alone asked for 8 GB.
        let out = snnc_limited(&d, args, 4 << 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("[E0432] Error: cannot fold this value: `eye` of shape [1000000000, 1000000000] needs 14.90 GiB of memory, more than the budget of 1.00 GiB (--max-memory)"),
            "{err}"
        );
        assert!(err.contains("output o = -0.875 * x;"), "{err}");
        assert!(!d.join("out").exists() && !d.join("cfg").exists());
    }
}

/// The placer priced a chunk's synapse lists at its own index width (4
/// bits for 16 neurons) plus one bit, not at the width of the core it
/// shares (7 bits for 82): the adaptive LSTM stand-in with its recurrent
/// projection given 1,001 times filled a Loihi 2 core past its synapse
/// memory, and the placement check ended the compile with E0900.
#[test]
fn shared_cores_price_synapses_at_their_index_width() {
    let d = dir("index-width");
    let example = root().join("examples/adaptive_lstm");
    let mut model = std::fs::read_to_string(example.join("model.snn")).unwrap();
    for _ in 0..1000 {
        model.push_str("adaptive -> adaptive { weight = W_aa; }\n");
    }
    write(&d, "model.snn", &model);
    std::fs::copy(example.join("weights.npz"), d.join("weights.npz")).unwrap();
    let out = succeeds(&d, &["compile", "model.snn", "--backend", "loihi2"]);
    assert!(
        out.contains("2018 projections (2188078 synapses), 0 states, 1 output; 5 cores on 1 chip"),
        "{out}"
    );
}

/// An adaptive neuron is two compartments on Loihi: when one alone did not
/// fit a core, the partitioner did not see that it was alone (it looked
/// for one compartment) and closed empty chunks forever.
#[test]
fn an_adaptive_neuron_too_big_for_a_core_is_an_error() {
    let d = dir("alif-too-big");
    write(
        &d,
        "m.snn",
        "timestep 1ms;\ninput x[5000];\n\
         population p: alif[2] { alpha_mem = 0.95; rho = 0.99; reset = subtract; refractory = 0; }\n\
         x -> p { weight = ones(); }\noutput o = p;\n",
    );
    let err = fails(
        &d,
        &["compile", "m.snn", "--backend", "loihi"],
        "[E0440] Error: population `p` does not fit a loihi core: one neuron needs 5000 input axons, a core has 4096 (over by 904)",
    );
    assert!(
        err.contains("even one of these neurons is too big for a core"),
        "{err}"
    );
}

/// Without outputs nothing bounded how long `--steps 2^64 - 1` ran.
#[test]
fn a_network_without_outputs_is_not_run() {
    let d = dir("no-outputs");
    write(&d, "m.snn", "timestep 1ms;\n");
    fails(
        &d,
        &[
            "sim",
            "m.snn",
            "--steps",
            "18446744073709551615",
            "--output",
            "y",
        ],
        "[E0300] Error: m.snn has no outputs: there is nothing to simulate",
    );
    assert!(!d.join("y").exists());
    // A configuration whose outputs were taken out.
    succeeds(
        &d,
        &[
            "compile",
            &path_of_example("lprnn"),
            "--backend",
            "loihi2",
            "-o",
            "cfg",
        ],
    );
    let manifest = d.join("cfg/manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    json["outputs"] = serde_json::json!([]);
    std::fs::write(&manifest, serde_json::to_string(&json).unwrap()).unwrap();
    let input = path(&root().join("examples/lprnn/input.npy"));
    fails(
        &d,
        &[
            "run",
            "cfg",
            "--input",
            &input,
            "--output",
            "y.npz",
            "--steps",
            "18446744073709551615",
        ],
        "[E0300] Error: cfg: the configuration has no outputs: there is nothing to run",
    );
}

/// Compiles `example` for `backend` into `DIR/cfg`, sets the manifest's
/// `key` to `value`, and returns the error of running it on the example's
/// input (the run must fail with status 1 and write no output).
fn run_with_manifest(
    tag: &str,
    example: &str,
    backend: &str,
    key: &str,
    value: serde_json::Value,
    expected: &str,
) {
    let d = dir(tag);
    let model = path(&root().join(format!("examples/{example}/model.snn")));
    succeeds(&d, &["compile", &model, "--backend", backend, "-o", "cfg"]);
    let manifest = d.join("cfg/manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    json[key] = value;
    std::fs::write(&manifest, serde_json::to_string(&json).unwrap()).unwrap();
    let input = path(&root().join(format!("examples/{example}/input.npy")));
    fails(
        &d,
        &["run", "cfg", "--input", &input, "--output", "y.npz"],
        expected,
    );
    assert!(!d.join("y.npz").exists());
}

/// Found by the long fuzz run (seed 12, case 1008400): a manifest that
/// claims 2^32 − 1 cores made `run` reserve room for all of them (893 GB)
/// before reading the first file. Now the first missing core file is the
/// error.
#[test]
fn a_core_count_without_files_is_an_error_not_a_reservation() {
    run_with_manifest(
        "core-count",
        "lprnn",
        "seneca",
        "cores",
        serde_json::json!(u32::MAX),
        "[E0500] Error: invalid configuration: cfg/core-1.json: No such file or directory",
    );
}

/// Found by the long fuzz run (seed 12, cases 1324675 and 1529326): a
/// manifest whose `ticks_per_step` was about 2^31 ran that many ticks a
/// step, past any time limit. The configuration is refused instead.
#[test]
fn ticks_per_step_beyond_the_limit_are_an_invalid_configuration() {
    run_with_manifest(
        "ticks",
        "elman",
        "loihi2",
        "ticks_per_step",
        serde_json::json!(i32::MAX),
        "[E0500] Error: invalid configuration: cfg/manifest.json: ticks_per_step: 2147483647 (a step is 1 to 64 ticks)",
    );
}
