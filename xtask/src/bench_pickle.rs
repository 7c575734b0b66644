//! `cargo xtask bench pickle`: side by side, in one run, on the same files: CPython's
//! `pickle.loads` (GC on and off) and `pickletools.genops`, `serde-pickle`, and ours (the
//! symbolic load `brine_pickle_core::loads` and the zero-copy opcode reader).
//!
//! "ours copy" is `loads(&[u8])` (strings and bytes copied into the graph), "ours load" is
//! `loads_shared` (they reference the shared input buffer, no copy); "vs" ratios use the latter.
//!
//! Inputs are made by the newest installed CPython 3 into a temporary directory: a ~10 MB mixed
//! structure, 2 M short strings, a memo-heavy graph, one 64 MB bytes object, and a list nested
//! 20,000 deep (all protocol 4). serde-pickle runs in a child process (it recurses and may
//! overflow its stack on the deep file): "crash" means the child died, "error" that
//! serde-pickle rejected the file.
//!
//! Times are CPU time of the timed thread/process (best of N rounds), so that other load on a
//! shared machine does not distort the ratios. Build with optimisations for meaningful numbers:
//! `cargo run --release -p xtask -- bench pickle [--rounds N]`.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Makes the input files in the directory given as argv[1].
const PY_GEN: &str = r#"
import os, pickle, random, sys
out = sys.argv[1]
random.seed(0)
def mixed(n):
    items = []
    for i in range(n):
        items.append({"id": i, "name": "item%d" % i, "score": random.random(),
                      "tags": ["a", "b", str(i % 7)], "pos": (i, -i, i * 0.5),
                      "blob": b"x" * (i % 13), "flag": i % 3 == 0, "none": None})
    return items
files = {
    "mixed_10mb": mixed(118000),
    "strings_2m": ["s%d" % (i % 100000) + "x" * (i % 5) for i in range(2000000)],
    "bytes_64mb": b"\xab" * (64 << 20),
}
# Memo-heavy: 2M memo references (BINGET/LONG_BINGET) to 2000 shared 200-character strings.
# (serde-pickle 1.2 rejects memo references to tuples and lists with "recursive structure
# found", so only strings are shared here; it copies the string on every memo hit.)
keys = ["key%d" % i + "v" * 200 for i in range(2000)]
files["memo_heavy"] = [keys[(i * 7) % 2000] for i in range(2000000)]
for name, obj in files.items():
    with open(os.path.join(out, name + ".pickle"), "wb") as f:
        f.write(pickle.dumps(obj, 4))
depth = 20000
with open(os.path.join(out, "depth_20000.pickle"), "wb") as f:
    f.write(b"\x80\x04" + b"]" * depth + b"a" * (depth - 1) + b".")
"#;

/// Times pickle.loads (GC on/off) and genops on argv[2:] with argv[1] rounds; prints one line
/// per file: `name loads_gc_on loads_gc_off genops` (best CPU seconds, `time.process_time`).
const PY_TIMER: &str = r#"
import gc, os, pickle, pickletools, sys, time
rounds = int(sys.argv[1])
sys.setrecursionlimit(100000)
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    res = []
    for gc_on in (True, False):
        best = None
        for _ in range(rounds):
            total, reps = 0.0, 0
            while reps == 0 or (total < 0.05 and reps < 1000):
                gc.enable() if gc_on else gc.disable()
                t = time.process_time()
                obj = pickle.loads(data)
                total += time.process_time() - t
                gc.enable()
                del obj
                reps += 1
            t = total / reps
            best = t if best is None or t < best else best
        res.append(best)
    best = None
    for _ in range(max(1, rounds // 3)):
        t = time.process_time()
        for _op in pickletools.genops(data):
            pass
        t = time.process_time() - t
        best = t if best is None or t < best else best
    res.append(best)
    print(os.path.basename(path), *("%.6f" % r for r in res))
    sys.stdout.flush()
"#;

/// CPU time of this thread in seconds (`/proc/thread-self/schedstat`, Linux), so that the
/// comparison is not distorted by other processes on a shared machine; `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Seconds elapsed since `start`: CPU time when available, else wall time.
struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            cpu: thread_cpu_seconds(),
            wall: Instant::now(),
        }
    }

    fn elapsed(&self) -> f64 {
        match (self.cpu, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => self.wall.elapsed().as_secs_f64(),
        }
    }
}

/// Best time per call over `rounds` rounds; a round repeats the call until it has used at
/// least 50 ms (the CPU clock advances in scheduler ticks), dropping results outside the
/// timed region as CPython's `del obj` is outside too.
fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..rounds.max(1) {
        let mut total = 0.0;
        let mut reps = 0u32;
        while reps == 0 || (total < 0.05 && reps < 1000) {
            let t = Clock::start();
            let v = f();
            total += t.elapsed();
            reps += 1;
            last = Some(v);
        }
        best = best.min(total / reps as f64);
    }
    (best, last.expect("at least one round"))
}

