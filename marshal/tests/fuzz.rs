//! Cheap deterministic fuzzing: truncations and byte changes of real streams (CPython's output
//! in `data/values.json`, and the shared `.pyc` samples when present) must never panic, and
//! whatever is accepted must write back to the same bytes.

mod common;

use brine_marshal::{read, Pyc, ReadOptions};
use common::*;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const INTERESTING: [u8; 12] = [
    0x00, 0x01, 0x7f, 0x80, 0xff, b'r', b'0', b'(', b'{', b'c', b'l', 0xe3,
];

fn check_stream(label: &str, bytes: &[u8], rng: &mut Rng) -> usize {
    let opts = ReadOptions::new(version(label));
    let mut accepted = 0;
    let mut try_one = |data: &[u8]| {
        if let Ok(s) = read(data, &opts) {
            assert_eq!(
                s.write(),
                data,
                "{label}: accepted input must round-trip: {}",
                hex(data)
            );
            let _ = brine_marshal::repr::node_repr(&s, s.root());
            if let Ok(obj) = brine_marshal::Object::from_stream(&s, s.root(), 100_000) {
                let _ =
                    brine_marshal::dumps(&obj, &brine_marshal::DumpOptions::new(version(label)));
            }
            accepted += 1;
        }
    };
    for cut in 0..bytes.len().min(200) {
        try_one(&bytes[..cut]);
    }
    for _ in 0..60 {
        let mut m = bytes.to_vec();
        let i = (rng.next() % m.len() as u64) as usize;
        m[i] = if rng.next() & 1 == 0 {
            INTERESTING[(rng.next() % INTERESTING.len() as u64) as usize]
        } else {
            rng.next() as u8
        };
        try_one(&m);
    }
    accepted
}

#[test]
fn mutated_values_never_panic() {
    let data = load_json("values.json");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut streams = 0;
    for (label, entries) in data.as_object().unwrap() {
        for e in entries.as_array().unwrap().iter().step_by(3) {
            let bytes = unhex(e["hex"].as_str().unwrap());
            if bytes.len() > 2000 {
                continue;
            }
            check_stream(label, &bytes, &mut rng);
            streams += 1;
        }
    }
    assert!(streams > 300);
}

#[test]
fn mutated_pyc_samples_never_panic() {
    let Some(dir) = brine_tests::pyc_samples_dir() else {
        brine_tests::skip_live("mutated_pyc_samples_never_panic", "no pyc-samples folder");
        return;
    };
    let mut rng = Rng(42);
    let mut files = 0;
    for sub in std::fs::read_dir(&dir).unwrap().flatten() {
        for f in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
            .take(6)
        {
            let data = std::fs::read(f.path()).unwrap();
            for cut in (0..data.len()).step_by(7) {
                assert!(
                    Pyc::parse(&data[..cut]).is_err(),
                    "a cut pyc is never complete"
                );
            }
            for _ in 0..300 {
                let mut m = data.clone();
                let i = (rng.next() % m.len() as u64) as usize;
                m[i] = INTERESTING[(rng.next() % INTERESTING.len() as u64) as usize];
                if let Ok(p) = Pyc::parse(&m) {
                    assert_eq!(p.write(), m);
                    for c in p.stream.code_objects() {
                        let _ = (c.names(), c.consts(), c.code_bytes(), c.qualname());
                    }
                }
            }
            files += 1;
        }
    }
    assert!(files > 10);
}
