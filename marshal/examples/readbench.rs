//! Reads every `.pyc` under a directory repeatedly and prints our throughput (a profiling aid;
//! `cargo xtask bench marshal` is the real comparison with CPython).
//!
//! `cargo run --release -p brine-marshal --example readbench -- DIR [ROUNDS] [nocheck]`

use brine_marshal::{read_prefix, PycHeader, ReadOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "pyc") {
            out.push(p);
        }
    }
}

/// CPU time of this thread (Linux), else wall time.
fn cpu(origin: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .unwrap_or_else(|| origin.elapsed().as_secs_f64())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: readbench DIR [ROUNDS]");
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(10);
    let check_code = args.next().as_deref() != Some("nocheck");
    let mut paths = Vec::new();
    collect(Path::new(&dir), &mut paths);
    let files: Vec<(Vec<u8>, PycHeader)> = paths
        .iter()
        .filter_map(|p| {
            let d = std::fs::read(p).ok()?;
            let h = PycHeader::parse(&d).ok()?;
            Some((d, h))
        })
        .collect();
    let total: usize = files.iter().map(|(d, h)| d.len() - h.len()).sum();
    let mut best = f64::INFINITY;
    let mut nodes = 0;
    for _ in 0..rounds {
        let origin = Instant::now();
        let t = cpu(origin);
        nodes = 0;
        for (d, h) in &files {
            let opts = ReadOptions::new(h.version)
                .with_layout(h.layout)
                .with_code_checks(check_code);
            let s = read_prefix(d, h.len(), &opts).expect("readable");
            nodes += s.len();
        }
        best = best.min(cpu(origin) - t);
    }
    println!(
        "{} files, {:.1} MB, {nodes} nodes: {:.0} MB/s, {:.1} ns/node",
        files.len(),
        total as f64 / 1e6,
        total as f64 / 1e6 / best,
        best * 1e9 / nodes as f64
    );
}
