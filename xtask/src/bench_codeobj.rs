//! `cargo xtask bench codeobj [X.Y ...]`: decoding every instruction of each installed
//! interpreter's standard library with `brine_codeobj`, against that interpreter's
//! `dis.get_instructions` over the same code objects, in the same run.
//!
//! The interpreter compiles its standard library, round-trips each module through marshal
//! (`xtask/py/opcodes_stdlib.py bench`), times `dis.get_instructions` over every code object
//! (Python 2.7, which has none, times an equivalent decoding loop) and hands us the marshal
//! bytes. We time two things on the same code objects:
//!
//! * decode: iterating [`brine_codeobj::Code::instructions`] (argument folded, `argval`
//!   resolved, caches skipped) over code objects already built, as `dis` works on loaded code;
//! * end to end: marshal parse + building every [`brine_codeobj::Code`] + decoding.
//!
//! Times are CPU time of this thread (Linux `/proc/thread-self/schedstat`; wall time
//! elsewhere) and Python's `time.process_time`, best of several rounds. Build with
//! optimisations: `cargo run --release -p xtask -- bench codeobj`.

use std::path::Path;
use std::time::Instant;

use brine_codeobj::{ArgVal, Code, FromMarshalOptions};
use brine_marshal::{read, PyVersion, ReadOptions};

const ROUNDS: usize = 5;

/// CPU time of the current thread in seconds (wall-clock fallback).
fn thread_time(start: &Instant) -> f64 {
    if let Ok(text) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            return ns as f64 / 1e9;
        }
    }
    start.elapsed().as_secs_f64()
}

fn blobs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 4 <= data.len() {
        let n =
            u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        pos += 4;
        let end = pos
            .checked_add(n)
            .filter(|&e| e <= data.len())
            .ok_or("truncated blob file")?;
        out.push(data[pos..end].to_vec());
        pos = end;
    }
    Ok(out)
}

fn walk<'c, 'a>(code: &'c Code<'a>, out: &mut Vec<&'c Code<'a>>) {
    let mut stack = vec![code];
    while let Some(c) = stack.pop() {
        out.push(c);
        stack.extend(c.nested().map(|(_, k)| k));
    }
}

/// Decodes every instruction; returns a checksum-like count so nothing is optimised away.
fn decode_all(codes: &[&Code<'_>]) -> (usize, u64) {
    let mut n = 0usize;
    let mut acc = 0u64;
    for c in codes {
        for ins in c.instructions() {
            n += 1;
            acc = acc.wrapping_add(match ins.argval {
                ArgVal::Jump(t) => u64::from(t),
                ArgVal::Name(s) => s.as_bytes().len() as u64,
                ArgVal::Int(i) => i as u64,
                ArgVal::Const(_) => 1,
                _ => 0,
            });
        }
    }
    (n, acc)
}

/// Runs the task.
pub fn run(args: &[String]) -> crate::TaskResult {
    let wanted: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = brine_tests::workspace_root();
    let script = root.join("xtask/py/opcodes_stdlib.py");
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        println!("bench codeobj: no interpreters found");
        return Ok(());
    }
    if cfg!(debug_assertions) {
        println!("bench codeobj: debug build; use `cargo run --release -p xtask -- bench codeobj`");
    }
    println!(
        "{:<8} {:>6} {:>8} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8}",
        "python", "files", "codes", "instrs", "dis s", "decode s", "ratio", "e2e s", "ratio"
    );
    for interp in &interps {
        if !wanted.is_empty() && !wanted.contains(&interp.label().as_str()) {
            continue;
        }
        let tmp = std::env::temp_dir().join(format!(
            "brine-bench-codeobj-{}-{}.bin",
            interp.label(),
            std::process::id()
        ));
        let out = interp
            .command()
            .arg(&script)
            .arg("bench")
            .arg(&tmp)
            .arg(ROUNDS.to_string())
            .output()
            .map_err(|e| format!("{}: {e}", interp.path.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} bench script failed: {}",
                interp.full_version,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("bench script output: {e}"))?;
        let py_seconds = report["seconds"].as_f64().unwrap_or(f64::NAN);
        let py_count = report["instructions"].as_u64().unwrap_or(0) as usize;
        let files = report["files"].as_u64().unwrap_or(0);
        let data = blobs(&tmp)?;
        let _ = std::fs::remove_file(&tmp);
        let version: PyVersion = interp.label().parse().map_err(|e: String| e)?;
        let options = ReadOptions::new(version);

        // Build everything once for the decode-only timing.
        let streams: Vec<_> = data
            .iter()
            .map(|b| read(b, &options).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let roots: Vec<Code<'_>> = streams
            .iter()
            .map(|s| Code::from_stream(s, FromMarshalOptions::default()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let mut codes = Vec::new();
        for r in &roots {
            walk(r, &mut codes);
        }
        let mut best_decode = f64::INFINITY;
        let mut count = 0usize;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let t0 = thread_time(&start);
            let (n, acc) = decode_all(&codes);
            let t = thread_time(&start) - t0;
            std::hint::black_box(acc);
            count = n;
            best_decode = best_decode.min(t);
        }
        let mut best_e2e = f64::INFINITY;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let t0 = thread_time(&start);
            let mut n = 0usize;
            for b in &data {
                let s = read(b, &options).map_err(|e| e.to_string())?;
                let r = Code::from_stream(&s, FromMarshalOptions::default())
                    .map_err(|e| e.to_string())?;
                let mut cs = Vec::new();
                walk(&r, &mut cs);
                n += std::hint::black_box(decode_all(&cs)).0;
            }
            let t = thread_time(&start) - t0;
            std::hint::black_box(n);
            best_e2e = best_e2e.min(t);
        }
        if count != py_count {
            println!(
                "  note: {} instructions decoded here, {py_count} by Python (2.7 counts differ only if a file failed)",
                count
            );
        }
        println!(
            "{:<8} {:>6} {:>8} {:>10} {:>10.4} {:>10.4} {:>7.1}x {:>10.4} {:>7.1}x",
            interp.full_version,
            files,
            codes.len(),
            count,
            py_seconds,
            best_decode,
            py_seconds / best_decode,
            best_e2e,
            py_seconds / best_e2e
        );
    }
    Ok(())
}
