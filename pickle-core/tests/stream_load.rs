//! `load_from_reader` (streaming, bounded window) gives the same graphs, verdicts and error
//! offsets as the slice loader on every committed fixture stream and every malformed case,
//! whatever the reader's read sizes; multi-pickle streams continue where the last one stopped.

use brine_pickle_core::{loads_from_reader, loads_with, Graph, LoadOptions, Loader, Strictness};
use std::io::Read;

/// A reader that returns at most `step` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn same_graph(a: &Graph, b: &Graph) -> bool {
    // Debug text: compares every node (kind, opcode, offset), data, frames, pickles (NaN-safe).
    format!("{:?}{:?}{:?}", a.nodes, a.pickles, a.frames)
        == format!("{:?}{:?}{:?}", b.nodes, b.pickles, b.frames)
        && a.nodes.iter().all(|n| match &n.kind {
            brine_pickle_core::NodeKind::Str(s) | brine_pickle_core::NodeKind::Bytes(s) => {
                a.bytes_of(*s) == b.bytes_of(*s)
            }
            _ => true,
        })
}

fn check(data: &[u8], options: &LoadOptions, what: &str) {
    let want = loads_with(data, options);
    let steps: &[usize] = if data.len() < 5000 {
        &[1, 7, 1 << 20]
    } else {
        &[4093, 1 << 20]
    };
    for &step in steps {
        let got = loads_from_reader(&mut Trickle { data, step }, options);
        match (&want, &got) {
            (Ok(a), Ok(b)) => assert!(same_graph(a, b), "{what} (step {step}): graphs differ"),
            (Err(a), Err(b)) => assert_eq!(a, b, "{what} (step {step})"),
            _ => panic!(
                "{what} (step {step}): {:?} vs {:?}",
                want.as_ref().err(),
                got.err()
            ),
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn streaming_equals_slice_loading_on_fixtures_and_malformed_cases() {
    let dir = brine_tests::fixtures_dir().join("pickle");
    let mut n = 0;
    for case in std::fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&case).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "pickle") {
                let data = std::fs::read(&f).unwrap();
                check(&data, &LoadOptions::default(), &f.display().to_string());
                n += 1;
            }
        }
    }
    // The hex strings of malformed.json (a plain scan: the file holds lone surrogates that
    // strict JSON parsers refuse).
    let text = std::fs::read_to_string(dir.join("malformed.json")).unwrap();
    let mut malformed = 0;
    for (i, part) in text.split("\"hex\": \"").enumerate().skip(1) {
        let hex = &part[..part.find('"').unwrap()];
        let data = unhex(hex);
        for strictness in [Strictness::default(), Strictness::Python] {
            let options = LoadOptions {
                strictness,
                ..LoadOptions::bare_cpython(3, 13)
            };
            check(&data, &options, &format!("malformed case {i}"));
        }
        malformed += 1;
    }
    assert!(malformed >= 121, "too few malformed cases: {malformed}");
    n += malformed;
    assert!(n > 500, "too few streams: {n}");
}

#[test]
fn streaming_reads_successive_pickles_of_one_stream() {
    // pickle.Pickler(f, 4): dump(['shared']); dump(...) referring to memo 0 of the first.
    let a: &[u8] = b"\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x06shared\x94a.";
    let b: &[u8] = b"\x80\x04h\x00.";
    let stream = [a, b].concat();
    let mut loader = Loader::new(LoadOptions::default());
    let mut r = Trickle {
        data: &stream,
        step: 5,
    };
    let first = loader.load_from_reader(&mut r).unwrap();
    let second = loader.load_from_reader(&mut r).unwrap();
    assert_eq!((first.end, second.end), (a.len(), stream.len()));
    assert_eq!(first.root, second.root, "memo shared across pickles");
    let g = loader.into_graph();
    assert_eq!(g.pickles[1].start, a.len() as u64);
}

#[test]
fn streaming_never_buffers_an_announced_length() {
    // BINBYTES8 announcing 2**62 bytes with 3 present: truncated, without allocating.
    let data = b"\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x40abc";
    let e = loads_from_reader(&mut &data[..], &LoadOptions::default()).unwrap_err();
    assert_eq!(e, loads_with(data, &LoadOptions::default()).unwrap_err());
    // A payload above max_data_bytes is refused before it is read.
    let mut options = LoadOptions::default();
    options.limits.max_data_bytes = 1000;
    let big = [&b"\x80\x04B\x00\x00\x01\x00"[..], &vec![b'x'; 65536], b"."].concat();
    let e = loads_from_reader(&mut &big[..], &options).unwrap_err();
    assert!(e.to_string().contains("data bytes"), "{e}");
}
