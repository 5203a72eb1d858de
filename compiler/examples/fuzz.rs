//! The long fuzzing run: generates cases (`snnc::fuzz::case`), runs them in
//! supervised child processes, and prints counts by outcome: `ok`, `error`
//! by code, `panic`, `abort`, `stack overflow`, `out of memory`,
//! `timeout`, and the cases over the time or memory limits.
//!
//! ```text
//! cargo run --release -p snnc --example fuzz -- --cases 1000000
//!     [--seed S] [--jobs J] [--timeout SECONDS] [--max-memory SIZE]
//!     [--out DIR] [--start I] [--budget SECONDS]
//! cargo run --release -p snnc --example fuzz -- --seed S --only I --out DIR
//! ```
//!
//! Each worker is this program with `--worker`: it reads case indices on
//! standard input and answers one line per case (outcome, milliseconds,
//! peak resident memory). Aborts and stack overflows end a worker; the
//! supervisor records the case, keeps its files under `DIR/findings/` and
//! starts another worker. A case over `--timeout` (default 10 s) is killed
//! the same way. Workers run with one thread each (`RAYON_NUM_THREADS=1`),
//! the memory budget `--max-memory` (default 1G), and an address-space
//! limit of 8 GiB so that a runaway allocation fails instead of taking
//! the machine. With `--budget`, no case starts after that many seconds:
//! the run ends with the cases that ran, and says so.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use snnc::fuzz::{self, Case, CaseFile, Corpus, Outcome};

#[global_allocator]
static ALLOC: snn_ir::budget::CountingAlloc = snn_ir::budget::CountingAlloc;

/// Inputs at most this large must stay within the limits below.
const SMALL_INPUT: u64 = 64 << 10;
/// Peak resident memory a small input may take.
const MEMORY_LIMIT_KIB: u64 = 2 << 20;

