//! Times the opcode reader and the symbolic load on one pickle file (for profiling):
//! `cargo run --release -p brine-pickle-core --example time_file -- FILE [ROUNDS]`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: time_file FILE [ROUNDS]");
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let data = std::fs::read(&path).expect("read file");
    for _ in 0..rounds {
        let t = Instant::now();
        let mut reader = brine_pickle_core::reader::OpReader::new(&data);
        let mut n = 0usize;
        while let Ok(Some(_op)) = reader.read_op() {
            n += 1;
        }
        let ops = t.elapsed();
        let t = Instant::now();
        let g = brine_pickle_core::loads(&data).expect("loads");
        let load = t.elapsed();
        println!(
            "{n} ops in {:.1} ms ({:.2} GB/s); load {:.1} ms, {} nodes",
            ops.as_secs_f64() * 1e3,
            data.len() as f64 / ops.as_secs_f64() / 1e9,
            load.as_secs_f64() * 1e3,
            g.len()
        );
    }
}
