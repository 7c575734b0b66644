//! Times the opcode reader and the symbolic load on one pickle file (for profiling):
//! `cargo run --release -p brine-pickle-core --example time_file -- FILE [ROUNDS] [ops|load]`.
//! Prints the best of ROUNDS for each (wall time; use `perf stat` for CPU counters).

use std::time::Instant;

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
        if mode != "load" {
            let t = Instant::now();
            let mut reader = brine_pickle_core::reader::OpReader::new(&data);
            n = 0;
            while let Ok(Some(_op)) = reader.read_op() {
                n += 1;
            }
            best_ops = best_ops.min(t.elapsed().as_secs_f64());
        }
        if mode != "ops" {
            let t = Instant::now();
            let g = brine_pickle_core::loads(&data).expect("loads");
            best_load = best_load.min(t.elapsed().as_secs_f64());
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