struct Options {
    cases: u64,
    seed: u64,
    jobs: usize,
    timeout: Duration,
    max_memory: u64,
    out: PathBuf,
    start: u64,
    budget: Option<Duration>,
    only: Option<u64>,
    worker: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        cases: 10_000,
        seed: 1,
        jobs: 2,
        timeout: Duration::from_secs(10),
        max_memory: 1 << 30,
        out: std::env::temp_dir().join("snnc-fuzz"),
        start: 0,
        budget: None,
        only: None,
        worker: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{a}: {e}"));
        match a.as_str() {
            "--cases" => o.cases = num(value()?)?,
            "--seed" => o.seed = num(value()?)?,
            "--jobs" => o.jobs = num(value()?)?.max(1) as usize,
            "--timeout" => {
                let v = value()?;
                let secs: f64 = v.parse().map_err(|e| format!("--timeout: {e}"))?;
                o.timeout = Duration::from_secs_f64(secs);
            }
            "--max-memory" => o.max_memory = snn_ir::budget::parse_size(&value()?)?,
            "--out" => o.out = PathBuf::from(value()?),
            "--start" => o.start = num(value()?)?,
            "--budget" => {
                let v = value()?;
                let secs: f64 = v.parse().map_err(|e| format!("--budget: {e}"))?;
                o.budget = Some(Duration::from_secs_f64(secs));
            }
            "--only" => o.only = Some(num(value()?)?),
            "--worker" => o.worker = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(o)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const BACKENDS: [&str; 4] = ["loihi", "loihi2", "seneca", "truenorth"];

/// The corpus, with its dumps and configurations made under `out/corpus`
/// (`prepare`: by the supervisor, once) or read from there (workers).
fn corpus(out: &Path, prepare: bool) -> Corpus {
    let mut c = Corpus::read(&root(), true);
    if prepare {
        c.prepare(&out.join("corpus"), &BACKENDS);
    } else {
        c.load_prepared(&out.join("corpus"), &BACKENDS);
    }
    c
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fuzz: {e}");
            std::process::exit(2);
        }
    };
    if o.worker {
        worker(&o);
        return;
    }
    let _ = std::fs::create_dir_all(&o.out);
    fuzz::keep_panic_messages();
    snn_ir::budget::set_limit(o.max_memory);
    let started = Instant::now();
    // `--only` reuses a corpus an earlier run prepared.
    let prepared = o.only.is_some() && o.out.join("corpus/ready").exists();
    let corpus = corpus(&o.out, !prepared);
    eprintln!(
        "corpus: {} models, {} dumps, {} configurations ({:.1} s)",
        corpus.seeds.len(),
        corpus.dumps.len(),
        corpus.configs.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(i) = o.only {
        let case = fuzz::case(&corpus, o.seed, i);
        let dir = o.out.join(format!("case-{i}"));
        let outcome = fuzz::run_case(&case, &dir);
        describe(&case, &dir);
        println!("outcome: {}", show(&outcome));
        return;
    }
    supervise(&o, &corpus);
}

fn show(o: &Outcome) -> String {
    match o {
        Outcome::Panic(m) => format!("panic: {m}"),
        other => other.key(),
    }
}

/// Prints what a case runs, with `{dir}` filled in.
fn describe(case: &Case, dir: &Path) {
    println!("case from {} ({})", case.seed, case.kind);
    for c in &case.commands {
        let d = dir.to_string_lossy();
        let line: Vec<String> = c.iter().map(|a| a.replace("{dir}", &d)).collect();
        println!("  snnc {}", line.join(" "));
    }
}

// ---------------------------------------------------------------- worker

/// Resets the peak resident memory the kernel keeps for this process.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory (KiB) since the last reset.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn worker(o: &Options) {
    // Answers go to the original standard output; what commands print goes
    // to /dev/null; panics are kept as messages.
    // SAFETY: plain descriptor calls on descriptors this process owns,
    // before any other thread exists.
    let proto = unsafe {
        let fd = libc::dup(1);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        libc::dup2(null, 1);
        libc::close(null);
        let limit = libc::rlimit {
            rlim_cur: 8 << 30,
            rlim_max: 8 << 30,
        };
        libc::setrlimit(libc::RLIMIT_AS, &limit);
        use std::os::fd::FromRawFd;
        std::fs::File::from_raw_fd(fd)
    };
    let mut proto = std::io::LineWriter::new(proto);
    fuzz::keep_panic_messages();
    snn_ir::budget::set_limit(o.max_memory);
    let corpus = corpus(&o.out, false);
    let dir = o.out.join(format!("work-{}", std::process::id()));
    let _ = writeln!(proto, "ready");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(i) = line.trim().parse::<u64>() else {
            continue;
        };
        let case = fuzz::case(&corpus, o.seed, i);
        reset_peak();
        let t = Instant::now();
        let outcome = fuzz::run_case(&case, &dir);
        let ms = t.elapsed().as_millis();
        let message = match &outcome {
            Outcome::Panic(m) => m.replace(['\t', '\n'], " "),
            _ => String::new(),
        };
        let _ = writeln!(
            proto,
            "{i}\t{}\t{ms}\t{}\t{}\t{message}",
            outcome.key(),
            peak_kib(),
            case.bytes()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------ supervisor

enum Event {
    Line(usize, String),
    Gone(usize),
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    log: PathBuf,
    /// The case it runs and since when.
    busy: Option<(u64, Instant)>,
    ready: bool,
}

fn spawn(o: &Options, id: usize, tx: &mpsc::Sender<Event>) -> Worker {
    let log = o.out.join(format!("worker-{id}.log"));
    let err = std::fs::File::create(&log).expect("worker log");
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .args([
            "--worker",
            "--seed",
            &o.seed.to_string(),
            "--max-memory",
            &o.max_memory.to_string(),
            "--out",
            &o.out.to_string_lossy(),
        ])
        .env("RAYON_NUM_THREADS", "1")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err))
        .spawn()
        .expect("start a worker");
    let stdout = child.stdout.take().expect("piped");
    let stdin = child.stdin.take().expect("piped");
    let tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(Event::Line(id, l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Event::Gone(id));
    });
    Worker {
        child,
        stdin,
        log,
        busy: None,
        ready: false,
    }
}

