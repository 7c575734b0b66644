//! `cargo xtask bench marshal`: our marshal reader against each installed interpreter's
//! `marshal.loads`, on the same bytes (every `.pyc` of that interpreter's standard library,
//! header skipped), in the same run. Prints MB/s for both and the ratio.
//!
//! Times are CPU time of the reading thread/process where the platform offers it (Linux
//! `/proc/thread-self/schedstat`, Python's `time.process_time`), best of several rounds, so
//! other load on a shared machine disturbs the ratio less; elsewhere, wall time.
//!
//! Build with optimisations for meaningful numbers:
//! `cargo run --release -p xtask -- bench marshal [X.Y ...]`.

use brine_marshal::{read_prefix, PyVersion, PycHeader, ReadOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// Repetitions; the best time counts (least disturbed by other load on the machine).
const ROUNDS: usize = 5;

/// Times `marshal.loads` over the files listed on stdin (path and header size per line).
const PY_TIMER: &str = r#"
import marshal, sys, time
timer = getattr(time, 'process_time', None) or time.clock
blobs = []
for line in sys.stdin.read().splitlines():
    path, skip = line.rsplit(' ', 1)
    with open(path, 'rb') as f:
        blobs.append(f.read()[int(skip):])
loads = marshal.loads
best = None
for _ in range(int(sys.argv[1])):
    t = timer()
    for b in blobs:
        loads(b)
    t = timer() - t
    best = t if best is None or t < best else best
sys.stdout.write('%r %d\n' % (best, sum(len(b) for b in blobs)))
"#;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "site-packages") {
                continue;
            }
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "pyc") {
            out.push(p);
        }
    }
}

fn stdlib_dir(interp: &brine_tests::Interpreter) -> Result<PathBuf, String> {
    let out = interp
        .command()
        .arg("-c")
        .arg("import sys, sysconfig; sys.stdout.write(sysconfig.get_paths()['stdlib'])")
        .output()
        .map_err(|e| format!("{}: {e}", interp.path.display()))?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).to_string(),
    ))
}

struct Sample {
    path: PathBuf,
    data: Vec<u8>,
    header_len: usize,
}

/// CPU time consumed by this thread so far, in seconds (Linux), else wall time since `start`.
fn cpu_seconds(start: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .unwrap_or_else(|| start.elapsed().as_secs_f64())
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> crate::TaskResult {
    if cfg!(debug_assertions) {
        eprintln!(
            "note: this is a debug build; for meaningful numbers run\n  \
             cargo run --release -p xtask -- bench marshal"
        );
    }
    let wanted: Vec<PyVersion> = args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        return Err("no CPython interpreter found (set BRINE_PYTHONS or install via pyenv)".into());
    }
    println!(
        "{:<6} {:>6} {:>9} {:>12} {:>12} {:>7}",
        "python", "files", "MB", "brine MB/s", "CPython MB/s", "ratio"
    );
    for interp in interps {
        let version = PyVersion::new(interp.version.0, interp.version.1);
        if !wanted.is_empty() && !wanted.contains(&version) {
            continue;
        }
        let mut paths = Vec::new();
        collect(&stdlib_dir(&interp)?, &mut paths);
        paths.sort();
        let mut samples = Vec::new();
        for path in paths {
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            let Ok(header) = PycHeader::parse(&data) else {
                continue;
            };
            if header.version != version {
                continue;
            }
            samples.push(Sample {
                path,
                header_len: header.len(),
                data,
            });
        }
        if samples.is_empty() {
            println!("{:<6} no .pyc files found", interp.label());
            continue;
        }
        let total: usize = samples.iter().map(|s| s.data.len() - s.header_len).sum();

        // Ours.
        let options = ReadOptions::new(version);
        let mut best = f64::INFINITY;
        let origin = Instant::now();
        for _ in 0..ROUNDS {
            let t = cpu_seconds(origin);
            for s in &samples {
                let stream = read_prefix(&s.data, s.header_len, &options)
                    .map_err(|e| format!("{}: {e}", s.path.display()))?;
                std::hint::black_box(&stream);
            }
            best = best.min(cpu_seconds(origin) - t);
        }

        // CPython, same bytes.
        let mut child = interp
            .command()
            .arg("-c")
            .arg(PY_TIMER)
            .arg(ROUNDS.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", interp.path.display()))?;
        {
            let mut stdin = child.stdin.take().expect("piped stdin");
            for s in &samples {
                writeln!(stdin, "{} {}", s.path.display(), s.header_len)
                    .map_err(|e| e.to_string())?;
            }
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let py_secs: f64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("{}: no timing from the interpreter", interp.label()))?;
        let py_bytes: usize = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if py_bytes != total {
            return Err(format!(
                "{}: interpreter read {py_bytes} bytes, we read {total}",
                interp.label()
            ));
        }
        let mb = total as f64 / 1e6;
        println!(
            "{:<6} {:>6} {:>9.1} {:>12.0} {:>12.0} {:>6.2}x",
            interp.label(),
            samples.len(),
            mb,
            mb / best,
            mb / py_secs,
            py_secs / best
        );
    }
    Ok(())
}