/// Hidden helper mode: time serde-pickle on one file and print seconds (child process).
fn serde_pickle_child(path: &Path, rounds: usize) -> crate::TaskResult {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let (t, v) = best_of(rounds, || {
        serde_pickle::value_from_slice(&data, serde_pickle::DeOptions::new())
    });
    match v {
        Ok(v) => {
            // serde-pickle's values drop recursively; leak instead of crashing on deep ones.
            std::mem::forget(v);
            println!("{t:.6}");
            Ok(())
        }
        Err(e) => Err(format!("serde-pickle error: {e}")),
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".to_string()
    }
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> crate::TaskResult {
    let mut rounds = 5usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--rounds needs a number")?
            }
            "--serde-pickle-child" => {
                let path = it.next().ok_or("missing file")?;
                return serde_pickle_child(Path::new(path), rounds);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "note: this is a debug build; for meaningful numbers run\n  \
             cargo run --release -p xtask -- bench pickle"
        );
    }
    let py = brine_tests::interpreters()
        .into_iter()
        .rev()
        .find(|i| i.version.0 == 3)
        .ok_or("no CPython 3 interpreter found")?;
    let dir = std::env::temp_dir().join(format!("brine-bench-pickle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = run_in(&py, &dir, rounds);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(py: &brine_tests::Interpreter, dir: &Path, rounds: usize) -> crate::TaskResult {
    eprintln!("generating inputs with CPython {} ...", py.full_version);
    let st = py
        .command()
        .arg("-c")
        .arg(PY_GEN)
        .arg(dir)
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("input generation failed".into());
    }
    let names = [
        "mixed_10mb",
        "strings_2m",
        "memo_heavy",
        "bytes_64mb",
        "depth_20000",
    ];
    let files: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(format!("{n}.pickle")))
        .collect();
    eprintln!("timing CPython ...");
    let out = py
        .command()
        .arg("-c")
        .arg(PY_TIMER)
        .arg(rounds.to_string())
        .args(&files)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "CPython timer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let py_lines = String::from_utf8_lossy(&out.stdout).to_string();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    println!(
        "CPython {} | rounds {rounds} | best CPU time in ms | ratios: CPython time / ours (higher = we are faster)",
        py.full_version
    );
    println!(
        "{:<12} {:>8} | {:>9} {:>9} {:>9} {:>11} | {:>9} {:>9} {:>9} {:>8} | {:>8} {:>8} {:>8} {:>9}",
        "file",
        "MB",
        "py gc-on",
        "py gc-off",
        "genops",
        "serde-pkl",
        "ours copy",
        "ours load",
        "ours ops",
        "ops GB/s",
        "copy/gc-on",
        "vs gc-on",
        "vs genops",
        "vs serde"
    );
    for (name, path) in names.iter().zip(&files) {
        let data = std::fs::read(path).map_err(|e| e.to_string())?;
        let mb = data.len() as f64 / 1e6;
        let py_t: Vec<f64> = py_lines
            .lines()
            .find(|l| l.starts_with(&format!("{name}.pickle ")))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let (copy_t, g) = best_of(rounds, || brine_pickle_core::loads(&data));
        let nodes = g.map(|g| g.len()).map_err(|e| e.to_string())?;
        // The zero-copy load: strings and bytes reference the (shared) input buffer.
        let shared = brine_pickle_core::SharedInput::new(std::sync::Arc::new(data.clone()));
        let options = brine_pickle_core::LoadOptions::default();
        let (load_t, g) = best_of(rounds, || {
            brine_pickle_core::loads_shared(&shared, &options)
        });
        g.map_err(|e| e.to_string())?;
        // The opcode reader: every opcode is looked at (offset and opcode folded into a
        // checksum that is kept), so the compiler can neither delete the loop nor skip
        // building the ops; the consumer does next to nothing, so the reader dominates.
        let (ops_t, (n_ops, checksum)) = best_of(rounds, || {
            std::hint::black_box(brine_pickle_core::reader::OpReader::new(
                std::hint::black_box(&data),
            ))
            .fold((0usize, 0u64), |(n, sum), r| match r {
                Ok(op) => (n + 1, sum.wrapping_add(op.offset ^ op.opcode.byte() as u64)),
                Err(_) => (n, sum),
            })
        });
        std::hint::black_box(checksum);
        let child = std::process::Command::new(&exe)
            .args(["bench", "pickle", "--rounds", &rounds.to_string()])
            .arg("--serde-pickle-child")
            .arg(path)
            .output()
            .map_err(|e| e.to_string())?;
        // NaN: serde-pickle rejected the file; infinity: it crashed (e.g. stack overflow).
        let serde_t: f64 = if child.status.success() {
            String::from_utf8_lossy(&child.stdout)
                .trim()
                .parse()
                .unwrap_or(f64::NAN)
        } else if child.status.code() == Some(1) {
            f64::NAN
        } else {
            f64::INFINITY
        };
        let get = |i: usize| py_t.get(i).copied().unwrap_or(f64::NAN);
        let ms = |t: f64| {
            if t.is_finite() {
                format!("{:.1}", t * 1e3)
            } else if t.is_nan() {
                "error".to_string()
            } else {
                "crash".to_string()
            }
        };
        println!(
            "{:<12} {:>8.1} | {:>9} {:>9} {:>9} {:>11} | {:>9} {:>9} {:>9} {:>8.2} | {:>8} {:>8} {:>8} {:>9}",
            name,
            mb,
            ms(get(0)),
            ms(get(1)),
            ms(get(2)),
            ms(serde_t),
            ms(copy_t),
            ms(load_t),
            ms(ops_t),
            data.len() as f64 / ops_t / 1e9,
            ratio(get(0), copy_t),
            ratio(get(0), load_t),
            ratio(get(2), ops_t),
            ratio(serde_t, load_t),
        );
        eprintln!("  ({name}: {nodes} nodes, {n_ops} opcodes)");
    }
    Ok(())
}