/// Counts and findings.
#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<String, u64>,
    by_kind: BTreeMap<(String, String), u64>,
    slow: Vec<(u128, u64, String)>,
    heavy: Vec<(u64, u64, String)>,
    over_time: u64,
    over_memory: u64,
    findings: Vec<String>,
    done: u64,
}

impl Tally {
    fn add(&mut self, kind: &str, key: &str) {
        *self.outcomes.entry(key.to_string()).or_default() += 1;
        *self
            .by_kind
            .entry((kind.to_string(), key.to_string()))
            .or_default() += 1;
        self.done += 1;
    }
}

fn is_finding(key: &str) -> bool {
    !(key == "ok" || key.starts_with("error ")) || key == "error E0900"
}

/// Keeps a case's files and command lines under `out/findings/<index>`.
fn keep(o: &Options, case: &Case, index: u64, what: &str) -> String {
    let dir = o.out.join("findings").join(index.to_string());
    let files: Vec<(String, CaseFile)> = case
        .files
        .iter()
        .map(|(n, f)| match f {
            CaseFile::Link(p) => (
                n.clone(),
                CaseFile::Data(std::fs::read(p).unwrap_or_default()),
            ),
            data => (n.clone(), data.clone()),
        })
        .collect();
    fuzz::write_files(&dir, &files);
    let d = dir.to_string_lossy();
    let lines: Vec<String> = case
        .commands
        .iter()
        .map(|c| {
            let l: Vec<String> = c.iter().map(|a| a.replace("{dir}", &d)).collect();
            format!("snnc {}", l.join(" "))
        })
        .collect();
    let _ = std::fs::write(
        dir.join("README"),
        format!(
            "case {index} of seed {} ({}, from {}): {what}\n{}\n",
            o.seed,
            case.kind,
            case.seed,
            lines.join("\n")
        ),
    );
    format!("{index} {} ({}): {what}", case.kind, case.seed)
}

