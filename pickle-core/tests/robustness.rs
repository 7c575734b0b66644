//! No panic, hang or unbounded allocation on corrupted input: every fixture stream (or, without
//! fixtures, a few built-in streams) is truncated and byte-flipped deterministically, and each
//! variant goes through both opcode readers, the disassembler and the loader (C and Python
//! strictness, both environments).

use brine_pickle_core::dis::{dis, DisOptions};
use brine_pickle_core::reader::{OpReader, StreamOpReader};
use brine_pickle_core::{loads_with, Environment, LoadOptions, Strictness};

fn samples() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![
        b"\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.".to_vec(),
        b"(lp0\nI1\naS'a\\x41'\np1\nag0\na(dp2\nVk\np3\nF1.5\nsa.".to_vec(),
        b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00aq\x02K\x01s.".to_vec(),
    ];
    let dir = brine_tests::fixtures_dir().join("pickle");
    if let Ok(cases) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = cases
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| std::fs::read_dir(e.path()).ok())
            .flat_map(|d| d.flatten().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pickle"))
            .collect();
        files.sort();
        for p in files {
            let data = std::fs::read(&p).unwrap();
            if data.len() <= 4096 {
                out.push(data);
            }
        }
    }
    out
}

/// xorshift: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn exercise(data: &[u8]) {
    for r in OpReader::new(data) {
        let _ = r;
    }
    for r in StreamOpReader::new(data) {
        let _ = r;
    }
    let _ = dis(
        data,
        &DisOptions {
            indentlevel: 2,
            annotate: 30,
        },
    );
    for strictness in [Strictness::C, Strictness::Python] {
        for environment in [Environment::Symbolic, Environment::BareCPython] {
            let opts = LoadOptions {
                strictness,
                environment,
                record_steps: true,
                ..LoadOptions::default()
            };
            if let Ok(g) = loads_with(data, &opts) {
                let _ = brine_pickle_core::pyrepr::repr_node(&g, g.root(), 64);
            }
        }
    }
}

#[test]
fn corrupted_streams_never_panic() {
    let samples = samples();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut variants = 0;
    for data in &samples {
        // Every truncation of short streams, a few of long ones.
        let cuts: Vec<usize> = if data.len() <= 64 {
            (0..data.len()).collect()
        } else {
            (0..8).map(|_| (rng.next() as usize) % data.len()).collect()
        };
        for cut in cuts {
            exercise(&data[..cut]);
            variants += 1;
        }
        for _ in 0..8 {
            let mut d = data.clone();
            if d.is_empty() {
                break;
            }
            for _ in 0..1 + rng.next() % 3 {
                let i = (rng.next() as usize) % d.len();
                d[i] = match rng.next() % 4 {
                    0 => 0xFF,
                    1 => 0x7F,
                    2 => d[i] ^ (1 << (rng.next() % 8)),
                    _ => rng.next() as u8,
                };
            }
            exercise(&d);
            variants += 1;
        }
    }
    println!("{variants} corrupted variants of {} streams", samples.len());
    assert!(variants > 100);
}
