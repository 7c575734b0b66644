//! Times the opcode reader and the symbolic load on one pickle file (for profiling):
//! `cargo run --release -p brine-pickle-core --example time_file -- FILE [ROUNDS] [ops|load]`.
//! Prints the best of ROUNDS for each (CPU time of the thread where available).

use std::time::Instant;

/// CPU time of this thread (Linux), else wall time since `start`.
fn cpu(start: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(|| start.elapsed().as_secs_f64(), |ns| ns / 1e9)
}

/// Best CPU time per call over `rounds` rounds of at least 50 ms (as `cargo xtask bench`).
fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..rounds.max(1) {
        let (mut total, mut reps) = (0.0, 0u32);
        while reps == 0 || (total < 0.05 && reps < 1000) {
            let t0 = Instant::now();
            let t = cpu(t0);
            let v = f();
            total += cpu(t0) - t;
            reps += 1;
            last = Some(v);
        }
        best = best.min(total / reps as f64);
    }
    (best, last.expect("one round"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: time_file FILE [ROUNDS] [ops|load]");
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mode = args.next().unwrap_or_default();
    let data = std::fs::read(&path).expect("read file");
    let (mut best_ops, mut best_load) = (f64::INFINITY, f64::INFINITY);
    let (mut n, mut nodes) = (0usize, 0usize);
    for _ in 0..rounds {
        if mode == "bench" {
            let (t, n) = best_of(3, || {
                brine_pickle_core::reader::OpReader::new(&data)
                    .filter(|r| r.is_ok())
                    .count()
            });
            println!("bench-style: {n} ops in {:.1} ms", t * 1e3);
            return;
        }
        if mode != "load" {
            let t0 = Instant::now();
            let t = cpu(t0);
            n = brine_pickle_core::reader::OpReader::new(&data)
                .filter(|r| r.is_ok())
                .count();
            best_ops = best_ops.min(cpu(t0) - t);
        }
        if mode != "ops" {
            let t0 = Instant::now();
            let t = cpu(t0);
            let g = brine_pickle_core::loads(&data).expect("loads");
            best_load = best_load.min(cpu(t0) - t);
            nodes = g.len();
            drop(g);
        }
    }
    println!(
        "{n} ops in {:.1} ms ({:.2} GB/s); load {:.1} ms, {nodes} nodes",
        best_ops * 1e3,
        data.len() as f64 / best_ops / 1e9,
        best_load * 1e3,
    );
}