fn supervise(o: &Options, corpus: &Corpus) {
    let (tx, rx) = mpsc::channel();
    let mut workers: Vec<Worker> = (0..o.jobs).map(|id| spawn(o, id, &tx)).collect();
    let mut next = o.start;
    // Past the budget, `end` comes down to the cases already started.
    let mut end = o.start + o.cases;
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut last_report = Instant::now();
    let feed = |w: &mut Worker, next: &mut u64, end: u64| {
        if *next < end {
            if writeln!(w.stdin, "{next}").is_ok() {
                w.busy = Some((*next, Instant::now()));
            }
            *next += 1;
        }
    };
    while tally.done < end - o.start {
        if o.budget.is_some_and(|b| started.elapsed() > b) {
            end = end.min(next);
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Line(id, line)) => {
                let w = &mut workers[id];
                if line == "ready" {
                    w.ready = true;
                    feed(w, &mut next, end);
                    continue;
                }
                let f: Vec<&str> = line.splitn(6, '\t').collect();
                let (Ok(i), Some(key), Ok(ms), Ok(kib), Ok(bytes)) = (
                    f[0].parse::<u64>(),
                    f.get(1),
                    f.get(2).map_or(Ok(0), |v| v.parse::<u128>()),
                    f.get(3).map_or(Ok(0), |v| v.parse::<u64>()),
                    f.get(4).map_or(Ok(0), |v| v.parse::<u64>()),
                ) else {
                    continue;
                };
                w.busy = None;
                let case = fuzz::case(corpus, o.seed, i);
                tally.add(case.kind, key);
                let small = bytes <= SMALL_INPUT;
                if small && ms > o.timeout.as_millis() {
                    tally.over_time += 1;
                    let k = keep(o, &case, i, &format!("{key} after {ms} ms"));
                    tally.findings.push(k);
                }
                if small && kib > MEMORY_LIMIT_KIB {
                    tally.over_memory += 1;
                    let k = keep(o, &case, i, &format!("{key} with {kib} KiB resident"));
                    tally.findings.push(k);
                }
                if is_finding(key) {
                    let what = match f.get(5) {
                        Some(m) if !m.is_empty() => format!("{key}: {m}"),
                        _ => key.to_string(),
                    };
                    let k = keep(o, &case, i, &what);
                    tally.findings.push(k);
                }
                tally.slow.push((ms, i, case.kind.to_string()));
                tally.slow.sort_by(|a, b| b.cmp(a));
                tally.slow.truncate(5);
                tally.heavy.push((kib, i, case.kind.to_string()));
                tally.heavy.sort_by(|a, b| b.cmp(a));
                tally.heavy.truncate(5);
                feed(&mut workers[id], &mut next, end);
            }
            Ok(Event::Gone(id)) => {
                let status = workers[id].child.wait().ok();
                if let Some((i, _)) = workers[id].busy.take() {
                    let log = std::fs::read_to_string(&workers[id].log).unwrap_or_default();
                    let key = if log.contains("has overflowed its stack") {
                        "stack overflow"
                    } else if log.contains("memory allocation of") {
                        "out of memory"
                    } else {
                        "abort"
                    };
                    let case = fuzz::case(corpus, o.seed, i);
                    tally.add(case.kind, key);
                    let detail = format!(
                        "{key} ({}): {}",
                        status.map_or("?".into(), |s| s.to_string()),
                        log.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
                    );
                    let k = keep(o, &case, i, &detail);
                    tally.findings.push(k);
                }
                if tally.done < end - o.start {
                    workers[id] = spawn(o, id, &tx);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // Cases past their time are killed; the worker is replaced when
        // its output ends.
        for w in &mut workers {
            if let Some((i, since)) = w.busy
                && since.elapsed() > o.timeout + Duration::from_secs(5)
            {
                let _ = w.child.kill();
                let case = fuzz::case(corpus, o.seed, i);
                tally.add(case.kind, "timeout");
                let k = keep(o, &case, i, "timeout (killed)");
                tally.findings.push(k);
                w.busy = None;
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            let rate = tally.done as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "{} of {} cases, {:.0}/s, {} findings",
                tally.done,
                end - o.start,
                rate,
                tally.findings.len()
            );
        }
    }
    for w in &mut workers {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    report(o, &tally, started.elapsed(), end);
}

fn report(o: &Options, t: &Tally, took: Duration, end: u64) {
    println!(
        "{} cases (seed {}, indices {}..{end}) in {:.0} s ({:.0}/s), {} jobs, budget {}",
        t.done,
        o.seed,
        o.start,
        took.as_secs_f64(),
        t.done as f64 / took.as_secs_f64(),
        o.jobs,
        snn_ir::budget::Bytes(u128::from(o.max_memory))
    );
    if end < o.start + o.cases {
        println!(
            "stopped at the time budget: {} of {} cases ran",
            t.done, o.cases
        );
    }
    println!("by outcome:");
    for (k, n) in &t.outcomes {
        println!("  {k:<22} {n:>9}");
    }
    println!("by kind of case:");
    let mut kinds: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for ((kind, key), n) in &t.by_kind {
        kinds.entry(kind).or_default().push((key, *n));
    }
    for (kind, mut keys) in kinds {
        let total: u64 = keys.iter().map(|(_, n)| n).sum();
        keys.sort_by_key(|k| std::cmp::Reverse(k.1));
        let top: Vec<String> = keys
            .iter()
            .take(4)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("  {kind:<16} {total:>9}: {}", top.join(", "));
    }
    println!(
        "inputs up to 64 KiB over {} s: {}; over 2 GiB resident: {}",
        o.timeout.as_secs_f64(),
        t.over_time,
        t.over_memory
    );
    println!("slowest:");
    for (ms, i, kind) in &t.slow {
        println!("  {ms:>7} ms  case {i} ({kind})");
    }
    println!("most memory:");
    for (kib, i, kind) in &t.heavy {
        println!("  {:>7} MiB  case {i} ({kind})", kib / 1024);
    }
    println!(
        "findings ({}), kept under {}:",
        t.findings.len(),
        o.out.join("findings").display()
    );
    for f in t.findings.iter().take(100) {
        println!("  {f}");
    }
}
